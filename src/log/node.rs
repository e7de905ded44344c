//! The replicated log as a [`Protocol`]: its honest agents are
//! [`crate::protocol::node::Node`]s, whose step functions are those of [`super::acceptor`],
//! [`super::proposer`] and [`super::learner`].

use super::acceptor::{LogAcceptor, LogAcceptorState, LogDurableState};
use super::learner::{self, LogLearnerState};
use super::message::LogMsg;
use super::proposer::{LogProposer, LogProposerState};
use super::step::{LogEffect, LogStep, SlotDecision};
use super::value::LogValue;
use crate::auth::Authenticator;
use crate::protocol::{self, Protocol, StepOf};
use crate::rules::Rules;
use crate::step::Peer;
use crate::types::Value;
use std::marker::PhantomData;

/// The replicated log, with batches `B` and acceptors that authenticate with `A`.
pub struct Log<B, A>(PhantomData<fn() -> (B, A)>);

/// An honest log agent.
pub type LogRole<B, A> = protocol::node::Role<LogAcceptor<A>, LogProposer<B>>;
/// An honest log agent and where its peers are.
pub type LogNode<B, A> = protocol::node::Node<Log<B, A>>;
/// The state of an honest log agent.
pub type LogNodeState<B> = protocol::node::NodeState<
    LogAcceptorState<LogValue<B>>,
    LogProposerState<B>,
    LogLearnerState<LogValue<B>>,
>;

impl<B: Value, A: Authenticator> Protocol for Log<B, A> {
    type Msg = LogMsg<LogValue<B>>;
    type Decision = SlotDecision<LogValue<B>>;
    type Acceptor = LogAcceptor<A>;
    type AcceptorState = LogAcceptorState<LogValue<B>>;
    type Durable = LogDurableState<LogValue<B>>;
    type Proposer = LogProposer<B>;
    type ProposerState = LogProposerState<B>;
    type LearnerState = LogLearnerState<LogValue<B>>;

    fn recover(durable: Option<&Self::Durable>) -> Self::AcceptorState {
        durable.map_or_else(LogAcceptorState::initial, LogAcceptorState::recover)
    }

    fn durable(state: &Self::AcceptorState) -> Self::Durable {
        state.durable()
    }

    fn acceptor_step(
        acceptor: &LogAcceptor<A>,
        state: &Self::AcceptorState,
        from: Peer,
        msg: &Self::Msg,
    ) -> Option<StepOf<Self, Self::AcceptorState>> {
        acceptor.on_message(state, from, msg)
    }

    fn acceptor_timeout(
        acceptor: &LogAcceptor<A>,
        state: &Self::AcceptorState,
    ) -> Option<StepOf<Self, Self::AcceptorState>> {
        acceptor.timeout(state)
    }

    fn proposer_start(proposer: &LogProposer<B>) -> StepOf<Self, LogProposerState<B>> {
        proposer.start()
    }

    fn proposer_step(
        proposer: &LogProposer<B>,
        state: &LogProposerState<B>,
        from: Peer,
        msg: &Self::Msg,
    ) -> Option<StepOf<Self, LogProposerState<B>>> {
        proposer.on_message(state, from, msg)
    }

    fn learner_step(
        rules: &Rules,
        state: &Self::LearnerState,
        from: Peer,
        msg: &Self::Msg,
    ) -> Option<StepOf<Self, Self::LearnerState>> {
        let (Peer::Acceptor(a), LogMsg::Learn { round, slot, value }) = (from, msg) else {
            return None;
        };
        let learned = learner::learn(rules.quorum, state, a, *round, *slot, value)?;
        let step = LogStep::new(learned.state);
        Some(match learned.decided {
            Some(decision) => step.effect(LogEffect::Decided(SlotDecision {
                slot: *slot,
                decision,
            })),
            None => step,
        })
    }

    fn report(node: usize, decided: &Self::Decision) {
        tracing::debug!(
            node,
            slot = decided.slot,
            round = decided.decision.round,
            value = %decided.decision.value,
            "decided"
        );
    }
}
