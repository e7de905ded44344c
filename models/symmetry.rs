//! Symmetry over acceptors for the single decree: its PROMISEs, messages, agents' states and
//! ghost history renamed with the core's [`Renaming`] (`models/core/symmetry.rs` says why
//! renaming acceptors loses nothing).

use super::actor::State;
use super::config::ModelConfig;
use super::core::symmetry::{self, Rename, Renaming, Symmetric};
use super::history::{Ghost, PromiseContent};
use super::symbolic::SymbolicAuth;
use super::value::ModelValue;
use crate::acceptor::AcceptorState;
use crate::auth::Mac;
use crate::message::{Msg, Promise};
use crate::proposer::ProposerState;

impl Rename for Promise<ModelValue> {
    fn rename(&self, r: &Renaming) -> Self {
        let acceptor = r.acceptor(self.acceptor);
        if self.is_authentic(&SymbolicAuth) {
            Promise::signed(&SymbolicAuth, self.round, acceptor, self.last_vote.clone())
        } else {
            Promise {
                acceptor,
                mac: Mac::FORGED,
                ..self.clone()
            }
        }
    }
}

impl Rename for Msg<ModelValue> {
    fn rename(&self, r: &Renaming) -> Self {
        match self {
            Msg::Accept {
                round,
                value,
                proof,
            } => {
                let mut proof: Vec<_> = proof.iter().map(|p| p.rename(r)).collect();
                proof.sort();
                Msg::Accept {
                    round: *round,
                    value: *value,
                    proof: proof.into(),
                }
            }
            Msg::Promise(p) => Msg::Promise(p.rename(r)),
            Msg::Learn { .. } | Msg::TrustChange { .. } => self.clone(),
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
}

impl Rename for ProposerState<ModelValue> {
    fn rename(&self, r: &Renaming) -> Self {
        ProposerState {
            promises: symmetry::rename_promises(&self.promises, r, |p| p.acceptor),
            proposed: self.proposed,
        }
    }
}

fn rename_content(c: &PromiseContent, r: &Renaming) -> PromiseContent {
    (c.0, r.acceptor(c.1), c.2.clone())
}

impl Rename for Ghost {
    fn rename(&self, r: &Renaming) -> Self {
        Ghost {
            votes: self
                .votes
                .iter()
                .map(|(a, round, v)| (r.acceptor(*a), *round, *v))
                .collect(),
            promises: self.promises.iter().map(|c| rename_content(c, r)).collect(),
            proposals: self.proposals.clone(),
            forged_promises: self
                .forged_promises
                .iter()
                .map(|c| rename_content(c, r))
                .collect(),
        }
    }
}

impl Symmetric for ModelConfig {}

/// The representative of a state's class: acceptors renamed so that their (state, crashed,
/// stored state) come out sorted.
pub fn representative(state: &State) -> State {
    symmetry::representative::<ModelConfig>(state)
}
