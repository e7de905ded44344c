//! The model's actors: the honest nodes of [`crate::node`], unchanged, and Byzantine proposers.

use super::byzantine::{ByzantineProposer, ByzantineState};
use super::symbolic::SymbolicAuth;
use super::value::ModelValue;
use crate::acceptor::DurableState;
use crate::message::Msg;
use crate::node::{Node, NodeState, NodeTimer};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;

#[derive(Clone, Debug)]
pub enum ModelNode {
    Honest(Node<ModelValue, SymbolicAuth>),
    Byzantine(ByzantineProposer),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ModelNodeState {
    Honest(NodeState<ModelValue>),
    Byzantine(ByzantineState),
}

impl Actor for ModelNode {
    type Msg = Msg<ModelValue>;
    type State = ModelNodeState;
    type Timer = NodeTimer;
    type Storage = DurableState<ModelValue>;
    type Random = ();

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        match self {
            ModelNode::Honest(node) => {
                let mut out = Out::new();
                let state = node.on_start(id, storage, &mut out);
                o.append(&mut out);
                ModelNodeState::Honest(state)
            }
            ModelNode::Byzantine(byz) => ModelNodeState::Byzantine(byz.start(o)),
        }
    }

    fn on_msg(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        src: Id,
        msg: Self::Msg,
        o: &mut Out<Self>,
    ) {
        match (self, state.as_ref()) {
            (ModelNode::Honest(node), ModelNodeState::Honest(inner)) => {
                let mut inner = Cow::Borrowed(inner);
                let mut out = Out::new();
                node.on_msg(id, &mut inner, src, msg, &mut out);
                o.append(&mut out);
                if let Cow::Owned(next) = inner {
                    *state.to_mut() = ModelNodeState::Honest(next);
                }
            }
            (ModelNode::Byzantine(byz), ModelNodeState::Byzantine(inner)) => {
                if let Some(next) = byz.receive(inner, src, &msg, o) {
                    *state.to_mut() = ModelNodeState::Byzantine(next);
                }
            }
            _ => unreachable!("an actor's state always matches its kind"),
        }
    }

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        timer: &Self::Timer,
        o: &mut Out<Self>,
    ) {
        if let (ModelNode::Honest(node), ModelNodeState::Honest(inner)) = (self, state.as_ref()) {
            let mut inner = Cow::Borrowed(inner);
            let mut out = Out::new();
            node.on_timeout(id, &mut inner, timer, &mut out);
            o.append(&mut out);
            if let Cow::Owned(next) = inner {
                *state.to_mut() = ModelNodeState::Honest(next);
            }
        }
    }
}
