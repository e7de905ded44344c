//! The checked model: stateright's actor model of the configuration, in which a Byzantine
//! proposer receives each PROMISE at once, those sent to other proposers included.
//!
//! Why that is sound: the Byzantine proposer is eager (it answers a PROMISE by sending every
//! ACCEPT it can build, whatever the order of arrival), its delivery disables no other step,
//! and on a network where messages are never taken back, sending more earlier only adds
//! choices. Every state of the plain actor model is matched by a state reached here with the
//! same honest agents and the same votes and PROMISEs, and the Byzantine proposer holding at
//! least the same PROMISEs. What is skipped are the states in which a PROMISE to it is still
//! in flight, which multiply the space without adding any acceptor behaviour.

use super::actor::{ModelNode, ModelNodeState};
use super::config::ModelConfig;
use super::config::NetworkKind;
use super::history::Ghost;
use super::properties::PROPERTIES;
use super::value::ModelValue;
use crate::acceptor::AcceptorState;
use crate::message::Msg;
use crate::node::{NodeState, NodeTimer};
use stateright::actor::{ActorModel, ActorModelAction, ActorModelState, Id};
use stateright::{Model, Property};

pub type State = ActorModelState<ModelNode, Ghost>;
pub type Action = ActorModelAction<Msg<ModelValue>, NodeTimer, ()>;

/// The model of one configuration.
#[derive(Clone)]
pub struct BpfpModel {
    pub actors: ActorModel<ModelNode, ModelConfig, Ghost>,
    /// List only actions that lead somewhere, in one canonical order. stateright's
    /// simulation records a walk as action indices and replays it on fresh action lists, which
    /// works only if equal states list the same actions in the same order and no listed
    /// action is ignored (it drops those from its list while walking). Exhaustive search
    /// matches actions by fingerprint and is faster without this.
    pub replayable_actions: bool,
}

impl BpfpModel {
    pub fn cfg(&self) -> &ModelConfig {
        &self.actors.cfg
    }

    /// Whether crashing actor `id` can lead anywhere new. Only acceptors crash (a crashed
    /// proposer is a silent one, which a Byzantine proposer can be anyway and an honest one
    /// is not meant to be). With crash pruning on, a crash is also left out when the acceptor
    /// would lose nothing by it: on a duplicating network such a crash is a pause that an
    /// acceptor which is sent nothing for a while already shows, and its recovery restores
    /// the very state it crashed in (see CHECKING.md, "Crashes that lose nothing").
    fn crash_matters(&self, state: &State, id: Id) -> bool {
        let index = usize::from(id);
        let Some(ModelNodeState::Honest(NodeState::Acceptor(acceptor))) =
            state.actor_states.get(index).map(|s| &**s)
        else {
            return false;
        };
        let cfg = self.cfg();
        if !cfg.prune_lossless_crashes || cfg.network != NetworkKind::Duplicating {
            return true;
        }
        let recovered = match &state.actor_storages[index] {
            Some(durable) => AcceptorState::recover(durable),
            None => AcceptorState::initial(),
        };
        let timer_armed = state.timers_set[index]
            .iter()
            .any(|t| *t == NodeTimer::SuspectLeader);
        recovered != *acceptor || !timer_armed
    }

    /// Shows every Byzantine proposer every PROMISE it does not hold yet: on the duplicating
    /// network every PROMISE sent (PROMISEs are not encrypted, so a Byzantine proposer sees
    /// those sent to others too), on the other networks those addressed to it (a delivery
    /// there consumes the message, so another proposer's copy cannot be shown).
    fn settle(&self, mut state: State) -> State {
        let sees_all = self.cfg().network == NetworkKind::Duplicating;
        let byzantine: Vec<Id> = self
            .actors
            .actors
            .iter()
            .enumerate()
            .filter(|(_, actor)| matches!(actor, ModelNode::Byzantine(_)))
            .map(|(i, _)| Id::from(i))
            .collect();
        loop {
            let pending = state.network.iter_deliverable().find_map(|env| {
                let Msg::Promise(promise) = env.msg else {
                    return None;
                };
                byzantine
                    .iter()
                    .filter(|b| sees_all || **b == env.dst)
                    .find_map(|b| {
                        let Some(ModelNodeState::Byzantine(byz)) =
                            state.actor_states.get(usize::from(*b)).map(|s| &**s)
                        else {
                            return None;
                        };
                        if byz.promises.contains(promise) {
                            return None;
                        }
                        let deliver = ActorModelAction::Deliver {
                            src: env.src,
                            dst: *b,
                            msg: env.msg.clone(),
                        };
                        self.actors.next_state(&state, deliver)
                    })
            });
            match pending {
                Some(next) => state = next,
                None => return state,
            }
        }
    }
}

/// Deliveries by (source, destination, message), then drops likewise, then the other
/// actions (timeouts, whose set of timers has no fixed order either, and crashes).
pub fn canonical_order(a: &Action, b: &Action) -> std::cmp::Ordering {
    type Envelope<'a> = (usize, usize, &'a Msg<ModelValue>);
    fn key(action: &Action) -> (u8, Option<Envelope<'_>>) {
        match action {
            ActorModelAction::Deliver { src, dst, msg } => {
                (0, Some((usize::from(*src), usize::from(*dst), msg)))
            }
            ActorModelAction::Drop(e) => {
                (1, Some((usize::from(e.src), usize::from(e.dst), &e.msg)))
            }
            _ => (2, None),
        }
    }
    key(a)
        .cmp(&key(b))
        .then_with(|| format!("{a:?}").cmp(&format!("{b:?}")))
}

impl Model for BpfpModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        self.actors
            .init_states()
            .into_iter()
            .map(|s| self.settle(s))
            .collect()
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        self.actors.actions(state, actions);
        actions.retain(|action| match action {
            ActorModelAction::Crash(id) => self.crash_matters(state, *id),
            _ => true,
        });
        if self.replayable_actions {
            actions.retain(|a| self.next_state(state, a.clone()).is_some());
            actions.sort_by(canonical_order);
        }
    }

    fn next_state(&self, last_state: &State, action: Action) -> Option<State> {
        self.actors
            .next_state(last_state, action)
            .map(|s| self.settle(s))
    }

    fn format_action(&self, action: &Action) -> String {
        self.actors.format_action(action)
    }

    fn format_step(&self, last_state: &State, action: Action) -> Option<String> {
        self.actors.format_step(last_state, action)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        PROPERTIES
            .iter()
            .map(|p| Property {
                expectation: p.expectation.clone(),
                name: p.name,
                condition: p.condition,
            })
            .collect()
    }

    fn within_boundary(&self, state: &State) -> bool {
        Model::within_boundary(&self.actors, state)
    }
}
