//! The store itself: open (recover), append (write and sync), compact.

use super::atomic::{remove_stale_temp, replace_file, sync_parent_dir, temp_path, write_temp};
use super::error::{Corruption, DurableError, TornTail};
use super::format::{HEADER_LEN, Header, MAX_RECORD_LEN, encode_frame};
use super::scan::scan;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

pub use super::layout::log_file::MAX_FILE_LEN;

/// When to compact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurableOptions {
    /// After an append that leaves the file larger than this, it is rewritten to hold only the
    /// last record.
    pub compact_above_bytes: u64,
}

impl Default for DurableOptions {
    fn default() -> Self {
        DurableOptions {
            compact_above_bytes: 1 << 20,
        }
    }
}

/// What [`DurableLog::open`] found in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered<R> {
    /// The last valid record (each record is a full snapshot), or `None` for a new store.
    pub state: Option<R>,
    /// How many valid records the file held.
    pub records: u64,
    /// The torn or corrupt tail that was cut off, if there was one.
    pub torn_tail: Option<TornTail>,
}

/// What [`DurableLog::open_all`] found in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveredAll<R> {
    /// Every valid record, in order.
    pub records: Vec<R>,
    /// How many valid records the file held.
    pub count: u64,
    /// The torn or corrupt tail that was cut off, if there was one.
    pub torn_tail: Option<TornTail>,
}

/// Which records recovery decodes.
enum Read {
    Last,
    All,
}

/// An append-only file of records of type `R`: each a full snapshot of the durable state
/// ([`DurableLog::append`]), or changes that recovery folds ([`DurableLog::append_change`]).
#[derive(Debug)]
pub struct DurableLog<R> {
    path: PathBuf,
    file: File,
    header: Header,
    len: u64,
    options: DurableOptions,
    /// Set when a write, sync or compaction failed: what is on disk is then unknown.
    poisoned: bool,
    /// Frames were written since the last sync ([`DurableLog::write_change`]).
    unsynced: bool,
    /// A compaction being written on another thread ([`DurableLog::begin_rewrite`]).
    rewrite: Option<Rewrite>,
    /// The file the last compaction replaced, until the rename is durable.
    replaced: Option<Replaced>,
    /// The length of a whole state that a compaction found too large for one record.
    refused_len: u64,
    /// The file's length after its last compaction, or as it was opened.
    compacted_len: u64,
    /// Held while the store is open: two processes appending to one store could each
    /// vote in a round the other already voted in.
    _lock: File,
    record: PhantomData<fn(&R)>,
    /// A test's hold on the next directory sync of a compaction: it waits for a message.
    #[cfg(test)]
    hold_directory_sync: Option<std::sync::mpsc::Receiver<()>>,
}

/// A compaction under way: the new file (its header and the whole state) is encoded, written
/// and synced by `worker` beside the store, under the temporary name, while records go on
/// being appended to the old file. Those records are kept here, to follow the whole state in
/// the new file before it replaces the old one.
#[derive(Debug)]
struct Rewrite {
    worker: JoinHandle<Result<(File, Header), DurableError>>,
    /// `None` once they outgrew the store's compaction threshold (a disk so slow that the
    /// compaction falls behind the appends): the compaction is then thrown away when written,
    /// so that memory stays bounded.
    since: Option<Vec<Vec<u8>>>,
    since_bytes: u64,
}

impl Rewrite {
    fn keep(&mut self, payload: Vec<u8>, bound: u64) {
        let Some(since) = &mut self.since else {
            return;
        };
        self.since_bytes += payload.len() as u64;
        if self.since_bytes > bound {
            tracing::warn!(
                bytes = self.since_bytes,
                "records outgrew a compaction still being written: it will be thrown away"
            );
            self.since = None;
        } else {
            since.push(payload);
        }
    }
}

/// The file a compaction replaced, until the directory's sync (on `directory_synced`) makes
/// the rename durable. A crash before then may leave the directory naming this file, so every
/// record is written and synced to it too, framed for its generation and offsets.
#[derive(Debug)]
struct Replaced {
    file: File,
    generation: u64,
    len: u64,
    directory_synced: JoinHandle<Result<(), DurableError>>,
}

