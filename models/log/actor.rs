//! The log model's actors: the honest log nodes, unchanged, and the Byzantine proposer.

use super::SlotValue;
use super::byzantine::{LogByzantine, LogByzantineState};
use crate::log::acceptor::LogDurableState;
use crate::log::message::LogMsg;
use crate::log::node::{LogNode, LogNodeState};
use crate::models::symbolic::SymbolicAuth;
use crate::models::value::ModelValue;
use crate::node::NodeTimer;
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;

#[derive(Clone, Debug)]
pub enum LogModelNode {
    Honest(LogNode<ModelValue, SymbolicAuth>),
    Byzantine(LogByzantine),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LogModelNodeState {
    Honest(LogNodeState<ModelValue>),
    Byzantine(LogByzantineState),
}

impl Actor for LogModelNode {
    type Msg = LogMsg<SlotValue>;
    type State = LogModelNodeState;
    type Timer = NodeTimer;
    type Storage = LogDurableState<SlotValue>;
    type Random = ();

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        match self {
            LogModelNode::Honest(node) => {
                let mut out = Out::new();
                let state = node.on_start(id, storage, &mut out);
                o.append(&mut out);
                LogModelNodeState::Honest(state)
            }
            LogModelNode::Byzantine(byz) => LogModelNodeState::Byzantine(byz.start(o)),
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
            (LogModelNode::Honest(node), LogModelNodeState::Honest(inner)) => {
                let mut inner = Cow::Borrowed(inner);
                let mut out = Out::new();
                node.on_msg(id, &mut inner, src, msg, &mut out);
                o.append(&mut out);
                if let Cow::Owned(next) = inner {
                    *state.to_mut() = LogModelNodeState::Honest(next);
                }
            }
            (LogModelNode::Byzantine(byz), LogModelNodeState::Byzantine(inner)) => {
                if let Some(next) = byz.receive(inner, src, &msg, o) {
                    *state.to_mut() = LogModelNodeState::Byzantine(next);
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
        if let (LogModelNode::Honest(node), LogModelNodeState::Honest(inner)) =
            (self, state.as_ref())
        {
            let mut inner = Cow::Borrowed(inner);
            let mut out = Out::new();
            node.on_timeout(id, &mut inner, timer, &mut out);
            o.append(&mut out);
            if let Cow::Owned(next) = inner {
                *state.to_mut() = LogModelNodeState::Honest(next);
            }
        }
    }
}
