//! The service's actor: the model-checked log actor ([`LogNode`]) with a replica of the store
//! around each acceptor and a command queue around each proposer. Every log message goes to
//! the log actor unchanged; this layer only adds clients and catch-up around it.

use super::command::{Batch, Command, CommandKeys};
use super::msg::{ServiceMsg, SlotValue};
use super::queue::Queue;
use super::replica::{Outgoing, Replica};
use super::store::ServiceDurable;
use super::transfer::Received;
use crate::auth::HmacSha256;
use crate::cluster_config::Limits;
use crate::log::acceptor::{LogAcceptorState, Repeat};
use crate::log::message::LogMsg;
use crate::log::node::{LogNode, LogNodeState, LogRole};
use crate::node::NodeTimer;
use crate::step::{Peer, To};
use crate::types::{AcceptorId, ClientId};
use stateright::actor::{Actor, Command as OutCommand, Id, Out};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

/// How the service batches and compacts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// A proposer proposes a new slot only while fewer than this many are undecided.
    pub max_in_flight: u64,
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
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            max_in_flight: 1,
            max_batch: 256,
            retain: 256,
            snapshot_every: 256,
            tick: Duration::from_millis(100),
            retransmit: Duration::from_millis(50),
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

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ServiceState {
    Acceptor {
        log: LogNodeState<Batch>,
        replica: Replica,
    },
    Proposer {
        log: LogNodeState<Batch>,
        queue: Queue,
    },
}

