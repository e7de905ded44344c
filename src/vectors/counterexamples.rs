//! `counterexamples.json`: for each known-bad variant, the configuration it is checked on,
//! the property it violates and the counterexample, step by step, in words and structured.
//!
//! The search is this module's own, single-threaded, over the actions in their canonical
//! order: stateright's network iterates in a per-process order, and its checker's threads
//! would change which of several counterexamples is found first.

use super::findings::{Findings, compare};
use super::json;
use super::parse::{self, Parsed};
use super::with_header;
use crate::message::Msg;
use crate::models::Shape;
use crate::models::model::{Action, BpfpModel, State};
use crate::models::properties::{PROPERTIES, VARIANT_MUST_VIOLATE};
use crate::models::report::{describe_action, describe_steps};
use crate::models::symbolic::SymbolicAuth;
use crate::models::symmetry::representative;
use crate::models::value::ModelValue;
use crate::models::walk::sorted_actions;
use crate::models::{ModelConfig, Variant};
use crate::node::peer_of;
use serde_json::{Value as Json, json};
use stateright::Model;
use stateright::actor::ActorModelAction;
use std::collections::{HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

/// How a variant's counterexample is searched for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Search {
    /// Breadth-first: a shortest counterexample.
    Bfs,
    /// Depth-first, for spaces where breadth-first holds too many states at once. States
    /// count as seen up to a renaming of acceptors (`models::symmetry::representative`, a
    /// pure function of the state, so the trace found stays the same from run to run).
    Dfs,
}

impl Search {
    fn name(self) -> &'static str {
        match self {
            Search::Bfs => "bfs",
            Search::Dfs => "dfs",
        }
    }
}

/// No search visits more states than this: a variant that is not caught by then is a bug
/// of the generator's configurations, reported as such.
const STATE_CAP: usize = 2_000_000;

/// The configuration each variant is checked on and the search: the smallest that exposes
/// it quickly (as in `tests/model_check.rs`).
pub fn variant_case(variant: Variant) -> (ModelConfig, Search) {
    let base = ModelConfig {
        variant: Some(variant),
        ..ModelConfig::default()
    };
    match variant {
        // Round 1's honest leader and the clients' values A and B are enough to expose
        // these.
        Variant::VoteTwice | Variant::ThresholdOne | Variant::Quorum2f => (
            ModelConfig {
                max_round: 1,
                max_crashes: 0,
                unproposed_value: false,
                ..base
            },
            Search::Bfs,
        ),
        // A Byzantine leader above round 0 is needed (for stale-proof, one that sees the
        // PROMISEs sent to the leader of round 1).
        Variant::NoProofCheck | Variant::LeakedKey | Variant::StaleProof => (base, Search::Bfs),
        // Needs Byzantine, honest, Byzantine rounds: too deep for breadth-first search.
        Variant::NoSingleValueRule | Variant::AnyRoundValues => (
            ModelConfig {
                max_crashes: 0,
                unproposed_value: false,
                ..base
            },
            Search::Dfs,
        ),
    }
}

/// A counterexample: the property violated and the path to the violating state.
pub struct Found {
    pub property: &'static str,
    pub steps: Vec<(State, Option<Action>)>,
    pub states_visited: usize,
}

fn fingerprint(state: &State, how: Search) -> u64 {
    let mut hasher = DefaultHasher::new();
    match how {
        Search::Bfs => state.hash(&mut hasher),
        Search::Dfs => representative(state).hash(&mut hasher),
    }
    hasher.finish()
}

/// The first property of `VARIANT_MUST_VIOLATE` that `state` violates.
fn violated(model: &BpfpModel, state: &State) -> Option<&'static str> {
    PROPERTIES
        .iter()
        .filter(|p| VARIANT_MUST_VIOLATE.contains(&p.name))
        .find(|p| !(p.condition)(model, state))
        .map(|p| p.name)
}

