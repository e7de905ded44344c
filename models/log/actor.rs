//! The log model's actors: the honest log nodes, unchanged, and the Byzantine proposer.

use super::byzantine::{LogByzantine, LogByzantineState};
use crate::log::node::{LogNode, LogNodeState};
use crate::models::mixed::{Mixed, MixedState};
use crate::models::symbolic::SymbolicAuth;
use crate::models::value::ModelValue;

pub type LogModelNode = Mixed<LogNode<ModelValue, SymbolicAuth>, LogByzantine>;
pub type LogModelNodeState = MixedState<LogNodeState<ModelValue>, LogByzantineState>;
