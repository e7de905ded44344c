//! Symmetry over acceptors for the single decree: its PROMISEs, messages, agents' states and
//! ghost history renamed with the core's [`Renaming`] (`models/core/symmetry.rs` says why
//! renaming acceptors loses nothing).

use super::actor::State;
use super::config::ModelConfig;
use super::core::symmetry::{self, Rename, Renaming, Symmetric, names_no_acceptor};
use super::history::Ghost;
use super::symbolic::SymbolicAuth;
use super::value::ModelValue;
use crate::acceptor::AcceptorState;
use crate::auth::Mac;
use crate::message::{Msg, Promise, Proof, Vote};
use crate::proposer::ProposerState;

impl Rename for Promise<ModelValue> {
    fn rename(&self, r: &Renaming) -> Self {
        let acceptor = r.acceptor(self.acceptor);
        // Checked once: the check encodes the PROMISE.
        let authentic = self.is_authentic(&SymbolicAuth);
        if acceptor == self.acceptor && (authentic || self.mac == Mac::FORGED) {
            return self.clone();
        }
        if authentic {
            Promise::signed(&SymbolicAuth, self.round, acceptor, self.last_vote.clone())
        } else {
            Promise {
                acceptor,
                mac: Mac::FORGED,
                ..self.clone()
            }
        }
    }

    /// Its acceptor keeps its name, and its authenticator is one that renaming rebuilds as it
    /// is: forged, or authentic (then signed again for the same content).
    fn fixed_by(&self, r: &Renaming) -> bool {
        r.acceptor(self.acceptor) == self.acceptor
            && (self.mac == Mac::FORGED || self.is_authentic(&SymbolicAuth))
    }
}

/// A proof renamed: its PROMISEs renamed and put in order, or itself, still shared, when that
/// changes nothing.
fn rename_proof(proof: &Proof<ModelValue>, r: &Renaming) -> Proof<ModelValue> {
    r.proof(proof, |proof| {
        if proof.is_sorted() && proof.iter().all(|p| p.fixed_by(r)) {
            return None;
        }
        let mut renamed: Vec<_> = proof.iter().map(|p| p.rename(r)).collect();
        renamed.sort();
        Some(renamed.into())
    })
}

impl Rename for Msg<ModelValue> {
    fn rename(&self, r: &Renaming) -> Self {
        match self {
            Msg::Accept {
                round,
                value,
                proof,
            } => Msg::Accept {
                round: *round,
                value: *value,
                proof: rename_proof(proof, r),
            },
            Msg::Promise(p) => Msg::Promise(p.rename(r)),
            Msg::Learn { .. } | Msg::TrustChange { .. } => self.clone(),
        }
    }

    /// Renaming sorts a proof and renames its PROMISEs: fixed when both change nothing (the
    /// renamed proof is then the same one).
    fn fixed_by(&self, r: &Renaming) -> bool {
        match self {
            Msg::Accept { proof, .. } => rename_proof(proof, r).as_ptr() == proof.as_ptr(),
            Msg::Promise(p) => p.fixed_by(r),
            Msg::Learn { .. } | Msg::TrustChange { .. } => true,
        }
    }
}

impl Rename for AcceptorState<ModelValue> {
    fn rename(&self, r: &Renaming) -> Self {
        AcceptorState {
            learner: self.learner.rename(r),
            ..self.clone()
        }
    }

    fn fixed_by(&self, r: &Renaming) -> bool {
        self.learner.fixed_by(r)
    }
}

impl Rename for ProposerState<ModelValue> {
    fn rename(&self, r: &Renaming) -> Self {
        ProposerState {
            promises: symmetry::rename_promises(&self.promises, r, |p| p.acceptor),
            proposed: self.proposed,
        }
    }

    /// Each PROMISE fixed and filed under its own acceptor, where renaming files it.
    fn fixed_by(&self, r: &Renaming) -> bool {
        self.promises
            .values()
            .all(|by| by.iter().all(|(a, p)| *a == p.acceptor && p.fixed_by(r)))
    }
}

// A PROMISE's last vote names no acceptor: only its sender is renamed.
names_no_acceptor!(Option<Vote<ModelValue>>);

/// Its votes and PROMISEs name acceptors; its proposals name proposers only.
impl Rename for Ghost {
    fn fixed_by(&self, r: &Renaming) -> bool {
        self.votes.fixed_by(r) && self.promises.fixed_by(r) && self.forged_promises.fixed_by(r)
    }

    fn rename(&self, r: &Renaming) -> Self {
        Ghost {
            votes: self.votes.rename(r),
            promises: self.promises.rename(r),
            proposals: self.proposals.clone(),
            forged_promises: self.forged_promises.rename(r),
        }
    }
}

impl Symmetric for ModelConfig {}

/// The representative of a state's class: acceptors renamed so that their (state, crashed,
/// stored state) come out sorted.
pub fn representative(state: &State) -> State {
    symmetry::representative::<ModelConfig>(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::core::symmetry::forget_renamed_proofs;
    use crate::models::walk::{WalkPlan, sample};

    /// The proofs a thread renamed before are taken again only for the same proof renamed the
    /// same way: representatives found with the cache warm from many states are those found
    /// from nothing.
    #[test]
    fn proofs_renamed_before_give_the_representatives_found_afresh() {
        let model = ModelConfig::default().into_model();
        let plan = WalkPlan {
            walks: 150,
            depth: 40,
            seed: 11,
        };
        let states = sample(&model, plan);
        let warm: Vec<State> = states.iter().map(representative).collect();
        let mut renamed_proofs = 0;
        for (state, warm) in states.iter().zip(&warm) {
            forget_renamed_proofs();
            let afresh = representative(state);
            assert_eq!(*warm, afresh);
            renamed_proofs += usize::from(afresh.network != state.network);
        }
        assert!(renamed_proofs > 100, "{renamed_proofs} networks renamed");
    }
}
