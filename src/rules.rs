//! The quorum rules of PROTOCOL.md §4: `Allowed(Q)` (Fast Paxos' `IsPickableVal`) and
//! `ValidProof(r, v, Q)`, as pure functions with the names of the TLA+ operators.

use crate::auth::Authenticator;
use crate::message::{Promise, Vote};
use crate::types::{AcceptorId, Round, Value};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Display};

/// The parameters of the protocol's rules. [`Rules::standard`] is BP Fast Paxos; the other
/// settings exist so that the model checker can show why each rule is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rules {
    /// Crashes tolerated; there are `3f + 1` acceptors.
    pub f: usize,
    /// Distinct acceptors in a quorum: `2f + 1` (a proof, and a decision).
    pub quorum: usize,
    /// How many acceptors of a proof must have voted `w` in round `k` for rule 2 to pick `w`.
    pub pick_threshold: PickThreshold,
    /// Rule 3: a single value voted in round `k` must be picked.
    pub single_value_rule: bool,
    /// Whether acceptors check the proof of an ACCEPT in rounds above 0.
    pub check_proofs: bool,
    /// Whether an acceptor votes at most once per round.
    pub vote_once: bool,
    /// Whether a proof for `r` may hold PROMISEs of rounds below `r` (unsound: a stale
    /// PROMISE does not report votes cast after it).
    pub stale_promises: bool,
    /// Whether rules 3 and 4 read the values voted in every reported round instead of the
    /// highest one, `k` (unsound: an older vote for another value hides rule 3).
    pub values_of_every_round: bool,
}

/// The threshold of rule 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PickThreshold {
    /// `|Q| - f`: every acceptor of a quorum that chose `w` and is in `Q` voted `w`.
    ProofSizeMinusF,
    /// One vote is enough (unsound: a value seen once may not be the one chosen).
    One,
}

impl Rules {
    /// The rules of BP Fast Paxos for `n = 3f + 1` acceptors.
    pub fn standard(f: usize) -> Self {
        Rules {
            f,
            quorum: 2 * f + 1,
            pick_threshold: PickThreshold::ProofSizeMinusF,
            single_value_rule: true,
            check_proofs: true,
            vote_once: true,
            stale_promises: false,
            values_of_every_round: false,
        }
    }

    /// The number of acceptors, `3f + 1`.
    pub fn acceptors(&self) -> usize {
        3 * self.f + 1
    }

    fn threshold(&self, proof_size: usize) -> usize {
        match self.pick_threshold {
            PickThreshold::ProofSizeMinusF => proof_size.saturating_sub(self.f).max(1),
            PickThreshold::One => 1,
        }
    }
}

/// Which case of `Allowed(Q)` applied (PROTOCOL.md §4, rules 1 to 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AllowedCase {
    /// 1: no acceptor in Q voted.
    NoVotes,
    /// 2: a value voted in round `k` by at least `|Q| - f` acceptors of Q may have been chosen.
    PossiblyChosen,
    /// 3: one value was voted in round `k`; it may have been chosen earlier.
    SingleValue,
    /// 4: round `k` saw two values or more (an equivocation): nothing was chosen up to `k`.
    Equivocated,
}

/// The result of `Allowed(Q)`: which values an ACCEPT carrying `Q` may propose.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de> + Ord"))]
pub struct Allowed<V> {
    pub case: AllowedCase,
    /// `k`, the largest round in which an acceptor of Q voted.
    pub highest_vote_round: Option<Round>,
    /// The allowed values; `None` when every value is allowed.
    pub only: Option<BTreeSet<V>>,
}

impl<V: Value> Allowed<V> {
    /// Whether `value` is allowed.
    pub fn contains(&self, value: &V) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(value))
    }

    /// The value an honest leader picks: the one it must pick, else its client's value when
    /// allowed, else the least allowed value.
    pub fn pick(&self, preferred: &V) -> V {
        match &self.only {
            Some(only) if !only.contains(preferred) => only
                .iter()
                .next()
                .expect("Allowed never restricts to no value")
                .clone(),
            _ => preferred.clone(),
        }
    }
}

/// A PROMISE as a proof counts it: the acceptor it names. The single decree's PROMISE and
/// the log's are both read this way.
pub trait FromAcceptor {
    fn sender(&self) -> AcceptorId;
}

