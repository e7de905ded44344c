//! Model checks of the replicated log (PROTOCOL.md §8) small enough for a test: the honest
//! cluster exhaustively, the Byzantine `p0` to a depth bound, the broken variants rejected
//! with a counterexample, and the reductions compared with the unreduced model.

use bp_fast_paxos::log::node::LogNodeState;
use bp_fast_paxos::models::Variant;
use bp_fast_paxos::models::core::property::VARIANT_MUST_VIOLATE;
use bp_fast_paxos::models::core::report::{Verdict, verdicts};
use bp_fast_paxos::models::log::actor::{ModelNodeState, State};
use bp_fast_paxos::models::log::symmetry::representative;
use bp_fast_paxos::models::log::{CatchUp, Config};
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
/// `Config::catch_up_observable`), or, for state transfer on demand (`blind`), of any
/// acceptor.
fn observable(cfg: &Config, state: &State, blind: bool) -> u64 {
    // Judged as the postponing model judges it, for every model.
    let reduced = Config {
        catch_up: CatchUp::Postponed,
        ..cfg.clone()
    };
    let agents: Vec<Arc<ModelNodeState>> = state
        .actor_states
        .iter()
        .map(|s| match &**s {
            ModelNodeState::Honest(LogNodeState::Acceptor(a))
                if blind || !reduced.catch_up_observable(state, a) =>
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

/// What a walk through a model reached: how many states, and their projections by
/// [`observable`], without (`postponed`) and with (`blind`) every acceptor's learner
/// left out.
struct Reached {
    states: usize,
    postponed: HashSet<u64>,
    blind: HashSet<u64>,
}

/// Every reachable state of `cfg`'s model and its projections: a plain depth-first walk
/// without symmetry.
fn reachable(cfg: &Config) -> Reached {
    let model = cfg.clone().into_model();
    let mut seen = HashSet::new();
    let mut postponed = HashSet::new();
    let mut blind = HashSet::new();
    let mut pending = model.init_states();
    let mut actions = Vec::new();
    while let Some(state) = pending.pop() {
        if !model.within_boundary(&state) || !seen.insert(fingerprint(&state)) {
            continue;
        }
        postponed.insert(observable(cfg, &state, false));
        blind.insert(observable(cfg, &state, true));
        actions.clear();
        model.actions(&state, &mut actions);
        for action in actions.drain(..) {
            if let Some(next) = model.next_state(&state, action) {
                pending.push(next);
            }
        }
    }
    Reached {
        states: seen.len(),
        postponed,
        blind,
    }
}

fn fingerprint(value: &impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// `reduced` reaches fewer states than the unreduced model of its configuration, `full`, and
/// the same ones once the learners it may leave behind are left out (those of acceptors
/// nothing reads when postponing, every acceptor's on demand).
fn assert_loses_no_observable_state(full: &Reached, reduced: &Config) {
    let on_demand = reduced.catch_up_mode() == CatchUp::OnDemand;
    let kept = reachable(reduced);
    let (all, observed) = if on_demand {
        (&full.blind, &kept.blind)
    } else {
        (&full.postponed, &kept.postponed)
    };
    eprintln!(
        "{reduced}: {} states, {} reduced ({:?}); {} and {} observable",
        full.states,
        kept.states,
        reduced.catch_up,
        all.len(),
        observed.len()
    );
    assert!(
        kept.states < full.states,
        "the reduction bites: {} of {} states",
        kept.states,
        full.states
    );
    assert!(all.len() > 100);
    assert_eq!(all.len(), observed.len());
    assert_eq!(all, observed);
}

#[test]
fn catch_up_reductions_lose_no_observable_state() {
    // One slot, honest proposers (A only): the slot is chosen in round 0 or 1 and caught up
    // on before and after trust changes, and the leader of round 1 proposes beyond the slot,
    // where an acceptor's window reads what it learned.
    let cfg = Config {
        slots: 1,
        unproposed_value: false,
        byzantine: Vec::new(),
        ..two_slots()
    };
    let full = reachable(&Config {
        catch_up: CatchUp::Every,
        ..cfg.clone()
    });
    for catch_up in [CatchUp::Postponed, CatchUp::OnDemand] {
        assert_loses_no_observable_state(
            &full,
            &Config {
                catch_up,
                ..cfg.clone()
            },
        );
    }
}

#[test]
fn state_transfer_on_demand_loses_no_observable_state_with_a_byzantine_leader() {
    // One slot, the honest `p0` proposes A in round 0 and the Byzantine `p1` leads round 1
    // with A and Z: proofs that a reported decided prefix makes invalid, equivocation, and
    // trust changes on every path. The default mode teaches acceptors on demand.
    let cfg = Config {
        slots: 1,
        byzantine: vec![ProposerId(1)],
        ..two_slots()
    };
    assert_eq!(cfg.catch_up_mode(), CatchUp::OnDemand);
    let full = reachable(&Config {
        catch_up: CatchUp::Every,
        ..cfg.clone()
    });
    assert_loses_no_observable_state(&full, &cfg);
}
