//! A log model configuration: the cluster, the Byzantine proposers, the bounds (rounds and
//! slots), the learners and the variant; and the stateright model it builds.

use super::SlotValue;
use super::actor::LogModelNode;
use super::byzantine::LogByzantine;
use super::history::LogGhost;
use super::model::LogModel;
use super::properties;
use crate::log::Slot;
use crate::log::acceptor::{LogAcceptor, VoteLimits};
use crate::log::node::{LogNode, LogRole};
use crate::log::proposer::LogProposer;
use crate::log::value::LogValue;
use crate::models::symbolic::SymbolicAuth;
use crate::models::value::ModelValue;
use crate::models::variant::Variant;
use crate::node::Topology;
use crate::rules::Rules;
use crate::types::{Cluster, ProposerId, Round};
use serde::{Deserialize, Serialize};
use stateright::actor::{ActorModel, Id, LossyNetwork, Network, model_timeout};
use std::fmt;

/// What the model checker explores. The network is unordered and duplicating (a set of
/// messages that only grows, as in TLA+).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogModelConfig {
    /// Acceptor crashes tolerated; `n = 3f + 1`.
    pub f: usize,
    /// `m`; `leader(r) = p_{r mod m}`.
    pub proposers: usize,
    pub byzantine: Vec<ProposerId>,
    /// Rounds `0..=max_round` are explored.
    pub max_round: Round,
    /// Slots `0..slots` are explored.
    pub slots: Slot,
    /// Values of clients (`A`, `B`, …); honest `p_i` proposes client `i mod client_values`'s.
    pub client_values: usize,
    /// Whether the Byzantine proposer also sends `Z`, which no client proposed.
    pub unproposed_value: bool,
    pub max_crashes: usize,
    /// A learner outside the cluster (the client) that decides from LEARNs. Acceptors always
    /// learn chosen slots by state transfer (see [`LogModel`]).
    pub client_learner: bool,
    pub variant: Option<Variant>,
    /// The acceptors' bound on the bytes of their open votes ([`VoteLimits`]); none if
    /// `None`. With a bound they refuse some votes, which must never break a property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open_vote_bytes: Option<usize>,
}

impl Default for LogModelConfig {
    /// f = 1, `p0` (leader of round 0) Byzantine, `p1` (round 1) honest, rounds 0..1, two
    /// slots, values A, B and Z, one crash, abstract learners.
    fn default() -> Self {
        LogModelConfig {
            f: 1,
            proposers: 2,
            byzantine: vec![ProposerId(0)],
            max_round: 1,
            slots: 2,
            client_values: 2,
            unproposed_value: true,
            max_crashes: 1,
            client_learner: false,
            variant: None,
            max_open_vote_bytes: None,
        }
    }
}

impl LogModelConfig {
    pub fn cluster(&self) -> Cluster {
        Cluster::new(self.f, self.proposers)
    }

    pub fn rules(&self) -> Rules {
        let rules = Rules::standard(self.f);
        self.variant.map_or(rules, |v| v.apply(rules))
    }

    /// A real quorum, `2f + 1`: what "chosen" means, whatever the variant.
    pub fn quorum(&self) -> usize {
        2 * self.f + 1
    }

    pub fn acceptors(&self) -> usize {
        self.cluster().acceptors()
    }

    pub fn is_byzantine(&self, p: ProposerId) -> bool {
        self.byzantine.contains(&p)
    }

    /// Whether some Byzantine proposer leads a round in `rounds`.
    pub fn byzantine_leads_in(&self, rounds: std::ops::RangeInclusive<Round>) -> bool {
        let cluster = self.cluster();
        rounds
            .into_iter()
            .any(|r| self.is_byzantine(cluster.leader(r)))
    }

    /// Whether an honest proposer leads a round above 0.
    pub fn honest_leads_a_proof_round(&self) -> bool {
        let cluster = self.cluster();
        (1..=self.max_round).any(|r| !self.is_byzantine(cluster.leader(r)))
    }

    /// The values a Byzantine proposer sends.
    pub fn byzantine_values(&self) -> Vec<SlotValue> {
        let mut values: Vec<SlotValue> = (0..self.client_values as u8)
            .map(|i| LogValue::Batch(ModelValue::Client(i)))
            .collect();
        if self.unproposed_value {
            values.push(LogValue::Batch(ModelValue::Unproposed));
        }
        values
    }

