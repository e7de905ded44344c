//! A proposer's queue of client commands: it batches them into slots, keeping at most a few
//! slots in flight so that batches grow with the load (group commit) and stay inside the
//! acceptors' slot window.

use super::command::{Batch, Command};
use super::linger::Linger;
use super::msg::SlotValue;
use crate::cluster_config::Limits;
use crate::learner::Decision;
use crate::log::Slot;
use crate::log::learner::{self, LogLearnerState};
use crate::log::message::{LogMsg, LogPromise, RoundProof};
use crate::types::{AcceptorId, Round, Value};
use stateright::actor::{Actor, Command as OutCommand, Out};
use std::collections::{BTreeMap, BTreeSet};

/// The commands waiting for a slot, and what the proposer learned of the log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Queue {
    /// At most one command per client (clients wait for each reply), oldest first.
    pub pending: Vec<Command>,
    /// The decisions it learns from LEARNs, only to know how many slots are in flight.
    pub learner: LogLearnerState<SlotValue>,
    /// The highest slot it has seen decided.
    pub highest_decided: Option<Slot>,
    /// The proposals of the round it leads not yet seen decided, by slot, with whether a tick
    /// passed since they were sent.
    pub unacked: BTreeMap<Slot, (Proposal, bool)>,
    /// The NEWROUND of the round it leads, as it was sent, for acceptors that lost it.
    pub new_round: Option<Proposal>,
    /// The acceptors whose LEARNs of the round it leads it saw: they verified its NEWROUND.
    pub heard_in_round: BTreeSet<AcceptorId>,
    /// The bytes it may still resend: credit of the ticks whose due proposals did not all
    /// fit (none is kept once every due proposal went).
    pub resend_credit: usize,
    /// The clients it waits for before it proposes again, as leader.
    pub linger: Linger,
}

impl Queue {
    /// Queues `command` unless a command of its client at least as recent is queued; a newer
    /// one replaces an older one (whose client gave up on it).
    pub fn push(&mut self, command: Command) {
        let client = command.client;
        match self.pending.iter_mut().find(|c| c.client == client) {
            Some(queued) if queued.seq < command.seq => *queued = command,
            Some(_) => return,
            None => self.pending.push(command),
        }
        self.linger.arrived(client);
    }

    /// A LEARN seen by the proposer; compacts what it no longer needs. Returns the value it
    /// decided, if it decided one.
    pub fn learn(
        &mut self,
        quorum: usize,
        from: AcceptorId,
        round: Round,
        slot: Slot,
        value: &SlotValue,
    ) -> Option<SlotValue> {
        if self.led_round() == Some(round) {
            self.heard_in_round.insert(from);
        }
        let learned = learner::learn(quorum, &self.learner, from, round, slot, value)?;
        self.learner = learned.state;
        let decided = learned.decided?.value;
        self.note_decided(slot);
        Some(decided)
    }

    /// `slot` is decided: it is no longer in flight, and what the proposer no longer needs is
    /// forgotten: the decided prefix, and every slot below both the oldest proposal it still
    /// waits for and the highest decided one (a restarted proposer never hears of the slots
    /// decided before it started, so its decided prefix alone would never move).
    fn note_decided(&mut self, slot: Slot) {
        self.highest_decided = self.highest_decided.max(Some(slot));
        let waiting_from = self.unacked.keys().next().copied().unwrap_or(Slot::MAX);
        let unneeded = waiting_from.min(self.highest_decided.map_or(0, |s| s + 1));
        let keep_from = self.learner.decided_prefix().max(unneeded);
        if let Some(compacted) = self.learner.skip_to(keep_from) {
            self.learner = compacted;
        }
    }

