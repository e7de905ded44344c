//! Table-driven tests of `Allowed(Q)` and `ValidProof(r, v, Q)` (PROTOCOL.md §4, src/rules.rs)
//! over real HMAC-SHA256-signed PROMISEs, for f = 1 (n = 4, q = 3) and f = 2 (n = 7, q = 5).

use bp_fast_paxos::auth::{HmacSha256, Mac};
use bp_fast_paxos::message::{Promise, Vote};
use bp_fast_paxos::rules::{
    AllowedCase, PickThreshold, ProofError, Rules, allowed, distinct_acceptors, valid_proof,
};
use bp_fast_paxos::types::{AcceptorId, Round, Value};
use std::collections::BTreeSet;
use std::fmt;

// ---------------------------------------------------------------------------------------------
// Fixtures.
// ---------------------------------------------------------------------------------------------

/// A test value: one character.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Val(char);

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Value for Val {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&u32::from(self.0).to_be_bytes());
    }
}

/// Every value a test proposes.
const DOMAIN: &str = "ABCZ";

fn key() -> HmacSha256 {
    HmacSha256::from_hex("6b65792d6f662d7468652d6163636570746f72732d646f6d61696e2d31323334")
        .unwrap()
}

fn other_key() -> HmacSha256 {
    HmacSha256::new(&[0x42; 32]).unwrap()
}

/// How a test PROMISE is authenticated.
#[derive(Clone, Copy, Debug)]
enum Sig {
    /// Signed by its acceptor under the domain key.
    Good,
    /// `Mac::FORGED`, as a proposer that cannot compute a mac.
    Forged,
    /// Signed over these fields (round, acceptor, last vote), which were then altered.
    SignedOver(Round, u16, Option<(Round, char)>),
    /// Signed with a key other than the domain key.
    OtherKey,
}

/// A PROMISE of a table row.
#[derive(Clone, Copy, Debug)]
struct P {
    acceptor: u16,
    round: Round,
    vote: Option<(Round, char)>,
    sig: Sig,
}

/// `PROMISE(round, a, -)`.
fn none(a: u16, round: Round) -> P {
    P {
        acceptor: a,
        round,
        vote: None,
        sig: Sig::Good,
    }
}

/// `PROMISE(round, a, value@vrnd)`.
fn voted(a: u16, round: Round, vrnd: Round, value: char) -> P {
    P {
        acceptor: a,
        round,
        vote: Some((vrnd, value)),
        sig: Sig::Good,
    }
}

impl P {
    fn forged(self) -> P {
        P {
            sig: Sig::Forged,
            ..self
        }
    }

    fn other_key(self) -> P {
        P {
            sig: Sig::OtherKey,
            ..self
        }
    }

    /// The mac was computed over `vote`; the PROMISE now reports its own vote.
    fn signed_with_vote(self, vote: Option<(Round, char)>) -> P {
        P {
            sig: Sig::SignedOver(self.round, self.acceptor, vote),
            ..self
        }
    }

    /// The mac was computed for round `round`; the PROMISE now claims its own round.
    fn signed_for_round(self, round: Round) -> P {
        P {
            sig: Sig::SignedOver(round, self.acceptor, self.vote),
            ..self
        }
    }

    /// The mac was computed by acceptor `a`; the PROMISE now names its own acceptor.
    fn signed_by(self, a: u16) -> P {
        P {
            sig: Sig::SignedOver(self.round, a, self.vote),
            ..self
        }
    }

    fn build(&self) -> Promise<Val> {
        let to_vote = |v: Option<(Round, char)>| {
            v.map(|(round, value)| Vote {
                round,
                value: Val(value),
            })
        };
        let last_vote = to_vote(self.vote);
        let acceptor = AcceptorId(self.acceptor);
        match self.sig {
            Sig::Good => Promise::signed(&key(), self.round, acceptor, last_vote),
            Sig::OtherKey => Promise::signed(&other_key(), self.round, acceptor, last_vote),
            Sig::Forged => Promise {
                round: self.round,
                acceptor,
                last_vote,
                mac: Mac::FORGED,
            },
            Sig::SignedOver(round, a, vote) => {
                let signed = Promise::signed(&key(), round, AcceptorId(a), to_vote(vote));
                Promise {
                    round: self.round,
                    acceptor,
                    last_vote,
                    mac: signed.mac,
                }
            }
        }
    }
}

fn build(proof: &[P]) -> Vec<Promise<Val>> {
    proof.iter().map(P::build).collect()
}

fn set(values: &str) -> BTreeSet<Val> {
    values.chars().map(Val).collect()
}

fn a(i: u16) -> AcceptorId {
    AcceptorId(i)
}

fn no_rule_3(f: usize) -> Rules {
    Rules {
        single_value_rule: false,
        ..Rules::standard(f)
    }
}

