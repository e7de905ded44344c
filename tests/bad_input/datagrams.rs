//! The datagram decoder (src/runtime/wire.rs): arbitrary bytes never panic and never
//! allocate without bound. Arbitrary bytes, valid headers over random bytes, authentic
//! datagrams (a valid tag) over random or mutated payloads, so that postcard really parses
//! garbage; round trips; any flipped byte refused before the deserializer. A counting global
//! allocator shows that no datagram of at most [`MAX_DATAGRAM`] bytes makes an allocation
//! above 1 MiB, length-prefix bombs and the densest messages and stores included.

use crate::common::counting::{Usage, measure};
use crate::support::*;

use bp_fast_paxos::auth::Mac;
use bp_fast_paxos::learner::Decision;
use bp_fast_paxos::log::message::{LogMsg, LogPromise, LogProof, SlotVote};
use bp_fast_paxos::log::value::LogValue;
use bp_fast_paxos::message::{Msg, Promise, Proof, Vote};
use bp_fast_paxos::runtime::wire::{
    ChannelKeys, FRAGMENT_DATA, FRAGMENT_HEADER_LEN, HEADER_LEN, MAGIC, MAX_DATAGRAM, Reassembly,
    ReassemblyLimits, TAG_LEN, VERSION, WireError, decode, encode, encode_message, receive,
};
use bp_fast_paxos::service::msg::{ServiceMsg, SlotValue};
use bp_fast_paxos::service::{Batch, Command, KvStore, Op, Reply};
use bp_fast_paxos::types::{AcceptorId, ClientId};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use serde::de::DeserializeOwned;
use stateright::actor::Id;
use std::cell::Cell;
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// The datagram decoder.
// ---------------------------------------------------------------------------------------------

use crate::common::id;
use crate::common::nodes::{A1, P0};

fn keys() -> ChannelKeys {
    crate::common::channel_keys()
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
            round: 2,
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
