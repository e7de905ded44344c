//! Bad input (issue 5, item 5): arbitrary bytes never panic and never allocate without bound
//! where bytes from outside become values, checked with property tests:
//!
//! 1. the datagram decoder (src/runtime/wire.rs): arbitrary bytes, valid headers over random
//!    bytes, authentic datagrams (a valid tag) over random or mutated payloads, so that postcard
//!    really parses garbage; round trips; any flipped byte refused before the deserializer;
//! 2. the durable store's recovery (src/durable): arbitrary files, files of valid frames over
//!    garbage, and real stores with bytes appended, a byte flipped, or cut at any point, each
//!    checked against a model of what recovery must find;
//! 3. the proof verifiers (src/rules.rs, src/log/rules.rs) on arbitrary proofs, checked against
//!    an independent re-implementation of `ValidProof` (PROTOCOL.md §4, §8);
//! 4. allocation: a counting global allocator shows that no datagram of at most
//!    [`MAX_DATAGRAM`] bytes makes an allocation above 1 MiB, length-prefix bombs included.
//!
//! Each property prints its number of cases and its time (`-- --nocapture` shows them). The
//! seed is fixed; `PROPTEST_RNG_SEED` and `PROPTEST_CASES` override the seed and the counts.

mod common;
use common::TempDir;
use common::counting::{Counting, Usage, measure};

use bp_fast_paxos::auth::{Authenticator, HmacSha256, Mac};
use bp_fast_paxos::durable::{DurableError, DurableLog, DurableOptions, Recovered};
use bp_fast_paxos::learner::Decision;
use bp_fast_paxos::log::Slot;
use bp_fast_paxos::log::acceptor::LogDurableState;
use bp_fast_paxos::log::message::{LogMsg, LogPromise, LogProof, ProofDigest, SlotVote};
use bp_fast_paxos::log::rules::{
    distinct_acceptors as log_distinct_acceptors, slot_rule, valid_log_proof, valid_round_proof,
};
use bp_fast_paxos::log::value::LogValue;
use bp_fast_paxos::message::{Msg, Promise, Proof, Vote};
use bp_fast_paxos::rules::{PickThreshold, Rules, valid_proof};
use bp_fast_paxos::runtime::wire::{
    ChannelKeys, FRAGMENT_DATA, FRAGMENT_HEADER_LEN, HEADER_LEN, MAGIC, MAX_DATAGRAM, Reassembly,
    ReassemblyLimits, TAG_LEN, VERSION, WireError, decode, encode, encode_message, receive,
};
use bp_fast_paxos::service::msg::{ServiceMsg, SlotValue};
use bp_fast_paxos::service::transfer::Part;
use bp_fast_paxos::service::{Batch, Command, KvStore, Op, Reply};
use bp_fast_paxos::types::{AcceptorId, ClientId, Round};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestCaseResult, TestRunner};
use serde::de::DeserializeOwned;
use stateright::actor::Id;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// The counting allocator.
// ---------------------------------------------------------------------------------------------

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// No datagram of at most `MAX_DATAGRAM` bytes may make a larger single allocation. The densest
/// honest PROMISE (21 639 votes of 3 bytes, 32 bytes each in memory) reaches exactly this: its
/// vector of votes doubles to 32 768 slots while it is read.
const MAX_SINGLE_ALLOCATION: usize = 1 << 20;

/// Nor hold more bytes at once than this: a bound in proportion to the datagram (the dense
/// messages and stores of the `dense_*` tests need up to 27 bytes of memory per byte of
/// datagram).
const MAX_PEAK_PER_DATAGRAM_BYTE: usize = 64;
const PEAK_SLACK: usize = 64 << 10;

fn check_decode_usage(usage: Usage, len: usize, what: &str) -> Result<(), TestCaseError> {
    if len <= MAX_DATAGRAM {
        prop_assert!(
            usage.largest <= MAX_SINGLE_ALLOCATION,
            "{what}: a datagram of {len} bytes made an allocation of {} bytes",
            usage.largest
        );
        prop_assert!(
            usage.peak <= MAX_PEAK_PER_DATAGRAM_BYTE * len + PEAK_SLACK,
            "{what}: a datagram of {len} bytes held {} bytes at once",
            usage.peak
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Running a property.
// ---------------------------------------------------------------------------------------------

/// The seed of every property, unless `PROPTEST_RNG_SEED` says otherwise.
const SEED: u64 = 0x5eed_bad1_0b75_0005;

/// Runs `test` on `cases` inputs of `strategy`, then prints how many ran and how long it took.
/// Failures are not persisted: the seed and the printed input reproduce them.
fn property<S>(name: &str, cases: u32, strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
where
    S: Strategy,
    S::Value: Debug,
{
    let defaults = Config::default();
    let cases = match std::env::var_os("PROPTEST_CASES") {
        Some(_) => defaults.cases,
        None => cases,
    };
    let rng_seed = match std::env::var_os("PROPTEST_RNG_SEED") {
        Some(_) => defaults.rng_seed,
        None => RngSeed::Fixed(SEED),
    };
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed,
        failure_persistence: None,
        ..defaults
    });
    let ran = Cell::new(0u32);
    let start = Instant::now();
    let result = runner.run(&strategy, |input| {
        ran.set(ran.get() + 1);
        test(input)
    });
    eprintln!(
        "bad_input: {name}: {} cases in {:.2} s",
        ran.get(),
        start.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

/// A deterministic xorshift64 generator: random bytes of any length, cheaply, from a seed that
/// proptest picks and shrinks.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next() >> 24) as u8).collect()
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    XorShift::new(seed).bytes(len)
}

/// The postcard (LEB128) varint of `n`, as a length prefix is written.
fn varint(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out
}

/// A length prefix worth claiming: astronomically large, just past what a datagram holds, or
/// anything.
fn claim() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(1u64 << 60),
        Just(u64::MAX),
        Just(u64::from(u32::MAX)),
        Just(usize::MAX as u64 / 2),
        (1u64 << 16)..(1u64 << 24),
        0u64..70_000,
        any::<u64>(),
    ]
}

/// One edit of a byte string, at a position relative to its length.
#[derive(Clone, Debug)]
enum Edit {
    Flip {
        at: Index,
        mask: u8,
    },
    Set {
        at: Index,
        byte: u8,
    },
    Insert {
        at: Index,
        byte: u8,
    },
    Delete {
        at: Index,
    },
    Truncate {
        at: Index,
    },
    /// A varint claiming `value` (a length-prefix bomb when it lands on a length), written over
    /// the bytes at `at` or inserted there.
    Claim {
        at: Index,
        value: u64,
        insert: bool,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<Index>(), 1u8..=255).prop_map(|(at, mask)| Edit::Flip { at, mask }),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Edit::Set { at, byte }),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Edit::Insert { at, byte }),
        2 => any::<Index>().prop_map(|at| Edit::Delete { at }),
        1 => any::<Index>().prop_map(|at| Edit::Truncate { at }),
        3 => (any::<Index>(), claim(), any::<bool>())
            .prop_map(|(at, value, insert)| Edit::Claim { at, value, insert }),
    ]
}