fn threshold_one(f: usize) -> Rules {
    Rules {
        pick_threshold: PickThreshold::One,
        ..Rules::standard(f)
    }
}

// ---------------------------------------------------------------------------------------------
// The standard rules.
// ---------------------------------------------------------------------------------------------

#[test]
fn standard_rules_have_the_documented_sizes() {
    let one = Rules::standard(1);
    assert_eq!((one.acceptors(), one.quorum), (4, 3));
    let two = Rules::standard(2);
    assert_eq!((two.acceptors(), two.quorum), (7, 5));
    for rules in [one, two] {
        assert_eq!(rules.pick_threshold, PickThreshold::ProofSizeMinusF);
        assert!(rules.single_value_rule && rules.check_proofs && rules.vote_once);
    }
}

// ---------------------------------------------------------------------------------------------
// Allowed(Q): which case applies and which values it allows. Every row is also run through
// `valid_proof` with every value of the domain: a value of the allowed set is `Ok`, any other
// is `NotAllowed { case }`.
// ---------------------------------------------------------------------------------------------

/// A row: its name, the rules, the PROMISEs (all for round `R`, all authentic), the case, `k`,
/// and the allowed values (`None` for all).
struct AllowedRow(
    &'static str,
    Rules,
    Vec<P>,
    AllowedCase,
    Option<Round>,
    Option<&'static str>,
);

/// The round of the proofs of the Allowed table.
const R: Round = 5;

