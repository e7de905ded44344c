//! The tables of the config file below the top level: nodes, keys, timing and limits.

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

/// Sizes that servers enforce where data enters, in bytes of the canonical encodings of
/// WIRE.md ("Limits"). An acceptor refuses to vote for what would break one (refusing a vote
/// is always safe), so no input makes it hold or store votes without bound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// The largest client command (`8 +` its authenticated encoding `+ 32`): a client refuses
    /// to send a larger one, and servers answer it "too large" instead of queueing it.
    #[serde(default = "Limits::default_max_command_bytes")]
    pub max_command_bytes: u64,
    /// The largest value of one slot: a leader packs its batches up to it, and an acceptor
    /// votes for no larger value. An ACCEPT carries one, so it must fit a datagram.
    #[serde(default = "Limits::default_max_batch_bytes")]
    pub max_batch_bytes: u64,
    /// The most bytes of votes in open (undecided) slots an acceptor holds: it refuses an
    /// ACCEPT that would take it over. With the slot window, this bounds its store and its
    /// PROMISEs, and so a NEWROUND, which carries 2f + 1 PROMISEs and proposes their values
    /// again: [`Limits::largest_new_round_bytes`] must stay under the wire's maximum.
    #[serde(default = "Limits::default_max_open_vote_bytes")]
    pub max_open_vote_bytes: u64,
    /// The most slots a leader keeps proposed and undecided at once (pipelining): more
    /// overlap the slots' round trips, and each may hold a whole batch, so this many batches
    /// must fit an acceptor's open-vote bytes.
    #[serde(default = "Limits::default_max_slots_in_flight")]
    pub max_slots_in_flight: u64,
}

impl Limits {
    /// A slot value's bytes beyond its commands': its tag and the count of its commands.
    pub const BATCH_OVERHEAD: u64 = 1 + 8;
    /// The largest `max_batch_bytes`: an ACCEPT with its header, round, slot, proof digest
    /// and datagram tag must fit one datagram of `wire::MAX_DATAGRAM` (65 000) bytes.
    pub const MAX_BATCH_BYTES_CEILING: u64 = 60_000;
    /// A vote's or a plan entry's bytes beyond its value, in postcard: the slot (a u64
    /// varint, at most 10 bytes), the round (a u32 varint, at most 5) and a value's tag.
    pub const VOTE_OVERHEAD: u64 = 16;
    /// A PROMISE's bytes beyond its votes: round, acceptor, decided prefix, count, mac.
    pub const PROMISE_OVERHEAD: u64 = 64;
    /// A NEWROUND's bytes beyond its PROMISEs and plan: message tags, round, counts.
    pub const NEW_ROUND_OVERHEAD: u64 = 64;
    /// An ACCEPT's bytes beyond its entry (the value with [`Self::VOTE_OVERHEAD`]) and the
    /// PROMISEs of its proof: message tags, the proof's count or digest.
    pub const ACCEPT_OVERHEAD: u64 = 64;

    /// An upper bound on the encoding of a NEWROUND of a cluster of `f` whose acceptors vote
    /// in at most `window` slots above their decided prefix. Each of its 2f + 1 PROMISEs
    /// reports the votes of its acceptor from its learner's decided prefix on, which its
    /// bounds keep within twice `max_open_vote_bytes` plus one batch (`VoteLimits::admit`:
    /// open votes, counted from the closed prefix of its round when its learner lags, and
    /// votes in slots decided without its knowledge), also after a restart from a snapshot
    /// (its replica snapshots before they pass that), then a vote header per slot of the
    /// window. Its plan proposes again one reported value per slot, fills the rest of the
    /// window with no-ops and adds at most `max_slots_in_flight` pending batches.
    pub fn largest_new_round_bytes(&self, f: usize, window: u64) -> u64 {
        let quorum = (f as u64).saturating_mul(2).saturating_add(1);
        let open = self
            .max_open_vote_bytes
            .saturating_mul(2)
            .saturating_add(self.max_batch_bytes);
        let reported = open.saturating_add(window.saturating_mul(Self::VOTE_OVERHEAD));
        let promises = quorum.saturating_mul(reported.saturating_add(Self::PROMISE_OVERHEAD));
        let pending = self.max_slots_in_flight;
        let plan = (quorum.saturating_mul(open))
            .saturating_add((window.saturating_add(pending)).saturating_mul(Self::VOTE_OVERHEAD))
            .saturating_add(pending.saturating_mul(self.max_batch_bytes));
        promises
            .saturating_add(plan)
            .saturating_add(Self::NEW_ROUND_OVERHEAD)
    }

    fn default_max_command_bytes() -> u64 {
        16 * 1024
    }

    fn default_max_batch_bytes() -> u64 {
        48 * 1024
    }

    fn default_max_open_vote_bytes() -> u64 {
        // Five full batches; small enough that a NEWROUND of up to f = 3 fits the wire's
        // maximum message (`validate`), and the suspicion of a leader with it.
        256 * 1024
    }

    fn default_max_slots_in_flight() -> u64 {
        // More overlap nothing while every ACCEPT costs an acceptor its own sync: the slots
        // then decide no faster and only their batches shrink (CHECKING.md, "Pipelining").
        1
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_command_bytes: Self::default_max_command_bytes(),
            max_batch_bytes: Self::default_max_batch_bytes(),
            max_open_vote_bytes: Self::default_max_open_vote_bytes(),
            max_slots_in_flight: Self::default_max_slots_in_flight(),
        }
    }
}
