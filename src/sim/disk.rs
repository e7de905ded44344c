//! A simulated node's disk: the real durable store of a service acceptor ([`ServiceStore`]: its
//! log of changes and its replica's snapshot, in files of the run's directory) behind the
//! [`Storage`] trait, with the disk's faults around it: sync latency on the simulated clock, a
//! crash in the middle of a write (of what was written since the last sync, a part reached the
//! disk, its last record torn: recovery must cut it), and a full disk that refuses writes (the
//! node stops; nothing synced is lost). It also keeps what it synced,
//! for the checks: the round and votes (which every message the node sends must be covered
//! by), and the slot its snapshot covers (below which alone votes may be dropped).

use crate::durable::DurableError;
use crate::log::Slot;
use crate::log::acceptor::LogDurableState;
use crate::runtime::storage::Storage;
use crate::service::msg::SlotValue;
use crate::service::proposer_store::{KeepsAcceptorRecords, ProposerDurable, ServerDurable};
use crate::service::store::{ServiceDurable, ServiceStore, store_path};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The round and votes a disk has synced, shared with the node's outbox so that each message
/// is checked against it the moment it leaves.
pub type Synced = Arc<Mutex<LogDurableState<SlotValue>>>;

/// What the disk does on the next write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DiskFault {
    #[default]
    None,
    /// The node crashes during the next write, which keeps only this fraction (in 1/256) of
    /// its bytes.
    CrashDuringWrite { kept: u8 },
    /// The disk is full: every write fails until it is freed.
    Full,
}

/// Why a save did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskStop {
    /// The node crashed during the write.
    Crashed,
    /// The disk refused the write.
    Full,
    /// The store itself failed (a bug, or a real I/O error).
    Failed,
}

/// One node's disk for one life of the node (reopened after every restart).
pub struct SimDisk {
    store: ServiceStore,
    /// The file of the log of changes: the one a crash during a write tears.
    log_path: PathBuf,
    pub fault: DiskFault,
    /// The simulated time of the node, in µs: a sync moves it on.
    pub clock: Arc<AtomicU64>,
    /// How long the next sync takes, in µs (drawn by the world before each step).
    pub sync_latency: u64,
    /// Why the last write or sync failed, if it did.
    pub stopped: Option<DiskStop>,
    /// Writes, synced or not.
    pub saves: u64,
    pub syncs: u64,
    /// What the store holds, as of its last completed sync.
    pub synced: Synced,
    /// The log state of the last write not synced yet, which the next sync makes synced.
    written: Option<LogDurableState<SlotValue>>,
    /// The length of the log file at its last sync, while writes since are not synced.
    synced_len: Option<u64>,
    /// The `applied` of the snapshot the store holds (0: none).
    pub snapshot_applied: Slot,
    /// A save that dropped votes its snapshot does not cover: the slots, for the checks.
    pub uncovered_drop: Option<(Slot, Slot)>,
    /// The snapshot file as it was synced before the snapshot being written began (`None`:
    /// no file): what a crash puts back if the rename of the one being written is lost.
    before_pending: Option<Vec<u8>>,
}

/// What a reopened store recovered.
pub struct Reopened {
    pub disk: SimDisk,
    pub state: Option<ServiceDurable>,
    /// Bytes cut off a torn tail, if recovery found one.
    pub torn_bytes: Option<u64>,
}

impl SimDisk {
    /// Opens (or creates) the files of acceptor `id` in `dir`, recovering what they hold.
    pub fn open(dir: &Path, id: u16, clock: Arc<AtomicU64>) -> Result<Reopened, DurableError> {
        let opened = ServiceStore::open(dir, id)?;
        let recovered = opened.state.as_ref();
        let synced = recovered.map_or_else(
            || LogDurableState {
                rnd: 0,
                base: 0,
                votes: BTreeMap::new(),
            },
            |s| s.log.clone(),
        );
        let snapshot_applied = recovered
            .and_then(|s| s.snapshot.as_ref())
            .map_or(0, |s| s.applied);
        Ok(Reopened {
            disk: SimDisk {
                store: opened.store,
                log_path: store_path(dir, id),
                fault: DiskFault::None,
                clock,
                sync_latency: 0,
                stopped: None,
                saves: 0,
                syncs: 0,
                synced: Arc::new(Mutex::new(synced)),
                written: None,
                synced_len: None,
                snapshot_applied,
                uncovered_drop: None,
                before_pending: None,
            },
            state: opened.state,
            torn_bytes: opened.torn_tail.map(|t| t.cut_bytes),
        })
    }

