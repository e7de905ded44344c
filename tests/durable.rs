//! The acceptor's durable store (src/durable): recovery of the last record, torn tails cut at
//! every offset, damage in the middle and in the header refused with its offset, compaction,
//! and garbage files that never panic.

mod common;
use common::TempDir;

use bp_fast_paxos::acceptor::DurableState;
use bp_fast_paxos::durable::{
    Corruption, DurableError, DurableLog, DurableOptions, MAX_RECORD_LEN, RecordDefect, Recovered,
};
use bp_fast_paxos::message::Vote;
use bp_fast_paxos::models::value::ModelValue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

type State = DurableState<ModelValue>;
type Log = DurableLog<State>;

/// Records the largest allocation of the test binary, to show that a length field is never
/// trusted for one.
struct LargestAllocation;

static LARGEST_ALLOCATION: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST_ALLOCATION.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST_ALLOCATION.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

fn state(rnd: u32, vote: Option<(u32, u8)>) -> State {
    DurableState {
        rnd,
        last_vote: vote.map(|(round, client)| Vote {
            round,
            value: ModelValue::Client(client),
        }),
    }
}

/// The `i`-th of a sequence of distinct states.
fn nth(i: u32) -> State {
    state(i + 1, Some((i, (i % 3) as u8)))
}

fn open<R: Serialize + DeserializeOwned>(path: &Path) -> (DurableLog<R>, Recovered<R>) {
    DurableLog::open(path).unwrap_or_else(|e| panic!("open: {e}"))
}

fn open_err(path: &Path) -> DurableError {
    match Log::open(path) {
        Ok((_, recovered)) => panic!("expected an error, recovered {recovered:?}"),
        Err(e) => e,
    }
}

/// Writes `count` records of `nth` and returns the file's bytes and the end of each record
/// (`ends[0]` is the end of the header).
fn write_records(path: &Path, count: u32) -> (Vec<u8>, Vec<u64>) {
    let (mut log, _) = open::<State>(path);
    let mut ends = vec![log.len_bytes()];
    for i in 0..count {
        log.append(&nth(i)).expect("append");
        ends.push(log.len_bytes());
    }
    drop(log);
    let bytes = fs::read(path).expect("read");
    assert_eq!(bytes.len() as u64, *ends.last().unwrap());
    (bytes, ends)
}

fn corrupt_offset(e: &DurableError) -> (u64, &Corruption) {
    match e {
        DurableError::Corrupt {
            offset, corruption, ..
        } => (*offset, corruption),
        other => panic!("expected corruption, got {other}"),
    }
}

#[test]
fn a_new_file_recovers_nothing() {
    let dir = TempDir::new("new");
    let (log, recovered) = open::<State>(&dir.store_file());
    assert_eq!(
        recovered,
        Recovered {
            state: None,
            records: 0,
            torn_tail: None
        }
    );
    let header_len = log.len_bytes();
    drop(log);
    assert_eq!(fs::metadata(dir.store_file()).unwrap().len(), header_len);
    let (_, again) = open::<State>(&dir.store_file());
    assert_eq!(
        again,
        Recovered {
            state: None,
            records: 0,
            torn_tail: None
        }
    );
}

#[test]
fn a_store_is_open_in_one_place_at_a_time() {
    let dir = TempDir::new("lock");
    let (mut first, _) = open::<State>(&dir.store_file());
    first.append(&nth(0)).unwrap();
    let refused = open_err(&dir.store_file());
    assert!(
        refused
            .to_string()
            .contains("another process has this store open"),
        "{refused}"
    );
    drop(first);
    let (_, recovered) = open::<State>(&dir.store_file());
    assert_eq!(recovered.state, Some(nth(0)));
}

#[test]
fn reopening_returns_the_last_record() {
    let dir = TempDir::new("reopen");
    write_records(&dir.store_file(), 3);
    let (mut log, recovered) = open::<State>(&dir.store_file());
    assert_eq!(recovered.state, Some(nth(2)));
    assert_eq!(recovered.records, 3);
    assert_eq!(recovered.torn_tail, None);
    log.append(&state(9, None)).unwrap();
    drop(log);
    let (_, recovered) = open::<State>(&dir.store_file());
    assert_eq!(recovered.state, Some(state(9, None)));
    assert_eq!(recovered.records, 4);
}

