//! The replicated log's rules and step functions (PROTOCOL.md §8, src/log/): table tests of
//! what a proof allows slot by slot (closed, free, forced), and the acceptor's and honest
//! proposer's steps, over real HMAC-SHA256-signed PROMISEs, for f = 1 (n = 4, q = 3).

use bp_fast_paxos::auth::{Authenticator, HmacSha256, Mac};
use bp_fast_paxos::learner::Decision;
use bp_fast_paxos::log::Slot;
use bp_fast_paxos::log::acceptor::{LogAcceptor, LogAcceptorState, VoteLimits};
use bp_fast_paxos::log::face::Repeat;
use bp_fast_paxos::log::message::{LogMsg, LogPromise, LogProof, SlotVote};
use bp_fast_paxos::log::proposer::plan;
use bp_fast_paxos::log::rules::{SlotRule, distinct_acceptors, slot_rule, valid_log_proof};
use bp_fast_paxos::log::step::LogEffect;
use bp_fast_paxos::log::value::LogValue;
use bp_fast_paxos::message::Vote;
use bp_fast_paxos::rules::{AllowedCase, ProofError, Rules};
use bp_fast_paxos::step::{Peer, To, TrustCause};
use bp_fast_paxos::types::{AcceptorId, Cluster, ProposerId, Round, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

type V = LogValue<String>;

fn batch(s: &str) -> V {
    LogValue::Batch(s.to_string())
}

fn key() -> HmacSha256 {
    HmacSha256::new(b"the-acceptors-domain-key").unwrap()
}

/// A PROMISE for `round` from acceptor `a` with decided prefix `d` and votes
/// `(slot, round, value)`, signed under the domain key.
fn promise(round: Round, a: u16, d: Slot, votes: &[(Slot, Round, &str)]) -> LogPromise<V> {
    let votes = votes
        .iter()
        .map(|(slot, r, v)| SlotVote {
            slot: *slot,
            vote: Vote {
                round: *r,
                value: batch(v),
            },
        })
        .collect();
    LogPromise::signed(&key(), round, AcceptorId(a), d, votes)
}

/// What a row expects of a slot.
#[derive(Debug, PartialEq)]
enum Expect {
    Closed(Slot),
    Free,
    Only(AllowedCase, &'static str),
    Any(AllowedCase),
}

fn observed(rule: &SlotRule<V>) -> Expect {
    match rule {
        SlotRule::Closed { decided_prefix } => Expect::Closed(*decided_prefix),
        SlotRule::Open(a) => match (&a.only, a.case) {
            (None, AllowedCase::NoVotes) => Expect::Free,
            (None, case) => Expect::Any(case),
            (Some(only), case) => {
                assert_eq!(only.len(), 1, "{only:?}");
                let value = match only.iter().next() {
                    Some(LogValue::Batch(b)) => b.clone(),
                    other => panic!("{other:?}"),
                };
                Expect::Only(case, Box::leak(value.into_boxed_str()))
            }
        },
    }
}

#[test]
fn a_proof_closes_decided_slots_and_applies_allowed_to_each_open_slot() {
    use AllowedCase::*;
    let rules = Rules::standard(1);
    let r = 3;
    #[rustfmt::skip]
    let rows: Vec<(&str, Vec<LogPromise<V>>, Slot, Expect)> = vec![
        ("no votes anywhere: free",
         vec![promise(r, 0, 0, &[]), promise(r, 1, 0, &[]), promise(r, 2, 0, &[])], 0, Expect::Free),
        ("one acceptor decided slot 0: closed",
         vec![promise(r, 0, 1, &[]), promise(r, 1, 0, &[(0, 0, "A")]), promise(r, 2, 0, &[])], 0, Expect::Closed(1)),
        ("the largest d closes, whatever the others report",
         vec![promise(r, 0, 2, &[]), promise(r, 1, 0, &[(1, 2, "B")]), promise(r, 2, 1, &[(1, 2, "B")])], 1, Expect::Closed(2)),
        ("the slot at d is open",
         vec![promise(r, 0, 1, &[]), promise(r, 1, 0, &[(0, 0, "A")]), promise(r, 2, 0, &[])], 1, Expect::Free),
        ("votes in another slot do not bind this one",
         vec![promise(r, 0, 0, &[(0, 2, "A")]), promise(r, 1, 0, &[(0, 2, "A")]), promise(r, 2, 0, &[(0, 2, "A")])], 1, Expect::Free),
        ("|Q| - f = 2 votes for A in k: possibly chosen",
         vec![promise(r, 0, 0, &[(1, 2, "A")]), promise(r, 1, 0, &[(1, 2, "A")]), promise(r, 2, 0, &[(1, 1, "B")])], 1, Expect::Only(PossiblyChosen, "A")),
        ("one voter in k: single value",
         vec![promise(r, 0, 0, &[(1, 1, "A")]), promise(r, 1, 0, &[(1, 0, "B")]), promise(r, 2, 0, &[])], 1, Expect::Only(SingleValue, "A")),
        ("k is per slot: slot 0's round-2 vote does not hide slot 1's",
         vec![promise(r, 0, 0, &[(0, 2, "B"), (1, 0, "A")]), promise(r, 1, 0, &[]), promise(r, 2, 0, &[])], 1, Expect::Only(SingleValue, "A")),
        ("two values in k: equivocated, any value",
         vec![promise(r, 0, 0, &[(1, 2, "A")]), promise(r, 1, 0, &[(1, 2, "B")]), promise(r, 2, 0, &[])], 1, Expect::Any(Equivocated)),
        ("votes in k and below: k decides",
         vec![promise(r, 0, 0, &[(0, 2, "A")]), promise(r, 1, 0, &[(0, 1, "A")]), promise(r, 2, 0, &[(0, 2, "A")])], 0, Expect::Only(PossiblyChosen, "A")),
    ];
    for (name, proof, slot, expect) in rows {
        let rule = slot_rule(&rules, &distinct_acceptors(&proof), slot);
        assert_eq!(observed(&rule), expect, "{name}");
        let verdict = valid_log_proof(&rules, &key(), r, slot, &batch("A"), &proof);
        match expect {
            Expect::Closed(d) => {
                assert_eq!(
                    verdict,
                    Err(ProofError::SlotClosed { decided_prefix: d }),
                    "{name}"
                )
            }
            _ => assert_eq!(verdict, Ok(()), "{name}: A is allowed in every open row"),
        }
        let other = valid_log_proof(&rules, &key(), r, slot, &LogValue::Noop, &proof);
        assert_eq!(other.is_ok(), rule.allows(&LogValue::Noop), "{name}");
    }
}

#[test]
fn bad_proofs_are_rejected_for_a_reason() {
    let rules = Rules::standard(1);
    let good = || {
        vec![
            promise(2, 0, 0, &[]),
            promise(2, 1, 0, &[]),
            promise(2, 2, 0, &[]),
        ]
    };
    let check = |proof: &[LogPromise<V>]| valid_log_proof(&rules, &key(), 2, 0, &batch("A"), proof);
    assert_eq!(check(&good()), Ok(()));
    assert_eq!(
        check(&good()[..2]),
        Err(ProofError::TooFewAcceptors { have: 2, need: 3 })
    );
    let mut dup = good();
    dup[2] = promise(2, 1, 0, &[]);
    assert_eq!(
        check(&dup),
        Err(ProofError::TooFewAcceptors { have: 2, need: 3 })
    );
    let mut stale = good();
    stale[0] = promise(1, 0, 0, &[]);
    assert!(matches!(check(&stale), Err(ProofError::WrongRound { .. })));
    let mut future_vote = good();
    future_vote[1] = promise(2, 1, 0, &[(0, 2, "B")]);
    assert!(matches!(
        check(&future_vote),
        Err(ProofError::VoteNotBelowRound { .. })
    ));
    let mut unknown = good();
    unknown[2] = promise(2, 9, 0, &[]);
    assert!(matches!(
        check(&unknown),
        Err(ProofError::UnknownAcceptor { .. })
    ));
    // A proposer cannot hide a vote, nor close or reopen slots: one mac covers the PROMISE.
    let mut hidden = good();
    let honest = promise(2, 2, 0, &[(0, 1, "B")]);
    hidden[2] = LogPromise {
        votes: Vec::new().into(),
        ..honest.clone()
    };
    assert_eq!(
        check(&hidden),
        Err(ProofError::BadMac {
            acceptor: AcceptorId(2)
        })
    );
    let mut reclosed = good();
    reclosed[2] = LogPromise {
        decided_prefix: 0,
        ..promise(2, 2, 1, &[])
    };
    assert_eq!(
        check(&reclosed),
        Err(ProofError::BadMac {
            acceptor: AcceptorId(2)
        })
    );
    let mut forged = good();
    forged[0].mac = Mac::FORGED;
    assert_eq!(
        check(&forged),
        Err(ProofError::BadMac {
            acceptor: AcceptorId(0)
        })
    );
}

// ---------------------------------------------------------------------------------------------
// The acceptor.
// ---------------------------------------------------------------------------------------------

const P0: ProposerId = ProposerId(0);
const P1: ProposerId = ProposerId(1);

fn acceptor() -> LogAcceptor<HmacSha256> {
    LogAcceptor {
        id: AcceptorId(3),
        cluster: Cluster::new(1, 2),
        rules: Rules::standard(1),
        auth: key(),
        window: 8,
        limits: VoteLimits::NONE,
    }
}

fn accept(round: Round, slot: Slot, value: V, proof: Vec<LogPromise<V>>) -> LogMsg<V> {
    LogMsg::Accept {
        round,
        slot,
        value,
        proof: proof.into(),
    }
}

fn sent(effects: &[LogEffect<V>]) -> Vec<(To, LogMsg<V>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            LogEffect::Send(to, m) => Some((*to, m.clone())),
            _ => None,
        })
        .collect()
}

