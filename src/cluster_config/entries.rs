//! The tables of the config file below the top level: nodes, keys and timing.

use super::{NodeId, SecretKey};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// An acceptor or a proposer: an id and the UDP address it listens on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerEntry {
    pub id: u16,
    /// `ip:port`; kept as written so that a bad one is reported by `validate`, not the parser.
    pub addr: String,
}

/// A client: an id and, optionally, a fixed UDP address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    pub id: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
}

/// The secrets that only acceptors hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptorSecrets {
    /// `K` of PROMISE authenticators (PROTOCOL.md §3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_key: Option<SecretKey>,
}

/// The HMAC key of the datagrams between two nodes (PROTOCOL.md §8); the order is irrelevant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelKey {
    pub between: [NodeId; 2],
    pub key: SecretKey,
}

/// The key a client signs its commands with, shared with the acceptors (PROTOCOL.md §8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandKey {
    pub client: u16,
    pub key: SecretKey,
}

/// Timeouts, in milliseconds so that the file stays plain TOML.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    /// How long an acceptor waits for a decision before it suspects the leader (§2).
    #[serde(default = "Timing::default_suspect_leader_ms")]
    pub suspect_leader_ms: u64,
    /// How long a client waits for a reply before it resends its command. Longer than a trust
    /// change, so that a client does not give up on a command that the next leader decides.
    #[serde(default = "Timing::default_client_timeout_ms")]
    pub client_timeout_ms: u64,
}

impl Timing {
    fn default_suspect_leader_ms() -> u64 {
        1000
    }

    fn default_client_timeout_ms() -> u64 {
        3000
    }

    pub fn suspect_leader(&self) -> Duration {
        Duration::from_millis(self.suspect_leader_ms)
    }

    pub fn client_timeout(&self) -> Duration {
        Duration::from_millis(self.client_timeout_ms)
    }
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            suspect_leader_ms: Self::default_suspect_leader_ms(),
            client_timeout_ms: Self::default_client_timeout_ms(),
        }
    }
}
