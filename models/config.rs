//! A model configuration of the single decree: the cluster, which proposers are Byzantine,
//! the bounds, the network, the learners and the variant.

use super::core::shape::{NetworkKind, Shape, shape_from_fields, with_shared_defaults};
use super::value::ModelValue;
use super::variant::Variant;
use crate::node::Topology;
use crate::types::{ProposerId, Round};
use serde::{Deserialize, Serialize};
use stateright::actor::{Id, model_timeout};
use std::fmt;

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
    pub const ALL: [Menu; 2] = [Menu::Pruned, Menu::Full];

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
    /// Leave out acceptor crashes that lose nothing (see [`super::core::reductions::crash_matters`]).
    pub prune_lossless_crashes: bool,
}

impl Default for ModelConfig {
    /// The default configuration: f = 1 (4 acceptors), `p0` (leader of rounds 0 and 2)
    /// Byzantine, `p1` (leader of round 1) honest, rounds 0..2, values A and B and the
    /// unproposed Z, one crash, a duplicating network, abstract learners.
    fn default() -> Self {
        with_shared_defaults!(ModelConfig {
            max_round: 2,
            network: NetworkKind::Duplicating,
            learners: LearnerMode::Abstract,
            menu: Menu::Pruned,
            prune_lossless_crashes: true,
        })
    }
}

shape_from_fields!(ModelConfig);

impl ModelConfig {
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

    /// Checks the configuration; the message says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_shape(3)
    }

    /// Where the agents are, and who receives LEARNs.
    pub fn topology(&self) -> Topology {
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
}

impl fmt::Display for ModelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values: Vec<String> = self.values().iter().map(|v| v.to_string()).collect();
        write!(
            f,
            "f={} (n={}), proposers={} (Byzantine: {}), rounds 0..{}, values {{{}}}, \
             crashes {}{}, {} network, {} learners, {} Byzantine menu, {}",
            self.f,
            self.acceptors(),
            self.proposers,
            self.byzantine_names(),
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
            self.protocol_name()
        )
    }
}
