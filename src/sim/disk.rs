//! A simulated node's disk: the real durable store ([`DurableLog`], on a file of the run's
//! directory) behind the [`Storage`] trait, with the disk's faults around it: sync latency on
//! the simulated clock, a crash in the middle of a write (the record is torn: recovery must cut
//! it), and a full disk that refuses writes (the node stops; nothing synced is lost).

use crate::durable::{DurableError, DurableLog};
use crate::runtime::storage::Storage;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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
pub struct SimDisk<R> {
    store: DurableLog<R>,
    pub fault: DiskFault,
    /// The simulated time of the node, in µs: a sync moves it on.
    pub clock: Arc<AtomicU64>,
    /// How long the next sync takes, in µs (drawn by the world before each step).
    pub sync_latency: u64,
    /// Why the last save failed, if it did.
    pub stopped: Option<DiskStop>,
    pub saves: u64,
}

/// What a reopened store recovered.
pub struct Reopened<R> {
    pub disk: SimDisk<R>,
    pub state: Option<R>,
    /// Bytes cut off a torn tail, if recovery found one.
    pub torn_bytes: Option<u64>,
}

impl<R: Serialize + DeserializeOwned> SimDisk<R> {
    /// Opens (or creates) the store at `path`, recovering what it holds.
    pub fn open(path: &Path, clock: Arc<AtomicU64>) -> Result<Reopened<R>, DurableError> {
        let (store, recovered) = DurableLog::open(path)?;
        Ok(Reopened {
            disk: SimDisk {
                store,
                fault: DiskFault::None,
                clock,
                sync_latency: 0,
                stopped: None,
                saves: 0,
            },
            state: recovered.state,
            torn_bytes: recovered.torn_tail.map(|t| t.cut_bytes),
        })
    }

    pub fn path(&self) -> PathBuf {
        self.store.path().to_path_buf()
    }
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

impl<R> Storage<R> for SimDisk<R>
where
    R: Serialize + DeserializeOwned + Send + 'static,
{
    fn save(&mut self, state: &R) -> io::Result<()> {
        match self.fault {
            DiskFault::Full => {
                self.stopped = Some(DiskStop::Full);
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            DiskFault::CrashDuringWrite { kept } => {
                let path = self.store.path().to_path_buf();
                let before = file_len(&path);
                let written = self.store.append(state);
                let after = file_len(&path);
                // Only an append that grew the file can be torn (a compaction replaced it
                // whole, by rename).
                if written.is_ok() && after > before {
                    let keep = (after - before) * u64::from(kept) / 256;
                    let _ = std::fs::OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .and_then(|f| f.set_len(before + keep));
                }
                self.stopped = Some(DiskStop::Crashed);
                return Err(io::Error::other("crashed during the write"));
            }
            DiskFault::None => {}
        }
        match self.store.append(state) {
            Ok(()) => {
                self.saves += 1;
                self.clock.fetch_add(self.sync_latency, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                self.stopped = Some(DiskStop::Failed);
                Err(io::Error::other(e.to_string()))
            }
        }
    }
}
