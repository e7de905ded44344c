//! What a single-decree step function returns: the shared [`crate::protocol::step`] shape with
//! the single decree's messages and decisions.

use crate::learner::Decision;
use crate::message::Msg;
use crate::protocol::step;

pub use crate::protocol::step::{Peer, To, TrustCause};

/// An effect of a single-decree step, for the driver to carry out in order.
pub type Effect<V> = step::Effect<Msg<V>, Decision<V>>;

/// A single-decree step: the next state and its effects.
pub type Step<S, V> = step::Step<S, Msg<V>, Decision<V>>;
