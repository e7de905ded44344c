//! What the service adds around a log acceptor: a [`Replica`] of the store that applies the
//! decided prefix and answers clients, catch-up of lagging peers (their decisions, or a copy of
//! the store in parts), compaction behind synced snapshots, answers to repeated ACCEPTs, and
//! PROMISEs sent again until their round begins, and the suspicion timer, whose period grows
//! with the rounds entered without a decision ([`super::suspicion`]). The log is reached only
//! through its face ([`crate::log::face`]); each step's saves are made one, ahead of its sends.

use super::command::Command;
use super::msg::{ServiceMsg, SlotValue};
use super::node::{ServiceNode, ServiceState, ServiceTimer, lift};
use super::proposer_store::ServerDurable;
use super::replica::Replica;
use super::store::ServiceDurable;
use super::suspicion::Suspicion;
use super::transfer::{Part, Received};
use crate::auth::HmacSha256;
use crate::learner::Decision;
use crate::log::Slot;
use crate::log::acceptor::{LogAcceptor, LogAcceptorState, LogAcceptorStep, LogEffects};
use crate::log::face::Repeat;
use crate::log::message::LogMsg;
use crate::log::step::{LogEffect, LogStep};
use crate::node::NodeTimer;
use crate::step::{Peer, To};
use crate::types::AcceptorId;
use stateright::actor::{Command as OutCommand, Id, Out};

/// The service's acceptor `id`, whose log acceptor is `acceptor`.
pub(super) struct AcceptorSide<'a> {
    pub node: &'a ServiceNode,
    pub acceptor: &'a LogAcceptor<HmacSha256>,
    pub id: Id,
}

