//! The effects of a log step. [`crate::step::Step`]'s shape, with log messages and decisions
//! that name their slot.

use super::Slot;
use super::message::LogMsg;
use crate::learner::Decision;
use crate::step::{To, TrustCause};
use crate::types::Round;
use serde::{Deserialize, Serialize};

/// An effect of a log step, for the driver to carry out in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogEffect<V> {
    /// Make the acceptor's durable state (its round and votes) stable before any later send.
    Persist,
    Send(To, LogMsg<V>),
    /// An acceptor moved to `round` (for logs and traces).
    TrustChanged {
        round: Round,
        cause: TrustCause,
    },
    /// A learner decided `slot`.
    Decided {
        slot: Slot,
        decision: Decision<V>,
    },
}

/// A step: the next state and its effects. Step functions return `None` when the input
/// changes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogStep<S, V> {
    pub state: S,
    pub effects: Vec<LogEffect<V>>,
}

impl<S, V> LogStep<S, V> {
    pub fn new(state: S) -> Self {
        LogStep {
            state,
            effects: Vec::new(),
        }
    }

    pub fn send(mut self, to: To, msg: LogMsg<V>) -> Self {
        self.effects.push(LogEffect::Send(to, msg));
        self
    }

    pub fn effect(mut self, effect: LogEffect<V>) -> Self {
        self.effects.push(effect);
        self
    }
}
