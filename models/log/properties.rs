//! The properties of PROTOCOL.md §6, slot by slot, and the one of a log: the decided logs of
//! all learners are prefixes of one sequence.

use super::actor::{Model, ModelNodeState, State};
use super::config::{Config, SlotValue};
use super::history::Ghost;
use crate::log::Slot;
use crate::log::learner::LogLearnerState;
use crate::log::node::LogNodeState;
use crate::log::value::LogValue;
use crate::models::core::ghost;
use crate::models::core::property::PropertySpec;
pub use crate::models::core::property::VARIANT_MUST_VIOLATE;
use crate::models::core::shape::Shape;
use crate::models::value::ModelValue;
use crate::types::{AcceptorId, Round};
use std::collections::BTreeSet;

/// A property of the log's model.
pub type Property = PropertySpec<Model, Config>;

pub const PROPERTIES: &[Property] = &[
    PropertySpec::new(
        "agreement",
        "Agreement",
        agreement,
        "in every slot at most one value is chosen, and learners decide only it",
    )
    .always(),
    PropertySpec::new(
        "logs are prefixes",
        "LogsArePrefixes",
        logs_are_prefixes,
        "the decided logs of all learners are prefixes of one sequence",
    )
    .always(),
    PropertySpec::new(
        "votes safe",
        "VotesSafe",
        votes_safe,
        "every vote (a, r, s, v) satisfies SafeAt(r, s, v): no other value was or \
         can still be chosen in slot s in a round below r",
    )
    .always(),
    PropertySpec::new(
        "one vote per round and slot",
        "OneVote",
        one_vote_per_round_and_slot,
        "no acceptor votes for two values in one round and slot",
    )
    .always(),
    PropertySpec::new(
        "promises honest",
        "PromisesHonest",
        promises_honest,
        "a PROMISE for r reports, in every slot at or above its d, the sender's last \
         vote below r (and it never votes below r afterwards); every slot below d is \
         chosen",
    )
    .always(),
    PropertySpec::new(
        "validity",
        "Validity",
        validity,
        "a chosen value was proposed for its slot in an ACCEPT of its round; if every \
         leader up to that round is honest, it is a client's value or a no-op",
    )
    .always(),
    PropertySpec::new(
        "one value per round and slot",
        "OneValuePerRound",
        one_value_per_round_and_slot,
        "sanity: all votes of a round and slot are for one value (fails when a \
         Byzantine proposer leads a round: equivocation is modelled)",
    )
    .always()
    .expected_when(|cfg| !cfg.byzantine_leads_in(0..=cfg.max_round)),
    PropertySpec::new(
        "whole log chosen",
        "WholeLogChosen",
        whole_log_chosen,
        "every slot of the bound is chosen",
    )
    .sometimes(),
    PropertySpec::new(
        "decision after trust change",
        "DecidedAfterTrustChange",
        decided_after_trust_change,
        "a slot is chosen in a round above 0",
    )
    .sometimes()
    .expected_when(|cfg| cfg.max_round >= 1),
    PropertySpec::new(
        "slot closed",
        "SlotClosed",
        slot_closed,
        "a PROMISE reports a decided prefix, which closes slots in its proofs",
    )
    .sometimes()
    .expected_when(|cfg| cfg.max_round >= 1),
    PropertySpec::new(
        "no-op chosen",
        "NoopChosen",
        noop_chosen,
        "an honest leader fills a hole with a no-op, and it is chosen",
    )
    .sometimes()
    // A hole needs a vote above an empty slot, which a Byzantine leader of an earlier
    // round can leave behind (an honest one fills slots in order).
    .expected_when(|cfg| {
        cfg.slots >= 2
            && cfg.honest_leads_a_proof_round()
            && cfg.byzantine_leads_in(0..=cfg.max_round.saturating_sub(1))
    }),
    PropertySpec::new(
        "learner decides",
        "LearnerDecides",
        client_decides,
        "the client learner decides a slot from LEARNs",
    )
    .sometimes()
    .expected_when(|cfg| cfg.client_learner),
];

/// Every learner: the acceptors and the client.
pub fn learners(state: &State) -> impl Iterator<Item = &LogLearnerState<SlotValue>> {
    state.actor_states.iter().filter_map(|s| match &**s {
        ModelNodeState::Honest(LogNodeState::Acceptor(a)) => Some(&a.learner),
        ModelNodeState::Honest(LogNodeState::Learner(l)) => Some(l),
        _ => None,
    })
}

/// `(r, s, v)` that a real quorum voted, by slot, round and value.
pub fn chosen(cfg: &Config, ghost: &Ghost) -> BTreeSet<(Round, Slot, SlotValue)> {
    ghost::quorum_voted(
        ghost.votes.iter().map(|(_, r, s, v)| (*r, *s, *v)),
        cfg.quorum(),
    )
}

fn agreement(model: &Model, state: &State) -> bool {
    let mut values: BTreeSet<(Slot, SlotValue)> = chosen(model.cfg(), &state.history)
        .into_iter()
        .map(|(_, s, v)| (s, v))
        .collect();
    for learner in learners(state) {
        for (slot, l) in &learner.slots {
            if let Some(d) = &l.decided {
                values.insert((*slot, d.value));
            }
        }
    }
    let slots: BTreeSet<Slot> = values.iter().map(|(s, _)| *s).collect();
    slots.len() == values.len()
}

