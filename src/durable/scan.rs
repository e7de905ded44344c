//! Recovery's reading of a whole file: every record in order, then the decision whether a bad
//! record is a torn tail (to cut) or damage (to refuse). Pure, over the file's bytes.

use super::error::{Corruption, RecordDefect};
use super::format::{FRAME_HEADER_LEN, Frame, HEADER_LEN, Header, MAX_RECORD_LEN, parse_frame};
use std::ops::Range;

/// How many payload bytes the search for a valid record after a bad one may checksum. Plain
/// damage costs little (most offsets fail on their length field); the bound keeps crafted
/// contents from making recovery slow, at the price of refusing to guess.
const SEARCH_BUDGET_BYTES: u64 = 256 << 20;

/// What a readable file holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    pub header: Header,
    /// The payload of the last valid record: the current state.
    pub last_payload: Option<Range<usize>>,
    /// The payloads of every valid record, in order (a store of changes folds them all).
    pub payloads: Vec<Range<usize>>,
    pub records: u64,
    /// Where the valid records end; the file is cut here when `tail` is set.
    pub valid_end: usize,
    /// The bad record at the end of the file, if any.
    pub tail: Option<(usize, RecordDefect)>,
}

/// Reads `file`, or says at which byte offset it is unreadable and why.
pub fn scan(file: &[u8]) -> Result<Scan, (u64, Corruption)> {
    let header = Header::decode(file)?;
    // `decode` checked that sealed_len lies within the file.
    let sealed_len = header.sealed_len as usize;
    let mut scan = Scan {
        header,
        last_payload: None,
        payloads: Vec::new(),
        records: 0,
        valid_end: HEADER_LEN,
        tail: None,
    };
    let mut at = HEADER_LEN;
    while at < file.len() {
        match parse_frame(file, header.generation, at) {
            Ok(Frame { payload_at, end }) => {
                if at < sealed_len && end > sealed_len {
                    let corruption = Corruption::SealedBoundary {
                        sealed_len: header.sealed_len,
                    };
                    return Err((at as u64, corruption));
                }
                scan.last_payload = Some(payload_at..end);
                scan.payloads.push(payload_at..end);
                scan.records += 1;
                scan.valid_end = end;
                at = end;
            }
            Err(defect) if at < sealed_len => {
                return Err((at as u64, Corruption::SealedRecord { defect }));
            }
            Err(defect) => {
                return match find_valid_frame_after(file, header.generation, at) {
                    Search::NoneFound => {
                        scan.tail = Some((at, defect));
                        Ok(scan)
                    }
                    Search::Found(valid_record_at) => {
                        let corruption = Corruption::BeforeValidRecord {
                            defect,
                            valid_record_at: valid_record_at as u64,
                        };
                        Err((at as u64, corruption))
                    }
                    Search::OutOfBudget => Err((at as u64, Corruption::Undetermined { defect })),
                };
            }
        }
    }
    Ok(scan)
}

enum Search {
    NoneFound,
    Found(usize),
    OutOfBudget,
}

/// Looks for a valid frame at any offset after the bad one at `bad_at`. A crash tears only the
/// last append, so a valid record after a bad one means damage in the middle of the log; the
/// bad record's own length field cannot be trusted to say where the next one starts.
fn find_valid_frame_after(file: &[u8], generation: u64, bad_at: usize) -> Search {
    let mut budget = SEARCH_BUDGET_BYTES;
    for at in bad_at + 1..file.len().saturating_sub(FRAME_HEADER_LEN - 1) {
        let mut len = [0u8; 4];
        len.copy_from_slice(&file[at..at + 4]);
        let len = u32::from_le_bytes(len);
        let left = file.len() - at - FRAME_HEADER_LEN;
        // Cheap rejections first: most offsets fail here without a checksum.
        if len > MAX_RECORD_LEN || len as usize > left {
            continue;
        }
        // The checksum also covers the generation, offset and length: 16 bytes.
        let cost = u64::from(len) + 16;
        if budget < cost {
            return Search::OutOfBudget;
        }
        budget -= cost;
        if parse_frame(file, generation, at).is_ok() {
            return Search::Found(at);
        }
    }
    Search::NoneFound
}