    /// Notes the proposals among `out`'s sends, to resend them until they are decided.
    pub fn record<A>(&mut self, out: &Out<A>)
    where
        A: Actor<Msg = LogMsg<SlotValue>>,
    {
        for command in out.iter() {
            let OutCommand::Send(_, msg) = command else {
                continue;
            };
            match msg {
                LogMsg::Accept { slot, .. } | LogMsg::AcceptByDigest { slot, .. } => {
                    self.unacked
                        .insert(*slot, (Proposal::new(msg.clone()), false));
                }
                LogMsg::NewRound {
                    round,
                    proof,
                    accepts,
                } => {
                    // Its plan is resent as the ACCEPTs that name the proof, as the leader's
                    // later ones are, once a quorum voted in the round. The NEWROUND itself
                    // is resent byte for byte, plan included: every send then has one
                    // digest, so the fragments of each send help reassemble it, and an
                    // acceptor that verifies it votes for the plan at once, which tells the
                    // leader through its LEARNs that the ACCEPTs may go first.
                    let named = RoundProof::new(*round, proof.clone());
                    for (slot, value) in accepts.iter() {
                        let accept = named.accept(*slot, value.clone());
                        self.unacked.insert(*slot, (Proposal::new(accept), false));
                    }
                    self.new_round = Some(Proposal::new(msg.clone()));
                    self.heard_in_round.clear();
                }
                _ => {}
            }
        }
    }

    /// The queue of a proposer restarted after it began a round with `new_round` (stored
    /// before it was sent): it answers an acceptor that promises that round again with it
    /// ([`Queue::new_round_for_repeated_promise`]), and resends nothing of the round on its
    /// own, since it does not know what was decided while it was down.
    pub fn restarted_after(new_round: LogMsg<SlotValue>) -> Queue {
        Queue {
            new_round: Some(Proposal::new(new_round)),
            ..Queue::default()
        }
    }

    /// Whether it began `round`, or a later one, with a NEWROUND: such a round is never begun
    /// again (after a restart the log proposer does not know it), lest a second plan conflict
    /// with the first.
    pub fn began_by_then(&self, round: Round) -> bool {
        self.led_round().is_some_and(|led| round <= led)
    }

    /// The proposals to resend now: those sent before the last tick and still not seen
    /// decided, lowest slot first, as many as `budget` more bytes of credit pay for. What does
    /// not fit waits, in order, for the next tick: the lowest slots are the ones the acceptors
    /// can vote for first. If any is by digest, the round's NEWROUND goes too: first while
    /// fewer than `quorum` acceptors were heard voting in the round (the ACCEPTs are of no use
    /// to an acceptor without it), last once a quorum was, so that resending the NEWROUND for
    /// the rest never starves the ACCEPTs the quorum votes for.
    pub fn unacked_since_last_tick(
        &mut self,
        budget: usize,
        quorum: usize,
    ) -> Vec<LogMsg<SlotValue>> {
        let learner = &self.learner;
        self.unacked.retain(|slot, _| !learner.knows_decided(*slot));
        let mut due: Vec<&Proposal> = Vec::new();
        for (proposal, ticked) in self.unacked.values_mut() {
            if *ticked {
                due.push(proposal);
            }
            *ticked = true;
        }
        let by_digest = due
            .iter()
            .any(|p| matches!(p.msg, LogMsg::AcceptByDigest { .. }));
        if by_digest && let Some(new_round) = &self.new_round {
            if self.heard_in_round.len() < quorum {
                due.insert(0, new_round);
            } else {
                due.push(new_round);
            }
        }
        let mut credit = self.resend_credit.saturating_add(budget);
        let mut sent = Vec::new();
        for proposal in due.iter() {
            if proposal.bytes > credit {
                break;
            }
            credit -= proposal.bytes;
            sent.push(proposal.msg.clone());
        }
        self.resend_credit = if sent.len() < due.len() { credit } else { 0 };
        sent
    }

    /// The NEWROUND to answer a PROMISE of `round` with, if it began that round and has
    /// nothing to resend: an acceptor restarted in a begun round cannot tell it began and
    /// promises again on every tick, and in an idle cluster no resend carries the NEWROUND to
    /// it. Under load the resends carry it, within their budget, so it is not sent twice.
    pub fn new_round_for_repeated_promise(&self, round: Round) -> Option<&LogMsg<SlotValue>> {
        let began = self.led_round() == Some(round);
        let new_round = &self.new_round.as_ref()?.msg;
        (began && self.unacked.is_empty()).then_some(new_round)
    }