fn promise_sent(effects: &[LogEffect<V>]) -> LogPromise<V> {
    sent(effects)
        .into_iter()
        .find_map(|(_, m)| match m {
            LogMsg::Promise(p) => Some(p),
            _ => None,
        })
        .expect("a PROMISE")
}

/// The acceptor after votes in round 0: slot 0 A, slot 1 B.
fn voted_twice() -> LogAcceptorState<V> {
    let a = acceptor();
    let s = LogAcceptorState::initial();
    let s = a
        .on_message(&s, Peer::Proposer(P0), &accept(0, 0, batch("A"), vec![]))
        .unwrap()
        .state;
    a.on_message(&s, Peer::Proposer(P0), &accept(0, 1, batch("B"), vec![]))
        .unwrap()
        .state
}

#[test]
fn votes_once_per_round_and_slot_and_persists_before_learn() {
    let a = acceptor();
    let step = a
        .on_message(
            &LogAcceptorState::initial(),
            Peer::Proposer(P0),
            &accept(0, 0, batch("A"), vec![]),
        )
        .unwrap();
    assert_eq!(step.effects[0], LogEffect::Persist);
    assert_eq!(
        sent(&step.effects),
        vec![(
            To::Learners,
            LogMsg::Learn {
                round: 0,
                slot: 0,
                value: batch("A")
            }
        )]
    );
    let s = voted_twice();
    assert_eq!(s.votes().len(), 2, "one vote in each slot of round 0");
    // A duplicate changes nothing.
    assert!(
        a.on_message(&s, Peer::Proposer(P0), &accept(0, 1, batch("B"), vec![]))
            .is_none()
    );
    // Another value in a slot of the round: equivocation, trust change to round 1.
    let step = a
        .on_message(&s, Peer::Proposer(P0), &accept(0, 1, batch("Z"), vec![]))
        .unwrap();
    assert_eq!(step.state.rnd(), 1);
    assert!(step.effects.contains(&LogEffect::TrustChanged {
        round: 1,
        cause: TrustCause::Equivocation
    }));
    let p = promise_sent(&step.effects);
    assert_eq!((p.round, p.decided_prefix, p.votes.len()), (1, 0, 2));
    assert!(p.is_authentic(&key()));
    assert!(sent(&step.effects).contains(&(To::Proposer(P1), LogMsg::Promise(p.clone()))));
    assert!(sent(&step.effects).contains(&(To::OtherAcceptors, LogMsg::TrustChange { round: 1 })));
}

