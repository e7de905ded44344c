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
use super::config::{CatchUp, Config, SlotValue};
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
use crate::models::core::settle::settle_after;
use crate::models::core::shape::{NetworkKind, Shape};
use crate::models::symbolic::SymbolicAuth;
use crate::models::value::ModelValue;
use crate::node::NodeTimer;
use crate::types::{AcceptorId, ProposerId, Round};
use stateright::Model as _;
use stateright::actor::{ActorModelAction, Envelope, Id};
use std::collections::BTreeSet;
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
            Action::CatchUp { .. } | Action::LearnThen { .. } => None,
        }
    }

    fn into_actor(action: Action) -> Result<ActorAction, Action> {
        match action {
            Action::Actor(action) => Ok(action),
            own => Err(own),
        }
    }

    /// With [`CatchUp::OnDemand`], state transfer only together with a step of the acceptor
    /// that reads what it learns ([`Config::learn_on_demand`]). Otherwise only the slot at an
    /// acceptor's decided prefix (learning a later one first changes nothing a PROMISE
    /// reports, and the acceptor can still learn it when its turn comes), and only to an
    /// acceptor whose learner something can still read ([`Config::catch_up_observable`]).
    fn own_actions(&self, _actors: &Actors<Self>, state: &State, actions: &mut Vec<Action>) {
        if self.catch_up_mode() == CatchUp::OnDemand {
            self.learn_on_demand(state, actions);
            return;
        }
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
        match action {
            Action::CatchUp { acceptor, slot } => {
                self.caught_up(actors, state, usize::from(acceptor), slot)
            }
            Action::LearnThen {
                acceptor,
                slots,
                step,
            } => {
                let index = usize::from(acceptor);
                let before = acceptor_state(state, index)?;
                let window_end = before.learner.decided_prefix().saturating_add(self.slots);
                let mut learned = state.clone();
                for _ in 0..slots {
                    let slot = acceptor_state(&learned, index)?.learner.decided_prefix();
                    learned = self.caught_up(actors, &learned, index, slot)?;
                }
                let promises = learned.history.promises.len();
                let widened = window_end..window_end.saturating_add(slots);
                let reads_window = match &step {
                    ActorModelAction::Deliver { msg, .. } => {
                        slots_named(msg).any(|slot| widened.contains(&slot))
                    }
                    _ => false,
                };
                let next = actors.next_state(&learned, step)?;
                let next = settle_after(actors, &learned, next);
                // Only if the step read what was learned: otherwise the same step without
                // the state transfer reaches this state but for the learner (see
                // `learn_on_demand`).
                (reads_window || next.history.promises.len() > promises).then_some(next)
            }
            Action::Actor(_) => None,
        }
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

    /// The mode of state transfer the model runs: [`CatchUp::OnDemand`] needs an acceptor's
    /// learner to be read only when it sends a PROMISE or meets its window, so with a bound
    /// on open votes (which reads it at every vote) it falls back to [`CatchUp::Postponed`].
    pub fn catch_up_mode(&self) -> CatchUp {
        match self.catch_up {
            CatchUp::OnDemand if self.max_open_vote_bytes.is_some() => CatchUp::Postponed,
            mode => mode,
        }
    }

    /// The acceptor at `index` in `state` learns chosen slot `slot` from another replica.
    fn caught_up(
        &self,
        actors: &Actors<Self>,
        state: &State,
        index: usize,
        slot: Slot,
    ) -> Option<State> {
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

    /// State transfer on demand: an acceptor learns chosen slots only in the step that reads
    /// its learner. Nothing but its own steps reads it (its decisions are chosen values,
    /// which agreement and "logs are prefixes" already judge on `chosen`), and of those only
    /// a trust change (the PROMISE reports its decided prefix and the votes above it) and an
    /// ACCEPT at or beyond the end of its window (`s ≥ d + window`). Every other step does
    /// the same whatever it learned, so learning commutes with it and can wait; crashed, it
    /// learns nothing, and on recovery its learner starts afresh anyway. So for every
    /// acceptor, every number `k` of chosen slots it can learn in order from its decided
    /// prefix, and every step of it that may read its learner (its timeout, a TRUSTCHANGE to
    /// a higher round, an ACCEPT or NEWROUND of its round, which may show an equivocation or
    /// an invalid proof, or one naming a slot beyond its window), one action learns the `k`
    /// slots and then takes the step; it leads nowhere unless the step sent a PROMISE or met
    /// the slots the learning added to the window. Every state of the unreduced model is
    /// matched by one reached here that differs only in acceptors having learned less.
    fn learn_on_demand(&self, state: &State, actions: &mut Vec<Action>) {
        let chosen_slots: BTreeSet<Slot> = chosen(self, &state.history)
            .into_iter()
            .map(|(_, slot, _)| slot)
            .collect();
        if chosen_slots.is_empty() {
            return;
        }
        for index in 0..self.acceptors() {
            if state.crashed[index] {
                continue;
            }
            let Some(a) = acceptor_state(state, index) else {
                continue;
            };
            let d = a.learner.decided_prefix();
            let learnable = (d..).take_while(|s| chosen_slots.contains(s)).count() as Slot;
            if learnable == 0 {
                continue;
            }
            let id = Id::from(index);
            let mut steps = Vec::new();
            let suspects = state.timers_set[index]
                .iter()
                .any(|t| *t == NodeTimer::SuspectLeader);
            if a.rnd < self.max_round && suspects {
                steps.push(ActorModelAction::Timeout(id, NodeTimer::SuspectLeader));
            }
            for env in state.network.iter_deliverable() {
                if env.dst == id && self.may_read_learner(a, env.msg) {
                    steps.push(ActorModelAction::Deliver {
                        src: env.src,
                        dst: id,
                        msg: env.msg.clone(),
                    });
                }
            }
            for slots in 1..=learnable {
                for step in &steps {
                    actions.push(Action::LearnThen {
                        acceptor: id,
                        slots,
                        step: step.clone(),
                    });
                }
            }
        }
    }

    /// Whether `msg`, delivered to `acceptor`, may make it read its learner: a trust change
    /// (a TRUSTCHANGE to a higher round within the bounds; an ACCEPT or NEWROUND of its own
    /// round, whose equivocation or invalid proof is evidence) or a slot at or beyond its
    /// window. An over-approximation: [`Protocol::own_next_state`] keeps only the steps that
    /// did read it.
    fn may_read_learner(
        &self,
        acceptor: &LogAcceptorState<SlotValue>,
        msg: &LogMsg<SlotValue>,
    ) -> bool {
        let window_end = acceptor.learner.decided_prefix().saturating_add(self.slots);
        let far = slots_named(msg).any(|slot| slot >= window_end);
        match msg {
            LogMsg::TrustChange { round } => acceptor.rnd < *round && *round <= self.max_round,
            LogMsg::Accept {
                round, slot, value, ..
            }
            | LogMsg::AcceptByDigest {
                round, slot, value, ..
            } => {
                let equivocation = acceptor
                    .votes
                    .get(slot)
                    .is_some_and(|v| v.round == *round && v.value != *value);
                *round >= acceptor.rnd
                    && (far || (*round == acceptor.rnd && (*round > 0 || equivocation)))
            }
            LogMsg::NewRound { round, .. } => {
                *round >= acceptor.rnd && (far || *round == acceptor.rnd)
            }
            LogMsg::Promise(_) | LogMsg::Learn { .. } => false,
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
        if self.catch_up == CatchUp::Every
            || self.max_open_vote_bytes.is_some()
            || acceptor.rnd < self.max_round
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