/// Searches `model` for a state that violates agreement or votes safe.
pub fn search(model: &BpfpModel, how: Search) -> Option<Found> {
    // Every state reached: its parent and the action from it, to rebuild the path.
    let mut tree: Vec<(Option<usize>, Option<Action>)> = Vec::new();
    let mut seen = HashSet::new();
    let mut pending: VecDeque<(usize, State)> = VecDeque::new();
    for state in model.init_states() {
        if model.within_boundary(&state) && seen.insert(fingerprint(&state, how)) {
            tree.push((None, None));
            pending.push_back((tree.len() - 1, state));
        }
    }
    while let Some((index, state)) = match how {
        Search::Bfs => pending.pop_front(),
        Search::Dfs => pending.pop_back(),
    } {
        if let Some(property) = violated(model, &state) {
            return Some(Found {
                property,
                steps: rebuild(model, &tree, index),
                states_visited: seen.len(),
            });
        }
        if seen.len() > STATE_CAP {
            return None;
        }
        let mut children: Vec<(Action, State)> = sorted_actions(model, &state)
            .into_iter()
            .filter_map(|a| model.next_state(&state, a.clone()).map(|s| (a, s)))
            .collect();
        if how == Search::Dfs {
            // The first action is explored first.
            children.reverse();
        }
        for (action, next) in children {
            if model.within_boundary(&next) && seen.insert(fingerprint(&next, how)) {
                tree.push((Some(index), Some(action)));
                pending.push_back((tree.len() - 1, next));
            }
        }
    }
    None
}

/// The path to node `last` of the search tree, replayed from the initial state.
fn rebuild(
    model: &BpfpModel,
    tree: &[(Option<usize>, Option<Action>)],
    last: usize,
) -> Vec<(State, Option<Action>)> {
    let mut actions = Vec::new();
    let mut at = last;
    while let (Some(parent), Some(action)) = &tree[at] {
        actions.push(action.clone());
        at = *parent;
    }
    actions.reverse();
    let mut state = model.init_states().remove(0);
    let mut steps = Vec::new();
    for action in actions {
        let next = model
            .next_state(&state, action.clone())
            .expect("an action of the search applies again");
        steps.push((state, Some(action)));
        state = next;
    }
    steps.push((state, None));
    steps
}

pub fn config_json(cfg: &ModelConfig) -> Json {
    json!({
        "f": cfg.f,
        "acceptors": cfg.acceptors(),
        "quorum": cfg.quorum(),
        "proposers": cfg.proposers,
        "byzantine": cfg.byzantine.iter().map(|p| p.0).collect::<Vec<_>>(),
        "max_round": cfg.max_round,
        "values": cfg.values().iter().map(json::value).collect::<Vec<_>>(),
        "max_crashes": cfg.max_crashes,
        "network": cfg.network.name(),
        "learners": cfg.learners.name(),
        "menu": cfg.menu.name(),
        "crash_pruning": cfg.prune_lossless_crashes,
        "variant": cfg.variant.map(|v| v.name()),
    })
}

/// A model message: PROMISEs show whether their authenticator is genuine rather than the
/// model's symbolic bytes.
fn model_message(msg: &Msg<ModelValue>) -> Json {
    let mut out = json::message(msg);
    let mark = |j: &mut Json, p: &crate::message::Promise<ModelValue>| {
        if let Some(fields) = j.as_object_mut() {
            fields.remove("mac");
            fields.insert("authentic".into(), json!(p.is_authentic(&SymbolicAuth)));
        }
    };
    match msg {
        Msg::Accept { proof, .. } => {
            for (i, p) in proof.iter().enumerate() {
                mark(&mut out["proof"][i], p);
            }
        }
        Msg::Promise(p) => mark(&mut out, p),
        _ => {}
    }
    out
}

