//! What can go wrong with the durable store, and the report of a torn tail that was cut.

use super::layout::{log_file, snapshot_file};
use std::fmt::{self, Display};
use std::io;
use std::path::PathBuf;

/// Why a record could not be read. At the tail of the file this is what a crash during an
/// append leaves; anywhere else it is damage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordDefect {
    /// Fewer bytes than a frame header (length and checksum) are left.
    PartialFrameHeader { available: usize },
    /// The length field is above [`MAX_RECORD_LEN`](super::MAX_RECORD_LEN).
    LengthAboveMax { len: u32 },
    /// The payload would end past the end of the file.
    PastEndOfFile { len: u32, available: usize },
    /// The bytes are all there but do not match their checksum.
    ChecksumMismatch { stored: u32, computed: u32 },
}

/// What is wrong with a file that the store refuses to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Corruption {
    ShortHeader {
        len: usize,
    },
    BadMagic {
        found: [u8; 8],
    },
    UnsupportedVersion {
        found: u32,
    },
    HeaderChecksum {
        stored: u32,
        computed: u32,
    },
    /// The header says the atomically written part ends past the end of the file.
    SealedPastEnd {
        sealed_len: u64,
        file_len: u64,
    },
    /// A damaged record inside the atomically written part, which no crash can tear.
    SealedRecord {
        defect: RecordDefect,
    },
    /// A valid record straddles the end of the atomically written part.
    SealedBoundary {
        sealed_len: u64,
    },
    /// A damaged record with a valid record after it: not a torn tail.
    BeforeValidRecord {
        defect: RecordDefect,
        valid_record_at: u64,
    },
    /// A damaged record after which the search for valid records ran out of budget, so it is
    /// unknown whether it is the tail.
    Undetermined {
        defect: RecordDefect,
    },
    /// A record that passed its checksum but is not an encoding of the record type.
    Undecodable {
        reason: String,
    },
    /// Larger than any file this store writes.
    FileTooLarge {
        len: u64,
    },
    /// A snapshot file that is not one written whole by this store.
    Snapshot(SnapshotDefect),
}

/// What is wrong with a snapshot file. It is written by an atomic rename, so a crash never
/// leaves it half written: any of these is damage, never a torn write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotDefect {
    Short {
        len: usize,
    },
    BadMagic {
        found: [u8; 8],
    },
    UnsupportedVersion {
        found: u32,
    },
    /// The header's payload length is not what follows it.
    Length {
        stated: u64,
        actual: u64,
    },
    Checksum {
        stored: u32,
        computed: u32,
    },
}

impl Display for SnapshotDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotDefect::Short { len } => write!(
                f,
                "snapshot of {len} bytes is shorter than its {}-byte header",
                snapshot_file::HEADER_LEN
            ),
            SnapshotDefect::BadMagic { found } => {
                write!(f, "bad magic {found:02x?}, not a snapshot of this store")
            }
            SnapshotDefect::UnsupportedVersion { found } => write!(
                f,
                "unsupported snapshot version {found} (this build reads version {})",
                snapshot_file::VERSION
            ),
            SnapshotDefect::Length { stated, actual } => write!(
                f,
                "snapshot header says {stated} payload bytes, the file holds {actual}"
            ),
            SnapshotDefect::Checksum { stored, computed } => write!(
                f,
                "snapshot checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
        }
    }
}

/// An error of the durable store. Each names the file; those about its contents also name the
/// byte offset.
#[derive(Debug)]
pub enum DurableError {
    Io {
        path: PathBuf,
        action: &'static str,
        source: io::Error,
    },
    Corrupt {
        path: PathBuf,
        offset: u64,
        corruption: Corruption,
    },
    Encode {
        path: PathBuf,
        reason: String,
    },
    RecordTooLarge {
        path: PathBuf,
        len: usize,
    },
    /// An earlier write, sync or compaction failed, so what is on disk is unknown: reopen the
    /// store to recover from the file.
    Poisoned {
        path: PathBuf,
    },
}