fn apply_edits(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for edit in edits {
        let len = bytes.len();
        // Insertions may go at the end; everything else needs a byte to act on.
        let at = |index: &Index| index.index(len + 1).min(len.saturating_sub(1));
        match edit {
            Edit::Insert { at, byte } => bytes.insert(at.index(len + 1), *byte),
            Edit::Claim {
                at,
                value,
                insert: true,
            } => write_claim(bytes, at.index(len + 1), *value, true),
            _ if len == 0 => {}
            Edit::Flip { at: i, mask } => bytes[at(i)] ^= mask,
            Edit::Set { at: i, byte } => bytes[at(i)] = *byte,
            Edit::Delete { at: i } => {
                bytes.remove(at(i));
            }
            Edit::Truncate { at } => bytes.truncate(at.index(len)),
            Edit::Claim {
                at: i,
                value,
                insert: false,
            } => write_claim(bytes, at(i), *value, false),
        }
    }
}

/// Writes the varint of `value` at `at` (`at <= len`), over the bytes there or before them.
fn write_claim(bytes: &mut Vec<u8>, at: usize, value: u64, insert: bool) {
    let claim = varint(value);
    let end = if insert {
        at
    } else {
        (at + claim.len()).min(bytes.len())
    };
    bytes.splice(at..end, claim);
}

// ---------------------------------------------------------------------------------------------
// Values of the real message types, cheaply generated.
// ---------------------------------------------------------------------------------------------

fn text() -> impl Strategy<Value = String> + Clone {
    vec(any::<char>(), 0..6).prop_map(String::from_iter)
}

fn small_u64() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![4 => 0u64..8, 1 => any::<u64>()]
}

fn small_u32() -> impl Strategy<Value = u32> + Clone {
    prop_oneof![4 => 0u32..8, 1 => any::<u32>()]
}

fn mac() -> impl Strategy<Value = Mac> + Clone {
    proptest::array::uniform32(any::<u8>()).prop_map(Mac)
}

fn op() -> impl Strategy<Value = Op> + Clone {
    prop_oneof![
        (text(), text()).prop_map(|(key, value)| Op::Put { key, value }),
        text().prop_map(|key| Op::Get { key }),
        (text(), proptest::option::of(text()), text()).prop_map(|(key, expected, new)| Op::Cas {
            key,
            expected,
            new
        }),
    ]
}

fn command() -> impl Strategy<Value = Command> + Clone {
    (any::<u16>(), small_u64(), op(), mac()).prop_map(|(client, seq, op, mac)| Command {
        client: ClientId(client),
        seq,
        op,
        mac,
    })
}

fn slot_value() -> impl Strategy<Value = SlotValue> + Clone {
    prop_oneof![
        Just(LogValue::Noop),
        vec(command(), 0..3).prop_map(|commands| LogValue::Batch(Batch::from(commands))),
    ]
}

fn log_promise() -> impl Strategy<Value = LogPromise<SlotValue>> + Clone {
    let vote = (small_u64(), small_u32(), slot_value()).prop_map(|(slot, round, value)| SlotVote {
        slot,
        vote: Vote { round, value },
    });
    (
        small_u32(),
        any::<u16>(),
        small_u64(),
        vec(vote, 0..3),
        mac(),
    )
        .prop_map(|(round, acceptor, decided_prefix, votes, mac)| LogPromise {
            round,
            acceptor: AcceptorId(acceptor),
            decided_prefix,
            votes: Arc::from(votes),
            mac,
        })
}

fn log_proof() -> impl Strategy<Value = LogProof<SlotValue>> + Clone {
    vec(log_promise(), 0..3).prop_map(LogProof::from)
}

fn log_msg() -> impl Strategy<Value = LogMsg<SlotValue>> {
    prop_oneof![
        (small_u32(), small_u64(), slot_value(), log_proof()).prop_map(
            |(round, slot, value, proof)| LogMsg::Accept {
                round,
                slot,
                value,
                proof
            }
        ),
        (
            small_u32(),
            log_proof(),
            vec((small_u64(), slot_value()), 0..3)
        )
            .prop_map(|(round, proof, accepts)| LogMsg::NewRound {
                round,
                proof,
                accepts: Arc::from(accepts),
            }),
        (
            small_u32(),
            small_u64(),
            slot_value(),
            proptest::array::uniform32(any::<u8>())
        )
            .prop_map(|(round, slot, value, digest)| LogMsg::AcceptByDigest {
                round,
                slot,
                value,
                digest: ProofDigest(digest),
            }),
        log_promise().prop_map(LogMsg::Promise),
        (small_u32(), small_u64(), slot_value()).prop_map(|(round, slot, value)| LogMsg::Learn {
            round,
            slot,
            value
        }),
        small_u32().prop_map(|round| LogMsg::TrustChange { round }),
    ]
}

fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        Just(Reply::Stored),
        proptest::option::of(text()).prop_map(Reply::Value),
        (any::<bool>(), proptest::option::of(text()))
            .prop_map(|(swapped, found)| Reply::Cas { swapped, found }),
    ]
}

/// Every variant of `ServiceMsg`.
fn service_msg() -> impl Strategy<Value = ServiceMsg> {
    let decision = (small_u32(), slot_value()).prop_map(|(round, value)| Decision { round, value });
    prop_oneof![
        3 => log_msg().prop_map(ServiceMsg::Log),
        1 => command().prop_map(ServiceMsg::Request),
        1 => (small_u64(), reply()).prop_map(|(seq, reply)| ServiceMsg::Reply { seq, reply }),
        1 => small_u64().prop_map(|from| ServiceMsg::CatchUp { from }),
        1 => (small_u64(), vec(decision, 0..4))
            .prop_map(|(first, decisions)| ServiceMsg::Decisions { first, decisions }),
        1 => (small_u64(), small_u64(), vec(any::<u8>(), 0..64), mac()).prop_map(
            |(applied, offset, bytes, digest)| ServiceMsg::Snapshot(Part {
                applied,
                log_digest: digest.0,
                store_digest: [7; 32],
                total: offset + bytes.len() as u64,
                offset,
                bytes,
            })
        ),
        1 => (small_u64(), small_u64())
            .prop_map(|(applied, offset)| ServiceMsg::SnapshotFetch { applied, offset }),
    ]
}

fn single_msg() -> impl Strategy<Value = Msg<String>> {
    let vote = (small_u32(), text()).prop_map(|(round, value)| Vote { round, value });
    let promise = (small_u32(), any::<u16>(), proptest::option::of(vote), mac()).prop_map(
        |(round, acceptor, last_vote, mac)| Promise {
            round,
            acceptor: AcceptorId(acceptor),
            last_vote,
            mac,
        },
    );
    prop_oneof![
        (small_u32(), text(), vec(promise.clone(), 0..4)).prop_map(|(round, value, proof)| {
            Msg::Accept {
                round,
                value,
                proof: Proof::from(proof),
            }
        }),
        promise.prop_map(Msg::Promise),
        (small_u32(), text()).prop_map(|(round, value)| Msg::Learn { round, value }),
        small_u32().prop_map(|round| Msg::TrustChange { round }),
    ]
}

/// A payload of either message type the runtime decodes.
#[derive(Clone, Debug, PartialEq)]
enum Payload {
    Service(ServiceMsg),
    Single(Msg<String>),
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        3 => service_msg().prop_map(Payload::Service),
        1 => single_msg().prop_map(Payload::Single),
    ]
}

// ---------------------------------------------------------------------------------------------
// 1. The datagram decoder.
// ---------------------------------------------------------------------------------------------

use common::id;
use common::nodes::{A1, P0};

