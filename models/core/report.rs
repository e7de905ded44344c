//! What a model check found: each property's verdict, and counterexamples as numbered steps
//! that a reader can follow. How a step reads in protocol terms is the protocol's part
//! ([`Describe`]).

use super::mixed::MixedState;
use super::model::ProtocolModel;
use super::protocol::{HonestState, Msg, Protocol, State};
use super::shape::Shape;
use crate::types::{ProposerId, Round};
use serde::Serialize;
use stateright::actor::{ActorModelAction, Id};
use stateright::{Checker, Expectation, Path};
use std::fmt::Display;

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

/// How a protocol's steps read.
pub trait Describe: Protocol {
    /// One of the protocol's own actions, in words.
    fn describe_own(&self, action: &Self::Action) -> String {
        format!("{action:?}")
    }

    /// What changed in honest agent `who`, in protocol terms, added to `said`.
    fn describe_agent(
        &self,
        who: &str,
        before: &HonestState<Self>,
        after: &HonestState<Self>,
        said: &mut Vec<String>,
    );

    /// What the ghost history says became chosen, added to `said`.
    fn describe_chosen(&self, before: &Self::Ghost, after: &Self::Ghost, said: &mut Vec<String>);

    /// What changed between two states, in protocol terms: agent by agent, then what became
    /// chosen.
    fn describe_outcome(&self, before: &State<Self>, after: &State<Self>) -> String {
        let mut said = Vec::new();
        for (i, (b, a)) in before
            .actor_states
            .iter()
            .zip(&after.actor_states)
            .enumerate()
        {
            let who = actor_name(self, Id::from(i));
            match (&**b, &**a) {
                (MixedState::Honest(b), MixedState::Honest(a)) => {
                    self.describe_agent(&who, b, a, &mut said)
                }
                (MixedState::Byzantine(b), MixedState::Byzantine(a)) if a != b => {
                    said.push(format!(
                        "{who} sends every ACCEPT it can build with this PROMISE"
                    ));
                }
                _ => {}
            }
        }
        self.describe_chosen(&before.history, &after.history, &mut said);
        said.join("; ")
    }
}

/// The words for an acceptor that moved to a higher round without voting.
pub fn moved_to_round(who: &str, round: Round) -> String {
    format!("{who} moves to round {round} (PROMISE, TRUSTCHANGE)")
}

/// The verdicts of a finished (or stopped) check on every property of its model.
pub fn verdicts<P, C>(checker: &C) -> Vec<Verdict>
where
    P: Describe,
    C: Checker<ProtocolModel<P>>,
{
    let model = checker.model();
    let cfg = model.cfg();
    model
        .properties
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
                Some(path) if !holds || holds != expected => Some(describe_path(cfg, path)),
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
pub fn actor_name<S: Shape>(cfg: &S, id: Id) -> String {
    let i = usize::from(id);
    let n = cfg.acceptors();
    if i < n {
        format!("a{}", i + 1)
    } else if i < n + cfg.proposers() {
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

/// An action of the actor model, in words.
pub fn describe_actor_action<S, M, T>(cfg: &S, action: &ActorModelAction<M, T, ()>) -> String
where
    S: Shape,
    M: Display,
{
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

/// One action of the model of `P`, in words.
pub fn describe_action<P: Describe>(cfg: &P, action: &P::Action) -> String {
    match P::as_actor(action) {
        Some(action) => describe_actor_action::<P, Msg<P>, _>(cfg, action),
        None => cfg.describe_own(action),
    }
}

/// A path as numbered steps.
pub fn describe_path<P: Describe>(cfg: &P, path: Path<State<P>, P::Action>) -> Vec<StepReport> {
    describe_steps(cfg, &path.into_vec())
}

/// Steps (each state with the action taken from it) as numbered steps.
pub fn describe_steps<P: Describe>(
    cfg: &P,
    steps: &[(State<P>, Option<P::Action>)],
) -> Vec<StepReport> {
    let mut out = Vec::new();
    for (i, window) in steps.windows(2).enumerate() {
        let (before, action) = &window[0];
        let (after, _) = &window[1];
        let Some(action) = action else { continue };
        out.push(StepReport {
            step: i + 1,
            action: describe_action(cfg, action),
            outcome: cfg.describe_outcome(before, after),
        });
    }
    out
}
