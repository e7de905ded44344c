//! The single decree as a protocol of the model core: its actors, its ghost history, its
//! acceptors' states and its properties. The model is the core's [`ProtocolModel`], in which
//! a Byzantine proposer receives each PROMISE at once, those sent to other proposers included
//! (`models/core/settle.rs` says why that is sound).

pub use super::actor::{Action, BpfpModel, State};
use super::byzantine::ByzantineProposer;
use super::config::{LearnerMode, ModelConfig};
use super::core::model::{Properties, ProtocolModel};
use super::core::property::PropertySpec;
use super::core::protocol::{ActorAction, Protocol};
use super::core::shape::{NetworkKind, Shape};
use super::history::Ghost;
use super::properties::PROPERTIES;
use super::symbolic::SymbolicAuth;
use super::value::ModelValue;
use crate::acceptor::{Acceptor, AcceptorState, DurableState};
use crate::message::Msg;
pub use crate::models::core::model::canonical_order;
use crate::node::{Node, NodeState, Role};
use crate::proposer::Proposer;
use crate::types::{AcceptorId, ProposerId, Round};
use stateright::actor::Envelope;

impl Protocol for ModelConfig {
    type Honest = Node<ModelValue, SymbolicAuth>;
    type Byzantine = ByzantineProposer;
    type Ghost = Ghost;
    type Acceptor = AcceptorState<ModelValue>;
    type Action = Action;

    fn network(&self) -> NetworkKind {
        self.network
    }

    fn prunes_lossless_crashes(&self) -> bool {
        self.prune_lossless_crashes && self.network == NetworkKind::Duplicating
    }

    /// On the duplicating network every PROMISE sent (PROMISEs are not encrypted, so a
    /// Byzantine proposer sees those sent to others too); on the other networks a delivery
    /// consumes the message, so only those addressed to it.
    fn byzantine_sees_all(&self) -> bool {
        self.network == NetworkKind::Duplicating
    }

    fn acceptor_agent(&self, id: AcceptorId) -> Honest {
        self.honest(Role::Acceptor(Acceptor {
            id,
            cluster: self.cluster(),
            rules: self.rules(),
            auth: SymbolicAuth,
        }))
    }

    fn proposer_agent(&self, id: ProposerId) -> Honest {
        self.honest(Role::Proposer(Proposer {
            id,
            cluster: self.cluster(),
            rules: self.rules(),
            client_value: self.client_value(id),
        }))
    }

    fn byzantine_agent(&self, id: ProposerId) -> ByzantineProposer {
        ByzantineProposer::new(self, id)
    }

    fn learner_agent(&self) -> Option<Honest> {
        (self.learners != LearnerMode::Abstract).then(|| self.honest(Role::Learner(self.rules())))
    }

    fn record_sent(&self, ghost: &Ghost, env: Envelope<&Msg<ModelValue>>) -> Option<Ghost> {
        Ghost::record_sent(self, ghost, env)
    }

    fn acceptor(state: &NodeState<ModelValue>) -> Option<&AcceptorState<ModelValue>> {
        match state {
            NodeState::Acceptor(a) => Some(a),
            _ => None,
        }
    }

    fn round_of(acceptor: &AcceptorState<ModelValue>) -> Round {
        acceptor.rnd
    }

    fn recover(storage: Option<&DurableState<ModelValue>>) -> AcceptorState<ModelValue> {
        storage.map_or_else(AcceptorState::initial, AcceptorState::recover)
    }

    fn lift(action: ActorAction<Self>) -> Action {
        action
    }

    fn as_actor(action: &Action) -> Option<&ActorAction<Self>> {
        Some(action)
    }

    fn into_actor(action: Action) -> Result<ActorAction<Self>, Action> {
        Ok(action)
    }
}

impl Properties for ModelConfig {
    fn properties() -> &'static [PropertySpec<BpfpModel, ModelConfig>] {
        PROPERTIES
    }
}

/// An honest agent of the single decree.
type Honest = Node<ModelValue, SymbolicAuth>;

impl ModelConfig {
    /// An honest agent in `role`, placed in this configuration's topology.
    fn honest(&self, role: Role<ModelValue, SymbolicAuth>) -> Honest {
        Node {
            role,
            topology: self.topology(),
        }
    }

    /// The stateright model of this configuration, with its properties.
    pub fn into_model(self) -> BpfpModel {
        ProtocolModel::new(self)
    }
}
