//! An acceptor's store of round and votes as a log of changes ([`crate::log::changes`]): each
//! save appends what changed since the last one, in one record synced once, so a vote costs
//! about the vote's bytes. When the file has grown to twice the size of the whole state (and
//! past a threshold), it is rewritten as one full record, so compaction's cost is spread over
//! the appends that made it necessary. That record is written and synced on another thread,
//! beside the store, while changes go on being appended; a later sync appends those changes
//! to it and renames it over the old file ([`DurableLog::begin_rewrite`]), so no step waits
//! for the whole state to be written.

use crate::durable::{DurableError, DurableLog, DurableOptions, TornTail};
use crate::log::acceptor::LogDurableState;
use crate::log::changes::{AcceptorRecord, apply, diff, fold};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::Path;

/// What opening a store recovered.
#[derive(Debug)]
pub struct OpenedStore<V> {
    pub store: AcceptorStore<V>,
    /// The durable state, or `None` for a new (empty) store.
    pub state: Option<LogDurableState<V>>,
    pub torn_tail: Option<TornTail>,
}

#[derive(Debug)]
pub struct AcceptorStore<V> {
    log: DurableLog<AcceptorRecord<V>>,
    /// What the file holds, folded: the base of the next diff.
    saved: LogDurableState<V>,
    compact_above: u64,
}

impl<V> AcceptorStore<V>
where
    V: Serialize + DeserializeOwned + Clone + Ord + Send + 'static,
{
    /// Opens (or creates) the store at `path` and folds its records.
    pub fn open(path: &Path, options: DurableOptions) -> Result<OpenedStore<V>, DurableError> {
        let (log, recovered) = DurableLog::open_all(path, options)?;
        let state = fold(recovered.records);
        let store = AcceptorStore {
            log,
            saved: state.clone().unwrap_or_else(empty),
            compact_above: options.compact_above_bytes,
        };
        Ok(OpenedStore {
            store,
            state,
            torn_tail: recovered.torn_tail,
        })
    }

    /// Makes `state` durable: appends (and syncs) what changed since the last save, or
    /// nothing if nothing did. Returns the bytes appended.
    pub fn save(&mut self, state: &LogDurableState<V>) -> Result<u64, DurableError> {
        let appended = self.write(state)?;
        self.sync()?;
        Ok(appended)
    }

    /// Makes every state written so far durable.
    pub fn sync(&mut self) -> Result<(), DurableError> {
        self.log.sync()
    }

    /// Appends what changed since the last write without syncing it ([`AcceptorStore::sync`]
    /// makes it durable). Returns the bytes appended.
    pub fn write(&mut self, state: &LogDurableState<V>) -> Result<u64, DurableError> {
        let record = match diff(&self.saved, state) {
            Some(changes) if changes.is_empty() => return Ok(0),
            Some(changes) => AcceptorRecord::Changes(changes),
            None => AcceptorRecord::Full(state.clone()),
        };
        let appended = self.log.write_change(&record)?;
        // The record itself brings the saved state up to date: a copy of the whole state at
        // every step cost as much as the votes kept, where the change is one vote.
        match record {
            AcceptorRecord::Full(full) => self.saved = full,
            AcceptorRecord::Changes(changes) => {
                for change in changes {
                    apply(&mut self.saved, change);
                }
            }
        }
        debug_assert!(
            self.saved == *state,
            "a record must bring the saved state up to date"
        );
        let len = self.log.len_bytes();
        // A whole state found too large for one record is not tried again until the file is
        // twice that, rather than at every write.
        let compacted = self.log.compacted_len().max(self.log.refused_len());
        if len > self.compact_above && len > 2 * compacted && !self.log.compacting() {
            // Encoded and written beside the store; a later sync puts it in place.
            self.log
                .begin_rewrite(AcceptorRecord::Full(self.saved.clone()))?;
        }
        Ok(appended)
    }

    /// The file's length in bytes.
    pub fn len_bytes(&self) -> u64 {
        self.log.len_bytes()
    }
}

