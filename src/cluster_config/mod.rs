//! The cluster config of the UDP runtime: who the nodes are, where they listen, and the keys
//! that authenticate them (PROTOCOL.md §3 and §8). One TOML file describes the whole cluster;
//! `bpfp config` writes one with fresh keys.
//!
//! ```toml
//! f = 1                                   # n = 3f + 1 acceptors
//!
//! [timing]                                # optional; these are the defaults
//! suspect_leader_ms = 1000
//! client_timeout_ms = 3000
//!
//! [limits]                                # optional; these are the defaults (bytes)
//! max_command_bytes = 16384               # one client command
//! max_batch_bytes = 49152                 # one slot's batch of commands
//! max_open_vote_bytes = 262144            # votes an acceptor holds in undecided slots
//! max_slots_in_flight = 1                 # slots a leader keeps proposed and undecided
//!
//! [[acceptors]]                           # ids 0 .. n-1, in any order
//! id = 0
//! addr = "127.0.0.1:7000"
//!
//! [[proposers]]                           # ids 0 .. m-1; leader(r) = proposer r mod m
//! id = 0
//! addr = "127.0.0.1:7004"
//!
//! [[clients]]                             # ids 0 .. c-1; addr is optional
//! id = 0
//!
//! [acceptor_secrets]                      # read by acceptors only
//! domain_key = "<hex>"
//!
//! [[channel_keys]]                        # one per pair of nodes that talk
//! between = ["acceptor 0", "proposer 0"]
//! key = "<hex>"
//!
//! [[command_keys]]                        # one per client
//! client = 0
//! key = "<hex>"
//! ```
//!
//! **Who reads which key.** The domain key `K` of PROMISE authenticators (§3) sits alone in
//! `[acceptor_secrets]`: only the acceptor runtime reads that table, and a proposer holding
//! it could forge a proof, so proposers and clients never call [`ClusterConfig::domain_key`].
//! A channel key is read by the two nodes of its pair. A command key (§8) is read by the
//! acceptors and its client, never by proposers, so that a proposer cannot invent a command.
//!
//! **Shares.** `bpfp config --out DIR` also writes each proposer's and client's share
//! ([`ClusterConfig::share_for`]): the same file with `share_of = "proposer 1"` and only that
//! node's keys, so that the whole file stays with the acceptors.
//!
//! **Clients.** Every client that may submit commands is listed, because the acceptors must
//! hold its command key and its channel keys before it sends anything. A client is given one
//! of these ids when it starts (`bpfp put --client 2`, say); an id that is not in the config
//! cannot talk to the cluster. A client's `addr` is optional: without one it binds any port,
//! and servers answer the source address of its authenticated datagrams.

mod entries;
mod error;
mod generate;
mod node_id;
mod secret_key;
mod validate;

pub use entries::{
    AcceptorSecrets, ChannelKey, ClientEntry, CommandKey, Limits, ServerEntry, Timing,
};
pub use error::{ConfigError, KeyField};
pub use generate::GenerateError;
pub use node_id::{BadNodeId, NodeId, Role};
pub use secret_key::{GENERATED_KEY_BYTES, KeyProblem, SecretKey};

use crate::node::Topology;
use crate::types::{ClientId, Cluster};
use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use std::net::SocketAddr;

/// A whole cluster: its nodes, their addresses, its keys and its timeouts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Set in the share of one proposer or client ([`ClusterConfig::share_for`]): the file
    /// holds only that node's keys. Absent in the whole config, which acceptors read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_of: Option<NodeId>,
    /// The number of acceptor crashes tolerated; there are `3f + 1` acceptors.
    pub f: usize,
    #[serde(default)]
    pub timing: Timing,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub acceptors: Vec<ServerEntry>,
    #[serde(default)]
    pub proposers: Vec<ServerEntry>,
    #[serde(default)]
    pub clients: Vec<ClientEntry>,
    /// Optional only so that [`ClusterConfig::validate`] can name it when it is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptor_secrets: Option<AcceptorSecrets>,
    #[serde(default)]
    pub channel_keys: Vec<ChannelKey>,
    #[serde(default)]
    pub command_keys: Vec<CommandKey>,
}

impl ClusterConfig {
    /// Parses a config and validates it.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: ClusterConfig =
            toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// The config as TOML, in the layout of the module documentation.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }

    /// The share of `node` (a proposer or a client): the whole config without the keys it must
    /// not hold. No domain key (a proposer holding it could forge PROMISEs), no command key but
    /// a client's own (a proposer holding one could forge commands), and only the channel keys
    /// of its own pairs (with another's it could pose as that node).
    pub fn share_for(&self, node: NodeId) -> ClusterConfig {
        let mut share = self.clone();
        share.share_of = Some(node);
        share.acceptor_secrets = None;
        share.channel_keys.retain(|k| k.between.contains(&node));
        share
            .command_keys
            .retain(|k| node == NodeId::new(Role::Client, k.client));
        share
    }

