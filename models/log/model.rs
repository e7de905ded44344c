//! The replicated log as a protocol of the model core: its actors, its ghost history, its
//! acceptors' states and properties, and one action of its own: an acceptor learns a chosen
//! slot by state transfer (`CatchUp`). A Byzantine proposer receives each PROMISE sent to it
//! at once, as in the single decree.
//!
//! Why `CatchUp` is sound: with abstract learners nobody decides from LEARNs, yet PROMISEs
//! must report decided prefixes for slots to close. A slot is decided only if it is chosen,
//! and a replica may receive it by state transfer at any time after that, so letting any
//! acceptor learn any chosen slot at any moment over-approximates when real learners and
//! state transfer would teach it.

pub use super::actor::{Action, Model, State};
use super::actor::{ActorAction, ModelNode, ModelNodeState};
use super::byzantine::ByzantineProposer;
use super::config::{Config, SlotValue};
use super::history::Ghost;
use super::properties::{PROPERTIES, Property, chosen};
use crate::learner::Decision;
use crate::log::Slot;
use crate::log::acceptor::{LogAcceptor, LogAcceptorState, LogDurableState};
use crate::log::message::LogMsg;
use crate::log::node::{LogNode, LogNodeState, LogRole};
use crate::log::proposer::LogProposer;
use crate::models::core::model::{Properties, ProtocolModel};
use crate::models::core::protocol::{Actors, Protocol};
use crate::models::core::shape::{NetworkKind, Shape};
use crate::models::symbolic::SymbolicAuth;
use crate::models::value::ModelValue;
use crate::types::{AcceptorId, ProposerId, Round};
use stateright::actor::{Envelope, Id};
use std::sync::Arc;

/// The state of acceptor `index`, if it is one.
pub fn acceptor_state(state: &State, index: usize) -> Option<&LogAcceptorState<SlotValue>> {
    match state.actor_states.get(index).map(|s| &**s) {
        Some(ModelNodeState::Honest(LogNodeState::Acceptor(a))) => Some(a),
        _ => None,
    }
}

/// The decision a replica would transfer for `slot`: the value chosen in its lowest round.
fn chosen_in(cfg: &Config, state: &State, slot: Slot) -> Option<Decision<SlotValue>> {
    chosen(cfg, &state.history)
        .into_iter()
        .find(|(_, s, _)| *s == slot)
        .map(|(round, _, value)| Decision { round, value })
}

impl Protocol for Config {
    type Honest = LogNode<ModelValue, SymbolicAuth>;
    type Byzantine = ByzantineProposer;
    type Ghost = Ghost;
    type Acceptor = LogAcceptorState<SlotValue>;
    type Action = Action;

    /// Unordered and duplicating: a set of messages that only grows, as in TLA+.
    fn network(&self) -> NetworkKind {
        NetworkKind::Duplicating
    }

    fn prunes_lossless_crashes(&self) -> bool {
        true
    }

    /// Only PROMISEs addressed to it: those of the rounds it leads.
    fn byzantine_sees_all(&self) -> bool {
        false
    }

    fn acceptor_agent(&self, id: AcceptorId) -> Honest {
        self.honest(LogRole::Acceptor(LogAcceptor {
            id,
            cluster: self.cluster(),
            rules: self.rules(),
            auth: SymbolicAuth,
            // `catch_up_observable` reads the window as this.
            window: self.slots,
            limits: self.vote_limits(),
        }))
    }

    fn proposer_agent(&self, id: ProposerId) -> Honest {
        self.honest(LogRole::Proposer(LogProposer {
            id,
            cluster: self.cluster(),
            rules: self.rules(),
            batches: vec![self.client_value(id)],
        }))
    }

    fn byzantine_agent(&self, id: ProposerId) -> ByzantineProposer {
        ByzantineProposer::new(self, id)
    }

    fn learner_agent(&self) -> Option<Honest> {
        self.client_learner
            .then(|| self.honest(LogRole::Learner(self.rules())))
    }

    fn record_sent(&self, ghost: &Ghost, env: Envelope<&LogMsg<SlotValue>>) -> Option<Ghost> {
        Ghost::record_sent(self, ghost, env)
    }

    fn acceptor(state: &LogNodeState<ModelValue>) -> Option<&LogAcceptorState<SlotValue>> {
        match state {
            LogNodeState::Acceptor(a) => Some(a),
            _ => None,
        }
    }

    fn round_of(acceptor: &LogAcceptorState<SlotValue>) -> Round {
        acceptor.rnd
    }

