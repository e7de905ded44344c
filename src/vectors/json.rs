//! How the vectors write the protocol's data: language-neutral JSON with explicit field
//! names, values as strings, bytes and authenticators as lowercase hex, acceptor and
//! proposer ids as their 0-based index (acceptor 0 is `a1` in PROTOCOL.md).

use crate::acceptor::AcceptorState;
use crate::learner::Decision;
use crate::log::message::LogPromise;
use crate::message::{Msg, Promise, Vote};
use crate::rules::{Allowed, AllowedCase, ProofError};
use crate::step::{Peer, To, TrustCause};
use crate::types::{Cluster, Value};
use serde_json::{Value as Json, json};

/// The text of a JSON document as the vectors store it: pretty-printed, sorted keys, and a
/// final newline.
pub fn pretty(doc: &Json) -> String {
    let mut text = serde_json::to_string_pretty(doc).expect("JSON values always serialize");
    text.push('\n');
    text
}

/// The parameters every file states.
pub fn cluster_params(cluster: &Cluster) -> Json {
    json!({
        "f": cluster.f,
        "acceptors": cluster.acceptors(),
        "quorum": 2 * cluster.f + 1,
        "proposers": cluster.proposers,
    })
}

pub fn value<V: Value>(v: &V) -> Json {
    Json::String(v.to_string())
}

pub fn vote<V: Value>(v: Option<&Vote<V>>) -> Json {
    match v {
        None => Json::Null,
        Some(v) => json!({"round": v.round, "value": value(&v.value)}),
    }
}

pub fn promise<V: Value>(p: &Promise<V>) -> Json {
    json!({
        "round": p.round,
        "acceptor": p.acceptor.0,
        "last_vote": vote(p.last_vote.as_ref()),
        "mac": hex::encode(p.mac.0),
    })
}

pub fn proof<V: Value>(promises: &[Promise<V>]) -> Json {
    Json::Array(promises.iter().map(promise).collect())
}

pub fn message<V: Value>(msg: &Msg<V>) -> Json {
    match msg {
        Msg::Accept {
            round,
            value: v,
            proof: q,
        } => json!({"type": "ACCEPT", "round": round, "value": value(v), "proof": proof(q)}),
        Msg::Promise(p) => {
            let mut out = promise(p);
            out["type"] = json!("PROMISE");
            out
        }
        Msg::Learn { round, value: v } => {
            json!({"type": "LEARN", "round": round, "value": value(v)})
        }
        Msg::TrustChange { round } => json!({"type": "TRUSTCHANGE", "round": round}),
    }
}

pub fn peer(p: Peer) -> Json {
    match p {
        Peer::Acceptor(a) => json!({"role": "acceptor", "index": a.0}),
        Peer::Proposer(p) => json!({"role": "proposer", "index": p.0}),
        Peer::Client => json!({"role": "client"}),
    }
}

pub fn destination(to: To) -> Json {
    match to {
        To::Acceptors => json!({"kind": "acceptors"}),
        To::OtherAcceptors => json!({"kind": "other-acceptors"}),
        To::Proposer(p) => json!({"kind": "proposer", "index": p.0}),
        To::Learners => json!({"kind": "learners"}),
    }
}

pub fn case_name(case: AllowedCase) -> &'static str {
    match case {
        AllowedCase::NoVotes => "no-votes",
        AllowedCase::PossiblyChosen => "possibly-chosen",
        AllowedCase::SingleValue => "single-value",
        AllowedCase::Equivocated => "equivocated",
    }
}

/// The number of the case in PROTOCOL.md §4.
pub fn case_rule(case: AllowedCase) -> u8 {
    match case {
        AllowedCase::NoVotes => 1,
        AllowedCase::PossiblyChosen => 2,
        AllowedCase::SingleValue => 3,
        AllowedCase::Equivocated => 4,
    }
}

pub fn allowed<V: Value>(a: &Allowed<V>) -> Json {
    let values: Vec<Json> = a.only.iter().flatten().map(value).collect();
    json!({
        "rule": case_rule(a.case),
        "case": case_name(a.case),
        "k": a.highest_vote_round,
        "every_value": a.only.is_none(),
        "values": values,
    })
}

pub fn proof_error(e: &ProofError) -> Json {
    match e {
        ProofError::WrongRound {
            acceptor,
            promise_round,
        } => json!({"kind": "wrong-round", "acceptor": acceptor.0, "promise_round": promise_round}),
        ProofError::VoteNotBelowRound { acceptor } => {
            json!({"kind": "vote-not-below-round", "acceptor": acceptor.0})
        }
        ProofError::UnknownAcceptor { acceptor } => {
            json!({"kind": "unknown-acceptor", "acceptor": acceptor.0})
        }
        ProofError::TooFewAcceptors { have, need } => {
            json!({"kind": "too-few-acceptors", "have": have, "need": need})
        }
        ProofError::NotAllowed { case } => json!({"kind": "not-allowed", "case": case_name(*case)}),
        ProofError::BadMac { acceptor } => json!({"kind": "bad-mac", "acceptor": acceptor.0}),
        ProofError::SlotClosed { decided_prefix } => {
            json!({"kind": "slot-closed", "decided_prefix": decided_prefix})
        }
    }
}

pub fn verdict(result: &Result<(), ProofError>) -> Json {
    match result {
        Ok(()) => json!({"ok": true, "error": null}),
        Err(e) => json!({"ok": false, "error": proof_error(e)}),
    }
}

pub fn decision<V: Value>(d: &Decision<V>) -> Json {
    json!({"round": d.round, "value": value(&d.value)})
}

pub fn acceptor_state<V: Value>(s: &AcceptorState<V>) -> Json {
    let learned: Vec<Json> = s
        .learner
        .learned
        .iter()
        .map(|(round, learns)| {
            let learns: Vec<Json> = learns
                .iter()
                .map(|(a, v)| json!({"acceptor": a.0, "value": value(v)}))
                .collect();
            json!({"round": round, "learns": learns})
        })
        .collect();
    json!({
        "rnd": s.rnd,
        "last_vote": vote(s.last_vote.as_ref()),
        "learned": learned,
        "decided": s.learner.decided.as_ref().map(decision),
    })
}

/// A trust change's cause. An invalid proof's cause is the structured error, which the caller
/// supplies (the step only carries its text).
pub fn trust_cause(cause: &TrustCause) -> Json {
    match cause {
        TrustCause::Equivocation => json!({"kind": "equivocation"}),
        TrustCause::Timeout => json!({"kind": "timeout"}),
        TrustCause::Peer(a) => json!({"kind": "peer", "acceptor": a.0}),
        TrustCause::InvalidProof(e) => json!({"kind": "invalid-proof", "error": proof_error(e)}),
    }
}

/// Bytes as lowercase hex.
pub fn bytes(b: &[u8]) -> Json {
    Json::String(hex::encode(b))
}

/// A log PROMISE, its values rendered by `value`.
pub fn log_promise<V>(p: &LogPromise<V>, value: impl Fn(&V) -> Json) -> Json {
    let votes: Vec<Json> = p
        .votes
        .iter()
        .map(|v| json!({"slot": v.slot, "round": v.vote.round, "value": value(&v.vote.value)}))
        .collect();
    json!({
        "round": p.round,
        "acceptor": p.acceptor.0,
        "decided_prefix": p.decided_prefix,
        "votes": votes,
        "mac": bytes(&p.mac.0),
    })
}
