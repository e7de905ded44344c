//! A server of the replicated key-value service (PROTOCOL.md §8): an acceptor or a proposer
//! of the log, its tuning, its state by role, its timers, and what both of its sides share.
//! The sides are [`super::acceptor`] and [`super::proposer`]; [`super::routing`] makes the
//! server a stateright actor that routes each input to its side.

use super::command::{Batch, Command, CommandKeys};
use super::msg::{ServiceMsg, SlotValue};
use super::queue::Queue;
use super::replica::{Outgoing, Replica};
use super::store::ServiceDurable;
use crate::auth::HmacSha256;
use crate::cluster_config::Limits;
use crate::log::acceptor::LogAcceptorState;
use crate::log::node::{LogNode, LogRole};
use crate::log::proposer::LogProposerState;
use crate::node::NodeTimer;
use crate::types::{ClientId, Round};
use stateright::actor::{Command as OutCommand, Id, Out};
use std::time::Duration;

/// How the service batches and compacts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// The most commands in one slot.
    pub max_batch: usize,
    /// How many applied slots a replica keeps for peers that catch up.
    pub retain: u64,
    /// A replica snapshots its applied state (to disk, synced) every this many applied
    /// slots; only then may it drop the votes and values of the slots the snapshot covers.
    pub snapshot_every: u64,
    /// How often a replica checks whether it lags.
    pub tick: Duration,
    /// How often a proposer resends the proposals it has not seen decided.
    pub retransmit: Duration,
    /// The bytes of proposals a proposer resends per `retransmit`, lowest slot first (a
    /// message larger than this waits for the credit of several): resending a new round's
    /// whole plan every time floods the acceptors' sockets until its NEWROUND never arrives.
    pub resend_bytes: usize,
    /// How long a leader waits, after a decision, for the next commands of the clients it
    /// answered before it proposes a small batch ([`super::linger`]); zero: it never waits.
    pub linger: Duration,
    /// A leader waits only while fewer commands than this are queued.
    pub linger_below: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            max_batch: 256,
            retain: 256,
            snapshot_every: 256,
            tick: Duration::from_millis(100),
            retransmit: Duration::from_millis(50),
            // About 2.5 MB/s to each acceptor: the batches of a few slots per resend, and
            // the kernel's default socket buffer (208 KiB) holds the burst.
            resend_bytes: 128 * 1024,
            // A client answered comes back within one hop and its own turn on a core, tens of
            // microseconds here; at 32 commands a slot's sync is already shared widely.
            linger: Duration::from_micros(200),
            linger_below: 32,
        }
    }
}

/// A server of the replicated key-value service.
#[derive(Clone, Debug)]
pub struct ServiceNode {
    pub log: LogNode<Batch, HmacSha256>,
    /// The clients' command keys (acceptors only: a proposer must not hold them).
    pub keys: CommandKeys,
    pub tuning: Tuning,
    /// The sizes it enforces on what clients send; the acceptor's bounds on votes are in
    /// its log actor.
    pub limits: Limits,
}

/// The state of a server, of the kind of its role: an acceptor's log state never sits beside
/// a proposer's queue, nor the other way round.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ServiceState {
    Acceptor {
        log: LogAcceptorState<SlotValue>,
        replica: Replica,
    },
    Proposer {
        log: LogProposerState<Batch>,
        queue: Queue,
    },
}

impl ServiceState {
    /// The acceptor's log state and replica, if it is one.
    pub fn acceptor(&self) -> Option<(&LogAcceptorState<SlotValue>, &Replica)> {
        match self {
            ServiceState::Acceptor { log, replica } => Some((log, replica)),
            ServiceState::Proposer { .. } => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceTimer {
    Log(NodeTimer),
    /// A replica's periodic check for lagging; a proposer's resend of what it has not seen
    /// decided.
    Tick,
    /// A leader's wait for the clients it answered is over ([`super::linger`]).
    Linger,
}

impl ServiceNode {
    pub(super) fn acceptors(&self) -> usize {
        self.log.topology.cluster.acceptors()
    }

    fn client_id(&self, client: ClientId) -> Id {
        let cluster = &self.log.topology.cluster;
        Id::from(cluster.acceptors() + cluster.proposers + usize::from(client.0))
    }

    pub(super) fn client_of(&self, id: Id) -> Option<ClientId> {
        let cluster = &self.log.topology.cluster;
        let first = cluster.acceptors() + cluster.proposers;
        let index = usize::from(id).checked_sub(first)?;
        u16::try_from(index).ok().map(ClientId)
    }

    /// The most bytes of one command and of one batch, as limits measure them.
    fn max_command_bytes(&self) -> usize {
        usize::try_from(self.limits.max_command_bytes).unwrap_or(usize::MAX)
    }

    pub(super) fn max_batch_bytes(&self) -> usize {
        usize::try_from(self.limits.max_batch_bytes).unwrap_or(usize::MAX)
    }

    /// The answer to a command over the size limit, which is never queued nor proposed.
    pub(super) fn too_large(&self, command: &Command) -> Option<ServiceMsg> {
        let size = command.encoded_len();
        (size > self.max_command_bytes()).then_some(ServiceMsg::TooLarge {
            seq: command.seq,
            size: size as u64,
            max: self.limits.max_command_bytes,
        })
    }

    /// Answers clients; `round` is the answering acceptor's, the clients' hint of the leader.
    pub(super) fn send_replies(&self, replies: Vec<Outgoing>, round: Round, o: &mut Out<Self>) {
        for out in replies {
            let reply = ServiceMsg::Reply {
                seq: out.seq,
                reply: out.reply,
                round,
            };
            o.send(self.client_id(out.client), reply);
        }
    }

    pub(super) fn quorum(&self) -> usize {
        match &self.log.role {
            LogRole::Acceptor(a) => a.rules.quorum,
            LogRole::Proposer(p) => p.rules.quorum,
            LogRole::Learner(rules) => rules.quorum,
        }
    }
}

/// The log actor's commands, as this actor's.
pub(super) fn lift(out: Out<LogNode<Batch, HmacSha256>>, o: &mut Out<ServiceNode>) {
    for command in out {
        match command {
            OutCommand::Send(dst, msg) => o.send(dst, ServiceMsg::Log(msg)),
            OutCommand::SetTimer(timer, range) => o.set_timer(ServiceTimer::Log(timer), range),
            OutCommand::CancelTimer(timer) => o.cancel_timer(ServiceTimer::Log(timer)),
            OutCommand::Save(stable) => o.save(
                ServiceDurable {
                    log: stable,
                    snapshot: None,
                }
                .into(),
            ),
            OutCommand::ChooseRandom(..) => {}
        }
    }
}
