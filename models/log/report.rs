//! How the log's steps read in a counterexample: what each step changed, in protocol terms,
//! and the model's own action. Verdicts and numbered steps are the core's.

use super::actor::{Action, ModelNodeState, State};
use super::config::{Config, SlotValue};
use super::properties::chosen;
use crate::log::node::LogNodeState;
use crate::models::core::report::{Describe, actor_name};
use stateright::actor::Id;

impl Describe for Config {
    fn describe_own(&self, action: &Action) -> String {
        match action {
            Action::CatchUp { acceptor, slot } => format!(
                "{} learns chosen slot {slot} by state transfer",
                actor_name(self, *acceptor)
            ),
            Action::Actor(action) => format!("{action:?}"),
        }
    }

    fn describe_outcome(&self, before: &State, after: &State) -> String {
        let cfg = self;
        let mut said = Vec::new();
        for (i, (b, a)) in before
            .actor_states
            .iter()
            .zip(&after.actor_states)
            .enumerate()
        {
            let who = actor_name(cfg, Id::from(i));
            match (&**b, &**a) {
                (
                    ModelNodeState::Honest(LogNodeState::Acceptor(b)),
                    ModelNodeState::Honest(LogNodeState::Acceptor(a)),
                ) => {
                    for (slot, vote) in &a.votes {
                        if b.votes.get(slot) != Some(vote) {
                            said.push(format!(
                                "{who} votes {} in slot {slot}, round {}",
                                vote.value, vote.round
                            ));
                        }
                    }
                    if a.votes == b.votes && a.rnd != b.rnd {
                        said.push(format!(
                            "{who} moves to round {} (PROMISE, TRUSTCHANGE)",
                            a.rnd
                        ));
                    }
                    if a.learner.decided_prefix() != b.learner.decided_prefix() {
                        said.push(format!(
                            "{who}'s decided prefix is {}",
                            a.learner.decided_prefix()
                        ));
                    }
                }
                (
                    ModelNodeState::Honest(LogNodeState::Proposer(b)),
                    ModelNodeState::Honest(LogNodeState::Proposer(a)),
                ) if a.proposed() != b.proposed() => {
                    if let Some(r) = a.proposed() {
                        said.push(format!("{who} proposes in round {r}"));
                    }
                }
                (ModelNodeState::Byzantine(b), ModelNodeState::Byzantine(a)) if a != b => {
                    said.push(format!(
                        "{who} sends every ACCEPT it can build with this PROMISE"
                    ));
                }
                _ => {}
            }
        }
        let chosen_before = chosen(cfg, &before.history);
        for (r, s, v) in chosen(cfg, &after.history).difference(&chosen_before) {
            said.push(format!("{v} is chosen in slot {s}, round {r}"));
        }
        said.join("; ")
    }
}

/// Every vote of a state, for readers of a counterexample's last state.
pub fn final_votes(state: &State) -> String {
    let votes: Vec<String> = state
        .history
        .votes
        .iter()
        .map(|(a, r, s, v): &(_, _, _, SlotValue)| format!("{a}:s{s}:{v}@{r}"))
        .collect();
    votes.join(" ")
}
