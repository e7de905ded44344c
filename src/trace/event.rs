//! The records of a trace. One file per acceptor, one JSON object per line: a header, then
//! events in the order the acceptor took its steps. Every event is what one step of the
//! acceptor changed, taken from its state before and after the step (so the trace shows
//! what the runtime really did, not what its step functions were meant to do).

use crate::auth::Mac;
use crate::log::Slot;
use crate::log::message::{LogPromise, SlotVote};
use crate::message::Vote;
use crate::types::{AcceptorId, Round, Value};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The first line of a trace file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    pub acceptor: u16,
    /// Crashes tolerated (`3f + 1` acceptors).
    pub f: usize,
    pub proposers: usize,
    /// The acceptor's slot window: it votes only in slots below its decided prefix plus this
    /// (PROTOCOL.md §8). Absent in traces written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Slot>,
}

/// What a trace file's header says it is.
pub const FORMAT: &str = "bp-fast-paxos-trace/1";

/// One line after the header: when (nanoseconds since the Unix epoch), the acceptor's own
/// sequence number, and what happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub t: u64,
    pub seq: u64,
    #[serde(flatten)]
    pub event: Event,
}

/// What one step of an acceptor did. A step may produce several events (a NEWROUND votes in
/// several slots); they come in the order the acceptor took them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The acceptor started, afresh or from its store, with this durable state.
    Start {
        rnd: Round,
        base: Slot,
        votes: Vec<TraceVote>,
    },
    /// It voted `value` in `slot` and `round` on an ACCEPT of proposer `from`, whose proof was
    /// `proof` (empty in round 0; a NEWROUND's proof for an ACCEPT that named it by digest).
    Vote {
        slot: Slot,
        round: Round,
        value: String,
        from: u16,
        proof: Vec<TracePromise>,
        /// The ACCEPT named its proof by digest (or came in the NEWROUND that carried it):
        /// the acceptor took the NEWROUND proof it had kept.
        #[serde(default)]
        digest: bool,
    },
    /// It verified and kept the NEWROUND proof of `round`, which the round's ACCEPTs name by
    /// digest.
    Keep {
        round: Round,
        proof: Vec<TracePromise>,
    },
    /// It moved to a higher round and sent this PROMISE (a trust change), or sent a PROMISE
    /// of its round again (restarted in a round not begun; the spec's `RePromise`).
    Promise {
        promise: TracePromise,
        cause: String,
    },
    /// Its learner decided `slot`: from a quorum of LEARNs (`via: learn`) or from a peer's
    /// decisions (`via: catch_up`).
    Decide {
        slot: Slot,
        round: Round,
        value: String,
        via: Via,
    },
    /// Its learner skipped to `to` on a peer's snapshot: every slot below is decided.
    Skip { to: Slot },
    /// It dropped the votes of every slot below `base`, which it knows decided.
    Drop { base: Slot },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Learn,
    CatchUp,
}

/// A vote in a slot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TraceVote {
    pub slot: Slot,
    pub round: Round,
    pub value: String,
}

/// A PROMISE of the log, with values by digest and the authenticator in hex.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TracePromise {
    pub round: Round,
    pub acceptor: u16,
    pub decided_prefix: Slot,
    pub votes: Vec<TraceVote>,
    pub mac: String,
}

/// The digest by which a trace names a value: the first 8 bytes of the SHA-256 of its
/// canonical encoding, in hex.
pub fn value_digest<V: Value>(value: &V) -> String {
    let mut encoded = Vec::new();
    value.encode(&mut encoded);
    hex::encode(&Sha256::digest(&encoded)[..8])
}

impl TraceVote {
    pub fn of<V: Value>(slot: Slot, vote: &Vote<V>) -> Self {
        TraceVote {
            slot,
            round: vote.round,
            value: value_digest(&vote.value),
        }
    }

    pub fn slot_vote(&self) -> SlotVote<String> {
        SlotVote {
            slot: self.slot,
            vote: Vote {
                round: self.round,
                value: self.value.clone(),
            },
        }
    }
}

impl TracePromise {
    pub fn of<V: Value>(promise: &LogPromise<V>) -> Self {
        TracePromise {
            round: promise.round,
            acceptor: promise.acceptor.0,
            decided_prefix: promise.decided_prefix,
            votes: promise
                .votes
                .iter()
                .map(|v| TraceVote::of(v.slot, &v.vote))
                .collect(),
            mac: hex::encode(promise.mac.0),
        }
    }

    /// The PROMISE over digests that the replay checks (its mac is the one sent, which the
    /// replay matches against the PROMISEs acceptors really sent, not against a key).
    pub fn log_promise(&self) -> LogPromise<String> {
        let mut mac = [0u8; 32];
        if let Ok(bytes) = hex::decode(&self.mac)
            && bytes.len() == 32
        {
            mac.copy_from_slice(&bytes);
        }
        LogPromise {
            round: self.round,
            acceptor: AcceptorId(self.acceptor),
            decided_prefix: self.decided_prefix,
            votes: self.votes.iter().map(TraceVote::slot_vote).collect(),
            mac: Mac(mac),
        }
    }

    /// The vote it reports in `slot`, if any.
    pub fn vote_in(&self, slot: Slot) -> Option<&TraceVote> {
        self.votes.iter().find(|v| v.slot == slot)
    }
}
