//! The properties of PROTOCOL.md §6, over the ghost history and the actors' states. Names
//! follow the TLA+ spec.

use super::actor::ModelNodeState;
pub use super::actor::{BpfpModel as Model, State};
use super::config::{LearnerMode, ModelConfig};
use super::core::ghost;
pub use super::core::property::VARIANT_MUST_VIOLATE;
use super::core::property::{self, PropertySpec};
use super::core::shape::Shape;
use super::history::Ghost;
use super::value::ModelValue;
use crate::learner::Decision;
use crate::node::NodeState;
use crate::types::{AcceptorId, Round};
use std::collections::{BTreeMap, BTreeSet};

/// A property of the single decree's model.
pub type DecreeProperty = PropertySpec<Model, ModelConfig>;

pub const PROPERTIES: &[DecreeProperty] = &[
    PropertySpec::new(
        "agreement",
        "Agreement",
        agreement,
        "at most one value is chosen, and every learner decides only that value",
    )
    .always(),
    PropertySpec::new(
        "votes safe",
        "VotesSafe",
        votes_safe,
        "every vote (a, r, v) satisfies SafeAt(r, v): no other value was or can \
         still be chosen in a round below r",
    )
    .always(),
    PropertySpec::new(
        "one vote per round",
        "OneVote",
        one_vote_per_round,
        "no acceptor votes for two values in one round",
    )
    .always(),
    PropertySpec::new(
        "promises honest",
        "PromisesHonest",
        promises_honest,
        "a PROMISE for r reports its sender's last vote below r, and the sender \
         never votes below r afterwards",
    )
    .always(),
    PropertySpec::new(
        "proofs genuine",
        "ProofsGenuine",
        proofs_genuine,
        "every PROMISE with a valid authenticator in a proof was sent by its acceptor",
    )
    .always(),
    PropertySpec::new(
        "validity",
        "Validity",
        validity,
        "a chosen value was proposed in an ACCEPT of its round; if every leader up \
         to that round is honest, it is a client's value",
    )
    .always(),
    PropertySpec::new(
        "one value per round",
        "OneValuePerRound",
        one_value_per_round,
        "sanity: all votes of a round are for one value (fails when a Byzantine \
         proposer leads a round: equivocation is modelled)",
    )
    .always()
    // A Byzantine leader makes acceptors vote different values in one round.
    .expected_when(|cfg| !cfg.byzantine_leads_in(0..=cfg.max_round)),
    PropertySpec::new(
        "fast path",
        "FastPath",
        fast_path,
        "a value is chosen in round 0 before any authenticator is computed",
    )
    .sometimes(),
    PropertySpec::new(
        "decision after trust change",
        "DecidedAfterTrustChange",
        decided_after_trust_change,
        "a value is chosen in a round above 0",
    )
    .sometimes()
    .expected_when(|cfg| cfg.max_round >= 1),
    PropertySpec::new(
        "recovery after equivocation",
        "RecoveryAfterEquivocation",
        recovery_after_equivocation,
        "a value is chosen in a round above one in which acceptors voted two values",
    )
    .sometimes()
    .expected_when(|cfg| cfg.max_round >= 1 && cfg.byzantine_leads_in(0..=cfg.max_round - 1)),
    PropertySpec::new(
        "learner decides",
        "LearnerDecides",
        learner_decides,
        "a learner decides (learners that are not abstract)",
    )
    .sometimes()
    .expected_when(|cfg| cfg.learners != LearnerMode::Abstract),
];

/// The safety properties BP Fast Paxos must keep on `cfg` (the `Always` properties expected
/// to hold): a check stops at the first violation of one of them.
pub fn must_hold(cfg: &ModelConfig) -> BTreeSet<&'static str> {
    property::must_hold(PROPERTIES, cfg)
}

/// The property named `name`.
pub fn property(name: &str) -> Option<&'static DecreeProperty> {
    property::find(PROPERTIES, name)
}

/// Every learner's decision.
pub fn decisions(state: &State) -> impl Iterator<Item = &Decision<ModelValue>> {
    state.actor_states.iter().filter_map(|s| match &**s {
        ModelNodeState::Honest(NodeState::Acceptor(a)) => a.learner.decided.as_ref(),
        ModelNodeState::Honest(NodeState::Learner(l)) => l.decided.as_ref(),
        _ => None,
    })
}

