//! The quorum rules of the replicated log (PROTOCOL.md §8): in a proof Q, a slot below the
//! largest decided prefix `d` of Q is closed; every other slot uses the single decree's
//! `Allowed` over the votes that Q reports for it (no votes: the slot is free).

use super::Slot;
use super::message::LogPromise;
use crate::auth::Authenticator;
use crate::message::Vote;
use crate::rules::{
    Allowed, FromAcceptor, ProofError, Rules, allowed_over_votes, check_promise, check_quorum,
};
use crate::types::{AcceptorId, Round, Value};
use std::collections::BTreeMap;

/// What a proof Q allows in one slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotRule<V> {
    /// Some acceptor of Q learned the slot decided: no ACCEPT for it is valid.
    Closed { decided_prefix: Slot },
    /// `Allowed` over the votes Q reports for the slot.
    Open(Allowed<V>),
}

impl<V: Value> SlotRule<V> {
    /// Whether an ACCEPT of `value` for the slot is allowed.
    pub fn allows(&self, value: &V) -> bool {
        match self {
            SlotRule::Closed { .. } => false,
            SlotRule::Open(allowed) => allowed.contains(value),
        }
    }

    /// The one value an honest leader must propose, if Q forces one.
    pub fn forced(&self) -> Option<&V> {
        match self {
            SlotRule::Open(Allowed {
                only: Some(only), ..
            }) => only.iter().next(),
            _ => None,
        }
    }
}

/// One PROMISE per acceptor, as in the single decree.
pub use crate::rules::distinct_acceptors;

impl<V> FromAcceptor for LogPromise<V> {
    fn sender(&self) -> AcceptorId {
        self.acceptor
    }
}

/// The largest decided prefix that Q reports: slots below it are closed.
pub fn closed_below<V>(q: &BTreeMap<AcceptorId, &LogPromise<V>>) -> Slot {
    q.values().map(|p| p.decided_prefix).max().unwrap_or(0)
}

/// What Q allows in `slot`.
pub fn slot_rule<V: Value>(
    rules: &Rules,
    q: &BTreeMap<AcceptorId, &LogPromise<V>>,
    slot: Slot,
) -> SlotRule<V> {
    let decided_prefix = closed_below(q);
    if slot < decided_prefix {
        return SlotRule::Closed { decided_prefix };
    }
    let last_votes: Vec<Option<&Vote<V>>> = q.values().map(|p| p.vote_in(slot)).collect();
    SlotRule::Open(allowed_over_votes(rules, &last_votes))
}

/// `ValidProof(r, s, v, Q)`: every PROMISE of Q is for round `r`, reports votes below `r` and
/// is authentic; Q covers a quorum of distinct acceptors; slot `s` is not closed; and `v` is
/// allowed in `s`.
pub fn valid_log_proof<V: Value, A: Authenticator>(
    rules: &Rules,
    auth: &A,
    round: Round,
    slot: Slot,
    value: &V,
    proof: &[LogPromise<V>],
) -> Result<(), ProofError> {
    if !rules.check_proofs {
        return Ok(());
    }
    check_shape(rules, round, proof)?;
    check_slot(rules, slot, value, proof)?;
    // The authenticators last: they are the expensive check.
    check_macs(auth, proof)
}

/// The part of `ValidProof` that does not depend on the slot: what an acceptor checks once
/// per round, on NEWROUND.
pub fn valid_round_proof<V: Value, A: Authenticator>(
    rules: &Rules,
    auth: &A,
    round: Round,
    proof: &[LogPromise<V>],
) -> Result<(), ProofError> {
    if !rules.check_proofs {
        return Ok(());
    }
    check_shape(rules, round, proof)?;
    check_macs(auth, proof)
}

/// The part of `ValidProof` for one slot, for a proof whose round part was checked.
pub fn check_slot<V: Value>(
    rules: &Rules,
    slot: Slot,
    value: &V,
    proof: &[LogPromise<V>],
) -> Result<(), ProofError> {
    if !rules.check_proofs {
        return Ok(());
    }
    match slot_rule(rules, &distinct_acceptors(proof), slot) {
        SlotRule::Closed { decided_prefix } => Err(ProofError::SlotClosed { decided_prefix }),
        SlotRule::Open(allowed) if !allowed.contains(value) => {
            Err(ProofError::NotAllowed { case: allowed.case })
        }
        SlotRule::Open(_) => Ok(()),
    }
}

/// Every PROMISE is for `round`, reports votes below it, comes from a known acceptor, and
/// they cover a quorum.
fn check_shape<V>(rules: &Rules, round: Round, proof: &[LogPromise<V>]) -> Result<(), ProofError> {
    for promise in proof {
        let votes = promise.votes.iter().map(|v| v.vote.round);
        check_promise(rules, round, promise.round, promise.acceptor, votes)?;
    }
    check_quorum(rules, distinct_acceptors(proof).len())
}

fn check_macs<V: Value, A: Authenticator>(
    auth: &A,
    proof: &[LogPromise<V>],
) -> Result<(), ProofError> {
    match proof.iter().find(|p| !p.is_authentic(auth)) {
        Some(forged) => Err(ProofError::BadMac {
            acceptor: forged.acceptor,
        }),
        None => Ok(()),
    }
}
