//! What a service acceptor keeps on disk: its round and votes (a log of changes, synced before
//! any PROMISE or LEARN that depends on them) and a snapshot of its replica's applied state,
//! written whole and synced before the votes of the slots it covers are dropped.

use super::kv::KvStore;
use super::msg::SlotValue;
use crate::durable::snapshot::{read_snapshot, write_snapshot};
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

    /// As [`ServiceStore::save_durable`], but the changes of the log state are left unsynced
    /// (the snapshot is still synced first: a later write may drop what it covers).
    pub fn write_durable(&mut self, state: &ServiceDurable) -> Result<(), DurableError> {
        if let Some(snapshot) = &state.snapshot {
            write_snapshot(&self.snapshot, snapshot)?;
        }
        self.votes.write(&state.log)?;
        Ok(())
    }

    /// The length of the votes' file in bytes.
    pub fn votes_len(&self) -> u64 {
        self.votes.len_bytes()
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
