//! The log's learner: the single-decree learner of [`crate::learner`] in every slot, and the
//! decided prefix that PROMISEs report.

use super::Slot;
use crate::learner::{self, Decision, LearnerState};
use crate::types::{AcceptorId, Round, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a learner knows, slot by slot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de> + Ord"))]
pub struct LogLearnerState<V> {
    /// Every slot below it was decided, and its learner state forgotten (compaction); 0 in
    /// the model, which never compacts.
    pub(crate) base: Slot,
    pub(crate) slots: BTreeMap<Slot, LearnerState<V>>,
}

impl<V> Default for LogLearnerState<V> {
    fn default() -> Self {
        LogLearnerState {
            base: 0,
            slots: BTreeMap::new(),
        }
    }
}

impl<V: Value> LogLearnerState<V> {
    /// Every slot below it was decided and forgotten here.
    pub fn base(&self) -> Slot {
        self.base
    }

    /// The decisions it keeps, slot by slot (holes skipped).
    pub fn decisions(&self) -> impl Iterator<Item = (Slot, &Decision<V>)> {
        self.slots
            .iter()
            .filter_map(|(slot, l)| Some((*slot, l.decided.as_ref()?)))
    }

    /// How many slots it keeps a learner state for (what compaction bounds).
    pub fn kept_slots(&self) -> usize {
        self.slots.len()
    }

    /// Whether some slot at or above `slot` is known decided (above a hole, if `slot` is the
    /// decided prefix).
    pub fn decided_from(&self, slot: Slot) -> bool {
        self.slots.range(slot..).any(|(_, l)| l.decided.is_some())
    }

    pub fn decided(&self, slot: Slot) -> Option<&Decision<V>> {
        self.slots.get(&slot).and_then(|l| l.decided.as_ref())
    }

    /// Whether `slot` is known decided, its value kept or already forgotten.
    pub fn knows_decided(&self, slot: Slot) -> bool {
        slot < self.base || self.decided(slot).is_some()
    }

    /// `d`: the length of the decided prefix (every slot below it is decided).
    pub fn decided_prefix(&self) -> Slot {
        // One walk over the kept slots in order, not a lookup per slot.
        let mut d = self.base;
        for (slot, l) in self.slots.range(self.base..) {
            if *slot != d || l.decided.is_none() {
                break;
            }
            d += 1;
        }
        d
    }

    /// The values of the decided prefix that are still kept, in log order: what a replica
    /// may apply.
    pub fn decided_log(&self) -> Vec<&V> {
        (self.base..self.decided_prefix())
            .filter_map(|s| self.decided(s).map(|d| &d.value))
            .collect()
    }

    /// Compaction: forgets the slots below `slot`, or below the decided prefix if that is
    /// lower (an undecided slot is never forgotten). `None` if nothing is forgotten.
    pub(crate) fn forget_below(&self, slot: Slot) -> Option<Self> {
        self.skip_to(slot.min(self.decided_prefix()))
    }

    /// State transfer of a whole prefix: an acceptor (trusted, as acceptors only crash) that
    /// applied every slot below `slot` vouches that they are decided, and sent its store, so
    /// their values are no longer needed. `None` if `slot` is not above the base.
    pub(crate) fn skip_to(&self, slot: Slot) -> Option<Self> {
        if slot <= self.base {
            return None;
        }
        let mut next = self.clone();
        next.slots = next.slots.split_off(&slot);
        next.base = slot;
        Some(next)
    }
}

/// What a LEARN taught the learner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLearned<V> {
    pub state: LogLearnerState<V>,
    /// Set when the LEARN completed a quorum for its slot.
    pub decided: Option<Decision<V>>,
    /// Set when the LEARN's round and slot now hold two values: its leader equivocated.
    pub equivocation: bool,
}

/// `Learn`: `LEARN(round, slot, value)` from `from`. `None` when it teaches nothing new.
pub fn learn<V: Value>(
    quorum: usize,
    state: &LogLearnerState<V>,
    from: AcceptorId,
    round: Round,
    slot: Slot,
    value: &V,
) -> Option<LogLearned<V>> {
    let lesson = lesson(quorum, state, from, round, slot, value)?;
    let mut next = state.clone();
    let taught = lesson.apply(&mut next);
    Some(LogLearned {
        state: next,
        decided: taught.decided,
        equivocation: taught.equivocation,
    })
}

/// What a LEARN taught a learner ([`Lesson::apply`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taught<V> {
    pub decided: Option<Decision<V>>,
    pub equivocation: bool,
}

/// What a LEARN teaches a learner, judged on it as it is: the LEARN's slot as it becomes,
/// which [`Lesson::apply`] stores. Judging copies only that slot, not every slot the learner
/// keeps (a driver steps many LEARNs per decision), so a driver that keeps one state can
/// look at what it is taught before it changes anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lesson<V> {
    slot: Slot,
    next: LearnerState<V>,
    pub taught: Taught<V>,
}

impl<V> Lesson<V> {
    /// Stores the lesson in the learner it was judged on (or in a copy of it).
    pub fn apply(self, state: &mut LogLearnerState<V>) -> Taught<V> {
        state.slots.insert(self.slot, self.next);
        self.taught
    }
}

/// What `LEARN(round, slot, value)` from `from` teaches; `None` when it teaches nothing
/// new.
pub fn lesson<V: Value>(
    quorum: usize,
    state: &LogLearnerState<V>,
    from: AcceptorId,
    round: Round,
    slot: Slot,
    value: &V,
) -> Option<Lesson<V>> {
    if slot < state.base {
        return None; // decided and forgotten
    }
    let empty = LearnerState::default();
    let in_slot = state.slots.get(&slot).unwrap_or(&empty);
    let learned = learner::learn(quorum, in_slot, from, round, value)?;
    Some(Lesson {
        slot,
        next: learned.state,
        taught: Taught {
            decided: learned.decided,
            equivocation: learned.equivocation,
        },
    })
}

/// State transfer: the learner takes `decision` for `slot` from a replica that decided it.
/// `None` if it had decided the slot already.
pub fn catch_up<V: Value>(
    state: &LogLearnerState<V>,
    slot: Slot,
    decision: &Decision<V>,
) -> Option<LogLearnerState<V>> {
    if state.knows_decided(slot) {
        return None;
    }
    let mut next = state.clone();
    next.slots.insert(
        slot,
        LearnerState {
            learned: BTreeMap::new(),
            decided: Some(decision.clone()),
        },
    );
    Some(next)
}
