//! How the single decree's steps read in a counterexample: what each step changed, in
//! protocol terms. Verdicts and numbered steps are the core's ([`super::core::report`]).

use super::actor::{ModelNodeState, State};
use super::config::ModelConfig;
use super::core::report::Describe;
pub use super::core::report::{
    StepReport, Verdict, actor_name, describe_action, describe_path, describe_steps, verdicts,
};
use super::history::Ghost;
use super::properties::chosen;
use crate::node::NodeState;
use stateright::actor::Id;

impl Describe for ModelConfig {
    /// What changed between two states, in protocol terms.
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
                    ModelNodeState::Honest(NodeState::Acceptor(b)),
                    ModelNodeState::Honest(NodeState::Acceptor(a)),
                ) => {
                    if a.last_vote != b.last_vote
                        && let Some(vote) = &a.last_vote
                    {
                        said.push(format!(
                            "{who} votes {} in round {}",
                            vote.value, vote.round
                        ));
                    } else if a.rnd != b.rnd {
                        said.push(format!(
                            "{who} moves to round {} (PROMISE, TRUSTCHANGE)",
                            a.rnd
                        ));
                    }
                    if a.learner.decided != b.learner.decided
                        && let Some(d) = &a.learner.decided
                    {
                        said.push(format!("{who} decides {} (round {})", d.value, d.round));
                    }
                }
                (
                    ModelNodeState::Honest(NodeState::Proposer(b)),
                    ModelNodeState::Honest(NodeState::Proposer(a)),
                ) if a.proposed != b.proposed => {
                    if let Some(r) = a.proposed {
                        said.push(format!("{who} proposes in round {r}"));
                    }
                }
                (
                    ModelNodeState::Honest(NodeState::Learner(b)),
                    ModelNodeState::Honest(NodeState::Learner(a)),
                ) if a.decided != b.decided => {
                    if let Some(d) = &a.decided {
                        said.push(format!("{who} decides {} (round {})", d.value, d.round));
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
        for (r, v) in chosen(cfg, &after.history).difference(&chosen_before) {
            said.push(format!("{v} is chosen in round {r}"));
        }
        said.join("; ")
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