fn keys() -> ChannelKeys {
    common::channel_keys()
}

/// The header of a datagram from the proposer to a1.
fn header() -> Vec<u8> {
    let mut header = MAGIC.to_vec();
    header.push(VERSION);
    header.extend((P0 as u32).to_be_bytes());
    header.extend((A1 as u32).to_be_bytes());
    assert_eq!(header.len(), HEADER_LEN);
    header
}

/// A datagram from the proposer to a1 with `payload` as its payload bytes, under a valid tag:
/// what a key holder may send, garbage or not.
fn authentic(payload: &[u8], keys: &ChannelKeys) -> Vec<u8> {
    let mut datagram = header();
    datagram.extend_from_slice(payload);
    let tag = keys
        .key(id(P0), id(A1))
        .expect("the pair has a key")
        .tag(&datagram);
    datagram.extend_from_slice(&tag);
    datagram
}

fn encode_payload(payload: &Payload, keys: &ChannelKeys) -> Vec<u8> {
    match payload {
        Payload::Service(msg) => encode(id(P0), id(A1), msg, keys),
        Payload::Single(msg) => encode(id(P0), id(A1), msg, keys),
    }
    .expect("a small message encodes")
}

/// The payload bytes of an encoded datagram.
fn payload_bytes(datagram: &[u8]) -> &[u8] {
    &datagram[HEADER_LEN..datagram.len() - TAG_LEN]
}

/// Decodes `datagram` as a `T` received by a1, measuring the allocations.
fn decode_measured<T: DeserializeOwned>(
    datagram: &[u8],
    keys: &ChannelKeys,
) -> (Result<(Id, T), WireError>, Usage) {
    measure(|| decode::<T>(datagram, id(A1), keys))
}

/// How a property's datagram is made.
#[derive(Clone, Debug)]
enum Datagram {
    /// Bytes of any kind.
    Raw { len: usize, seed: u64 },
    /// A valid header from the proposer to a1, then random bytes (so a tag that fails).
    Header { len: usize, seed: u64 },
    /// Random payload bytes under a valid tag.
    Authentic { len: usize, seed: u64 },
    /// A real message's payload, edited, under a valid tag.
    Mutated { payload: Payload, edits: Vec<Edit> },
}

impl Datagram {
    fn bytes(&self, keys: &ChannelKeys) -> Vec<u8> {
        match self {
            Datagram::Raw { len, seed } => random_bytes(*len, *seed),
            Datagram::Header { len, seed } => {
                let mut bytes = header();
                bytes.extend(random_bytes(len.saturating_sub(HEADER_LEN), *seed));
                bytes
            }
            Datagram::Authentic { len, seed } => authentic(&random_bytes(*len, *seed), keys),
            Datagram::Mutated { payload, edits } => {
                let datagram = encode_payload(payload, keys);
                let mut bytes = payload_bytes(&datagram).to_vec();
                apply_edits(&mut bytes, edits);
                authentic(&bytes, keys)
            }
        }
    }

    fn is_authentic(&self) -> bool {
        matches!(self, Datagram::Authentic { .. } | Datagram::Mutated { .. })
    }
}

/// Lengths: mostly short, up to past the datagram limit.
fn length(max: usize) -> impl Strategy<Value = usize> {
    prop_oneof![3 => 0..300usize, 1 => 0..max]
}

fn datagram() -> impl Strategy<Value = Datagram> {
    let max_payload = MAX_DATAGRAM - HEADER_LEN - TAG_LEN + 100;
    prop_oneof![
        1 => (length(70_000), any::<u64>()).prop_map(|(len, seed)| Datagram::Raw { len, seed }),
        1 => (length(70_000), any::<u64>()).prop_map(|(len, seed)| Datagram::Header { len, seed }),
        2 => (length(max_payload), any::<u64>())
            .prop_map(|(len, seed)| Datagram::Authentic { len, seed }),
        4 => (payload(), vec(edit(), 1..4))
            .prop_map(|(payload, edits)| Datagram::Mutated { payload, edits }),
    ]
}

/// Decodes as `T`: Ok or Err, within the allocation bounds; unauthenticated bytes are refused
/// before the deserializer without allocating at all; and what decodes re-encodes to itself.
fn check_any_datagram<T>(
    datagram: &[u8],
    authentic: bool,
    keys: &ChannelKeys,
    what: &str,
) -> Result<bool, TestCaseError>
where
    T: DeserializeOwned + serde::Serialize + PartialEq + Debug,
{
    let (result, usage) = decode_measured::<T>(datagram, keys);
    check_decode_usage(usage, datagram.len(), what)?;
    if !authentic {
        prop_assert!(
            matches!(&result, Err(e) if !matches!(e, WireError::Malformed(_))),
            "{what}: unauthenticated bytes got past the tag: {result:?}"
        );
        prop_assert_eq!(usage.largest, 0, "{}: refusing them allocated", what);
    }
    match result {
        Ok((sender, value)) => {
            prop_assert_eq!(sender, id(P0));
            let again = encode(id(P0), id(A1), &value, keys).expect("what decoded re-encodes");
            let (_, twice) = decode::<T>(&again, id(A1), keys).expect("and decodes");
            prop_assert_eq!(twice, value);
            Ok(true)
        }
        Err(_) => Ok(false),
    }
}

/// A stream of fragments as a network and a Byzantine sender could make it: the fragments of
/// up to three messages, shuffled, some lost, some repeated, some with a byte flipped (and so
/// not authentic), some altered and tagged again (authentic, but inconsistent).
#[derive(Clone, Debug)]
struct FragmentStream {
    lens: Vec<usize>,
    seed: u64,
    lose: u8,
    repeat: u8,
    flip: u8,
    retag: u8,
}

fn fragment_stream() -> impl Strategy<Value = FragmentStream> {
    (
        vec(1usize..4 * FRAGMENT_DATA, 1..4),
        any::<u64>(),
        0u8..30,
        0u8..30,
        0u8..30,
        prop_oneof![3 => Just(0u8), 1 => 1u8..30],
    )
        .prop_map(|(lens, seed, lose, repeat, flip, retag)| FragmentStream {
            lens,
            seed,
            lose,
            repeat,
            flip,
            retag,
        })
}

