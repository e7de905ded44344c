//! The freshness floors of the clients whose addresses a node learns ([`Freshness`]): for each
//! client, the highest number its address moved for. On an acceptor they are durable, and a
//! floor is synced before the address moves, so that after a restart a replay of a request the
//! node saw before does not move the address either (a reflection). The file holds records of
//! raised entries ([`FloorsLog`]): a raise appends its one entry, whatever the number of clients.
//!
//! [`Freshness`]: super::event_loop::Freshness

use super::storage::{Storage, Volatile};
use crate::durable::{DurableError, DurableLog, DurableOptions, TornTail};
use stateright::actor::Id;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// The floors, by the client's node id (`usize::from(Id)`, WIRE.md section 2).
pub type FreshnessFloors = BTreeMap<u64, u64>;

/// The floors `floors` with the one of `client` raised to `fresh`, or `None` if `fresh` is not
/// above it (then the address must not move).
pub fn raised(floors: &FreshnessFloors, client: Id, fresh: u64) -> Option<FreshnessFloors> {
    let key = usize::from(client) as u64;
    if floors.get(&key).is_some_and(|floor| *floor >= fresh) {
        return None;
    }
    let mut next = floors.clone();
    next.insert(key, fresh);
    Some(next)
}

/// The floors of `client` raised to `fresh`, as the one entry a raise appends.
fn entry(client: Id, fresh: u64) -> FreshnessFloors {
    FreshnessFloors::from([(usize::from(client) as u64, fresh)])
}

/// Folds records of raised entries (or whole floors, which older files hold): each client's
/// highest floor. Floors only rise, so the order of the records does not matter.
fn fold(records: impl IntoIterator<Item = FreshnessFloors>) -> FreshnessFloors {
    let mut floors = FreshnessFloors::new();
    for record in records {
        for (client, floor) in record {
            let held = floors.entry(client).or_insert(floor);
            *held = (*held).max(floor);
        }
    }
    floors
}

/// The floors' file: each save appends (and syncs) the entries it is given; when the file has
/// grown past `compact_above` bytes and to twice its size after the last compaction, it is
/// rewritten as one record of every floor, so compaction's cost is spread over the appends.
#[derive(Debug)]
pub struct FloorsLog {
    log: DurableLog<FreshnessFloors>,
    /// What the file holds, folded: the record a compaction writes.
    folded: FreshnessFloors,
    compacted_len: u64,
    compact_above: u64,
}

/// What opening the floors' file recovered.
#[derive(Debug)]
pub struct OpenedFloors {
    pub store: FloorsLog,
    pub floors: FreshnessFloors,
    pub torn_tail: Option<TornTail>,
}

impl FloorsLog {
    /// Opens (or creates) the file at `path` and folds its records.
    pub fn open(path: &Path, options: DurableOptions) -> Result<OpenedFloors, DurableError> {
        let (log, recovered) = DurableLog::open_all(path, options)?;
        let floors = fold(recovered.records);
        let store = FloorsLog {
            compacted_len: log.len_bytes(),
            log,
            folded: floors.clone(),
            compact_above: options.compact_above_bytes,
        };
        Ok(OpenedFloors {
            store,
            floors,
            torn_tail: recovered.torn_tail,
        })
    }
}

impl Storage<FreshnessFloors> for FloorsLog {
    /// Appends the raised `entries` and syncs them.
    fn save(&mut self, entries: &FreshnessFloors) -> io::Result<()> {
        self.write(entries)?;
        self.sync()
    }

    fn sync(&mut self) -> io::Result<()> {
        self.log.sync().map_err(io::Error::other)
    }

    /// Appends the raised `entries` unsynced.
    fn write(&mut self, entries: &FreshnessFloors) -> io::Result<()> {
        self.log.write_change(entries).map_err(io::Error::other)?;
        self.folded = fold([std::mem::take(&mut self.folded), entries.clone()]);
        let len = self.log.len_bytes();
        if len > self.compact_above && len > 2 * self.compacted_len {
            self.log.rewrite(&self.folded).map_err(io::Error::other)?;
            self.compacted_len = self.log.len_bytes();
        }
        Ok(())
    }
}

/// A node's floors and where it keeps them.
pub struct AddressFloors {
    floors: FreshnessFloors,
    store: Box<dyn Storage<FreshnessFloors>>,
}

impl AddressFloors {
    /// Floors that a restart forgets (a node that keeps nothing, or a test).
    pub fn volatile() -> Self {
        Self::durable(FreshnessFloors::new(), Volatile)
    }

    /// Floors recovered as `floors`, each raise saved to `store` (and synced) first: the
    /// store is given the raised entry alone.
    pub fn durable(floors: FreshnessFloors, store: impl Storage<FreshnessFloors>) -> Self {
        AddressFloors {
            floors,
            store: Box::new(store),
        }
    }

    /// Raises the floor of `client` to `fresh` if it is above it: `Ok(true)` once it is
    /// written, and the client's address may move once [`AddressFloors::sync`] returns.
    pub fn raise(&mut self, client: Id, fresh: u64) -> io::Result<bool> {
        let key = usize::from(client) as u64;
        if self.floors.get(&key).is_some_and(|floor| *floor >= fresh) {
            return Ok(false);
        }
        self.store.write(&entry(client, fresh))?;
        self.floors.insert(key, fresh);
        Ok(true)
    }

    /// Makes every raise so far durable: one sync for the raises of a burst of datagrams.
    pub fn sync(&mut self) -> io::Result<()> {
        self.store.sync()
    }

    pub fn floors(&self) -> &FreshnessFloors {
        &self.floors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A store that counts its writes and syncs.
    #[derive(Clone, Default)]
    struct Counting(Arc<Mutex<(usize, usize)>>);

    impl Storage<FreshnessFloors> for Counting {
        fn save(&mut self, entries: &FreshnessFloors) -> io::Result<()> {
            self.write(entries)?;
            self.sync()
        }
        fn write(&mut self, _: &FreshnessFloors) -> io::Result<()> {
            self.0.lock().unwrap().0 += 1;
            Ok(())
        }
        fn sync(&mut self) -> io::Result<()> {
            self.0.lock().unwrap().1 += 1;
            Ok(())
        }
    }

    #[test]
    fn the_raises_of_a_burst_share_one_sync() {
        let store = Counting::default();
        let mut floors = AddressFloors::durable(FreshnessFloors::new(), store.clone());
        for client in 0..3 {
            assert!(floors.raise(Id::from(100 + client), 7).unwrap());
        }
        // A replay is no fresher: nothing is written for it.
        assert!(!floors.raise(Id::from(100), 7).unwrap());
        floors.sync().unwrap();
        assert_eq!(*store.0.lock().unwrap(), (3, 1), "(writes, syncs)");
    }
}