impl<V> FromAcceptor for Promise<V> {
    fn sender(&self) -> AcceptorId {
        self.acceptor
    }
}

/// One PROMISE per acceptor (the first one), in acceptor order: extra and duplicate PROMISEs
/// of an acceptor are ignored.
pub fn distinct_acceptors<P: FromAcceptor>(proof: &[P]) -> BTreeMap<AcceptorId, &P> {
    let mut by_acceptor = BTreeMap::new();
    for promise in proof {
        by_acceptor.entry(promise.sender()).or_insert(promise);
    }
    by_acceptor
}

/// The PROMISEs a proposer collected for the rounds it leads, by round and acceptor.
pub type Collected<P> = BTreeMap<Round, BTreeMap<AcceptorId, P>>;

/// Whether `collected` holds a PROMISE for `round` of `promise`'s acceptor already.
pub fn has_promise<P: FromAcceptor>(collected: &Collected<P>, round: Round, promise: &P) -> bool {
    collected
        .get(&round)
        .is_some_and(|c| c.contains_key(&promise.sender()))
}

/// A proposer collects `promise` for `round`, one it does not hold ([`has_promise`]). With
/// a quorum of them, they are the round's proof, in acceptor order, and the rounds up to it
/// are forgotten.
pub fn collect_promise<P: FromAcceptor + Clone>(
    rules: &Rules,
    collected: &mut Collected<P>,
    round: Round,
    promise: &P,
) -> Option<Vec<P>> {
    let in_round = collected.entry(round).or_default();
    in_round.insert(promise.sender(), promise.clone());
    if in_round.len() < rules.quorum {
        return None;
    }
    let proof = in_round.values().cloned().collect();
    collected.retain(|r, _| *r > round);
    Some(proof)
}

/// `Allowed(Q)` over PROMISEs of distinct acceptors.
pub fn allowed<V: Value>(rules: &Rules, q: &BTreeMap<AcceptorId, &Promise<V>>) -> Allowed<V> {
    let last_votes: Vec<Option<&Vote<V>>> = q.values().map(|p| p.last_vote.as_ref()).collect();
    allowed_over_votes(rules, &last_votes)
}

/// `Allowed(Q)` over the last votes that the PROMISEs of Q report, one entry per distinct
/// acceptor (`None`: it has not voted). The replicated log applies it slot by slot.
pub fn allowed_over_votes<V: Value>(rules: &Rules, last_votes: &[Option<&Vote<V>>]) -> Allowed<V> {
    let k = last_votes.iter().flatten().map(|v| v.round).max();
    let Some(k) = k else {
        return Allowed {
            case: AllowedCase::NoVotes,
            highest_vote_round: None,
            only: None,
        };
    };
    // How many acceptors of Q voted each value in round k.
    let mut votes_in_k: BTreeMap<&V, usize> = BTreeMap::new();
    for vote in last_votes.iter().flatten() {
        if vote.round == k {
            *votes_in_k.entry(&vote.value).or_default() += 1;
        }
    }
    let threshold = rules.threshold(last_votes.len());
    let possibly_chosen: BTreeSet<V> = votes_in_k
        .iter()
        .filter(|(_, count)| **count >= threshold)
        .map(|(value, _)| (*value).clone())
        .collect();
    // The values rules 3 and 4 look at: those voted in round k.
    let seen: BTreeSet<&V> = if rules.values_of_every_round {
        last_votes.iter().flatten().map(|v| &v.value).collect()
    } else {
        votes_in_k.keys().copied().collect()
    };
    let (case, only) = if !possibly_chosen.is_empty() {
        (AllowedCase::PossiblyChosen, Some(possibly_chosen))
    } else if rules.single_value_rule && seen.len() == 1 {
        let single = seen.into_iter().cloned().collect();
        (AllowedCase::SingleValue, Some(single))
    } else {
        (AllowedCase::Equivocated, None)
    };
    Allowed {
        case,
        highest_vote_round: Some(k),
        only,
    }
}

