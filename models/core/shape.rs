//! What every model configuration has: `3f + 1` acceptors and `m` proposers, some of them
//! Byzantine, rounds and crashes up to a bound, the clients' values and perhaps a broken
//! variant; what follows from them, and the checks of them that both models make.

use crate::models::value::ModelValue;
use crate::models::variant::Variant;
use crate::rules::Rules;
use crate::types::{Cluster, ProposerId, Round};
use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use std::ops::RangeInclusive;

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

/// The cluster and bounds of a model configuration. Actors are numbered as in
/// [`crate::node::Topology`]: acceptors, then proposers, then the client learner.
pub trait Shape {
    /// Acceptor crashes tolerated; `n = 3f + 1`.
    fn f(&self) -> usize;
    /// The number of proposers `m`; `leader(r) = p_{r mod m}`.
    fn proposers(&self) -> usize;
    /// The Byzantine proposers; the others are honest.
    fn byzantine(&self) -> &[ProposerId];
    /// Rounds `0..=max_round` are explored.
    fn max_round(&self) -> Round;
    /// How many acceptors may be crashed at once.
    fn max_crashes(&self) -> usize;
    /// The number of values clients propose (`A`, `B`, …).
    fn client_values(&self) -> usize;
    /// A deliberately broken protocol, or `None` for BP Fast Paxos.
    fn variant(&self) -> Option<Variant>;

    fn cluster(&self) -> Cluster {
        Cluster::new(self.f(), self.proposers())
    }

    /// The rules the acceptors follow (BP Fast Paxos unless a variant breaks them).
    fn rules(&self) -> Rules {
        let rules = Rules::standard(self.f());
        self.variant().map_or(rules, |v| v.apply(rules))
    }

    /// The size of a real quorum, `2f + 1`: what "chosen" means, whatever the variant.
    fn quorum(&self) -> usize {
        2 * self.f() + 1
    }

    fn acceptors(&self) -> usize {
        self.cluster().acceptors()
    }

    fn is_byzantine(&self, p: ProposerId) -> bool {
        self.byzantine().contains(&p)
    }

    /// Whether some Byzantine proposer leads a round in `rounds`.
    fn byzantine_leads_in(&self, rounds: RangeInclusive<Round>) -> bool {
        let cluster = self.cluster();
        rounds
            .into_iter()
            .any(|r| self.is_byzantine(cluster.leader(r)))
    }

    /// The value of the client that honest proposer `p` serves: client `p mod values`.
    fn client_value(&self, p: ProposerId) -> ModelValue {
        ModelValue::Client((usize::from(p.0) % self.client_values().max(1)) as u8)
    }

    /// The Byzantine proposers as a configuration's summary names them (`p0,p1`, or `none`).
    fn byzantine_names(&self) -> String {
        let names: Vec<String> = self.byzantine().iter().map(|p| p.to_string()).collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(",")
        }
    }

    /// What is checked: BP Fast Paxos, or the variant that breaks it.
    fn protocol_name(&self) -> String {
        match self.variant() {
            Some(v) => format!("variant {}", v.name()),
            None => "BP Fast Paxos".to_string(),
        }
    }

    /// The id of the client learner, or of the sink that stands for "the learners" when
    /// nobody reads LEARNs (no actor: LEARNs sent there are only recorded).
    fn learner_id(&self) -> Id {
        Id::from(self.acceptors() + self.proposers())
    }

    /// Checks what both models bound alike, with `f` at most `max_f`; the message says what
    /// is wrong.
    fn validate_shape(&self, max_f: usize) -> Result<(), String> {
        if self.f() == 0 || self.f() > max_f {
            return Err(format!(
                "f must be between 1 and {max_f} ({} acceptors) for this model, not {}",
                3 * max_f + 1,
                self.f()
            ));
        }
        if self.proposers() == 0 {
            return Err("at least one proposer is needed".into());
        }
        if let Some(p) = self
            .byzantine()
            .iter()
            .find(|p| usize::from(p.0) >= self.proposers())
        {
            return Err(format!("Byzantine proposer {p} does not exist"));
        }
        if self.client_values() == 0 || self.client_values() > 26 {
            return Err("between 1 and 26 client values".into());
        }
        if self.max_crashes() > self.f() {
            return Err(format!(
                "at most f = {} crashes are tolerated, not {}",
                self.f(),
                self.max_crashes()
            ));
        }
        Ok(())
    }
}

/// Implements [`Shape`] for a configuration struct whose fields have the accessors' names
/// (`f`, `proposers`, `byzantine`, `max_round`, `max_crashes`, `client_values`, `variant`),
/// as both models' configurations do.
macro_rules! shape_from_fields {
    ($config:ty) => {
        impl $crate::models::core::shape::Shape for $config {
            fn f(&self) -> usize {
                self.f
            }
            fn proposers(&self) -> usize {
                self.proposers
            }
            fn byzantine(&self) -> &[$crate::types::ProposerId] {
                &self.byzantine
            }
            fn max_round(&self) -> $crate::types::Round {
                self.max_round
            }
            fn max_crashes(&self) -> usize {
                self.max_crashes
            }
            fn client_values(&self) -> usize {
                self.client_values
            }
            fn variant(&self) -> Option<$crate::models::variant::Variant> {
                self.variant
            }
        }
    };
}
pub(crate) use shape_from_fields;

/// The defaults both models' configurations share for the rest of [`Shape`] (their
/// `Default`s take them through [`with_shared_defaults`]), and so the defaults of `check`'s
/// options.
pub struct SharedDefaults {
    pub f: usize,
    pub proposers: usize,
    pub byzantine: &'static [ProposerId],
    pub client_values: usize,
    pub unproposed_value: bool,
    pub max_crashes: usize,
}

/// f = 1 (4 acceptors), two proposers of which `p0` is Byzantine, values A and B and the
/// unproposed Z, one crash.
pub const SHARED_DEFAULTS: SharedDefaults = SharedDefaults {
    f: 1,
    proposers: 2,
    byzantine: &[ProposerId(0)],
    client_values: 2,
    unproposed_value: true,
    max_crashes: 1,
};

/// The configuration `$config { fields }`, with [`SHARED_DEFAULTS`] for the rest of
/// [`Shape`], and BP Fast Paxos itself (no variant).
macro_rules! with_shared_defaults {
    ($config:ident { $($field:ident: $value:expr),* $(,)? }) => {{
        let shared = &$crate::models::core::shape::SHARED_DEFAULTS;
        $config {
            f: shared.f,
            proposers: shared.proposers,
            byzantine: shared.byzantine.to_vec(),
            client_values: shared.client_values,
            unproposed_value: shared.unproposed_value,
            max_crashes: shared.max_crashes,
            variant: None,
            $($field: $value),*
        }
    }};
}
pub(crate) use with_shared_defaults;
