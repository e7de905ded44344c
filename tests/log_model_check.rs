//! Model checks of the replicated log (PROTOCOL.md §8) small enough for a test: the honest
//! cluster exhaustively, the Byzantine `p0` to a depth bound, the broken variants rejected
//! with a counterexample, and the reductions compared with the unreduced model.

use bp_fast_paxos::log::node::LogNodeState;
use bp_fast_paxos::models::Variant;
use bp_fast_paxos::models::core::property::VARIANT_MUST_VIOLATE;
use bp_fast_paxos::models::core::report::{Verdict, verdicts};
use bp_fast_paxos::models::log::Config;
use bp_fast_paxos::models::log::actor::{ModelNodeState, State};
use bp_fast_paxos::models::log::symmetry::representative;
use bp_fast_paxos::types::ProposerId;
use stateright::actor::Network;
use stateright::{Checker, HasDiscoveries, Model};
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

/// Two slots, rounds 0..1, values A (the clients') and Z, no crashes.
fn two_slots() -> Config {
    Config {
        client_values: 1,
        max_crashes: 0,
        ..Config::default()
    }
}

fn verdict<'a>(verdicts: &'a [Verdict], name: &str) -> &'a Verdict {
    verdicts.iter().find(|v| v.name == name).expect(name)
}

fn assert_all_as_expected(cfg: &Config, verdicts: &[Verdict]) {
    for v in verdicts {
        assert!(
            v.as_expected(),
            "{cfg}: {} {} is {}, expected {}",
            v.expectation,
            v.name,
            v.holds,
            v.expected
        );
    }
}

const SAFETY: [&str; 6] = [
    "agreement",
    "logs are prefixes",
    "votes safe",
    "one vote per round and slot",
    "promises honest",
    "validity",
];

#[test]
fn an_honest_cluster_gets_every_expected_verdict_exhaustively() {
    let cfg = Config {
        byzantine: Vec::new(),
        ..two_slots()
    };
    let checker = cfg
        .clone()
        .into_model()
        .checker()
        .threads(1)
        .symmetry_fn(representative)
        .spawn_dfs()
        .join();
    let verdicts = verdicts(&checker);
    assert_all_as_expected(&cfg, &verdicts);
    assert!(verdict(&verdicts, "one value per round and slot").holds);
    assert!(verdict(&verdicts, "slot closed").holds);
    assert!(checker.unique_state_count() > 1_000);
}

#[test]
fn a_byzantine_leader_of_round_0_breaks_no_safety_property_to_depth_12() {
    // The exhaustive check of this configuration takes minutes (CHECKING.md); to depth 12
    // every property already gets its verdict: a no-op fills a hole the Byzantine leader left,
    // a slot is closed by a decided prefix, and equivocation is modelled.
    let cfg = two_slots();
    assert_eq!(cfg.byzantine, vec![ProposerId(0)]);
    let checker = cfg
        .clone()
        .into_model()
        .checker()
        .threads(1)
        .target_max_depth(12)
        .symmetry_fn(representative)
        .spawn_dfs()
        .join();
    let verdicts = verdicts(&checker);
    assert_all_as_expected(&cfg, &verdicts);
    for safety in SAFETY {
        assert!(verdict(&verdicts, safety).holds, "{safety} must hold");
    }
    assert!(!verdict(&verdicts, "one value per round and slot").holds);
    for reached in [
        "whole log chosen",
        "decision after trust change",
        "slot closed",
        "no-op chosen",
    ] {
        assert!(
            verdict(&verdicts, reached).holds,
            "{reached} must be reached"
        );
    }
}

#[test]
fn the_variants_are_rejected_with_a_counterexample() {
    // Skipping the proof check needs a Byzantine leader of a proof round; voting twice needs
    // only the Byzantine leader of round 0. Breadth-first: the shortest traces.
    let cases = [
        (Variant::NoProofCheck, vec![ProposerId(1)]),
        (Variant::VoteTwice, vec![ProposerId(0)]),
    ];
    for (variant, byzantine) in cases {
        let cfg = Config {
            variant: Some(variant),
            byzantine,
            ..two_slots()
        };
        let checker = cfg
            .clone()
            .into_model()
            .checker()
            .threads(1)
            .finish_when(HasDiscoveries::AnyOf(
                VARIANT_MUST_VIOLATE.into_iter().collect(),
            ))
            .spawn_bfs()
            .join();
        let verdicts = verdicts(&checker);
        let broken: Vec<&Verdict> = verdicts
            .iter()
            .filter(|v| VARIANT_MUST_VIOLATE.contains(&v.name) && !v.holds)
            .collect();
        assert!(
            !broken.is_empty(),
            "variant {} was not rejected",
            variant.name()
        );
        for v in broken {
            let steps = v.counterexample.as_ref().expect("a counterexample");
            assert!(
                steps.iter().any(|s| s.outcome.contains("votes")),
                "{}",
                variant.name()
            );
        }
    }
}

