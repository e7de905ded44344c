//! Everything a parsed config must satisfy before a node runs on it. `validate` reports the
//! first problem it finds, naming the field; it never panics, whatever the file holds.

use super::{ClusterConfig, ConfigError, KeyField, Limits, NodeId, Role, SecretKey};
use crate::bounds::MAX_MESSAGE;
use crate::log::SLOT_WINDOW;
use crate::types::ClientId;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

impl ClusterConfig {
    /// Checks the config; see [`ConfigError`] for what is checked.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_shape()?;
        self.validate_addresses()?;
        self.validate_timing()?;
        self.validate_limits()?;
        self.validate_keys()
    }

    fn validate_shape(&self) -> Result<(), ConfigError> {
        if self.f == 0 {
            return Err(ConfigError::NoFaultTolerance);
        }
        let expected = self.f.checked_mul(3).and_then(|n| n.checked_add(1));
        if expected != Some(self.acceptors.len()) {
            return Err(ConfigError::AcceptorCount {
                f: self.f,
                expected: expected.unwrap_or(usize::MAX),
                found: self.acceptors.len(),
            });
        }
        if self.proposers.is_empty() {
            return Err(ConfigError::NoProposers);
        }
        check_ids(Role::Acceptor, self.acceptors.iter().map(|e| e.id))?;
        check_ids(Role::Proposer, self.proposers.iter().map(|e| e.id))?;
        check_ids(Role::Client, self.clients.iter().map(|e| e.id))
    }

    fn validate_addresses(&self) -> Result<(), ConfigError> {
        let servers = (self.acceptors.iter().map(|e| (Role::Acceptor, e)))
            .chain(self.proposers.iter().map(|e| (Role::Proposer, e)))
            .map(|(role, e)| (NodeId::new(role, e.id), Some(&e.addr)));
        let clients =
            (self.clients.iter()).map(|e| (NodeId::new(Role::Client, e.id), e.addr.as_ref()));
        let mut taken: BTreeMap<SocketAddr, NodeId> = BTreeMap::new();
        for (node, written) in servers.chain(clients) {
            let Some(written) = written else { continue };
            let addr: SocketAddr = written.parse().map_err(|e: std::net::AddrParseError| {
                ConfigError::UnparsableAddress {
                    node,
                    addr: written.clone(),
                    reason: e.to_string(),
                }
            })?;
            if let Some(&first) = taken.get(&addr) {
                return Err(ConfigError::DuplicateAddress {
                    addr,
                    first,
                    second: node,
                });
            }
            taken.insert(addr, node);
        }
        Ok(())
    }

    fn validate_timing(&self) -> Result<(), ConfigError> {
        if self.timing.suspect_leader_ms == 0 {
            return Err(ConfigError::ZeroTimeout {
                field: "suspect_leader_ms",
            });
        }
        if self.timing.client_timeout_ms == 0 {
            return Err(ConfigError::ZeroTimeout {
                field: "client_timeout_ms",
            });
        }
        Ok(())
    }

    /// A command at its limit must fit a batch alone, a batch an ACCEPT's datagram, and a
    /// vote the open-vote bytes; else the service could refuse what it promised to take.
    fn validate_limits(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let bad = |field, why: String| Err(ConfigError::BadLimit { field, why });
        if l.max_command_bytes == 0 {
            return bad("max_command_bytes", "must be more than 0".into());
        }
        if l.max_batch_bytes > Limits::MAX_BATCH_BYTES_CEILING {
            return bad(
                "max_batch_bytes",
                format!(
                    "{} is over {}: an ACCEPT carrying the batch must fit one datagram",
                    l.max_batch_bytes,
                    Limits::MAX_BATCH_BYTES_CEILING
                ),
            );
        }
        if l.max_command_bytes.saturating_add(Limits::BATCH_OVERHEAD) > l.max_batch_bytes {
            return bad(
                "max_batch_bytes",
                format!(
                    "{} is too small for one command of max_command_bytes = {} (a batch adds {} \
                     bytes)",
                    l.max_batch_bytes,
                    l.max_command_bytes,
                    Limits::BATCH_OVERHEAD
                ),
            );
        }
        if l.max_open_vote_bytes < l.max_batch_bytes {
            return bad(
                "max_open_vote_bytes",
                format!(
                    "{} is less than max_batch_bytes = {}: an acceptor could hold no batch",
                    l.max_open_vote_bytes, l.max_batch_bytes
                ),
            );
        }
        if l.max_slots_in_flight == 0 {
            return bad("max_slots_in_flight", "must be more than 0".into());
        }
        let full_flight = l.max_slots_in_flight.saturating_mul(l.max_batch_bytes);
        if full_flight > l.max_open_vote_bytes {
            return bad(
                "max_slots_in_flight",
                format!(
                    "{} slots of max_batch_bytes = {} are over max_open_vote_bytes = {}: \
                     acceptors would refuse a leader's own full slots",
                    l.max_slots_in_flight, l.max_batch_bytes, l.max_open_vote_bytes
                ),
            );
        }
        self.validate_new_round_size()
    }

    /// The largest NEWROUND the limits allow must be sendable: else a Byzantine leader that
    /// fills the acceptors' open votes stops every honest leader after it.
    fn validate_new_round_size(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let largest = l.largest_new_round_bytes(self.f, SLOT_WINDOW);
        if largest <= MAX_MESSAGE as u64 {
            return Ok(());
        }
        // The open-vote bound counts four times per PROMISE: twice in the votes it reports
        // (from its learner's prefix on, `VoteLimits::admit`), and again in the plan.
        let quorum = (self.f as u64).saturating_mul(2).saturating_add(1);
        let times = quorum.saturating_mul(4);
        let rest = largest.saturating_sub(times.saturating_mul(l.max_open_vote_bytes));
        let fits = (MAX_MESSAGE as u64).saturating_sub(rest) / times;
        Err(ConfigError::BadLimit {
            field: "max_open_vote_bytes",
            why: format!(
                "{} lets a NEWROUND of f = {} (2f + 1 PROMISEs and its plan) reach {largest} \
                 bytes, over the {MAX_MESSAGE} of one message; at most {fits} fits",
                l.max_open_vote_bytes, self.f
            ),
        })
    }

    fn validate_keys(&self) -> Result<(), ConfigError> {
        // Every key with its field, checked for form here and for reuse at the end.
        let mut keys: Vec<(KeyField, Vec<u8>)> = Vec::new();
        // A share holds only its node's keys (and must not hold another's).
        let share = self.share_of;
        if let Some(node) = share {
            if node.role() == Role::Acceptor || !self.contains(node) {
                return Err(ConfigError::BadShare(node));
            }
            if self.acceptor_secrets.is_some() {
                return Err(ConfigError::ForeignKey {
                    share: node,
                    field: KeyField::Domain,
                });
            }
        } else {
            let domain = self
                .domain_key()
                .ok_or(ConfigError::MissingKey(KeyField::Domain))?;
            keys.push((KeyField::Domain, key_bytes(KeyField::Domain, domain)?));
        }
        let mine = |field: KeyField, nodes: &[NodeId]| -> Result<(), ConfigError> {
            match share {
                Some(node) if !nodes.contains(&node) => {
                    Err(ConfigError::ForeignKey { share: node, field })
                }
                _ => Ok(()),
            }
        };

        let mut channels = BTreeSet::new();
        for entry in &self.channel_keys {
            let [a, b] = entry.between;
            let field = KeyField::channel(a, b);
            for node in [a, b] {
                if !self.contains(node) {
                    return Err(ConfigError::UnknownNode { field, node });
                }
            }
            if !a.talks_with(b) {
                return Err(ConfigError::SilentPair { a, b });
            }
            mine(field, &[a, b])?;
            if !channels.insert(field) {
                return Err(ConfigError::DuplicateKeyEntry(field));
            }
            keys.push((field, key_bytes(field, &entry.key)?));
        }
        let nodes: Vec<NodeId> = self.nodes().collect();
        for (i, &a) in nodes.iter().enumerate() {
            for &b in &nodes[i + 1..] {
                let needed = share.is_none_or(|node| node == a || node == b);
                if needed && a.talks_with(b) && !channels.contains(&KeyField::channel(a, b)) {
                    return Err(ConfigError::MissingKey(KeyField::channel(a, b)));
                }
            }
        }

        let mut commands = BTreeSet::new();
        for entry in &self.command_keys {
            let client = ClientId(entry.client);
            let field = KeyField::Command(client);
            if !self.contains(NodeId::Client(client)) {
                return Err(ConfigError::UnknownNode {
                    field,
                    node: NodeId::Client(client),
                });
            }
            mine(field, &[NodeId::Client(client)])?;
            if !commands.insert(client) {
                return Err(ConfigError::DuplicateKeyEntry(field));
            }
            keys.push((field, key_bytes(field, &entry.key)?));
        }
        if let Some(client) = self
            .clients
            .iter()
            .map(|e| ClientId(e.id))
            .filter(|c| share.is_none_or(|node| node == NodeId::Client(*c)))
            .find(|c| !commands.contains(c))
        {
            return Err(ConfigError::MissingKey(KeyField::Command(client)));
        }

        check_keys_distinct(&keys)
    }
}

/// Ids of one role: no duplicates, and together exactly `0 .. count`.
fn check_ids(role: Role, ids: impl ExactSizeIterator<Item = u16>) -> Result<(), ConfigError> {
    let count = ids.len();
    let mut seen = BTreeSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(ConfigError::DuplicateId { role, id });
        }
        // With no duplicates, `count` ids all below `count` are exactly `0 .. count`.
        if usize::from(id) >= count {
            return Err(ConfigError::IdOutOfRange { role, id, count });
        }
    }
    Ok(())
}

/// The bytes of a key, or why it is unusable.
fn key_bytes(field: KeyField, key: &SecretKey) -> Result<Vec<u8>, ConfigError> {
    key.to_bytes()
        .map_err(|problem| ConfigError::BadKey { field, problem })
}

/// No two keys the same.
fn check_keys_distinct(keys: &[(KeyField, Vec<u8>)]) -> Result<(), ConfigError> {
    let mut seen: BTreeMap<&[u8], KeyField> = BTreeMap::new();
    for (field, bytes) in keys {
        if let Some(&first) = seen.get(bytes.as_slice()) {
            return Err(ConfigError::ReusedKey {
                first,
                second: *field,
            });
        }
        seen.insert(bytes, *field);
    }
    Ok(())
}