/// One row a case: its name and rules, then the proof, the case, `k` and the allowed values.
#[rustfmt::skip]
fn allowed_rows() -> Vec<AllowedRow> {
    use AllowedCase::*;
    let s1 = Rules::standard(1);
    let s2 = Rules::standard(2);
    vec![
        // ---- f = 1, |Q| = q = 3, threshold |Q| - f = 2.
        AllowedRow("f=1 case 1: nobody voted, everything allowed", s1,
            vec![none(0, R), none(1, R), none(2, R)], NoVotes, None, None),
        AllowedRow("f=1 case 1 with all four acceptors", s1,
            vec![none(0, R), none(1, R), none(2, R), none(3, R)], NoVotes, None, None),
        AllowedRow("f=1 case 2: A voted by 2 = |Q|-f of 3, B by 1", s1,
            vec![voted(0, R, 2, 'A'), voted(1, R, 2, 'A'), voted(2, R, 2, 'B')], PossiblyChosen, Some(2), Some("A")),
        AllowedRow("f=1 case 2: A voted by 2 of 3, one no vote", s1,
            vec![voted(0, R, 2, 'A'), none(1, R), voted(2, R, 2, 'A')], PossiblyChosen, Some(2), Some("A")),
        AllowedRow("f=1 case 2: A voted by all 3", s1,
            vec![voted(0, R, 1, 'A'), voted(1, R, 1, 'A'), voted(3, R, 1, 'A')], PossiblyChosen, Some(1), Some("A")),
        AllowedRow("f=1 case 2 in round 0 (k = 0 is a vote round too)", s1,
            vec![voted(0, R, 0, 'B'), voted(1, R, 0, 'B'), none(2, R)], PossiblyChosen, Some(0), Some("B")),
        AllowedRow("f=1 case 2 with |Q| = 4: A by 3 = |Q|-f, B by 1", s1,
            vec![voted(0, R, 2, 'A'), voted(1, R, 2, 'A'), voted(2, R, 2, 'A'), voted(3, R, 2, 'B')], PossiblyChosen, Some(2), Some("A")),
        AllowedRow("f=1 |Q| = 4: A by 2 < |Q|-f = 3 and B by 2, so case 4", s1,
            vec![voted(0, R, 2, 'A'), voted(1, R, 2, 'A'), voted(2, R, 2, 'B'), voted(3, R, 2, 'B')], Equivocated, Some(2), None),
        AllowedRow("f=1 |Q| = 4: A by 2 < 3, B by 1, one no vote: case 4", s1,
            vec![voted(0, R, 2, 'A'), voted(1, R, 2, 'B'), voted(2, R, 2, 'A'), none(3, R)], Equivocated, Some(2), None),
        AllowedRow("f=1 |Q| = 4: A by 2 < 3, two no votes: case 3", s1,
            vec![voted(0, R, 2, 'A'), voted(1, R, 2, 'A'), none(2, R), none(3, R)], SingleValue, Some(2), Some("A")),
        AllowedRow("f=1 case 3: one vote for A, below the threshold", s1,
            vec![none(0, R), voted(1, R, 3, 'A'), none(2, R)], SingleValue, Some(3), Some("A")),
        AllowedRow("f=1 case 3 for Z, a value no client proposed", s1,
            vec![none(1, R), none(2, R), voted(3, R, 4, 'Z')], SingleValue, Some(4), Some("Z")),
        AllowedRow("f=1 case 4: A and B once each in k", s1,
            vec![voted(0, R, 2, 'A'), voted(1, R, 2, 'B'), none(2, R)], Equivocated, Some(2), None),
        AllowedRow("f=1 case 4: A, B and C in k", s1,
            vec![voted(0, R, 2, 'A'), voted(1, R, 2, 'B'), voted(2, R, 2, 'C')], Equivocated, Some(2), None),
        // ---- Highest round wins: votes below k are ignored.
        AllowedRow("f=1 highest round: A by 2 in round 1 ignored, B once in 2 -> case 3 B", s1,
            vec![voted(0, R, 1, 'A'), voted(1, R, 1, 'A'), voted(2, R, 2, 'B')], SingleValue, Some(2), Some("B")),
        AllowedRow("f=1 highest round: B and C in 4 equivocate, A in 3 ignored", s1,
            vec![voted(0, R, 3, 'A'), voted(1, R, 4, 'B'), voted(2, R, 4, 'C')], Equivocated, Some(4), None),
        AllowedRow("f=1 highest round: B in 1 and 3, A in 2; B by 2 but only 1 in k = 3", s1,
            vec![voted(0, R, 1, 'B'), voted(1, R, 2, 'A'), voted(2, R, 3, 'B')], SingleValue, Some(3), Some("B")),
        // |Q| = 4: threshold 3, A has 2 in k = 4, so case 3.
        AllowedRow("f=1 highest round: A by 2 in 4 beats B in 0 and 3", s1,
            vec![voted(0, R, 0, 'B'), voted(1, R, 3, 'B'), voted(2, R, 4, 'A'), voted(3, R, 4, 'A')], SingleValue, Some(4), Some("A")),
        // ---- f = 2, |Q| = q = 5, threshold 3.
        AllowedRow("f=2 case 1", s2,
            (0..5).map(|i| none(i, R)).collect(), NoVotes, None, None),
        AllowedRow("f=2 case 2: A by 3 = |Q|-f of 5, B by 2", s2,
            vec![voted(0, R, 3, 'A'), voted(1, R, 3, 'B'), voted(2, R, 3, 'A'), voted(4, R, 3, 'B'), voted(6, R, 3, 'A')], PossiblyChosen, Some(3), Some("A")),
        AllowedRow("f=2 case 3: A by 2 < 3, others no vote", s2,
            vec![voted(0, R, 3, 'A'), voted(1, R, 3, 'A'), none(2, R), none(3, R), none(4, R)], SingleValue, Some(3), Some("A")),
        AllowedRow("f=2 case 4: A by 2, B by 2", s2,
            vec![voted(0, R, 3, 'A'), voted(1, R, 3, 'A'), voted(2, R, 3, 'B'), voted(3, R, 3, 'B'), none(4, R)], Equivocated, Some(3), None),
        AllowedRow("f=2 |Q| = 6: A by 3 < |Q|-f = 4, B by 1: case 4", s2,
            vec![voted(0, R, 3, 'A'), voted(1, R, 3, 'A'), voted(2, R, 3, 'A'), voted(3, R, 3, 'B'), none(4, R), none(5, R)], Equivocated, Some(3), None),
        AllowedRow("f=2 |Q| = 6: A by 4 = |Q|-f: case 2", s2,
            vec![voted(0, R, 3, 'A'), voted(1, R, 3, 'A'), voted(2, R, 3, 'A'), voted(3, R, 3, 'B'), voted(4, R, 3, 'A'), none(5, R)], PossiblyChosen, Some(3), Some("A")),
        AllowedRow("f=2 |Q| = 7: A by 4 < 5, B by 3: case 4", s2,
            (0..7) .map(|i| voted(i, R, 2, if i < 4 { 'A' } else { 'B' })) .collect(), Equivocated, Some(2), None),
        AllowedRow("f=2 |Q| = 7: A by 5 = |Q|-f: case 2", s2,
            (0..7) .map(|i| voted(i, R, 2, if i < 5 { 'A' } else { 'B' })) .collect(), PossiblyChosen, Some(2), Some("A")),
        AllowedRow("f=2 highest round: A by 4 in round 1 ignored, B once in 2", s2,
            vec![voted(0, R, 1, 'A'), voted(1, R, 1, 'A'), voted(2, R, 1, 'A'), voted(3, R, 1, 'A'), voted(4, R, 2, 'B')], SingleValue, Some(2), Some("B")),
        // ---- The variant knobs.
        AllowedRow("no rule 3: a single value below threshold allows everything", no_rule_3(1),
            vec![none(0, R), voted(1, R, 3, 'A'), none(2, R)], Equivocated, Some(3), None),
        AllowedRow("no rule 3 leaves rule 2 alone", no_rule_3(1),
            vec![voted(0, R, 3, 'A'), voted(1, R, 3, 'A'), none(2, R)], PossiblyChosen, Some(3), Some("A")),
        AllowedRow("threshold One: a single voter forces its value via rule 2", threshold_one(1),
            vec![none(0, R), voted(1, R, 3, 'A'), none(2, R)], PossiblyChosen, Some(3), Some("A")),
        AllowedRow("threshold One and no rule 3: a single voter still forces its value", Rules { single_value_rule: false, ..threshold_one(1) },
            vec![none(0, R), voted(1, R, 3, 'A'), none(2, R)], PossiblyChosen, Some(3), Some("A")),
        AllowedRow("threshold One: an equivocation restricts to the values seen", threshold_one(1),
            vec![voted(0, R, 3, 'A'), voted(1, R, 3, 'B'), none(2, R)], PossiblyChosen, Some(3), Some("AB")),
        AllowedRow("threshold One, f=2: one A among no votes", threshold_one(2),
            vec![none(0, R), none(1, R), voted(2, R, 1, 'C'), none(3, R), none(4, R)], PossiblyChosen, Some(1), Some("C")),
    ]
}