#[test]
fn ignores_what_it_must_not_take() {
    let a = acceptor();
    let s = voted_twice();
    let moved = a.timeout(&s).unwrap().state;
    let learn = LogMsg::Learn {
        round: 0,
        slot: 0,
        value: batch("Z"),
    };
    let any = |round, slot| accept(round, slot, batch("A"), vec![]);
    // Each row: why, the state, the sender, the message; none of them changes anything.
    let ignored = [
        ("not the round's leader", &s, P1, any(0, 2)),
        ("a round below rnd", &moved, P0, any(0, 2)),
        (
            "a TRUSTCHANGE from a proposer",
            &s,
            P0,
            LogMsg::TrustChange { round: 1 },
        ),
        ("a LEARN from a proposer", &s, P0, learn),
        ("a slot beyond the window", &s, P0, any(0, 8)),
        ("the last slot", &s, P0, any(0, Slot::MAX)),
        // Round::MAX is odd, so p1 leads it; its successor does not exist.
        ("the last round", &s, P1, any(Round::MAX, 0)),
    ];
    for (why, state, from, msg) in &ignored {
        let step = a.on_message(state, Peer::Proposer(*from), msg);
        assert!(step.is_none(), "{why}: {step:?}");
    }
}

#[test]
fn trust_changes_on_an_invalid_proof_and_votes_on_a_valid_one() {
    let a = acceptor();
    let s = voted_twice();
    // Round 1 is p1's, but the acceptor still trusts round 0: an invalid ACCEPT from the
    // leader of a later round is ignored (else one datagram could push it to any round).
    assert!(
        a.on_message(&s, Peer::Proposer(P1), &accept(1, 0, batch("B"), vec![]))
            .is_none()
    );
    // A proof that closes slot 0 and forces A into slot 1.
    let proof = vec![
        promise(1, 0, 1, &[(1, 0, "A")]),
        promise(1, 1, 0, &[(0, 0, "A"), (1, 0, "A")]),
        promise(1, 2, 0, &[(0, 0, "A")]),
    ];
    let s1 = a
        .on_message(
            &s,
            Peer::Acceptor(AcceptorId(0)),
            &LogMsg::TrustChange { round: 1 },
        )
        .unwrap()
        .state;
    assert_eq!(s1.rnd(), 1);
    // In its own round, no proof is evidence against the leader it trusts.
    let step = a
        .on_message(&s1, Peer::Proposer(P1), &accept(1, 0, batch("B"), vec![]))
        .unwrap();
    assert_eq!(step.state.rnd(), 2);
    assert!(matches!(
        step.effects[1],
        LogEffect::TrustChanged {
            round: 2,
            cause: TrustCause::InvalidProof(_)
        }
    ));
    let closed = a
        .on_message(
            &s1,
            Peer::Proposer(P1),
            &accept(1, 0, batch("A"), proof.clone()),
        )
        .unwrap();
    assert_eq!(
        closed.state.rnd(),
        2,
        "slot 0 is closed: no ACCEPT for it is valid"
    );
    let wrong = a
        .on_message(
            &s1,
            Peer::Proposer(P1),
            &accept(1, 1, batch("B"), proof.clone()),
        )
        .unwrap();
    assert_eq!(wrong.state.rnd(), 2, "slot 1 is forced to A");
    let step = a
        .on_message(
            &s1,
            Peer::Proposer(P1),
            &accept(1, 1, batch("A"), proof.clone()),
        )
        .unwrap();
    assert_eq!(
        step.state.votes()[&1],
        Vote {
            round: 1,
            value: batch("A")
        }
    );
    assert_eq!(
        step.state.votes()[&0],
        Vote {
            round: 0,
            value: batch("A")
        }
    );
    let free = a
        .on_message(
            &step.state,
            Peer::Proposer(P1),
            &accept(1, 2, LogValue::Noop, proof),
        )
        .unwrap();
    assert_eq!(
        free.state.votes()[&2],
        Vote {
            round: 1,
            value: LogValue::Noop
        }
    );
}

