//! The log's one face for a driver that builds on it, as raft-rs' `RawNode` is the only way
//! into `Raft`: the replicated key-value service (PROTOCOL.md §8) reaches the log through
//! these calls and never edits a log state's fields (they are private to the crate, and read
//! through accessors). Every call is a pure step function: the state change and its effects
//! in order, a [`LogEffect::Persist`] before any send that depends on it.
//!
//! An acceptor ([`LogAcceptor`]):
//! - step a message: [`LogAcceptor::on_message`]; tick (suspect the leader):
//!   [`LogAcceptor::timeout`];
//! - install decisions learned from a peer: [`LogAcceptor::install_decisions`];
//! - install a snapshot of a peer's applied state: [`LogAcceptor::install_snapshot`];
//! - compact: [`LogAcceptor::compact`];
//! - answer a repeated ACCEPT: [`LogAcceptor::repeated_accept`];
//! - after a restart, promise the leader of its round again: [`LogAcceptor::promise_again`].
//!
//! A proposer ([`super::proposer::LogProposer`]): `start`, `submit` a batch, and
//! `on_message_with` its pending batches.

use super::Slot;
use super::acceptor::{LogAcceptor, LogAcceptorState, LogAcceptorStep};
use super::message::{LogMsg, LogPromise};
use super::step::{LogEffect, LogStep};
use crate::auth::Authenticator;
use crate::learner::Decision;
use crate::step::To;
use crate::types::Value;

/// An acceptor's answer to a repeated ACCEPT ([`LogAcceptor::repeated_accept`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Repeat<V> {
    /// It knows the slot decided: tell the sender.
    Decided { slot: Slot, decision: Decision<V> },
    /// It voted as asked: its LEARN again, to the learners.
    Learn(LogMsg<V>),
}

impl<A: Authenticator> LogAcceptor<A> {
    /// State transfer of decisions: a peer's decisions of slots `first, first + 1, …`. Those
    /// below its learner's base are skipped (decided and forgotten here: the driver applies
    /// them from its own copy, if at all). `None` if it learned nothing.
    pub fn install_decisions<V: Value>(
        &self,
        s: &LogAcceptorState<V>,
        first: Slot,
        decisions: &[Decision<V>],
    ) -> Option<LogAcceptorStep<V>> {
        let mut installed: Option<LogAcceptorStep<V>> = None;
        for (slot, decision) in (first..).zip(decisions) {
            let now = installed.as_ref().map_or(s, |step| &step.state);
            if slot < now.learner.base {
                continue;
            }
            let Some(more) = self.catch_up(now, slot, decision) else {
                continue;
            };
            installed = Some(match installed {
                None => more,
                Some(mut step) => {
                    step.state = more.state;
                    step.effects.extend(more.effects);
                    step
                }
            });
        }
        installed
    }

    /// State transfer of a whole prefix: the driver installed a peer's copy of its applied
    /// state up to `applied`, so the values of the slots below it are no longer needed here.
    /// `None` if `applied` is not above the learner's base.
    pub fn install_snapshot<V: Value>(
        &self,
        s: &LogAcceptorState<V>,
        applied: Slot,
    ) -> Option<LogAcceptorStep<V>> {
        let learner = s.learner.skip_to(applied)?;
        Some(LogStep::new(s.with_learner(learner)))
    }

    /// Compaction: drops the votes of the decided slots below `votes_below` (the driver's
    /// synced snapshot covers them, so they stay durable on this node), stored by the
    /// [`LogEffect::Persist`] it returns; then, with `forget_below`, forgets the learner's
    /// values below it (never an undecided slot). `None` if nothing changed.
    pub fn compact<V: Value>(
        &self,
        s: &LogAcceptorState<V>,
        votes_below: Slot,
        forget_below: Option<Slot>,
    ) -> Option<LogAcceptorStep<V>> {
        let mut step = s
            .drop_decided_votes_below(votes_below)
            .map(|next| LogStep::new(next).effect(LogEffect::Persist));
        let now = step.as_ref().map_or(s, |step| &step.state);
        if let Some(learner) = forget_below.and_then(|slot| now.learner.forget_below(slot)) {
            let next = now.with_learner(learner);
            match &mut step {
                Some(step) => step.state = next,
                None => step = Some(LogStep::new(next)),
            }
        }
        step
    }

    /// After a restart from its durable state: its PROMISE for its round `rnd > 0` again,
    /// to `leader(rnd)`, if it cast no vote in `rnd` (and verified no NEWROUND of it since).
    /// The restart lost the copy it kept to send again until the round begins, and a leader
    /// that restarted too lost the PROMISEs it had gathered: without this the round cannot
    /// begin, and ends only when the acceptors suspect its leader. The spec's `RePromise`
    /// (`spec/BPFastPaxosLog.tla`), and no new promise: `rnd` is stored, and every vote it
    /// stored is below `rnd`, so the PROMISE reports its true last votes below `rnd`, as the
    /// one it sent on moving to `rnd` did (what changed since is only what was decided: its
    /// decided prefix, the votes dropped below its base). `None` in round 0 or once the
    /// round began here.
    pub fn promise_again<V: Value>(&self, s: &LogAcceptorState<V>) -> Option<LogAcceptorStep<V>> {
        let round = s.rnd;
        let begun = s.round_proof.as_ref().is_some_and(|k| k.round >= round)
            || s.votes.values().any(|v| v.round >= round);
        if round == 0 || begun {
            return None;
        }
        let (decided_prefix, votes) = s.open_votes();
        let promise = LogPromise::signed(&self.auth, round, self.id, decided_prefix, votes);
        Some(LogStep::new(s.clone()).send(
            To::Proposer(self.cluster.leader(round)),
            LogMsg::Promise(promise),
        ))
    }

    /// A repeated ACCEPT that changed nothing: a leader resends what it has not seen decided,
    /// since UDP may have lost the LEARNs. The acceptor answers with the decision of the slot,
    /// if it knows it, or else its LEARN again, if it cast the vote the ACCEPT asks for. Not an
    /// action of the model: it only repeats what the acceptor already said or learned.
    pub fn repeated_accept<V: Value>(
        &self,
        s: &LogAcceptorState<V>,
        msg: &LogMsg<V>,
    ) -> Option<Repeat<V>> {
        let (round, slot, value) = match msg {
            LogMsg::Accept {
                round, slot, value, ..
            }
            | LogMsg::AcceptByDigest {
                round, slot, value, ..
            } => (*round, *slot, value),
            _ => return None,
        };
        if let Some(decision) = s.learner.decided(slot) {
            return Some(Repeat::Decided {
                slot,
                decision: decision.clone(),
            });
        }
        let vote = s.votes.get(&slot)?;
        (vote.round == round && vote.value == *value).then(|| {
            Repeat::Learn(LogMsg::Learn {
                round,
                slot,
                value: value.clone(),
            })
        })
    }
}
