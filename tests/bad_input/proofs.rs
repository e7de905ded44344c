//! The proof verifiers (src/rules.rs, src/log/rules.rs) on arbitrary proofs, checked
//! against an independent re-implementation of `ValidProof` (PROTOCOL.md §4, §8), and only
//! genuine PROMISEs are authentic.

use crate::support::*;

use bp_fast_paxos::auth::{Authenticator, HmacSha256, Mac};
use bp_fast_paxos::log::Slot;
use bp_fast_paxos::log::message::{LogPromise, SlotVote};
use bp_fast_paxos::log::rules::{
    distinct_acceptors as log_distinct_acceptors, slot_rule, valid_log_proof, valid_round_proof,
};
use bp_fast_paxos::log::value::LogValue;
use bp_fast_paxos::message::{Promise, Vote};
use bp_fast_paxos::rules::{PickThreshold, Rules, valid_proof};
use bp_fast_paxos::types::{AcceptorId, Round};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::{Arc, LazyLock};

// ---------------------------------------------------------------------------------------------
// The proof verifiers.
// ---------------------------------------------------------------------------------------------

type LV = LogValue<String>;

static DOMAIN_KEY: LazyLock<HmacSha256> = LazyLock::new(|| {
    HmacSha256::from_hex("6b65792d6f662d7468652d6163636570746f72732d646f6d61696e2d31323334")
        .expect("test key is valid")
});
static OTHER_KEY: LazyLock<HmacSha256> =
    LazyLock::new(|| HmacSha256::new(&[0x42; 32]).expect("test key is valid"));

const VALUES: [&str; 3] = ["A", "B", "Z"];

fn log_value() -> impl Strategy<Value = LV> + Clone {
    prop_oneof![
        1 => Just(LogValue::Noop),
        3 => proptest::sample::select(&VALUES[..]).prop_map(|v| LogValue::Batch(v.to_string())),
    ]
}

fn single_value() -> impl Strategy<Value = String> + Clone {
    proptest::sample::select(&VALUES[..]).prop_map(str::to_string)
}

/// Another value of the domain than `v`.
fn other_log_value(v: &LV) -> LV {
    match v {
        LogValue::Noop => LogValue::Batch("A".into()),
        LogValue::Batch(s) if s == "A" => LogValue::Batch("Z".into()),
        LogValue::Batch(_) => LogValue::Noop,
    }
}

/// How a generated PROMISE is authenticated.
#[derive(Clone, Debug)]
enum Sig {
    /// Signed by its acceptor under the domain key: the one genuine case.
    Good,
    Forged,
    Random(Mac),
    OtherKey,
    /// Signed, then one authenticated field altered.
    Altered(u8),
}

fn sig(clean: bool) -> BoxedStrategy<Sig> {
    if clean {
        Just(Sig::Good).boxed()
    } else {
        prop_oneof![
            8 => Just(Sig::Good),
            1 => Just(Sig::Forged),
            1 => mac().prop_map(Sig::Random),
            1 => Just(Sig::OtherKey),
            2 => (0u8..3).prop_map(Sig::Altered),
        ]
        .boxed()
    }
}

/// Rules: mostly the standard ones for f = 0 to 3, sometimes with other settings.
fn rules() -> impl Strategy<Value = Rules> {
    (
        0usize..=3,
        prop_oneof![6 => Just(None), 1 => (0usize..12, any::<bool>(), any::<bool>(), prop_oneof![6 => Just(true), 1 => Just(false)]).prop_map(Some)],
    )
        .prop_map(|(f, other)| match other {
            None => Rules::standard(f),
            Some((quorum, threshold_one, single_value_rule, check_proofs)) => Rules {
                quorum,
                pick_threshold: if threshold_one {
                    PickThreshold::One
                } else {
                    PickThreshold::ProofSizeMinusF
                },
                single_value_rule,
                check_proofs,
                ..Rules::standard(f)
            },
        })
}

fn target_round() -> impl Strategy<Value = Round> {
    prop_oneof![8 => 0u32..5, 1 => any::<u32>()]
}

