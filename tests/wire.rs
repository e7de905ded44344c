//! The authenticated datagram format of the UDP runtime (PROTOCOL.md §8, src/runtime/wire.rs):
//! round trips of every message, rejection of every corrupted, truncated, misaddressed or forged
//! datagram without a panic, the size limit on both sides, bounded allocation while decoding,
//! and a known-answer vector that pins the format.

mod common;

use bp_fast_paxos::auth::HmacSha256;
use bp_fast_paxos::message::{Msg, Promise, Proof, Vote};
use bp_fast_paxos::models::value::ModelValue;
use bp_fast_paxos::runtime::wire::{
    ChannelKeys, DropCounts, FRAGMENT_DATA, HEADER_LEN, MAX_DATAGRAM, MAX_MESSAGE, Reassembly,
    ReassemblyLimits, TAG_LEN, VERSION, WireError, decode, encode, encode_message, fragment_count,
    receive,
};
use bp_fast_paxos::types::AcceptorId;
use hmac::{Hmac, Mac as _};
use serde::ser::{Serialize, SerializeTuple, Serializer};
use sha2::Sha256;

// ---------------------------------------------------------------------------------------------
// Fixtures.
// ---------------------------------------------------------------------------------------------

type M = Msg<ModelValue>;

use common::counting::{Counting, measure};
use common::nodes::{A1, A2, CLIENT, P0};
use common::{channel_key, id};

fn keys() -> ChannelKeys {
    common::channel_keys()
}

/// The acceptors' domain key, which signs PROMISEs.
fn domain() -> HmacSha256 {
    HmacSha256::from_hex("6b65792d6f662d7468652d6163636570746f72732d646f6d61696e2d31323334")
        .expect("test key is valid")
}

fn promise(round: u32, acceptor: u16, last_vote: Option<(u32, ModelValue)>) -> Promise<ModelValue> {
    let last_vote = last_vote.map(|(round, value)| Vote { round, value });
    Promise::signed(&domain(), round, AcceptorId(acceptor), last_vote)
}

/// One message of every variant, with a real signed proof.
fn every_variant() -> Vec<M> {
    let proof = Proof::from(vec![
        promise(2, 0, Some((0, ModelValue::Client(0)))),
        promise(2, 1, None),
        promise(2, 3, Some((1, ModelValue::Unproposed))),
    ]);
    vec![
        Msg::Accept {
            round: 0,
            value: ModelValue::Client(1),
            proof: Proof::none(),
        },
        Msg::Accept {
            round: 2,
            value: ModelValue::Client(0),
            proof,
        },
        Msg::Promise(promise(7, 2, Some((5, ModelValue::Client(2))))),
        Msg::Promise(promise(u32::MAX, 0, None)),
        Msg::Learn {
            round: 3,
            value: ModelValue::Unproposed,
        },
        Msg::TrustChange { round: 1 },
    ]
}

/// A valid datagram from the proposer to a1 carrying a proof.
fn sample_datagram() -> Vec<u8> {
    let accept = every_variant().swap_remove(1);
    encode(id(P0), id(A1), &accept, &keys()).expect("sample encodes")
}

/// A payload whose postcard encoding is exactly these bytes (a tuple has no length prefix):
/// lets a test authenticate any payload bytes it likes.
struct RawPayload(Vec<u8>);

impl Serialize for RawPayload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for byte in &self.0 {
            tuple.serialize_element(byte)?;
        }
        tuple.end()
    }
}

/// Authentic datagram from the proposer to a1 with `payload` as its payload bytes.
fn authentic(payload: Vec<u8>) -> Vec<u8> {
    encode(id(P0), id(A1), &RawPayload(payload), &keys()).expect("raw payload encodes")
}

/// A deterministic xorshift64 generator: no dependency, same bytes on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Round trips.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_msg_variant_round_trips() {
    let keys = keys();
    for msg in every_variant() {
        for (from, to) in [(P0, A1), (A1, P0), (A2, A1), (A1, A1)] {
            let datagram = encode(id(from), id(to), &msg, &keys).expect("encodes");
            assert!(datagram.len() <= MAX_DATAGRAM);
            let (sender, decoded) = decode::<M>(&datagram, id(to), &keys).expect("decodes");
            assert_eq!(sender, id(from));
            assert_eq!(decoded, msg);
        }
    }
}

