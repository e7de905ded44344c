//! The acceptor's durable state as records of what changed: a store appends, per step, the
//! changes from the state it saved last to the new one (a round, a vote, a dropped prefix),
//! so that what is written and synced is proportional to the change, not to the state.
//! Recovery folds the records in order. Pure functions; the store does the I/O.

use super::Slot;
use super::acceptor::LogDurableState;
use crate::message::Vote;
use crate::types::Round;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One record of an acceptor's store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de> + Ord"))]
pub enum AcceptorRecord<V> {
    /// The whole durable state: the first record of a store, and what compaction writes.
    Full(LogDurableState<V>),
    /// What one step changed, applied in order.
    Changes(Vec<Change<V>>),
}

/// One change of the durable state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change<V> {
    /// `rnd` became this round.
    Round(Round),
    /// The last vote in `slot` became `vote`.
    Vote { slot: Slot, vote: Vote<V> },
    /// Every slot below it was decided: its votes are dropped, and the base moves to it.
    DropBelow(Slot),
}

/// The changes that take `old` to `new`, or `None` when they cannot be said as changes (a
/// vote removed above the new base, or a base that went down): then the whole state is
/// written instead.
pub fn diff<V: Clone + Ord>(
    old: &LogDurableState<V>,
    new: &LogDurableState<V>,
) -> Option<Vec<Change<V>>> {
    if new.base < old.base || new.votes.range(..new.base).next().is_some() {
        return None;
    }
    let mut changes = Vec::new();
    if new.base > old.base {
        changes.push(Change::DropBelow(new.base));
    }
    if new.rnd != old.rnd {
        changes.push(Change::Round(new.rnd));
    }
    // One walk over both maps in slot order (every new vote is at or above the new base):
    // every old vote at or above the new base must still be there (a later vote replaces
    // it, it is never removed).
    let mut olds = old.votes.range(new.base..).peekable();
    for (slot, vote) in &new.votes {
        let old_vote = match olds.peek() {
            Some((old_slot, _)) if *old_slot < slot => return None,
            Some((old_slot, old_vote)) if *old_slot == slot => {
                let old_vote = *old_vote;
                olds.next();
                Some(old_vote)
            }
            _ => None,
        };
        if old_vote != Some(vote) {
            changes.push(Change::Vote {
                slot: *slot,
                vote: vote.clone(),
            });
        }
    }
    if olds.next().is_some() {
        return None;
    }
    Some(changes)
}

/// Applies one change.
pub fn apply<V: Ord>(state: &mut LogDurableState<V>, change: Change<V>) {
    match change {
        Change::Round(round) => state.rnd = round,
        Change::Vote { slot, vote } => {
            state.votes.insert(slot, vote);
        }
        Change::DropBelow(base) => {
            state.votes = state.votes.split_off(&base);
            state.base = state.base.max(base);
        }
    }
}

/// The state the records of a store hold, folded in order; `None` for a store with none.
pub fn fold<V: Ord>(
    records: impl IntoIterator<Item = AcceptorRecord<V>>,
) -> Option<LogDurableState<V>> {
    let mut state = None;
    for record in records {
        match record {
            AcceptorRecord::Full(full) => state = Some(full),
            AcceptorRecord::Changes(changes) => {
                let current = state.get_or_insert_with(|| LogDurableState {
                    rnd: 0,
                    base: 0,
                    votes: BTreeMap::new(),
                });
                for change in changes {
                    apply(current, change);
                }
            }
        }
    }
    state
}
