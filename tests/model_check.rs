//! Model checks small enough for a test: every property's verdict on BP Fast Paxos, every
//! broken variant rejected with a counterexample, and the model's reductions shown to lose
//! nothing on configurations where the unreduced space can be explored too.

use bp_fast_paxos::acceptor::DurableState;
use bp_fast_paxos::message::Msg;
use bp_fast_paxos::models::actor::ModelNodeState;
use bp_fast_paxos::models::history::Ghost;
use bp_fast_paxos::models::properties::{Model, State, VARIANT_MUST_VIOLATE};
use bp_fast_paxos::models::report::{Verdict, verdicts};
use bp_fast_paxos::models::symmetry::representative;
use bp_fast_paxos::models::value::ModelValue;
use bp_fast_paxos::models::{LearnerMode, Menu, ModelConfig, Shape, Variant};
use stateright::actor::{Envelope, Network};
use stateright::{Checker, HasDiscoveries, Model as _, UniformChooser};
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

/// Rounds 0..1: `p0` (Byzantine) leads round 0, `p1` (honest) round 1.
fn small() -> ModelConfig {
    ModelConfig {
        max_round: 1,
        ..ModelConfig::default()
    }
}

fn check_exhaustively(cfg: &ModelConfig, symmetry: bool) -> (Vec<Verdict>, usize) {
    let mut builder = cfg.clone().into_model().checker().threads(1);
    if symmetry {
        builder = builder.symmetry_fn(representative);
    }
    let checker = builder.spawn_dfs().join();
    (verdicts(&checker), checker.unique_state_count())
}

fn verdict<'a>(verdicts: &'a [Verdict], name: &str) -> &'a Verdict {
    verdicts
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no property {name}"))
}

