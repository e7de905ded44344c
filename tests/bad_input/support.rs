//! What the bad-input properties share: the counting global allocator and the allocation
//! bounds, the runner of a property (fixed seed, printed counts), cheap random bytes and
//! length claims, and values of the real message types.

use crate::common::counting::{Counting, Usage};
use bp_fast_paxos::auth::Mac;
use bp_fast_paxos::learner::Decision;
use bp_fast_paxos::log::message::{LogMsg, LogPromise, LogProof, ProofDigest, SlotVote};
use bp_fast_paxos::log::value::LogValue;
use bp_fast_paxos::message::{Msg, Promise, Proof, Vote};
use bp_fast_paxos::runtime::wire::MAX_DATAGRAM;
use bp_fast_paxos::service::msg::{ServiceMsg, SlotValue};
use bp_fast_paxos::service::transfer::Part;
use bp_fast_paxos::service::{Batch, Command, Op, Reply};
use bp_fast_paxos::types::{AcceptorId, ClientId};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestCaseResult, TestRunner};
use std::cell::Cell;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// The counting allocator.
// ---------------------------------------------------------------------------------------------

#[global_allocator]
pub static ALLOCATOR: Counting = Counting;

/// No datagram of at most `MAX_DATAGRAM` bytes may make a larger single allocation. The densest
/// honest PROMISE (21 639 votes of 3 bytes, 32 bytes each in memory) reaches exactly this: its
/// vector of votes doubles to 32 768 slots while it is read.
pub const MAX_SINGLE_ALLOCATION: usize = 1 << 20;

/// Nor hold more bytes at once than this: a bound in proportion to the datagram (the dense
/// messages and stores of the `dense_*` tests need up to 27 bytes of memory per byte of
/// datagram).
pub const MAX_PEAK_PER_DATAGRAM_BYTE: usize = 64;
pub const PEAK_SLACK: usize = 64 << 10;

pub fn check_decode_usage(usage: Usage, len: usize, what: &str) -> Result<(), TestCaseError> {
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
pub const SEED: u64 = 0x5eed_bad1_0b75_0005;

/// Runs `test` on `cases` inputs of `strategy`, then prints how many ran and how long it took.
/// Failures are not persisted: the seed and the printed input reproduce them.
pub fn property<S>(name: &str, cases: u32, strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
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
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        XorShift(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next() >> 24) as u8).collect()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    XorShift::new(seed).bytes(len)
}

/// The postcard (LEB128) varint of `n`, as a length prefix is written.
pub fn varint(mut n: u64) -> Vec<u8> {
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
pub fn claim() -> impl Strategy<Value = u64> {
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
pub enum Edit {
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

pub fn edit() -> impl Strategy<Value = Edit> {
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

pub fn apply_edits(bytes: &mut Vec<u8>, edits: &[Edit]) {
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
pub fn write_claim(bytes: &mut Vec<u8>, at: usize, value: u64, insert: bool) {
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

pub fn text() -> impl Strategy<Value = String> + Clone {
    vec(any::<char>(), 0..6).prop_map(String::from_iter)
}

pub fn small_u64() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![4 => 0u64..8, 1 => any::<u64>()]
}

pub fn small_u32() -> impl Strategy<Value = u32> + Clone {
    prop_oneof![4 => 0u32..8, 1 => any::<u32>()]
}

pub fn mac() -> impl Strategy<Value = Mac> + Clone {
    proptest::array::uniform32(any::<u8>()).prop_map(Mac)
}

pub fn op() -> impl Strategy<Value = Op> + Clone {
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

pub fn command() -> impl Strategy<Value = Command> + Clone {
    (any::<u16>(), small_u64(), op(), mac()).prop_map(|(client, seq, op, mac)| Command {
        client: ClientId(client),
        seq,
        op,
        mac,
    })
}

pub fn slot_value() -> impl Strategy<Value = SlotValue> + Clone {
    prop_oneof![
        Just(LogValue::Noop),
        vec(command(), 0..3).prop_map(|commands| LogValue::Batch(Batch::from(commands))),
    ]
}

pub fn log_promise() -> impl Strategy<Value = LogPromise<SlotValue>> + Clone {
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

pub fn log_proof() -> impl Strategy<Value = LogProof<SlotValue>> + Clone {
    vec(log_promise(), 0..3).prop_map(LogProof::from)
}

pub fn log_msg() -> impl Strategy<Value = LogMsg<SlotValue>> {
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

pub fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        Just(Reply::Stored),
        proptest::option::of(text()).prop_map(Reply::Value),
        (any::<bool>(), proptest::option::of(text()))
            .prop_map(|(swapped, found)| Reply::Cas { swapped, found }),
    ]
}

/// Every variant of `ServiceMsg`.
pub fn service_msg() -> impl Strategy<Value = ServiceMsg> {
    let decision = (small_u32(), slot_value()).prop_map(|(round, value)| Decision { round, value });
    prop_oneof![
        3 => log_msg().prop_map(ServiceMsg::Log),
        1 => command().prop_map(ServiceMsg::Request),
        1 => (small_u64(), reply(), small_u32())
            .prop_map(|(seq, reply, round)| ServiceMsg::Reply { seq, reply, round }),
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

pub fn single_msg() -> impl Strategy<Value = Msg<String>> {
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
pub enum Payload {
    Service(ServiceMsg),
    Single(Msg<String>),
}

pub fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        3 => service_msg().prop_map(Payload::Service),
        1 => single_msg().prop_map(Payload::Single),
    ]
}

/// Lengths: mostly short, up to past the datagram limit.
pub fn length(max: usize) -> impl Strategy<Value = usize> {
    prop_oneof![3 => 0..300usize, 1 => 0..max]
}