    /// The round whose NEWROUND it sent last: the round it leads.
    fn led_round(&self) -> Option<Round> {
        match self.new_round.as_ref().map(|p| &p.msg) {
            Some(LogMsg::NewRound { round, .. }) => Some(*round),
            _ => None,
        }
    }

    /// A decision an acceptor told it (acceptors are trusted: they only crash).
    pub fn decided(&mut self, slot: Slot, decision: &Decision<SlotValue>) {
        if let Some(next) = learner::catch_up(&self.learner, slot, decision) {
            self.learner = next;
            self.note_decided(slot);
        }
    }

    /// How many of its proposals are not seen decided. Counted slot by slot: with several
    /// in flight a newer slot may be decided before an older one.
    pub fn in_flight(&self) -> u64 {
        let open = self
            .unacked
            .keys()
            .filter(|s| !self.learner.knows_decided(**s));
        open.count() as u64
    }

    /// The next batch: the oldest commands, at most `max` of them and `max_bytes` as a slot
    /// value holds them ([`Batch`]'s encoding). A command too large for any batch (a server
    /// refuses those before they are queued) is dropped rather than proposed.
    pub fn take_batch(&mut self, max: usize, max_bytes: usize) -> Option<Batch> {
        self.pending.retain(|c| fits_alone(c, max_bytes));
        if self.pending.is_empty() {
            return None;
        }
        let n = packed(&self.pending, max, max_bytes);
        let rest = self.pending.split_off(n);
        Some(Batch::from(std::mem::replace(&mut self.pending, rest)))
    }

    /// Takes the commands of `batches` (proposed in a new round's plan) out of the queue.
    pub fn remove_batches(&mut self, batches: &[Batch]) {
        let proposed: Vec<&Command> = batches.iter().flat_map(|b| b.0.iter()).collect();
        self.pending.retain(|c| !proposed.contains(&c));
    }

    /// Every pending command, in batches as [`Queue::take_batch`] packs them, for a new
    /// round's plan.
    pub fn batches(&self, max: usize, max_bytes: usize) -> Vec<Batch> {
        let fitting: Vec<Command> = self
            .pending
            .iter()
            .filter(|c| fits_alone(c, max_bytes))
            .cloned()
            .collect();
        let mut rest = &fitting[..];
        let mut batches = Vec::new();
        while !rest.is_empty() {
            let (batch, after) = rest.split_at(packed(rest, max, max_bytes));
            batches.push(Batch::from(batch.to_vec()));
            rest = after;
        }
        batches
    }
}

/// A slot value's bytes beyond its commands' ([`Limits::BATCH_OVERHEAD`]).
const BATCH_OVERHEAD: usize = Limits::BATCH_OVERHEAD as usize;

/// A proposal it may resend, with about its bytes on the wire, counted once when it is
/// recorded (not at every tick).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Proposal {
    pub msg: LogMsg<SlotValue>,
    pub bytes: usize,
}

impl Proposal {
    /// `msg` with its size counted from its values' sizes and the overheads of [`Limits`],
    /// as [`Limits::largest_new_round_bytes`] counts a NEWROUND (cheaper than encoding it).
    pub fn new(msg: LogMsg<SlotValue>) -> Self {
        let bytes = match &msg {
            LogMsg::Accept { value, proof, .. } => {
                overhead(Limits::ACCEPT_OVERHEAD) + entry_bytes(value) + proof_bytes(proof)
            }
            LogMsg::AcceptByDigest { value, .. } => {
                overhead(Limits::ACCEPT_OVERHEAD) + entry_bytes(value)
            }
            LogMsg::NewRound { proof, accepts, .. } => {
                let planned: usize = accepts.iter().map(|(_, v)| entry_bytes(v)).sum();
                overhead(Limits::NEW_ROUND_OVERHEAD) + proof_bytes(proof) + planned
            }
            _ => overhead(Limits::ACCEPT_OVERHEAD),
        };
        Proposal { msg, bytes }
    }
}