#[test]
fn allowed_table() {
    let rows = allowed_rows();
    assert!(rows.len() >= 30);
    for AllowedRow(name, rules, proof, case, k, only) in rows {
        let promises = build(&proof);
        let q = distinct_acceptors(&promises);
        let got = allowed(&rules, &q);
        assert_eq!(got.case, case, "{name}: case");
        assert_eq!(got.highest_vote_round, k, "{name}: k");
        assert_eq!(got.only, only.map(set), "{name}: allowed set");
        for value in DOMAIN.chars().map(Val) {
            let in_set = only.is_none_or(|only| only.contains(value.0));
            assert_eq!(got.contains(&value), in_set, "{name}: contains {value}");
            let expected = if in_set {
                Ok(())
            } else {
                Err(ProofError::NotAllowed { case })
            };
            assert_eq!(
                valid_proof(&rules, &key(), R, &value, &promises),
                expected,
                "{name}: valid_proof for {value}"
            );
        }
    }
}

#[test]
fn case_2_has_at_most_one_value_under_the_standard_threshold() {
    // Exhaustively over every assignment of {none, A@1, B@1, A@0} to 3 or 4 acceptors (f = 1):
    // the standard rules never restrict to two values, and never to no value.
    let choices: [Option<(Round, char)>; 4] =
        [None, Some((1, 'A')), Some((1, 'B')), Some((0, 'A'))];
    let rules = Rules::standard(1);
    let mut seen_cases = BTreeSet::new();
    for size in [3u32, 4] {
        for code in 0..4usize.pow(size) {
            let proof: Vec<P> = (0..size as u16)
                .map(|i| P {
                    acceptor: i,
                    round: R,
                    vote: choices[code / 4usize.pow(u32::from(i)) % 4],
                    sig: Sig::Good,
                })
                .collect();
            let promises = build(&proof);
            let got = allowed(&rules, &distinct_acceptors(&promises));
            seen_cases.insert(got.case);
            match (&got.case, &got.only) {
                (AllowedCase::NoVotes | AllowedCase::Equivocated, None) => {}
                (AllowedCase::PossiblyChosen | AllowedCase::SingleValue, Some(only)) => {
                    assert_eq!(only.len(), 1, "{proof:?}: {got:?}")
                }
                _ => panic!("{proof:?}: inconsistent {got:?}"),
            }
        }
    }
    assert_eq!(seen_cases.len(), 4, "every case is reached");
}

#[test]
fn allowed_pick_prefers_the_forced_value_then_the_preferred_one() {
    let rules = Rules::standard(1);
    let forced = build(&[voted(0, R, 1, 'A'), voted(1, R, 1, 'A'), none(2, R)]);
    let got = allowed(&rules, &distinct_acceptors(&forced));
    assert_eq!(got.pick(&Val('B')), Val('A'));
    assert_eq!(got.pick(&Val('A')), Val('A'));
    let free = build(&[voted(0, R, 1, 'A'), voted(1, R, 1, 'B'), none(2, R)]);
    let got = allowed(&rules, &distinct_acceptors(&free));
    assert_eq!(got.pick(&Val('C')), Val('C'));
    // With two values possibly chosen (threshold One), the least one.
    let got = allowed(&threshold_one(1), &distinct_acceptors(&free));
    assert_eq!(got.pick(&Val('C')), Val('A'));
    assert_eq!(got.pick(&Val('B')), Val('B'));
}

