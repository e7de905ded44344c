//! From the model to the vectors: model values become the strings `"A"`, `"B"`, `"Z"` (the
//! String value encoding), and a PROMISE that carries a genuine symbolic authenticator is
//! signed again with HMAC-SHA256 under the test domain key. A forged one stays forged.

use crate::acceptor::AcceptorState;
use crate::auth::{Authenticator, Mac};
use crate::learner::{Decision, LearnerState};
use crate::message::{Msg, Promise, Vote};
use crate::models::symbolic::SymbolicAuth;
use crate::models::value::ModelValue;

pub fn value(v: &ModelValue) -> String {
    v.to_string()
}

pub fn vote(v: &Vote<ModelValue>) -> Vote<String> {
    Vote {
        round: v.round,
        value: value(&v.value),
    }
}

/// The PROMISE with string values; re-signed with `auth` if the model's was authentic.
pub fn promise<A: Authenticator>(auth: &A, p: &Promise<ModelValue>) -> Promise<String> {
    let last_vote = p.last_vote.as_ref().map(vote);
    if p.is_authentic(&SymbolicAuth) {
        Promise::signed(auth, p.round, p.acceptor, last_vote)
    } else {
        Promise {
            round: p.round,
            acceptor: p.acceptor,
            last_vote,
            mac: Mac::FORGED,
        }
    }
}

pub fn message<A: Authenticator>(auth: &A, msg: &Msg<ModelValue>) -> Msg<String> {
    match msg {
        Msg::Accept {
            round,
            value: v,
            proof,
        } => Msg::Accept {
            round: *round,
            value: value(v),
            proof: proof
                .iter()
                .map(|p| promise(auth, p))
                .collect::<Vec<_>>()
                .into(),
        },
        Msg::Promise(p) => Msg::Promise(promise(auth, p)),
        Msg::Learn { round, value: v } => Msg::Learn {
            round: *round,
            value: value(v),
        },
        Msg::TrustChange { round } => Msg::TrustChange { round: *round },
    }
}

pub fn acceptor_state(s: &AcceptorState<ModelValue>) -> AcceptorState<String> {
    AcceptorState {
        rnd: s.rnd,
        last_vote: s.last_vote.as_ref().map(vote),
        learner: LearnerState {
            learned: s
                .learner
                .learned
                .iter()
                .map(|(r, learns)| (*r, learns.iter().map(|(a, v)| (*a, value(v))).collect()))
                .collect(),
            decided: s.learner.decided.as_ref().map(|d| Decision {
                round: d.round,
                value: value(&d.value),
            }),
        },
    }
}
