//! Symmetry over acceptors for the log model: the log's states, messages and history renamed
//! with the core's [`Renaming`]; proof digests are renamed with the proofs they name.

use super::actor::{ModelNodeState, State};
use super::config::{Config, SlotValue};
use super::history::Ghost;
use crate::auth::Mac;
use crate::log::acceptor::LogAcceptorState;
use crate::log::learner::LogLearnerState;
use crate::log::message::{LogMsg, LogPromise, LogProof, RoundProof, SlotVote};
use crate::log::node::LogNodeState;
use crate::log::proposer::{Leading, LogProposerState};
use crate::models::core::symmetry::{self, Rename, Renaming, Symmetric, names_no_acceptor};
use crate::models::symbolic::SymbolicAuth;
use crate::models::value::ModelValue;

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
        LogLearnerState::with_slots(
            self.base,
            self.slots
                .iter()
                .map(|(slot, l)| (*slot, l.rename(r)))
                .collect(),
        )
    }
}

impl Rename for RoundProof<SlotValue> {
    /// The renamed proof, digested anew: a digest names the proof's contents.
    fn rename(&self, r: &Renaming) -> Self {
        RoundProof::new(self.round, self.proof.rename(r))
    }
}

impl Rename for LogAcceptorState<SlotValue> {
    fn rename(&self, r: &Renaming) -> Self {
        LogAcceptorState {
            learner: self.learner.rename(r),
            round_proof: self.round_proof.as_ref().map(|k| k.rename(r)),
            ..self.clone()
        }
    }
}

impl Rename for LogProposerState<ModelValue> {
    fn rename(&self, r: &Renaming) -> Self {
        LogProposerState {
            promises: symmetry::rename_promises(&self.promises, r, |p| p.acceptor),
            leading: self.leading.as_ref().map(|l| Leading {
                proof: l.proof.rename(r),
                next_slot: l.next_slot,
            }),
        }
    }
}

// A PROMISE's votes name no acceptor: only its sender is renamed.
names_no_acceptor!(SlotValue, Vec<SlotVote<SlotValue>>);

/// Its votes and PROMISEs name acceptors; its proposals name proposers only.
impl Rename for Ghost {
    fn fixed_by(&self, r: &Renaming) -> bool {
        self.votes.fixed_by(r) && self.promises.fixed_by(r)
    }

    fn rename(&self, r: &Renaming) -> Self {
        Ghost {
            votes: self.votes.rename(r),
            promises: self.promises.rename(r),
            proposals: self.proposals.clone(),
        }
    }
}

impl Symmetric for Config {
    /// Digests in ACCEPTs name proofs, so each is renamed to the digest of its renamed proof.
    fn complete_renaming(state: &State, r: &mut Renaming) {
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
                ModelNodeState::Honest(LogNodeState::Proposer(p)) => {
                    proofs.extend(p.leading.as_ref().map(|l| &l.proof.proof));
                }
                ModelNodeState::Honest(LogNodeState::Acceptor(a)) => {
                    proofs.extend(a.round_proof.as_ref().map(|k| &k.proof));
                }
                _ => {}
            }
        }
        let digests = proofs
            .into_iter()
            .map(|p| (p.digest(), p.rename(r).digest()))
            .collect();
        r.digests = digests;
    }
}

/// The representative of a log state's class under renaming of acceptors.
pub fn representative(state: &State) -> State {
    symmetry::representative::<Config>(state)
}
