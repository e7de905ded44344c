//! An acceptor's replica of the key-value store: it applies the decided prefix of the log in
//! order, answers clients, watches for commands that wait too long, and helps lagging peers
//! catch up. Pure functions over the acceptor's log state; the actor carries out their output.

use super::command::{Command, CommandKeys};
use super::kv::{Applied, KvStore, Reply};
use super::msg::{ServiceMsg, SlotValue};
use super::store::ReplicaSnapshot;
use super::suspicion::Suspicion;
use super::transfer::Transfer;
use super::vote_bytes::VoteBytes;
use crate::learner::Decision;
use crate::log::Slot;
use crate::log::acceptor::LogAcceptorState;
use crate::log::message::LogMsg;
use crate::log::value::LogValue;
use crate::runtime::wire::encoded_len;
use crate::types::{AcceptorId, ClientId, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// At most this many bytes of decisions in one `Decisions` message (unless its first decision
/// alone has more), so that it fits one datagram and a lagging replica asks for the rest.
pub const CATCH_UP_BYTES: usize = 48 * 1024;

/// The store and how far the log has been applied to it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Replica {
    /// Shared, so that a step that does not apply anything does not copy it.
    pub store: Arc<KvStore>,
    /// Every slot below it is applied.
    pub applied: Slot,
    /// A SHA-256 chain over the values applied, slot by slot: replicas that applied the same
    /// log have the same digest (what a torture run compares).
    pub log_digest: [u8; 32],
    /// Commands that clients resent to this acceptor and that are not applied yet, by
    /// client: the command's seq and the check it arrived after.
    pub waiting: BTreeMap<ClientId, (u64, u64)>,
    /// How many times the suspect timer fired.
    pub checks: u64,
    /// The `applied` of the last snapshot taken. The store writes and syncs it beside the
    /// votes, so nothing is dropped below it until the next one is taken.
    pub snapshot_at: Slot,
    /// The `applied` of the snapshot taken before the last: votes and decided values below
    /// it may be dropped, none at or above it. By then the store has long synced it, and a
    /// save that drops votes below a snapshot still being written waits for it.
    pub snapshot_before: Slot,
    /// The copies of the store this replica sends and receives in parts.
    pub transfer: Transfer,
    /// How many copies of a peer's store it installed (snapshot catch-ups), for reports.
    pub installed: u64,
    /// The last PROMISE its acceptor sent, and to whom: sent again on each tick until its
    /// round begins. Volatile, as the sends of a step are; boxed, as it is rarely set.
    pub promised: Option<Box<(stateright::actor::Id, LogMsg<SlotValue>)>>,
    /// How long its acceptor waits for a decision before it suspects the leader.
    pub suspicion: Suspicion,
    /// The sizes of its acceptor's votes from `snapshot_at` on, each counted once.
    pub vote_bytes: VoteBytes,
}

/// A reply for a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub client: ClientId,
    pub seq: u64,
    pub reply: Reply,
}

impl Replica {
    /// A replica restarted from its last snapshot (or afresh, without one).
    pub fn recover(snapshot: Option<&ReplicaSnapshot>) -> Self {
        match snapshot {
            Some(s) => Replica {
                store: Arc::clone(&s.store),
                applied: s.applied,
                log_digest: s.log_digest,
                snapshot_at: s.applied,
                snapshot_before: s.applied,
                ..Replica::default()
            },
            None => Replica::default(),
        }
    }

    /// Installs a peer's copy of its store, applied up to `applied`, if that is ahead of this
    /// replica (`None` if not), and stops waiting for the commands it applied: the replies
    /// owed to the clients that resent them, as applying them here would have answered.
    pub fn install(
        &mut self,
        applied: Slot,
        log_digest: [u8; 32],
        store: KvStore,
    ) -> Option<Vec<Outgoing>> {
        if applied <= self.applied {
            return None;
        }
        self.store = Arc::new(store);
        self.applied = applied;
        self.log_digest = log_digest;
        self.installed += 1;
        // The installed store applied some of the commands awaited here; waiting for them
        // still would have the suspect timer blame the leader for work that is done.
        let mut owed = Vec::new();
        let store = &self.store;
        self.waiting
            .retain(|client, (seq, _)| match store.session(*client) {
                Some((applied_seq, reply)) if applied_seq >= *seq => {
                    // Only the latest reply is kept: a later command answers for this one.
                    if applied_seq == *seq {
                        owed.push(Outgoing {
                            client: *client,
                            seq: *seq,
                            reply: reply.clone(),
                        });
                    }
                    false
                }
                _ => true,
            });
        Some(owed)
    }