/// A torn or corrupt tail found by [`DurableLog::open`](super::DurableLog::open) and cut off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    pub path: PathBuf,
    /// Where the bad record began; the file now ends here.
    pub offset: u64,
    pub cut_bytes: u64,
    pub defect: RecordDefect,
}

impl Display for RecordDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordDefect::PartialFrameHeader { available } => {
                write!(f, "only {available} bytes of an 8-byte record header")
            }
            RecordDefect::LengthAboveMax { len } => write!(
                f,
                "record length {len} is above the maximum {}",
                super::MAX_RECORD_LEN
            ),
            RecordDefect::PastEndOfFile { len, available } => write!(
                f,
                "record of {len} bytes runs past the end of the file ({available} bytes left \
                 with its header)"
            ),
            RecordDefect::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
        }
    }
}

impl Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corruption::ShortHeader { len } => write!(
                f,
                "file of {len} bytes is shorter than the {}-byte header",
                log_file::HEADER_LEN
            ),
            Corruption::BadMagic { found } => {
                write!(f, "bad magic {found:02x?}, not a durable log of this store")
            }
            Corruption::UnsupportedVersion { found } => write!(
                f,
                "unsupported format version {found} (this build reads version {})",
                log_file::VERSION
            ),
            Corruption::HeaderChecksum { stored, computed } => write!(
                f,
                "header checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
            Corruption::SealedPastEnd {
                sealed_len,
                file_len,
            } => write!(
                f,
                "header says the compacted part is {sealed_len} bytes, but the file has \
                 {file_len}"
            ),
            Corruption::SealedRecord { defect } => write!(
                f,
                "damaged record in the compacted part, which a crash cannot tear: {defect}"
            ),
            Corruption::SealedBoundary { sealed_len } => write!(
                f,
                "record crosses the end of the compacted part at byte {sealed_len}"
            ),
            Corruption::BeforeValidRecord {
                defect,
                valid_record_at,
            } => write!(
                f,
                "damaged record in the middle of the log ({defect}); a valid record follows at \
                 byte {valid_record_at}"
            ),
            Corruption::Undetermined { defect } => write!(
                f,
                "damaged record ({defect}), and whether valid records follow it could not be \
                 determined"
            ),
            Corruption::Undecodable { reason } => {
                write!(
                    f,
                    "record passed its checksum but does not decode: {reason}"
                )
            }
            Corruption::FileTooLarge { len } => write!(
                f,
                "file of {len} bytes is larger than any this store writes (at most {})",
                log_file::MAX_FILE_LEN
            ),
            Corruption::Snapshot(defect) => write!(f, "{defect}"),
        }
    }
}

impl Display for DurableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurableError::Io {
                path,
                action,
                source,
            } => write!(f, "{}: {action}: {source}", path.display()),
            DurableError::Corrupt {
                path,
                offset,
                corruption,
            } => write!(
                f,
                "{}: at byte offset {offset}: {corruption}",
                path.display()
            ),
            DurableError::Encode { path, reason } => {
                write!(f, "{}: cannot encode record: {reason}", path.display())
            }
            DurableError::RecordTooLarge { path, len } => write!(
                f,
                "{}: record of {len} bytes is above the maximum {}",
                path.display(),
                super::MAX_RECORD_LEN
            ),
            DurableError::Poisoned { path } => write!(
                f,
                "{}: an earlier write failed, the state on disk is unknown; reopen to recover",
                path.display()
            ),
        }
    }
}

impl std::error::Error for DurableError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DurableError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Display for TornTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: torn or corrupt tail at byte offset {} ({}), as a crash during a write leaves; \
             cut {} bytes and recovered the record before it",
            self.path.display(),
            self.offset,
            self.defect,
            self.cut_bytes
        )
    }
}