#[test]
fn learns_per_slot_detects_equivocation_and_reports_only_open_slots() {
    let a = acceptor();
    let s = voted_twice();
    let learn = |s: &LogAcceptorState<V>, from: u16, slot: Slot, v: &str| {
        a.on_message(
            s,
            Peer::Acceptor(AcceptorId(from)),
            &LogMsg::Learn {
                round: 0,
                slot,
                value: batch(v),
            },
        )
    };
    let mut t = s.clone();
    for from in 0..3 {
        t = learn(&t, from, 0, "A").unwrap().state;
    }
    assert_eq!(
        t.learner().decided(0),
        Some(&Decision {
            round: 0,
            value: batch("A")
        })
    );
    assert_eq!(t.learner().decided_prefix(), 1);
    assert!(
        learn(&t, 3, 0, "Z").is_none(),
        "a decided slot learns nothing more"
    );
    // Two values in slot 1 of the current round: the leader equivocated.
    let u = learn(&t, 0, 1, "B").unwrap().state;
    let step = learn(&u, 1, 1, "Z").unwrap();
    assert_eq!(step.state.rnd(), 1);
    let p = promise_sent(&step.effects);
    assert_eq!(p.decided_prefix, 1);
    assert_eq!(
        p.votes.iter().map(|v| v.slot).collect::<Vec<_>>(),
        vec![1],
        "slot 0 is decided"
    );
    assert_eq!(
        step.state.votes().len(),
        2,
        "the vote of a decided slot is kept"
    );
    // State transfer moves the prefix too, and a restart forgets what was learned, not voted.
    let caught = a
        .catch_up(
            &s,
            1,
            &Decision {
                round: 0,
                value: batch("B"),
            },
        )
        .unwrap()
        .state;
    assert_eq!(
        caught.learner().decided_prefix(),
        0,
        "slot 0 is still a hole"
    );
    let restarted = LogAcceptorState::recover(&t.durable());
    assert_eq!(restarted.votes(), t.votes());
    assert_eq!(restarted.learner().decided_prefix(), 0);
}

