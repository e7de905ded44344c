//! The stateright model of the replicated log (PROTOCOL.md §8): the honest agents of
//! [`crate::log::node`], an eager Byzantine proposer that works slot by slot, acceptors that
//! catch up on chosen slots (so that PROMISEs close slots), and per-slot properties.

pub mod actor;
pub mod byzantine;
pub mod config;
pub mod history;
pub mod model;
pub mod properties;
pub mod report;
pub mod symmetry;

pub use config::LogModelConfig;
pub use model::LogModel;

use super::value::ModelValue;
use crate::log::value::LogValue;

/// What a slot holds in the model: a client's value `A, B, …`, `Z`, or a no-op.
pub type SlotValue = LogValue<ModelValue>;
