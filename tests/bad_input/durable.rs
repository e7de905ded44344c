//! The durable store's recovery (src/durable): arbitrary files, files of valid frames
//! over garbage, and real stores with bytes appended, a byte flipped, or cut at any point, each
//! checked against a model of what recovery must find; recovery never panics.

use crate::common::TempDir;
use crate::common::counting::{Usage, measure};
use crate::support::*;

use bp_fast_paxos::durable::{DurableError, DurableLog, DurableOptions, Recovered};
use bp_fast_paxos::log::acceptor::LogDurableState;
use bp_fast_paxos::message::Vote;
use bp_fast_paxos::service::msg::SlotValue;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{TestCaseError, TestCaseResult};
use std::cell::Cell;
use std::fmt::Debug;
use std::fs;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// The durable store's recovery.
// ---------------------------------------------------------------------------------------------

type State = LogDurableState<SlotValue>;
type Store = DurableLog<State>;

/// A store's path in `dir`, with no file there yet.
fn fresh_store(dir: &TempDir) -> PathBuf {
    let path = dir.store_file();
    let _ = fs::remove_file(&path);
    path
}

fn durable_state() -> impl Strategy<Value = State> {
    let vote = (small_u32(), slot_value()).prop_map(|(round, value)| Vote { round, value });
    (
        small_u32(),
        small_u64(),
        proptest::collection::btree_map(small_u64(), vote, 0..3),
    )
        .prop_map(|(rnd, base, votes)| LogDurableState { rnd, base, votes })
}

/// The file header, as src/durable/mod.rs lays it out: magic, version, generation, sealed
/// length, CRC-32 of those (integers little-endian).
fn store_header(generation: u64, sealed_len: u64) -> Vec<u8> {
    let mut header = b"BPFPDLOG".to_vec();
    header.extend(bp_fast_paxos::durable::VERSION.to_le_bytes());
    header.extend(generation.to_le_bytes());
    header.extend(sealed_len.to_le_bytes());
    let checksum = crc32fast::hash(&header);
    header.extend(checksum.to_le_bytes());
    header
}

const STORE_HEADER_LEN: usize = 32;