    pub fn path(&self) -> PathBuf {
        self.log_path.clone()
    }

    /// Whether a snapshot is being written.
    pub fn writing_snapshot(&self) -> bool {
        self.store.pending_snapshot().is_some()
    }

    /// Crashes the disk: a snapshot still being written is lost if `lose_pending` (its rename
    /// never reached the disk: the snapshot synced before is back), else it lands. Returns
    /// whether one was lost.
    pub fn crash(self, lose_pending: bool) -> bool {
        let lost = lose_pending && self.writing_snapshot();
        let path = self.store.snapshot_path().to_path_buf();
        let SimDisk {
            store,
            before_pending,
            ..
        } = self;
        // Closing the store finishes the write: then it is undone.
        drop(store);
        if !lost {
            return false;
        }
        match before_pending {
            Some(bytes) => {
                let _ = std::fs::write(&path, bytes);
            }
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
        true
    }

    /// Before a save that begins a snapshot: the last one is waited for (as the store does
    /// first anyway), so that the file as synced is known.
    fn before_snapshot(&mut self, state: &ServiceDurable) -> Result<(), DurableError> {
        if state.snapshot.is_some() {
            self.store.settle_snapshot()?;
            self.before_pending = std::fs::read(self.store.snapshot_path()).ok();
        }
        Ok(())
    }

    /// `log` is synced: what the checks compare against from now on.
    fn synced_now(&mut self, log: LogDurableState<SlotValue>) {
        // Synced, not only taken: the store writes a snapshot beside the votes.
        self.snapshot_applied = self.store.durable_snapshot();
        if log.base > self.snapshot_applied {
            self.uncovered_drop = Some((self.snapshot_applied, log.base));
        }
        if let Ok(mut synced) = self.synced.lock() {
            *synced = log;
        }
    }
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

impl KeepsAcceptorRecords for SimDisk {}

/// A proposer's record in the simulator. It survives every crash: the runtime replaces the
/// proposer's file whole, by a rename after a sync, before anything the record allows is
/// sent, so a crash leaves the old record or the new one, never a part.
#[derive(Debug, Default)]
pub struct SimRecord(pub Option<ProposerDurable>);

impl Storage<ServerDurable> for SimRecord {
    fn save(&mut self, state: &ServerDurable) -> io::Result<()> {
        let record = state
            .proposer()
            .ok_or_else(|| io::Error::other("a proposer's record keeps no acceptor's votes"))?;
        self.0 = Some(record.clone());
        Ok(())
    }
}

impl Storage<ServiceDurable> for SimDisk {
    fn save(&mut self, state: &ServiceDurable) -> io::Result<()> {
        self.write(state)?;
        Storage::<ServiceDurable>::sync(self)
    }

    fn write(&mut self, state: &ServiceDurable) -> io::Result<()> {
        if self.fault == DiskFault::Full {
            self.stopped = Some(DiskStop::Full);
            return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
        }
        // Also before a write a crash interrupts: it begins the snapshot the crash may lose.
        if let Err(e) = self.before_snapshot(state) {
            self.stopped = Some(DiskStop::Failed);
            return Err(io::Error::other(e.to_string()));
        }
        let path = self.log_path.clone();
        let synced_len = *self.synced_len.get_or_insert_with(|| file_len(&path));
        if let DiskFault::CrashDuringWrite { kept } = self.fault {
            let written = self.store.write_durable(state);
            let after = file_len(&path);
            // Of what was appended since the last sync, only a part reached the disk, and
            // the last record it holds is torn. Only appends that grew the file can be torn
            // (a compaction replaced it whole, by rename, and synced).
            if written.is_ok() && after > synced_len {
                let keep = (after - synced_len) * u64::from(kept) / 256;
                let _ = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(synced_len + keep));
            }
            self.stopped = Some(DiskStop::Crashed);
            return Err(io::Error::other("crashed during the write"));
        }
        match self.store.write_durable(state) {
            Ok(()) => {
                self.saves += 1;
                self.written = Some(state.log.clone());
                Ok(())
            }
            Err(e) => {
                self.stopped = Some(DiskStop::Failed);
                Err(io::Error::other(e.to_string()))
            }
        }
    }

    fn sync(&mut self) -> io::Result<()> {
        let Some(log) = self.written.take() else {
            return Ok(());
        };
        match Storage::<ServiceDurable>::sync(&mut self.store) {
            Ok(()) => {
                self.syncs += 1;
                self.synced_len = None;
                self.clock.fetch_add(self.sync_latency, Ordering::Relaxed);
                self.synced_now(log);
                Ok(())
            }
            Err(e) => {
                self.stopped = Some(DiskStop::Failed);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::temp_dir::TempDir;

    /// A crash in the middle of a save that begins a snapshot loses at most that snapshot:
    /// the one before it was synced first, and is what the disk holds after.
    #[test]
    fn a_crash_during_a_write_loses_only_the_snapshot_it_began() {
        let dir = TempDir::new("sim-disk");
        let clock = Arc::new(AtomicU64::new(0));
        let mut disk = SimDisk::open(dir.path(), 0, Arc::clone(&clock))
            .unwrap()
            .disk;
        disk.save(&ServiceDurable::with_base(0, Some(4))).unwrap();
        disk.fault = DiskFault::CrashDuringWrite { kept: 128 };
        assert!(disk.save(&ServiceDurable::with_base(0, Some(8))).is_err());
        assert!(disk.crash(true), "the snapshot at 8 was being written");
        let reopened = SimDisk::open(dir.path(), 0, clock).unwrap();
        let applied = reopened.state.and_then(|s| s.snapshot).map(|s| s.applied);
        assert_eq!(applied, Some(4));
    }

    fn of_round(rnd: u32) -> ServiceDurable {
        let mut state = ServiceDurable::with_base(0, None);
        state.log.rnd = rnd;
        state
    }

    /// What was written since the last sync is what a crash during a write may lose (a part
    /// of it, the last record torn), never what was synced; the checks see a write only once
    /// it is synced.
    #[test]
    fn a_crash_during_a_write_keeps_a_part_of_what_was_written_since_the_sync() {
        for (kept, recovered) in [(0, 1), (255, 2)] {
            let dir = TempDir::new("sim-disk-unsynced");
            let clock = Arc::new(AtomicU64::new(0));
            let mut disk = SimDisk::open(dir.path(), 0, Arc::clone(&clock))
                .unwrap()
                .disk;
            disk.sync_latency = 7;
            disk.save(&of_round(1)).unwrap();
            assert_eq!(clock.load(Ordering::Relaxed), 7, "a sync takes its latency");
            disk.write(&of_round(2)).unwrap();
            assert_eq!(disk.synced.lock().unwrap().rnd, 1, "not synced yet");
            assert_eq!(
                clock.load(Ordering::Relaxed),
                7,
                "a write alone takes no time"
            );
            disk.fault = DiskFault::CrashDuringWrite { kept };
            assert!(disk.write(&of_round(3)).is_err());
            assert_eq!(disk.stopped, Some(DiskStop::Crashed));
            disk.crash(false);
            let reopened = SimDisk::open(dir.path(), 0, clock).unwrap();
            let rnd = reopened.state.map(|s| s.log.rnd);
            assert_eq!(
                rnd,
                Some(recovered),
                "kept {kept}/256 of the unsynced bytes"
            );
            assert!(reopened.torn_bytes.is_some() == (kept > 0), "kept {kept}");
        }
    }

    #[test]
    fn a_sync_makes_the_last_write_what_the_checks_see() {
        let dir = TempDir::new("sim-disk-sync");
        let clock = Arc::new(AtomicU64::new(0));
        let mut disk = SimDisk::open(dir.path(), 0, clock).unwrap().disk;
        disk.write(&of_round(4)).unwrap();
        disk.write(&of_round(5)).unwrap();
        assert_eq!(disk.synced.lock().unwrap().rnd, 0);
        Storage::<ServiceDurable>::sync(&mut disk).unwrap();
        assert_eq!(disk.synced.lock().unwrap().rnd, 5);
        assert_eq!((disk.saves, disk.syncs), (2, 1));
    }
}