    fn recover(storage: Option<&LogDurableState<SlotValue>>) -> LogAcceptorState<SlotValue> {
        storage.map_or_else(LogAcceptorState::initial, LogAcceptorState::recover)
    }

    fn lift(action: ActorAction) -> Action {
        Action::Actor(action)
    }

    fn as_actor(action: &Action) -> Option<&ActorAction> {
        match action {
            Action::Actor(action) => Some(action),
            Action::CatchUp { .. } => None,
        }
    }

    fn into_actor(action: Action) -> Result<ActorAction, Action> {
        match action {
            Action::Actor(action) => Ok(action),
            own => Err(own),
        }
    }

    /// Only the slot at an acceptor's decided prefix: learning a later one first changes
    /// nothing a PROMISE reports, and the acceptor can still learn it when its turn comes.
    /// Only to an acceptor whose learner something can still read ([`Config::catch_up_observable`]).
    fn own_actions(&self, _actors: &Actors<Self>, state: &State, actions: &mut Vec<Action>) {
        for (_, slot, _) in chosen(self, &state.history) {
            for index in 0..self.acceptors() {
                let next_to_learn = acceptor_state(state, index).is_some_and(|a| {
                    a.learner.decided_prefix() == slot && self.catch_up_observable(state, a)
                });
                if next_to_learn && !state.crashed[index] {
                    actions.push(Action::CatchUp {
                        acceptor: Id::from(index),
                        slot,
                    });
                }
            }
        }
    }

    fn own_next_state(
        &self,
        actors: &Actors<Self>,
        state: &State,
        action: Action,
    ) -> Option<State> {
        let Action::CatchUp { acceptor, slot } = action else {
            return None;
        };
        let index = usize::from(acceptor);
        if state.crashed[index] {
            return None;
        }
        let current = acceptor_state(state, index)?;
        let ModelNode::Honest(node) = &actors.actors[index] else {
            return None;
        };
        let LogRole::Acceptor(role) = &node.role else {
            return None;
        };
        let decision = chosen_in(self, state, slot)?;
        let step = role.catch_up(current, slot, &decision)?;
        let mut next = state.clone();
        next.actor_states[index] =
            Arc::new(ModelNodeState::Honest(LogNodeState::Acceptor(step.state)));
        Some(next)
    }
}

/// An honest agent of the log.
type Honest = LogNode<ModelValue, SymbolicAuth>;

impl Config {
    /// An honest agent in `role`, placed in this configuration's topology.
    fn honest(&self, role: LogRole<ModelValue, SymbolicAuth>) -> Honest {
        LogNode {
            role,
            topology: self.topology(),
        }
    }

    /// Whether what `acceptor` learns now can change what it does later. Its learner is read
    /// by nothing but the PROMISEs it sends (their decided prefix and the votes above it),
    /// its vote gate's slot window and the bound on open votes (when set). An acceptor in
    /// the highest round sends no more PROMISEs (a trust change beyond it is out of bounds);
    /// its window reads the learner only for an ACCEPT of a slot at or beyond its end, so
    /// without one in flight (and no bound on open votes) what it learns is seen by no one.
    /// Learning is postponed, not lost: the slot stays chosen, and the acceptor may learn it
    /// as soon as such an ACCEPT is sent. Its decisions are chosen values, which agreement and
    /// "logs are prefixes" already judge on `chosen`.
    pub fn catch_up_observable(
        &self,
        state: &State,
        acceptor: &LogAcceptorState<SlotValue>,
    ) -> bool {
        if self.idle_catch_up || self.max_open_vote_bytes.is_some() || acceptor.rnd < self.max_round
        {
            return true;
        }
        let window_end = acceptor.learner.decided_prefix().saturating_add(self.slots);
        state
            .network
            .iter_all()
            .any(|env| slots_named(env.msg).any(|slot| slot >= window_end))
    }
}

/// The slots an ACCEPT, a NEWROUND's ACCEPTs or an ACCEPT by digest asks a vote in.
fn slots_named(msg: &LogMsg<SlotValue>) -> Box<dyn Iterator<Item = Slot> + '_> {
    match msg {
        LogMsg::Accept { slot, .. } | LogMsg::AcceptByDigest { slot, .. } => {
            Box::new(std::iter::once(*slot))
        }
        LogMsg::NewRound { accepts, .. } => Box::new(accepts.iter().map(|(slot, _)| *slot)),
        _ => Box::new(std::iter::empty()),
    }
}

impl Properties for Config {
    fn properties() -> &'static [Property] {
        PROPERTIES
    }
}

impl Config {
    /// The stateright model of this configuration, with its properties.
    pub fn into_model(self) -> Model {
        ProtocolModel::new(self)
    }
}