impl AcceptorSide<'_> {
    /// Recovers the log from its stored votes and the replica from its snapshot.
    pub fn start(
        &self,
        storage: Option<&ServiceDurable>,
        o: &mut Out<ServiceNode>,
    ) -> ServiceState {
        let log = storage.map_or_else(LogAcceptorState::initial, |s| {
            LogAcceptorState::recover(&s.log)
        });
        let mut replica = Replica {
            suspicion: Suspicion::recovered(&log),
            ..Replica::recover(storage.and_then(|s| s.snapshot.as_ref()))
        };
        // Its own snapshot is a state transfer too: every slot below it is decided. Else the
        // learner starts at the votes' base, below it, and asks peers for slots they forgot
        // and answer with copies older than its own, which it ignores, for good.
        let mut log = match self.acceptor.install_snapshot(&log, replica.applied) {
            Some(step) => step.state,
            None => log,
        };
        // Restarted in a round that has not begun here: the PROMISE it sent its leader may
        // be lost with the leader's memory (a restart of the whole cluster), and its own copy
        // to resend is gone. Promised again, and kept to resend until the round begins.
        if let Some(step) = self.acceptor.promise_again(&log) {
            let mut out = Out::new();
            self.carry_out(&mut log, &mut replica.suspicion, step, &mut out);
            note_promise(&mut replica, &out);
            o.append(&mut out);
        }
        self.arm_suspicion(&log, &replica, o);
        let tick = self.node.tuning.tick;
        o.set_timer(ServiceTimer::Tick, tick..tick * 2);
        ServiceState::Acceptor { log, replica }
    }

    /// Sets the suspicion timer for the whole period of the acceptor's round.
    fn arm_suspicion(
        &self,
        log: &LogAcceptorState<SlotValue>,
        replica: &Replica,
        o: &mut Out<ServiceNode>,
    ) {
        let base = &self.node.log.topology.suspect_after;
        let period = replica.suspicion.period(base, log.rnd());
        o.set_timer(ServiceTimer::Log(NodeTimer::SuspectLeader), period);
    }

    pub fn on_msg(
        &self,
        log: &mut LogAcceptorState<SlotValue>,
        replica: &mut Replica,
        src: Id,
        msg: ServiceMsg,
        o: &mut Out<ServiceNode>,
    ) {
        let mut out = Out::new();
        let from = self.node.log.topology.peer(src);
        let doublings = replica.suspicion.doublings(log.rnd());
        // Whether the log may have changed: only then is there anything to apply or drop.
        let changed = match (from, msg) {
            (from, ServiceMsg::Log(m)) => {
                self.on_log(log, &mut replica.suspicion, from, src, m, &mut out)
            }
            (Peer::Client, ServiceMsg::Request(command)) => {
                self.on_request(log, replica, src, command, &mut out);
                false
            }
            (Peer::Acceptor(_), ServiceMsg::CatchUp { from }) => {
                self.on_catch_up(log, replica, src, from, &mut out);
                false
            }
            (Peer::Acceptor(_), ServiceMsg::SnapshotFetch { applied, offset }) => {
                if let Some(part) = replica.transfer.fetch(applied, offset) {
                    out.send(src, part);
                }
                false
            }
            (Peer::Acceptor(_), ServiceMsg::Decisions { first, decisions }) => {
                self.on_decisions(log, replica, first, &decisions, &mut out);
                true
            }
            (Peer::Acceptor(_), ServiceMsg::Snapshot(part)) => {
                self.on_snapshot_part(log, replica, src, part, &mut out)
            }
            _ => false,
        };
        if changed {
            self.after_step(log, replica, &mut out);
        }
        // A round joined on a message (a peer's TRUSTCHANGE, an invalid proof): its leader
        // gets a whole suspicion period, not what was left of the last, and a longer one than
        // the last leader's if that round ended without a decision. A decision that shortens
        // the period takes effect at once; later ones do not touch the timer, so a leader
        // that decides some commands cannot put off its suspicion for withholding others.
        let joined = note_promise(replica, &out);
        if joined {
            // The commands it waited for were passed on to the last leader, not to this
            // one: suspecting this one for them would let a client that sends to the
            // acceptors alone (a Byzantine one) end an honest leader's round. A client that
            // still waits resends, to every proposer, and is awaited again.
            replica.waiting.clear();
        }
        if joined || replica.suspicion.doublings(log.rnd()) != doublings {
            self.arm_suspicion(log, replica, &mut out);
        }
        save_once(log, out, o);
    }

    pub fn on_timeout(
        &self,
        log: &mut LogAcceptorState<SlotValue>,
        replica: &mut Replica,
        timer: &ServiceTimer,
        o: &mut Out<ServiceNode>,
    ) {
        let mut out = Out::new();
        match timer {
            ServiceTimer::Log(_) => {
                // A log never ends: suspect the leader only while commands wait for it.
                if replica.stalled()
                    && let Some(step) = self.acceptor.timeout(log)
                {
                    self.carry_out(log, &mut replica.suspicion, step, &mut out);
                }
                self.arm_suspicion(log, replica, &mut out);
            }
            ServiceTimer::Tick => self.on_tick(log, replica, &mut out),
            // A proposer's timer alone.
            ServiceTimer::Linger => {}
        }
        self.after_step(log, replica, &mut out);
        note_promise(replica, &out);
        save_once(log, out, o);
    }

    /// A log message goes to the log; a proposer's ACCEPT that changed nothing is answered
    /// as a repeat (only a proposer's, as only a proposer's is taken).
    fn on_log(
        &self,
        log: &mut LogAcceptorState<SlotValue>,
        suspicion: &mut Suspicion,
        from: Peer,
        src: Id,
        msg: LogMsg<SlotValue>,
        o: &mut Out<ServiceNode>,
    ) -> bool {
        if let Some(effects) = self.acceptor.on_message_in_place(log, from, &msg) {
            super::refusals::log_new_round(self.acceptor, log, &msg, true);
            super::refusals::log_unvoted_plan(self.acceptor, log, &msg);
            self.carry_out_effects(log, suspicion, effects, o);
            return true;
        }
        super::refusals::log_new_round(self.acceptor, log, &msg, false);
        let accept = matches!(msg, LogMsg::Accept { .. } | LogMsg::AcceptByDigest { .. });
        if matches!(from, Peer::Proposer(_)) && accept {
            super::refusals::log_refused(self.acceptor, log, from, &msg);
            self.answer_repeat(log, src, &msg, o);
        }
        false
    }

    /// A client's command resent to this acceptor: answered if applied, else awaited and
    /// passed on to the leader.
    fn on_request(
        &self,
        log: &LogAcceptorState<SlotValue>,
        replica: &mut Replica,
        src: Id,
        command: Command,
        o: &mut Out<ServiceNode>,
    ) {
        if Some(command.client) != self.node.client_of(src) {
            return;
        }
        if let Some(refusal) = self.node.too_large(&command) {
            o.send(src, refusal);
            return;
        }
        let waited = replica.waiting.get(&command.client).map(|(seq, _)| *seq);
        if let Some(out) = replica.resent(&command, &self.node.keys) {
            self.node.send_replies(vec![out], log.rnd(), o);
            return;
        }
        let waits = replica.waiting.get(&command.client).map(|(seq, _)| *seq);
        if waits.is_some() && waits != waited {
            // Passed on to the leader it trusts, once per command: it suspects that leader
            // for a command it waits for, so the leader must have been given it. A client
            // that sent its command to the acceptors alone (a Byzantine one does) would
            // otherwise make them suspect every honest leader in turn.
            let leader = To::Proposer(self.acceptor.cluster.leader(log.rnd()));
            for to in self.node.log.topology.recipients(self.id, leader) {
                o.send(to, ServiceMsg::Request(command.clone()));
            }
        }
    }

    /// A peer that lags from slot `from`: the decisions kept here, else a copy of the store
    /// (if the slot is forgotten here), else this acceptor's own votes to decide again.
    fn on_catch_up(
        &self,
        log: &LogAcceptorState<SlotValue>,
        replica: &mut Replica,
        src: Id,
        from: Slot,
        o: &mut Out<ServiceNode>,
    ) {
        let answer = if from < log.learner().base() {
            // Forgotten here: only a copy of the store helps.
            let (applied, digest) = (replica.applied, replica.log_digest);
            replica
                .transfer
                .offer_from(applied, &replica.store, digest, from)
        } else {
            replica.catch_up_answer(log, from)
        };
        match answer {
            Some(answer) => o.send(src, answer),
            // Not known decided here either: its votes may decide it again.
            None => {
                for learn in replica.relearn(log, from) {
                    o.send(src, ServiceMsg::Log(learn));
                }
            }
        }
    }

    /// A peer's decisions: those its learner forgot since a restart go straight to the
    /// store (the next one only), the rest to the log.
    fn on_decisions(
        &self,
        log: &mut LogAcceptorState<SlotValue>,
        replica: &mut Replica,
        first: Slot,
        decisions: &[Decision<SlotValue>],
        o: &mut Out<ServiceNode>,
    ) {
        let base = log.learner().base();
        for (slot, decision) in (first..).zip(decisions).take_while(|(s, _)| *s < base) {
            if slot == replica.applied {
                let replies = replica.apply_next(
                    &decision.value,
                    self.me(),
                    self.node.acceptors(),
                    &self.node.keys,
                );
                self.node.send_replies(replies, log.rnd(), o);
            }
        }
        if let Some(step) = self.acceptor.install_decisions(log, first, decisions) {
            self.carry_out(log, &mut replica.suspicion, step, o);
        }
    }

    /// A part of a peer's copy of its store; once complete, installed if it is ahead.
    fn on_snapshot_part(
        &self,
        log: &mut LogAcceptorState<SlotValue>,
        replica: &mut Replica,
        src: Id,
        part: Part,
        o: &mut Out<ServiceNode>,
    ) -> bool {
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
                if let Some(owed) = replica.install(applied, log_digest, store) {
                    self.node.send_replies(owed, log.rnd(), o);
                    if let Some(step) = self.acceptor.install_snapshot(log, applied) {
                        self.carry_out(log, &mut replica.suspicion, step, o);
                    }
                }
                true
            }
        }
    }

    /// The periodic check: resend an unanswered PROMISE, then go on with a copy of a store
    /// on its way, or ask the peers for what this replica lags behind.
    fn on_tick(
        &self,
        log: &LogAcceptorState<SlotValue>,
        replica: &mut Replica,
        o: &mut Out<ServiceNode>,
    ) {
        resend_promise(log, replica, o);
        if let Some((to, fetch)) = replica.transfer.tick() {
            // A copy of the store on its way: ask again for the part that is late.
            o.send(to, fetch);
        } else if let Some(from) = replica.lagging(log) {
            let topology = &self.node.log.topology;
            for peer in topology.recipients(self.id, To::OtherAcceptors) {
                o.send(peer, ServiceMsg::CatchUp { from });
            }
            // Its own votes count towards a quorum too: a restarted learner heard none of
            // its LEARNs.
            if from >= log.learner().base() {
                for learn in replica.relearn(log, from) {
                    o.send(self.id, ServiceMsg::Log(learn));
                }
            }
        }
        let tick = self.node.tuning.tick;
        o.set_timer(ServiceTimer::Tick, tick..tick * 2);
    }

    /// After a change of the log: apply, answer, compact what is no longer needed.
    fn after_step(
        &self,
        log: &mut LogAcceptorState<SlotValue>,
        replica: &mut Replica,
        o: &mut Out<ServiceNode>,
    ) {
        let (me, acceptors, keys) = (self.me(), self.node.acceptors(), &self.node.keys);
        let replies = replica.apply_decided(log, me, acceptors, keys);
        self.node.send_replies(replies, log.rnd(), o);
        // What is dropped below must stay durable here: the snapshot taken before the last
        // covers it, and the store has synced that one (or waits for it) before it drops
        // anything. The one taken now is written beside the store, off this step's path.
        let tuning = &self.node.tuning;
        let bound = self.acceptor.limits.open_vote_bytes;
        let votes_due = votes_from_snapshot(log, replica) >= bound.saturating_mul(2);
        let snapshot = replica.take_snapshot(tuning.snapshot_every, votes_due);
        let keep_from = replica
            .applied
            .saturating_sub(tuning.retain)
            .min(replica.snapshot_before);
        // The learner forgets in chunks of `retain` slots, not a slot at a time.
        let forget = (keep_from >= log.learner().base() + tuning.retain).then_some(keep_from);
        let mut persist = false;
        if let Some(step) = self.acceptor.compact(log, replica.snapshot_before, forget) {
            persist = step.effects.contains(&LogEffect::Persist);
            *log = step.state;
        }
        if snapshot.is_some() || persist {
            o.save(
                ServiceDurable {
                    log: log.durable(),
                    snapshot,
                }
                .into(),
            );
        }
    }

    /// Carries out the log's answer to a repeated ACCEPT.
    fn answer_repeat(
        &self,
        log: &LogAcceptorState<SlotValue>,
        src: Id,
        msg: &LogMsg<SlotValue>,
        o: &mut Out<ServiceNode>,
    ) {
        match self.acceptor.repeated_accept(log, msg) {
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
                let learners = self.node.log.topology.recipients(self.id, To::Learners);
                for to in learners.into_iter().filter(|l| *l != self.id) {
                    o.send(to, ServiceMsg::Log(learn.clone()));
                }
            }
            None => {}
        }
    }

    /// Carries out a step of the log (its saves store the log's durable state), notes the
    /// rounds of its decisions for the suspicion period, and takes its state.
    fn carry_out(
        &self,
        log: &mut LogAcceptorState<SlotValue>,
        suspicion: &mut Suspicion,
        step: LogAcceptorStep<SlotValue>,
        o: &mut Out<ServiceNode>,
    ) {
        let LogStep { state, effects } = step;
        *log = state;
        self.carry_out_effects(log, suspicion, LogStep { state: (), effects }, o);
    }

    /// [`Self::carry_out`] of a step taken on `log` itself. The durable state is copied
    /// only for a step that stores it, and once.
    fn carry_out_effects(
        &self,
        log: &LogAcceptorState<SlotValue>,
        suspicion: &mut Suspicion,
        step: LogEffects<SlotValue>,
        o: &mut Out<ServiceNode>,
    ) {
        for effect in &step.effects {
            if let LogEffect::Decided(d) = effect {
                suspicion.decided(d.decision.round, log.rnd());
            }
        }
        // One save of the durable state for the whole step, ahead of its sends
        // ([`save_once`] makes the step's saves one anyway).
        if step.effects.contains(&LogEffect::Persist) {
            o.save(
                ServiceDurable {
                    log: log.durable(),
                    snapshot: None,
                }
                .into(),
            );
        }
        let mut out = Out::new();
        self.node.log.apply(self.id, &step, None, &mut out);
        lift(out, o);
    }

    fn me(&self) -> AcceptorId {
        AcceptorId(usize::from(self.id) as u16)
    }
}

