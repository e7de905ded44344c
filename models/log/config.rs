//! A log model configuration: the cluster, the Byzantine proposers, the bounds (rounds and
//! slots), the learners and the variant.

use crate::log::Slot;
use crate::log::acceptor::VoteLimits;
use crate::log::value::LogValue;
use crate::models::core::shape::{Shape, shape_from_fields, with_shared_defaults};
use crate::models::value::ModelValue;
use crate::models::variant::Variant;
use crate::node::Topology;
use crate::types::{ProposerId, Round};
use serde::{Deserialize, Serialize};
use stateright::actor::model_timeout;
use std::fmt;

/// What a slot holds in the model: a client's value `A, B, …`, `Z`, or a no-op.
pub type SlotValue = LogValue<ModelValue>;

/// What the model checker explores. The network is unordered and duplicating (a set of
/// messages that only grows, as in TLA+).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Config {
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
    /// learn chosen slots by state transfer (see [`super::model`]).
    pub client_learner: bool,
    pub variant: Option<Variant>,
    /// The acceptors' bound on the bytes of their open votes ([`VoteLimits`]); none if
    /// `None`. With a bound they refuse some votes, which must never break a property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open_vote_bytes: Option<usize>,
    /// When acceptors learn chosen slots by state transfer: the reduction the model makes
    /// (see [`super::model`]), or none.
    #[serde(default, skip_serializing_if = "CatchUp::is_default")]
    pub catch_up: CatchUp,
}

/// When the model lets an acceptor learn a chosen slot by state transfer. Each mode reaches
/// the same states once the learners of acceptors are left out (`tests/log_model_check.rs`),
/// and what it learns is read only by its own later steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CatchUp {
    /// At any time, whenever a slot at its decided prefix is chosen: the unreduced model.
    Every,
    /// At any time, but to an acceptor in the highest round only while an ACCEPT in flight
    /// names a slot at or beyond its window (`Config::catch_up_observable`).
    Postponed,
    /// Only together with a step of the acceptor that reads what it learned: one that sends
    /// a PROMISE or takes an ACCEPT at or beyond its window (`Config::reads_learner`).
    #[default]
    OnDemand,
}

impl CatchUp {
    pub const ALL: [CatchUp; 3] = [CatchUp::Every, CatchUp::Postponed, CatchUp::OnDemand];

    pub fn name(self) -> &'static str {
        match self {
            CatchUp::Every => "every",
            CatchUp::Postponed => "postponed",
            CatchUp::OnDemand => "on-demand",
        }
    }

    fn is_default(&self) -> bool {
        *self == CatchUp::default()
    }
}

impl Default for Config {
    /// f = 1, `p0` (leader of round 0) Byzantine, `p1` (round 1) honest, rounds 0..1, two
    /// slots, values A, B and Z, one crash, abstract learners.
    fn default() -> Self {
        with_shared_defaults!(Config {
            max_round: 1,
            slots: 2,
            client_learner: false,
            max_open_vote_bytes: None,
            catch_up: CatchUp::default(),
        })
    }
}

shape_from_fields!(Config);

impl Config {
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

    /// Where the agents are: LEARNs go to the client learner (or its sink).
    pub fn topology(&self) -> Topology {
        Topology {
            cluster: self.cluster(),
            learners: vec![self.learner_id()],
            suspect_after: model_timeout(),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        self.validate_shape(2)?;
        if self.slots == 0 || self.slots > 4 {
            return Err("between 1 and 4 slots".into());
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
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
            self.byzantine_names(),
            self.max_round,
            self.slots - 1,
            values.join(","),
            self.max_crashes,
            if self.client_learner {
                "client"
            } else {
                "abstract"
            },
            self.protocol_name()
        )?;
        if let Some(bytes) = self.max_open_vote_bytes {
            write!(f, ", open votes of at most {bytes} bytes")?;
        }
        match self.catch_up {
            CatchUp::OnDemand => Ok(()),
            mode => write!(f, ", state transfer {}", mode.name()),
        }
    }
}