fn overhead(bytes: u64) -> usize {
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

/// A vote's or a plan entry's bytes: its value and [`Limits::VOTE_OVERHEAD`].
fn entry_bytes(value: &SlotValue) -> usize {
    value.encoded_len() + overhead(Limits::VOTE_OVERHEAD)
}

/// The bytes of the PROMISEs of a proof: their votes and [`Limits::PROMISE_OVERHEAD`] each.
fn proof_bytes(proof: &[LogPromise<SlotValue>]) -> usize {
    let promise = |p: &LogPromise<SlotValue>| -> usize {
        let votes: usize = p.votes.iter().map(|v| entry_bytes(&v.vote.value)).sum();
        votes + overhead(Limits::PROMISE_OVERHEAD)
    };
    proof.iter().map(promise).sum()
}

/// Whether `command` fits a batch of `max_bytes` on its own.
fn fits_alone(command: &Command, max_bytes: usize) -> bool {
    BATCH_OVERHEAD + command.encoded_len() <= max_bytes
}

/// How many of the first `commands` (each fitting alone) one batch takes: at least one, at
/// most `max`, and no more than `max_bytes` in all.
fn packed(commands: &[Command], max: usize, max_bytes: usize) -> usize {
    let mut bytes = BATCH_OVERHEAD;
    let mut n = 0;
    for command in commands.iter().take(max.max(1)) {
        bytes += command.encoded_len();
        if bytes > max_bytes && n > 0 {
            break;
        }
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::message::LogProof;
    use crate::log::value::LogValue;

    /// A queue whose leader proposed `slots` in round 0 and saw none decided yet.
    fn proposed(slots: std::ops::Range<Slot>) -> Queue {
        let mut queue = Queue::default();
        for slot in slots {
            let accept = LogMsg::Accept {
                round: 0,
                slot,
                value: LogValue::Noop,
                proof: LogProof::none(),
            };
            queue.unacked.insert(slot, (Proposal::new(accept), false));
        }
        queue
    }

    /// Every acceptor of a quorum of three reports its vote for `slot`.
    fn decide(queue: &mut Queue, slot: Slot) {
        for acceptor in 0..3 {
            queue.learn(3, AcceptorId(acceptor), 0, slot, &LogValue::Noop);
        }
    }

    /// A queue whose leader proposed `slots`, each a batch of about `bytes`, and saw a tick.
    fn proposed_large(slots: std::ops::Range<Slot>, bytes: usize) -> Queue {
        let mut queue = Queue::default();
        for slot in slots {
            let command = Command {
                client: crate::types::ClientId(0),
                seq: slot,
                op: crate::service::Op::Put {
                    key: "k".into(),
                    value: "x".repeat(bytes),
                },
                mac: crate::auth::Mac([0; 32]),
            };
            let accept = LogMsg::Accept {
                round: 0,
                slot,
                value: LogValue::Batch(Batch::from(vec![command])),
                proof: LogProof::none(),
            };
            queue.unacked.insert(slot, (Proposal::new(accept), true));
        }
        queue
    }

    fn slots_of(msgs: &[LogMsg<SlotValue>]) -> Vec<Slot> {
        msgs.iter()
            .filter_map(|m| match m {
                LogMsg::Accept { slot, .. } => Some(*slot),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn resends_are_bounded_by_the_budget_lowest_slot_first() {
        // Ten proposals of about 10 KB: a budget of 25 KB resends two per tick, the lowest.
        let mut queue = proposed_large(0..10, 10_000);
        assert_eq!(slots_of(&queue.unacked_since_last_tick(25_000, 3)), [0, 1]);
        // The credit left over (about 5 KB) and the next tick's pay for the next ones.
        assert_eq!(slots_of(&queue.unacked_since_last_tick(25_000, 3)), [0, 1]);
        decide(&mut queue, 0);
        decide(&mut queue, 1);
        let next = slots_of(&queue.unacked_since_last_tick(25_000, 3));
        assert_eq!(next[..2], [2, 3], "{next:?}");
        // With room for all, all go, and no credit is kept for later.
        assert_eq!(
            slots_of(&queue.unacked_since_last_tick(1 << 20, 3)),
            [2, 3, 4, 5, 6, 7, 8, 9]
        );
        assert_eq!(queue.resend_credit, 0);
    }

    #[test]
    fn a_proposal_larger_than_the_budget_goes_on_the_credit_of_several_ticks() {
        let mut queue = proposed_large(0..2, 100_000);
        let sent: Vec<Vec<Slot>> = (0..12)
            .map(|_| slots_of(&queue.unacked_since_last_tick(25_000, 3)))
            .collect();
        // About 100 KB on 25 KB a tick: the lowest slot goes about every fifth tick, the
        // other waits behind it (the acceptors need the lowest first).
        let resent: Vec<Slot> = sent.concat();
        assert_eq!(resent, [0, 0], "{sent:?}");
    }

    #[test]
    fn once_a_quorum_voted_in_the_round_its_accepts_go_before_its_new_round() {
        // The NEWROUND went first on every tick: on the 600-s torture's budget its proof of
        // about 1.5 MB went every few ticks and the ACCEPTs behind it almost never, though a
        // quorum had verified it long before, so its lowest slot was never decided.
        let mut queue = Queue::default();
        let new_round = LogMsg::NewRound {
            round: 1,
            proof: LogProof::none(),
            accepts: Vec::new().into(),
        };
        let digest = LogProof::<SlotValue>::none().digest();
        queue.new_round = Some(Proposal {
            msg: new_round,
            bytes: 1_000_000,
        });
        for slot in 0..4 {
            let accept = LogMsg::AcceptByDigest {
                round: 1,
                slot,
                value: LogValue::Noop,
                digest,
            };
            queue.unacked.insert(slot, (Proposal::new(accept), true));
        }
        let digest_slots = |msgs: &[LogMsg<SlotValue>]| -> Vec<Slot> {
            msgs.iter()
                .filter_map(|m| match m {
                    LogMsg::AcceptByDigest { slot, .. } => Some(*slot),
                    _ => None,
                })
                .collect()
        };
        // No acceptor heard in round 1: the NEWROUND first, and the ACCEPTs wait behind it.
        assert!(queue.unacked_since_last_tick(100_000, 3).is_empty());
        // Three acceptors vote in round 1 (in different slots: nothing is decided).
        for (a, slot) in [(0, 1), (1, 2), (2, 3)] {
            queue.learn(3, AcceptorId(a), 1, slot, &LogValue::Noop);
        }
        assert_eq!(
            digest_slots(&queue.unacked_since_last_tick(100_000, 3)),
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn a_new_round_is_resent_as_it_was_first_sent_plan_included() {
        // Resent without its plan, a NEWROUND had another digest than the first send, so no
        // fragment of the first helped a resend be reassembled; and an acceptor that verified
        // a resend had no plan to vote for, so no LEARN of the round came back and the
        // resends kept the NEWROUND ahead of the ACCEPTs until the round was suspected (the
        // 600-s torture: every acceptor verified round 81 with `planned=0`).
        let mut queue = Queue::default();
        let new_round = LogMsg::NewRound {
            round: 1,
            proof: LogProof::none(),
            accepts: vec![(0, LogValue::Noop), (1, LogValue::Noop)].into(),
        };
        let mut out: Out<crate::log::node::LogNode<Batch, crate::auth::HmacSha256>> = Out::new();
        out.send(stateright::actor::Id::from(0), new_round.clone());
        queue.record(&out);
        assert!(queue.unacked_since_last_tick(1 << 20, 3).is_empty());
        let resent = queue.unacked_since_last_tick(1 << 20, 3);
        assert!(resent.contains(&new_round), "{resent:?}");
    }

    #[test]
    fn slots_decided_in_order_leave_the_flight() {
        let mut queue = proposed(0..4);
        assert_eq!(queue.in_flight(), 4);
        decide(&mut queue, 0);
        decide(&mut queue, 1);
        assert_eq!(queue.in_flight(), 2);
    }

    #[test]
    fn a_slot_decided_out_of_order_leaves_the_older_ones_in_flight() {
        // Slots are decided in any order when several are in flight: the newest deciding
        // first must not make the older ones look decided, or the leader overshoots its bound.
        let mut queue = proposed(0..4);
        decide(&mut queue, 3);
        assert_eq!(queue.in_flight(), 3);
    }
}