#[test]
fn any_serde_record_type_is_stored() {
    // A replicated log's per-slot votes: the format knows nothing of single decree.
    type Slots = BTreeMap<u64, Vote<String>>;
    let dir = TempDir::new("slots");
    let mut slots = Slots::new();
    let (mut log, _) = open::<Slots>(&dir.store_file());
    for slot in 0..20u64 {
        let value = format!("batch {slot}");
        slots.insert(slot, Vote { round: 3, value });
        log.append(&slots).unwrap();
    }
    drop(log);
    let (_, recovered) = open::<Slots>(&dir.store_file());
    assert_eq!(recovered.state, Some(slots));
    assert_eq!(recovered.records, 20);
}

#[test]
fn truncation_at_every_offset_of_the_last_record_recovers_the_one_before() {
    let dir = TempDir::new("truncate");
    let path = dir.store_file();
    let (bytes, ends) = write_records(&path, 2);
    let (last_start, last_end) = (ends[1], ends[2]);
    for cut in last_start..last_end {
        fs::write(&path, &bytes[..cut as usize]).unwrap();
        let (mut log, recovered) = open::<State>(&path);
        assert_eq!(recovered.state, Some(nth(0)), "cut at {cut}");
        assert_eq!(recovered.records, 1, "cut at {cut}");
        if cut == last_start {
            assert_eq!(
                recovered.torn_tail, None,
                "a cut between records leaves no tail"
            );
        } else {
            let tail = recovered.torn_tail.expect("a torn tail");
            assert_eq!(tail.offset, last_start, "cut at {cut}");
            assert_eq!(tail.cut_bytes, cut - last_start, "cut at {cut}");
            let message = tail.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(
                message.contains(&format!("byte offset {last_start}")),
                "{message}"
            );
        }
        assert_eq!(
            fs::metadata(&path).unwrap().len(),
            last_start,
            "tail cut from the file"
        );
        log.append(&nth(7)).unwrap();
        drop(log);
        let (_, reopened) = open::<State>(&path);
        assert_eq!(reopened.state, Some(nth(7)), "cut at {cut}");
        assert_eq!(reopened.records, 2);
        assert_eq!(reopened.torn_tail, None);
    }
}

#[test]
fn a_flipped_bit_in_the_last_record_is_cut_as_a_torn_tail() {
    let dir = TempDir::new("flip-last");
    let path = dir.store_file();
    let (bytes, ends) = write_records(&path, 3);
    for bit in ends[2] * 8..ends[3] * 8 {
        let mut damaged = bytes.clone();
        damaged[(bit / 8) as usize] ^= 1 << (bit % 8);
        fs::write(&path, &damaged).unwrap();
        let (_, recovered) = open::<State>(&path);
        assert_eq!(recovered.state, Some(nth(1)), "bit {bit}");
        let tail = recovered.torn_tail.expect("a torn tail");
        assert_eq!(tail.offset, ends[2], "bit {bit}");
        assert_eq!(fs::metadata(&path).unwrap().len(), ends[2]);
    }
}

#[test]
fn a_flipped_bit_in_a_middle_record_is_an_error_naming_its_offset() {
    let dir = TempDir::new("flip-middle");
    let path = dir.store_file();
    let (bytes, ends) = write_records(&path, 3);
    for bit in ends[1] * 8..ends[2] * 8 {
        let mut damaged = bytes.clone();
        damaged[(bit / 8) as usize] ^= 1 << (bit % 8);
        fs::write(&path, &damaged).unwrap();
        let e = open_err(&path);
        let (offset, corruption) = corrupt_offset(&e);
        assert_eq!(offset, ends[1], "bit {bit}");
        match corruption {
            Corruption::BeforeValidRecord {
                valid_record_at, ..
            } => assert_eq!(*valid_record_at, ends[2], "bit {bit}"),
            other => panic!("bit {bit}: {other}"),
        }
        let message = e.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(
            message.contains(&format!("byte offset {}", ends[1])),
            "{message}"
        );
        assert_eq!(
            fs::read(&path).unwrap(),
            damaged,
            "the file is left as it was"
        );
    }
}