    /// A snapshot of the applied state if one is due (`every` slots applied since the last,
    /// or `due` for another reason and anything applied since). The caller saves it; what it
    /// covers is dropped only once the next one is taken ([`Replica::snapshot_before`]).
    pub fn take_snapshot(&mut self, every: Slot, due: bool) -> Option<ReplicaSnapshot> {
        let slots_due = self.applied >= self.snapshot_at.saturating_add(every.max(1));
        if !(slots_due || due && self.applied > self.snapshot_at) {
            return None;
        }
        self.snapshot_before = self.snapshot_at;
        self.snapshot_at = self.applied;
        Some(ReplicaSnapshot {
            applied: self.applied,
            log_digest: self.log_digest,
            store: Arc::clone(&self.store),
        })
    }

    /// Applies every decided slot it can, in order, and returns the replies this acceptor
    /// owes: each command is answered by one acceptor, chosen by the command, or by every
    /// acceptor the client resent it to (so a lost reply or a crashed acceptor costs only a
    /// retry).
    pub fn apply_decided(
        &mut self,
        log: &LogAcceptorState<SlotValue>,
        me: AcceptorId,
        acceptors: usize,
        keys: &CommandKeys,
    ) -> Vec<Outgoing> {
        let mut replies = Vec::new();
        // Below the learner's base the values are gone: only a transfer can bring them.
        while self.applied >= log.learner().base() {
            let Some(decision) = log.learner().decided(self.applied) else {
                break;
            };
            replies.extend(self.apply_next(&decision.value, me, acceptors, keys));
        }
        replies
    }

    /// Applies the value of slot `applied` (from the log, or transferred from a peer).
    pub fn apply_next(
        &mut self,
        value: &SlotValue,
        me: AcceptorId,
        acceptors: usize,
        keys: &CommandKeys,
    ) -> Vec<Outgoing> {
        let mut replies = Vec::new();
        let mut chain = Sha256::new();
        chain.update(self.log_digest);
        let mut encoded = Vec::new();
        value.encode(&mut encoded);
        chain.update(&encoded);
        self.log_digest = chain.finalize().into();
        if let LogValue::Batch(batch) = value {
            let store = Arc::make_mut(&mut self.store);
            for command in batch.0.iter() {
                let reply = match store.apply(command, keys) {
                    Applied::Executed(reply) | Applied::Duplicate(Some(reply)) => reply,
                    Applied::Duplicate(None) | Applied::Forged => continue,
                };
                let waited = self.waiting.get(&command.client).map(|(seq, _)| *seq);
                if waited == Some(command.seq) || answers(command, me, acceptors) {
                    replies.push(Outgoing {
                        client: command.client,
                        seq: command.seq,
                        reply,
                    });
                }
                if waited.is_some_and(|seq| seq <= command.seq) {
                    self.waiting.remove(&command.client);
                }
            }
        }
        self.applied += 1;
        replies
    }

    /// A command a client resent to this acceptor. If it was applied already, its reply is
    /// returned (the first one was lost); otherwise the acceptor now waits for it.
    pub fn resent(&mut self, command: &Command, keys: &CommandKeys) -> Option<Outgoing> {
        if !command.is_authentic(keys) {
            return None;
        }
        match self.store.session(command.client) {
            Some((seq, reply)) if seq == command.seq => Some(Outgoing {
                client: command.client,
                seq,
                reply: reply.clone(),
            }),
            Some((seq, _)) if seq > command.seq => None,
            _ => {
                // A command resent again keeps the check it first arrived after.
                let since = match self.waiting.get(&command.client) {
                    Some((seq, since)) if *seq == command.seq => *since,
                    _ => self.checks,
                };
                self.waiting.insert(command.client, (command.seq, since));
                None
            }
        }
    }

    /// The suspect timer fired: whether the leader should be suspected, because a command
    /// has waited a whole period of the timer and is still not applied.
    pub fn stalled(&mut self) -> bool {
        let stalled = self.waiting.values().any(|(_, since)| *since < self.checks);
        self.checks += 1;
        if stalled {
            // Suspected once for these; a client that still waits will resend.
            self.waiting.clear();
        }
        stalled
    }

    /// Whether this replica lags: the log has a decided slot above a hole, or the values it
    /// needs next were forgotten. Where to catch up from.
    pub fn lagging(&self, log: &LogAcceptorState<SlotValue>) -> Option<Slot> {
        if self.applied < log.learner().base() {
            return Some(self.applied);
        }
        let d = log.learner().decided_prefix();
        let above_hole = log.learner().decided_from(d);
        // A client that resent a command suspects this replica may lag too (the LEARNs of
        // the last slot may all have been lost): ask before suspecting the leader.
        (above_hole || !self.waiting.is_empty()).then_some(d)
    }