// ---------------------------------------------------------------------------------------------
// The honest proposer's plan.
// ---------------------------------------------------------------------------------------------

#[test]
fn an_honest_leader_keeps_forced_values_fills_free_slots_and_holes() {
    let rules = Rules::standard(1);
    let batches = vec!["C".to_string(), "D".to_string()];
    // Slot 0 closed; slot 1 forced to A; slot 2 free; slot 3 equivocated (B and Z).
    let proof = vec![
        promise(1, 0, 1, &[(1, 0, "A"), (3, 0, "B")]),
        promise(1, 1, 0, &[(0, 0, "A"), (1, 0, "A"), (3, 0, "Z")]),
        promise(1, 2, 0, &[]),
    ];
    assert_eq!(
        plan(&rules, &proof, &batches),
        vec![(1, batch("A")), (2, batch("C")), (3, batch("D"))]
    );
    // With one batch, the hole at slot 3 gets a no-op; a batch already forced is not repeated.
    assert_eq!(
        plan(&rules, &proof, &["A".to_string()]),
        vec![(1, batch("A")), (2, LogValue::Noop), (3, LogValue::Noop)]
    );
    // Nothing voted: the batches from the first open slot.
    let empty = vec![
        promise(1, 0, 2, &[]),
        promise(1, 1, 0, &[]),
        promise(1, 2, 0, &[]),
    ];
    assert_eq!(
        plan(&rules, &empty, &batches),
        vec![(2, batch("C")), (3, batch("D"))]
    );
}

fn new_round(round: Round, proof: Vec<LogPromise<V>>, accepts: Vec<(Slot, V)>) -> LogMsg<V> {
    LogMsg::NewRound {
        round,
        proof: proof.into(),
        accepts: accepts.into(),
    }
}

fn by_digest(round: Round, slot: Slot, value: V, proof: &[LogPromise<V>]) -> LogMsg<V> {
    LogMsg::AcceptByDigest {
        round,
        slot,
        value,
        digest: LogProof::from(proof.to_vec()).digest(),
    }
}

fn votes_in(effects: &[LogEffect<V>]) -> Vec<(Slot, V)> {
    sent(effects)
        .into_iter()
        .filter_map(|(_, m)| match m {
            LogMsg::Learn { slot, value, .. } => Some((slot, value)),
            _ => None,
        })
        .collect()
}