/// The bytes of its votes from its replica's last snapshot on. After a restart its learner
/// starts at the snapshot, so a PROMISE reports all of these: the replica snapshots (at what
/// it applied) once they reach twice the open-vote bound, the most its votes from its
/// learner's prefix on may hold (`VoteLimits::admit`). That keeps a restarted acceptor's
/// PROMISE within twice the bound plus one value (WIRE.md section 5.1).
fn votes_from_snapshot(log: &LogAcceptorState<SlotValue>, replica: &mut Replica) -> usize {
    let from = replica.snapshot_at;
    replica.vote_bytes.from(log, from)
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
    log: &LogAcceptorState<SlotValue>,
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
    let begun = log.round_proof().is_some_and(|k| k.round >= round)
        || log.votes().values().any(|v| v.round >= round);
    if log.rnd() != round || begun {
        replica.promised = None;
        return;
    }
    o.send(*to, ServiceMsg::Log(msg.clone()));
}

/// One step's commands with its saves made one, first: the acceptor's final durable state
/// (and the snapshot, if the step took one), so that a step syncs once and every send of
/// the step follows it. The last save's copy of the votes is kept when it is the final
/// state, as it mostly is: a copy costs as much as the votes kept, not the step's change.
fn save_once(log: &LogAcceptorState<SlotValue>, out: Out<ServiceNode>, o: &mut Out<ServiceNode>) {
    let mut last = None;
    let mut snapshot = None;
    let mut rest = Vec::new();
    for command in out {
        match command {
            OutCommand::Save(ServerDurable::Acceptor(durable)) => {
                snapshot = durable.snapshot.or(snapshot);
                last = Some(durable.log);
            }
            other => rest.push(other),
        }
    }
    if let Some(last) = last {
        let log = if log.durable_is(&last) {
            last
        } else {
            log.durable()
        };
        o.save(ServiceDurable { log, snapshot }.into());
    }
    o.append(&mut rest.into_iter().collect::<Out<ServiceNode>>());
}