/// A record frame at `offset` of a file of `generation`: length, CRC-32 (over generation,
/// offset, length and payload), payload.
fn store_frame(generation: u64, offset: usize, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&generation.to_le_bytes());
    hasher.update(&(offset as u64).to_le_bytes());
    hasher.update(&len.to_le_bytes());
    hasher.update(payload);
    let mut frame = len.to_le_bytes().to_vec();
    frame.extend(hasher.finalize().to_le_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Opens the store at `path`, measuring the allocations.
fn open_measured(path: &Path) -> (Result<Recovered<State>, DurableError>, Usage) {
    measure(|| Store::open(path).map(|(_, recovered)| recovered))
}

/// An error must be about the file's contents, and say which file and where.
fn check_clear_error(e: &DurableError, path: &Path) -> TestCaseResult {
    prop_assert!(
        matches!(e, DurableError::Corrupt { .. }),
        "not a corruption: {e}"
    );
    let message = e.to_string();
    prop_assert!(
        message.contains(&path.display().to_string()) && message.contains("offset"),
        "unclear: {message}"
    );
    Ok(())
}

/// Recovery is stable: after a torn tail was cut, the store opens again to the same state with
/// nothing to cut.
fn check_reopens(path: &Path, recovered: &Recovered<State>) -> TestCaseResult {
    let (_, again) = Store::open(path).map_err(|e| TestCaseError::fail(format!("reopen: {e}")))?;
    prop_assert_eq!(&again.state, &recovered.state);
    prop_assert_eq!(again.records, recovered.records);
    prop_assert!(again.torn_tail.is_none());
    Ok(())
}

/// Where the header says the atomically written part ends.
#[derive(Clone, Debug)]
enum Sealed {
    Header,
    FirstFrame,
    Anywhere(Index),
    Past(u64),
}

#[derive(Clone, Debug)]
enum FrameRecipe {
    /// Random bytes under a valid checksum: they reach postcard.
    Garbage { len: usize, seed: u64 },
    /// A real record's encoding, edited, under a valid checksum.
    Edited { state: State, edits: Vec<Edit> },
    /// A real record's encoding under a wrong checksum.
    BadChecksum { state: State, xor: u32 },
    /// A frame header alone, with a claimed length.
    Claim { len: u32 },
}

#[derive(Clone, Debug)]
enum StoreFile {
    Raw {
        len: usize,
        seed: u64,
    },
    HeaderThen {
        generation: u64,
        sealed: Sealed,
        len: usize,
        seed: u64,
    },
    Frames {
        generation: u64,
        sealed: Sealed,
        frames: Vec<FrameRecipe>,
    },
}

fn sealed() -> impl Strategy<Value = Sealed> {
    prop_oneof![
        6 => Just(Sealed::Header),
        2 => Just(Sealed::FirstFrame),
        1 => any::<Index>().prop_map(Sealed::Anywhere),
        1 => any::<u64>().prop_map(Sealed::Past),
    ]
}

fn frame_recipe() -> impl Strategy<Value = FrameRecipe> {
    prop_oneof![
        3 => (length(600), any::<u64>()).prop_map(|(len, seed)| FrameRecipe::Garbage { len, seed }),
        4 => (durable_state(), vec(edit(), 0..3))
            .prop_map(|(state, edits)| FrameRecipe::Edited { state, edits }),
        1 => (durable_state(), 1u32..).prop_map(|(state, xor)| FrameRecipe::BadChecksum { state, xor }),
        1 => any::<u32>().prop_map(|len| FrameRecipe::Claim { len }),
    ]
}

fn store_file() -> impl Strategy<Value = StoreFile> {
    prop_oneof![
        1 => (length(70_000), any::<u64>()).prop_map(|(len, seed)| StoreFile::Raw { len, seed }),
        1 => (any::<u64>(), sealed(), length(5_000), any::<u64>()).prop_map(
            |(generation, sealed, len, seed)| StoreFile::HeaderThen { generation, sealed, len, seed }
        ),
        4 => (any::<u64>(), sealed(), vec(frame_recipe(), 0..4))
            .prop_map(|(generation, sealed, frames)| StoreFile::Frames { generation, sealed, frames }),
    ]
}

impl StoreFile {
    /// The file's bytes, and the payload that recovery must decode as the state when every frame
    /// is valid and none is sealed but the header (`Some(None)`: a store with no record).
    fn bytes(&self) -> (Vec<u8>, Option<Option<Vec<u8>>>) {
        let with_header = |generation, sealed: &Sealed, first_end, body: Vec<u8>| {
            let len = STORE_HEADER_LEN + body.len();
            let sealed_len = match sealed {
                Sealed::Header => STORE_HEADER_LEN as u64,
                Sealed::FirstFrame => first_end as u64,
                Sealed::Anywhere(at) => at.index(len + 1) as u64,
                Sealed::Past(n) => *n,
            };
            let mut bytes = store_header(generation, sealed_len);
            bytes.extend(body);
            bytes
        };
        match self {
            StoreFile::Raw { len, seed } => (random_bytes(*len, *seed), None),
            StoreFile::HeaderThen {
                generation,
                sealed,
                len,
                seed,
            } => {
                let body = random_bytes(*len, *seed);
                (
                    with_header(*generation, sealed, STORE_HEADER_LEN, body),
                    None,
                )
            }
            StoreFile::Frames {
                generation,
                sealed,
                frames,
            } => {
                let mut body = Vec::new();
                let mut first_end = STORE_HEADER_LEN;
                let mut all_valid = true;
                let mut last = None;
                for (i, recipe) in frames.iter().enumerate() {
                    let offset = STORE_HEADER_LEN + body.len();
                    let frame = match recipe {
                        FrameRecipe::Garbage { len, seed } => {
                            let payload = random_bytes(*len, *seed);
                            last = Some(payload.clone());
                            store_frame(*generation, offset, &payload)
                        }
                        FrameRecipe::Edited { state, edits } => {
                            let mut payload = postcard::to_stdvec(state).expect("encodes");
                            apply_edits(&mut payload, edits);
                            last = Some(payload.clone());
                            store_frame(*generation, offset, &payload)
                        }
                        FrameRecipe::BadChecksum { state, xor } => {
                            all_valid = false;
                            let payload = postcard::to_stdvec(state).expect("encodes");
                            let mut frame = store_frame(*generation, offset, &payload);
                            let checksum = u32::from_le_bytes(frame[4..8].try_into().unwrap());
                            frame[4..8].copy_from_slice(&(checksum ^ xor).to_le_bytes());
                            frame
                        }
                        FrameRecipe::Claim { len } => {
                            all_valid = false;
                            let mut frame = len.to_le_bytes().to_vec();
                            frame.extend([0; 4]);
                            frame
                        }
                    };
                    body.extend(frame);
                    if i == 0 {
                        first_end = STORE_HEADER_LEN + body.len();
                    }
                }
                let plain = matches!(sealed, Sealed::Header | Sealed::FirstFrame);
                let expected = (all_valid && plain).then_some(last);
                (with_header(*generation, sealed, first_end, body), expected)
            }
        }
    }
}

#[test]
fn arbitrary_store_files_recover_or_fail_cleanly() {
    let dir = TempDir::new("files");
    let recovered_some = Cell::new(0u32);
    property("durable: arbitrary files", 2_000, store_file(), |recipe| {
        let path = fresh_store(&dir);
        let (bytes, expected) = recipe.bytes();
        fs::write(&path, &bytes).expect("write");
        let (result, usage) = open_measured(&path);
        prop_assert!(
            usage.largest <= MAX_SINGLE_ALLOCATION + bytes.len(),
            "a file of {} bytes made an allocation of {} bytes",
            bytes.len(),
            usage.largest
        );
        match &result {
            Ok(recovered) => {
                if recovered.state.is_some() {
                    recovered_some.set(recovered_some.get() + 1);
                }
                check_reopens(&path, recovered)?;
            }
            Err(e) => check_clear_error(e, &path)?,
        }
        // Where every frame is valid, recovery is exactly the last one, decoded on its own.
        if let Some(last) = expected {
            let decoded = match &last {
                None => Some(None),
                Some(payload) => match postcard::take_from_bytes::<State>(payload) {
                    Ok((state, [])) => Some(Some(state)),
                    _ => None,
                },
            };
            match (&result, decoded) {
                (Ok(recovered), Some(state)) => {
                    prop_assert_eq!(&recovered.state, &state);
                    prop_assert!(recovered.torn_tail.is_none());
                }
                (Err(_), None) => {}
                (result, decoded) => prop_assert!(
                    false,
                    "recovered {result:?}, but the last record decodes as {decoded:?}"
                ),
            }
        }
        Ok(())
    });
    eprintln!(
        "bad_input: durable: {} arbitrary files recovered a state",
        recovered_some.get()
    );
    assert!(recovered_some.get() > 20, "the frames must reach postcard");
}

/// A real store's history, and the damage done to its file.
#[derive(Clone, Debug)]
struct Damage {
    states: Vec<State>,
    compact_above_bytes: u64,
    appended: (usize, u64),
    flip: (Index, u8),
    cut: Index,
}

fn damage() -> impl Strategy<Value = Damage> {
    (
        vec(durable_state(), 1..5),
        prop_oneof![2 => Just(1u64 << 20), 1 => Just(0u64), 1 => 40u64..400],
        (1usize..300, any::<u64>()),
        (any::<Index>(), 1u8..=255),
        any::<Index>(),
    )
        .prop_map(
            |(states, compact_above_bytes, appended, flip, cut)| Damage {
                states,
                compact_above_bytes,
                appended,
                flip,
                cut,
            },
        )
}

/// What the file of a store holds, by the store's own rules: the end of each record (the first
/// entry is the header, or the compacted record), its state, and the end of the sealed part.
struct Model {
    entries: Vec<(usize, Option<State>)>,
    sealed_len: usize,
}

impl Model {
    /// The entry that contains byte `at`, if any: the first whose end is past it.
    fn entry_containing(&self, at: usize) -> Option<usize> {
        self.entries.iter().position(|(end, _)| *end > at)
    }

    /// The entry recovered from the first `len` bytes: the last record that fits.
    fn recovered_from_prefix(&self, len: usize) -> usize {
        self.entries
            .iter()
            .rposition(|(end, _)| *end <= len)
            .expect("the sealed part fits")
    }
}

#[test]
fn damaged_stores_recover_a_written_record_or_fail_cleanly() {
    let dir = TempDir::new("damage");
    property("durable: damaged stores", 200, damage(), |damage| {
        let path = fresh_store(&dir);
        let options = DurableOptions {
            compact_above_bytes: damage.compact_above_bytes,
        };
        let (mut log, _) = Store::open_with(&path, options).expect("create");
        let mut model = Model {
            entries: vec![(STORE_HEADER_LEN, None)],
            sealed_len: STORE_HEADER_LEN,
        };
        for state in &damage.states {
            log.append(state).expect("append");
            let frame_len = 8 + postcard::to_stdvec(state).expect("encodes").len();
            let end = model.entries.last().expect("never empty").0 + frame_len;
            if end as u64 > damage.compact_above_bytes {
                let sealed = STORE_HEADER_LEN + frame_len;
                model.entries = vec![(sealed, Some(state.clone()))];
                model.sealed_len = sealed;
            } else {
                model.entries.push((end, Some(state.clone())));
            }
            prop_assert_eq!(log.len_bytes(), model.entries.last().unwrap().0 as u64);
        }
        drop(log);
        let intact = fs::read(&path).expect("read");
        let len = intact.len();
        prop_assert_eq!(len, model.entries.last().unwrap().0);
        let sealed_field = u64::from_le_bytes(intact[20..28].try_into().unwrap());
        prop_assert_eq!(sealed_field, model.sealed_len as u64);
        let last = &model.entries.last().unwrap().1;
        // How many records the file holds up to entry `i`.
        let records = |i: usize| (i + usize::from(model.entries[0].1.is_some())) as u64;
        let last_index = model.entries.len() - 1;

        // Intact.
        fs::write(&path, &intact).expect("write");
        let (result, _) = open_measured(&path);
        let recovered = result.map_err(|e| TestCaseError::fail(format!("intact: {e}")))?;
        prop_assert_eq!(&recovered.state, last);
        prop_assert_eq!(recovered.records, records(last_index));
        prop_assert!(recovered.torn_tail.is_none());

        // Random bytes appended: a torn tail, cut; the last record recovered.
        let (extra, seed) = damage.appended;
        let mut bytes = intact.clone();
        bytes.extend(random_bytes(extra, seed));
        fs::write(&path, &bytes).expect("write");
        let (result, _) = open_measured(&path);
        let recovered = result.map_err(|e| TestCaseError::fail(format!("appended: {e}")))?;
        prop_assert_eq!(&recovered.state, last);
        let torn = recovered
            .torn_tail
            .as_ref()
            .map(|t| (t.offset, t.cut_bytes));
        prop_assert_eq!(torn, Some((len as u64, extra as u64)));
        check_reopens(&path, &recovered)?;

        // One byte flipped: in the sealed part or a record before the last, an error; in the
        // last record, a torn tail, and the record before it recovered.
        let (at, mask) = damage.flip;
        let at = at.index(len);
        let mut bytes = intact.clone();
        bytes[at] ^= mask;
        fs::write(&path, &bytes).expect("write");
        let (result, _) = open_measured(&path);
        let i = model.entry_containing(at).expect("inside the file");
        if at >= model.sealed_len && i + 1 == model.entries.len() {
            let recovered =
                result.map_err(|e| TestCaseError::fail(format!("flip at {at}: {e}")))?;
            let (start, before) = &model.entries[i - 1];
            prop_assert_eq!(&recovered.state, before);
            prop_assert_eq!(recovered.records, records(i - 1));
            let torn = recovered.torn_tail.as_ref().map(|t| t.offset);
            prop_assert_eq!(torn, Some(*start as u64));
            check_reopens(&path, &recovered)?;
        } else {
            match result {
                Ok(recovered) => {
                    prop_assert!(false, "flip at {at} recovered {recovered:?}")
                }
                Err(e) => check_clear_error(&e, &path)?,
            }
        }

        // Cut at any point: within the sealed part, an error; else the last whole record.
        let cut = damage.cut.index(len);
        fs::write(&path, &intact[..cut]).expect("write");
        let (result, _) = open_measured(&path);
        if cut < model.sealed_len {
            match result {
                Ok(recovered) => prop_assert!(false, "cut at {cut} recovered {recovered:?}"),
                Err(e) => check_clear_error(&e, &path)?,
            }
        } else {
            let recovered =
                result.map_err(|e| TestCaseError::fail(format!("cut at {cut}: {e}")))?;
            let j = model.recovered_from_prefix(cut);
            let (end, state) = &model.entries[j];
            prop_assert_eq!(&recovered.state, state);
            prop_assert_eq!(recovered.records, records(j));
            prop_assert_eq!(recovered.torn_tail.is_some(), *end < cut);
            check_reopens(&path, &recovered)?;
        }
        Ok(())
    });
}
