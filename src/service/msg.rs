//! The messages of the running service: the log protocol's, unchanged, and the few a
//! replicated service adds around it (client requests and replies, catch-up between replicas).

use super::command::{Batch, Command};
use super::kv::Reply;
use crate::learner::Decision;
use crate::log::Slot;
use crate::log::message::LogMsg;
use crate::log::value::LogValue;
use crate::runtime::event_loop::Freshness;
use crate::types::Round;
use serde::{Deserialize, Serialize};

/// What a slot of the service's log holds.
pub type SlotValue = LogValue<Batch>;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ServiceMsg {
    /// A message of the log protocol, handled by the model-checked actor.
    Log(LogMsg<SlotValue>),
    /// A client's command: to the proposer it believes leads, and on a retry to every
    /// proposer and acceptor, which then suspect the leader if it is not applied in time.
    Request(Command),
    /// An acceptor's answer to the receiving client's command `seq`; `round` is the round the
    /// acceptor is in, whose leader the client sends its next commands to (a hint: acceptors
    /// only crash, but the round may have moved on since).
    Reply {
        seq: u64,
        reply: Reply,
        round: Round,
    },
    /// Acceptor to acceptors: "send me what was decided from slot `from` on".
    CatchUp { from: Slot },
    /// The decisions of slots `first`, `first + 1`, … (state transfer, §8); at most
    /// [`super::replica::CATCH_UP_BYTES`] of them in bytes, unless the first alone has more.
    Decisions {
        first: Slot,
        decisions: Vec<Decision<SlotValue>>,
    },
    /// A part of a replica's store once it applied every slot below `applied`, for a replica
    /// that lags behind what its peers still keep: bytes `offset ..` of the store's postcard
    /// encoding, which is `total` bytes long with SHA-256 `store_digest`; `log_digest` names
    /// the log applied (see [`super::transfer`]).
    Snapshot(Part),
    /// An acceptor's answer to the receiving client's command `seq`, which it refuses
    /// unexecuted: its `size` is over the `max_command_bytes` limit `max`.
    TooLarge { seq: u64, size: u64, max: u64 },
    /// Acceptor to the acceptor that sent it a `Snapshot` part: "send the part of your copy of
    /// `applied` from byte `offset` on".
    SnapshotFetch { applied: Slot, offset: u64 },
}

/// A part of a snapshot, as a `ServiceMsg::Snapshot` carries it (the
/// transfer that sends and receives parts is [`super::transfer`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Part {
    pub applied: Slot,
    pub log_digest: [u8; 32],
    pub store_digest: [u8; 32],
    pub total: u64,
    pub offset: u64,
    pub bytes: Vec<u8>,
}

/// A client's address moves only with a new command (a higher `seq`): a replayed request
/// never redirects the replies.
impl Freshness for ServiceMsg {
    fn freshness(&self) -> Option<u64> {
        match self {
            ServiceMsg::Request(command) => Some(command.seq),
            _ => None,
        }
    }
}
