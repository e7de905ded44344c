//! The stateright models of BP Fast Paxos: the honest agents of [`crate::node`] and
//! [`crate::log::node`], Byzantine proposers that may send anything PROTOCOL.md §5 allows
//! them, a network that loses, duplicates and reorders, acceptor crashes, and the properties
//! of PROTOCOL.md §6.
//!
//! [`core`] is what both models share: the protocol trait, the model it builds, its
//! reductions, symmetry and reports. The single decree's parts are the files here (its
//! configuration, Byzantine menu, ghost history, properties, how a step reads, renaming);
//! the replicated log's are in [`log`], file for file.

pub mod actor;
pub mod byzantine;
pub mod config;
pub mod core;
pub mod history;
pub mod log;
pub mod model;
pub mod properties;
pub mod report;
pub mod symbolic;
pub mod symmetry;
pub mod value;
pub mod variant;
pub mod walk;

pub use self::core::shape::{NetworkKind, Shape};
pub use config::{LearnerMode, Menu, ModelConfig};
pub use variant::Variant;
