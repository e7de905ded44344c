//! The log model's types: the honest log nodes of [`crate::log::node`], unchanged, and the
//! Byzantine proposer, as the actors of the core's [`ProtocolModel`]; and its actions.

use super::byzantine::{ByzantineProposer, ByzantineState};
use super::config::{Config, SlotValue};
use super::history::Ghost;
use crate::log::Slot;
use crate::log::message::LogMsg;
use crate::log::node::{LogNode, LogNodeState};
use crate::models::core::mixed::{Mixed, MixedState};
use crate::models::core::model::ProtocolModel;
use crate::models::symbolic::SymbolicAuth;
use crate::models::value::ModelValue;
use crate::node::NodeTimer;
use stateright::actor::{ActorModelAction, ActorModelState, Id};

pub type ModelNode = Mixed<LogNode<ModelValue, SymbolicAuth>, ByzantineProposer>;
pub type ModelNodeState = MixedState<LogNodeState<ModelValue>, ByzantineState>;
/// The checked model of the replicated log.
pub type Model = ProtocolModel<Config>;
pub type State = ActorModelState<ModelNode, Ghost>;
pub type ActorAction = ActorModelAction<LogMsg<SlotValue>, NodeTimer, ()>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Actor(ActorAction),
    /// Acceptor `acceptor` learns the decision of chosen slot `slot` from another replica.
    CatchUp {
        acceptor: Id,
        slot: Slot,
    },
    /// Acceptor `acceptor` learns the next `slots` chosen slots from its decided prefix on,
    /// then takes `step` (a delivery to it or its timeout), which reads what it learned.
    LearnThen {
        acceptor: Id,
        slots: Slot,
        step: ActorAction,
    },
}
