//! What a log step function returns: the shared [`crate::protocol::step`] shape with log
//! messages and decisions that name their slot.

use super::Slot;
use super::message::LogMsg;
use crate::learner::Decision;
use crate::protocol::step;
use serde::{Deserialize, Serialize};

/// A learner's decision for one slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotDecision<V> {
    pub slot: Slot,
    pub decision: Decision<V>,
}

/// An effect of a log step, for the driver to carry out in order.
pub type LogEffect<V> = step::Effect<LogMsg<V>, SlotDecision<V>>;

/// A log step: the next state and its effects.
pub type LogStep<S, V> = step::Step<S, LogMsg<V>, SlotDecision<V>>;