#[test]
fn arbitrary_fragment_streams_reassemble_or_fail_cleanly_within_bounds() {
    let keys = keys();
    let key = keys
        .key(id(P0), id(A1))
        .expect("the pair has a key")
        .clone();
    property(
        "fragments: lost, repeated, reordered, altered",
        64,
        fragment_stream(),
        |s| {
            let mut rng = XorShift::new(s.seed);
            let percent = |rng: &mut XorShift, p: u8| rng.below(100) < usize::from(p);
            let messages: Vec<Vec<u8>> = s.lens.iter().map(|len| rng.bytes(*len)).collect();
            let mut stream: Vec<(usize, Vec<u8>, bool)> = Vec::new();
            for (m, payload) in messages.iter().enumerate() {
                let datagrams = encode_message(id(P0), id(A1), payload, &keys).expect("encodes");
                for d in datagrams {
                    stream.push((m, d, true));
                }
            }
            let total = stream.len();
            let mut sent: Vec<(usize, Vec<u8>, bool)> = Vec::new();
            for (m, d, _) in stream {
                if percent(&mut rng, s.lose) {
                    continue;
                }
                if percent(&mut rng, s.repeat) {
                    sent.push((m, d.clone(), true));
                }
                if percent(&mut rng, s.flip) {
                    let mut bad = d.clone();
                    let at = rng.below(bad.len());
                    bad[at] ^= 1 << rng.below(8);
                    sent.push((m, bad, false));
                }
                if percent(&mut rng, s.retag) && d.len() > FRAGMENT_HEADER_LEN + TAG_LEN {
                    let mut bad = d[..d.len() - TAG_LEN].to_vec();
                    let at = HEADER_LEN + rng.below(bad.len() - HEADER_LEN);
                    bad[at] ^= 1 << rng.below(8);
                    let tag = key.tag(&bad);
                    bad.extend_from_slice(&tag);
                    sent.push((m, bad, false));
                }
                sent.push((m, d, true));
            }
            for i in (1..sent.len()).rev() {
                let j = rng.below(i + 1);
                sent.swap(i, j);
            }
            let limits = ReassemblyLimits::default();
            let mut reassembly = Reassembly::default();
            let mut delivered = Vec::new();
            let mut unaltered = vec![0usize; messages.len()];
            for (m, datagram, genuine) in &sent {
                let result = receive::<Vec<u8>>(datagram, id(A1), &keys, &mut reassembly);
                match result {
                    Ok(Some((sender, payload))) => {
                        prop_assert_eq!(sender, id(P0));
                        delivered.push(payload);
                    }
                    Ok(None) => {}
                    Err(WireError::Malformed(_) | WireError::BadFragment) => {}
                    Err(e) => prop_assert!(!genuine, "a genuine fragment of {m} refused: {e}"),
                }
                if *genuine {
                    unaltered[*m] += 1;
                }
                prop_assert!(reassembly.held() <= limits.bytes_per_sender);
            }
            // Only the messages sent are delivered; with no authentic alteration, every message
            // whose every fragment arrived is, at least once.
            for payload in &delivered {
                prop_assert!(messages.contains(payload), "a message nobody sent");
            }
            if s.retag == 0 {
                for (m, payload) in messages.iter().enumerate() {
                    let count = encode_message(id(P0), id(A1), payload, &keys)
                        .unwrap()
                        .len();
                    let arrived: BTreeSet<&Vec<u8>> = sent
                        .iter()
                        .filter(|(n, _, genuine)| *n == m && *genuine)
                        .map(|(_, d, _)| d)
                        .collect();
                    if arrived.len() == count {
                        prop_assert!(delivered.contains(payload), "message {} of {}", m, total);
                    }
                }
            }
            Ok(())
        },
    );
}

#[test]
fn arbitrary_datagrams_decode_or_fail_cleanly_within_bounds() {
    let keys = keys();
    let decoded = Cell::new(0u32);
    let malformed = Cell::new(0u32);
    property("datagram: arbitrary bytes", 20_000, datagram(), |recipe| {
        let datagram = recipe.bytes(&keys);
        let authentic = recipe.is_authentic() && datagram.len() <= MAX_DATAGRAM;
        let service = check_any_datagram::<ServiceMsg>(&datagram, authentic, &keys, "ServiceMsg")?;
        let single = check_any_datagram::<Msg<String>>(&datagram, authentic, &keys, "Msg")?;
        for ok in [service, single] {
            if ok {
                decoded.set(decoded.get() + 1);
            } else if authentic {
                malformed.set(malformed.get() + 1);
            }
        }
        Ok(())
    });
    eprintln!(
        "bad_input: datagram: {} decodes succeeded, {} authentic ones were malformed",
        decoded.get(),
        malformed.get()
    );
    // Teeth: the mutations must both parse and fail, so postcard really reads garbage.
    assert!(decoded.get() > 100 && malformed.get() > 100);
}

#[test]
fn messages_round_trip() {
    let keys = keys();
    property("datagram: round trip", 10_000, payload(), |payload| {
        let datagram = encode_payload(&payload, &keys);
        prop_assert!(datagram.len() <= MAX_DATAGRAM);
        let decoded = match &payload {
            Payload::Service(_) => decode::<ServiceMsg>(&datagram, id(A1), &keys)
                .map(|(s, m)| (s, Payload::Service(m))),
            Payload::Single(_) => decode::<Msg<String>>(&datagram, id(A1), &keys)
                .map(|(s, m)| (s, Payload::Single(m))),
        };
        prop_assert_eq!(decoded, Ok((id(P0), payload)));
        Ok(())
    });
}

#[test]
fn any_flipped_byte_is_refused_before_the_deserializer() {
    let keys = keys();
    let strategy = (payload(), any::<Index>(), 1u8..=255);
    property(
        "datagram: flipped byte",
        20_000,
        strategy,
        |(payload, at, mask)| {
            let mut datagram = encode_payload(&payload, &keys);
            let at = at.index(datagram.len());
            datagram[at] ^= mask;
            let (service, s) = decode_measured::<ServiceMsg>(&datagram, &keys);
            let (single, m) = decode_measured::<Msg<String>>(&datagram, &keys);
            for (result, usage) in [(service.map(|_| ()), s), (single.map(|_| ()), m)] {
                prop_assert!(
                    matches!(&result, Err(e) if !matches!(e, WireError::Malformed(_))),
                    "byte {at} ^ {mask:#04x}: {result:?}"
                );
                prop_assert_eq!(usage.largest, 0);
            }
            Ok(())
        },
    );
}

/// Payload prefixes that end right before a length prefix, with what follows it.
fn bomb_sites() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        // ServiceMsg::Log(LogMsg::Accept { round 0, slot 0, Batch(commands: HUGE) }).
        ("ServiceMsg Accept batch", vec![0, 0, 0, 0, 1]),
        // ServiceMsg::Log(LogMsg::Accept { round 0, slot 0, Noop, proof: HUGE }).
        ("ServiceMsg Accept proof", vec![0, 0, 0, 0, 0]),
        // ServiceMsg::Log(LogMsg::NewRound { round 0, proof: [], accepts: HUGE }).
        ("ServiceMsg NewRound accepts", vec![0, 1, 0, 0]),
        // ServiceMsg::Log(LogMsg::Promise { round 0, a 0, d 0, votes: HUGE }).
        ("ServiceMsg Promise votes", vec![0, 3, 0, 0, 0]),
        // ServiceMsg::Request(Command { client 0, seq 0, Put { key: HUGE } }).
        ("ServiceMsg Request key", vec![1, 0, 0, 0]),
        // ServiceMsg::Reply { seq 0, Reply::Value(Some(HUGE)) }.
        ("ServiceMsg Reply value", vec![2, 0, 1, 1]),
        // ServiceMsg::Decisions { first 0, decisions: HUGE }.
        ("ServiceMsg Decisions", vec![4, 0]),
        // ServiceMsg::Snapshot { applied 0, digests 0…, total 0, offset 0, bytes: HUGE }.
        ("ServiceMsg Snapshot bytes", {
            let mut prefix = vec![5, 0];
            prefix.extend([0u8; 64]);
            prefix.extend([0, 0]);
            prefix
        }),
        // Msg::Accept { round 0, value: HUGE }.
        ("Msg Accept value", vec![0, 0]),
        // Msg::Accept { round 0, value "", proof: HUGE }.
        ("Msg Accept proof", vec![0, 0, 0]),
    ]
}

