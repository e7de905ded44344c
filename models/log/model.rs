//! The checked log model: stateright's actor model of the configuration, in which a
//! Byzantine proposer receives each PROMISE at once (as in [`crate::models::model`], for the
//! same reason), plus one action of the model's own: an acceptor learns a chosen slot by state
//! transfer (`CatchUp`).
//!
//! Why `CatchUp` is sound: with abstract learners nobody decides from LEARNs, yet PROMISEs
//! must report decided prefixes for slots to close. A slot is decided only if it is chosen,
//! and a replica may receive it by state transfer at any time after that, so letting any
//! acceptor learn any chosen slot at any moment over-approximates when real learners and
//! state transfer would teach it.

use super::SlotValue;
use super::actor::{LogModelNode, LogModelNodeState};
use super::config::LogModelConfig;
use super::history::LogGhost;
use super::properties::{LOG_PROPERTIES, chosen};
use crate::learner::Decision;
use crate::log::Slot;
use crate::log::acceptor::LogAcceptorState;
use crate::log::message::LogMsg;
use crate::log::node::{LogNodeState, LogRole};
use crate::node::NodeTimer;
use stateright::actor::{ActorModel, ActorModelAction, ActorModelState, Id};
use stateright::{Model, Property};
use std::sync::Arc;

pub type LogState = ActorModelState<LogModelNode, LogGhost>;
pub type LogActorAction = ActorModelAction<LogMsg<SlotValue>, NodeTimer, ()>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LogAction {
    Actor(LogActorAction),
    /// Acceptor `acceptor` learns the decision of chosen slot `slot` from another replica.
    CatchUp {
        acceptor: Id,
        slot: Slot,
    },
}

#[derive(Clone)]
pub struct LogModel {
    pub actors: ActorModel<LogModelNode, LogModelConfig, LogGhost>,
}

/// The state of acceptor `index`, if it is one.
pub fn acceptor_state(state: &LogState, index: usize) -> Option<&LogAcceptorState<SlotValue>> {
    match state.actor_states.get(index).map(|s| &**s) {
        Some(LogModelNodeState::Honest(LogNodeState::Acceptor(a))) => Some(a),
        _ => None,
    }
}

impl LogModel {
    pub fn cfg(&self) -> &LogModelConfig {
        &self.actors.cfg
    }

    /// The decision a replica would transfer for `slot`: the value chosen in its lowest round.
    fn chosen_in(&self, state: &LogState, slot: Slot) -> Option<Decision<SlotValue>> {
        chosen(self.cfg(), &state.history)
            .into_iter()
            .find(|(_, s, _)| *s == slot)
            .map(|(round, _, value)| Decision { round, value })
    }

    fn catch_up(&self, state: &LogState, acceptor: Id, slot: Slot) -> Option<LogState> {
        let index = usize::from(acceptor);
        if state.crashed[index] {
            return None;
        }
        let current = acceptor_state(state, index)?;
        let LogModelNode::Honest(node) = &self.actors.actors[index] else {
            return None;
        };
        let LogRole::Acceptor(role) = &node.role else {
            return None;
        };
        let decision = self.chosen_in(state, slot)?;
        let step = role.catch_up(current, slot, &decision)?;
        let mut next = state.clone();
        next.actor_states[index] = Arc::new(LogModelNodeState::Honest(LogNodeState::Acceptor(
            step.state,
        )));
        Some(next)
    }

    /// Whether crashing acceptor `id` can lose anything: as in the single decree, a crash
    /// that recovers the very state it crashed in, with its timer armed, is a pause.
    fn crash_matters(&self, state: &LogState, id: Id) -> bool {
        let index = usize::from(id);
        let Some(current) = acceptor_state(state, index) else {
            return false;
        };
        let recovered = match &state.actor_storages[index] {
            Some(durable) => LogAcceptorState::recover(durable),
            None => LogAcceptorState::initial(),
        };
        let timer_armed = state.timers_set[index]
            .iter()
            .any(|t| *t == NodeTimer::SuspectLeader);
        recovered != *current || !timer_armed
    }

    /// Delivers every PROMISE addressed to a Byzantine proposer that it does not hold yet.
    fn settle(&self, mut state: LogState) -> LogState {
        loop {
            let pending = state.network.iter_deliverable().find_map(|env| {
                let LogMsg::Promise(promise) = env.msg else {
                    return None;
                };
                let Some(LogModelNodeState::Byzantine(byzantine)) =
                    state.actor_states.get(usize::from(env.dst)).map(|s| &**s)
                else {
                    return None;
                };
                if byzantine.promises.contains(promise) {
                    return None;
                }
                let deliver = ActorModelAction::Deliver {
                    src: env.src,
                    dst: env.dst,
                    msg: env.msg.clone(),
                };
                self.actors.next_state(&state, deliver)
            });
            match pending {
                Some(next) => state = next,
                None => return state,
            }
        }
    }
}

impl Model for LogModel {
    type State = LogState;
    type Action = LogAction;

    fn init_states(&self) -> Vec<LogState> {
        self.actors
            .init_states()
            .into_iter()
            .map(|s| self.settle(s))
            .collect()
    }

    fn actions(&self, state: &LogState, actions: &mut Vec<LogAction>) {
        let mut actor_actions = Vec::new();
        self.actors.actions(state, &mut actor_actions);
        actions.extend(
            actor_actions
                .into_iter()
                .filter(|action| match action {
                    ActorModelAction::Crash(id) => self.crash_matters(state, *id),
                    _ => true,
                })
                .map(LogAction::Actor),
        );
        // Only the slot at an acceptor's decided prefix: learning a later one first changes
        // nothing a PROMISE reports, and the acceptor can still learn it when its turn comes.
        for (_, slot, _) in chosen(self.cfg(), &state.history) {
            for index in 0..self.cfg().acceptors() {
                let next_to_learn = acceptor_state(state, index)
                    .is_some_and(|a| a.learner.decided_prefix() == slot);
                if next_to_learn && !state.crashed[index] {
                    actions.push(LogAction::CatchUp {
                        acceptor: Id::from(index),
                        slot,
                    });
                }
            }
        }
    }

    fn next_state(&self, last_state: &LogState, action: LogAction) -> Option<LogState> {
        match action {
            LogAction::Actor(action) => self
                .actors
                .next_state(last_state, action)
                .map(|s| self.settle(s)),
            LogAction::CatchUp { acceptor, slot } => self.catch_up(last_state, acceptor, slot),
        }
    }

    fn properties(&self) -> Vec<Property<Self>> {
        LOG_PROPERTIES
            .iter()
            .map(|p| Property {
                expectation: p.expectation.clone(),
                name: p.name,
                condition: p.condition,
            })
            .collect()
    }

    fn within_boundary(&self, state: &LogState) -> bool {
        Model::within_boundary(&self.actors, state)
    }
}