/// An action, structured: who acts, what, and the message if any.
pub fn action_json(cfg: &ModelConfig, action: &Action) -> Json {
    let who = |id| json::peer(peer_of(&cfg.cluster(), id));
    match action {
        ActorModelAction::Deliver { src, dst, msg } => json!({
            "action": "deliver", "actor": who(*dst), "from": who(*src), "message": model_message(msg),
        }),
        ActorModelAction::Drop(env) => json!({
            "action": "drop", "actor": who(env.dst), "from": who(env.src), "message": model_message(&env.msg),
        }),
        ActorModelAction::Timeout(id, _) => json!({"action": "timeout", "actor": who(*id)}),
        ActorModelAction::Crash(id) => json!({"action": "crash", "actor": who(*id)}),
        ActorModelAction::Recover(id) => json!({"action": "recover", "actor": who(*id)}),
        ActorModelAction::SelectRandom { actor, .. } => {
            json!({"action": "select-random", "actor": who(*actor)})
        }
    }
}

fn variant_json(variant: Variant) -> Json {
    let (cfg, how) = variant_case(variant);
    let model = cfg.clone().into_model();
    let found = search(&model, how);
    let Some(found) = found else {
        return json!({
            "variant": variant.name(),
            "description": variant.description(),
            "config": config_json(&cfg),
            "search": how.name(),
            "error": "no counterexample found within the state cap",
        });
    };
    let words = describe_steps(&cfg, &found.steps);
    let steps: Vec<Json> = found
        .steps
        .iter()
        .filter_map(|(_, action)| action.as_ref())
        .zip(&words)
        .map(|(action, said)| {
            let mut step = action_json(&cfg, action);
            step["step"] = json!(said.step);
            step["text"] = json!(said.action);
            step["outcome"] = json!(said.outcome);
            step
        })
        .collect();
    json!({
        "variant": variant.name(),
        "description": variant.description(),
        "config": config_json(&cfg),
        "search": how.name(),
        "states_visited": found.states_visited,
        "property": found.property,
        "length": steps.len(),
        "steps": steps,
    })
}

pub fn document() -> Json {
    let doc = json!({
        "variants": Variant::ALL.into_iter().map(variant_json).collect::<Vec<_>>(),
    });
    with_header(doc, "counterexamples")
}

/// Replays every stored counterexample in the model of its variant: each step must be an
/// action the model offers at that point (matched on its structured form), and the last
/// state must violate the property named.
pub fn verify(doc: &Json, findings: &mut Findings) -> Parsed<()> {
    for entry in parse::array_field(doc, "variants")? {
        let name = parse::str_field(entry, "variant")?;
        let variant = Variant::from_name(name).ok_or_else(|| format!("no variant {name:?}"))?;
        let (cfg, _) = variant_case(variant);
        let expected = entry.get("config").unwrap_or(&Json::Null);
        compare(findings, name, "config", expected, &config_json(&cfg));
        let model = cfg.clone().into_model();
        let mut state = model.init_states().remove(0);
        for step in parse::array_field(entry, "steps")? {
            let mut wanted = step.clone();
            let text = wanted.as_object_mut().and_then(|s| {
                s.remove("step");
                s.remove("outcome");
                s.remove("text")
            });
            let action = sorted_actions(&model, &state)
                .into_iter()
                .find(|a| action_json(&cfg, a) == wanted);
            let Some(action) = action else {
                findings.push(format!("{name}: the model offers no action {wanted}"));
                return Ok(());
            };
            compare(
                findings,
                name,
                "step text",
                &text.unwrap_or_default(),
                &json!(describe_action(&cfg, &action)),
            );
            match model.next_state(&state, action) {
                Some(next) => state = next,
                None => {
                    findings.push(format!("{name}: the action {wanted} changes nothing"));
                    return Ok(());
                }
            }
        }
        let property = parse::str_field(entry, "property")?;
        let holds = PROPERTIES
            .iter()
            .find(|p| p.name == property)
            .is_none_or(|p| (p.condition)(&model, &state));
        if holds {
            findings.push(format!(
                "{name}: the trace ends in a state where {property:?} holds"
            ));
        }
    }
    Ok(())
}