impl<R: Serialize + DeserializeOwned> DurableLog<R> {
    /// Opens the store at `path` with the default options; see [`DurableLog::open_with`].
    pub fn open(path: impl AsRef<Path>) -> Result<(Self, Recovered<R>), DurableError> {
        Self::open_with(path, DurableOptions::default())
    }

    /// Opens the store at `path`, creating it if absent, and recovers the last valid record. A
    /// torn or corrupt tail is cut off (and the cut synced) and reported; any other damage is an
    /// error, and the file is left as it was.
    pub fn open_with(
        path: impl AsRef<Path>,
        options: DurableOptions,
    ) -> Result<(Self, Recovered<R>), DurableError> {
        let (log, mut all) = Self::open_reading(path.as_ref(), options, Read::Last)?;
        let recovered = Recovered {
            state: all.records.pop(),
            records: all.count,
            torn_tail: all.torn_tail,
        };
        Ok((log, recovered))
    }

    /// As [`DurableLog::open_with`], for a store whose records are changes rather than
    /// snapshots: recovers every valid record, in the order they were appended.
    pub fn open_all(
        path: impl AsRef<Path>,
        options: DurableOptions,
    ) -> Result<(Self, RecoveredAll<R>), DurableError> {
        Self::open_reading(path.as_ref(), options, Read::All)
    }