fn assert_all_as_expected(cfg: &ModelConfig, verdicts: &[Verdict]) {
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

#[test]
fn small_configuration_gets_every_expected_verdict() {
    let cfg = ModelConfig {
        prune_lossless_crashes: false,
        ..small()
    };
    let (verdicts, unique) = check_exhaustively(&cfg, true);
    assert_all_as_expected(&cfg, &verdicts);
    for safety in [
        "agreement",
        "votes safe",
        "one vote per round",
        "promises honest",
        "proofs genuine",
        "validity",
    ] {
        assert!(verdict(&verdicts, safety).holds, "{safety} must hold");
    }
    // Equivocation is really modelled: the Byzantine leader of round 0 gets two values
    // voted in one round.
    let one_value = verdict(&verdicts, "one value per round");
    assert!(!one_value.holds);
    assert!(one_value.expected == one_value.holds);
    assert!(verdict(&verdicts, "fast path").holds);
    assert!(verdict(&verdicts, "recovery after equivocation").holds);
    assert!(unique > 1_000, "suspiciously small space: {unique} states");
}

#[test]
fn with_honest_proposers_one_value_per_round_holds() {
    let cfg = ModelConfig {
        byzantine: Vec::new(),
        ..small()
    };
    let (verdicts, _) = check_exhaustively(&cfg, true);
    assert_all_as_expected(&cfg, &verdicts);
    assert!(verdict(&verdicts, "one value per round").holds);
    assert!(verdict(&verdicts, "fast path").holds);
}

#[test]
fn learners_that_are_acceptors_decide_and_agree() {
    // Every acceptor learning from LEARNs multiplies the space by hundreds (CHECKING.md), so
    // this configuration is checked to a depth bound: deep enough for LEARNs from a quorum
    // to reach acceptors and for a learner to decide, not for a second round.
    let cfg = ModelConfig {
        learners: LearnerMode::Acceptors,
        unproposed_value: false,
        max_round: 1,
        max_crashes: 0,
        ..ModelConfig::default()
    };
    let checker = cfg
        .clone()
        .into_model()
        .checker()
        .threads(1)
        .target_max_depth(10)
        .symmetry_fn(representative)
        .spawn_dfs()
        .join();
    let verdicts = verdicts(&checker);
    for safety in ["agreement", "votes safe", "one vote per round", "validity"] {
        assert!(verdict(&verdicts, safety).holds, "{safety} must hold");
    }
    assert!(verdict(&verdicts, "learner decides").holds);
    assert!(verdict(&verdicts, "fast path").holds);
}

#[test]
fn a_client_learner_is_checked_exhaustively_where_it_can_be_fooled() {
    // Rounds 0..1 with a Byzantine leader of round 0: LEARNs of two rounds, and of two
    // values in round 0, are in flight together, so a learner that mixes rounds or counts
    // too few LEARNs decides a value that is not chosen.
    let cfg = ModelConfig {
        learners: LearnerMode::Client,
        unproposed_value: false,
        max_round: 1,
        max_crashes: 0,
        ..ModelConfig::default()
    };
    let (verdicts, unique) = check_exhaustively(&cfg, true);
    assert_all_as_expected(&cfg, &verdicts);
    assert!(verdict(&verdicts, "agreement").holds);
    assert!(verdict(&verdicts, "learner decides").holds);
    assert!(verdict(&verdicts, "recovery after equivocation").holds);
    assert!(unique > 10_000, "suspiciously small space: {unique} states");
}

#[test]
fn the_byzantine_proposer_uses_promises_sent_to_another_proposer() {
    // p0 leads rounds 0 and 2, p1 round 1. In a state where p0 holds a PROMISE for round 1
    // (sent to p1), it can put it in a proof: the stale-proof variant takes that proof.
    let cfg = ModelConfig {
        max_crashes: 0,
        unproposed_value: false,
        ..ModelConfig::default()
    };
    let model = cfg.clone().into_model();
    // Breadth-first: an acceptor's timeout sends the PROMISE at depth 1.
    let mut pending: std::collections::VecDeque<State> = model.init_states().into();
    let mut seen = HashSet::new();
    let mut actions = Vec::new();
    while let Some(state) = pending.pop_front() {
        if seen.len() > 20_000 {
            break;
        }
        if !seen.insert(fingerprint(&state)) {
            continue;
        }
        let p0 = &state.actor_states[cfg.acceptors()];
        if let ModelNodeState::Byzantine(b) = &**p0
            && b.promises.iter().any(|p| p.round == 1)
        {
            return;
        }
        actions.clear();
        model.actions(&state, &mut actions);
        pending.extend(
            actions
                .drain(..)
                .filter_map(|a| model.next_state(&state, a)),
        );
    }
    panic!("the Byzantine p0 never holds a PROMISE for round 1");
}

/// How the checker looks for a variant's counterexample.
enum Search {
    BreadthFirst,
    /// Depth-first under symmetry.
    DepthFirst,
    /// Seeded random walks, as `check` runs before its exhaustive search (a walk replays by
    /// action index, so a seed gives one set of walks on every machine).
    Walks,
}

/// The configuration on which each variant is checked in this test, and the search: the
/// smallest that exposes the bug quickly.
fn variant_case(variant: Variant) -> (ModelConfig, Search) {
    let base = ModelConfig {
        variant: Some(variant),
        ..ModelConfig::default()
    };
    match variant {
        // Round 1's honest leader is enough to expose these.
        Variant::VoteTwice | Variant::ThresholdOne | Variant::Quorum2f => (
            ModelConfig {
                max_round: 1,
                max_crashes: 0,
                ..base
            },
            Search::DepthFirst,
        ),
        // A Byzantine leader above round 0 is needed: breadth-first to the short trace.
        Variant::NoProofCheck | Variant::LeakedKey | Variant::StaleProof => {
            (base, Search::BreadthFirst)
        }
        // Needs Byzantine → honest → Byzantine rounds.
        Variant::NoSingleValueRule => (base, Search::DepthFirst),
        // The same, 17 steps deep: the depth-first search takes minutes to line the three
        // rounds up, random walks take thousands of states.
        Variant::AnyRoundValues => (base, Search::Walks),
    }
}

#[test]
fn every_variant_is_rejected_with_a_counterexample() {
    for variant in Variant::ALL {
        let (cfg, search) = variant_case(variant);
        let mut model = cfg.clone().into_model();
        model.replayable_actions = matches!(search, Search::Walks);
        let builder = model
            .checker()
            .threads(1)
            .finish_when(HasDiscoveries::AnyOf(
                VARIANT_MUST_VIOLATE.into_iter().collect(),
            ));
        let verdicts = match search {
            Search::BreadthFirst => verdicts(&builder.spawn_bfs().join()),
            Search::DepthFirst => verdicts(&builder.symmetry_fn(representative).spawn_dfs().join()),
            Search::Walks => verdicts(
                &builder
                    .target_state_count(2_000_000)
                    .spawn_simulation(0, UniformChooser)
                    .join(),
            ),
        };
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
                !steps.is_empty(),
                "{}: empty counterexample",
                variant.name()
            );
            assert!(
                steps.iter().any(|s| s.outcome.contains("votes")),
                "{}: a counterexample without a vote",
                variant.name()
            );
        }
    }
}

