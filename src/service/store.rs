//! What a service acceptor keeps on disk: its round and votes (a log of changes, synced before
//! any PROMISE or LEARN that depends on them) and a snapshot of its replica's applied state,
//! written whole and synced before the votes of the slots it covers are dropped. The snapshot
//! is written and synced on a thread beside the store, so that no step waits for its syncs
//! (file and directory) but a save that drops votes only it covers.

use super::kv::KvStore;
use super::msg::SlotValue;
use crate::durable::snapshot::{read_snapshot, snapshot_file, write_snapshot_file};
use crate::durable::{DurableError, DurableOptions, TornTail};
use crate::log::Slot;
use crate::log::acceptor::LogDurableState;
use crate::runtime::acceptor_store::AcceptorStore;
use crate::runtime::floors::{AddressFloors, FloorsLog};
use crate::runtime::storage::Storage;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A replica's applied state: the store (with the clients' sessions) once every slot below
/// `applied` is applied, and the digest of the log applied.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReplicaSnapshot {
    pub applied: Slot,
    pub log_digest: [u8; 32],
    pub store: Arc<KvStore>,
}

/// What a service acceptor saves: its log state, and a snapshot to write first (synced)
/// when one is due. On recovery, the last snapshot written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServiceDurable {
    pub log: LogDurableState<SlotValue>,
    pub snapshot: Option<ReplicaSnapshot>,
}

#[cfg(test)]
impl ServiceDurable {
    /// A state of round 1 with no vote, whose votes are dropped below `base`, with an empty
    /// store's snapshot at `snapshot_of` if any: what the tests of saving and snapshots need.
    pub(crate) fn with_base(base: Slot, snapshot_of: Option<Slot>) -> Self {
        ServiceDurable {
            log: LogDurableState {
                rnd: 1,
                base,
                votes: BTreeMap::new(),
            },
            snapshot: snapshot_of.map(|applied| ReplicaSnapshot {
                applied,
                log_digest: [applied as u8; 32],
                store: Arc::new(KvStore::default()),
            }),
        }
    }
}

/// The files of acceptor `id` in `data_dir`.
pub fn store_path(data_dir: &Path, id: u16) -> PathBuf {
    data_dir.join(format!("acceptor-{id}.log"))
}

pub fn snapshot_path(data_dir: &Path, id: u16) -> PathBuf {
    data_dir.join(format!("acceptor-{id}.snapshot"))
}

/// The freshness floors of the clients' addresses (`crate::runtime::floors`).
pub fn floors_path(data_dir: &Path, id: u16) -> PathBuf {
    data_dir.join(format!("acceptor-{id}.clients"))
}

/// Opens (or creates) the floors of acceptor `id`: a store of raised entries, each appended
/// and synced before the address it allows moves.
pub fn open_floors(data_dir: &Path, id: u16) -> Result<AddressFloors, DurableError> {
    let opened = FloorsLog::open(&floors_path(data_dir, id), DurableOptions::default())?;
    if let Some(torn) = &opened.torn_tail {
        tracing::warn!(%torn, "cut a torn tail off the clients' floors");
    }
    Ok(AddressFloors::durable(opened.floors, opened.store))
}

/// An acceptor's two files.
#[derive(Debug)]
pub struct ServiceStore {
    votes: AcceptorStore<SlotValue>,
    snapshot: PathBuf,
    /// The `applied` of the snapshot known synced (0: none): votes below it may be dropped.
    durable_at: Slot,
    /// A snapshot being written and synced beside the store.
    pending: Option<PendingSnapshot>,
    /// A test's hold on the next snapshot's write: it waits for a message.
    #[cfg(test)]
    hold_snapshot: Option<std::sync::mpsc::Receiver<()>>,
}

#[derive(Debug)]
struct PendingSnapshot {
    applied: Slot,
    writer: JoinHandle<Result<u64, DurableError>>,
}

/// What opening an acceptor's files recovered.
#[derive(Debug)]
pub struct OpenedService {
    pub store: ServiceStore,
    /// `None` for a new acceptor.
    pub state: Option<ServiceDurable>,
    pub torn_tail: Option<TornTail>,
}

impl ServiceStore {
    pub fn open(data_dir: &Path, id: u16) -> Result<OpenedService, DurableError> {
        let opened = AcceptorStore::open(&store_path(data_dir, id), DurableOptions::default())?;
        let snapshot_file = snapshot_path(data_dir, id);
        let snapshot = read_snapshot::<ReplicaSnapshot>(&snapshot_file)?;
        let durable_at = snapshot.as_ref().map_or(0, |s| s.applied);
        // A replica may apply (and snapshot) slots it learned by catch-up before it ever
        // voted: a snapshot beside an empty store of votes is a state like any other.
        let state = match (opened.state, snapshot) {
            (None, None) => None,
            (log, snapshot) => Some(ServiceDurable {
                log: log.unwrap_or_else(|| LogDurableState {
                    rnd: 0,
                    base: 0,
                    votes: BTreeMap::new(),
                }),
                snapshot,
            }),
        };
        Ok(OpenedService {
            store: ServiceStore {
                votes: opened.store,
                snapshot: snapshot_file,
                durable_at,
                pending: None,
                #[cfg(test)]
                hold_snapshot: None,
            },
            state,
            torn_tail: opened.torn_tail,
        })
    }

