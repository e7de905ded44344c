//! An acceptor's store of round and votes as a log of changes ([`crate::log::changes`]): each
//! save appends what changed since the last one, in one record synced once, so a vote costs
//! about the vote's bytes. When the file has grown to twice the size of the whole state (and
//! past a threshold), it is rewritten as one full record, so compaction's cost is spread over
//! the appends that made it necessary.

use crate::durable::{DurableError, DurableLog, DurableOptions, TornTail};
use crate::log::acceptor::LogDurableState;
use crate::log::changes::{AcceptorRecord, diff, fold};
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
    /// The file's length after its last compaction (or at opening).
    compacted_len: u64,
    compact_above: u64,
}

impl<V> AcceptorStore<V>
where
    V: Serialize + DeserializeOwned + Clone + Ord,
{
    /// Opens (or creates) the store at `path` and folds its records.
    pub fn open(path: &Path, options: DurableOptions) -> Result<OpenedStore<V>, DurableError> {
        let (log, recovered) = DurableLog::open_all(path, options)?;
        let state = fold(recovered.records);
        let store = AcceptorStore {
            compacted_len: log.len_bytes(),
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
        if *state == self.saved {
            return Ok(0);
        }
        let record = match diff(&self.saved, state) {
            Some(changes) => AcceptorRecord::Changes(changes),
            None => AcceptorRecord::Full(state.clone()),
        };
        let appended = self.log.write_change(&record)?;
        self.saved = state.clone();
        let len = self.log.len_bytes();
        if len > self.compact_above && len > 2 * self.compacted_len {
            match self.log.rewrite(&AcceptorRecord::Full(state.clone())) {
                Ok(()) => self.compacted_len = self.log.len_bytes(),
                // The whole state does not fit one record: keep appending changes, which
                // are as durable; compaction is only a saving of space.
                Err(DurableError::RecordTooLarge { len, .. }) => {
                    tracing::warn!(len, "the acceptor's state is too large to compact");
                    self.compacted_len = len as u64;
                }
                Err(e) => return Err(e),
            }
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