    fn open_reading(
        path: &Path,
        options: DurableOptions,
        read: Read,
    ) -> Result<(Self, RecoveredAll<R>), DurableError> {
        let path = path.to_path_buf();
        let lock = take_lock(&path)?;
        remove_stale_temp(&path)?;
        let file = match open_for_append(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Self::create(path, options, lock);
            }
            Err(source) => return Err(io_error(&path, "open", source)),
        };
        let bytes = read_whole(&path, &file)?;
        let corrupt = |(offset, corruption)| DurableError::Corrupt {
            path: path.clone(),
            offset,
            corruption,
        };
        let found = scan(&bytes).map_err(corrupt)?;
        let payloads = match read {
            Read::Last => found.last_payload.iter().cloned().collect::<Vec<_>>(),
            Read::All => found.payloads.clone(),
        };
        let records = payloads
            .into_iter()
            .map(|payload| {
                decode(&bytes[payload.clone()]).map_err(|reason| {
                    let offset = (payload.start - super::format::FRAME_HEADER_LEN) as u64;
                    corrupt((offset, Corruption::Undecodable { reason }))
                })
            })
            .collect::<Result<Vec<R>, _>>()?;
        let torn_tail = match found.tail {
            Some((offset, defect)) => {
                file.set_len(found.valid_end as u64)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| io_error(&path, "cut torn tail", e))?;
                Some(TornTail {
                    path: path.clone(),
                    offset: offset as u64,
                    cut_bytes: (bytes.len() - found.valid_end) as u64,
                    defect,
                })
            }
            None => None,
        };
        let log = DurableLog {
            path,
            file,
            header: found.header,
            len: found.valid_end as u64,
            options,
            poisoned: false,
            unsynced: false,
            rewrite: None,
            replaced: None,
            refused_len: 0,
            compacted_len: found.valid_end as u64,
            _lock: lock,
            record: PhantomData,
            #[cfg(test)]
            hold_directory_sync: None,
        };
        let recovered = RecoveredAll {
            records,
            count: found.records,
            torn_tail,
        };
        Ok((log, recovered))
    }

    /// Appends `record` and syncs it, without compacting: for a store of changes, whose
    /// owner compacts with [`DurableLog::rewrite`] when it chooses. Returns the bytes
    /// appended. After an error the store refuses further appends until it is reopened.
    pub fn append_change(&mut self, record: &R) -> Result<u64, DurableError> {
        let appended = self.write_change(record)?;
        self.sync()?;
        Ok(appended)
    }

    /// Appends `record` without syncing it: it survives a crash only once [`DurableLog::sync`]
    /// returns, so nothing that depends on it may be sent before (group commit: one sync for
    /// the records of several steps). Returns the bytes appended.
    pub fn write_change(&mut self, record: &R) -> Result<u64, DurableError> {
        let payload = self.encode(record)?;
        self.poisoned = true;
        let frame = encode_frame(self.header.generation, self.len, &payload);
        self.file
            .write_all(&frame)
            .map_err(|e| io_error(&self.path, "append record", e))?;
        self.len += frame.len() as u64;
        if let Some(replaced) = &mut self.replaced {
            let copy = encode_frame(replaced.generation, replaced.len, &payload);
            replaced
                .file
                .write_all(&copy)
                .map_err(|e| io_error(&self.path, "append record to the replaced file", e))?;
            replaced.len += copy.len() as u64;
        }
        self.unsynced = true;
        if let Some(rewrite) = &mut self.rewrite {
            rewrite.keep(payload, self.options.compact_above_bytes);
        }
        self.poisoned = false;
        Ok(frame.len() as u64)
    }

    /// Makes every record written so far durable; nothing to do if all are.
    /// A compaction written beside the store ([`DurableLog::begin_rewrite`]) takes the old
    /// file's place here once it is ready, after every record is synced.
    pub fn sync(&mut self) -> Result<(), DurableError> {
        if self.unsynced {
            if self.poisoned {
                return Err(DurableError::Poisoned {
                    path: self.path.clone(),
                });
            }
            self.poisoned = true;
            self.file
                .sync_data()
                .map_err(|e| io_error(&self.path, "sync records", e))?;
            if let Some(replaced) = &self.replaced {
                replaced
                    .file
                    .sync_data()
                    .map_err(|e| io_error(&self.path, "sync the replaced file", e))?;
            }
            self.unsynced = false;
            self.poisoned = false;
        }
        // A store that failed a write keeps its old file: what is on disk is unknown.
        if !self.poisoned {
            self.advance_compaction()?;
        }
        Ok(())
    }

    /// Lets go of the replaced file once the rename is durable, and puts a written
    /// compaction in place.
    fn advance_compaction(&mut self) -> Result<(), DurableError> {
        if self
            .replaced
            .as_ref()
            .is_some_and(|replaced| replaced.directory_synced.is_finished())
            && let Some(replaced) = self.replaced.take()
        {
            self.poisoned = true;
            join(replaced.directory_synced, &self.path, "sync directory")??;
            self.poisoned = false;
        }
        if self
            .rewrite
            .as_ref()
            .is_some_and(|rewrite| rewrite.worker.is_finished())
        {
            self.finish_rewrite()?;
        }
        Ok(())
    }

    /// Starts replacing the file by one holding only `record` (the whole state, as folded
    /// from every record written so far) followed by the records written from now on. The
    /// whole state is encoded, written and synced on another thread, off the path of the
    /// appends: only the records written meanwhile and the rename are left for the
    /// [`DurableLog::sync`] that finds it done, and the directory's sync goes to another
    /// thread again. Until the rename is durable, the old file, which a rename replaces whole,
    /// holds everything. Returns `false` if a compaction is already under way.
    pub fn begin_rewrite(&mut self, record: R) -> Result<bool, DurableError>
    where
        R: Send + 'static,
    {
        if self.rewrite.is_some() || self.replaced.is_some() {
            return Ok(false);
        }
        if self.poisoned {
            return Err(DurableError::Poisoned {
                path: self.path.clone(),
            });
        }
        let generation = fresh_generation(self.header.generation);
        let (path, temp) = (self.path.clone(), temp_path(&self.path));
        let worker = std::thread::Builder::new()
            .name("compaction".into())
            .spawn(move || {
                let payload = encode_record(&path, &record)?;
                let (header, bytes) = compacted_file(generation, &payload);
                Ok((write_temp(&temp, &bytes)?, header))
            })
            .map_err(|e| io_error(&self.path, "start compaction", e))?;
        self.rewrite = Some(Rewrite {
            worker,
            since: Some(Vec::new()),
            since_bytes: 0,
        });
        Ok(true)
    }

    /// Puts a written compaction in the old file's place: the records written since it
    /// began follow the whole state, are synced, and the new file is renamed over the old
    /// one. The old file is kept, and written to, until the directory's sync is done.
    fn finish_rewrite(&mut self) -> Result<(), DurableError> {
        let Some(rewrite) = self.rewrite.take() else {
            return Ok(());
        };
        let temp = temp_path(&self.path);
        self.poisoned = true;
        let (mut file, header) = match join(rewrite.worker, &temp, "write compaction")? {
            Ok(written) => written,
            Err(DurableError::RecordTooLarge { len, .. }) => {
                // Only a saving of space: the records appended are as durable.
                tracing::warn!(len, "the whole state is too large to compact");
                self.refused_len = len as u64;
                self.poisoned = false;
                return remove_temp(&temp);
            }
            Err(e) => return Err(e),
        };
        let Some(since) = rewrite.since else {
            drop(file);
            self.poisoned = false;
            return remove_temp(&temp);
        };
        let mut len = header.sealed_len;
        let mut frames = Vec::new();
        for payload in &since {
            let frame = encode_frame(header.generation, len, payload);
            len += frame.len() as u64;
            frames.extend_from_slice(&frame);
        }
        file.write_all(&frames)
            .and_then(|()| file.sync_data())
            .map_err(|e| io_error(&temp, "append records to compaction", e))?;
        drop(file);
        std::fs::rename(&temp, &self.path).map_err(|e| io_error(&temp, "rename compaction", e))?;
        let new = open_for_append(&self.path).map_err(|e| io_error(&self.path, "reopen", e))?;
        let old = std::mem::replace(&mut self.file, new);
        match self.sync_directory_beside() {
            Ok(directory_synced) => {
                self.replaced = Some(Replaced {
                    file: old,
                    generation: self.header.generation,
                    len: self.len,
                    directory_synced,
                });
            }
            // No thread for it: synced here, and the old file is done with.
            Err(e) => {
                tracing::warn!(%e, "cannot start the directory's sync beside the store: synced in the step");
                sync_parent_dir(&self.path)?;
            }
        }
        self.header = header;
        self.len = len;
        self.compacted_len = header.sealed_len;
        self.refused_len = 0;
        self.poisoned = false;
        Ok(())
    }

    /// Syncs the store's directory on a thread of its own.
    fn sync_directory_beside(&mut self) -> io::Result<JoinHandle<Result<(), DurableError>>> {
        let path = self.path.clone();
        #[cfg(test)]
        let hold = self.hold_directory_sync.take();
        std::thread::Builder::new()
            .name("compaction".into())
            .spawn(move || {
                #[cfg(test)]
                if let Some(hold) = hold {
                    let _ = hold.recv();
                }
                sync_parent_dir(&path)
            })
    }

    /// The length of the last whole state found too large for one record (0 if none since
    /// the last compaction): compacting again is worth trying only once the file outgrows it.
    pub fn refused_len(&self) -> u64 {
        self.refused_len
    }

    /// Whether a compaction is under way: being written, or in place with its rename not yet
    /// durable. [`DurableLog::begin_rewrite`] starts no other until it is done.
    pub fn compacting(&self) -> bool {
        self.rewrite.is_some() || self.replaced.is_some()
    }

    /// The file's length after its last compaction (its header and the whole state), or as
    /// it was opened.
    pub fn compacted_len(&self) -> u64 {
        self.compacted_len
    }

    /// Replaces the file, atomically, by one holding only `record` (the whole state).
    pub fn rewrite(&mut self, record: &R) -> Result<(), DurableError> {
        let payload = self.encode(record)?;
        self.poisoned = true;
        self.compact(&payload)?;
        self.poisoned = false;
        Ok(())
    }

    fn encode(&self, record: &R) -> Result<Vec<u8>, DurableError> {
        if self.poisoned {
            return Err(DurableError::Poisoned {
                path: self.path.clone(),
            });
        }
        encode_record(&self.path, record)
    }

    /// Writes one frame at the end and syncs it; the caller poisons the store around it.
    fn write_frame(&mut self, payload: &[u8]) -> Result<u64, DurableError> {
        let frame = encode_frame(self.header.generation, self.len, payload);
        self.file
            .write_all(&frame)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io_error(&self.path, "append record", e))?;
        self.len += frame.len() as u64;
        self.unsynced = false;
        Ok(frame.len() as u64)
    }

    /// Appends `record` and syncs it: when this returns `Ok`, the record survives a crash, and
    /// the caller may send what depends on it. After an error the store refuses further appends
    /// until it is reopened.
    pub fn append(&mut self, record: &R) -> Result<(), DurableError> {
        let payload = self.encode(record)?;
        // Poison first: any early return below leaves it set.
        self.poisoned = true;
        self.write_frame(&payload)?;
        if self.len > self.options.compact_above_bytes {
            self.compact(&payload)?;
        }
        self.poisoned = false;
        Ok(())
    }
}