#[test]
fn a_bad_header_is_an_error() {
    let dir = TempDir::new("header");
    let path = dir.store_file();
    let (bytes, _) = write_records(&path, 1);
    let with = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut damaged = bytes.clone();
        edit(&mut damaged);
        fs::write(&path, &damaged).unwrap();
        open_err(&path)
    };

    let e = with(&|b| b[0] ^= 0x20);
    assert!(
        matches!(corrupt_offset(&e), (0, Corruption::BadMagic { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("bad magic"), "{e}");

    let e = with(&|b| b[8..12].copy_from_slice(&7u32.to_le_bytes()));
    assert!(
        matches!(
            corrupt_offset(&e),
            (8, Corruption::UnsupportedVersion { found: 7 })
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("unsupported format version 7"),
        "{e}"
    );

    // A flipped bit in the generation would otherwise make every record fail its checksum.
    let e = with(&|b| b[12] ^= 1);
    assert!(
        matches!(corrupt_offset(&e), (28, Corruption::HeaderChecksum { .. })),
        "{e}"
    );

    let e = with(&|b| b.truncate(10));
    assert!(
        matches!(corrupt_offset(&e), (0, Corruption::ShortHeader { len: 10 })),
        "{e}"
    );

    let e = with(&|b| b.clear());
    assert!(
        matches!(corrupt_offset(&e), (0, Corruption::ShortHeader { len: 0 })),
        "{e}"
    );
}

/// Sets the length field of the record at `at`.
fn set_length(bytes: &mut [u8], at: u64, len: u32) {
    bytes[at as usize..at as usize + 4].copy_from_slice(&len.to_le_bytes());
}

#[test]
fn a_huge_length_is_corruption_and_never_allocated() {
    let dir = TempDir::new("huge");
    let path = dir.store_file();
    let (bytes, ends) = write_records(&path, 3);
    for len in [u32::MAX, MAX_RECORD_LEN + 1, MAX_RECORD_LEN] {
        let mut damaged = bytes.clone();
        set_length(&mut damaged, ends[2], len);
        fs::write(&path, &damaged).unwrap();
        let (_, recovered) = open::<State>(&path);
        assert_eq!(recovered.state, Some(nth(1)));
        let tail = recovered.torn_tail.expect("a torn tail");
        let expected = if len > MAX_RECORD_LEN {
            RecordDefect::LengthAboveMax { len }
        } else {
            RecordDefect::PastEndOfFile {
                len,
                available: (ends[3] - ends[2]) as usize,
            }
        };
        assert_eq!(tail.defect, expected);

        let mut damaged = bytes.clone();
        set_length(&mut damaged, ends[1], len);
        fs::write(&path, &damaged).unwrap();
        let e = open_err(&path);
        assert_eq!(corrupt_offset(&e).0, ends[1], "{e}");
    }
    assert!(
        LARGEST_ALLOCATION.load(Ordering::Relaxed) < MAX_RECORD_LEN as usize,
        "an allocation of {} bytes",
        LARGEST_ALLOCATION.load(Ordering::Relaxed)
    );
}

#[test]
fn a_record_that_does_not_decode_is_an_error_even_at_the_tail() {
    let dir = TempDir::new("undecodable");
    let path = dir.store_file();
    let (mut log, _) = open::<u8>(&path);
    log.append(&7).unwrap();
    drop(log);
    match DurableLog::<bool>::open(&path) {
        Err(DurableError::Corrupt {
            corruption: Corruption::Undecodable { .. },
            ..
        }) => {}
        other => panic!("expected an undecodable record, got {other:?}"),
    }
}

#[test]
fn compaction_keeps_the_last_record_and_shrinks_the_file() {
    let dir = TempDir::new("compact");
    let path = dir.store_file();
    let options = DurableOptions {
        compact_above_bytes: 256,
    };
    let (mut log, _) = Log::open_with(&path, options).unwrap();
    let mut largest = 0;
    for i in 0..200 {
        log.append(&nth(i)).unwrap();
        largest = largest.max(log.len_bytes());
        assert_eq!(fs::metadata(&path).unwrap().len(), log.len_bytes());
    }
    let uncompacted = {
        let other = TempDir::new("uncompacted");
        write_records(&other.store_file(), 200).0.len() as u64
    };
    assert!(largest <= 256, "the file reached {largest} bytes");
    assert!(uncompacted > 4 * largest);
    drop(log);
    assert!(!dir.path().join("acceptor.log.tmp").exists());

    let (mut log, recovered) = Log::open_with(&path, options).unwrap();
    assert_eq!(recovered.state, Some(nth(199)));
    assert_eq!(recovered.torn_tail, None);
    log.append(&nth(500)).unwrap();
    drop(log);
    let (_, recovered) = open::<State>(&path);
    assert_eq!(recovered.state, Some(nth(500)));
}

#[test]
fn damage_to_the_compacted_record_is_an_error_not_a_torn_tail() {
    let dir = TempDir::new("sealed");
    let path = dir.store_file();
    let options = DurableOptions {
        compact_above_bytes: 0,
    };
    let (mut log, _) = Log::open_with(&path, options).unwrap();
    log.append(&nth(0)).unwrap();
    let sealed_end = log.len_bytes();
    drop(log);
    let bytes = fs::read(&path).unwrap();
    assert_eq!(bytes.len() as u64, sealed_end);

    // A compacted record was renamed into place whole: it cannot be torn, only damaged.
    let mut damaged = bytes.clone();
    *damaged.last_mut().unwrap() ^= 1;
    fs::write(&path, &damaged).unwrap();
    let e = open_err(&path);
    assert!(
        matches!(corrupt_offset(&e).1, Corruption::SealedRecord { .. }),
        "{e}"
    );

    fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let e = open_err(&path);
    assert!(
        matches!(corrupt_offset(&e).1, Corruption::SealedPastEnd { .. }),
        "{e}"
    );

    // Appends after it are ordinary records, whose tail may be cut.
    fs::write(&path, &bytes).unwrap();
    let (mut log, _) = open::<State>(&path);
    log.append(&nth(1)).unwrap();
    drop(log);
    let full = fs::read(&path).unwrap();
    fs::write(&path, &full[..full.len() - 1]).unwrap();
    let (_, recovered) = open::<State>(&path);
    assert_eq!(recovered.state, Some(nth(0)));
    assert_eq!(recovered.torn_tail.map(|t| t.offset), Some(sealed_end));
}

#[test]
fn a_stale_temporary_file_is_removed_on_open() {
    let dir = TempDir::new("stale");
    let path = dir.store_file();
    write_records(&path, 2);
    let temp = dir.path().join("acceptor.log.tmp");
    fs::write(&temp, b"half a compaction").unwrap();
    let (_, recovered) = open::<State>(&path);
    assert_eq!(recovered.state, Some(nth(1)));
    assert!(!temp.exists());
}

/// A deterministic xorshift64 generator.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Up to `max_len` random bytes.
    fn noise(&mut self, max_len: u64) -> Vec<u8> {
        let len = self.below(max_len + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn garbage_files_never_panic() {
    let dir = TempDir::new("garbage");
    let path = dir.store_file();
    let (valid, ends) = write_records(&path, 4);
    let header = &valid[..ends[0] as usize];
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let (mut recovered_count, mut refused_count) = (0, 0);
    for round in 0..1500 {
        let garbage = match round % 4 {
            // Pure noise.
            0 => rng.noise(200),
            // A valid header, then noise.
            1 => [header, &rng.noise(200)].concat(),
            // A valid file with a few random bytes changed, then cut somewhere.
            2 => {
                let mut bytes = valid.clone();
                for _ in 0..=rng.below(4) {
                    let at = rng.below(bytes.len() as u64) as usize;
                    bytes[at] = rng.next() as u8;
                }
                bytes.truncate(rng.below(bytes.len() as u64 + 1) as usize);
                bytes
            }
            // A valid file with noise appended.
            _ => [&valid[..], &rng.noise(64)].concat(),
        };
        fs::write(&path, &garbage).unwrap();
        match Log::open(&path) {
            Ok((mut log, recovered)) => {
                recovered_count += 1;
                assert!(recovered.records <= 4, "round {round}");
                log.append(&nth(9)).unwrap();
                drop(log);
                let (_, reopened) = open::<State>(&path);
                assert_eq!(reopened.state, Some(nth(9)), "round {round}");
            }
            Err(e) => {
                refused_count += 1;
                assert!(e.to_string().contains(&path.display().to_string()), "{e}");
            }
        }
    }
    assert!(recovered_count > 100 && refused_count > 100);
}