/// A PROMISE's round: the target's, or (unless clean) another.
fn promise_round(round: Round, clean: bool) -> BoxedStrategy<Round> {
    if clean {
        Just(round).boxed()
    } else {
        prop_oneof![
            9 => Just(round),
            1 => Just(round.wrapping_add(1)),
            1 => Just(round.wrapping_sub(1)),
            1 => any::<u32>(),
        ]
        .boxed()
    }
}

/// An acceptor id: one of the `n`, or (unless clean) past them.
fn acceptor(n: u16, clean: bool) -> BoxedStrategy<u16> {
    if clean {
        (0..n).boxed()
    } else {
        prop_oneof![8 => 0..n, 1 => n..n + 3, 1 => any::<u16>()].boxed()
    }
}

/// A vote's round: below the target's, or (unless clean) any. Clean votes in round 0 are none.
fn vote_round(round: Round, clean: bool) -> Option<BoxedStrategy<Round>> {
    match (round, clean) {
        (0, true) => None,
        (0, false) => Some(any::<u32>().boxed()),
        (r, true) => Some((0..r).boxed()),
        (r, false) => Some(prop_oneof![8 => 0..r, 1 => any::<u32>()].boxed()),
    }
}

fn slot() -> impl Strategy<Value = Slot> + Clone {
    prop_oneof![8 => 0u64..6, 1 => any::<u64>()]
}

/// A log PROMISE, and whether it is genuine: signed by its acceptor over exactly these fields.
fn log_promise_recipe(
    n: u16,
    round: Round,
    clean: bool,
) -> impl Strategy<Value = (LogPromise<LV>, bool)> {
    let votes = match vote_round(round, clean) {
        None => Just(Vec::new()).boxed(),
        Some(vote_round) => vec((slot(), vote_round, log_value()), 0..4).boxed(),
    };
    let prefix = prop_oneof![6 => Just(0u64), 3 => 0u64..6, 1 => any::<u64>()];
    (
        promise_round(round, clean),
        acceptor(n, clean),
        prefix,
        votes,
        sig(clean),
    )
        .prop_map(|(round, acceptor, decided_prefix, votes, sig)| {
            let votes: Vec<SlotVote<LV>> = votes
                .into_iter()
                .map(|(slot, round, value)| SlotVote {
                    slot,
                    vote: Vote { round, value },
                })
                .collect();
            let sign = |key: &HmacSha256, votes: Vec<SlotVote<LV>>| {
                LogPromise::signed(key, round, AcceptorId(acceptor), decided_prefix, votes)
            };
            match sig {
                Sig::Good => (sign(&DOMAIN_KEY, votes), true),
                Sig::Forged => (
                    LogPromise {
                        mac: Mac::FORGED,
                        ..sign(&DOMAIN_KEY, votes)
                    },
                    false,
                ),
                Sig::Random(mac) => (
                    LogPromise {
                        mac,
                        ..sign(&DOMAIN_KEY, votes)
                    },
                    false,
                ),
                Sig::OtherKey => (sign(&OTHER_KEY, votes), false),
                Sig::Altered(what) => {
                    let mut promise = sign(&DOMAIN_KEY, votes.clone());
                    match (what, votes.is_empty()) {
                        (1, false) => promise.votes = Arc::from(&votes[..votes.len() - 1]),
                        (2, false) => {
                            let mut votes = votes;
                            votes[0].vote.value = other_log_value(&votes[0].vote.value);
                            promise.votes = Arc::from(votes);
                        }
                        _ => promise.decided_prefix = promise.decided_prefix.wrapping_add(1),
                    }
                    (promise, false)
                }
            }
        })
}

#[derive(Clone, Debug)]
struct LogProofCase {
    rules: Rules,
    round: Round,
    slot: Slot,
    value: LV,
    /// The proof, each PROMISE with whether it is genuine.
    promises: Vec<(LogPromise<LV>, bool)>,
}

