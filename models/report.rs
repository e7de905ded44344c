//! How the single decree's steps read in a counterexample: what each step changed, in
//! protocol terms. Verdicts and numbered steps are the core's ([`super::core::report`]).

use super::config::ModelConfig;
use super::core::report::{Describe, moved_to_round};
pub use super::core::report::{
    StepReport, Verdict, actor_name, describe_action, describe_path, describe_steps, verdicts,
};
use super::history::Ghost;
use super::properties::chosen;
use super::value::ModelValue;
use crate::node::NodeState;

impl Describe for ModelConfig {
    fn describe_agent(
        &self,
        who: &str,
        before: &NodeState<ModelValue>,
        after: &NodeState<ModelValue>,
        said: &mut Vec<String>,
    ) {
        match (before, after) {
            (NodeState::Acceptor(b), NodeState::Acceptor(a)) => {
                if a.last_vote != b.last_vote
                    && let Some(vote) = &a.last_vote
                {
                    said.push(format!(
                        "{who} votes {} in round {}",
                        vote.value, vote.round
                    ));
                } else if a.rnd != b.rnd {
                    said.push(moved_to_round(who, a.rnd));
                }
                if a.learner.decided != b.learner.decided
                    && let Some(d) = &a.learner.decided
                {
                    said.push(format!("{who} decides {} (round {})", d.value, d.round));
                }
            }
            (NodeState::Proposer(b), NodeState::Proposer(a)) if a.proposed != b.proposed => {
                if let Some(r) = a.proposed {
                    said.push(format!("{who} proposes in round {r}"));
                }
            }
            (NodeState::Learner(b), NodeState::Learner(a)) if a.decided != b.decided => {
                if let Some(d) = &a.decided {
                    said.push(format!("{who} decides {} (round {})", d.value, d.round));
                }
            }
            _ => {}
        }
    }

    fn describe_chosen(&self, before: &Ghost, after: &Ghost, said: &mut Vec<String>) {
        let chosen_before = chosen(self, before);
        for (r, v) in chosen(self, after).difference(&chosen_before) {
            said.push(format!("{v} is chosen in round {r}"));
        }
    }
}

/// The ghost history of a state, for readers of a counterexample's last state.
pub fn final_votes(ghost: &Ghost) -> String {
    ghost
        .votes
        .iter()
        .map(|(a, r, v)| format!("{a}:{v}@{r}"))
        .collect::<Vec<_>>()
        .join(" ")
}
