//! The stateright model of the replicated log (PROTOCOL.md §8), the model core's second
//! protocol: the honest agents of [`crate::log::node`], an eager Byzantine proposer that works
//! slot by slot, acceptors that catch up on chosen slots (so that PROMISEs close slots), and
//! per-slot properties. Its files match the single decree's, one for one.

pub mod actor;
pub mod byzantine;
pub mod config;
pub mod history;
pub mod model;
pub mod properties;
pub mod report;
pub mod symmetry;

pub use actor::Model;
pub use config::{CatchUp, Config, SlotValue};
