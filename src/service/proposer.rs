//! What the service adds around a log proposer: a [`Queue`] of clients' commands, batched
//! and proposed while few slots are in flight, proposed again in a new round's plan, and
//! resent while not seen decided (UDP may lose them). The log is reached only through its
//! proposer's step functions ([`crate::log::face`]).

use super::command::Batch;
use super::msg::{ServiceMsg, SlotValue};
use super::node::{ServiceNode, ServiceState, ServiceTimer, lift};
use super::proposer_store::{ProposerDurable, ServerDurable};
use super::queue::Queue;
use crate::log::message::LogMsg;
use crate::log::proposer::{LogProposer, LogProposerState, LogProposerStep};
use crate::log::value::LogValue;
use crate::runtime::wire;
use crate::step::{Peer, To};
use stateright::actor::{Id, Out};

/// The service's proposer `id`; `proposer` is `None` for a node that only learns, which
/// queues what clients send and never proposes.
pub(super) struct ProposerSide<'a> {
    pub node: &'a ServiceNode,
    pub proposer: Option<&'a LogProposer<Batch>>,
    pub id: Id,
}

impl ProposerSide<'_> {
    /// Starts the proposer, with `stored` if it began a round before it restarted.
    pub fn start(
        &self,
        stored: Option<&ProposerDurable>,
        o: &mut Out<ServiceNode>,
    ) -> ServiceState {
        let log = match self.proposer {
            Some(proposer) => self.carry_out(proposer.start(), o),
            None => LogProposerState::default(),
        };
        let queue = match stored {
            Some(stored) => Queue::restarted_after(stored.new_round.clone()),
            None => Queue::default(),
        };
        let every = self.node.tuning.retransmit;
        o.set_timer(ServiceTimer::Tick, every..every + every / 2);
        ServiceState::Proposer { log, queue }
    }

    pub fn on_msg(
        &self,
        log: &mut LogProposerState<Batch>,
        queue: &mut Queue,
        src: Id,
        msg: ServiceMsg,
        o: &mut Out<ServiceNode>,
    ) {
        let from = self.node.log.topology.peer(src);
        match (from, msg) {
            (Peer::Acceptor(a), ServiceMsg::Log(LogMsg::Learn { round, slot, value })) => {
                let decided = queue.learn(self.node.quorum(), a, round, slot, &value);
                if let Some(LogValue::Batch(batch)) = decided {
                    self.linger_after(log, queue, &batch, o);
                }
            }
            (Peer::Acceptor(_), ServiceMsg::Decisions { first, decisions }) => {
                for (slot, decision) in (first..).zip(&decisions) {
                    queue.decided(slot, decision);
                }
            }
            (from, ServiceMsg::Log(m)) => {
                if let (Peer::Acceptor(_), LogMsg::Promise(promise)) = (from, &m)
                    && let Some(new_round) = queue.new_round_for_repeated_promise(promise.round)
                {
                    o.send(src, ServiceMsg::Log(new_round.clone()));
                }
                self.on_log(log, queue, from, &m, o)
            }
            // One too large is dropped: an acceptor, which the client asks on its resend,
            // answers it (a proposer does not answer clients).
            (Peer::Client, ServiceMsg::Request(command))
                if Some(command.client) == self.node.client_of(src)
                    && self.node.too_large(&command).is_none() =>
            {
                queue.push(command);
            }
            // A command an acceptor waits for, passed on by it (acceptors only crash).
            (Peer::Acceptor(_), ServiceMsg::Request(command))
                if self.node.too_large(&command).is_none() =>
            {
                queue.push(command);
            }
            _ => {}
        }
        self.flush(log, queue, o);
    }

    /// After a decision of `batch`, a proposer that has led a round (it may have been
    /// deposed since: its wait then only delays proposals no acceptor takes) and has few
    /// commands queued waits for the batch's clients to come back ([`super::linger`]). With
    /// several slots in flight (`max_slots_in_flight` over 1) a client whose next command is
    /// already in a later slot counts as not back, and the wait runs out.
    fn linger_after(
        &self,
        log: &LogProposerState<Batch>,
        queue: &mut Queue,
        batch: &Batch,
        o: &mut Out<ServiceNode>,
    ) {
        let tuning = &self.node.tuning;
        if log.next_slot().is_none() || tuning.linger.is_zero() {
            return;
        }
        if queue
            .linger
            .after_decision(batch, &queue.pending, tuning.linger_below)
        {
            o.set_timer(ServiceTimer::Linger, tuning.linger..tuning.linger);
        }
    }

    /// The wait for the clients answered is over: what is queued is proposed.
    pub fn on_linger_over(
        &self,
        log: &mut LogProposerState<Batch>,
        queue: &mut Queue,
        o: &mut Out<ServiceNode>,
    ) {
        queue.linger.ran_out();
        self.flush(log, queue, o);
    }

    /// Resends what was not seen decided since the last tick: UDP may lose it.
    pub fn on_tick(&self, queue: &mut Queue, o: &mut Out<ServiceNode>) {
        let acceptors = self.node.log.topology.recipients(self.id, To::Acceptors);
        for msg in queue.unacked_since_last_tick(self.node.tuning.resend_bytes, self.node.quorum())
        {
            if let LogMsg::NewRound { round, .. } = &msg {
                tracing::debug!(round, "NEWROUND resent");
            }
            for a in &acceptors {
                o.send(*a, ServiceMsg::Log(msg.clone()));
            }
        }
        let every = self.node.tuning.retransmit;
        o.set_timer(ServiceTimer::Tick, every..every + every / 2);
    }

    /// A log message for the proposer: a new round's plan proposes every pending command.
    fn on_log(
        &self,
        log: &mut LogProposerState<Batch>,
        queue: &mut Queue,
        from: Peer,
        msg: &LogMsg<SlotValue>,
        o: &mut Out<ServiceNode>,
    ) {
        let Some(proposer) = self.proposer else {
            return;
        };
        // A round it began before a restart is not begun again: its stored NEWROUND answers.
        if let LogMsg::Promise(promise) = msg
            && queue.began_by_then(promise.round)
            && log.proposed().is_none_or(|p| p < promise.round)
        {
            return;
        }
        let before = log.proposed();
        let tuning = &self.node.tuning;
        // No more pending batches than slots in flight: the size of a NEWROUND is bounded by
        // the limits alone (`Limits::largest_new_round_bytes`), not by the number of clients
        // waiting. The rest wait in the queue for the slots that follow.
        let mut pending = queue.batches(tuning.max_batch, self.node.max_batch_bytes());
        let in_plan = usize::try_from(self.node.limits.max_slots_in_flight).unwrap_or(usize::MAX);
        pending.truncate(in_plan);
        let mut out = Out::new();
        if let Some(step) = proposer.on_message_with(log, from, msg, &pending) {
            self.node.log.apply(self.id, &step, None, &mut out);
            *log = step.state;
        }
        if log.proposed() != before {
            queue.remove_batches(&pending);
            queue.unacked.clear();
        }
        queue.record(&out);
        if let Some(new_round) = new_round_in(&out) {
            log_new_round_size(new_round);
            // Synced before it is sent (the burst holds the sends that follow a save).
            let new_round = new_round.clone();
            o.save(ServerDurable::Proposer(ProposerDurable { new_round }));
        }
        lift(out, o);
    }

    /// Proposes pending commands while few slots are in flight, unless it waits for the
    /// clients it just answered.
    fn flush(
        &self,
        log: &mut LogProposerState<Batch>,
        queue: &mut Queue,
        o: &mut Out<ServiceNode>,
    ) {
        let Some(proposer) = self.proposer else {
            return;
        };
        let tuning = &self.node.tuning;
        if queue.linger.holds(queue.pending.len(), tuning.linger_below) {
            return;
        }
        if queue.linger.end() {
            o.cancel_timer(ServiceTimer::Linger);
        }
        while log.next_slot().is_some() {
            let full = queue.in_flight() >= self.node.limits.max_slots_in_flight;
            if queue.pending.is_empty() || full {
                return;
            }
            let Some(batch) = queue.take_batch(tuning.max_batch, self.node.max_batch_bytes())
            else {
                return;
            };
            let Some(step) = proposer.submit(log, batch) else {
                return;
            };
            let mut out = Out::new();
            self.node.log.apply(self.id, &step, None, &mut out);
            *log = step.state;
            queue.record(&out);
            lift(out, o);
        }
    }

    /// Carries out a step of the log proposer and returns its state.
    fn carry_out(
        &self,
        step: LogProposerStep<Batch>,
        o: &mut Out<ServiceNode>,
    ) -> LogProposerState<Batch> {
        let mut out = Out::new();
        self.node.log.apply(self.id, &step, None, &mut out);
        lift(out, o);
        step.state
    }
}

/// The NEWROUND among `out`'s sends, if any (a step begins at most one round).
fn new_round_in<A: stateright::actor::Actor<Msg = LogMsg<SlotValue>>>(
    out: &Out<A>,
) -> Option<&LogMsg<SlotValue>> {
    out.iter().find_map(|c| match c {
        stateright::actor::Command::Send(_, msg @ LogMsg::NewRound { .. }) => Some(msg),
        _ => None,
    })
}

/// Logs the size of a NEWROUND (one per round), and warns when it is over the wire's maximum:
/// such a round cannot begin, and its acceptors will suspect its leader.
fn log_new_round_size(msg: &LogMsg<SlotValue>) {
    let LogMsg::NewRound { round, accepts, .. } = msg else {
        return;
    };
    let round = *round;
    let slots = accepts.len();
    let first = accepts.first().map(|(slot, _)| *slot);
    let bytes = wire::encoded_len(&ServiceMsg::Log(msg.clone()));
    if bytes > wire::MAX_MESSAGE {
        tracing::warn!(
            round,
            slots,
            bytes,
            "NEWROUND over the maximum message size"
        );
    } else {
        tracing::debug!(round, slots, first, bytes, "NEWROUND");
    }
}
