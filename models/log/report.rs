//! The log model's verdicts, with the single decree's [`Verdict`], and counterexamples told
//! as numbered steps.

use super::SlotValue;
use super::actor::LogModelNodeState;
use super::config::LogModelConfig;
use super::model::{LogAction, LogModel, LogState};
use super::properties::{LOG_PROPERTIES, chosen};
use crate::log::node::LogNodeState;
use crate::models::report::{StepReport, Verdict, verdicts_of};
use crate::types::ProposerId;
use stateright::actor::{ActorModelAction, Id};
use stateright::{Checker, Path};

pub fn log_verdicts<C: Checker<LogModel>>(cfg: &LogModelConfig, checker: &C) -> Vec<Verdict> {
    verdicts_of(LOG_PROPERTIES, cfg, checker, |path| {
        describe_path(cfg, path)
    })
}

/// `a1..an`, `p0..`, then the client learner.
fn actor_name(cfg: &LogModelConfig, id: Id) -> String {
    let i = usize::from(id);
    let n = cfg.acceptors();
    if i < n {
        format!("a{}", i + 1)
    } else if i < n + cfg.proposers {
        let p = i - n;
        let kind = if cfg.is_byzantine(ProposerId(p as u16)) {
            "Byzantine "
        } else {
            ""
        };
        format!("{kind}p{p}")
    } else {
        "learner".to_string()
    }
}

fn describe_action(cfg: &LogModelConfig, action: &LogAction) -> String {
    let name = |id: Id| actor_name(cfg, id);
    match action {
        LogAction::CatchUp { acceptor, slot } => {
            format!(
                "{} learns chosen slot {slot} by state transfer",
                name(*acceptor)
            )
        }
        LogAction::Actor(ActorModelAction::Deliver { src, dst, msg }) => {
            format!("{} receives {} from {}", name(*dst), msg, name(*src))
        }
        LogAction::Actor(ActorModelAction::Drop(env)) => {
            format!("the network drops {} to {}", env.msg, name(env.dst))
        }
        LogAction::Actor(ActorModelAction::Timeout(id, _)) => format!("{} times out", name(*id)),
        LogAction::Actor(ActorModelAction::Crash(id)) => format!("{} crashes", name(*id)),
        LogAction::Actor(ActorModelAction::Recover(id)) => {
            format!("{} recovers from its durable state", name(*id))
        }
        LogAction::Actor(ActorModelAction::SelectRandom { actor, .. }) => {
            format!("{} chooses", name(*actor))
        }
    }
}

fn describe_outcome(cfg: &LogModelConfig, before: &LogState, after: &LogState) -> String {
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
                LogModelNodeState::Honest(LogNodeState::Acceptor(b)),
                LogModelNodeState::Honest(LogNodeState::Acceptor(a)),
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
                LogModelNodeState::Honest(LogNodeState::Proposer(b)),
                LogModelNodeState::Honest(LogNodeState::Proposer(a)),
            ) if a.proposed() != b.proposed() => {
                if let Some(r) = a.proposed() {
                    said.push(format!("{who} proposes in round {r}"));
                }
            }
            (LogModelNodeState::Byzantine(b), LogModelNodeState::Byzantine(a)) if a != b => {
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

pub fn describe_path(cfg: &LogModelConfig, path: Path<LogState, LogAction>) -> Vec<StepReport> {
    let steps = path.into_vec();
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

/// Every vote of a state, for readers of a counterexample's last state.
pub fn final_votes(state: &LogState) -> String {
    let votes: Vec<String> = state
        .history
        .votes
        .iter()
        .map(|(a, r, s, v): &(_, _, _, SlotValue)| format!("{a}:s{s}:{v}@{r}"))
        .collect();
    votes.join(" ")
}