#[test]
fn distinct_acceptors_keeps_the_first_promise_of_each_acceptor() {
    let promises = build(&[
        none(2, R),
        voted(0, R, 1, 'A'),
        voted(2, R, 1, 'B'),
        voted(0, R, 1, 'C'),
        none(1, R),
    ]);
    let q = distinct_acceptors(&promises);
    assert_eq!(
        q.keys().copied().collect::<Vec<_>>(),
        vec![a(0), a(1), a(2)]
    );
    assert_eq!(q[&a(2)].last_vote, None);
    assert_eq!(q[&a(0)].last_vote.as_ref().unwrap().value, Val('A'));
    // So the later B of a2 and C of a0 do not count: A is a single value (case 3).
    let got = allowed(&Rules::standard(1), &q);
    assert_eq!(got.case, AllowedCase::SingleValue);
    assert_eq!(got.only, Some(set("A")));
}

// ---------------------------------------------------------------------------------------------
// ValidProof(r, v, Q): the errors.
// ---------------------------------------------------------------------------------------------

/// A row: its name, the rules, the round, the PROMISEs, the value, and the verdict.
struct ProofRow(
    &'static str,
    Rules,
    Round,
    Vec<P>,
    char,
    Result<(), ProofError>,
);

/// One row a case: its name, rules and round, then the proof, the value and the verdict.
#[rustfmt::skip]
fn proof_rows() -> Vec<ProofRow> {
    use ProofError::*;
    let s1 = Rules::standard(1);
    let s2 = Rules::standard(2);
    let ok3 = || vec![none(0, 3), none(1, 3), none(2, 3)];
    vec![
        // ---- Valid proofs.
        ProofRow("three no-vote PROMISEs, any value", s1, 3,
            ok3(), 'Z', Ok(())),
        ProofRow("round 1, votes from round 0", s1, 1,
            vec![voted(0, 1, 0, 'A'), voted(1, 1, 0, 'B'), voted(3, 1, 0, 'A')], 'A', Ok(())),
        ProofRow("f=2: five PROMISEs of acceptors 2..6", s2, 2,
            (2..7).map(|i| none(i, 2)).collect(), 'B', Ok(())),
        ProofRow("an exact duplicate is ignored", s1, 3,
            vec![none(0, 3), none(1, 3), none(1, 3), none(2, 3)], 'A', Ok(())),
        // ---- Case 2 / 3 rejections.
        ProofRow("case 2 forces A, B proposed", s1, 3,
            vec![voted(0, 3, 2, 'A'), voted(1, 3, 2, 'A'), voted(2, 3, 2, 'B')], 'B', Err(NotAllowed { case: AllowedCase::PossiblyChosen })),
        ProofRow("case 3 forces A, Z proposed", s1, 3,
            vec![none(0, 3), voted(1, 3, 2, 'A'), none(2, 3)], 'Z', Err(NotAllowed { case: AllowedCase::SingleValue })),
        ProofRow("case 3 under |Q| = 4 forces A (A by 2 < 3)", s1, 3,
            vec![voted(0, 3, 2, 'A'), voted(1, 3, 2, 'A'), none(2, 3), none(3, 3)], 'B', Err(NotAllowed { case: AllowedCase::SingleValue })),
        ProofRow("f=2: case 2 forces A (3 of 5)", s2, 4,
            vec![voted(0, 4, 3, 'A'), voted(1, 4, 3, 'A'), voted(2, 4, 3, 'A'), voted(3, 4, 3, 'B'), voted(4, 4, 3, 'B')], 'B', Err(NotAllowed { case: AllowedCase::PossiblyChosen })),
        // ---- Authenticators.
        ProofRow("a forged mac", s1, 3,
            vec![none(0, 3), none(1, 3).forged(), none(2, 3)], 'A', Err(BadMac { acceptor: a(1) })),
        ProofRow("every mac forged: the first one is reported", s1, 3,
            vec![none(2, 3).forged(), none(0, 3).forged(), none(1, 3).forged()], 'A', Err(BadMac { acceptor: a(2) })),
        ProofRow("a vote erased after signing (A@2 -> none) to free the value", s1, 3,
            vec![none(0, 3), none(1, 3).signed_with_vote(Some((2, 'A'))), none(2, 3)], 'B', Err(BadMac { acceptor: a(1) })),
        ProofRow("a vote value altered after signing (A@2 -> B@2)", s1, 3,
            vec![voted(0, 3, 2, 'B'), voted(1, 3, 2, 'B').signed_with_vote(Some((2, 'A'))), none(2, 3)], 'B', Err(BadMac { acceptor: a(1) })),
        ProofRow("a vote round raised after signing (B@1 -> B@2) to hide A@1", s1, 3,
            vec![voted(0, 3, 1, 'A'), voted(1, 3, 2, 'B').signed_with_vote(Some((1, 'B'))), none(2, 3)], 'B', Err(BadMac { acceptor: a(1) })),
        ProofRow("a vote added after signing (none -> B@2)", s1, 3,
            vec![none(0, 3), voted(1, 3, 2, 'B').signed_with_vote(None), none(2, 3)], 'B', Err(BadMac { acceptor: a(1) })),
        ProofRow("a stale PROMISE relabelled with the current round", s1, 3,
            vec![none(0, 3), none(1, 3), none(2, 3).signed_for_round(2)], 'A', Err(BadMac { acceptor: a(2) })),
        ProofRow("a PROMISE of a0 relabelled as a3 to make up the quorum", s1, 3,
            vec![none(0, 3), none(1, 3), none(3, 3).signed_by(0)], 'A', Err(BadMac { acceptor: a(3) })),
        ProofRow("a PROMISE signed under another key", s1, 3,
            vec![none(0, 3).other_key(), none(1, 3), none(2, 3)], 'A', Err(BadMac { acceptor: a(0) })),
        ProofRow("f=2: one forged PROMISE among five", s2, 2,
            vec![none(0, 2), none(1, 2), none(2, 2), none(3, 2), none(6, 2).forged()], 'A', Err(BadMac { acceptor: a(6) })),
        ProofRow("a forged extra PROMISE beyond a valid quorum still rejects", s1, 3,
            vec![none(0, 3), none(1, 3), none(2, 3), none(3, 3).forged()], 'A', Err(BadMac { acceptor: a(3) })),
        ProofRow("a forged duplicate of an authentic PROMISE still rejects", s1, 3,
            vec![none(0, 3), none(1, 3), none(2, 3), none(0, 3).forged()], 'A', Err(BadMac { acceptor: a(0) })),
        // ---- Duplicates.
        ProofRow("three copies from a0 and one from a1: 2 acceptors", s1, 3,
            vec![none(0, 3), none(0, 3), none(0, 3), none(1, 3)], 'A', Err(TooFewAcceptors { have: 2, need: 3 })),
        ProofRow("f=2: four acceptors, one of them five times", s2, 3,
            vec![none(0, 3), none(1, 3), none(2, 3), none(3, 3), none(3, 3), none(3, 3)], 'A', Err(TooFewAcceptors { have: 4, need: 5 })),
        // A once (a0, thrice) and B once: case 4, not case 2 for A.
        ProofRow("duplicates of a voter do not reach the threshold", s1, 3,
            vec![voted(0, 3, 2, 'A'), voted(0, 3, 2, 'A'), voted(0, 3, 2, 'A'), voted(1, 3, 2, 'B'), none(2, 3)], 'C', Ok(())),
        // ---- Stale and malformed PROMISEs.
        ProofRow("stale proof: PROMISEs for round 2 in round 3", s1, 3,
            vec![none(0, 2), none(1, 2), none(2, 2)], 'A', Err(WrongRound { acceptor: a(0), promise_round: 2 })),
        ProofRow("one PROMISE for a later round", s1, 3,
            vec![none(0, 3), none(1, 3), none(2, 4)], 'A', Err(WrongRound { acceptor: a(2), promise_round: 4 })),
        ProofRow("f=2: one stale PROMISE among six", s2, 5,
            vec![none(0, 5), none(1, 5), none(2, 5), none(3, 1), none(4, 5), none(5, 5)], 'A', Err(WrongRound { acceptor: a(3), promise_round: 1 })),
        ProofRow("a vote in the proof's own round", s1, 3,
            vec![none(0, 3), voted(1, 3, 3, 'A'), none(2, 3)], 'A', Err(VoteNotBelowRound { acceptor: a(1) })),
        ProofRow("a vote above the proof's round", s1, 3,
            vec![none(0, 3), none(1, 3), voted(2, 3, 7, 'A')], 'A', Err(VoteNotBelowRound { acceptor: a(2) })),
        ProofRow("round 0 PROMISE reporting a round-0 vote", s1, 0,
            vec![voted(0, 0, 0, 'A'), none(1, 0), none(2, 0)], 'A', Err(VoteNotBelowRound { acceptor: a(0) })),
        ProofRow("f=1: acceptor id 4 = n does not exist", s1, 3,
            vec![none(0, 3), none(1, 3), none(4, 3)], 'A', Err(UnknownAcceptor { acceptor: a(4) })),
        ProofRow("f=1: acceptor id u16::MAX does not exist", s1, 3,
            vec![none(u16::MAX, 3), none(0, 3), none(1, 3), none(2, 3)], 'A', Err(UnknownAcceptor { acceptor: a(u16::MAX) })),
        ProofRow("f=2: acceptor id 7 = n does not exist", s2, 3,
            (3..8).map(|i| none(i, 3)).collect(), 'A', Err(UnknownAcceptor { acceptor: a(7) })),
        // ---- Too small.
        ProofRow("empty proof", s1, 3,
            vec![], 'A', Err(TooFewAcceptors { have: 0, need: 3 })),
        ProofRow("f=2: empty proof", s2, 1,
            vec![], 'A', Err(TooFewAcceptors { have: 0, need: 5 })),
        ProofRow("two distinct acceptors", s1, 3,
            vec![none(0, 3), none(3, 3)], 'A', Err(TooFewAcceptors { have: 2, need: 3 })),
        ProofRow("two acceptors that both voted A (would be case 2)", s1, 3,
            vec![voted(0, 3, 2, 'A'), voted(1, 3, 2, 'A')], 'A', Err(TooFewAcceptors { have: 2, need: 3 })),
        ProofRow("f=2: four acceptors", s2, 3,
            (0..4).map(|i| none(i, 3)).collect(), 'A', Err(TooFewAcceptors { have: 4, need: 5 })),
        ProofRow("f=2: three acceptors is enough for f=1 but not here", s2, 3,
            ok3(), 'A', Err(TooFewAcceptors { have: 3, need: 5 })),
        // ---- Variant knobs that change the verdict.
        ProofRow("no rule 3: B through in case 3 (standard: NotAllowed)", no_rule_3(1), 3,
            vec![none(0, 3), voted(1, 3, 2, 'A'), none(2, 3)], 'B', Ok(())),
        ProofRow("threshold One: a single voter forces A, B rejected as PossiblyChosen", threshold_one(1), 3,
            vec![voted(0, 3, 2, 'A'), none(1, 3), none(2, 3)], 'B', Err(NotAllowed { case: AllowedCase::PossiblyChosen })),
        ProofRow("threshold One: an equivocation A/B rejects C (standard: Ok)", threshold_one(1), 3,
            vec![voted(0, 3, 2, 'A'), voted(1, 3, 2, 'B'), none(2, 3)], 'C', Err(NotAllowed { case: AllowedCase::PossiblyChosen })),
        ProofRow("quorum 2f: two acceptors are enough (standard: TooFewAcceptors)", Rules { quorum: 2, ..Rules::standard(1) }, 3,
            vec![none(0, 3), none(3, 3)], 'A', Ok(())),
        ProofRow("check_proofs off: an empty proof passes", Rules { check_proofs: false, ..Rules::standard(1) }, 3,
            vec![], 'A', Ok(())),
        ProofRow("check_proofs off: forged, stale, unknown and disallowed all pass", Rules { check_proofs: false, ..Rules::standard(1) }, 3,
            vec![voted(0, 3, 2, 'A').forged(), voted(1, 3, 2, 'A'), none(2, 1), none(9, 3)], 'B', Ok(())),
    ]
}

