//! Symmetry over acceptors for the log model: the log's states, messages and history renamed
//! with the single decree's [`Renaming`]; the representative is [`representative_of`]'s.

use super::SlotValue;
use super::actor::{LogModelNode, LogModelNodeState};
use super::byzantine::LogByzantineState;
use super::history::LogGhost;
use crate::auth::Mac;
use crate::log::acceptor::LogAcceptorState;
use crate::log::learner::LogLearnerState;
use crate::log::message::{LogMsg, LogPromise};
use crate::log::node::LogNodeState;
use crate::log::proposer::{Leading, LogProposerState};
use crate::models::symbolic::SymbolicAuth;
use crate::models::symmetry::{Rename, Renaming, representative_of};
use stateright::actor::ActorModelState;

impl Rename for LogPromise<SlotValue> {
    fn rename(&self, r: &Renaming) -> Self {
        let acceptor = r.acceptor(self.acceptor);
        if self.is_authentic(&SymbolicAuth) {
            LogPromise::signed(
                &SymbolicAuth,
                self.round,
                acceptor,
                self.decided_prefix,
                self.votes.to_vec(),
            )
        } else {
            LogPromise {
                acceptor,
                mac: Mac::FORGED,
                ..self.clone()
            }
        }
    }
}

impl Rename for LogMsg<SlotValue> {
    fn rename(&self, r: &Renaming) -> Self {
        match self {
            LogMsg::Accept {
                round,
                slot,
                value,
                proof,
            } => {
                let mut proof: Vec<_> = proof.iter().map(|p| p.rename(r)).collect();
                proof.sort();
                LogMsg::Accept {
                    round: *round,
                    slot: *slot,
                    value: *value,
                    proof: proof.into(),
                }
            }
            LogMsg::Promise(p) => LogMsg::Promise(p.rename(r)),
            LogMsg::Learn { .. } | LogMsg::TrustChange { .. } => self.clone(),
        }
    }
}

impl Rename for LogLearnerState<SlotValue> {
    fn rename(&self, r: &Renaming) -> Self {
        LogLearnerState {
            base: self.base,
            slots: self
                .slots
                .iter()
                .map(|(slot, l)| (*slot, l.rename(r)))
                .collect(),
        }
    }
}

impl Rename for LogModelNodeState {
    fn rename(&self, r: &Renaming) -> Self {
        use crate::models::mixed::MixedState::{Byzantine, Honest};
        match self {
            Honest(LogNodeState::Acceptor(s)) => Honest(LogNodeState::Acceptor(LogAcceptorState {
                learner: s.learner.rename(r),
                ..s.clone()
            })),
            Honest(LogNodeState::Proposer(s)) => Honest(LogNodeState::Proposer(LogProposerState {
                promises: s
                    .promises
                    .iter()
                    .map(|(round, by)| {
                        let by = by.values().map(|p| (r.acceptor(p.acceptor), p.rename(r)));
                        (*round, by.collect())
                    })
                    .collect(),
                leading: s.leading.as_ref().map(|l| {
                    let mut proof: Vec<_> = l.proof.iter().map(|p| p.rename(r)).collect();
                    proof.sort();
                    Leading {
                        proof: proof.into(),
                        ..l.clone()
                    }
                }),
            })),
            Honest(LogNodeState::Learner(s)) => Honest(LogNodeState::Learner(s.rename(r))),
            Byzantine(s) => Byzantine(LogByzantineState {
                promises: s.promises.iter().map(|p| p.rename(r)).collect(),
            }),
        }
    }
}

impl Rename for LogGhost {
    fn rename(&self, r: &Renaming) -> Self {
        LogGhost {
            votes: self
                .votes
                .iter()
                .map(|(a, round, slot, v)| (r.acceptor(*a), *round, *slot, *v))
                .collect(),
            promises: self
                .promises
                .iter()
                .map(|(round, a, d, votes)| (*round, r.acceptor(*a), *d, votes.clone()))
                .collect(),
            proposals: self.proposals.clone(),
        }
    }
}

/// The representative of a log state's class under renaming of acceptors.
pub fn log_representative(
    state: &ActorModelState<LogModelNode, LogGhost>,
) -> ActorModelState<LogModelNode, LogGhost> {
    let acceptors = state
        .actor_states
        .iter()
        .take_while(|s| matches!(&***s, LogModelNodeState::Honest(LogNodeState::Acceptor(_))))
        .count();
    representative_of(state, acceptors)
}
