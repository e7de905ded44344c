//! A model configuration: the cluster, which proposers are Byzantine, the bounds, the network,
//! the learners and the variant; and the stateright model it builds.

use super::actor::ModelNode;
use super::byzantine::ByzantineProposer;
use super::history::Ghost;
use super::model::BpfpModel;
use super::properties;
use super::symbolic::SymbolicAuth;
use super::value::ModelValue;
use super::variant::Variant;
use crate::acceptor::Acceptor;
use crate::node::{Node, Role, Topology};
use crate::proposer::Proposer;
use crate::rules::Rules;
use crate::types::{Cluster, ProposerId, Round};
use serde::{Deserialize, Serialize};
use stateright::actor::{ActorModel, Id, LossyNetwork, Network, model_timeout};
use std::fmt;

/// How the network treats messages. All of them may lose and reorder messages (an undelivered
/// message is a lost one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NetworkKind {
    /// Unordered, and may deliver a message any number of times (a set that only grows, as in
    /// TLA+).
    Duplicating,
    /// Unordered, each message delivered at most once.
    NonDuplicating,
    /// FIFO per ordered pair of actors, each message delivered at most once.
    Ordered,
}

impl NetworkKind {
    pub const ALL: [NetworkKind; 3] = [
        NetworkKind::Duplicating,
        NetworkKind::NonDuplicating,
        NetworkKind::Ordered,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NetworkKind::Duplicating => "duplicating",
            NetworkKind::NonDuplicating => "non-duplicating",
            NetworkKind::Ordered => "ordered",
        }
    }
}

/// Who learns from LEARN messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LearnerMode {
    /// Nobody: agreement is judged on what is chosen (Voting.tla's `chosen`, computed from every
    /// vote cast), which every learner's decision must be. Trust changes come from the
    /// non-deterministic timeout, which covers every trust change a learner could cause.
    Abstract,
    /// One learner outside the cluster (the client).
    Client,
    /// Every acceptor and the client, as in the protocol: acceptors detect equivocation
    /// through LEARNs and change trust.
    Acceptors,
}

impl LearnerMode {
    pub const ALL: [LearnerMode; 3] = [
        LearnerMode::Abstract,
        LearnerMode::Client,
        LearnerMode::Acceptors,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LearnerMode::Abstract => "abstract",
            LearnerMode::Client => "client",
            LearnerMode::Acceptors => "acceptors",
        }
    }
}

/// How much of the Byzantine proposer's menu is sent (see [`super::byzantine`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Menu {
    /// ACCEPTs whose proof the acceptors reject are left out: the ACCEPT with no proof
    /// stands for them all.
    Pruned,
    /// Every message of the menu.
    Full,
}

impl Menu {
    pub fn name(self) -> &'static str {
        match self {
            Menu::Pruned => "pruned",
            Menu::Full => "full",
        }
    }
}

/// What the model checker explores.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Acceptor crashes tolerated; `n = 3f + 1`.
    pub f: usize,
    /// The number of proposers `m`; `leader(r) = p_{r mod m}`.
    pub proposers: usize,
    /// The Byzantine proposers; the others are honest.
    pub byzantine: Vec<ProposerId>,
    /// Rounds `0..=max_round` are explored.
    pub max_round: Round,
    /// The number of values clients propose (`A`, `B`, …); proposer `p_i` serves client
    /// `i mod client_values`.
    pub client_values: usize,
    /// Whether the value `Z`, which no client proposed, is in the domain.
    pub unproposed_value: bool,
    /// How many acceptors may be crashed at once (they may recover from durable state).
    pub max_crashes: usize,
    pub network: NetworkKind,
    pub learners: LearnerMode,
    /// A deliberately broken protocol, or `None` for BP Fast Paxos.
    pub variant: Option<Variant>,
    pub menu: Menu,
    /// Leave out acceptor crashes that lose nothing (see [`BpfpModel`]'s `crash_matters`).
    pub prune_lossless_crashes: bool,
}

impl Default for ModelConfig {
    /// The default configuration: f = 1 (4 acceptors), `p0` (leader of rounds 0 and 2)
    /// Byzantine, `p1` (leader of round 1) honest, rounds 0..2, values A and B and the
    /// unproposed Z, one crash, a duplicating network, abstract learners.
    fn default() -> Self {
        ModelConfig {
            f: 1,
            proposers: 2,
            byzantine: vec![ProposerId(0)],
            max_round: 2,
            client_values: 2,
            unproposed_value: true,
            max_crashes: 1,
            network: NetworkKind::Duplicating,
            learners: LearnerMode::Abstract,
            variant: None,
            menu: Menu::Pruned,
            prune_lossless_crashes: true,
        }
    }
}

impl ModelConfig {
    pub fn cluster(&self) -> Cluster {
        Cluster::new(self.f, self.proposers)
    }

    /// The rules the acceptors follow (BP Fast Paxos unless a variant breaks them).
    pub fn rules(&self) -> Rules {
        let rules = Rules::standard(self.f);
        match self.variant {
            Some(v) => v.apply(rules),
            None => rules,
        }
    }

    /// The size of a real quorum, `2f + 1`: what "chosen" means, whatever the variant.
    pub fn quorum(&self) -> usize {
        2 * self.f + 1
    }

    pub fn acceptors(&self) -> usize {
        self.cluster().acceptors()
    }

    pub fn is_byzantine(&self, p: ProposerId) -> bool {
        self.byzantine.contains(&p)
    }