/// Voting.tla's `ChosenAt`: the `(r, v)` that a real quorum (`2f + 1`) voted.
pub fn chosen(cfg: &ModelConfig, ghost: &Ghost) -> BTreeSet<(Round, ModelValue)> {
    ghost::quorum_voted(ghost.votes.iter().map(|(_, r, v)| (*r, *v)), cfg.quorum())
}

fn agreement(model: &Model, state: &State) -> bool {
    let mut values: BTreeSet<ModelValue> = chosen(model.cfg(), &state.history)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    values.extend(decisions(state).map(|d| d.value));
    values.len() <= 1
}

fn voted(ghost: &Ghost, a: AcceptorId, r: Round, v: ModelValue) -> bool {
    ghost.votes.contains(&(a, r, v))
}

fn voted_in(ghost: &Ghost, a: AcceptorId, r: Round) -> bool {
    ghost.votes.iter().any(|(b, c, _)| *b == a && *c == r)
}

/// Whether `w` is or can still become chosen in round `c`.
fn choosable(cfg: &ModelConfig, state: &State, c: Round, w: ModelValue) -> bool {
    let ghost = &state.history;
    ghost::choosable::<ModelConfig>(
        state,
        cfg.quorum(),
        c,
        |a| voted(ghost, a, c, w),
        |a| voted_in(ghost, a, c),
    )
}

/// Voting.tla's `SafeAt(r, v)`, in the form that holds when a round may see several values:
/// no value other than `v` is or can still be chosen in a round below `r`.
pub fn safe_at(cfg: &ModelConfig, state: &State, r: Round, v: ModelValue) -> bool {
    (0..r).all(|c| {
        cfg.values()
            .into_iter()
            .filter(|w| *w != v)
            .all(|w| !choosable(cfg, state, c, w))
    })
}

fn votes_safe(model: &Model, state: &State) -> bool {
    state
        .history
        .votes
        .iter()
        .all(|(_, r, v)| safe_at(model.cfg(), state, *r, *v))
}

fn one_vote_per_round(_: &Model, state: &State) -> bool {
    ghost::all_distinct(state.history.votes.iter().map(|(a, r, _)| (*a, *r)))
}

fn promises_honest(_: &Model, state: &State) -> bool {
    let ghost = &state.history;
    ghost.promises.iter().all(|(r, a, reported)| {
        let last_below = ghost
            .votes
            .iter()
            .filter(|(b, c, _)| b == a && c < r)
            .max_by_key(|(_, c, _)| *c);
        match (reported, last_below) {
            (None, None) => true,
            (Some(vote), Some((_, c, v))) => vote.round == *c && vote.value == *v,
            _ => false,
        }
    })
}

fn proofs_genuine(_: &Model, state: &State) -> bool {
    state.history.forged_promises.is_empty()
}

fn validity(model: &Model, state: &State) -> bool {
    let cfg = model.cfg();
    let cluster = cfg.cluster();
    let ghost = &state.history;
    chosen(cfg, ghost).into_iter().all(|(r, v)| {
        let proposed = ghost
            .proposals
            .iter()
            .any(|(p, c, w)| *p == cluster.leader(r) && *c == r && *w == v);
        let honest_so_far = !cfg.byzantine_leads_in(0..=r);
        proposed && (!honest_so_far || matches!(v, ModelValue::Client(_)))
    })
}

fn one_value_per_round(_: &Model, state: &State) -> bool {
    ghost::one_value_each(state.history.votes.iter().map(|(_, r, v)| (*r, *v)))
}

fn fast_path(model: &Model, state: &State) -> bool {
    state.history.promises.is_empty()
        && chosen(model.cfg(), &state.history)
            .iter()
            .any(|(r, _)| *r == 0)
}

fn decided_after_trust_change(model: &Model, state: &State) -> bool {
    chosen(model.cfg(), &state.history)
        .iter()
        .any(|(r, _)| *r > 0)
}

fn recovery_after_equivocation(model: &Model, state: &State) -> bool {
    let ghost = &state.history;
    let mut values_in: BTreeMap<Round, BTreeSet<ModelValue>> = BTreeMap::new();
    for (_, r, v) in &ghost.votes {
        values_in.entry(*r).or_default().insert(*v);
    }
    chosen(model.cfg(), ghost)
        .iter()
        .any(|(r, _)| values_in.range(..*r).any(|(_, values)| values.len() >= 2))
}

fn learner_decides(_: &Model, state: &State) -> bool {
    decisions(state).next().is_some()
}
