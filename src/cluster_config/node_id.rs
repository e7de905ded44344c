//! How a config names a node ("acceptor 0", "proposer 1", "client 2") and which nodes talk.

use crate::types::{AcceptorId, ClientId, ProposerId};
use serde::{Deserialize, Serialize};
use std::fmt::{self, Display};
use std::str::FromStr;

/// The three kinds of node of a cluster config, in the order of the stateright `Id` layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Acceptor,
    Proposer,
    Client,
}

impl Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Acceptor => "acceptor",
            Role::Proposer => "proposer",
            Role::Client => "client",
        })
    }
}

/// A node of the cluster by its config id. Ids are 0-based in every role: `acceptor 0` is
/// `AcceptorId(0)` (PROTOCOL.md's `a_1`), `proposer 0` is `p_0`. The derived order (acceptors,
/// then proposers, then clients) is the order of stateright's `Id`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum NodeId {
    Acceptor(AcceptorId),
    Proposer(ProposerId),
    Client(ClientId),
}

impl NodeId {
    pub fn role(self) -> Role {
        match self {
            NodeId::Acceptor(_) => Role::Acceptor,
            NodeId::Proposer(_) => Role::Proposer,
            NodeId::Client(_) => Role::Client,
        }
    }

    /// The id within its role.
    pub fn index(self) -> u16 {
        match self {
            NodeId::Acceptor(a) => a.0,
            NodeId::Proposer(p) => p.0,
            NodeId::Client(c) => c.0,
        }
    }

    pub fn new(role: Role, index: u16) -> Self {
        match role {
            Role::Acceptor => NodeId::Acceptor(AcceptorId(index)),
            Role::Proposer => NodeId::Proposer(ProposerId(index)),
            Role::Client => NodeId::Client(ClientId(index)),
        }
    }

    /// Whether the protocol sends messages between `self` and `other`, so that the pair needs
    /// a channel key: acceptors talk to everyone, proposers and clients to each other.
    /// Proposers never talk to proposers, nor clients to clients.
    pub fn talks_with(self, other: NodeId) -> bool {
        self != other
            && matches!(
                (self.role(), other.role()),
                (Role::Acceptor, _)
                    | (_, Role::Acceptor)
                    | (Role::Proposer, Role::Client)
                    | (Role::Client, Role::Proposer)
            )
    }
}

impl Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.role(), self.index())
    }
}

/// A string that does not name a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadNodeId(pub String);

impl Display for BadNodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a node: expected \"acceptor N\", \"proposer N\" or \"client N\"",
            self.0
        )
    }
}

impl std::error::Error for BadNodeId {}

impl FromStr for NodeId {
    type Err = BadNodeId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadNodeId(s.to_owned());
        let (role, index) = s.trim().split_once(' ').ok_or_else(bad)?;
        let role = match role {
            "acceptor" => Role::Acceptor,
            "proposer" => Role::Proposer,
            "client" => Role::Client,
            _ => return Err(bad()),
        };
        let index = index.trim().parse().map_err(|_| bad())?;
        Ok(NodeId::new(role, index))
    }
}

impl TryFrom<String> for NodeId {
    type Error = BadNodeId;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<NodeId> for String {
    fn from(node: NodeId) -> String {
        node.to_string()
    }
}