#[test]
fn bounding_the_open_vote_bytes_breaks_no_property() {
    // 4 bytes hold one vote for A (3 bytes) and a no-op (1), or two for Z (2 each), but not A
    // in both slots: the acceptors refuse some of the Byzantine leader's ACCEPTs.
    let depth = 12;
    let run = |cfg: &Config| {
        cfg.clone()
            .into_model()
            .checker()
            .threads(1)
            .target_max_depth(depth)
            .symmetry_fn(representative)
            .spawn_dfs()
            .join()
    };
    let bounded = Config {
        max_open_vote_bytes: Some(4),
        ..two_slots()
    };
    let checker = run(&bounded);
    let verdicts = verdicts(&checker);
    assert_all_as_expected(&bounded, &verdicts);
    for safety in SAFETY {
        assert!(verdict(&verdicts, safety).holds, "{safety} must hold");
    }
    for reached in [
        "whole log chosen",
        "decision after trust change",
        "slot closed",
    ] {
        assert!(
            verdict(&verdicts, reached).holds,
            "{reached} must be reached"
        );
    }
    // The bound bites: refused votes leave out states that acceptors under a bound too large
    // to refuse anything reach. (Not compared with no bound at all: a bound makes the model
    // read an acceptor's decided prefix, so it no longer postpones state transfer.)
    let loose = run(&Config {
        max_open_vote_bytes: Some(1 << 20),
        ..two_slots()
    });
    assert!(checker.unique_state_count() < loose.unique_state_count());
}

/// What any agent or property can still read of a log state: every agent's state and durable
/// state, the ghost history and the messages in flight, but not the learner of an acceptor
/// that nothing reads (in the highest round, no ACCEPT beyond its window: see
/// `Config::catch_up_observable`).
fn observable(cfg: &Config, state: &State) -> u64 {
    // Judged as the reduced model judges it, for both models.
    let reduced = Config {
        idle_catch_up: false,
        ..cfg.clone()
    };
    let agents: Vec<Arc<ModelNodeState>> = state
        .actor_states
        .iter()
        .map(|s| match &**s {
            ModelNodeState::Honest(LogNodeState::Acceptor(a))
                if !reduced.catch_up_observable(state, a) =>
            {
                let blind = a.with_learner_forgotten();
                Arc::new(ModelNodeState::Honest(LogNodeState::Acceptor(blind)))
            }
            _ => s.clone(),
        })
        .collect();
    let mut envelopes: Vec<_> = match &state.network {
        Network::UnorderedDuplicating(set, _) => set.iter().cloned().collect(),
        other => panic!("a duplicating network is expected, not {other:?}"),
    };
    envelopes.sort_by(|a, b| {
        (usize::from(a.src), usize::from(a.dst), &a.msg).cmp(&(
            usize::from(b.src),
            usize::from(b.dst),
            &b.msg,
        ))
    });
    fingerprint(&(agents, &state.actor_storages, &state.history, envelopes))
}

/// Every reachable state of `cfg`'s model (fingerprints), and the projections of them by
/// [`observable`]: a plain depth-first walk without symmetry.
fn reachable(cfg: &Config) -> (usize, HashSet<u64>) {
    let model = cfg.clone().into_model();
    let mut seen = HashSet::new();
    let mut projected = HashSet::new();
    let mut pending = model.init_states();
    let mut actions = Vec::new();
    while let Some(state) = pending.pop() {
        if !model.within_boundary(&state) || !seen.insert(fingerprint(&state)) {
            continue;
        }
        projected.insert(observable(cfg, &state));
        actions.clear();
        model.actions(&state, &mut actions);
        for action in actions.drain(..) {
            if let Some(next) = model.next_state(&state, action) {
                pending.push(next);
            }
        }
    }
    (seen.len(), projected)
}

fn fingerprint(value: &impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

#[test]
fn catch_up_pruning_loses_no_observable_state() {
    // One slot, honest proposers (A only): the slot is chosen in round 0 or 1 and caught up
    // on before and after trust changes, and the leader of round 1 proposes beyond the slot,
    // where an acceptor's window reads what it learned.
    let reduced = Config {
        slots: 1,
        unproposed_value: false,
        byzantine: Vec::new(),
        ..two_slots()
    };
    let full = Config {
        idle_catch_up: true,
        ..reduced.clone()
    };
    let (all, observed_all) = reachable(&full);
    let (kept, observed_kept) = reachable(&reduced);
    eprintln!(
        "{all} states, {kept} with the pruning; {} and {} observable",
        observed_all.len(),
        observed_kept.len()
    );
    assert!(kept < all, "the pruning bites: {kept} of {all} states");
    assert!(observed_all.len() > 100);
    assert_eq!(observed_all.len(), observed_kept.len());
    assert_eq!(observed_all, observed_kept);
}
