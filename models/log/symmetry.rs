//! Symmetry over acceptors for the log model: the log's states, messages and history renamed
//! with the single decree's [`Renaming`]; the representative is [`representative_of`]'s.

use super::SlotValue;
use super::actor::{LogModelNode, LogModelNodeState};
use super::byzantine::LogByzantineState;
use super::history::LogGhost;
use crate::auth::Mac;
use crate::log::acceptor::LogAcceptorState;
use crate::log::learner::LogLearnerState;
use crate::log::message::{LogMsg, LogPromise, LogProof, RoundProof};
use crate::log::node::LogNodeState;
use crate::log::proposer::{Leading, LogProposerState};
use crate::models::symbolic::SymbolicAuth;
use crate::models::symmetry::{Rename, Renaming, apply_renaming, canonical_renaming};
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

impl Rename for LogProof<SlotValue> {
    /// Renamed, and sorted so that the order of PROMISEs does not depend on names.
    fn rename(&self, r: &Renaming) -> Self {
        let mut proof: Vec<_> = self.iter().map(|p| p.rename(r)).collect();
        proof.sort();
        proof.into()
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
            } => LogMsg::Accept {
                round: *round,
                slot: *slot,
                value: *value,
                proof: proof.rename(r),
            },
            LogMsg::NewRound {
                round,
                proof,
                accepts,
            } => LogMsg::NewRound {
                round: *round,
                proof: proof.rename(r),
                accepts: accepts.clone(),
            },
            LogMsg::AcceptByDigest {
                round,
                slot,
                value,
                digest,
            } => LogMsg::AcceptByDigest {
                round: *round,
                slot: *slot,
                value: *value,
                digest: r.digest(*digest),
            },
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

impl Rename for RoundProof<SlotValue> {
    /// The renamed proof, digested anew: a digest names the proof's contents.
    fn rename(&self, r: &Renaming) -> Self {
        RoundProof::new(self.round, self.proof.rename(r))
    }
}

impl Rename for LogModelNodeState {
    fn rename(&self, r: &Renaming) -> Self {
        use crate::models::mixed::MixedState::{Byzantine, Honest};
        match self {
            Honest(LogNodeState::Acceptor(s)) => Honest(LogNodeState::Acceptor(LogAcceptorState {
                learner: s.learner.rename(r),
                round_proof: s.round_proof.as_ref().map(|k| k.rename(r)),
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
                leading: s.leading.as_ref().map(|l| Leading {
                    proof: l.proof.rename(r),
                    next_slot: l.next_slot,
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
    let mut r = canonical_renaming(state, acceptors);
    // Digests in ACCEPTs name proofs; every proof they can name is in a NEWROUND, which the
    // duplicating network keeps, or held by a proposer or an acceptor.
    let mut proofs: Vec<&LogProof<SlotValue>> = Vec::new();
    for env in state.network.iter_all() {
        if let LogMsg::NewRound { proof, .. } = env.msg {
            proofs.push(proof);
        }
    }
    for s in &state.actor_states {
        match &**s {
            LogModelNodeState::Honest(LogNodeState::Proposer(p)) => {
                proofs.extend(p.leading.as_ref().map(|l| &l.proof.proof));
            }
            LogModelNodeState::Honest(LogNodeState::Acceptor(a)) => {
                proofs.extend(a.round_proof.as_ref().map(|k| &k.proof));
            }
            _ => {}
        }
    }
    let digests = proofs
        .into_iter()
        .map(|p| (p.digest(), p.rename(&r).digest()))
        .collect();
    r.digests = digests;
    apply_renaming(state, &r)
}