/// Why a proof does not justify an ACCEPT.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProofError {
    /// A PROMISE of the proof is for another round (a stale or replayed proof).
    WrongRound {
        acceptor: AcceptorId,
        promise_round: Round,
    },
    /// A PROMISE reports a vote in a round not below the proof's round.
    VoteNotBelowRound { acceptor: AcceptorId },
    /// A PROMISE names an acceptor that does not exist.
    UnknownAcceptor { acceptor: AcceptorId },
    /// Fewer than a quorum of distinct acceptors.
    TooFewAcceptors { have: usize, need: usize },
    /// The value is not in `Allowed(Q)`.
    NotAllowed { case: AllowedCase },
    /// A PROMISE's authenticator is wrong: it was forged or altered.
    BadMac { acceptor: AcceptorId },
    /// Replicated log: the slot is below the decided prefix that a PROMISE of the proof
    /// reports, so it is closed (PROTOCOL.md §8).
    SlotClosed { decided_prefix: u64 },
}

impl Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofError::WrongRound {
                acceptor,
                promise_round,
            } => write!(f, "the PROMISE of {acceptor} is for round {promise_round}"),
            ProofError::VoteNotBelowRound { acceptor } => {
                write!(
                    f,
                    "the PROMISE of {acceptor} reports a vote not below the round"
                )
            }
            ProofError::UnknownAcceptor { acceptor } => write!(f, "no acceptor {acceptor}"),
            ProofError::TooFewAcceptors { have, need } => {
                write!(f, "PROMISEs of {have} acceptors, {need} needed")
            }
            ProofError::NotAllowed { case } => {
                write!(f, "the value is not allowed ({case:?})")
            }
            ProofError::BadMac { acceptor } => {
                write!(f, "the PROMISE of {acceptor} has a bad authenticator")
            }
            ProofError::SlotClosed { decided_prefix } => {
                write!(
                    f,
                    "the slot is closed: slots below {decided_prefix} are decided"
                )
            }
        }
    }
}

/// One PROMISE of a proof for `round`, whatever it reports: it is for `round`, the votes it
/// reports (their rounds, `vote_rounds`) are below it, and its acceptor exists.
pub fn check_promise(
    rules: &Rules,
    round: Round,
    promise_round: Round,
    acceptor: AcceptorId,
    mut vote_rounds: impl Iterator<Item = Round>,
) -> Result<(), ProofError> {
    let round_ok = if rules.stale_promises {
        promise_round <= round
    } else {
        promise_round == round
    };
    if !round_ok {
        return Err(ProofError::WrongRound {
            acceptor,
            promise_round,
        });
    }
    if vote_rounds.any(|r| r >= round) {
        return Err(ProofError::VoteNotBelowRound { acceptor });
    }
    if usize::from(acceptor.0) >= rules.acceptors() {
        return Err(ProofError::UnknownAcceptor { acceptor });
    }
    Ok(())
}

/// A proof covers a quorum: `distinct` acceptors sent its PROMISEs.
pub fn check_quorum(rules: &Rules, distinct: usize) -> Result<(), ProofError> {
    if distinct < rules.quorum {
        return Err(ProofError::TooFewAcceptors {
            have: distinct,
            need: rules.quorum,
        });
    }
    Ok(())
}

/// `ValidProof(r, v, Q)`: every PROMISE of Q is for round `r`, reports a vote below `r` and is
/// authentic; Q covers a quorum of distinct acceptors; and `v ∈ Allowed(Q)`.
pub fn valid_proof<V: Value, A: Authenticator>(
    rules: &Rules,
    auth: &A,
    round: Round,
    value: &V,
    proof: &[Promise<V>],
) -> Result<(), ProofError> {
    if !rules.check_proofs {
        return Ok(());
    }
    for promise in proof {
        let votes = promise.last_vote.iter().map(|v| v.round);
        check_promise(rules, round, promise.round, promise.acceptor, votes)?;
    }
    let q = distinct_acceptors(proof);
    check_quorum(rules, q.len())?;
    let allowed = allowed(rules, &q);
    if !allowed.contains(value) {
        return Err(ProofError::NotAllowed { case: allowed.case });
    }
    // The authenticators last: they are the expensive check.
    if let Some(forged) = proof.iter().find(|p| !p.is_authentic(auth)) {
        return Err(ProofError::BadMac {
            acceptor: forged.acceptor,
        });
    }
    Ok(())
}