#[test]
fn valid_proof_table() {
    let rows = proof_rows();
    assert!(rows.len() >= 40);
    for ProofRow(name, rules, round, proof, value, expect) in rows {
        let promises = build(&proof);
        assert_eq!(
            valid_proof(&rules, &key(), round, &Val(value), &promises),
            expect,
            "{name}"
        );
    }
}

/// The rows of the table whose verdict depends on a knob give the standard verdict
/// without the knob, so the knob really is what changed it.
#[test]
fn the_knobs_change_the_standard_verdict() {
    let s1 = Rules::standard(1);
    let check = |proof: &[P], value: char| valid_proof(&s1, &key(), 3, &Val(value), &build(proof));
    assert_eq!(
        check(&[none(0, 3), voted(1, 3, 2, 'A'), none(2, 3)], 'B'),
        Err(ProofError::NotAllowed {
            case: AllowedCase::SingleValue
        })
    );
    assert_eq!(
        check(&[voted(0, 3, 2, 'A'), voted(1, 3, 2, 'B'), none(2, 3)], 'C'),
        Ok(())
    );
    assert_eq!(
        check(&[none(0, 3), none(3, 3)], 'A'),
        Err(ProofError::TooFewAcceptors { have: 2, need: 3 })
    );
    assert_eq!(
        check(&[], 'A'),
        Err(ProofError::TooFewAcceptors { have: 0, need: 3 })
    );
}

