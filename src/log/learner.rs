//! The log's learner: the single-decree learner of [`crate::learner`] in every slot, and the
//! decided prefix that PROMISEs report.

use super::Slot;
use crate::learner::{self, Decision, LearnerState};
use crate::types::{AcceptorId, Round, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a learner knows, slot by slot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(
    bound(deserialize = "V: Deserialize<'de> + Ord"),
    from = "KeptSlots<V>"
)]
pub struct LogLearnerState<V> {
    /// Every slot below it was decided, and its learner state forgotten (compaction); 0 in
    /// the model, which never compacts.
    pub(crate) base: Slot,
    /// Read across the crate; changed only here (`set`, `skip_to`), which keep `prefix`.
    pub(crate) slots: BTreeMap<Slot, LearnerState<V>>,
    /// The decided prefix, kept as the slots change: a runtime asks for it several times a
    /// step, and a walk over the kept slots cost as much as the slots kept. A function of
    /// the fields above, so it neither adds nor merges states.
    #[serde(skip_serializing)]
    prefix: Slot,
}

/// What a learner's state is made of, without the prefix computed from it.
#[derive(Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de> + Ord"))]
struct KeptSlots<V> {
    base: Slot,
    slots: BTreeMap<Slot, LearnerState<V>>,
}

impl<V> From<KeptSlots<V>> for LogLearnerState<V> {
    fn from(kept: KeptSlots<V>) -> Self {
        LogLearnerState::with_slots(kept.base, kept.slots)
    }
}

impl<V> Default for LogLearnerState<V> {
    fn default() -> Self {
        LogLearnerState::starting_at(0)
    }
}

impl<V> LogLearnerState<V> {
    /// A learner that knows nothing above `base`, every slot below which was decided.
    pub(crate) fn starting_at(base: Slot) -> Self {
        LogLearnerState {
            base,
            slots: BTreeMap::new(),
            prefix: base,
        }
    }

    /// A learner that knows `slots` above `base`.
    pub(crate) fn with_slots(base: Slot, slots: BTreeMap<Slot, LearnerState<V>>) -> Self {
        let mut state = LogLearnerState::starting_at(base);
        state.slots = slots;
        state.extend_prefix();
        state
    }

    /// Stores what the learner knows of `slot`, keeping the prefix.
    fn set(&mut self, slot: Slot, learner: LearnerState<V>) {
        let undecided = learner.decided.is_none();
        self.slots.insert(slot, learner);
        if slot < self.prefix && undecided {
            // Never taken: a decision is not unlearned. Kept right all the same.
            self.prefix = self.base;
        }
        self.extend_prefix();
    }

    /// Moves the prefix over the decided slots that follow it.
    fn extend_prefix(&mut self) {
        self.prefix = self.prefix.max(self.base);
        for (slot, l) in self.slots.range(self.prefix..) {
            if *slot != self.prefix || l.decided.is_none() {
                break;
            }
            self.prefix += 1;
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
        self.prefix
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
        next.extend_prefix();
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
        state.set(self.slot, self.next);
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
    next.set(
        slot,
        LearnerState {
            learned: BTreeMap::new(),
            decided: Some(decision.clone()),
        },
    );
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The decided prefix as a walk over the kept slots finds it.
    fn walked_prefix(state: &LogLearnerState<String>) -> Slot {
        let mut d = state.base;
        while state.slots.get(&d).is_some_and(|l| l.decided.is_some()) {
            d += 1;
        }
        d
    }

    #[derive(Clone, Debug)]
    enum Change {
        Learn {
            from: u16,
            round: Round,
            slot: Slot,
            value: u8,
        },
        CatchUp {
            slot: Slot,
        },
        Forget {
            below: Slot,
        },
        Skip {
            to: Slot,
        },
    }

    fn change() -> impl Strategy<Value = Change> {
        prop_oneof![
            6 => (0..4u16, 0..2u32, 0..8u64, 0..2u8).prop_map(|(from, round, slot, value)| {
                Change::Learn { from, round, slot, value }
            }),
            1 => (0..8u64).prop_map(|slot| Change::CatchUp { slot }),
            1 => (0..8u64).prop_map(|below| Change::Forget { below }),
            1 => (0..8u64).prop_map(|to| Change::Skip { to }),
        ]
    }

    proptest! {
        #[test]
        fn the_kept_prefix_is_the_walked_one_after_every_change(
            changes in prop::collection::vec(change(), 0..60)
        ) {
            let mut state = LogLearnerState::<String>::default();
            for change in changes {
                let next = match change {
                    Change::Learn { from, round, slot, value } => {
                        let value = format!("v{value}");
                        learn(3, &state, AcceptorId(from), round, slot, &value).map(|l| l.state)
                    }
                    Change::CatchUp { slot } => {
                        let decision = Decision { round: 0, value: "c".to_string() };
                        catch_up(&state, slot, &decision)
                    }
                    Change::Forget { below } => state.forget_below(below),
                    Change::Skip { to } => state.skip_to(to),
                };
                if let Some(next) = next {
                    state = next;
                }
                prop_assert_eq!(state.decided_prefix(), walked_prefix(&state));
                // What is read back computes its prefix afresh.
                let json = serde_json::to_string(&state).unwrap();
                prop_assert!(!json.contains("prefix"), "{}", json);
                let read: LogLearnerState<String> = serde_json::from_str(&json).unwrap();
                prop_assert_eq!(&read, &state);
            }
        }
    }
}