    /// Writes the snapshot, if any, then the changes of the log state: each synced before
    /// the next, so the votes of a slot are dropped on disk only once a snapshot covers it.
    pub fn save_durable(&mut self, state: &ServiceDurable) -> Result<(), DurableError> {
        self.write_durable(state)?;
        self.votes.sync()
    }

    /// As [`ServiceStore::save_durable`], but the changes of the log state are left unsynced.
    /// The snapshot, if any, is written and synced beside the store; the changes wait for it
    /// only if they drop votes it alone covers.
    pub fn write_durable(&mut self, state: &ServiceDurable) -> Result<(), DurableError> {
        if let Some(snapshot) = &state.snapshot {
            // One at a time: a snapshot has one temporary file.
            self.settle_snapshot()?;
            // Encoded here: a writer holding the replica's store would make its next apply
            // copy the whole store.
            let bytes = snapshot_file(&self.snapshot, snapshot)?;
            let path = self.snapshot.clone();
            #[cfg(test)]
            let hold = self.hold_snapshot.take();
            let writer = std::thread::Builder::new()
                .name("snapshot".into())
                .spawn(move || {
                    #[cfg(test)]
                    if let Some(hold) = hold {
                        let _ = hold.recv();
                    }
                    write_snapshot_file(&path, &bytes)
                })
                .map_err(|source| DurableError::Io {
                    path: self.snapshot.clone(),
                    action: "start the snapshot's write",
                    source,
                })?;
            self.pending = Some(PendingSnapshot {
                applied: snapshot.applied,
                writer,
            });
        }
        if state.log.base > self.durable_at {
            // It drops votes below its base: only once a synced snapshot covers them.
            self.settle_snapshot()?;
        }
        self.votes.write(&state.log)?;
        Ok(())
    }

    /// Waits for the snapshot being written, if any.
    pub fn settle_snapshot(&mut self) -> Result<(), DurableError> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let written = pending.writer.join().map_err(|_| DurableError::Io {
            path: self.snapshot.clone(),
            action: "write snapshot",
            source: io::Error::other("the snapshot's thread panicked"),
        })?;
        written?;
        self.durable_at = self.durable_at.max(pending.applied);
        Ok(())
    }

    /// The `applied` of a snapshot still being written (not waited for), if any.
    pub fn pending_snapshot(&self) -> Option<Slot> {
        self.pending.as_ref().map(|p| p.applied)
    }

    /// The snapshot's file.
    pub fn snapshot_path(&self) -> &Path {
        &self.snapshot
    }

    /// The `applied` of the last snapshot known synced (0 if none): the store drops no vote
    /// at or above it.
    pub fn durable_snapshot(&self) -> Slot {
        self.durable_at
    }

    /// The length of the votes' file in bytes.
    pub fn votes_len(&self) -> u64 {
        self.votes.len_bytes()
    }
}

impl Drop for ServiceStore {
    /// A snapshot still being written is finished: another store opened on these files must
    /// not meet its thread.
    fn drop(&mut self) {
        if let Some(pending) = self.pending.take() {
            let _ = pending.writer.join();
        }
    }
}

impl Storage<ServiceDurable> for ServiceStore {
    fn save(&mut self, state: &ServiceDurable) -> io::Result<()> {
        self.save_durable(state).map_err(io::Error::other)
    }

    fn write(&mut self, state: &ServiceDurable) -> io::Result<()> {
        self.write_durable(state).map_err(io::Error::other)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.votes.sync().map_err(io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::temp_dir::TempDir;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A snapshot's write and syncs (file and directory) happen beside the store; only a
    /// save that drops votes the snapshot alone covers waits for them.
    #[test]
    fn a_snapshot_is_written_beside_the_store_and_waited_for_only_by_what_it_covers() {
        let dir = TempDir::new("service-store");
        let mut store = ServiceStore::open(dir.path(), 0).unwrap().store;
        store
            .save_durable(&ServiceDurable::with_base(0, Some(4)))
            .unwrap();
        let (release, hold) = mpsc::channel();
        store.hold_snapshot = Some(hold);

        let (done, saved) = mpsc::channel();
        let (go_on, next) = mpsc::channel::<()>();
        let owner = std::thread::spawn(move || {
            store
                .save_durable(&ServiceDurable::with_base(4, Some(10)))
                .unwrap();
            done.send(store.durable_snapshot()).unwrap();
            next.recv().unwrap();
            // Drops the votes below 7: only the snapshot being written covers them.
            store
                .save_durable(&ServiceDurable::with_base(7, None))
                .unwrap();
            done.send(store.durable_snapshot()).unwrap();
            store
        });
        let durable_then = saved
            .recv_timeout(Duration::from_secs(10))
            .expect("a save waited for the write of its snapshot");
        assert_eq!(durable_then, 4, "the snapshot at 10 is still being written");
        go_on.send(()).unwrap();
        assert!(
            saved.recv_timeout(Duration::from_millis(300)).is_err(),
            "a save dropped votes below 7 before a synced snapshot covered them"
        );
        release.send(()).unwrap();
        let durable_after = saved.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(durable_after, 10);
        drop(owner.join().unwrap());

        let reopened = ServiceStore::open(dir.path(), 0).unwrap();
        let state = reopened.state.unwrap();
        assert_eq!(state.log.base, 7);
        assert_eq!(state.snapshot.map(|s| s.applied), Some(10));
    }
}