// ---------------------------------------------------------------------------------------------
// The order of the checks (src/rules.rs): per PROMISE, in proof order, round, then vote round,
// then acceptor id; then the quorum; then Allowed; the authenticators last.
// ---------------------------------------------------------------------------------------------

#[test]
fn check_order() {
    use ProofError::*;
    let s1 = Rules::standard(1);
    #[rustfmt::skip]
    let rows: Vec<(&str, Vec<P>, char, ProofError)> = vec![
        ("within a PROMISE: round before vote round",
         vec![voted(0, 2, 5, 'A'), none(1, 3), none(2, 3)], 'A', WrongRound { acceptor: a(0), promise_round: 2 }),
        ("within a PROMISE: round before acceptor id",
         vec![none(4, 2), none(1, 3), none(2, 3)], 'A', WrongRound { acceptor: a(4), promise_round: 2 }),
        ("within a PROMISE: vote round before acceptor id",
         vec![voted(4, 3, 3, 'A'), none(1, 3), none(2, 3)], 'A', VoteNotBelowRound { acceptor: a(4) }),
        ("across PROMISEs: the first bad one in proof order (unknown id first)",
         vec![none(0, 3), none(5, 3), none(1, 2), voted(2, 3, 3, 'A')], 'A', UnknownAcceptor { acceptor: a(5) }),
        ("across PROMISEs: the first bad one in proof order (stale first)",
         vec![none(0, 3), none(1, 2), none(5, 3), voted(2, 3, 3, 'A')], 'A', WrongRound { acceptor: a(1), promise_round: 2 }),
        ("across PROMISEs: the first bad one in proof order (vote round first)",
         vec![none(0, 3), voted(2, 3, 3, 'A'), none(1, 2), none(5, 3)], 'A', VoteNotBelowRound { acceptor: a(2) }),
        ("per-PROMISE checks before the quorum size",
         vec![none(0, 2)], 'A', WrongRound { acceptor: a(0), promise_round: 2 }),
        ("unknown acceptor before the quorum size",
         vec![none(7, 3), none(0, 3)], 'A', UnknownAcceptor { acceptor: a(7) }),
        ("a per-PROMISE check after a forged PROMISE still wins over BadMac",
         vec![none(0, 3).forged(), none(1, 3), none(2, 3), none(3, 2)], 'A', WrongRound { acceptor: a(3), promise_round: 2 }),
        ("quorum size before the authenticators",
         vec![none(0, 3).forged(), none(1, 3).forged()], 'A', TooFewAcceptors { have: 2, need: 3 }),
        ("quorum size before Allowed",
         vec![voted(0, 3, 2, 'A'), voted(1, 3, 2, 'A')], 'B', TooFewAcceptors { have: 2, need: 3 }),
        ("Allowed before the authenticators",
         vec![voted(0, 3, 2, 'A').forged(), voted(1, 3, 2, 'A'), none(2, 3)], 'B', NotAllowed { case: AllowedCase::PossiblyChosen }),
        ("Allowed is computed from the unauthenticated fields, then the mac rejects",
         vec![none(0, 3), none(1, 3).signed_with_vote(Some((2, 'A'))), none(2, 3)], 'B', BadMac { acceptor: a(1) }),
    ];
    for (name, proof, value, expected) in rows {
        assert_eq!(
            valid_proof(&s1, &key(), 3, &Val(value), &build(&proof)),
            Err(expected),
            "{name}"
        );
    }
}