#[test]
fn a_proof_stays_authentic_across_the_wire() {
    let msg = every_variant().swap_remove(1);
    let datagram = encode(id(P0), id(A2), &msg, &keys()).expect("encodes");
    let (_, decoded) = decode::<M>(&datagram, id(A2), &keys()).expect("decodes");
    let Msg::Accept { proof, .. } = decoded else {
        panic!("an ACCEPT decodes as an ACCEPT");
    };
    assert_eq!(proof.len(), 3);
    assert!(proof.iter().all(|p| p.is_authentic(&domain())));
}

#[test]
fn the_pair_key_is_symmetric() {
    let keys = keys();
    let forth = encode(
        id(A1),
        id(P0),
        &Msg::<ModelValue>::TrustChange { round: 4 },
        &keys,
    );
    let back = encode(
        id(P0),
        id(A1),
        &Msg::<ModelValue>::TrustChange { round: 4 },
        &keys,
    );
    assert!(decode::<M>(&forth.expect("encodes"), id(P0), &keys).is_ok());
    assert!(decode::<M>(&back.expect("encodes"), id(A1), &keys).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Rejection.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_flipped_bit_is_rejected() {
    let keys = keys();
    let datagram = sample_datagram();
    for position in 0..datagram.len() {
        for bit in 0..8 {
            let mut corrupt = datagram.clone();
            corrupt[position] ^= 1 << bit;
            let result = decode::<M>(&corrupt, id(A1), &keys);
            assert!(
                result.is_err(),
                "bit {bit} of byte {position} flipped was accepted"
            );
            let expected_header_error = match position {
                0..=2 => Some(WireError::BadVersion),
                7..=10 => Some(WireError::NotForMe),
                _ => None,
            };
            if let Some(expected) = expected_header_error {
                assert_eq!(result.err(), Some(expected), "byte {position}, bit {bit}");
            }
        }
    }
}

#[test]
fn a_wrong_key_is_a_bad_mac() {
    let datagram = sample_datagram();
    let other = ChannelKeys::from_map([((id(P0), id(A1)), [0x5a; 32])]).expect("valid key");
    assert_eq!(
        decode::<M>(&datagram, id(A1), &other),
        Err(WireError::BadMac)
    );
}

#[test]
fn a_wrong_receiver_is_not_for_me() {
    let datagram = sample_datagram();
    assert_eq!(
        decode::<M>(&datagram, id(A2), &keys()),
        Err(WireError::NotForMe)
    );
    assert_eq!(
        decode::<M>(&datagram, id(P0), &keys()),
        Err(WireError::NotForMe)
    );
}

#[test]
fn a_sender_without_a_key_is_unknown() {
    let datagram = sample_datagram();
    let without_proposer =
        ChannelKeys::from_map([((id(A1), id(A2)), channel_key(A1, A2))]).expect("valid key");
    assert_eq!(
        decode::<M>(&datagram, id(A1), &without_proposer),
        Err(WireError::UnknownSender)
    );
    // A client that claims an id with no key, or one past every id.
    for claimed in [CLIENT as u32, u32::MAX] {
        let mut forged = datagram.clone();
        forged[3..7].copy_from_slice(&claimed.to_be_bytes());
        assert_eq!(
            decode::<M>(&forged, id(A1), &keys()),
            Err(WireError::UnknownSender)
        );
    }
}

#[test]
fn a_sender_posing_as_an_acceptor_is_a_bad_mac() {
    // The proposer rewrites the sender field of its own datagram to a2.
    let mut forged = sample_datagram();
    forged[3..7].copy_from_slice(&(A2 as u32).to_be_bytes());
    assert_eq!(
        decode::<M>(&forged, id(A1), &keys()),
        Err(WireError::BadMac)
    );
}

#[test]
fn a_reflected_datagram_is_a_bad_mac() {
    // The pair shares one key, but the tag covers the direction.
    let datagram = sample_datagram();
    let mut reflected = datagram.clone();
    reflected[3..7].copy_from_slice(&datagram[7..11]);
    reflected[7..11].copy_from_slice(&datagram[3..7]);
    assert_eq!(
        decode::<M>(&reflected, id(P0), &keys()),
        Err(WireError::BadMac)
    );
}

#[test]
fn another_magic_or_version_is_refused() {
    let datagram = sample_datagram();
    for (position, byte) in [(0, b'X'), (1, b'Q'), (2, VERSION + 1), (2, 0)] {
        let mut other = datagram.clone();
        other[position] = byte;
        assert_eq!(
            decode::<M>(&other, id(A1), &keys()),
            Err(WireError::BadVersion)
        );
    }
}

#[test]
fn every_truncated_prefix_is_rejected() {
    let keys = keys();
    let datagram = sample_datagram();
    for len in 0..datagram.len() {
        let result = decode::<M>(&datagram[..len], id(A1), &keys);
        let expected = if len < HEADER_LEN + TAG_LEN {
            WireError::TooShort
        } else {
            WireError::BadMac
        };
        assert_eq!(result, Err(expected), "prefix of {len} bytes");
    }
}

#[test]
fn random_bytes_are_rejected_without_panic() {
    let keys = keys();
    let header = sample_datagram()[..HEADER_LEN].to_vec();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for round in 0..20_000 {
        let len = rng.below(400);
        let mut bytes = rng.bytes(len);
        // Every other string gets a valid header, so that it reaches the tag check.
        if round % 2 == 0 && len >= HEADER_LEN {
            bytes[..HEADER_LEN].copy_from_slice(&header);
        }
        assert!(decode::<M>(&bytes, id(A1), &keys).is_err());
    }
}

#[test]
fn authentic_garbage_is_malformed_without_panic() {
    // A key holder's garbage passes the tag and reaches postcard: it must fail cleanly.
    let keys = keys();
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut malformed = 0;
    for _ in 0..20_000 {
        let len = rng.below(300);
        let datagram = authentic(rng.bytes(len));
        match decode::<M>(&datagram, id(A1), &keys) {
            Ok(_) => {}
            Err(WireError::Malformed(_)) => malformed += 1,
            Err(other) => panic!("authentic garbage rejected as {other:?}"),
        }
    }
    assert!(malformed > 10_000, "most random payloads are not messages");
}

#[test]
fn trailing_bytes_after_the_payload_are_malformed() {
    let msg = Msg::<ModelValue>::TrustChange { round: 9 };
    let mut payload = postcard_bytes(&msg);
    assert!(
        matches!(decode::<M>(&authentic(payload.clone()), id(A1), &keys()), Ok((_, m)) if m == msg)
    );
    payload.push(0);
    assert!(matches!(
        decode::<M>(&authentic(payload), id(A1), &keys()),
        Err(WireError::Malformed(_))
    ));
}

/// The payload bytes of `msg`, cut out of an encoded datagram.
fn postcard_bytes(msg: &M) -> Vec<u8> {
    let datagram = encode(id(P0), id(A1), msg, &keys()).expect("encodes");
    datagram[HEADER_LEN..datagram.len() - TAG_LEN].to_vec()
}

// ---------------------------------------------------------------------------------------------
// Size limit.
// ---------------------------------------------------------------------------------------------

#[test]
fn an_oversized_message_is_refused_at_encode() {
    let promises: Vec<_> = (0..2_000)
        .map(|i| promise(3, (i % 4) as u16, Some((1, ModelValue::Client(0)))))
        .collect();
    let accept = Msg::Accept {
        round: 3,
        value: ModelValue::Client(0),
        proof: Proof::from(promises),
    };
    assert_eq!(
        encode(id(P0), id(A1), &accept, &keys()),
        Err(WireError::TooLarge)
    );
}

#[test]
fn the_largest_payload_fits_exactly_and_one_more_byte_does_not() {
    // A Vec<u8> of this length has a 3-byte length prefix.
    let fits = vec![7u8; MAX_DATAGRAM - HEADER_LEN - TAG_LEN - 3];
    let datagram = encode(id(P0), id(A1), &fits, &keys()).expect("fits");
    assert_eq!(datagram.len(), MAX_DATAGRAM);
    let (_, decoded) = decode::<Vec<u8>>(&datagram, id(A1), &keys()).expect("decodes");
    assert_eq!(decoded, fits);
    let one_more = vec![7u8; fits.len() + 1];
    assert_eq!(
        encode(id(P0), id(A1), &one_more, &keys()),
        Err(WireError::TooLarge)
    );
}

#[test]
fn a_datagram_over_the_limit_is_refused_at_decode() {
    let mut datagram = sample_datagram();
    datagram.resize(MAX_DATAGRAM + 1, 0);
    assert_eq!(
        decode::<M>(&datagram, id(A1), &keys()),
        Err(WireError::TooLarge)
    );
}

// ---------------------------------------------------------------------------------------------
// Keys and counters.
// ---------------------------------------------------------------------------------------------

#[test]
fn sending_on_a_pair_without_a_key_is_refused() {
    let msg = Msg::<ModelValue>::TrustChange { round: 1 };
    assert_eq!(
        encode(id(CLIENT), id(A1), &msg, &keys()),
        Err(WireError::NoChannelKey)
    );
}

#[test]
fn channel_keys_refuse_short_keys_and_ids_past_32_bits() {
    let mut keys = ChannelKeys::new();
    assert!(keys.insert(id(A1), id(A2), &[1; 15]).is_err());
    assert!(keys.insert(id(A1), id(A2), &[1; 16]).is_ok());
    if let Ok(huge) = usize::try_from(u64::from(u32::MAX) + 1) {
        assert!(keys.insert(id(A1), id(huge), &[1; 32]).is_err());
    }
    assert!(
        format!("{keys:?}").contains("ChannelKey(..)"),
        "keys never print"
    );
}

#[test]
fn drop_counts_count_every_kind() {
    let errors = [
        WireError::TooShort,
        WireError::TooLarge,
        WireError::BadVersion,
        WireError::NotForMe,
        WireError::UnknownSender,
        WireError::BadMac,
        WireError::Malformed("x".into()),
        WireError::NoChannelKey,
        WireError::BadFragment,
    ];
    let mut counts = DropCounts::default();
    assert_eq!(counts.total(), 0);
    for (i, error) in errors.iter().enumerate() {
        for _ in 0..=i {
            counts.record(error);
        }
        assert!(!error.to_string().is_empty());
    }
    assert_eq!(counts.total(), (1..=errors.len() as u64).sum::<u64>());
    assert_eq!(
        (counts.too_short, counts.bad_mac, counts.malformed),
        (1, 6, 7)
    );
    assert_eq!(counts.no_channel_key, 8);
    assert_eq!(counts.bad_fragment, 9);
}

// ---------------------------------------------------------------------------------------------
// Known answer.
// ---------------------------------------------------------------------------------------------

/// `LEARN(1, A)` from a1 (`Id(0)`) to the client `Id(5)` under the channel key `00 01 … 1f`.
const KNOWN_DATAGRAM: &str = concat!(
    // Magic "BP", version 1.
    "425001",
    // Sender Id(0), receiver Id(5), u32 big-endian.
    "00000000",
    "00000005",
    // postcard: LEARN (variant 2), round 1, ModelValue::Client (variant 0), client 0.
    "02010000",
    // HMAC-SHA256 of every byte above.
    "932b95da22206f3431a7963f807d07fcdf4eac58e47c3f93bba0d1897000b947",
);

#[test]
fn known_answer_datagram() {
    let key: Vec<u8> = (0..32).collect();
    let keys = ChannelKeys::from_map([((id(A1), id(CLIENT)), &key)]).expect("valid key");
    let learn = Msg::Learn {
        round: 1,
        value: ModelValue::Client(0),
    };
    let datagram = encode(id(A1), id(CLIENT), &learn, &keys).expect("encodes");
    assert_eq!(hex::encode(&datagram), KNOWN_DATAGRAM);

    // The same, checked against the layout and an HMAC computed apart from the crate.
    let (signed, tag) = datagram.split_at(datagram.len() - TAG_LEN);
    assert_eq!(
        signed,
        b"BP\x01\x00\x00\x00\x00\x00\x00\x00\x05\x02\x01\x00\x00"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(signed);
    assert_eq!(tag, mac.finalize().into_bytes().as_slice());
    assert_eq!(
        decode::<M>(&datagram, id(CLIENT), &keys),
        Ok((id(A1), learn))
    );
}

// ---------------------------------------------------------------------------------------------
// Bounded allocation while decoding.
// ---------------------------------------------------------------------------------------------

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most bytes `f` had allocated at once on this thread.
fn peak_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let (result, usage) = measure(f);
    (result, usage.peak)
}

/// The payload prefix of an ACCEPT(0, A) whose proof claims `count` PROMISEs.
fn accept_claiming(count: usize) -> Vec<u8> {
    let mut payload = vec![0, 0, 0, 0]; // Accept, round 0, ModelValue::Client, 0.
    let mut n = count;
    while n >= 0x80 {
        payload.push((n as u8) | 0x80);
        n >>= 7;
    }
    payload.push(n as u8);
    payload
}

#[test]
fn a_claimed_length_reserves_nothing() {
    // The proof claims as many PROMISEs as bytes follow, but its first one is already invalid
    // (an Option tag of 7): a decoder that trusts the claim would reserve ~1 MiB here.
    let keys = keys();
    let mut payload = accept_claiming(60_000);
    payload.extend([0, 0, 7]);
    payload.resize(payload.len() + 60_000, 0);
    let datagram = authentic(payload);
    let (result, peak) = peak_allocation(|| decode::<M>(&datagram, id(A1), &keys));
    assert!(matches!(result, Err(WireError::Malformed(_))));
    assert!(peak < 4_096, "a rejected claim allocated {peak} bytes");
}

#[test]
fn decoding_allocates_in_proportion_to_the_datagram() {
    let keys = keys();
    // As many minimal PROMISEs (round 0, a1, no vote, a zero mac: 35 bytes) as fit, then a
    // claim that is one too many.
    let count = (MAX_DATAGRAM - HEADER_LEN - TAG_LEN - 8) / 35;
    let mut payload = accept_claiming(count + 1);
    payload.resize(payload.len() + 35 * count, 0);
    let datagram = authentic(payload);
    let (result, peak) = peak_allocation(|| decode::<M>(&datagram, id(A1), &keys));
    assert!(matches!(result, Err(WireError::Malformed(_))));
    assert!(
        peak <= 4 * datagram.len(),
        "{peak} bytes for a datagram of {}",
        datagram.len()
    );

    // The same PROMISEs, honestly counted, decode within the same bound.
    let mut payload = accept_claiming(count);
    payload.resize(payload.len() + 35 * count, 0);
    let datagram = authentic(payload);
    let (result, peak) = peak_allocation(|| decode::<M>(&datagram, id(A1), &keys));
    let Ok((_, Msg::Accept { proof, .. })) = result else {
        panic!("an honest count decodes: {result:?}");
    };
    assert_eq!(proof.len(), count);
    assert!(proof.iter().all(|p| !p.is_authentic(&domain())));
    assert!(
        peak <= 4 * datagram.len(),
        "{peak} bytes for a datagram of {}",
        datagram.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Fragments.
// ---------------------------------------------------------------------------------------------

/// The datagrams of a payload of `len` bytes (`Vec<u8>`) from the proposer to a1, each byte
/// `seed` plus its position.
fn message(len: usize, seed: u8) -> (Vec<u8>, Vec<Vec<u8>>) {
    let payload: Vec<u8> = (0..len).map(|i| seed.wrapping_add(i as u8)).collect();
    let datagrams = encode_message(id(P0), id(A1), &payload, &keys()).expect("encodes");
    (payload, datagrams)
}

/// What a1 delivers from `datagrams`, in order.
fn deliver(reassembly: &mut Reassembly, datagrams: &[Vec<u8>]) -> Vec<Vec<u8>> {
    datagrams
        .iter()
        .filter_map(|d| receive::<Vec<u8>>(d, id(A1), &keys(), reassembly).expect("authentic"))
        .map(|(sender, payload)| {
            assert_eq!(sender, id(P0));
            payload
        })
        .collect()
}

#[test]
fn a_message_that_fits_one_datagram_is_sent_whole() {
    let fits = vec![7u8; MAX_DATAGRAM - HEADER_LEN - TAG_LEN - 3];
    let datagrams = encode_message(id(P0), id(A1), &fits, &keys()).expect("fits");
    assert_eq!(
        datagrams,
        vec![encode(id(P0), id(A1), &fits, &keys()).unwrap()]
    );
    let (_, one_more) = message(fits.len() + 1, 0);
    assert_eq!(one_more.len(), 2);
    assert!(
        one_more
            .iter()
            .all(|d| d.len() <= MAX_DATAGRAM && &d[..2] == b"BF")
    );
}

#[test]
fn fragments_reassemble_in_any_order_and_a_duplicate_fragment_changes_nothing() {
    for len in [MAX_DATAGRAM, 3 * FRAGMENT_DATA, 5 * FRAGMENT_DATA + 1] {
        let (payload, datagrams) = message(len, len as u8);
        let n = datagrams.len();
        assert_eq!(
            n,
            fragment_count(len + 3),
            "a 3-byte length prefix, then the bytes"
        );
        let mut rng = XorShift(len as u64);
        let orders: Vec<Vec<usize>> = vec![
            (0..n).collect(),
            (0..n).rev().collect(),
            {
                let mut shuffled: Vec<usize> = (0..n).collect();
                for i in (1..n).rev() {
                    shuffled.swap(i, rng.below(i + 1));
                }
                shuffled
            },
            // Every fragment twice in a row.
            (0..n).flat_map(|i| [i, i]).collect(),
        ];
        for order in orders {
            let mut reassembly = Reassembly::default();
            let sent: Vec<Vec<u8>> = order.iter().map(|i| datagrams[*i].clone()).collect();
            let delivered = deliver(&mut reassembly, &sent);
            assert_eq!(delivered.len(), 1, "{len} bytes in the order {order:?}");
            assert_eq!(delivered[0], payload);
        }
    }
}

#[test]
fn a_message_with_a_lost_fragment_is_lost_and_evicted_in_time() {
    let limits = ReassemblyLimits::default();
    let mut reassembly = Reassembly::default();
    // Each message loses its last fragment: nothing is delivered, memory stays bounded.
    for seed in 0..3 * limits.messages_per_sender {
        let (_, datagrams) = message(2 * FRAGMENT_DATA, seed as u8);
        let delivered = deliver(&mut reassembly, &datagrams[..datagrams.len() - 1]);
        assert!(delivered.is_empty());
        assert!(reassembly.held() <= limits.bytes_per_sender);
    }
    assert!(reassembly.evicted() >= 2 * limits.messages_per_sender as u64);
    // Messages sent whole later still get through: the stale ones make room.
    let (payload, datagrams) = message(4 * FRAGMENT_DATA, 99);
    assert_eq!(deliver(&mut reassembly, &datagrams), vec![payload]);
}

/// The fragments of `datagrams` whose index is not in `lost`.
fn all_but(datagrams: &[Vec<u8>], lost: &[usize]) -> Vec<Vec<u8>> {
    let kept = datagrams
        .iter()
        .enumerate()
        .filter(|(i, _)| !lost.contains(i));
    kept.map(|(_, d)| d.clone()).collect()
}

#[test]
fn late_copies_of_completed_messages_do_not_push_out_a_message_being_resent() {
    // A large message loses three fragments; a resend loses three others. Between the two,
    // more small messages than reassembly holds arrive whole, each followed by a late copy
    // of its last fragment (the network duplicated it): copies that start messages which
    // never complete. The large message must still come together from its two sends.
    let limits = ReassemblyLimits::default();
    let mut reassembly = Reassembly::default();
    let (payload, datagrams) = message(20 * FRAGMENT_DATA, 1);
    assert!(deliver(&mut reassembly, &all_but(&datagrams, &[2, 9, 17])).is_empty());
    for seed in 0..2 * limits.messages_per_sender {
        let (small, pieces) = message(2 * FRAGMENT_DATA, 100 + seed as u8);
        assert_eq!(deliver(&mut reassembly, &pieces), vec![small]);
        assert!(
            deliver(&mut reassembly, &pieces[1..]).is_empty(),
            "a late copy"
        );
    }
    assert_eq!(
        deliver(&mut reassembly, &all_but(&datagrams, &[3, 10, 18])),
        vec![payload],
        "the first send's fragments were evicted by copies of completed messages"
    );
}

#[test]
fn a_message_being_resent_outlives_messages_that_stopped() {
    // A large message loses a fragment, and other messages lose one each and are never sent
    // again, until reassembly holds all it may; the large one is resent meanwhile. One more
    // message that stops must evict one that stopped, not the message being resent.
    let limits = ReassemblyLimits::default();
    let mut reassembly = Reassembly::default();
    let (payload, datagrams) = message(10 * FRAGMENT_DATA, 1);
    deliver(&mut reassembly, &all_but(&datagrams, &[5]));
    let stopped = |seed: usize| message(2 * FRAGMENT_DATA + 1, 100 + seed as u8).1[..2].to_vec();
    for seed in 0..limits.messages_per_sender - 1 {
        assert!(deliver(&mut reassembly, &stopped(seed)).is_empty());
    }
    assert_eq!(reassembly.evicted(), 0);
    // The resend's first fragments reach a1 before one more message that stops.
    assert!(deliver(&mut reassembly, &datagrams[..3]).is_empty());
    assert!(deliver(&mut reassembly, &stopped(99)).is_empty());
    assert_eq!(reassembly.evicted(), 1);
    assert_eq!(
        deliver(&mut reassembly, &datagrams[5..6]),
        vec![payload],
        "the message being resent was evicted before messages that stopped"
    );
}

#[test]
fn reassembly_holds_no_more_than_its_limits_per_sender() {
    let limits = ReassemblyLimits {
        bytes_per_sender: 3 * FRAGMENT_DATA,
        messages_per_sender: 2,
    };
    let mut reassembly = Reassembly::new(limits);
    for seed in 0..6u8 {
        let (_, datagrams) = message(3 * FRAGMENT_DATA, seed);
        // Two of its four fragments: incomplete.
        deliver(&mut reassembly, &datagrams[..2]);
        assert!(reassembly.held() <= limits.bytes_per_sender);
    }
    assert!(reassembly.evicted() > 0);
    // The largest message the limits allow still gets through, even after all that.
    let (payload, datagrams) = message(3 * FRAGMENT_DATA - 3, 50);
    assert_eq!(deliver(&mut reassembly, &datagrams), vec![payload]);
}

#[test]
fn a_forged_fragment_is_dropped_before_it_takes_memory() {
    let (_, datagrams) = message(2 * FRAGMENT_DATA, 1);
    let mut reassembly = Reassembly::default();
    let mut forged = datagrams[0].clone();
    forged[60] ^= 1;
    assert_eq!(
        receive::<Vec<u8>>(&forged, id(A1), &keys(), &mut reassembly),
        Err(WireError::BadMac)
    );
    let mut other_receiver = datagrams[0].clone();
    other_receiver[10] = A2 as u8;
    assert_eq!(
        receive::<Vec<u8>>(&other_receiver, id(A2), &keys(), &mut reassembly),
        Err(WireError::BadMac)
    );
    assert_eq!(
        receive::<Vec<u8>>(&datagrams[0], id(A2), &keys(), &mut reassembly),
        Err(WireError::NotForMe)
    );
    assert_eq!(reassembly.held(), 0);
}

#[test]
fn a_message_over_the_maximum_is_refused_at_encode() {
    let too_big = vec![0u8; MAX_MESSAGE];
    assert_eq!(
        encode_message(id(P0), id(A1), &too_big, &keys()),
        Err(WireError::TooLarge)
    );
    let largest = vec![0u8; MAX_MESSAGE - 4];
    let datagrams = encode_message(id(P0), id(A1), &largest, &keys()).expect("fits");
    let mut reassembly = Reassembly::default();
    assert_eq!(deliver(&mut reassembly, &datagrams), vec![largest]);
}