#[test]
fn length_prefix_bombs_are_refused_without_allocating_them() {
    let keys = keys();
    let claims = [
        1u64 << 60,
        u64::MAX,
        usize::MAX as u64,
        u64::from(u32::MAX),
        1 << 32,
        1 << 24,
        MAX_DATAGRAM as u64,
        60_000,
    ];
    let mut largest = 0;
    for (site, prefix) in bomb_sites() {
        for claim in claims {
            // Nothing after the claim; zeros; a full datagram of 0x01 (a valid small element of
            // most sequences: the claim is then nearly honest).
            for (filler, byte) in [(0usize, 0u8), (100, 0), (64_000, 0), (64_000, 1)] {
                let mut payload = prefix.clone();
                payload.extend(varint(claim));
                let room = MAX_DATAGRAM - HEADER_LEN - TAG_LEN - payload.len();
                payload.resize(payload.len() + filler.min(room), byte);
                let datagram = authentic(&payload, &keys);
                let what = format!("{site}, claim {claim}, {filler} x {byte}");
                let (service, s) = decode_measured::<ServiceMsg>(&datagram, &keys);
                let (single, m) = decode_measured::<Msg<String>>(&datagram, &keys);
                for usage in [s, m] {
                    check_decode_usage(usage, datagram.len(), &what).unwrap();
                    largest = largest.max(usage.largest);
                }
                if claim > datagram.len() as u64 {
                    assert!(service.is_err() && single.is_err(), "{what} decoded");
                }
            }
        }
    }
    eprintln!("bad_input: length-prefix bombs: largest allocation {largest} bytes");
}

#[test]
fn a_claim_at_every_position_of_real_messages_stays_bounded() {
    // Every position of a few messages with every kind of sequence, overwritten or preceded by
    // a huge claim: whichever length prefix it lands on.
    let keys = keys();
    let command = |i: u64| Command {
        client: ClientId(3),
        seq: i,
        op: Op::Cas {
            key: "k".into(),
            expected: Some("e".into()),
            new: "n".into(),
        },
        mac: Mac([7; 32]),
    };
    let batch = LogValue::Batch(Batch::from(vec![command(1), command(2)]));
    let promise = LogPromise {
        round: 2,
        acceptor: AcceptorId(1),
        decided_prefix: 1,
        votes: Arc::from(vec![SlotVote {
            slot: 1,
            vote: Vote {
                round: 1,
                value: batch.clone(),
            },
        }]),
        mac: Mac([9; 32]),
    };
    let messages = [
        Payload::Service(ServiceMsg::Log(LogMsg::Accept {
            round: 2,
            slot: 1,
            value: batch.clone(),
            proof: LogProof::from(vec![promise.clone(), promise.clone()]),
        })),
        Payload::Service(ServiceMsg::Log(LogMsg::NewRound {
            round: 2,
            proof: LogProof::from(vec![promise]),
            accepts: Arc::from(vec![(1, batch.clone()), (2, LogValue::Noop)]),
        })),
        Payload::Service(ServiceMsg::Decisions {
            first: 4,
            decisions: vec![
                Decision {
                    round: 0,
                    value: batch,
                },
                Decision {
                    round: 1,
                    value: LogValue::Noop,
                },
            ],
        }),
        Payload::Service(ServiceMsg::Reply {
            seq: 1,
            reply: Reply::Cas {
                swapped: false,
                found: Some("found".into()),
            },
        }),
        Payload::Single(Msg::Accept {
            round: 1,
            value: "value".into(),
            proof: Proof::from(vec![Promise {
                round: 1,
                acceptor: AcceptorId(0),
                last_vote: Some(Vote {
                    round: 0,
                    value: "old".into(),
                }),
                mac: Mac([1; 32]),
            }]),
        }),
    ];
    let start = Instant::now();
    let mut decodes = 0;
    for message in &messages {
        let datagram = encode_payload(message, &keys);
        let original = payload_bytes(&datagram);
        for at in 0..=original.len() {
            for claim in [1u64 << 60, u64::MAX, u64::from(u32::MAX), 1 << 20, 40_000] {
                for insert in [false, true] {
                    let mut bytes = original.to_vec();
                    write_claim(&mut bytes, at, claim, insert);
                    let datagram = authentic(&bytes, &keys);
                    let (_, s) = decode_measured::<ServiceMsg>(&datagram, &keys);
                    let (_, m) = decode_measured::<Msg<String>>(&datagram, &keys);
                    for usage in [s, m] {
                        check_decode_usage(usage, datagram.len(), "claim").unwrap();
                    }
                    decodes += 2;
                }
            }
        }
    }
    eprintln!(
        "bad_input: claims at every position: {decodes} decodes in {:.2} s",
        start.elapsed().as_secs_f64()
    );
}