fn logs_are_prefixes(_: &Model, state: &State) -> bool {
    let logs: Vec<Vec<&SlotValue>> = learners(state).map(|l| l.decided_log()).collect();
    let longest = logs.iter().max_by_key(|l| l.len());
    longest.is_none_or(|longest| logs.iter().all(|l| longest.starts_with(l)))
}

fn voted(ghost: &Ghost, a: AcceptorId, r: Round, s: Slot, v: SlotValue) -> bool {
    ghost.votes.contains(&(a, r, s, v))
}

fn voted_in(ghost: &Ghost, a: AcceptorId, r: Round, s: Slot) -> bool {
    ghost
        .votes
        .iter()
        .any(|(b, c, t, _)| *b == a && *c == r && *t == s)
}

/// Whether `w` is or can still become chosen in slot `s`, round `c`.
fn choosable(cfg: &Config, state: &State, c: Round, s: Slot, w: SlotValue) -> bool {
    let ghost = &state.history;
    ghost::choosable::<Config>(
        state,
        cfg.quorum(),
        c,
        |a| voted(ghost, a, c, s, w),
        |a| voted_in(ghost, a, c, s),
    )
}

/// `SafeAt(r, s, v)`: no value other than `v` is or can still be chosen in slot `s` in a
/// round below `r`. Values that nobody voted in slot `s` cannot be chosen unless enough
/// acceptors have yet to vote, so they are checked too (every value ever voted or proposed).
pub fn safe_at(cfg: &Config, state: &State, r: Round, s: Slot, v: SlotValue) -> bool {
    let mut domain: BTreeSet<SlotValue> = cfg.byzantine_values().into_iter().collect();
    domain.insert(LogValue::Noop);
    domain.extend(state.history.proposals.iter().map(|(_, _, _, w)| *w));
    (0..r).all(|c| {
        domain
            .iter()
            .filter(|w| **w != v)
            .all(|w| !choosable(cfg, state, c, s, *w))
    })
}

fn votes_safe(model: &Model, state: &State) -> bool {
    state
        .history
        .votes
        .iter()
        .all(|(_, r, s, v)| safe_at(model.cfg(), state, *r, *s, *v))
}

fn one_vote_per_round_and_slot(_: &Model, state: &State) -> bool {
    ghost::all_distinct(state.history.votes.iter().map(|(a, r, s, _)| (*a, *r, *s)))
}

fn promises_honest(model: &Model, state: &State) -> bool {
    let ghost = &state.history;
    let chosen_slots: BTreeSet<Slot> = chosen(model.cfg(), ghost)
        .into_iter()
        .map(|(_, s, _)| s)
        .collect();
    ghost.promises.iter().all(|(r, a, d, reported)| {
        let prefix_true = (0..*d).all(|s| chosen_slots.contains(&s));
        // Every slot the acceptor voted in, and every slot the PROMISE names.
        let mut slots: BTreeSet<Slot> = ghost
            .votes
            .iter()
            .filter(|(b, _, s, _)| b == a && s >= d)
            .map(|(_, _, s, _)| *s)
            .collect();
        slots.extend(reported.iter().map(|v| v.slot));
        prefix_true
            && slots.into_iter().all(|slot| {
                let last_below = ghost
                    .votes
                    .iter()
                    .filter(|(b, c, s, _)| b == a && c < r && *s == slot)
                    .max_by_key(|(_, c, _, _)| *c);
                let said = reported.iter().find(|v| v.slot == slot);
                match (said, last_below) {
                    (None, None) => true,
                    (Some(v), Some((_, c, _, w))) => v.vote.round == *c && v.vote.value == *w,
                    _ => false,
                }
            })
    })
}

fn validity(model: &Model, state: &State) -> bool {
    let cfg = model.cfg();
    let cluster = cfg.cluster();
    let ghost = &state.history;
    chosen(cfg, ghost).into_iter().all(|(r, s, v)| {
        let proposed = ghost.proposals.contains(&(cluster.leader(r), r, s, v));
        let honest_so_far = !cfg.byzantine_leads_in(0..=r);
        let clients = matches!(v, LogValue::Noop | LogValue::Batch(ModelValue::Client(_)));
        proposed && (!honest_so_far || clients)
    })
}

fn one_value_per_round_and_slot(_: &Model, state: &State) -> bool {
    ghost::one_value_each(
        state
            .history
            .votes
            .iter()
            .map(|(_, r, s, v)| ((*r, *s), *v)),
    )
}

fn whole_log_chosen(model: &Model, state: &State) -> bool {
    let slots: BTreeSet<Slot> = chosen(model.cfg(), &state.history)
        .into_iter()
        .map(|(_, s, _)| s)
        .collect();
    slots.len() as Slot == model.cfg().slots
}

fn decided_after_trust_change(model: &Model, state: &State) -> bool {
    chosen(model.cfg(), &state.history)
        .iter()
        .any(|(r, _, _)| *r > 0)
}

fn slot_closed(_: &Model, state: &State) -> bool {
    state.history.promises.iter().any(|(_, _, d, _)| *d > 0)
}

fn noop_chosen(model: &Model, state: &State) -> bool {
    chosen(model.cfg(), &state.history)
        .iter()
        .any(|(_, _, v)| *v == LogValue::Noop)
}

fn client_decides(_: &Model, state: &State) -> bool {
    state.actor_states.iter().any(|s| match &**s {
        ModelNodeState::Honest(LogNodeState::Learner(l)) => {
            l.decided_prefix() > 0 || l.slots.values().any(|s| s.decided.is_some())
        }
        _ => false,
    })
}
