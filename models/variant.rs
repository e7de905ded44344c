//! Deliberately broken versions of the protocol. The checker must reject each one with a
//! counterexample: they show that every rule of PROTOCOL.md §4 is needed.

use crate::rules::{PickThreshold, Rules};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Variant {
    /// Acceptors vote for any ACCEPT above round 0, whatever its proof.
    NoProofCheck,
    /// Acceptors vote again in a round they already voted in.
    VoteTwice,
    /// `Allowed` without rule 3: a single value voted in round `k` need not be picked.
    NoSingleValueRule,
    /// Rule 2 picks any value voted by one acceptor of Q.
    ThresholdOne,
    /// Quorums of `2f` acceptors instead of `2f + 1`.
    Quorum2f,
    /// Byzantine proposers hold the acceptors' domain key and can sign PROMISEs.
    LeakedKey,
    /// `ValidProof` takes PROMISEs of rounds up to `r`, not only of `r`.
    StaleProof,
    /// Rules 3 and 4 of `Allowed` read the values of every reported round, not only `k`.
    AnyRoundValues,
}

impl Variant {
    pub const ALL: [Variant; 8] = [
        Variant::NoProofCheck,
        Variant::VoteTwice,
        Variant::NoSingleValueRule,
        Variant::ThresholdOne,
        Variant::Quorum2f,
        Variant::LeakedKey,
        Variant::StaleProof,
        Variant::AnyRoundValues,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Variant::NoProofCheck => "no-proof-check",
            Variant::VoteTwice => "vote-twice",
            Variant::NoSingleValueRule => "no-single-value-rule",
            Variant::ThresholdOne => "threshold-one",
            Variant::Quorum2f => "quorum-2f",
            Variant::LeakedKey => "leaked-key",
            Variant::StaleProof => "stale-proof",
            Variant::AnyRoundValues => "any-round-values",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Variant::NoProofCheck => "acceptors skip ValidProof and vote for any ACCEPT",
            Variant::VoteTwice => "acceptors vote more than once in a round",
            Variant::NoSingleValueRule => "Allowed without rule 3 (a single value in round k)",
            Variant::ThresholdOne => "rule 2 of Allowed with a threshold of one vote",
            Variant::Quorum2f => "quorums (proofs and decisions) of 2f acceptors",
            Variant::LeakedKey => "Byzantine proposers know the domain key and sign PROMISEs",
            Variant::StaleProof => "ValidProof takes PROMISEs of rounds up to r, not only of r",
            Variant::AnyRoundValues => {
                "rules 3 and 4 of Allowed read the votes of every reported round, not only k"
            }
        }
    }

    pub fn from_name(name: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The rules the acceptors and learners follow under this variant.
    pub fn apply(self, mut rules: Rules) -> Rules {
        match self {
            Variant::NoProofCheck => rules.check_proofs = false,
            Variant::VoteTwice => rules.vote_once = false,
            Variant::NoSingleValueRule => rules.single_value_rule = false,
            Variant::ThresholdOne => rules.pick_threshold = PickThreshold::One,
            Variant::Quorum2f => rules.quorum = 2 * rules.f,
            Variant::LeakedKey => {}
            Variant::StaleProof => rules.stale_promises = true,
            Variant::AnyRoundValues => rules.values_of_every_round = true,
        }
        rules
    }
}