/// The largest `n` for which `make(n)` still fits a datagram.
fn densest<T: serde::Serialize>(keys: &ChannelKeys, make: impl Fn(usize) -> T) -> (usize, Vec<u8>) {
    let (mut lo, mut hi) = (0usize, MAX_DATAGRAM);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if encode(id(P0), id(A1), &make(mid), keys).is_ok() {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let datagram = encode(id(P0), id(A1), &make(lo), keys).expect("fits");
    (lo, datagram)
}

#[test]
fn dense_messages_decode_within_the_allocation_bounds() {
    // The messages that need the most memory per byte of datagram, as large as a datagram
    // allows: honest sequences of the smallest elements.
    let keys = keys();
    let noop_vote = SlotVote {
        slot: 0,
        vote: Vote {
            round: 0,
            value: LogValue::Noop,
        },
    };
    let minimal_command = Command {
        client: ClientId(0),
        seq: 0,
        op: Op::Get { key: String::new() },
        mac: Mac([0; 32]),
    };
    let empty_promise = LogPromise::<SlotValue> {
        round: 0,
        acceptor: AcceptorId(0),
        decided_prefix: 0,
        votes: Arc::from(Vec::new()),
        mac: Mac([0; 32]),
    };
    type Make = Box<dyn Fn(usize) -> ServiceMsg>;
    let cases: Vec<(&str, Make)> = vec![
        (
            "decisions of no-ops",
            Box::new(|n| ServiceMsg::Decisions {
                first: 0,
                decisions: vec![
                    Decision {
                        round: 0,
                        value: LogValue::Noop
                    };
                    n
                ],
            }),
        ),
        (
            "decisions of empty batches",
            Box::new(|n| ServiceMsg::Decisions {
                first: 0,
                decisions: vec![
                    Decision {
                        round: 0,
                        value: LogValue::Batch(Batch::noop())
                    };
                    n
                ],
            }),
        ),
        (
            "a PROMISE of no-op votes",
            Box::new(move |n| {
                ServiceMsg::Log(LogMsg::Promise(LogPromise {
                    round: 1,
                    acceptor: AcceptorId(0),
                    decided_prefix: 0,
                    votes: Arc::from(vec![noop_vote.clone(); n]),
                    mac: Mac([0; 32]),
                }))
            }),
        ),
        (
            "a NEWROUND of no-op accepts",
            Box::new(|n| {
                ServiceMsg::Log(LogMsg::NewRound {
                    round: 1,
                    proof: LogProof::none(),
                    accepts: Arc::from(vec![(0, LogValue::Noop); n]),
                })
            }),
        ),
        (
            "an ACCEPT of a batch of minimal commands",
            Box::new(move |n| {
                ServiceMsg::Log(LogMsg::Accept {
                    round: 0,
                    slot: 0,
                    value: LogValue::Batch(Batch::from(vec![minimal_command.clone(); n])),
                    proof: LogProof::none(),
                })
            }),
        ),
        (
            "an ACCEPT with a proof of empty PROMISEs",
            Box::new(move |n| {
                ServiceMsg::Log(LogMsg::Accept {
                    round: 1,
                    slot: 0,
                    value: LogValue::Noop,
                    proof: LogProof::from(vec![empty_promise.clone(); n]),
                })
            }),
        ),
    ];
    for (name, make) in cases {
        let (n, datagram) = densest(&keys, &make);
        let (result, usage) = decode_measured::<ServiceMsg>(&datagram, &keys);
        assert_eq!(result, Ok((id(P0), make(n))), "{name}");
        eprintln!(
            "bad_input: dense {name}: {n} elements in {} bytes: largest allocation {} bytes, \
             peak {} bytes ({:.1} per datagram byte)",
            datagram.len(),
            usage.largest,
            usage.peak,
            usage.peak as f64 / datagram.len() as f64
        );
        check_decode_usage(usage, datagram.len(), name).unwrap();
    }
}

#[test]
fn dense_stores_decode_within_the_allocation_bounds() {
    // The store of a SNAPSHOT: maps, which postcard still hints with their claimed length
    // (bounded.rs), so these must be BTreeMaps that reserve nothing. As many entries as a
    // datagram holds: distinct two-character keys with empty values, then sessions of distinct
    // clients with `Reply::Stored`.
    let keys = keys();
    let room = MAX_DATAGRAM - HEADER_LEN - TAG_LEN;
    let key = |i: usize| [(i / 128) as u8, (i % 128) as u8];
    for (name, data, sessions) in [("keys", (room - 8) / 4, 0), ("sessions", 0, (room - 8) / 4)] {
        let mut payload = varint(data as u64);
        for i in 0..data {
            payload.push(2);
            payload.extend(key(i));
            payload.push(0);
        }
        payload.extend(varint(sessions as u64));
        for client in 0..sessions {
            payload.extend(varint(client as u64));
            payload.extend([0, 0]); // seq 0, Reply::Stored
        }
        assert!(payload.len() <= room, "{name}: {} bytes", payload.len());
        let datagram = authentic(&payload, &keys);
        let (result, usage) = decode_measured::<KvStore>(&datagram, &keys);
        let (_, store) = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        if data > 0 {
            let last = String::from_utf8(key(data - 1).to_vec()).expect("ASCII");
            assert_eq!(store.get(&last), Some(""), "{name}");
        }
        if sessions > 0 {
            let last = ClientId(sessions as u16 - 1);
            assert_eq!(store.session(last), Some((0, &Reply::Stored)), "{name}");
        }
        drop(store);
        eprintln!(
            "bad_input: dense store of {data} keys and {sessions} sessions in {} bytes: largest \
             allocation {} bytes, peak {} bytes ({:.1} per datagram byte)",
            datagram.len(),
            usage.largest,
            usage.peak,
            usage.peak as f64 / datagram.len() as f64
        );
        check_decode_usage(usage, datagram.len(), name).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// 2. The durable store's recovery.
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

// ---------------------------------------------------------------------------------------------
// 3. The proof verifiers.
// ---------------------------------------------------------------------------------------------

type LV = LogValue<String>;

static DOMAIN_KEY: LazyLock<HmacSha256> = LazyLock::new(|| {
    HmacSha256::from_hex("6b65792d6f662d7468652d6163636570746f72732d646f6d61696e2d31323334")
        .expect("test key is valid")
});
static OTHER_KEY: LazyLock<HmacSha256> =
    LazyLock::new(|| HmacSha256::new(&[0x42; 32]).expect("test key is valid"));

const VALUES: [&str; 3] = ["A", "B", "Z"];

fn log_value() -> impl Strategy<Value = LV> + Clone {
    prop_oneof![
        1 => Just(LogValue::Noop),
        3 => proptest::sample::select(&VALUES[..]).prop_map(|v| LogValue::Batch(v.to_string())),
    ]
}

fn single_value() -> impl Strategy<Value = String> + Clone {
    proptest::sample::select(&VALUES[..]).prop_map(str::to_string)
}

/// Another value of the domain than `v`.
fn other_log_value(v: &LV) -> LV {
    match v {
        LogValue::Noop => LogValue::Batch("A".into()),
        LogValue::Batch(s) if s == "A" => LogValue::Batch("Z".into()),
        LogValue::Batch(_) => LogValue::Noop,
    }
}

/// How a generated PROMISE is authenticated.
#[derive(Clone, Debug)]
enum Sig {
    /// Signed by its acceptor under the domain key: the one genuine case.
    Good,
    Forged,
    Random(Mac),
    OtherKey,
    /// Signed, then one authenticated field altered.
    Altered(u8),
}

fn sig(clean: bool) -> BoxedStrategy<Sig> {
    if clean {
        Just(Sig::Good).boxed()
    } else {
        prop_oneof![
            8 => Just(Sig::Good),
            1 => Just(Sig::Forged),
            1 => mac().prop_map(Sig::Random),
            1 => Just(Sig::OtherKey),
            2 => (0u8..3).prop_map(Sig::Altered),
        ]
        .boxed()
    }
}

/// Rules: mostly the standard ones for f = 0 to 3, sometimes with other settings.
fn rules() -> impl Strategy<Value = Rules> {
    (
        0usize..=3,
        prop_oneof![6 => Just(None), 1 => (0usize..12, any::<bool>(), any::<bool>(), prop_oneof![6 => Just(true), 1 => Just(false)]).prop_map(Some)],
    )
        .prop_map(|(f, other)| match other {
            None => Rules::standard(f),
            Some((quorum, threshold_one, single_value_rule, check_proofs)) => Rules {
                quorum,
                pick_threshold: if threshold_one {
                    PickThreshold::One
                } else {
                    PickThreshold::ProofSizeMinusF
                },
                single_value_rule,
                check_proofs,
                ..Rules::standard(f)
            },
        })
}

fn target_round() -> impl Strategy<Value = Round> {
    prop_oneof![8 => 0u32..5, 1 => any::<u32>()]
}

/// A PROMISE's round: the target's, or (unless clean) another.
fn promise_round(round: Round, clean: bool) -> BoxedStrategy<Round> {
    if clean {
        Just(round).boxed()
    } else {
        prop_oneof![
            9 => Just(round),
            1 => Just(round.wrapping_add(1)),
            1 => Just(round.wrapping_sub(1)),
            1 => any::<u32>(),
        ]
        .boxed()
    }
}

/// An acceptor id: one of the `n`, or (unless clean) past them.
fn acceptor(n: u16, clean: bool) -> BoxedStrategy<u16> {
    if clean {
        (0..n).boxed()
    } else {
        prop_oneof![8 => 0..n, 1 => n..n + 3, 1 => any::<u16>()].boxed()
    }
}

/// A vote's round: below the target's, or (unless clean) any. Clean votes in round 0 are none.
fn vote_round(round: Round, clean: bool) -> Option<BoxedStrategy<Round>> {
    match (round, clean) {
        (0, true) => None,
        (0, false) => Some(any::<u32>().boxed()),
        (r, true) => Some((0..r).boxed()),
        (r, false) => Some(prop_oneof![8 => 0..r, 1 => any::<u32>()].boxed()),
    }
}

fn slot() -> impl Strategy<Value = Slot> + Clone {
    prop_oneof![8 => 0u64..6, 1 => any::<u64>()]
}

/// A log PROMISE, and whether it is genuine: signed by its acceptor over exactly these fields.
fn log_promise_recipe(
    n: u16,
    round: Round,
    clean: bool,
) -> impl Strategy<Value = (LogPromise<LV>, bool)> {
    let votes = match vote_round(round, clean) {
        None => Just(Vec::new()).boxed(),
        Some(vote_round) => vec((slot(), vote_round, log_value()), 0..4).boxed(),
    };
    let prefix = prop_oneof![6 => Just(0u64), 3 => 0u64..6, 1 => any::<u64>()];
    (
        promise_round(round, clean),
        acceptor(n, clean),
        prefix,
        votes,
        sig(clean),
    )
        .prop_map(|(round, acceptor, decided_prefix, votes, sig)| {
            let votes: Vec<SlotVote<LV>> = votes
                .into_iter()
                .map(|(slot, round, value)| SlotVote {
                    slot,
                    vote: Vote { round, value },
                })
                .collect();
            let sign = |key: &HmacSha256, votes: Vec<SlotVote<LV>>| {
                LogPromise::signed(key, round, AcceptorId(acceptor), decided_prefix, votes)
            };
            match sig {
                Sig::Good => (sign(&DOMAIN_KEY, votes), true),
                Sig::Forged => (
                    LogPromise {
                        mac: Mac::FORGED,
                        ..sign(&DOMAIN_KEY, votes)
                    },
                    false,
                ),
                Sig::Random(mac) => (
                    LogPromise {
                        mac,
                        ..sign(&DOMAIN_KEY, votes)
                    },
                    false,
                ),
                Sig::OtherKey => (sign(&OTHER_KEY, votes), false),
                Sig::Altered(what) => {
                    let mut promise = sign(&DOMAIN_KEY, votes.clone());
                    match (what, votes.is_empty()) {
                        (1, false) => promise.votes = Arc::from(&votes[..votes.len() - 1]),
                        (2, false) => {
                            let mut votes = votes;
                            votes[0].vote.value = other_log_value(&votes[0].vote.value);
                            promise.votes = Arc::from(votes);
                        }
                        _ => promise.decided_prefix = promise.decided_prefix.wrapping_add(1),
                    }
                    (promise, false)
                }
            }
        })
}

#[derive(Clone, Debug)]
struct LogProofCase {
    rules: Rules,
    round: Round,
    slot: Slot,
    value: LV,
    /// The proof, each PROMISE with whether it is genuine.
    promises: Vec<(LogPromise<LV>, bool)>,
}

fn log_proof_case() -> impl Strategy<Value = LogProofCase> {
    (rules(), target_round(), any::<bool>())
        .prop_flat_map(|(rules, round, clean)| {
            let n = rules.acceptors() as u16;
            let promises = vec(log_promise_recipe(n, round, clean), 0..2 * n as usize + 3);
            (
                Just(rules),
                Just(round),
                slot(),
                log_value(),
                promises,
                proptest::option::of(any::<Index>()),
            )
        })
        .prop_map(|(rules, round, slot, value, mut promises, duplicate)| {
            // Sometimes the same PROMISE twice.
            if let Some(i) = duplicate.filter(|_| !promises.is_empty()) {
                let copy = promises[i.index(promises.len())].clone();
                promises.push(copy);
            }
            LogProofCase {
                rules,
                round,
                slot,
                value,
                promises,
            }
        })
}

/// `Allowed(Q)` over one vote per distinct acceptor (`None`: no vote), written apart from
/// src/rules.rs, after PROTOCOL.md §4: rule 1 (no votes: any value), 2 (values voted in the
/// highest round `k` by at least `|Q| - f` of Q: only those), 3 (one value in `k`: only it),
/// 4 (otherwise any).
fn model_allows<V: Ord>(rules: &Rules, votes: &[Option<(Round, &V)>], value: &V) -> bool {
    let Some(k) = votes.iter().flatten().map(|(round, _)| *round).max() else {
        return true;
    };
    let mut in_k: BTreeMap<&V, usize> = BTreeMap::new();
    for (_, v) in votes.iter().flatten().filter(|(round, _)| *round == k) {
        *in_k.entry(*v).or_default() += 1;
    }
    let threshold = match rules.pick_threshold {
        PickThreshold::ProofSizeMinusF => votes.len().saturating_sub(rules.f).max(1),
        PickThreshold::One => 1,
    };
    let picked: BTreeSet<&V> = in_k
        .iter()
        .filter(|(_, count)| **count >= threshold)
        .map(|(v, _)| *v)
        .collect();
    if !picked.is_empty() {
        picked.contains(value)
    } else if rules.single_value_rule && in_k.len() == 1 {
        in_k.contains_key(value)
    } else {
        true
    }
}

/// The shape of every PROMISE of a log proof, and a quorum of distinct acceptors, by the model.
fn model_log_shape(case: &LogProofCase) -> bool {
    let n = case.rules.acceptors();
    let each = case.promises.iter().all(|(p, genuine)| {
        *genuine
            && p.round == case.round
            && p.votes.iter().all(|v| v.vote.round < case.round)
            && usize::from(p.acceptor.0) < n
    });
    let distinct: BTreeSet<u16> = case.promises.iter().map(|(p, _)| p.acceptor.0).collect();
    each && distinct.len() >= case.rules.quorum
}

/// `ValidProof(r, s, v, Q)` by the model.
fn model_valid_log_proof(case: &LogProofCase) -> bool {
    if !case.rules.check_proofs {
        return true;
    }
    if !model_log_shape(case) {
        return false;
    }
    // The first PROMISE of each acceptor.
    let mut q: BTreeMap<u16, &LogPromise<LV>> = BTreeMap::new();
    for (p, _) in &case.promises {
        q.entry(p.acceptor.0).or_insert(p);
    }
    let closed_below = q.values().map(|p| p.decided_prefix).max().unwrap_or(0);
    if case.slot < closed_below {
        return false;
    }
    let votes: Vec<Option<(Round, &LV)>> = q
        .values()
        .map(|p| {
            p.votes
                .iter()
                .find(|v| v.slot == case.slot)
                .map(|v| (v.vote.round, &v.vote.value))
        })
        .collect();
    model_allows(&case.rules, &votes, &case.value)
}

#[test]
fn log_proofs_are_judged_as_the_protocol_says() {
    let accepted = Cell::new(0u32);
    let round_accepted = Cell::new(0u32);
    let cases = Cell::new(0u32);
    property("proofs: log", 30_000, log_proof_case(), |case| {
        cases.set(cases.get() + 1);
        let proof: Vec<LogPromise<LV>> = case.promises.iter().map(|(p, _)| p.clone()).collect();
        let rules = &case.rules;
        let result = valid_log_proof(
            rules,
            &*DOMAIN_KEY,
            case.round,
            case.slot,
            &case.value,
            &proof,
        );
        let round_result = valid_round_proof(rules, &*DOMAIN_KEY, case.round, &proof);
        prop_assert_eq!(
            result.is_ok(),
            model_valid_log_proof(&case),
            "valid_log_proof said {:?}",
            result
        );
        let round_expected = !rules.check_proofs || model_log_shape(&case);
        prop_assert_eq!(
            round_result.is_ok(),
            round_expected,
            "valid_round_proof said {:?}",
            round_result
        );
        if result.is_ok() && rules.check_proofs {
            accepted.set(accepted.get() + 1);
            // The direct re-check of an accepted proof.
            let distinct: BTreeSet<AcceptorId> = proof.iter().map(|p| p.acceptor).collect();
            prop_assert!(distinct.len() >= rules.quorum);
            prop_assert!(
                distinct
                    .iter()
                    .all(|a| usize::from(a.0) < rules.acceptors())
            );
            prop_assert!(proof.iter().all(|p| p.round == case.round));
            prop_assert!(proof.iter().all(|p| p.is_authentic(&*DOMAIN_KEY)));
            prop_assert!(case.promises.iter().all(|(_, genuine)| *genuine));
            let rule = slot_rule(rules, &log_distinct_acceptors(&proof), case.slot);
            prop_assert!(rule.allows(&case.value), "{:?}", rule);
        }
        if round_result.is_ok() && rules.check_proofs {
            round_accepted.set(round_accepted.get() + 1);
        }
        Ok(())
    });
    eprintln!(
        "bad_input: proofs: log: {} of {} accepted by valid_log_proof, {} by valid_round_proof",
        accepted.get(),
        cases.get(),
        round_accepted.get()
    );
    // Teeth: acceptance is exercised, not only rejection.
    assert!(accepted.get() * 10 > cases.get());
}

#[derive(Clone, Debug)]
struct ProofCase {
    rules: Rules,
    round: Round,
    value: String,
    promises: Vec<(Promise<String>, bool)>,
}

fn promise_recipe(
    n: u16,
    round: Round,
    clean: bool,
) -> impl Strategy<Value = (Promise<String>, bool)> {
    let last_vote = match vote_round(round, clean) {
        None => Just(None).boxed(),
        Some(vote_round) => proptest::option::of((vote_round, single_value())).boxed(),
    };
    (
        promise_round(round, clean),
        acceptor(n, clean),
        last_vote,
        sig(clean),
    )
        .prop_map(|(round, acceptor, last_vote, sig)| {
            let last_vote = last_vote.map(|(round, value)| Vote { round, value });
            let sign = |key: &HmacSha256, last_vote| {
                Promise::signed(key, round, AcceptorId(acceptor), last_vote)
            };
            match sig {
                Sig::Good => (sign(&DOMAIN_KEY, last_vote), true),
                Sig::Forged => (
                    Promise {
                        mac: Mac::FORGED,
                        ..sign(&DOMAIN_KEY, last_vote)
                    },
                    false,
                ),
                Sig::Random(mac) => (
                    Promise {
                        mac,
                        ..sign(&DOMAIN_KEY, last_vote)
                    },
                    false,
                ),
                Sig::OtherKey => (sign(&OTHER_KEY, last_vote), false),
                Sig::Altered(what) => {
                    let mut promise = sign(&DOMAIN_KEY, last_vote.clone());
                    promise.last_vote = match (what, last_vote) {
                        (0, Some(_)) => None,
                        (1, Some(vote)) => Some(Vote {
                            round: vote.round.wrapping_add(1),
                            ..vote
                        }),
                        (_, Some(vote)) => Some(Vote {
                            value: if vote.value == "A" { "B" } else { "A" }.to_string(),
                            ..vote
                        }),
                        (_, None) => Some(Vote {
                            round: 0,
                            value: "A".to_string(),
                        }),
                    };
                    (promise, false)
                }
            }
        })
}

fn proof_case() -> impl Strategy<Value = ProofCase> {
    (rules(), target_round(), any::<bool>())
        .prop_flat_map(|(rules, round, clean)| {
            let n = rules.acceptors() as u16;
            let promises = vec(promise_recipe(n, round, clean), 0..2 * n as usize + 3);
            (
                Just(rules),
                Just(round),
                single_value(),
                promises,
                proptest::option::of(any::<Index>()),
            )
        })
        .prop_map(|(rules, round, value, mut promises, duplicate)| {
            if let Some(i) = duplicate.filter(|_| !promises.is_empty()) {
                let copy = promises[i.index(promises.len())].clone();
                promises.push(copy);
            }
            ProofCase {
                rules,
                round,
                value,
                promises,
            }
        })
}

/// `ValidProof(r, v, Q)` of the single decree by the model.
fn model_valid_proof(case: &ProofCase) -> bool {
    if !case.rules.check_proofs {
        return true;
    }
    let n = case.rules.acceptors();
    let each = case.promises.iter().all(|(p, genuine)| {
        *genuine
            && p.round == case.round
            && p.last_vote.as_ref().is_none_or(|v| v.round < case.round)
            && usize::from(p.acceptor.0) < n
    });
    let mut q: BTreeMap<u16, &Promise<String>> = BTreeMap::new();
    for (p, _) in &case.promises {
        q.entry(p.acceptor.0).or_insert(p);
    }
    if !each || q.len() < case.rules.quorum {
        return false;
    }
    let votes: Vec<Option<(Round, &String)>> = q
        .values()
        .map(|p| p.last_vote.as_ref().map(|v| (v.round, &v.value)))
        .collect();
    model_allows(&case.rules, &votes, &case.value)
}

#[test]
fn single_decree_proofs_are_judged_as_the_protocol_says() {
    let accepted = Cell::new(0u32);
    let cases = Cell::new(0u32);
    property("proofs: single decree", 30_000, proof_case(), |case| {
        cases.set(cases.get() + 1);
        let proof: Vec<Promise<String>> = case.promises.iter().map(|(p, _)| p.clone()).collect();
        let rules = &case.rules;
        let result = valid_proof(rules, &*DOMAIN_KEY, case.round, &case.value, &proof);
        prop_assert_eq!(
            result.is_ok(),
            model_valid_proof(&case),
            "valid_proof said {:?}",
            result
        );
        if result.is_ok() && rules.check_proofs {
            accepted.set(accepted.get() + 1);
            let distinct: BTreeSet<AcceptorId> = proof.iter().map(|p| p.acceptor).collect();
            prop_assert!(distinct.len() >= rules.quorum);
            prop_assert!(proof.iter().all(|p| p.round == case.round));
            prop_assert!(proof.iter().all(|p| p.is_authentic(&*DOMAIN_KEY)));
        }
        Ok(())
    });
    eprintln!(
        "bad_input: proofs: single decree: {} of {} accepted",
        accepted.get(),
        cases.get()
    );
    assert!(accepted.get() * 10 > cases.get());
}

/// The authenticator never accepts a PROMISE signed under another key or altered after
/// signing, whatever its fields (a direct check of what the models above rely on).
#[test]
fn only_genuine_promises_are_authentic() {
    let strategy = (target_round(), any::<bool>())
        .prop_flat_map(|(round, clean)| log_promise_recipe(7, round, clean));
    property(
        "proofs: authenticity",
        20_000,
        strategy,
        |(promise, genuine)| {
            prop_assert_eq!(promise.is_authentic(&*DOMAIN_KEY), genuine);
            let encoded = bp_fast_paxos::auth::encode_log_promise(
                promise.round,
                promise.acceptor,
                promise.decided_prefix,
                &promise.votes,
            );
            prop_assert_eq!(DOMAIN_KEY.verify(&encoded, &promise.mac), genuine);
            Ok(())
        },
    );
}