impl<R> Drop for DurableLog<R> {
    /// A compaction still being written is waited for (another store opened at this path
    /// must not meet its thread writing the temporary file) and thrown away: the old file
    /// holds everything.
    fn drop(&mut self) {
        self.abandon_rewrite();
    }
}

impl<R> DurableLog<R> {
    /// Waits for a compaction under way and throws it away, and for the directory's sync of
    /// the last one.
    fn abandon_rewrite(&mut self) {
        if let Some(rewrite) = self.rewrite.take() {
            let _ = rewrite.worker.join();
            let _ = std::fs::remove_file(temp_path(&self.path));
        }
        if let Some(replaced) = self.replaced.take() {
            let _ = replaced.directory_synced.join();
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The length of the file in bytes.
    pub fn len_bytes(&self) -> u64 {
        self.len
    }

    fn create(
        path: PathBuf,
        options: DurableOptions,
        lock: File,
    ) -> Result<(Self, RecoveredAll<R>), DurableError> {
        let header = Header {
            generation: fresh_generation(0),
            sealed_len: HEADER_LEN as u64,
        };
        // Created whole by rename, so a crash never leaves a half-written header.
        replace_file(&path, &header.encode())?;
        let file = open_for_append(&path).map_err(|e| io_error(&path, "open", e))?;
        let log = DurableLog {
            path,
            file,
            header,
            len: HEADER_LEN as u64,
            options,
            poisoned: false,
            unsynced: false,
            rewrite: None,
            replaced: None,
            refused_len: 0,
            compacted_len: HEADER_LEN as u64,
            _lock: lock,
            record: PhantomData,
            #[cfg(test)]
            hold_directory_sync: None,
        };
        let recovered = RecoveredAll {
            records: Vec::new(),
            count: 0,
            torn_tail: None,
        };
        Ok((log, recovered))
    }

    /// Replaces the file by one holding only the record `payload`, sealed against tail cuts.
    fn compact(&mut self, payload: &[u8]) -> Result<(), DurableError> {
        // The temporary file is this compaction's now.
        self.abandon_rewrite();
        let (header, bytes) = compacted_file(fresh_generation(self.header.generation), payload);
        replace_file(&self.path, &bytes)?;
        self.file = open_for_append(&self.path).map_err(|e| io_error(&self.path, "reopen", e))?;
        self.header = header;
        self.len = header.sealed_len;
        self.compacted_len = header.sealed_len;
        // The new file was synced whole; the old one's unsynced tail is gone with it.
        self.unsynced = false;
        Ok(())
    }
}

/// A compacted file whole: a header with `generation`, and the one record `payload`, sealed.
fn compacted_file(generation: u64, payload: &[u8]) -> (Header, Vec<u8>) {
    let frame = encode_frame(generation, HEADER_LEN as u64, payload);
    let header = Header {
        generation,
        sealed_len: (HEADER_LEN + frame.len()) as u64,
    };
    let mut bytes = header.encode().to_vec();
    bytes.extend_from_slice(&frame);
    (header, bytes)
}

/// A generation unlike `previous` and unlikely to match a deleted file's at the same path.
fn fresh_generation(previous: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let fresh = previous.wrapping_add(1) ^ (nanos << 20);
    if fresh == previous { fresh ^ 1 } else { fresh }
}

/// `record`'s payload, if it fits one record.
fn encode_record<R: Serialize>(path: &Path, record: &R) -> Result<Vec<u8>, DurableError> {
    let payload = postcard::to_stdvec(record).map_err(|e| DurableError::Encode {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if payload.len() > MAX_RECORD_LEN as usize {
        return Err(DurableError::RecordTooLarge {
            path: path.to_path_buf(),
            len: payload.len(),
        });
    }
    Ok(payload)
}

/// What a thread of the store returned, or an error naming `action` if it panicked.
fn join<T>(thread: JoinHandle<T>, path: &Path, action: &'static str) -> Result<T, DurableError> {
    thread.join().map_err(|_| DurableError::Io {
        path: path.to_path_buf(),
        action,
        source: io::Error::other("the store's thread panicked"),
    })
}

/// Removes a compaction thrown away (if it got as far as a file).
fn remove_temp(temp: &Path) -> Result<(), DurableError> {
    match std::fs::remove_file(temp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(io_error(temp, "remove thrown-away compaction", e))
        }
        _ => Ok(()),
    }
}

fn decode<R: DeserializeOwned>(payload: &[u8]) -> Result<R, String> {
    let (record, rest) = postcard::take_from_bytes(payload).map_err(|e| e.to_string())?;
    if !rest.is_empty() {
        return Err(format!("{} bytes left over after the record", rest.len()));
    }
    Ok(record)
}

fn open_for_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).append(true).open(path)
}

fn read_whole(path: &Path, file: &File) -> Result<Vec<u8>, DurableError> {
    let len = file
        .metadata()
        .map_err(|e| io_error(path, "read metadata", e))?
        .len();
    if len > MAX_FILE_LEN {
        return Err(DurableError::Corrupt {
            path: path.to_path_buf(),
            offset: 0,
            corruption: Corruption::FileTooLarge { len },
        });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // Bounded, in case the file grew since its length was read.
    file.take(MAX_FILE_LEN)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, "read", e))?;
    Ok(bytes)
}

