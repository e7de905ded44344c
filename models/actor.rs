//! The model's actors: the honest nodes of [`crate::node`], unchanged, and Byzantine proposers.

use super::byzantine::{ByzantineProposer, ByzantineState};
use super::mixed::{Mixed, MixedState};
use super::symbolic::SymbolicAuth;
use super::value::ModelValue;
use crate::node::{Node, NodeState};

pub type ModelNode = Mixed<Node<ModelValue, SymbolicAuth>, ByzantineProposer>;
pub type ModelNodeState = MixedState<NodeState<ModelValue>, ByzantineState>;