fn log_proof_case() -> impl Strategy<Value = LogProofCase> {
    (rules(), target_round(), any::<bool>())
        .prop_flat_map(|(rules, round, clean)| {
            let n = rules.acceptors() as u16;
            let promises = vec(log_promise_recipe(n, round, clean), 0..2 * n as usize + 3);
            (
                Just(rules),
                Just(round),
                slot(),
                log_value(),
                promises,
                proptest::option::of(any::<Index>()),
            )
        })
        .prop_map(|(rules, round, slot, value, mut promises, duplicate)| {
            // Sometimes the same PROMISE twice.
            if let Some(i) = duplicate.filter(|_| !promises.is_empty()) {
                let copy = promises[i.index(promises.len())].clone();
                promises.push(copy);
            }
            LogProofCase {
                rules,
                round,
                slot,
                value,
                promises,
            }
        })
}

/// `Allowed(Q)` over one vote per distinct acceptor (`None`: no vote), written apart from
/// src/rules.rs, after PROTOCOL.md §4: rule 1 (no votes: any value), 2 (values voted in the
/// highest round `k` by at least `|Q| - f` of Q: only those), 3 (one value in `k`: only it),
/// 4 (otherwise any).
fn model_allows<V: Ord>(rules: &Rules, votes: &[Option<(Round, &V)>], value: &V) -> bool {
    let Some(k) = votes.iter().flatten().map(|(round, _)| *round).max() else {
        return true;
    };
    let mut in_k: BTreeMap<&V, usize> = BTreeMap::new();
    for (_, v) in votes.iter().flatten().filter(|(round, _)| *round == k) {
        *in_k.entry(*v).or_default() += 1;
    }
    let threshold = match rules.pick_threshold {
        PickThreshold::ProofSizeMinusF => votes.len().saturating_sub(rules.f).max(1),
        PickThreshold::One => 1,
    };
    let picked: BTreeSet<&V> = in_k
        .iter()
        .filter(|(_, count)| **count >= threshold)
        .map(|(v, _)| *v)
        .collect();
    if !picked.is_empty() {
        picked.contains(value)
    } else if rules.single_value_rule && in_k.len() == 1 {
        in_k.contains_key(value)
    } else {
        true
    }
}

/// The shape of every PROMISE of a log proof, and a quorum of distinct acceptors, by the model.
fn model_log_shape(case: &LogProofCase) -> bool {
    let n = case.rules.acceptors();
    let each = case.promises.iter().all(|(p, genuine)| {
        *genuine
            && p.round == case.round
            && p.votes.iter().all(|v| v.vote.round < case.round)
            && usize::from(p.acceptor.0) < n
    });
    let distinct: BTreeSet<u16> = case.promises.iter().map(|(p, _)| p.acceptor.0).collect();
    each && distinct.len() >= case.rules.quorum
}

/// `ValidProof(r, s, v, Q)` by the model.
fn model_valid_log_proof(case: &LogProofCase) -> bool {
    if !case.rules.check_proofs {
        return true;
    }
    if !model_log_shape(case) {
        return false;
    }
    // The first PROMISE of each acceptor.
    let mut q: BTreeMap<u16, &LogPromise<LV>> = BTreeMap::new();
    for (p, _) in &case.promises {
        q.entry(p.acceptor.0).or_insert(p);
    }
    let closed_below = q.values().map(|p| p.decided_prefix).max().unwrap_or(0);
    if case.slot < closed_below {
        return false;
    }
    let votes: Vec<Option<(Round, &LV)>> = q
        .values()
        .map(|p| {
            p.votes
                .iter()
                .find(|v| v.slot == case.slot)
                .map(|v| (v.vote.round, &v.vote.value))
        })
        .collect();
    model_allows(&case.rules, &votes, &case.value)
}