impl ServiceState {
    /// The acceptor's log state, if it is one.
    pub fn acceptor(&self) -> Option<(&LogAcceptorState<SlotValue>, &Replica)> {
        match self {
            ServiceState::Acceptor {
                log: LogNodeState::Acceptor(log),
                replica,
            } => Some((log, replica)),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceTimer {
    Log(NodeTimer),
    /// A replica's periodic check for lagging.
    Tick,
}

impl ServiceNode {
    fn acceptors(&self) -> usize {
        self.log.topology.cluster.acceptors()
    }

    fn client_id(&self, client: ClientId) -> Id {
        let cluster = &self.log.topology.cluster;
        Id::from(cluster.acceptors() + cluster.proposers + usize::from(client.0))
    }

    fn client_of(&self, id: Id) -> Option<ClientId> {
        let cluster = &self.log.topology.cluster;
        let first = cluster.acceptors() + cluster.proposers;
        let index = usize::from(id).checked_sub(first)?;
        u16::try_from(index).ok().map(ClientId)
    }

    /// The most bytes of one command and of one batch, as limits measure them.
    fn max_command_bytes(&self) -> usize {
        usize::try_from(self.limits.max_command_bytes).unwrap_or(usize::MAX)
    }

    fn max_batch_bytes(&self) -> usize {
        usize::try_from(self.limits.max_batch_bytes).unwrap_or(usize::MAX)
    }

    /// The answer to a command over the size limit, which is never queued nor proposed.
    fn too_large(&self, command: &Command) -> Option<ServiceMsg> {
        let size = command.encoded_len();
        (size > self.max_command_bytes()).then_some(ServiceMsg::TooLarge {
            seq: command.seq,
            size: size as u64,
            max: self.limits.max_command_bytes,
        })
    }

    fn me(&self, id: Id) -> AcceptorId {
        AcceptorId(usize::from(id) as u16)
    }

    /// Runs a step of the log actor on `log`, and carries out its commands.
    fn log_step(
        log: &mut LogNodeState<Batch>,
        o: &mut Out<Self>,
        step: impl FnOnce(&mut Cow<LogNodeState<Batch>>, &mut Out<LogNode<Batch, HmacSha256>>),
    ) -> bool {
        let mut out = Out::new();
        let mut state = Cow::Borrowed(&*log);
        step(&mut state, &mut out);
        let changed = match state {
            Cow::Owned(next) => {
                *log = next;
                true
            }
            Cow::Borrowed(_) => false,
        };
        lift(out, o);
        changed
    }

    fn send_replies(&self, replies: Vec<Outgoing>, o: &mut Out<Self>) {
        for out in replies {
            let reply = ServiceMsg::Reply {
                seq: out.seq,
                reply: out.reply,
            };
            o.send(self.client_id(out.client), reply);
        }
    }

    /// After a change of an acceptor's log: apply, answer, drop what is no longer needed.
    fn after_acceptor_step(
        &self,
        id: Id,
        log: &mut LogNodeState<Batch>,
        replica: &mut Replica,
        o: &mut Out<Self>,
    ) {
        let LogNodeState::Acceptor(acceptor) = log else {
            return;
        };
        let replies = replica.apply_decided(acceptor, self.me(id), self.acceptors(), &self.keys);
        self.send_replies(replies, o);
        // What is dropped below must stay durable here: the snapshot covers it, and it is
        // saved (synced) before the store of votes drops anything.
        let snapshot = replica.take_snapshot(self.tuning.snapshot_every);
        let mut changed = snapshot.is_some();
        if let Some(next) = acceptor.drop_decided_votes_below(replica.snapshot_at) {
            *acceptor = next;
            changed = true;
        }
        let keep_from = replica
            .applied
            .saturating_sub(self.tuning.retain)
            .min(replica.snapshot_at);
        if keep_from >= acceptor.learner.base + self.tuning.retain
            && let Some(learner) = acceptor.learner.forget_below(keep_from)
        {
            acceptor.learner = learner;
        }
        if changed {
            o.save(ServiceDurable {
                log: acceptor.durable(),
                snapshot,
            });
        }
    }

    fn on_acceptor_msg(
        &self,
        id: Id,
        log: &mut LogNodeState<Batch>,
        replica: &mut Replica,
        src: Id,
        msg: ServiceMsg,
        o: &mut Out<Self>,
    ) {
        let from = self.log.topology.peer(src);
        // Whether the log may have changed: only then is there anything to apply or drop.
        let changed = match (from, msg) {
            (from, ServiceMsg::Log(m)) => {
                // Only a proposer's ACCEPT is answered, as only a proposer's is taken.
                let accept = (matches!(from, Peer::Proposer(_))
                    && matches!(m, LogMsg::Accept { .. } | LogMsg::AcceptByDigest { .. }))
                .then(|| m.clone());
                let changed = Self::log_step(log, o, |s, out| self.log.on_msg(id, s, src, m, out));
                if let (false, Some(accept)) = (changed, accept) {
                    self.answer_repeat(id, log, src, &accept, o);
                }
                changed
            }
            (Peer::Client, ServiceMsg::Request(command)) => {
                if Some(command.client) != self.client_of(src) {
                    return;
                }
                if let Some(refusal) = self.too_large(&command) {
                    o.send(src, refusal);
                } else if let Some(out) = replica.resent(&command, &self.keys) {
                    let reply = ServiceMsg::Reply {
                        seq: out.seq,
                        reply: out.reply,
                    };
                    o.send(src, reply);
                }
                false
            }
            (Peer::Acceptor(_), ServiceMsg::CatchUp { from }) => {
                if let LogNodeState::Acceptor(acceptor) = &*log {
                    let answer = if from < acceptor.learner.base {
                        // Forgotten here: only a copy of the store helps.
                        let (applied, digest) = (replica.applied, replica.log_digest);
                        replica
                            .transfer
                            .offer_from(applied, &replica.store, digest, from)
                    } else {
                        replica.catch_up_answer(acceptor, from)
                    };
                    match answer {
                        Some(answer) => o.send(src, answer),
                        // Not known decided here either: its votes may decide it again.
                        None => {
                            for learn in replica.relearn(acceptor, from) {
                                o.send(src, ServiceMsg::Log(learn));
                            }
                        }
                    }
                }
                false
            }
            (Peer::Acceptor(_), ServiceMsg::SnapshotFetch { applied, offset }) => {
                if let Some(part) = replica.transfer.fetch(applied, offset) {
                    o.send(src, part);
                }
                false
            }
            (Peer::Acceptor(_), ServiceMsg::Decisions { first, decisions }) => {
                if let (LogRole::Acceptor(rules), LogNodeState::Acceptor(acceptor)) =
                    (&self.log.role, &mut *log)
                {
                    for (slot, decision) in (first..).zip(&decisions) {
                        if slot < acceptor.learner.base {
                            // Forgotten by its learner since a restart: straight to the store.
                            if slot == replica.applied {
                                let me = self.me(id);
                                let replies = replica.apply_next(
                                    &decision.value,
                                    me,
                                    self.acceptors(),
                                    &self.keys,
                                );
                                self.send_replies(replies, o);
                            }
                        } else if let Some(step) = rules.catch_up(acceptor, slot, decision) {
                            *acceptor = step.state;
                        }
                    }
                }
                true
            }
            (Peer::Acceptor(_), ServiceMsg::Snapshot(part)) => {
                match replica.transfer.receive(src, replica.applied, part) {
                    Received::Ignored => false,
                    Received::Fetch(to, fetch) => {
                        o.send(to, fetch);
                        false
                    }
                    Received::Complete {
                        applied,
                        log_digest,
                        store,
                    } => {
                        if let LogNodeState::Acceptor(acceptor) = &mut *log
                            && applied > replica.applied
                        {
                            replica.store = Arc::new(store);
                            replica.applied = applied;
                            replica.log_digest = log_digest;
                            replica.installed += 1;
                            if let Some(learner) = acceptor.learner.skip_to(applied) {
                                acceptor.learner = learner;
                            }
                        }
                        true
                    }
                }
            }
            _ => false,
        };
        if !changed {
            return;
        }
        self.after_acceptor_step(id, log, replica, o);
    }

    /// Carries out the acceptor's answer to a repeated ACCEPT.
    fn answer_repeat(
        &self,
        id: Id,
        log: &LogNodeState<Batch>,
        src: Id,
        msg: &LogMsg<SlotValue>,
        o: &mut Out<Self>,
    ) {
        let (LogRole::Acceptor(rules), LogNodeState::Acceptor(acceptor)) = (&self.log.role, log)
        else {
            return;
        };
        match rules.repeated_accept(acceptor, msg) {
            Some(Repeat::Decided { slot, decision }) => {
                let decisions = vec![decision];
                o.send(
                    src,
                    ServiceMsg::Decisions {
                        first: slot,
                        decisions,
                    },
                );
            }
            Some(Repeat::Learn(learn)) => {
                let learners = self.log.topology.recipients(id, To::Learners);
                for to in learners.into_iter().filter(|l| *l != id) {
                    o.send(to, ServiceMsg::Log(learn.clone()));
                }
            }
            None => {}
        }
    }

    fn on_proposer_msg(
        &self,
        id: Id,
        log: &mut LogNodeState<Batch>,
        queue: &mut Queue,
        src: Id,
        msg: ServiceMsg,
        o: &mut Out<Self>,
    ) {
        let from = self.log.topology.peer(src);
        match (from, msg) {
            (Peer::Acceptor(a), ServiceMsg::Log(LogMsg::Learn { round, slot, value })) => {
                queue.learn(self.quorum(), a, round, slot, &value);
            }
            (Peer::Acceptor(_), ServiceMsg::Decisions { first, decisions }) => {
                for (slot, decision) in (first..).zip(&decisions) {
                    queue.decided(slot, decision);
                }
            }
            (_, ServiceMsg::Log(m)) => {
                // A new round's plan proposes every pending command.
                let before = proposed(log);
                let pending = queue.batches(self.tuning.max_batch, self.max_batch_bytes());
                let mut out = Out::new();
                if let Some(next) = self
                    .log
                    .proposer_on_msg(id, log, src, &m, &pending, &mut out)
                {
                    *log = next;
                }
                if proposed(log) != before {
                    queue.pending.clear();
                    queue.unacked.clear();
                }
                queue.record(&out);
                lift(out, o);
            }
            // One too large is dropped: an acceptor, which the client asks on its resend,
            // answers it (a proposer does not answer clients).
            (Peer::Client, ServiceMsg::Request(command))
                if Some(command.client) == self.client_of(src)
                    && self.too_large(&command).is_none() =>
            {
                queue.push(command);
            }
            _ => {}
        }
        self.flush(id, log, queue, o);
    }

    /// Proposes pending commands while few slots are in flight.
    fn flush(&self, id: Id, log: &mut LogNodeState<Batch>, queue: &mut Queue, o: &mut Out<Self>) {
        loop {
            let LogNodeState::Proposer(p) = &*log else {
                return;
            };
            let Some(leading) = &p.leading else {
                return;
            };
            if queue.pending.is_empty()
                || queue.in_flight(leading.next_slot) >= self.tuning.max_in_flight
            {
                return;
            }
            let Some(batch) = queue.take_batch(self.tuning.max_batch, self.max_batch_bytes())
            else {
                return;
            };
            let mut out = Out::new();
            match self.log.submit(id, log, batch, &mut out) {
                Some(next) => *log = next,
                None => return,
            }
            queue.record(&out);
            lift(out, o);
        }
    }

    fn quorum(&self) -> usize {
        match &self.log.role {
            LogRole::Acceptor(a) => a.rules.quorum,
            LogRole::Proposer(p) => p.rules.quorum,
            LogRole::Learner(rules) => rules.quorum,
        }
    }
}

fn proposed(log: &LogNodeState<Batch>) -> Option<crate::types::Round> {
    match log {
        LogNodeState::Proposer(p) => p.proposed(),
        _ => None,
    }
}

/// Keeps the last PROMISE among a step's sends, to send again ([`resend_promise`]); whether
/// there was one (the acceptor moved to a new round).
fn note_promise(replica: &mut Replica, out: &Out<ServiceNode>) -> bool {
    let mut promised = false;
    for command in out.iter() {
        if let OutCommand::Send(to, ServiceMsg::Log(promise @ LogMsg::Promise(_))) = command {
            replica.promised = Some(Box::new((*to, promise.clone())));
            promised = true;
        }
    }
    promised
}

/// Sends the acceptor's PROMISE for its round again while the round has not begun for it (no
/// NEWROUND verified, no vote cast in it). A PROMISE with many open votes travels as many
/// fragments and arrives only if each does; the copy is the same bytes, so the leader's
/// reassembly completes the message from the fragments of every copy. Safe as a duplicate
/// the network could have made: the PROMISE was true when sent and the leader takes one per
/// acceptor and round.
fn resend_promise(
    acceptor: &LogAcceptorState<SlotValue>,
    replica: &mut Replica,
    o: &mut Out<ServiceNode>,
) {
    let Some(promised) = &replica.promised else {
        return;
    };
    let (to, msg) = &**promised;
    let round = match msg {
        LogMsg::Promise(p) => p.round,
        _ => return,
    };
    let begun = acceptor
        .round_proof
        .as_ref()
        .is_some_and(|k| k.round >= round)
        || acceptor.votes.values().any(|v| v.round >= round);
    if acceptor.rnd != round || begun {
        replica.promised = None;
        return;
    }
    o.send(*to, ServiceMsg::Log(msg.clone()));
}

/// One step's commands with its saves made one, first: the acceptor's final durable state
/// (and the snapshot, if the step took one), so that a step syncs once and every send of
/// the step follows it.
fn save_once(log: &LogNodeState<Batch>, out: Out<ServiceNode>, o: &mut Out<ServiceNode>) {
    let mut saved = false;
    let mut snapshot = None;
    let mut rest = Vec::new();
    for command in out {
        match command {
            OutCommand::Save(durable) => {
                saved = true;
                snapshot = durable.snapshot.or(snapshot);
            }
            other => rest.push(other),
        }
    }
    if let (true, LogNodeState::Acceptor(acceptor)) = (saved, log) {
        o.save(ServiceDurable {
            log: acceptor.durable(),
            snapshot,
        });
    }
    o.append(&mut rest.into_iter().collect::<Out<ServiceNode>>());
}

/// The log actor's commands, as this actor's.
fn lift(out: Out<LogNode<Batch, HmacSha256>>, o: &mut Out<ServiceNode>) {
    for command in out {
        match command {
            OutCommand::Send(dst, msg) => o.send(dst, ServiceMsg::Log(msg)),
            OutCommand::SetTimer(timer, range) => o.set_timer(ServiceTimer::Log(timer), range),
            OutCommand::CancelTimer(timer) => o.cancel_timer(ServiceTimer::Log(timer)),
            OutCommand::Save(stable) => o.save(ServiceDurable {
                log: stable,
                snapshot: None,
            }),
            OutCommand::ChooseRandom(..) => {}
        }
    }
}

impl Actor for ServiceNode {
    type Msg = ServiceMsg;
    type State = ServiceState;
    type Timer = ServiceTimer;
    type Storage = ServiceDurable;
    type Random = ();

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        let mut out = Out::new();
        let log_storage = storage.as_ref().map(|s| s.log.clone());
        let log = self.log.on_start(id, &log_storage, &mut out);
        lift(out, o);
        match &self.log.role {
            LogRole::Acceptor(_) => {
                o.set_timer(ServiceTimer::Tick, self.tuning.tick..self.tuning.tick * 2);
                let snapshot = storage.as_ref().and_then(|s| s.snapshot.as_ref());
                ServiceState::Acceptor {
                    log,
                    replica: Replica::recover(snapshot),
                }
            }
            _ => {
                let every = self.tuning.retransmit;
                o.set_timer(ServiceTimer::Tick, every..every + every / 2);
                ServiceState::Proposer {
                    log,
                    queue: Queue::default(),
                }
            }
        }
    }

    fn on_msg(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        src: Id,
        msg: Self::Msg,
        o: &mut Out<Self>,
    ) {
        match state.to_mut() {
            ServiceState::Acceptor { log, replica } => {
                let mut out = Out::new();
                self.on_acceptor_msg(id, log, replica, src, msg, &mut out);
                if note_promise(replica, &out) {
                    // A round joined on a message (a peer's TRUSTCHANGE, an invalid proof):
                    // its leader gets a whole suspicion period, not what was left of the last.
                    let suspect = self.log.topology.suspect_after.clone();
                    out.set_timer(ServiceTimer::Log(NodeTimer::SuspectLeader), suspect);
                }
                save_once(log, out, o);
            }
            ServiceState::Proposer { log, queue } => {
                self.on_proposer_msg(id, log, queue, src, msg, o)
            }
        }
    }

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        timer: &Self::Timer,
        o: &mut Out<Self>,
    ) {
        match state.to_mut() {
            ServiceState::Acceptor { log, replica } => {
                let mut out = Out::new();
                self.on_acceptor_timeout(id, log, replica, timer, &mut out);
                note_promise(replica, &out);
                save_once(log, out, o);
            }
            ServiceState::Proposer { queue, .. } => {
                // Resend what was not seen decided since the last tick: UDP may lose it.
                let acceptors = self.log.topology.recipients(id, To::Acceptors);
                for msg in queue.unacked_since_last_tick() {
                    for a in &acceptors {
                        o.send(*a, ServiceMsg::Log(msg.clone()));
                    }
                }
                let every = self.tuning.retransmit;
                o.set_timer(ServiceTimer::Tick, every..every + every / 2);
            }
        }
    }
}

impl ServiceNode {
    fn on_acceptor_timeout(
        &self,
        id: Id,
        log: &mut LogNodeState<Batch>,
        replica: &mut Replica,
        timer: &ServiceTimer,
        o: &mut Out<Self>,
    ) {
        match timer {
            ServiceTimer::Log(t) => {
                // A log never ends: suspect the leader only while commands wait for it.
                if replica.stalled() {
                    Self::log_step(log, o, |s, out| self.log.on_timeout(id, s, t, out));
                } else {
                    let suspect = self.log.topology.suspect_after.clone();
                    o.set_timer(ServiceTimer::Log(t.clone()), suspect);
                }
            }
            ServiceTimer::Tick => {
                if let LogNodeState::Acceptor(acceptor) = &*log {
                    resend_promise(acceptor, replica, o);
                }
                if let Some((to, fetch)) = replica.transfer.tick() {
                    // A copy of the store on its way: ask again for the part that is late.
                    o.send(to, fetch);
                } else if let LogNodeState::Acceptor(acceptor) = &*log
                    && let Some(from) = replica.lagging(acceptor)
                {
                    for peer in self.log.topology.recipients(id, To::OtherAcceptors) {
                        o.send(peer, ServiceMsg::CatchUp { from });
                    }
                    // Its own votes count towards a quorum too: a restarted learner heard
                    // none of its LEARNs.
                    if from >= acceptor.learner.base {
                        for learn in replica.relearn(acceptor, from) {
                            o.send(id, ServiceMsg::Log(learn));
                        }
                    }
                }
                o.set_timer(ServiceTimer::Tick, self.tuning.tick..self.tuning.tick * 2);
            }
        }
        self.after_acceptor_step(id, log, replica, o);
    }
}
