//! The single decree as a protocol of the model core: its actors, its ghost history, its
//! acceptors' states and its properties. The model is the core's [`ProtocolModel`], in which
//! a Byzantine proposer receives each PROMISE at once, those sent to other proposers included
//! (`models/core/reductions.rs` says why that is sound).

use super::actor::ModelNode;
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
use crate::types::Round;
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

    fn agents(&self) -> Vec<ModelNode> {
        let topology = self.topology();
        let cluster = self.cluster();
        let rules = self.rules();
        let honest = |role| {
            ModelNode::Honest(Node {
                role,
                topology: topology.clone(),
            })
        };
        let mut actors = Vec::new();
        for id in cluster.acceptor_ids() {
            actors.push(honest(Role::Acceptor(Acceptor {
                id,
                cluster,
                rules,
                auth: SymbolicAuth,
            })));
        }
        for id in cluster.proposer_ids() {
            if self.is_byzantine(id) {
                actors.push(ModelNode::Byzantine(ByzantineProposer::new(self, id)));
            } else {
                actors.push(honest(Role::Proposer(Proposer {
                    id,
                    cluster,
                    rules,
                    client_value: self.client_value(id),
                })));
            }
        }
        if self.learners != LearnerMode::Abstract {
            actors.push(honest(Role::Learner(rules)));
        }
        actors
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

impl ModelConfig {
    /// The stateright model of this configuration, with its properties.
    pub fn into_model(self) -> BpfpModel {
        ProtocolModel::new(self)
    }
}
