//! The stateright models of BP Fast Paxos: the honest agents of [`crate::node`], Byzantine
//! proposers that may send anything PROTOCOL.md §5 allows them, a network that loses,
//! duplicates and reorders, acceptor crashes, and the properties of PROTOCOL.md §6.

pub mod actor;
pub mod byzantine;
pub mod config;
pub mod history;
pub mod log;
pub mod mixed;
pub mod model;
pub mod properties;
pub mod report;
pub mod symbolic;
pub mod symmetry;
pub mod value;
pub mod variant;

pub use config::{LearnerMode, Menu, ModelConfig, NetworkKind};
pub use variant::Variant;
