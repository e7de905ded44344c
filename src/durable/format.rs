//! The bytes on disk: the file header and the record frames. Pure functions over byte slices.

use super::error::{Corruption, RecordDefect};
pub use super::layout::log_file::{HEADER_LEN, VERSION};

/// Names the file as this store's, so that a wrong path is refused rather than "recovered".
pub const MAGIC: [u8; 8] = *b"BPFPDLOG";
/// length (4) + checksum (4) before each payload.
pub const FRAME_HEADER_LEN: usize = 8;
/// A larger length field is corruption: no record of this store comes near it, and it is never
/// allocated.
pub const MAX_RECORD_LEN: u32 = 16 << 20;

const VERSION_AT: usize = 8;
const GENERATION_AT: usize = 12;
const SEALED_LEN_AT: usize = 20;
const HEADER_CHECKSUM_AT: usize = 28;

/// The file header.
///
/// `generation` is fresh for every file the store writes (creation and each compaction) and
/// seeds every record checksum, as does the record's offset: stale frames of an earlier file,
/// or a frame copied to another place, never pass as records of this one.
///
/// `sealed_len` is where the bytes written by that one atomic replacement end (the header and
/// the compacted record, if any). A crash cannot tear them, so damage there is an error, never a
/// torn tail to cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub generation: u64,
    pub sealed_len: u64,
}

impl Header {
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..VERSION_AT].copy_from_slice(&MAGIC);
        out[VERSION_AT..GENERATION_AT].copy_from_slice(&VERSION.to_le_bytes());
        out[GENERATION_AT..SEALED_LEN_AT].copy_from_slice(&self.generation.to_le_bytes());
        out[SEALED_LEN_AT..HEADER_CHECKSUM_AT].copy_from_slice(&self.sealed_len.to_le_bytes());
        let checksum = crc32fast::hash(&out[..HEADER_CHECKSUM_AT]);
        out[HEADER_CHECKSUM_AT..].copy_from_slice(&checksum.to_le_bytes());
        out
    }

    /// Reads the header at the start of `file` (the whole file), or says at which byte offset
    /// it is wrong and how.
    pub fn decode(file: &[u8]) -> Result<Header, (u64, Corruption)> {
        let Some(bytes) = file.get(..HEADER_LEN) else {
            return Err((0, Corruption::ShortHeader { len: file.len() }));
        };
        if bytes[..VERSION_AT] != MAGIC {
            let mut found = [0u8; 8];
            found.copy_from_slice(&bytes[..VERSION_AT]);
            return Err((0, Corruption::BadMagic { found }));
        }
        // The version comes before the checksum: a future format may lay its header out
        // differently, and "unsupported version" is the useful message then.
        let version = read_u32(bytes, VERSION_AT);
        if version != VERSION {
            return Err((
                VERSION_AT as u64,
                Corruption::UnsupportedVersion { found: version },
            ));
        }
        let stored = read_u32(bytes, HEADER_CHECKSUM_AT);
        let computed = crc32fast::hash(&bytes[..HEADER_CHECKSUM_AT]);
        if stored != computed {
            return Err((
                HEADER_CHECKSUM_AT as u64,
                Corruption::HeaderChecksum { stored, computed },
            ));
        }
        let header = Header {
            generation: read_u64(bytes, GENERATION_AT),
            sealed_len: read_u64(bytes, SEALED_LEN_AT),
        };
        let file_len = file.len() as u64;
        if header.sealed_len < HEADER_LEN as u64 || header.sealed_len > file_len {
            return Err((
                SEALED_LEN_AT as u64,
                Corruption::SealedPastEnd {
                    sealed_len: header.sealed_len,
                    file_len,
                },
            ));
        }
        Ok(header)
    }
}

/// A record that passed its checksum: where its payload lies in the file and where it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    pub payload_at: usize,
    pub end: usize,
}

/// The frame of `payload` to be written at byte `offset` of a file of `generation`.
pub fn encode_frame(generation: u64, offset: u64, payload: &[u8]) -> Vec<u8> {
    // The caller has checked the length against MAX_RECORD_LEN.
    let len = payload.len() as u32;
    let mut out = Vec::with_capacity(FRAME_HEADER_LEN + payload.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&checksum(generation, offset, len, payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Reads the frame at `offset` of `file`, checking its length and checksum.
pub fn parse_frame(file: &[u8], generation: u64, offset: usize) -> Result<Frame, RecordDefect> {
    let available = file.len().saturating_sub(offset);
    if available < FRAME_HEADER_LEN {
        return Err(RecordDefect::PartialFrameHeader { available });
    }
    let len = read_u32(file, offset);
    if len > MAX_RECORD_LEN {
        return Err(RecordDefect::LengthAboveMax { len });
    }
    let payload_at = offset + FRAME_HEADER_LEN;
    let end = payload_at + len as usize;
    let Some(payload) = file.get(payload_at..end) else {
        return Err(RecordDefect::PastEndOfFile { len, available });
    };
    let stored = read_u32(file, offset + 4);
    let computed = checksum(generation, offset as u64, len, payload);
    if stored != computed {
        return Err(RecordDefect::ChecksumMismatch { stored, computed });
    }
    Ok(Frame { payload_at, end })
}

/// CRC-32 over the generation, the offset, the length and the payload: covering the length
/// catches a damaged length that still lands inside the file, and the generation and offset
/// make a frame valid only where and in the file it was written.
fn checksum(generation: u64, offset: u64, len: u32, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&generation.to_le_bytes());
    hasher.update(&offset.to_le_bytes());
    hasher.update(&len.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}