#[test]
fn newround_is_verified_once_and_later_accepts_name_it_by_digest() {
    let a = acceptor();
    let q = vec![
        promise(1, 0, 0, &[]),
        promise(1, 1, 0, &[]),
        promise(1, 2, 0, &[(0, 0, "A")]),
    ];
    let s = LogAcceptorState::initial();
    let step = a
        .on_message(
            &s,
            Peer::Proposer(P1),
            &new_round(1, q.clone(), vec![(0, batch("A"))]),
        )
        .expect("a valid NEWROUND is kept and its ACCEPT voted");
    assert_eq!(votes_in(&step.effects), vec![(0, batch("A"))]);
    let kept = step
        .state
        .round_proof()
        .cloned()
        .expect("the proof is kept");
    assert_eq!(kept.digest, LogProof::from(q.clone()).digest());
    // A second NEWROUND of the round is ignored: the first proof stays.
    let other_q = vec![
        promise(1, 0, 0, &[]),
        promise(1, 1, 0, &[]),
        promise(1, 3, 0, &[]),
    ];
    assert!(
        a.on_message(
            &step.state,
            Peer::Proposer(P1),
            &new_round(1, other_q.clone(), vec![])
        )
        .is_none()
    );
    // By digest: the next slot is voted with no MAC computed...
    let counting = LogAcceptor {
        auth: Counting::default(),
        id: a.id,
        cluster: a.cluster,
        rules: a.rules,
        window: a.window,
        limits: a.limits,
    };
    let by = by_digest(1, 1, batch("B"), &q);
    let next = counting
        .on_message(&step.state, Peer::Proposer(P1), &by)
        .expect("voted");
    assert_eq!(votes_in(&next.effects), vec![(1, batch("B"))]);
    assert_eq!(counting.auth.0.load(Ordering::Relaxed), 0);
    // ...a digest it does not hold is ignored...
    assert!(
        a.on_message(
            &step.state,
            Peer::Proposer(P1),
            &by_digest(1, 1, batch("B"), &other_q)
        )
        .is_none()
    );
    // ...and a value the proof does not allow is evidence: slot 0 is forced to A.
    let bad = a
        .on_message(
            &step.state,
            Peer::Proposer(P1),
            &by_digest(1, 0, batch("Z"), &q),
        )
        .expect("a trust change");
    assert_eq!(bad.state.rnd(), 2);
    // Without the NEWROUND, ACCEPTs by digest are ignored.
    assert!(
        a.on_message(&s, Peer::Proposer(P1), &by_digest(1, 1, batch("B"), &q))
            .is_none()
    );
}

#[test]
fn a_newround_with_a_bad_proof_is_evidence_and_votes_nothing() {
    let a = acceptor();
    let mut forged = promise(1, 2, 0, &[]);
    forged.mac = Mac([7; 32]);
    let q = vec![promise(1, 0, 0, &[]), promise(1, 1, 0, &[]), forged];
    let bad = new_round(1, q, vec![(0, batch("A"))]);
    // From the leader of a later round than the one it trusts: ignored.
    let initial = LogAcceptorState::initial();
    assert!(a.on_message(&initial, Peer::Proposer(P1), &bad).is_none());
    // From the leader it trusts: evidence.
    let in_round_1 = a
        .on_message(
            &initial,
            Peer::Acceptor(AcceptorId(0)),
            &LogMsg::TrustChange { round: 1 },
        )
        .unwrap()
        .state;
    let step = a
        .on_message(&in_round_1, Peer::Proposer(P1), &bad)
        .expect("a trust change");
    assert_eq!(step.state.rnd(), 2);
    assert!(votes_in(&step.effects).is_empty());
    assert!(step.state.round_proof().is_none());
    assert!(step.effects.iter().any(|e| matches!(
        e,
        LogEffect::TrustChanged {
            round: 2,
            cause: TrustCause::InvalidProof(_)
        }
    )));
}

/// An authenticator that counts its uses (and accepts nothing).
#[derive(Clone, Debug, Default)]
struct Counting(Arc<AtomicUsize>);

impl Authenticator for Counting {
    fn authenticate(&self, _: &[u8]) -> Mac {
        self.0.fetch_add(1, Ordering::Relaxed);
        Mac([0; 32])
    }
}

#[test]
fn a_repeated_accept_is_answered_with_the_learn_or_the_decision() {
    let a = acceptor();
    let s = voted_twice();
    // It voted A in slot 0 of round 0: its LEARN again.
    let again = a.repeated_accept(&s, &accept(0, 0, batch("A"), vec![]));
    assert_eq!(
        again,
        Some(Repeat::Learn(LogMsg::Learn {
            round: 0,
            slot: 0,
            value: batch("A")
        }))
    );
    // Not the vote it cast, or a slot it did not vote in: nothing to repeat.
    assert_eq!(
        a.repeated_accept(&s, &accept(0, 0, batch("Z"), vec![])),
        None
    );
    assert_eq!(
        a.repeated_accept(&s, &accept(0, 5, batch("A"), vec![])),
        None
    );
    // Once it learned slot 0 decided, it tells the decision instead.
    let mut learned = s.clone();
    for b in [0, 1] {
        let learn = LogMsg::Learn {
            round: 0,
            slot: 0,
            value: batch("A"),
        };
        learned = a
            .on_message(&learned, Peer::Acceptor(AcceptorId(b)), &learn)
            .map_or(learned, |step| step.state);
    }
    let learn = LogMsg::Learn {
        round: 0,
        slot: 0,
        value: batch("A"),
    };
    learned = a
        .on_message(&learned, Peer::Acceptor(AcceptorId(3)), &learn)
        .map_or(learned, |step| step.state);
    assert!(learned.learner().decided(0).is_some());
    assert!(matches!(
        a.repeated_accept(&learned, &accept(0, 0, batch("A"), vec![])),
        Some(Repeat::Decided { slot: 0, .. })
    ));
}