#[test]
fn every_error_is_displayed() {
    let errors = [
        ProofError::WrongRound {
            acceptor: a(0),
            promise_round: 2,
        },
        ProofError::VoteNotBelowRound { acceptor: a(1) },
        ProofError::UnknownAcceptor { acceptor: a(4) },
        ProofError::TooFewAcceptors { have: 2, need: 3 },
        ProofError::NotAllowed {
            case: AllowedCase::SingleValue,
        },
        ProofError::BadMac { acceptor: a(3) },
    ];
    let shown: BTreeSet<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), errors.len());
    // AcceptorId(0) is a1 in PROTOCOL.md's numbering.
    assert!(shown.contains("the PROMISE of a1 is for round 2"));
    assert!(shown.contains("PROMISEs of 2 acceptors, 3 needed"));
}

/// The verdict does not depend on the order of the PROMISEs of a valid proof.
#[test]
fn valid_verdicts_do_not_depend_on_proof_order() {
    let rules = Rules::standard(1);
    let proof = build(&[
        voted(0, 3, 1, 'B'),
        voted(1, 3, 2, 'A'),
        voted(2, 3, 2, 'A'),
        none(3, 3),
    ]);
    // |Q| = 4, threshold 3: A twice in k = 2, so case 3, only A.
    let mut perm = proof.clone();
    for _ in 0..4 {
        perm.rotate_left(1);
        let rev: Vec<_> = perm.iter().rev().cloned().collect();
        for p in [&perm, &rev] {
            assert_eq!(valid_proof(&rules, &key(), 3, &Val('A'), p), Ok(()));
            assert_eq!(
                valid_proof(&rules, &key(), 3, &Val('B'), p),
                Err(ProofError::NotAllowed {
                    case: AllowedCase::SingleValue
                })
            );
        }
    }
}
