//! What a model check found: each property's verdict, and counterexamples as numbered steps
//! that a reader can follow.

use super::actor::ModelNodeState;
use super::config::ModelConfig;
use super::history::Ghost;
use super::properties::{PROPERTIES, PropertySpec, State, chosen};
use crate::node::NodeState;
use serde::Serialize;
use stateright::actor::{ActorModelAction, Id};
use stateright::{Checker, Expectation, Path};

type Action =
    ActorModelAction<crate::message::Msg<super::value::ModelValue>, crate::node::NodeTimer, ()>;

/// One step of a counterexample.
#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    pub step: usize,
    pub action: String,
    pub outcome: String,
}

/// The verdict on one property.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub name: &'static str,
    pub tla_name: &'static str,
    pub expectation: &'static str,
    /// `always`: no state violates it; `sometimes`: some state satisfies it.
    pub holds: bool,
    /// What BP Fast Paxos must get on this configuration.
    pub expected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<Vec<StepReport>>,
}

impl Verdict {
    pub fn as_expected(&self) -> bool {
        self.holds == self.expected
    }
}

/// The verdicts of a finished (or stopped) check.
pub fn verdicts<C: Checker<super::properties::Model>>(
    cfg: &ModelConfig,
    checker: &C,
) -> Vec<Verdict> {
    verdicts_of(PROPERTIES, cfg, checker, |path| describe_path(cfg, path))
}

/// The verdicts on `properties` of any model, counterexamples told by `describe`.
pub fn verdicts_of<M, Cfg, C>(
    properties: &[PropertySpec<M, Cfg>],
    cfg: &Cfg,
    checker: &C,
    describe: impl Fn(Path<M::State, M::Action>) -> Vec<StepReport>,
) -> Vec<Verdict>
where
    M: stateright::Model,
    M::State: Clone + PartialEq,
    M::Action: Clone + PartialEq,
    C: Checker<M>,
{
    properties
        .iter()
        .map(|p| {
            let discovery = checker.discovery(p.name);
            let (expectation, holds) = match p.expectation {
                Expectation::Always => ("always", discovery.is_none()),
                Expectation::Sometimes => ("sometimes", discovery.is_some()),
                Expectation::Eventually => ("eventually", discovery.is_none()),
            };
            let expected = (p.expected)(cfg);
            let counterexample = match discovery {
                // Every violated `always` property (the sanity one included: its trace shows
                // the equivocation), and a `sometimes` property reached against expectation.
                Some(path) if !holds || holds != expected => Some(describe(path)),
                _ => None,
            };
            Verdict {
                name: p.name,
                tla_name: p.tla_name,
                expectation,
                holds,
                expected,
                counterexample,
            }
        })
        .collect()
}

/// The name of an actor: `a1..an`, `p0..`, then the client learner.
pub fn actor_name(cfg: &ModelConfig, id: Id) -> String {
    let i = usize::from(id);
    let n = cfg.acceptors();
    if i < n {
        format!("a{}", i + 1)
    } else if i < n + cfg.proposers {
        let p = i - n;
        let kind = if cfg.is_byzantine(crate::types::ProposerId(p as u16)) {
            "Byzantine "
        } else {
            ""
        };
        format!("{kind}p{p}")
    } else {
        "learner".to_string()
    }
}

/// One action, in words.
pub fn describe_action(cfg: &ModelConfig, action: &Action) -> String {
    let name = |id: Id| actor_name(cfg, id);
    match action {
        ActorModelAction::Deliver { src, dst, msg } => {
            format!("{} receives {} from {}", name(*dst), msg, name(*src))
        }
        ActorModelAction::Drop(env) => {
            format!("the network drops {} to {}", env.msg, name(env.dst))
        }
        ActorModelAction::Timeout(id, _) => format!("{} times out", name(*id)),
        ActorModelAction::Crash(id) => format!("{} crashes", name(*id)),
        ActorModelAction::Recover(id) => format!("{} recovers from its durable state", name(*id)),
        ActorModelAction::SelectRandom { actor, .. } => format!("{} chooses", name(*actor)),
    }
}

/// What changed between two states, in protocol terms.
fn describe_outcome(cfg: &ModelConfig, before: &State, after: &State) -> String {
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

/// A path as numbered steps.
pub fn describe_path(cfg: &ModelConfig, path: Path<State, Action>) -> Vec<StepReport> {
    describe_steps(cfg, &path.into_vec())
}

/// Steps (each state with the action taken from it) as numbered steps.
pub fn describe_steps(cfg: &ModelConfig, steps: &[(State, Option<Action>)]) -> Vec<StepReport> {
    let mut out = Vec::new();
    for (i, window) in steps.windows(2).enumerate() {
        let (before, action) = &window[0];
        let (after, _) = &window[1];
        let Some(action) = action else { continue };
        out.push(StepReport {
            step: i + 1,
            action: describe_action(cfg, action),
            outcome: describe_outcome(cfg, before, after),
        });
    }
    out
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
