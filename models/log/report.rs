//! How the log's steps read in a counterexample: what each step changed, in protocol terms,
//! and the model's own action. Verdicts and numbered steps are the core's.

use super::actor::{Action, State};
use super::config::{Config, SlotValue};
use super::history::Ghost;
use super::properties::chosen;
use crate::log::node::LogNodeState;
use crate::models::core::report::{Describe, actor_name, moved_to_round};
use crate::models::value::ModelValue;

impl Describe for Config {
    fn describe_own(&self, action: &Action) -> String {
        match action {
            Action::CatchUp { acceptor, slot } => format!(
                "{} learns chosen slot {slot} by state transfer",
                actor_name(self, *acceptor)
            ),
            Action::LearnThen {
                acceptor,
                slots,
                step,
            } => format!(
                "{} learns {slots} chosen slot(s) by state transfer, then {step:?}",
                actor_name(self, *acceptor)
            ),
            Action::Actor(action) => format!("{action:?}"),
        }
    }

    fn describe_agent(
        &self,
        who: &str,
        before: &LogNodeState<ModelValue>,
        after: &LogNodeState<ModelValue>,
        said: &mut Vec<String>,
    ) {
        match (before, after) {
            (LogNodeState::Acceptor(b), LogNodeState::Acceptor(a)) => {
                for (slot, vote) in &a.votes {
                    if b.votes.get(slot) != Some(vote) {
                        said.push(format!(
                            "{who} votes {} in slot {slot}, round {}",
                            vote.value, vote.round
                        ));
                    }
                }
                if a.votes == b.votes && a.rnd != b.rnd {
                    said.push(moved_to_round(who, a.rnd));
                }
                if a.learner.decided_prefix() != b.learner.decided_prefix() {
                    said.push(format!(
                        "{who}'s decided prefix is {}",
                        a.learner.decided_prefix()
                    ));
                }
            }
            (LogNodeState::Proposer(b), LogNodeState::Proposer(a))
                if a.proposed() != b.proposed() =>
            {
                if let Some(r) = a.proposed() {
                    said.push(format!("{who} proposes in round {r}"));
                }
            }
            _ => {}
        }
    }

    fn describe_chosen(&self, before: &Ghost, after: &Ghost, said: &mut Vec<String>) {
        let chosen_before = chosen(self, before);
        for (r, s, v) in chosen(self, after).difference(&chosen_before) {
            said.push(format!("{v} is chosen in slot {s}, round {r}"));
        }
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