fn empty<V>() -> LogDurableState<V> {
    LogDurableState {
        rnd: 0,
        base: 0,
        votes: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Vote;
    use crate::temp_dir::TempDir;

    fn state(rnd: u32, base: u64, votes: &[(u64, u32, u32)]) -> LogDurableState<u32> {
        let votes = votes
            .iter()
            .map(|(slot, round, value)| {
                let vote = Vote {
                    round: *round,
                    value: *value,
                };
                (*slot, vote)
            })
            .collect();
        LogDurableState { rnd, base, votes }
    }

    #[test]
    fn the_saved_state_follows_every_kind_of_change_and_reopens_as_the_last_one() {
        let dir = TempDir::new("acceptor-store");
        let path = dir.path().join("votes.dat");
        let states = [
            state(0, 0, &[]),
            state(1, 0, &[]),
            state(1, 0, &[(0, 1, 7)]),
            state(1, 0, &[(0, 1, 7), (1, 1, 8)]),
            // A later round's vote replaces one; nothing changes; the round moves.
            state(2, 0, &[(0, 1, 7), (1, 2, 9)]),
            state(2, 0, &[(0, 1, 7), (1, 2, 9)]),
            state(3, 0, &[(0, 1, 7), (1, 2, 9)]),
            // A decided prefix dropped, then a vote above it.
            state(3, 1, &[(1, 2, 9)]),
            state(3, 1, &[(1, 2, 9), (4, 3, 5)]),
            // A vote gone above the base: said only as the whole state.
            state(3, 1, &[(4, 3, 5)]),
            state(4, 2, &[(4, 3, 5), (5, 4, 6)]),
        ];
        let mut store = AcceptorStore::open(&path, DurableOptions::default())
            .unwrap()
            .store;
        // A new store holds the empty state, so saving that first appends nothing.
        let mut before = empty();
        for (i, s) in states.iter().enumerate() {
            let unchanged = before == *s;
            before = s.clone();
            let appended = store.save(s).unwrap();
            assert_eq!(appended == 0, unchanged, "state {i}");
            assert_eq!(store.saved, *s, "state {i}");
        }
        drop(store);
        let reopened = AcceptorStore::<u32>::open(&path, DurableOptions::default()).unwrap();
        assert_eq!(reopened.state.as_ref(), states.last());
    }

    #[test]
    fn compactions_written_beside_the_store_lose_no_change() {
        let dir = TempDir::new("acceptor-compaction");
        let path = dir.path().join("votes.dat");
        let options = DurableOptions {
            compact_above_bytes: 2048,
        };
        let mut store = AcceptorStore::open(&path, options).unwrap().store;
        let mut current = state(0, 0, &[]);
        let mut appended = 0;
        for step in 0..3200u64 {
            // Votes in a window of 20 slots, a round now and then, the decided prefix moving.
            let round = (step / 100) as u32;
            current.rnd = round;
            current.votes.insert(
                step,
                Vote {
                    round,
                    value: step as u32,
                },
            );
            if step % 20 == 19 {
                current.base = step - 9;
                current.votes = current.votes.split_off(&current.base);
            }
            appended += store.save(&current).unwrap();
            if step % 500 == 499 {
                // Reopened at any moment, compaction under way or not: the last state saved.
                drop(store);
                let reopened = AcceptorStore::open(&path, options).unwrap();
                assert_eq!(reopened.state.as_ref(), Some(&current), "step {step}");
                assert!(reopened.torn_tail.is_none());
                store = reopened.store;
            }
        }
        let len = store.len_bytes();
        drop(store);
        let reopened = AcceptorStore::<u32>::open(&path, options).unwrap();
        assert_eq!(reopened.state, Some(current));
        assert!(
            len < appended / 4,
            "no compaction was put in place: the file ({len} bytes) keeps most of what was appended ({appended})"
        );
    }
}