#[test]
fn log_proofs_are_judged_as_the_protocol_says() {
    let accepted = Cell::new(0u32);
    let round_accepted = Cell::new(0u32);
    let cases = Cell::new(0u32);
    property("proofs: log", 30_000, log_proof_case(), |case| {
        cases.set(cases.get() + 1);
        let proof: Vec<LogPromise<LV>> = case.promises.iter().map(|(p, _)| p.clone()).collect();
        let rules = &case.rules;
        let result = valid_log_proof(
            rules,
            &*DOMAIN_KEY,
            case.round,
            case.slot,
            &case.value,
            &proof,
        );
        let round_result = valid_round_proof(rules, &*DOMAIN_KEY, case.round, &proof);
        prop_assert_eq!(
            result.is_ok(),
            model_valid_log_proof(&case),
            "valid_log_proof said {:?}",
            result
        );
        let round_expected = !rules.check_proofs || model_log_shape(&case);
        prop_assert_eq!(
            round_result.is_ok(),
            round_expected,
            "valid_round_proof said {:?}",
            round_result
        );
        if result.is_ok() && rules.check_proofs {
            accepted.set(accepted.get() + 1);
            // The direct re-check of an accepted proof.
            let distinct: BTreeSet<AcceptorId> = proof.iter().map(|p| p.acceptor).collect();
            prop_assert!(distinct.len() >= rules.quorum);
            prop_assert!(
                distinct
                    .iter()
                    .all(|a| usize::from(a.0) < rules.acceptors())
            );
            prop_assert!(proof.iter().all(|p| p.round == case.round));
            prop_assert!(proof.iter().all(|p| p.is_authentic(&*DOMAIN_KEY)));
            prop_assert!(case.promises.iter().all(|(_, genuine)| *genuine));
            let rule = slot_rule(rules, &log_distinct_acceptors(&proof), case.slot);
            prop_assert!(rule.allows(&case.value), "{:?}", rule);
        }
        if round_result.is_ok() && rules.check_proofs {
            round_accepted.set(round_accepted.get() + 1);
        }
        Ok(())
    });
    eprintln!(
        "bad_input: proofs: log: {} of {} accepted by valid_log_proof, {} by valid_round_proof",
        accepted.get(),
        cases.get(),
        round_accepted.get()
    );
    // Teeth: acceptance is exercised, not only rejection.
    assert!(accepted.get() * 10 > cases.get());
}

#[derive(Clone, Debug)]
struct ProofCase {
    rules: Rules,
    round: Round,
    value: String,
    promises: Vec<(Promise<String>, bool)>,
}

fn promise_recipe(
    n: u16,
    round: Round,
    clean: bool,
) -> impl Strategy<Value = (Promise<String>, bool)> {
    let last_vote = match vote_round(round, clean) {
        None => Just(None).boxed(),
        Some(vote_round) => proptest::option::of((vote_round, single_value())).boxed(),
    };
    (
        promise_round(round, clean),
        acceptor(n, clean),
        last_vote,
        sig(clean),
    )
        .prop_map(|(round, acceptor, last_vote, sig)| {
            let last_vote = last_vote.map(|(round, value)| Vote { round, value });
            let sign = |key: &HmacSha256, last_vote| {
                Promise::signed(key, round, AcceptorId(acceptor), last_vote)
            };
            match sig {
                Sig::Good => (sign(&DOMAIN_KEY, last_vote), true),
                Sig::Forged => (
                    Promise {
                        mac: Mac::FORGED,
                        ..sign(&DOMAIN_KEY, last_vote)
                    },
                    false,
                ),
                Sig::Random(mac) => (
                    Promise {
                        mac,
                        ..sign(&DOMAIN_KEY, last_vote)
                    },
                    false,
                ),
                Sig::OtherKey => (sign(&OTHER_KEY, last_vote), false),
                Sig::Altered(what) => {
                    let mut promise = sign(&DOMAIN_KEY, last_vote.clone());
                    promise.last_vote = match (what, last_vote) {
                        (0, Some(_)) => None,
                        (1, Some(vote)) => Some(Vote {
                            round: vote.round.wrapping_add(1),
                            ..vote
                        }),
                        (_, Some(vote)) => Some(Vote {
                            value: if vote.value == "A" { "B" } else { "A" }.to_string(),
                            ..vote
                        }),
                        (_, None) => Some(Vote {
                            round: 0,
                            value: "A".to_string(),
                        }),
                    };
                    (promise, false)
                }
            }
        })
}

