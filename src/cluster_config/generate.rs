//! A fresh config for a cluster on consecutive ports, with new random keys.

use super::{
    AcceptorSecrets, ChannelKey, ClientEntry, ClusterConfig, CommandKey, Limits, NodeId, Role,
    SecretKey, ServerEntry, Timing,
};
use std::fmt::{self, Display};
use std::net::{IpAddr, SocketAddr};

/// Why a config cannot be generated.
#[derive(Debug)]
pub enum GenerateError {
    /// The number of acceptors is not `3f + 1` for some `f >= 1`.
    AcceptorCount(usize),
    NoProposers,
    /// The nodes do not fit on consecutive ports from `base_port`.
    PortRange {
        base_port: u16,
        nodes: usize,
    },
    /// The operating system gave no random bytes.
    Randomness(getrandom::Error),
}

impl Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenerateError::AcceptorCount(n) => write!(
                f,
                "{n} acceptors: the number of acceptors must be 3f + 1 for some f >= 1 (4, 7, 10, ...)"
            ),
            GenerateError::NoProposers => f.write_str("at least one proposer is needed"),
            GenerateError::PortRange { base_port, nodes } => write!(
                f,
                "{nodes} nodes do not fit on consecutive ports from {base_port} (the last port is 65535)"
            ),
            GenerateError::Randomness(e) => write!(f, "no random bytes for the keys: {e}"),
        }
    }
}

impl std::error::Error for GenerateError {}

impl ClusterConfig {
    /// A config for `acceptors` acceptors, `proposers` proposers and `clients` clients that
    /// listen on `host`, from `base_port` on in that order, with a fresh random key of
    /// [`super::GENERATED_KEY_BYTES`] bytes for every field that takes one, and default timing.
    pub fn generate(
        acceptors: usize,
        proposers: usize,
        clients: usize,
        base_port: u16,
        host: IpAddr,
    ) -> Result<ClusterConfig, GenerateError> {
        if acceptors < 4 || acceptors % 3 != 1 {
            return Err(GenerateError::AcceptorCount(acceptors));
        }
        if proposers == 0 {
            return Err(GenerateError::NoProposers);
        }
        let nodes = acceptors + proposers + clients;
        let ports_fit = (usize::from(base_port) + nodes - 1) <= usize::from(u16::MAX);
        let ids_fit = [acceptors, proposers, clients]
            .iter()
            .all(|&count| count <= usize::from(u16::MAX));
        if !ports_fit || !ids_fit {
            return Err(GenerateError::PortRange { base_port, nodes });
        }

        // Every node in `Id` order gets the next port.
        let node_ids: Vec<NodeId> = [
            (Role::Acceptor, acceptors),
            (Role::Proposer, proposers),
            (Role::Client, clients),
        ]
        .into_iter()
        .flat_map(|(role, count)| (0..count as u16).map(move |id| NodeId::new(role, id)))
        .collect();
        let addr_of =
            |position: usize| SocketAddr::new(host, base_port + position as u16).to_string();
        let mut config = ClusterConfig {
            share_of: None,
            f: (acceptors - 1) / 3,
            timing: Timing::default(),
            limits: Limits::default(),
            acceptors: Vec::new(),
            proposers: Vec::new(),
            clients: Vec::new(),
            acceptor_secrets: Some(AcceptorSecrets {
                domain_key: Some(random_key()?),
            }),
            channel_keys: Vec::new(),
            command_keys: Vec::new(),
        };
        for (position, &node) in node_ids.iter().enumerate() {
            let (id, addr) = (node.index(), addr_of(position));
            match node.role() {
                Role::Acceptor => config.acceptors.push(ServerEntry { id, addr }),
                Role::Proposer => config.proposers.push(ServerEntry { id, addr }),
                Role::Client => {
                    config.clients.push(ClientEntry {
                        id,
                        addr: Some(addr),
                    });
                    config.command_keys.push(CommandKey {
                        client: id,
                        key: random_key()?,
                    });
                }
            }
        }
        for (i, &a) in node_ids.iter().enumerate() {
            for &b in node_ids[i + 1..].iter().filter(|&&b| a.talks_with(b)) {
                config.channel_keys.push(ChannelKey {
                    between: [a, b],
                    key: random_key()?,
                });
            }
        }
        Ok(config)
    }
}

fn random_key() -> Result<SecretKey, GenerateError> {
    SecretKey::random().map_err(GenerateError::Randomness)
}