    /// The value domain.
    pub fn values(&self) -> Vec<ModelValue> {
        let mut values: Vec<_> = (0..self.client_values as u8)
            .map(ModelValue::Client)
            .collect();
        if self.unproposed_value {
            values.push(ModelValue::Unproposed);
        }
        values
    }

    /// The value of the client that proposer `p` serves.
    pub fn client_value(&self, p: ProposerId) -> ModelValue {
        ModelValue::Client((usize::from(p.0) % self.client_values.max(1)) as u8)
    }

    /// Whether some Byzantine proposer leads a round in `rounds`.
    pub fn byzantine_leads_in(&self, rounds: std::ops::RangeInclusive<Round>) -> bool {
        let cluster = self.cluster();
        rounds
            .into_iter()
            .any(|r| self.is_byzantine(cluster.leader(r)))
    }

    /// The id of the client learner, or of the sink that stands for "the learners" when they
    /// are abstract (no actor: LEARNs sent there are only recorded).
    pub fn learner_id(&self) -> Id {
        Id::from(self.acceptors() + self.proposers)
    }

    /// Checks the configuration; the message says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.f == 0 {
            return Err("f must be at least 1".into());
        }
        if self.f > 3 {
            return Err("f above 3 (more than 10 acceptors) is out of reach".into());
        }
        if self.proposers == 0 {
            return Err("at least one proposer is needed".into());
        }
        if let Some(p) = self
            .byzantine
            .iter()
            .find(|p| usize::from(p.0) >= self.proposers)
        {
            return Err(format!("Byzantine proposer {p} does not exist"));
        }
        if self.client_values == 0 || self.client_values > 26 {
            return Err("between 1 and 26 client values".into());
        }
        if self.max_crashes > self.f {
            return Err(format!(
                "at most f = {} crashes are tolerated, not {}",
                self.f, self.max_crashes
            ));
        }
        Ok(())
    }

    fn topology(&self) -> Topology {
        let mut learners = vec![self.learner_id()];
        if self.learners == LearnerMode::Acceptors {
            learners.extend((0..self.acceptors()).map(Id::from));
        }
        Topology {
            cluster: self.cluster(),
            learners,
            suspect_after: model_timeout(),
        }
    }

    /// The actors: acceptors, proposers, then the client learner if there is one.
    pub fn actors(&self) -> Vec<ModelNode> {
        let topology = self.topology();
        let cluster = self.cluster();
        let rules = self.rules();
        let mut actors = Vec::new();
        for id in cluster.acceptor_ids() {
            let acceptor = Acceptor {
                id,
                cluster,
                rules,
                auth: SymbolicAuth,
            };
            actors.push(ModelNode::Honest(Node {
                role: Role::Acceptor(acceptor),
                topology: topology.clone(),
            }));
        }
        for id in cluster.proposer_ids() {
            if self.is_byzantine(id) {
                actors.push(ModelNode::Byzantine(ByzantineProposer::new(self, id)));
            } else {
                let proposer = Proposer {
                    id,
                    cluster,
                    rules,
                    client_value: self.client_value(id),
                };
                actors.push(ModelNode::Honest(Node {
                    role: Role::Proposer(proposer),
                    topology: topology.clone(),
                }));
            }
        }
        if self.learners != LearnerMode::Abstract {
            actors.push(ModelNode::Honest(Node {
                role: Role::Learner(rules),
                topology,
            }));
        }
        actors
    }

    /// The stateright model of this configuration, with its properties.
    pub fn into_model(self) -> BpfpModel {
        let network = match self.network {
            NetworkKind::Duplicating => Network::new_unordered_duplicating([]),
            NetworkKind::NonDuplicating => Network::new_unordered_nonduplicating([]),
            NetworkKind::Ordered => Network::new_ordered([]),
        };
        // A duplicating network loses a message by never delivering it; the others need an
        // explicit drop.
        let lossy = match self.network {
            NetworkKind::Duplicating => LossyNetwork::No,
            NetworkKind::NonDuplicating | NetworkKind::Ordered => LossyNetwork::Yes,
        };
        let actors = self.actors();
        let max_crashes = self.max_crashes;
        let actors = ActorModel::new(self, Ghost::default())
            .actors(actors)
            .init_network(network)
            .lossy_network(lossy)
            .max_crashes(max_crashes)
            .record_msg_out(Ghost::record_sent)
            .within_boundary(properties::within_bounds);
        BpfpModel {
            actors,
            replayable_actions: false,
        }
    }
}

impl fmt::Display for ModelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let byz: Vec<String> = self.byzantine.iter().map(|p| p.to_string()).collect();
        let values: Vec<String> = self.values().iter().map(|v| v.to_string()).collect();
        write!(
            f,
            "f={} (n={}), proposers={} (Byzantine: {}), rounds 0..{}, values {{{}}}, \
             crashes {}{}, {} network, {} learners, {} Byzantine menu, {}",
            self.f,
            self.acceptors(),
            self.proposers,
            if byz.is_empty() {
                "none".to_string()
            } else {
                byz.join(",")
            },
            self.max_round,
            values.join(","),
            self.max_crashes,
            if self.max_crashes > 0 && self.prune_lossless_crashes {
                " (lossless ones pruned)"
            } else {
                ""
            },
            self.network.name(),
            self.learners.name(),
            self.menu.name(),
            match self.variant {
                Some(v) => format!("variant {}", v.name()),
                None => "BP Fast Paxos".to_string(),
            }
        )
    }
}
