//! A snapshot file: one record, replaced whole by an atomic rename (a replica's applied
//! state). It needs no torn-tail handling: after a crash it holds the old or the new bytes.
//!
//! ```text
//! magic "BPFPSNAP" | version u32 | payload length u64 | CRC-32 u32 | payload (postcard)
//! ```
//!
//! The CRC-32 covers the 20 header bytes before it and the payload; integers little-endian.

use super::atomic::{remove_stale_temp, replace_file};
use super::error::{Corruption, DurableError, SnapshotDefect};
use super::log::MAX_FILE_LEN;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

pub use super::layout::snapshot_file::{HEADER_LEN, VERSION};

pub const MAGIC: [u8; 8] = *b"BPFPSNAP";
const VERSION_AT: usize = 8;
const LENGTH_AT: usize = 12;
const CHECKSUM_AT: usize = 20;

/// The bytes of a snapshot file holding `payload`.
pub fn encode_snapshot(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    let checksum = checksum(&out, payload);
    out.extend_from_slice(&checksum.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The payload of a snapshot file's bytes, or what is wrong with them.
pub fn decode_snapshot(file: &[u8]) -> Result<&[u8], SnapshotDefect> {
    let Some(header) = file.get(..HEADER_LEN) else {
        return Err(SnapshotDefect::Short { len: file.len() });
    };
    if header[..VERSION_AT] != MAGIC {
        let mut found = [0u8; 8];
        found.copy_from_slice(&header[..VERSION_AT]);
        return Err(SnapshotDefect::BadMagic { found });
    }
    let version = u32::from_le_bytes(word(header, VERSION_AT));
    if version != VERSION {
        return Err(SnapshotDefect::UnsupportedVersion { found: version });
    }
    let stated = u64::from_le_bytes(word(header, LENGTH_AT));
    let payload = &file[HEADER_LEN..];
    if stated != payload.len() as u64 {
        return Err(SnapshotDefect::Length {
            stated,
            actual: payload.len() as u64,
        });
    }
    let stored = u32::from_le_bytes(word(header, CHECKSUM_AT));
    let computed = checksum(&header[..CHECKSUM_AT], payload);
    if stored != computed {
        return Err(SnapshotDefect::Checksum { stored, computed });
    }
    Ok(payload)
}

/// Replaces the snapshot at `path` by `record`, synced (file and directory) before it
/// returns. Returns the bytes written.
pub fn write_snapshot<R: Serialize>(path: &Path, record: &R) -> Result<u64, DurableError> {
    write_snapshot_file(path, &snapshot_file(path, record)?)
}

/// The bytes of the snapshot file at `path` holding `record`, if they fit one file.
pub fn snapshot_file<R: Serialize>(path: &Path, record: &R) -> Result<Vec<u8>, DurableError> {
    let payload = postcard::to_stdvec(record).map_err(|e| DurableError::Encode {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let bytes = encode_snapshot(&payload);
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(DurableError::RecordTooLarge {
            path: path.to_path_buf(),
            len: payload.len(),
        });
    }
    Ok(bytes)
}

/// Replaces the snapshot at `path` by the file `bytes` ([`snapshot_file`]), synced (file and
/// directory) before it returns. Returns the bytes written.
pub fn write_snapshot_file(path: &Path, bytes: &[u8]) -> Result<u64, DurableError> {
    replace_file(path, bytes)?;
    Ok(bytes.len() as u64)
}

/// The snapshot at `path`, or `None` if there is none.
pub fn read_snapshot<R: DeserializeOwned>(path: &Path) -> Result<Option<R>, DurableError> {
    remove_stale_temp(path)?;
    let io_error = |action, source| DurableError::Io {
        path: path.to_path_buf(),
        action,
        source,
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("open", e)),
    };
    let corrupt = |corruption| DurableError::Corrupt {
        path: path.to_path_buf(),
        offset: 0,
        corruption,
    };
    let len = file
        .metadata()
        .map_err(|e| io_error("read metadata", e))?
        .len();
    if len > MAX_FILE_LEN {
        return Err(corrupt(Corruption::FileTooLarge { len }));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_FILE_LEN)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error("read", e))?;
    let payload = decode_snapshot(&bytes).map_err(|d| corrupt(Corruption::Snapshot(d)))?;
    let (record, rest) = postcard::take_from_bytes(payload).map_err(|e| {
        corrupt(Corruption::Undecodable {
            reason: e.to_string(),
        })
    })?;
    if !rest.is_empty() {
        return Err(corrupt(Corruption::Undecodable {
            reason: format!("{} bytes left over after the snapshot", rest.len()),
        }));
    }
    Ok(Some(record))
}

fn checksum(header: &[u8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(header);
    hasher.update(payload);
    hasher.finalize()
}

fn word<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}
