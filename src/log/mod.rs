//! The replicated log of PROTOCOL.md §8: one BP Fast Paxos instance per slot, with rounds
//! (trust epochs) shared by all slots. Like the single decree, every module is pure: step
//! functions return the next state and the effects for a driver to carry out.
//!
//! - [`value`]: what a slot holds: a batch of commands or a no-op.
//! - [`message`]: `ACCEPT(r, s, v, proof)`, `PROMISE(r, a, d, votes, mac)`, `LEARN(r, s, v)`,
//!   `TRUSTCHANGE(r)`.
//! - [`rules`]: `Allowed` slot by slot, closed slots, and `ValidProof` for a slot.
//! - [`step`]: the effects of a log step.
//! - [`learner`], [`acceptor`], [`proposer`]: the step functions of each agent.
//! - [`face`]: the log's one face for a driver that builds on it (the service): every call a
//!   step function.
//! - [`node`]: the log as a [`crate::protocol::Protocol`], its agents as stateright actors.

pub mod acceptor;
pub mod changes;
pub mod face;
pub mod learner;
pub mod message;
pub mod node;
pub mod proposer;
pub mod rules;
pub mod step;
pub mod value;

/// A position in the log, from 0.
pub type Slot = u64;

/// How far above its decided prefix an acceptor of the service votes: the window its
/// servers give their acceptors, and that a cluster config's limits are checked against.
pub const SLOT_WINDOW: u64 = 1024;
