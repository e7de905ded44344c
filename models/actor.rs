//! The single decree's model types: the honest nodes of [`crate::node`], unchanged, and
//! Byzantine proposers, as the actors of the core's [`ProtocolModel`].

use super::byzantine::{ByzantineProposer, ByzantineState};
use super::config::ModelConfig;
use super::core::mixed::{Mixed, MixedState};
use super::core::model::ProtocolModel;
use super::history::Ghost;
use super::symbolic::SymbolicAuth;
use super::value::ModelValue;
use crate::message::Msg;
use crate::node::{Node, NodeState, NodeTimer};
use stateright::actor::{ActorModelAction, ActorModelState};

pub type ModelNode = Mixed<Node<ModelValue, SymbolicAuth>, ByzantineProposer>;
pub type ModelNodeState = MixedState<NodeState<ModelValue>, ByzantineState>;
/// The checked model of the single decree.
pub type BpfpModel = ProtocolModel<ModelConfig>;
pub type State = ActorModelState<ModelNode, Ghost>;
pub type Action = ActorModelAction<Msg<ModelValue>, NodeTimer, ()>;