#[test]
fn pruned_byzantine_menu_reaches_the_states_of_the_full_menu() {
    // One proposer, so the Byzantine `p0` also leads round 1, where proofs matter: the full
    // menu adds ACCEPTs with forged, short and stale proofs and messages of other rounds.
    // The acceptors must end up in exactly the same states with either menu.
    let pruned = ModelConfig {
        proposers: 1,
        max_round: 1,
        max_crashes: 0,
        unproposed_value: false,
        ..ModelConfig::default()
    };
    let full = ModelConfig {
        menu: Menu::Full,
        ..pruned.clone()
    };
    let reached_full = projected_states(&full, |s| agents_and_history(s, true));
    let reached_pruned = projected_states(&pruned, |s| agents_and_history(s, true));
    assert!(reached_pruned.len() > 1_000);
    assert_eq!(reached_full, reached_pruned);
}

#[test]
fn crash_pruning_loses_no_reachable_valuation() {
    let explored = ModelConfig {
        max_crashes: 1,
        prune_lossless_crashes: false,
        unproposed_value: false,
        ..small()
    };
    let pruned = ModelConfig {
        prune_lossless_crashes: true,
        ..explored.clone()
    };
    let all = projected_states(&explored, |s| agents_and_history(s, false));
    let kept = projected_states(&pruned, |s| agents_and_history(s, false));
    assert!(all.len() > 1_000);
    assert_eq!(all, kept);
}

/// What agents and properties can see of a state: every agent's state and durable state, the
/// ghost history and the messages in flight; not which acceptor is crashed, not its timers,
/// not the network's record of the last delivery. The acceptors' view leaves out the
/// messages in flight and what proposers sent.
type Projection = (
    Vec<Arc<ModelNodeState>>,
    Vec<Option<DurableState<ModelValue>>>,
    Ghost,
    Vec<Envelope<Msg<ModelValue>>>,
);

fn agents_and_history(state: &State, acceptors_view: bool) -> Projection {
    let mut history = state.history.clone();
    if acceptors_view {
        // What proposers sent differs between the menus by design; what acceptors did
        // (votes, PROMISEs) must not.
        history.proposals.clear();
    }
    let mut envelopes: Vec<_> = if acceptors_view {
        Vec::new()
    } else {
        match &state.network {
            Network::UnorderedDuplicating(set, _) => set.iter().cloned().collect(),
            other => panic!("a duplicating network is expected, not {other:?}"),
        }
    };
    envelopes.sort_by(|a, b| {
        (usize::from(a.src), usize::from(a.dst), &a.msg).cmp(&(
            usize::from(b.src),
            usize::from(b.dst),
            &b.msg,
        ))
    });
    (
        state.actor_states.clone(),
        state.actor_storages.clone(),
        history,
        envelopes,
    )
}

/// The fingerprints of every reachable state of `cfg`, projected. A plain depth-first walk
/// over the model's transitions, without symmetry, that remembers 64-bit fingerprints of
/// whole states (a collision, at these sizes, has odds below one in ten million).
fn projected_states(cfg: &ModelConfig, project: fn(&State) -> Projection) -> HashSet<u64> {
    let model: Model = cfg.clone().into_model();
    let mut seen = HashSet::new();
    let mut projected = HashSet::new();
    let mut pending = model.init_states();
    let mut actions = Vec::new();
    while let Some(state) = pending.pop() {
        if !model.within_boundary(&state) || !seen.insert(fingerprint(&state)) {
            continue;
        }
        projected.insert(fingerprint(&project(&state)));
        actions.clear();
        model.actions(&state, &mut actions);
        for action in actions.drain(..) {
            if let Some(next) = model.next_state(&state, action) {
                pending.push(next);
            }
        }
    }
    projected
}

fn fingerprint(value: &impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}