/// A value of `len` characters: `1 + 8 + len` bytes as limits measure it.
fn sized(len: usize) -> V {
    batch(&"x".repeat(len))
}

#[test]
fn refuses_a_vote_that_would_break_its_byte_bounds() {
    let a = LogAcceptor {
        limits: VoteLimits {
            value_bytes: 20,
            open_vote_bytes: 30,
        },
        ..acceptor()
    };
    let s = LogAcceptorState::initial();
    let vote = |s: &LogAcceptorState<V>, slot, value| {
        a.on_message(s, Peer::Proposer(P0), &accept(0, slot, value, vec![]))
    };
    // A value over the value bound: refused, whatever the open votes.
    assert_eq!(sized(12).encoded_len(), 21);
    assert!(vote(&s, 0, sized(12)).is_none());
    // 19 bytes in slot 0; 19 more in slot 1 would make 38 > 30: refused; 10 fit.
    let s = vote(&s, 0, sized(10)).expect("voted").state;
    assert!(vote(&s, 1, sized(10)).is_none());
    let s = vote(&s, 1, sized(1)).expect("voted").state;
    assert_eq!(s.votes().len(), 2);
    // Its vote in a slot is replaced, not added to: 20 bytes in slot 0 fit (20 + 10), in
    // slot 2 they do not (19 + 10 + 20).
    assert!(a.limits.admit(&s, 0, &sized(11)));
    assert!(!a.limits.admit(&s, 2, &sized(11)));
    // A refused size is no excuse for a second value in a round: equivocation is evidence.
    let step = vote(&s, 0, sized(12)).expect("a trust change");
    assert_eq!(step.state.rnd(), 1);
    // A decided slot's vote is no longer open: slot 0 decided, the bytes of slot 2 fit.
    let mut s = s;
    for b in 0..3 {
        let learn = LogMsg::Learn {
            round: 0,
            slot: 0,
            value: sized(10),
        };
        if let Some(step) = a.on_message(&s, Peer::Acceptor(AcceptorId(b)), &learn) {
            s = step.state;
        }
    }
    assert_eq!(s.learner().decided_prefix(), 1);
    assert!(vote(&s, 2, sized(10)).is_some());
}

#[test]
fn the_vote_that_fills_the_lowest_open_slot_is_never_refused_for_the_open_bound() {
    // A hole at the decided prefix with the open bound full above it: were the vote in the
    // hole refused, no slot could ever be decided again (the bound frees bytes only when the
    // prefix moves). Its value bound still holds, so the open bytes exceed the bound by at most
    // one value.
    let a = LogAcceptor {
        limits: VoteLimits {
            value_bytes: 20,
            open_vote_bytes: 30,
        },
        ..acceptor()
    };
    let vote = |s: &LogAcceptorState<V>, slot, value| {
        a.on_message(s, Peer::Proposer(P0), &accept(0, slot, value, vec![]))
    };
    let s = LogAcceptorState::initial();
    let s = vote(&s, 1, sized(10)).expect("voted").state;
    let s = vote(&s, 2, sized(1)).expect("voted").state;
    assert_eq!(s.learner().decided_prefix(), 0);
    // Slot 3 would take it over the bound: refused.
    assert!(vote(&s, 3, sized(1)).is_none());
    // Slot 0, the hole at the prefix: admitted although 29 + 19 > 30.
    let filled = vote(&s, 0, sized(10)).expect("the hole is filled").state;
    assert_eq!(filled.votes().len(), 3);
    // But never a value over the value bound.
    assert!(vote(&s, 0, sized(12)).is_none());
}