    /// Whether `node` may run on this file: the whole config serves every node, and a share
    /// only the node it was cut for, since it holds no other node's keys.
    pub fn check_share_for(&self, node: NodeId) -> Result<(), ConfigError> {
        match self.share_of {
            Some(share) if share != node => Err(ConfigError::ShareOfAnother {
                share,
                reader: node,
            }),
            _ => Ok(()),
        }
    }

    /// The shape of the cluster for the protocol core.
    pub fn cluster(&self) -> Cluster {
        // Built directly: `Cluster::new` asserts, and a config is not trusted before `validate`.
        Cluster {
            f: self.f,
            proposers: self.proposers.len(),
        }
    }

    /// Every node of the config, in `Id` order.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        let acceptors = self
            .acceptors
            .iter()
            .map(|e| NodeId::new(Role::Acceptor, e.id));
        let proposers = self
            .proposers
            .iter()
            .map(|e| NodeId::new(Role::Proposer, e.id));
        let clients = self.clients.iter().map(|e| NodeId::new(Role::Client, e.id));
        let mut nodes: Vec<NodeId> = acceptors.chain(proposers).chain(clients).collect();
        nodes.sort();
        nodes.into_iter()
    }

    /// Whether `node` is in the config.
    pub fn contains(&self, node: NodeId) -> bool {
        let id = node.index();
        match node.role() {
            Role::Acceptor => self.acceptors.iter().any(|e| e.id == id),
            Role::Proposer => self.proposers.iter().any(|e| e.id == id),
            Role::Client => self.clients.iter().any(|e| e.id == id),
        }
    }

    /// The address `node` listens on: `None` for a node that is not in the config, a client
    /// without a fixed address, or an address that does not parse (which `validate` rejects).
    pub fn address(&self, node: NodeId) -> Option<SocketAddr> {
        let id = node.index();
        let written = match node.role() {
            Role::Acceptor => self.acceptors.iter().find(|e| e.id == id).map(|e| &e.addr),
            Role::Proposer => self.proposers.iter().find(|e| e.id == id).map(|e| &e.addr),
            Role::Client => self
                .clients
                .iter()
                .find(|e| e.id == id)
                .and_then(|e| e.addr.as_ref()),
        };
        written?.parse().ok()
    }

    /// The domain key of PROMISE authenticators. For the acceptor runtime only.
    pub fn domain_key(&self) -> Option<&SecretKey> {
        self.acceptor_secrets.as_ref()?.domain_key.as_ref()
    }

    /// The key of the channel between `a` and `b`, in either order.
    pub fn channel_key(&self, a: NodeId, b: NodeId) -> Option<&SecretKey> {
        self.channel_keys
            .iter()
            .find(|k| k.between == [a, b] || k.between == [b, a])
            .map(|k| &k.key)
    }

    /// The key `client` signs its commands with.
    pub fn command_key(&self, client: ClientId) -> Option<&SecretKey> {
        self.command_keys
            .iter()
            .find(|k| k.client == client.0)
            .map(|k| &k.key)
    }

    /// The stateright `Id` of `node`, as [`Topology`] lays them out: acceptors `0 .. n`,
    /// then proposers, then clients.
    pub fn stateright_id(&self, node: NodeId) -> Id {
        let n = self.acceptors.len(); // 3f + 1 once validated; no arithmetic on an untrusted f
        let m = self.proposers.len();
        let index = usize::from(node.index());
        Id::from(match node.role() {
            Role::Acceptor => index,
            Role::Proposer => n + index,
            Role::Client => n + m + index,
        })
    }

    /// The node a stateright `Id` stands for, if it is in the config.
    pub fn node_of(&self, id: Id) -> Option<NodeId> {
        let n = self.acceptors.len(); // 3f + 1 once validated; no arithmetic on an untrusted f
        let m = self.proposers.len();
        let index = usize::from(id);
        let (role, offset) = if index < n {
            (Role::Acceptor, 0)
        } else if index < n + m {
            (Role::Proposer, n)
        } else {
            (Role::Client, n + m)
        };
        let node = NodeId::new(role, u16::try_from(index - offset).ok()?);
        self.contains(node).then_some(node)
    }

    /// The topology of the protocol core: every acceptor and every client learns.
    pub fn topology(&self) -> Topology {
        let learners = self
            .nodes()
            .filter(|node| matches!(node.role(), Role::Acceptor | Role::Client))
            .map(|node| self.stateright_id(node))
            .collect();
        let suspect = self.timing.suspect_leader();
        Topology {
            cluster: self.cluster(),
            learners,
            // Jitter, so that acceptors do not all suspect the leader at the same instant.
            suspect_after: suspect..suspect + suspect / 2,
        }
    }
}