fn proof_case() -> impl Strategy<Value = ProofCase> {
    (rules(), target_round(), any::<bool>())
        .prop_flat_map(|(rules, round, clean)| {
            let n = rules.acceptors() as u16;
            let promises = vec(promise_recipe(n, round, clean), 0..2 * n as usize + 3);
            (
                Just(rules),
                Just(round),
                single_value(),
                promises,
                proptest::option::of(any::<Index>()),
            )
        })
        .prop_map(|(rules, round, value, mut promises, duplicate)| {
            if let Some(i) = duplicate.filter(|_| !promises.is_empty()) {
                let copy = promises[i.index(promises.len())].clone();
                promises.push(copy);
            }
            ProofCase {
                rules,
                round,
                value,
                promises,
            }
        })
}

/// `ValidProof(r, v, Q)` of the single decree by the model.
fn model_valid_proof(case: &ProofCase) -> bool {
    if !case.rules.check_proofs {
        return true;
    }
    let n = case.rules.acceptors();
    let each = case.promises.iter().all(|(p, genuine)| {
        *genuine
            && p.round == case.round
            && p.last_vote.as_ref().is_none_or(|v| v.round < case.round)
            && usize::from(p.acceptor.0) < n
    });
    let mut q: BTreeMap<u16, &Promise<String>> = BTreeMap::new();
    for (p, _) in &case.promises {
        q.entry(p.acceptor.0).or_insert(p);
    }
    if !each || q.len() < case.rules.quorum {
        return false;
    }
    let votes: Vec<Option<(Round, &String)>> = q
        .values()
        .map(|p| p.last_vote.as_ref().map(|v| (v.round, &v.value)))
        .collect();
    model_allows(&case.rules, &votes, &case.value)
}

#[test]
fn single_decree_proofs_are_judged_as_the_protocol_says() {
    let accepted = Cell::new(0u32);
    let cases = Cell::new(0u32);
    property("proofs: single decree", 30_000, proof_case(), |case| {
        cases.set(cases.get() + 1);
        let proof: Vec<Promise<String>> = case.promises.iter().map(|(p, _)| p.clone()).collect();
        let rules = &case.rules;
        let result = valid_proof(rules, &*DOMAIN_KEY, case.round, &case.value, &proof);
        prop_assert_eq!(
            result.is_ok(),
            model_valid_proof(&case),
            "valid_proof said {:?}",
            result
        );
        if result.is_ok() && rules.check_proofs {
            accepted.set(accepted.get() + 1);
            let distinct: BTreeSet<AcceptorId> = proof.iter().map(|p| p.acceptor).collect();
            prop_assert!(distinct.len() >= rules.quorum);
            prop_assert!(proof.iter().all(|p| p.round == case.round));
            prop_assert!(proof.iter().all(|p| p.is_authentic(&*DOMAIN_KEY)));
        }
        Ok(())
    });
    eprintln!(
        "bad_input: proofs: single decree: {} of {} accepted",
        accepted.get(),
        cases.get()
    );
    assert!(accepted.get() * 10 > cases.get());
}

/// The authenticator never accepts a PROMISE signed under another key or altered after
/// signing, whatever its fields (a direct check of what the models above rely on).
#[test]
fn only_genuine_promises_are_authentic() {
    let strategy = (target_round(), any::<bool>())
        .prop_flat_map(|(round, clean)| log_promise_recipe(7, round, clean));
    property(
        "proofs: authenticity",
        20_000,
        strategy,
        |(promise, genuine)| {
            prop_assert_eq!(promise.is_authentic(&*DOMAIN_KEY), genuine);
            let encoded = bp_fast_paxos::log::message::encode_log_promise(
                promise.round,
                promise.acceptor,
                promise.decided_prefix,
                &promise.votes,
            );
            prop_assert_eq!(DOMAIN_KEY.verify(&encoded, &promise.mac), genuine);
            Ok(())
        },
    );
}
