//! The honest log agents as stateright actors, routing only, as [`crate::node`] does for the
//! single decree (and with its [`Topology`]).

use super::acceptor::{LogAcceptor, LogAcceptorState, LogDurableState};
use super::learner::{self, LogLearnerState};
use super::message::LogMsg;
use super::proposer::{LogProposer, LogProposerState};
use super::step::{LogEffect, LogStep};
use super::value::LogValue;
use crate::auth::Authenticator;
use crate::node::{NodeTimer, Topology};
use crate::rules::Rules;
use crate::step::Peer;
use crate::types::Value;
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;

/// An honest log agent.
#[derive(Clone, Debug)]
pub enum LogRole<B, A> {
    Acceptor(LogAcceptor<A>),
    Proposer(LogProposer<B>),
    /// A learner that is not an acceptor (a client).
    Learner(Rules),
}

#[derive(Clone, Debug)]
pub struct LogNode<B, A> {
    pub role: LogRole<B, A>,
    pub topology: Topology,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(bound(deserialize = "B: Deserialize<'de> + Ord"))]
pub enum LogNodeState<B> {
    Acceptor(LogAcceptorState<LogValue<B>>),
    Proposer(LogProposerState<B>),
    Learner(LogLearnerState<LogValue<B>>),
}

impl<B: Value, A: Authenticator> LogNode<B, A> {
    /// Carries out a step's effects through stateright's `Out`.
    fn apply<S>(
        &self,
        id: Id,
        step: &LogStep<S, LogValue<B>>,
        durable: Option<LogDurableState<LogValue<B>>>,
        o: &mut Out<Self>,
    ) {
        for effect in &step.effects {
            match effect {
                LogEffect::Persist => {
                    if let Some(d) = &durable {
                        o.save(d.clone());
                    }
                }
                LogEffect::Send(to, msg) => {
                    for dst in self.topology.recipients(id, *to) {
                        o.send(dst, msg.clone());
                    }
                }
                LogEffect::TrustChanged { round, cause } => {
                    tracing::info!(node = usize::from(id), round, %cause, "trust change");
                }
                LogEffect::Decided { slot, decision } => {
                    tracing::debug!(
                        node = usize::from(id),
                        slot,
                        round = decision.round,
                        value = %decision.value,
                        "decided"
                    );
                }
            }
        }
    }

    /// Applies an acceptor's step and returns its next state.
    fn acceptor_step(
        &self,
        id: Id,
        step: LogStep<LogAcceptorState<LogValue<B>>, LogValue<B>>,
        o: &mut Out<Self>,
    ) -> LogNodeState<B> {
        self.apply(id, &step, Some(step.state.durable()), o);
        LogNodeState::Acceptor(step.state)
    }
}

impl<B: Value, A: Authenticator> LogNode<B, A> {
    /// A proposer's new batch, proposed in the round it leads ([`LogProposer::submit`]).
    /// `None` if it is not a proposer or leads no round.
    pub fn submit(
        &self,
        id: Id,
        state: &LogNodeState<B>,
        batch: B,
        o: &mut Out<Self>,
    ) -> Option<LogNodeState<B>> {
        let (LogRole::Proposer(proposer), LogNodeState::Proposer(s)) = (&self.role, state) else {
            return None;
        };
        let step = proposer.submit(s, batch)?;
        self.apply(id, &step, None, o);
        Some(LogNodeState::Proposer(step.state))
    }

    /// A proposer's step on `msg` from `src`, with `batches` as its pending values (what a
    /// new round's plan proposes). `None` if it is not a proposer or the message changes
    /// nothing.
    pub fn proposer_on_msg(
        &self,
        id: Id,
        state: &LogNodeState<B>,
        src: Id,
        msg: &LogMsg<LogValue<B>>,
        batches: &[B],
        o: &mut Out<Self>,
    ) -> Option<LogNodeState<B>> {
        let (LogRole::Proposer(proposer), LogNodeState::Proposer(s)) = (&self.role, state) else {
            return None;
        };
        let step = proposer.on_message_with(s, self.topology.peer(src), msg, batches)?;
        self.apply(id, &step, None, o);
        Some(LogNodeState::Proposer(step.state))
    }
}

impl<B: Value, A: Authenticator> Actor for LogNode<B, A> {
    type Msg = LogMsg<LogValue<B>>;
    type State = LogNodeState<B>;
    type Timer = NodeTimer;
    type Storage = LogDurableState<LogValue<B>>;
    type Random = ();

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        match &self.role {
            LogRole::Acceptor(_) => {
                o.set_timer(
                    NodeTimer::SuspectLeader,
                    self.topology.suspect_after.clone(),
                );
                LogNodeState::Acceptor(match storage {
                    Some(durable) => LogAcceptorState::recover(durable),
                    None => LogAcceptorState::initial(),
                })
            }
            LogRole::Proposer(proposer) => {
                let step = proposer.start();
                self.apply(id, &step, None, o);
                LogNodeState::Proposer(step.state)
            }
            LogRole::Learner(_) => LogNodeState::Learner(LogLearnerState::default()),
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
        let from = self.topology.peer(src);
        let next = match (&self.role, state.as_ref()) {
            (LogRole::Acceptor(acceptor), LogNodeState::Acceptor(s)) => acceptor
                .on_message(s, from, &msg)
                .map(|step| self.acceptor_step(id, step, o)),
            (LogRole::Proposer(proposer), LogNodeState::Proposer(_)) => {
                self.proposer_on_msg(id, state, src, &msg, &proposer.batches, o)
            }
            (LogRole::Learner(rules), LogNodeState::Learner(s)) => match (from, &msg) {
                (Peer::Acceptor(a), LogMsg::Learn { round, slot, value }) => {
                    learner::learn(rules.quorum, s, a, *round, *slot, value)
                        .map(|learned| LogNodeState::Learner(learned.state))
                }
                _ => None,
            },
            _ => unreachable!("a node's state always matches its role"),
        };
        if let Some(next) = next {
            *state = Cow::Owned(next);
        }
    }

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        timer: &Self::Timer,
        o: &mut Out<Self>,
    ) {
        let NodeTimer::SuspectLeader = timer;
        if let (LogRole::Acceptor(acceptor), LogNodeState::Acceptor(s)) =
            (&self.role, state.as_ref())
        {
            if let Some(step) = acceptor.timeout(s) {
                *state = Cow::Owned(self.acceptor_step(id, step, o));
            }
            o.set_timer(
                NodeTimer::SuspectLeader,
                self.topology.suspect_after.clone(),
            );
        }
    }
}