    /// The decisions this replica's log kept from `from` on, for a peer's `CatchUp { from }`:
    /// as many as fit [`CATCH_UP_BYTES`], at least one. `None` if it forgot slot `from` (then
    /// only a copy of the store helps, see [`super::transfer`]) or knows no more than the peer.
    pub fn catch_up_answer(
        &self,
        log: &LogAcceptorState<SlotValue>,
        from: Slot,
    ) -> Option<ServiceMsg> {
        if from < log.learner().base() {
            return None;
        }
        let mut decisions: Vec<Decision<SlotValue>> = Vec::new();
        let mut bytes = 0;
        let mut slot = from;
        while let Some(decision) = log.learner().decided(slot) {
            let size = encoded_len(decision);
            if !decisions.is_empty() && bytes + size > CATCH_UP_BYTES {
                break;
            }
            bytes += size;
            decisions.push(decision.clone());
            slot += 1;
        }
        (!decisions.is_empty()).then_some(ServiceMsg::Decisions {
            first: from,
            decisions,
        })
    }

    /// The LEARNs of this acceptor's own votes from slot `from` on (as many as fit
    /// [`CATCH_UP_BYTES`], at least one), for a replica that lags where no replica knows
    /// the slots decided: after every acceptor restarted, the slots above their snapshots
    /// are decided only in the votes they hold, and a learner that hears the LEARNs of a
    /// quorum again decides them again, with no trust change. Each repeats a vote this
    /// acceptor cast, as a repeated ACCEPT makes it do (PROTOCOL.md §8).
    pub fn relearn(&self, log: &LogAcceptorState<SlotValue>, from: Slot) -> Vec<LogMsg<SlotValue>> {
        let mut learns = Vec::new();
        let mut bytes = 0;
        for (slot, vote) in log.votes().range(from..) {
            let size = encoded_len(&vote.value);
            if !learns.is_empty() && bytes + size > CATCH_UP_BYTES {
                break;
            }
            bytes += size;
            learns.push(LogMsg::Learn {
                round: vote.round,
                slot: *slot,
                value: vote.value.clone(),
            });
        }
        learns
    }
}

/// The acceptor that answers `command` when the client has not resent it.
fn answers(command: &Command, me: AcceptorId, acceptors: usize) -> bool {
    let spread = u64::from(command.client.0).wrapping_add(command.seq);
    spread % acceptors.max(1) as u64 == u64::from(me.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a snapshot covers may be dropped only once the next one is taken: by then the
    /// store has synced it, where the one just taken is still being written.
    #[test]
    fn only_the_snapshot_before_the_last_may_be_compacted_below() {
        let recovered = ReplicaSnapshot {
            applied: 10,
            log_digest: [0; 32],
            store: Arc::new(KvStore::default()),
        };
        let mut replica = Replica::recover(Some(&recovered));
        assert_eq!((replica.snapshot_at, replica.snapshot_before), (10, 10));
        replica.applied = 300;
        let taken = replica.take_snapshot(256, false).map(|s| s.applied);
        assert_eq!(taken, Some(300));
        assert_eq!((replica.snapshot_at, replica.snapshot_before), (300, 10));
        replica.applied = 400;
        assert!(replica.take_snapshot(256, false).is_none());
        replica.applied = 600;
        assert!(replica.take_snapshot(256, false).is_some());
        assert_eq!((replica.snapshot_at, replica.snapshot_before), (600, 300));
    }

    /// A command a client resent, then applied by a peer whose store this replica installs,
    /// is no longer awaited: its wait would make the suspect timer blame the leader for a
    /// command that is done.
    #[test]
    fn a_store_installed_ends_the_wait_for_the_commands_it_applied() {
        let key = b"client key".to_vec();
        let mut keys = CommandKeys::default();
        keys.insert(ClientId(0), key.clone());
        keys.insert(ClientId(1), key.clone());
        let op = || crate::service::Op::Get { key: "k".into() };
        let done = Command::signed(ClientId(0), 3, op(), &key);
        let still_waiting = Command::signed(ClientId(1), 5, op(), &key);

        let mut replica = Replica::recover(None);
        assert_eq!(replica.resent(&done, &keys), None);
        assert_eq!(replica.resent(&still_waiting, &keys), None);
        let mut peers = KvStore::default();
        let Applied::Executed(reply) = peers.apply(&done, &keys) else {
            panic!("a fresh store executes client 0's first command");
        };
        // Client 1's command 4 was applied, not the 5 it waits for.
        let before = Command::signed(ClientId(1), 4, op(), &key);
        assert!(matches!(peers.apply(&before, &keys), Applied::Executed(_)));
        let owed = replica.install(7, [0; 32], peers).expect("a store ahead");

        assert_eq!(
            owed.iter()
                .map(|o| (o.client, o.seq, &o.reply))
                .collect::<Vec<_>>(),
            [(ClientId(0), 3, &reply)],
            "client 0 is answered as applying its command would have"
        );

        assert!(
            !replica.waiting.contains_key(&ClientId(0)),
            "client 0 is done"
        );
        assert!(
            replica.waiting.contains_key(&ClientId(1)),
            "client 1 still waits"
        );
    }
}
