//! The shape every protocol of the crate shares: a [`Protocol`] names its messages, states,
//! durable state and decisions, and its agents' step functions; [`node::Node`] is the one
//! stateright actor that routes for any of them. The single decree ([`crate::node`]) and the
//! replicated log ([`crate::log::node`]) are its two instances.

pub mod node;
pub mod step;

use crate::rules::Rules;
use std::fmt::Debug;
use std::hash::Hash;
use step::Peer;

/// A step of protocol `P`'s agent whose state is `S`.
pub type StepOf<P, S> = step::Step<S, <P as Protocol>::Msg, <P as Protocol>::Decision>;

/// A protocol: its types and the pure step functions of its three agents. Implemented by a
/// marker type; every function is pure (no I/O, no clocks, no randomness).
pub trait Protocol: 'static {
    type Msg: Clone + Debug + Eq + Hash + Send + Sync;
    /// What a learner decides (a value, or a value for a slot).
    type Decision: Clone + Debug + Eq;
    /// The acceptor: its identity, rules and authenticator.
    type Acceptor: Clone + Debug + Send + Sync;
    type AcceptorState: Clone + Debug + Eq + Hash + Send + Sync;
    /// What an acceptor stores before it sends anything that depends on it.
    type Durable: Clone + Debug + Eq + Hash + Send + Sync;
    type Proposer: Clone + Debug + Send + Sync;
    type ProposerState: Clone + Debug + Eq + Hash + Send + Sync;
    type LearnerState: Clone + Debug + Eq + Hash + Send + Sync + Default;

    /// An acceptor's state after a start: initial, or recovered from what it stored.
    fn recover(durable: Option<&Self::Durable>) -> Self::AcceptorState;
    /// The part of an acceptor's state that it stores.
    fn durable(state: &Self::AcceptorState) -> Self::Durable;
    fn acceptor_step(
        acceptor: &Self::Acceptor,
        state: &Self::AcceptorState,
        from: Peer,
        msg: &Self::Msg,
    ) -> Option<StepOf<Self, Self::AcceptorState>>;
    /// No decision in time: the acceptor may suspect the leader.
    fn acceptor_timeout(
        acceptor: &Self::Acceptor,
        state: &Self::AcceptorState,
    ) -> Option<StepOf<Self, Self::AcceptorState>>;

    fn proposer_start(proposer: &Self::Proposer) -> StepOf<Self, Self::ProposerState>;
    fn proposer_step(
        proposer: &Self::Proposer,
        state: &Self::ProposerState,
        from: Peer,
        msg: &Self::Msg,
    ) -> Option<StepOf<Self, Self::ProposerState>>;

    /// A learner that is not an acceptor (a client) takes `msg`.
    fn learner_step(
        rules: &Rules,
        state: &Self::LearnerState,
        from: Peer,
        msg: &Self::Msg,
    ) -> Option<StepOf<Self, Self::LearnerState>>;

    /// Reports a decision of node `node` to whoever listens (the runtime's log).
    fn report(node: usize, decision: &Self::Decision);
}