fn io_error(path: &Path, action: &'static str, source: io::Error) -> DurableError {
    DurableError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// Takes the exclusive lock of the store at `path` (a `.lock` file beside it, which
/// compaction's rename leaves alone), or says that another process holds it.
fn take_lock(path: &Path) -> Result<File, DurableError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io_error(&lock_path, "open the lock file", e))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(io_error(
            path,
            "lock",
            io::Error::new(
                io::ErrorKind::WouldBlock,
                "another process has this store open",
            ),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(io_error(&lock_path, "lock", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::temp_dir::TempDir;
    use std::sync::mpsc;
    use std::time::Duration;

    /// The records a copy of `file` recovers, opened as a store in a directory of its own.
    fn records_of_copy(file: &Path, name: &str) -> Vec<u64> {
        let dir = TempDir::new(name);
        let copy = dir.path().join("store.log");
        std::fs::copy(file, &copy).unwrap();
        let (_, recovered) = DurableLog::<u64>::open_all(&copy, DurableOptions::default())
            .unwrap_or_else(|e| panic!("the copy of {} does not open: {e}", file.display()));
        recovered.records
    }

    /// A compaction's rename is durable only once the directory is synced. Until then a crash
    /// may leave the directory naming either file, so each must hold every record synced
    /// after the rename; and no append waits for that sync.
    #[test]
    fn a_compaction_takes_the_old_files_place_without_an_append_waiting_for_the_directory() {
        let dir = TempDir::new("switch");
        let path = dir.path().join("store.log");
        let old_view = dir.path().join("old-view");
        let (mut log, _) = DurableLog::<u64>::open_all(&path, DurableOptions::default()).unwrap();
        for i in 0..10 {
            log.append_change(&i).unwrap();
        }
        // The old file as a crash before the directory's sync may leave it at `path`.
        std::fs::hard_link(&path, &old_view).unwrap();
        let (release, hold) = mpsc::channel();
        log.hold_directory_sync = Some(hold);
        assert!(log.begin_rewrite(1000).unwrap());

        // The store lives on a thread of its own, so that an append held by the directory's
        // sync shows as a timeout here rather than a hung test.
        let (done, appended) = mpsc::channel();
        let (go_on, more) = mpsc::channel::<()>();
        let worker = std::thread::spawn(move || {
            let mut next = 10;
            // Appends until the compaction is in place.
            while log.rewrite.is_some() {
                log.append_change(&next).unwrap();
                next += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            done.send(next).unwrap();
            for _ in more.iter() {
                log.append_change(&next).unwrap();
                done.send(next).unwrap();
                next += 1;
            }
            log
        });
        let switched_at = appended
            .recv_timeout(Duration::from_secs(10))
            .expect("an append waited for the directory's sync of a compaction");
        for _ in 0..5 {
            go_on.send(()).unwrap();
            appended.recv_timeout(Duration::from_secs(10)).unwrap();
        }
        let last = switched_at + 4;

        // Before the directory's sync: the new file and the old one both end with every record
        // appended since the compaction began.
        let new = records_of_copy(&path, "switch-new");
        let old = records_of_copy(&old_view, "switch-old");
        assert_eq!(new.first(), Some(&1000), "{new:?}");
        assert_eq!(new.last(), Some(&last), "{new:?}");
        assert_eq!(old, (0..=last).collect::<Vec<_>>());
        let since = new.len() - 1;
        assert_eq!(new[1..], old[old.len() - since..]);

        // Once the directory is synced the old file is left alone.
        release.send(()).unwrap();
        drop(go_on);
        let mut log = worker.join().unwrap();
        while log.replaced.is_some() {
            std::thread::sleep(Duration::from_millis(1));
            log.sync().unwrap();
        }
        let old_len = std::fs::metadata(&old_view).unwrap().len();
        for i in 0..20 {
            log.append_change(&(5000 + i)).unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(std::fs::metadata(&old_view).unwrap().len(), old_len);
        drop(log);
        let (_, recovered) = DurableLog::<u64>::open_all(&path, DurableOptions::default()).unwrap();
        assert_eq!(recovered.records.last(), Some(&5019));
        assert_eq!(recovered.records[0], 1000);
    }

    /// Waits for a compaction under way to be written, and syncs.
    fn sync_once_written<R: Serialize + DeserializeOwned>(log: &mut DurableLog<R>) {
        while log
            .rewrite
            .as_ref()
            .is_some_and(|rewrite| !rewrite.worker.is_finished())
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        log.sync().unwrap();
    }

    #[test]
    fn a_compaction_outgrown_by_the_records_written_meanwhile_is_thrown_away() {
        let dir = TempDir::new("outgrown");
        let path = dir.path().join("store.log");
        let options = DurableOptions {
            compact_above_bytes: 100,
        };
        let (mut log, _) = DurableLog::<u64>::open_all(&path, options).unwrap();
        log.append_change(&1).unwrap();
        assert!(log.begin_rewrite(1000).unwrap());
        // Written, not synced: the compaction cannot be put in place meanwhile. Each record
        // is 1 to 3 bytes, so over a hundred of them pass the bound.
        for i in 2..200 {
            log.write_change(&i).unwrap();
        }
        assert!(log.rewrite.as_ref().unwrap().since.is_none());
        sync_once_written(&mut log);
        assert!(!log.compacting());
        assert!(!temp_path(&path).exists());
        // Another may begin.
        assert!(log.begin_rewrite(2000).unwrap());
        drop(log);
        let (_, recovered) = DurableLog::<u64>::open_all(&path, options).unwrap();
        assert_eq!(recovered.records, (1..200).collect::<Vec<_>>());
    }

    #[test]
    fn a_whole_state_too_large_to_compact_leaves_the_records_and_is_remembered() {
        let dir = TempDir::new("too-large");
        let path = dir.path().join("store.log");
        let (mut log, _) =
            DurableLog::<Vec<u8>>::open_all(&path, DurableOptions::default()).unwrap();
        log.append_change(&vec![1]).unwrap();
        let huge = vec![7u8; MAX_RECORD_LEN as usize + 1];
        assert!(log.begin_rewrite(huge).unwrap());
        sync_once_written(&mut log);
        assert!(!log.compacting());
        assert!(log.refused_len() > u64::from(MAX_RECORD_LEN));
        assert!(!temp_path(&path).exists());
        log.append_change(&vec![2]).unwrap();
        drop(log);
        let (_, recovered) =
            DurableLog::<Vec<u8>>::open_all(&path, DurableOptions::default()).unwrap();
        assert_eq!(recovered.records, vec![vec![1], vec![2]]);
    }
}
