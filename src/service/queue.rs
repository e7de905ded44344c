//! A proposer's queue of client commands: it batches them into slots, keeping at most a few
//! slots in flight so that batches grow with the load (group commit) and stay inside the
//! acceptors' slot window.

use super::command::{Batch, Command};
use super::msg::SlotValue;
use crate::log::Slot;
use crate::log::learner::{self, LogLearnerState};
use crate::types::{AcceptorId, Round};

/// The commands waiting for a slot, and what the proposer learned of the log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Queue {
    /// At most one command per client (clients wait for each reply), oldest first.
    pub pending: Vec<Command>,
    /// The decisions it learns from LEARNs, only to know how many slots are in flight.
    pub learner: LogLearnerState<SlotValue>,
    /// The highest slot it has seen decided.
    pub highest_decided: Option<Slot>,
}

impl Queue {
    /// Queues `command` unless a command of its client at least as recent is queued; a newer
    /// one replaces an older one (whose client gave up on it).
    pub fn push(&mut self, command: Command) {
        match self.pending.iter_mut().find(|c| c.client == command.client) {
            Some(queued) if queued.seq < command.seq => *queued = command,
            Some(_) => {}
            None => self.pending.push(command),
        }
    }

    /// A LEARN seen by the proposer; compacts what it no longer needs.
    pub fn learn(
        &mut self,
        quorum: usize,
        from: AcceptorId,
        round: Round,
        slot: Slot,
        value: &SlotValue,
    ) {
        let Some(learned) = learner::learn(quorum, &self.learner, from, round, slot, value) else {
            return;
        };
        self.learner = learned.state;
        if learned.decided.is_some() {
            self.highest_decided = self.highest_decided.max(Some(slot));
            let d = self.learner.decided_prefix();
            if let Some(compacted) = self.learner.forget_below(d) {
                self.learner = compacted;
            }
        }
    }

    /// How many slots from `next_slot` down are proposed but not seen decided.
    pub fn in_flight(&self, next_slot: Slot) -> Slot {
        let decided_below = self.highest_decided.map_or(0, |s| s + 1);
        next_slot.saturating_sub(decided_below)
    }

    /// The next batch: up to `max` of the oldest commands.
    pub fn take_batch(&mut self, max: usize) -> Option<Batch> {
        if self.pending.is_empty() {
            return None;
        }
        let rest = self.pending.split_off(self.pending.len().min(max));
        Some(Batch::from(std::mem::replace(&mut self.pending, rest)))
    }

    /// Every pending command, in batches of at most `max`, for a new round's plan.
    pub fn batches(&self, max: usize) -> Vec<Batch> {
        self.pending
            .chunks(max.max(1))
            .map(|chunk| Batch::from(chunk.to_vec()))
            .collect()
    }
}