    /// The batch of the client that honest proposer `p` serves.
    pub fn client_batch(&self, p: ProposerId) -> ModelValue {
        ModelValue::Client((usize::from(p.0) % self.client_values.max(1)) as u8)
    }

    /// The acceptors' bounds on votes: only the open-vote bytes, if set.
    pub fn vote_limits(&self) -> VoteLimits {
        match self.max_open_vote_bytes {
            Some(bytes) => VoteLimits {
                open_vote_bytes: bytes,
                ..VoteLimits::NONE
            },
            None => VoteLimits::NONE,
        }
    }

    /// The client learner's id (also where LEARNs go when nobody reads them).
    pub fn learner_id(&self) -> Id {
        Id::from(self.acceptors() + self.proposers)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.f == 0 || self.f > 2 {
            return Err("f must be 1 or 2 for the log".into());
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
        if self.slots == 0 || self.slots > 4 {
            return Err("between 1 and 4 slots".into());
        }
        if self.client_values == 0 || self.client_values > 26 {
            return Err("between 1 and 26 client values".into());
        }
        if self.max_crashes > self.f {
            return Err(format!("at most f = {} crashes are tolerated", self.f));
        }
        if self.variant == Some(Variant::LeakedKey) {
            return Err(
                "the log's Byzantine proposer makes up no PROMISEs: leaked-key \
                        is a single-decree variant"
                    .into(),
            );
        }
        Ok(())
    }

    /// The actors: acceptors, proposers, then the client learner if there is one.
    pub fn actors(&self) -> Vec<LogModelNode> {
        let cluster = self.cluster();
        let rules = self.rules();
        let topology = Topology {
            cluster,
            learners: vec![self.learner_id()],
            suspect_after: model_timeout(),
        };
        let node = |role| {
            LogModelNode::Honest(LogNode {
                role,
                topology: topology.clone(),
            })
        };
        let mut actors = Vec::new();
        for id in cluster.acceptor_ids() {
            actors.push(node(LogRole::Acceptor(LogAcceptor {
                id,
                cluster,
                rules,
                auth: SymbolicAuth,
                window: self.slots,
                limits: self.vote_limits(),
            })));
        }
        for id in cluster.proposer_ids() {
            if self.is_byzantine(id) {
                actors.push(LogModelNode::Byzantine(LogByzantine::new(self, id)));
            } else {
                actors.push(node(LogRole::Proposer(LogProposer {
                    id,
                    cluster,
                    rules,
                    batches: vec![self.client_batch(id)],
                })));
            }
        }
        if self.client_learner {
            actors.push(node(LogRole::Learner(rules)));
        }
        actors
    }

    pub fn into_model(self) -> LogModel {
        let actors = self.actors();
        let max_crashes = self.max_crashes;
        let actors = ActorModel::new(self, LogGhost::default())
            .actors(actors)
            .init_network(Network::new_unordered_duplicating([]))
            .lossy_network(LossyNetwork::No)
            .max_crashes(max_crashes)
            .record_msg_out(LogGhost::record_sent)
            .within_boundary(properties::within_bounds);
        LogModel { actors }
    }
}

impl fmt::Display for LogModelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let byz: Vec<String> = self.byzantine.iter().map(|p| p.to_string()).collect();
        let values: Vec<String> = self
            .byzantine_values()
            .iter()
            .map(|v| v.to_string())
            .collect();
        write!(
            f,
            "replicated log: f={} (n={}), proposers={} (Byzantine: {}), rounds 0..{}, slots 0..{}, \
             values {{{}}}, crashes {}, duplicating network, {} learners, {}",
            self.f,
            self.acceptors(),
            self.proposers,
            if byz.is_empty() {
                "none".to_string()
            } else {
                byz.join(",")
            },
            self.max_round,
            self.slots - 1,
            values.join(","),
            self.max_crashes,
            if self.client_learner {
                "client"
            } else {
                "abstract"
            },
            match self.variant {
                Some(v) => format!("variant {}", v.name()),
                None => "BP Fast Paxos".to_string(),
            }
        )?;
        match self.max_open_vote_bytes {
            Some(bytes) => write!(f, ", open votes of at most {bytes} bytes"),
            None => Ok(()),
        }
    }
}
