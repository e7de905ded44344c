//! What can be wrong with a cluster config, in words that name the field.

use super::{KeyProblem, NodeId, Role};
use crate::types::ClientId;
use std::fmt::{self, Display};
use std::net::SocketAddr;

/// Which key of the config a problem is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyField {
    Domain,
    /// The channel key of a pair, the smaller node first.
    Channel(NodeId, NodeId),
    Command(ClientId),
}

impl KeyField {
    /// The field of the channel key between `a` and `b`, whatever their order.
    pub fn channel(a: NodeId, b: NodeId) -> Self {
        KeyField::Channel(a.min(b), a.max(b))
    }
}

impl Display for KeyField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyField::Domain => f.write_str("acceptor_secrets.domain_key"),
            KeyField::Channel(a, b) => write!(f, "the channel key between {a} and {b}"),
            KeyField::Command(c) => write!(f, "the command key of client {}", c.0),
        }
    }
}

/// What is wrong with a cluster config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The file is not TOML of the config's layout (the message has the line and column).
    Parse(String),
    /// `f = 0` tolerates no crash; the runtime needs at least 4 acceptors.
    NoFaultTolerance,
    /// The number of acceptors is not `3f + 1`.
    AcceptorCount {
        f: usize,
        expected: usize,
        found: usize,
    },
    NoProposers,
    DuplicateId {
        role: Role,
        id: u16,
    },
    /// Ids of a role must be `0 .. count`: the leader of round `r` is proposer `r mod m`.
    IdOutOfRange {
        role: Role,
        id: u16,
        count: usize,
    },
    UnparsableAddress {
        node: NodeId,
        addr: String,
        reason: String,
    },
    DuplicateAddress {
        addr: SocketAddr,
        first: NodeId,
        second: NodeId,
    },
    ZeroTimeout {
        field: &'static str,
    },
    /// A field of `[limits]` out of range, and why.
    BadLimit {
        field: &'static str,
        why: String,
    },
    MissingKey(KeyField),
    BadKey {
        field: KeyField,
        problem: KeyProblem,
    },
    /// Two fields hold the same key, so a holder of one could pose as a holder of the other.
    ReusedKey {
        first: KeyField,
        second: KeyField,
    },
    /// A key entry names a node that is not in the config.
    UnknownNode {
        field: KeyField,
        node: NodeId,
    },
    /// A channel key for a pair that never talks (a node with itself, two proposers, two
    /// clients): a sign of a mistyped id.
    SilentPair {
        a: NodeId,
        b: NodeId,
    },
    DuplicateKeyEntry(KeyField),
    /// `share_of` names an acceptor (acceptors read the whole config) or a node not in it.
    BadShare(NodeId),
    /// The share of one node holds a key that is not its own.
    ForeignKey {
        share: NodeId,
        field: KeyField,
    },
    /// A node was given the share of another, which holds none of its keys.
    ShareOfAnother {
        share: NodeId,
        reader: NodeId,
    },
}

impl Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ConfigError::*;
        match self {
            Parse(why) => write!(
                f,
                "the config is not valid TOML of the expected layout: {why}"
            ),
            NoFaultTolerance => f.write_str("f: must be at least 1 (n = 3f + 1 >= 4 acceptors)"),
            AcceptorCount {
                f: faults,
                expected,
                found,
            } => write!(
                f,
                "acceptors: f = {faults} needs 3f + 1 = {expected} acceptors, found {found}"
            ),
            NoProposers => f.write_str("proposers: at least one proposer is needed"),
            DuplicateId { role, id } => write!(f, "{role}s: id {id} appears twice"),
            IdOutOfRange { role, id, count } => write!(
                f,
                "{role}s: id {id} is out of range; the {count} {role} ids must be 0 .. {}",
                count.saturating_sub(1)
            ),
            UnparsableAddress { node, addr, reason } => {
                write!(f, "the addr of {node}: {addr:?} is not ip:port ({reason})")
            }
            DuplicateAddress {
                addr,
                first,
                second,
            } => {
                write!(f, "addr {addr} is given to both {first} and {second}")
            }
            ZeroTimeout { field } => write!(f, "timing.{field}: must be more than 0"),
            BadLimit { field, why } => write!(f, "limits.{field}: {why}"),
            MissingKey(field) => write!(f, "{field} is missing"),
            BadKey { field, problem } => write!(f, "{field} is unusable: {problem}"),
            ReusedKey { first, second } => write!(
                f,
                "{first} and {second} are the same key; every key must be distinct"
            ),
            UnknownNode { field, node } => {
                write!(f, "{field} names {node}, which is not in the config")
            }
            SilentPair { a, b } => write!(
                f,
                "channel_keys: {a} and {b} never talk to each other, so they have no channel key"
            ),
            DuplicateKeyEntry(field) => write!(f, "{field} is given twice"),
            BadShare(node) => write!(
                f,
                "share_of: {node} cannot have a share (acceptors read the whole config; a \
                 share is for a proposer or client of the config)"
            ),
            ForeignKey { share, field } => write!(
                f,
                "{field} is in the share of {share}, which must hold only its own keys"
            ),
            ShareOfAnother { share, reader } if reader.role() == Role::Acceptor => write!(
                f,
                "the config is the share of {share}, with only its keys: {reader} needs the \
                 whole cluster.toml"
            ),
            ShareOfAnother { share, reader } => write!(
                f,
                "the config is the share of {share}, not of {reader}: {reader} needs its own \
                 share, {}-{}.toml",
                reader.role(),
                reader.index()
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