#[test]
fn a_lagging_acceptor_counts_its_open_votes_from_its_rounds_closed_prefix() {
    // Acceptor 3 voted in slots 0 and 1 and missed their LEARNs: its learner is at slot 0,
    // and those 40 bytes of votes pass its open bound of 30 (the vote at its prefix is never
    // refused). Round 1's proof shows slots below 2 decided (closed). Counted from its own
    // learner, the votes below 2 made it refuse every slot the round proposes, none being at
    // its learner's prefix: with a quorum of such acceptors no slot was decided until their
    // learners caught up (the 600-s torture of seed 7).
    let a = LogAcceptor {
        limits: VoteLimits {
            value_bytes: 20,
            open_vote_bytes: 30,
        },
        ..acceptor()
    };
    let from_p0 = |s: &LogAcceptorState<V>, slot| {
        a.on_message(s, Peer::Proposer(P0), &accept(0, slot, sized(11), vec![]))
    };
    let s = LogAcceptorState::initial();
    let s = from_p0(&s, 1).expect("voted").state;
    let s = from_p0(&s, 0).expect("voted at its prefix").state;
    assert_eq!(s.learner().decided_prefix(), 0);
    let q = vec![
        promise(1, 0, 2, &[]),
        promise(1, 1, 2, &[]),
        promise(1, 2, 0, &[]),
    ];
    let msg = new_round(1, q.clone(), vec![(2, sized(1))]);
    let step = a
        .on_message(&s, Peer::Proposer(P1), &msg)
        .expect("verified");
    assert_eq!(
        votes_in(&step.effects),
        vec![(2, sized(1))],
        "the vote at the closed prefix is refused for votes in closed slots"
    );
    let s = step.state;
    let in_round_1 = |s: &LogAcceptorState<V>, slot| {
        a.on_message(s, Peer::Proposer(P1), &by_digest(1, slot, sized(1), &q))
    };
    // Above the closed prefix, 10 + 10 <= 30: voted; its votes from its learner's prefix on
    // (what its PROMISE reports) are then 60, twice the bound.
    let s = in_round_1(&s, 3).expect("within the bounds").state;
    // One more would keep the open bytes above slot 2 within the bound (30) but take what
    // its PROMISE reports over twice the bound: refused.
    assert!(
        in_round_1(&s, 4).is_none(),
        "over twice the bound from its learner's prefix"
    );
}

/// The decisions a step reports, in order.
fn decided_in(effects: &[LogEffect<V>]) -> Vec<(Slot, V)> {
    effects
        .iter()
        .filter_map(|e| match e {
            LogEffect::Decided(d) => Some((d.slot, d.decision.value.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_face_installs_decisions_and_compacts_only_what_is_decided() {
    let a = acceptor();
    let s = voted_twice();
    let decision = |v: &str| Decision {
        round: 0,
        value: batch(v),
    };
    // Nothing decided: compaction has nothing to drop nor forget.
    assert!(a.compact(&s, Slot::MAX, Some(5)).is_none());
    // A peer's decisions of slots 0 and 1, reported in order; taking them again is no step.
    let decisions = [decision("A"), decision("B")];
    let installed = a.install_decisions(&s, 0, &decisions).expect("learned");
    assert_eq!(
        decided_in(&installed.effects),
        vec![(0, batch("A")), (1, batch("B"))]
    );
    let s = installed.state;
    assert_eq!(s.learner().decided_prefix(), 2);
    assert!(a.install_decisions(&s, 0, &decisions).is_none());
    // Votes are dropped only below the limit (what a synced snapshot covers), and stored.
    let step = a
        .compact(&s, 1, None)
        .expect("the vote of slot 0 is dropped");
    assert_eq!(step.effects, vec![LogEffect::Persist]);
    let s = step.state;
    assert_eq!((s.decided_base(), s.votes().len()), (1, 1));
    assert_eq!(s.learner().base(), 0, "forgets nothing unless asked");
    assert!(a.compact(&s, 1, None).is_none());
    // Forgetting stops at the decided prefix, never at an undecided slot.
    let s = a.compact(&s, Slot::MAX, Some(5)).expect("compacted").state;
    assert_eq!((s.decided_base(), s.learner().base()), (2, 2));
    assert!(s.votes().is_empty());
    // Decisions below the learner's base are the driver's: the log takes none of them.
    assert!(a.install_decisions(&s, 0, &decisions).is_none());
    // A snapshot up to slot 10 makes every slot below it known decided; not one behind.
    assert!(a.install_snapshot(&s, 2).is_none());
    let step = a.install_snapshot(&s, 10).expect("skips ahead");
    assert!(step.effects.is_empty());
    assert_eq!(step.state.learner().decided_prefix(), 10);
    assert!(step.state.learner().knows_decided(9));
}
