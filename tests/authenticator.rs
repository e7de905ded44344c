//! HMAC-SHA256 PROMISE authenticators (PROTOCOL.md §3, src/auth.rs): the canonical encoding,
//! known vectors, verification, key parsing and `Mac::FORGED`.

use bp_fast_paxos::auth::{Authenticator, HmacSha256, Mac};
use bp_fast_paxos::message::encode_promise;
use bp_fast_paxos::message::{Promise, Vote};
use bp_fast_paxos::types::{AcceptorId, Round, Value};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use std::collections::BTreeSet;
use std::fmt;

/// A test value with a multi-byte, length-prefixed encoding: `u32` BE length, then the bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Val(&'static str);

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Value for Val {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.0.len() as u32).to_be_bytes());
        out.extend_from_slice(self.0.as_bytes());
    }
}

/// The key `00 01 02 … 1f`.
const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn key_bytes() -> Vec<u8> {
    (0u8..32).collect()
}

fn auth() -> HmacSha256 {
    HmacSha256::from_hex(KEY_HEX).expect("a valid 32-byte key")
}

fn other_auth() -> HmacSha256 {
    HmacSha256::new(&[0x5a; 32]).expect("a valid 32-byte key")
}

fn vote(round: Round, value: &'static str) -> Option<Vote<Val>> {
    Some(Vote {
        round,
        value: Val(value),
    })
}

/// HMAC-SHA256 computed directly with the `hmac`/`sha2` crates, not through `auth.rs`.
fn reference_hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// `b"BPFP/PROMISE/1"`, byte by byte.
const TAG: [u8; 14] = [
    0x42, 0x50, 0x46, 0x50, 0x2f, 0x50, 0x52, 0x4f, 0x4d, 0x49, 0x53, 0x45, 0x2f, 0x31,
];

fn with_tag(rest: &[u8]) -> Vec<u8> {
    let mut out = TAG.to_vec();
    out.extend_from_slice(rest);
    out
}

fn hex32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Known vectors: the encoding and the digest are pinned.
// ---------------------------------------------------------------------------------------------

#[test]
fn hmac_sha256_matches_rfc4231_test_case_1() {
    // RFC 4231 test case 1: key = 0x0b * 20, data = "Hi There".
    let auth = HmacSha256::new(&[0x0b; 20]).unwrap();
    let expected = hex32("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    assert_eq!(auth.authenticate(b"Hi There"), Mac(expected));
    assert!(auth.verify(b"Hi There", &Mac(expected)));
    assert!(!auth.verify(b"Hi there", &Mac(expected)));
}

#[test]
fn encoding_with_a_vote_is_pinned_byte_by_byte() {
    // PROMISE(r = 7, a = AcceptorId(2), vrnd = 5, vval = "Hi").
    let expected = with_tag(&[
        0x00, 0x00, 0x00, 0x07, // r, u32 BE
        0x00, 0x02, // a, u16 BE
        0x01, // a vote follows
        0x00, 0x00, 0x00, 0x05, // vrnd, u32 BE
        0x00, 0x00, 0x00, 0x02, b'H', b'i', // the value's own encoding
    ]);
    assert_eq!(
        hex::encode(&expected),
        "425046502f50524f4d4953452f310000000700020100000005000000024869"
    );
    let last = vote(5, "Hi");
    assert_eq!(encode_promise(7, AcceptorId(2), last.as_ref()), expected);

    let reference = reference_hmac(&key_bytes(), &expected);
    assert_eq!(
        reference,
        hex32("1e39cbe14818e7851787edf74be2add4905fb43c23e0a6771b5bf3a7aba08f2d")
    );
    let promise = Promise::signed(&auth(), 7, AcceptorId(2), last.clone());
    assert_eq!(promise.mac, Mac(reference));
    assert_eq!(promise.round, 7);
    assert_eq!(promise.acceptor, AcceptorId(2));
    assert_eq!(promise.last_vote, last);
    assert_eq!(auth().authenticate(&expected), Mac(reference));
    assert!(promise.is_authentic(&auth()));
}

#[test]
fn encoding_without_a_vote_is_pinned_byte_by_byte() {
    // PROMISE(r = 7, a = AcceptorId(2), no vote).
    let expected = with_tag(&[0x00, 0x00, 0x00, 0x07, 0x00, 0x02, 0x00]);
    assert_eq!(encode_promise::<Val>(7, AcceptorId(2), None), expected);
    let reference = reference_hmac(&key_bytes(), &expected);
    assert_eq!(
        reference,
        hex32("92bcfd626522730c1e6048b410f83f2b693d091627b13dda03e93a7ff12edff5")
    );
    let promise = Promise::<Val>::signed(&auth(), 7, AcceptorId(2), None);
    assert_eq!(promise.mac, Mac(reference));
    assert!(promise.is_authentic(&auth()));
}

#[test]
fn encoding_is_big_endian_in_every_field() {
    // Distinct bytes in every position, so a little-endian or truncated field shows.
    let last = vote(0x0a0b_0c0d, "");
    let expected = with_tag(&[
        0x01, 0x02, 0x03, 0x04, // r
        0x05, 0x06, // a
        0x01, // a vote follows
        0x0a, 0x0b, 0x0c, 0x0d, // vrnd
        0x00, 0x00, 0x00, 0x00, // the empty value
    ]);
    assert_eq!(
        encode_promise(0x0102_0304, AcceptorId(0x0506), last.as_ref()),
        expected
    );
    let promise = Promise::signed(&auth(), 0x0102_0304, AcceptorId(0x0506), last);
    assert_eq!(
        promise.mac,
        Mac(hex32(
            "7efb4a968d7132b05bed8751d7068682aebf606b52b2406ac030d9553d6dee47"
        ))
    );
    assert_eq!(promise.mac, Mac(reference_hmac(&key_bytes(), &expected)));
}

#[test]
fn encoding_is_injective_over_a_small_domain() {
    let mut seen = BTreeSet::new();
    let mut count = 0;
    let values = ["", "A", "B", "AB", "\u{0}"];
    for round in [0, 1, 2, 256, u32::MAX] {
        for acceptor in [0, 1, 3, 256, u16::MAX] {
            let mut votes: Vec<Option<Vote<Val>>> = vec![None];
            for vrnd in [0, 1, 256] {
                for value in values {
                    votes.push(vote(vrnd, value));
                }
            }
            for last in &votes {
                count += 1;
                seen.insert(encode_promise(round, AcceptorId(acceptor), last.as_ref()));
            }
        }
    }
    assert_eq!(seen.len(), count, "two PROMISEs share an encoding");
}

// ---------------------------------------------------------------------------------------------
// Verification.
// ---------------------------------------------------------------------------------------------

#[test]
fn verify_accepts_the_right_mac() {
    let encoded = encode_promise(3, AcceptorId(1), vote(2, "A").as_ref());
    let mac = auth().authenticate(&encoded);
    assert!(auth().verify(&encoded, &mac));
    assert_ne!(mac, Mac::FORGED);
}

#[test]
fn verify_rejects_every_single_flipped_bit() {
    let encoded = encode_promise(3, AcceptorId(1), vote(2, "A").as_ref());
    let mac = auth().authenticate(&encoded);
    for byte in 0..32 {
        for bit in 0..8 {
            let mut flipped = mac;
            flipped.0[byte] ^= 1 << bit;
            assert!(
                !auth().verify(&encoded, &flipped),
                "accepted a mac with bit {bit} of byte {byte} flipped"
            );
        }
    }
}

#[test]
fn verify_rejects_a_flipped_bit_in_the_message() {
    let encoded = encode_promise(3, AcceptorId(1), vote(2, "A").as_ref());
    let mac = auth().authenticate(&encoded);
    for i in 0..encoded.len() {
        let mut altered = encoded.clone();
        altered[i] ^= 0x01;
        assert!(!auth().verify(&altered, &mac), "byte {i} is not covered");
    }
    // Truncation and extension are not accepted either.
    assert!(!auth().verify(&encoded[..encoded.len() - 1], &mac));
    let mut longer = encoded.clone();
    longer.push(0);
    assert!(!auth().verify(&longer, &mac));
}

#[test]
fn a_different_key_neither_verifies_nor_produces_the_same_mac() {
    let encoded = encode_promise(3, AcceptorId(1), vote(2, "A").as_ref());
    let mac = auth().authenticate(&encoded);
    assert!(!other_auth().verify(&encoded, &mac));
    assert_ne!(other_auth().authenticate(&encoded), mac);

    let promise = Promise::signed(&other_auth(), 3, AcceptorId(1), vote(2, "A"));
    assert!(promise.is_authentic(&other_auth()));
    assert!(!promise.is_authentic(&auth()));

    // A key that differs in its last byte only.
    let mut near = key_bytes();
    near[31] ^= 1;
    let near = HmacSha256::new(&near).unwrap();
    assert!(!near.verify(&encoded, &mac));
}

#[test]
fn altering_any_authenticated_field_of_a_promise_breaks_its_mac() {
    let original = Promise::signed(&auth(), 3, AcceptorId(1), vote(2, "A"));
    assert!(original.is_authentic(&auth()));

    let alterations: Vec<(&str, Promise<Val>)> = vec![
        (
            "round",
            Promise {
                round: 4,
                ..original.clone()
            },
        ),
        (
            "acceptor",
            Promise {
                acceptor: AcceptorId(2),
                ..original.clone()
            },
        ),
        (
            "vote round",
            Promise {
                last_vote: vote(1, "A"),
                ..original.clone()
            },
        ),
        (
            "vote value",
            Promise {
                last_vote: vote(2, "B"),
                ..original.clone()
            },
        ),
        (
            "vote value, longer",
            Promise {
                last_vote: vote(2, "AA"),
                ..original.clone()
            },
        ),
        (
            "vote removed",
            Promise {
                last_vote: None,
                ..original.clone()
            },
        ),
    ];
    for (what, altered) in alterations {
        assert_ne!(altered, original, "{what}: the alteration changed nothing");
        assert!(
            !altered.is_authentic(&auth()),
            "{what}: the altered PROMISE verifies"
        );
    }

    // And adding a vote to a PROMISE signed without one.
    let no_vote = Promise::<Val>::signed(&auth(), 3, AcceptorId(1), None);
    assert!(no_vote.is_authentic(&auth()));
    let added = Promise {
        last_vote: vote(2, "A"),
        ..no_vote
    };
    assert!(!added.is_authentic(&auth()));
}

#[test]
fn signed_promises_of_different_fields_get_different_macs() {
    let base = Promise::signed(&auth(), 3, AcceptorId(1), vote(2, "A"));
    let others = [
        Promise::signed(&auth(), 4, AcceptorId(1), vote(2, "A")),
        Promise::signed(&auth(), 3, AcceptorId(0), vote(2, "A")),
        Promise::signed(&auth(), 3, AcceptorId(1), vote(1, "A")),
        Promise::signed(&auth(), 3, AcceptorId(1), vote(2, "B")),
        Promise::signed(&auth(), 3, AcceptorId(1), None),
    ];
    for other in &others {
        assert_ne!(other.mac, base.mac, "{other:?}");
        assert!(other.is_authentic(&auth()));
        // A valid mac moved onto other fields does not verify.
        let moved = Promise {
            mac: base.mac,
            ..other.clone()
        };
        assert!(!moved.is_authentic(&auth()));
    }
}

// ---------------------------------------------------------------------------------------------
// Mac::FORGED.
// ---------------------------------------------------------------------------------------------

#[test]
fn forged_mac_is_all_zeroes_and_never_verifies() {
    assert_eq!(Mac::FORGED, Mac([0; 32]));
    let keys = [auth(), other_auth(), HmacSha256::new(&[0; 16]).unwrap()];
    for key in &keys {
        for round in 0..4 {
            for acceptor in 0..4 {
                for last in [None, vote(0, "A"), vote(round.max(1) - 1, "B")] {
                    let promise = Promise {
                        round,
                        acceptor: AcceptorId(acceptor),
                        last_vote: last.clone(),
                        mac: Mac::FORGED,
                    };
                    assert!(!promise.is_authentic(key), "{promise:?}");
                    let encoded = encode_promise(round, AcceptorId(acceptor), last.as_ref());
                    assert!(!key.verify(&encoded, &Mac::FORGED));
                }
            }
        }
        assert!(!key.verify(b"", &Mac::FORGED));
    }
}

// ---------------------------------------------------------------------------------------------
// Keys.
// ---------------------------------------------------------------------------------------------

#[test]
fn valid_hex_keys_parse() {
    // 32 bytes, lower and upper case, and surrounding whitespace.
    assert!(HmacSha256::from_hex(KEY_HEX).is_ok());
    assert!(HmacSha256::from_hex(&KEY_HEX.to_uppercase()).is_ok());
    assert!(HmacSha256::from_hex(&format!("  {KEY_HEX}\n")).is_ok());
    // 16 bytes is the minimum.
    assert!(HmacSha256::from_hex(&"ab".repeat(16)).is_ok());
    assert!(HmacSha256::new(&[7; 16]).is_ok());
    // A long key is fine too (HMAC hashes it).
    assert!(HmacSha256::from_hex(&"cd".repeat(100)).is_ok());
}

#[test]
fn a_hex_key_means_its_bytes() {
    let from_hex = HmacSha256::from_hex(KEY_HEX).unwrap();
    let from_bytes = HmacSha256::new(&key_bytes()).unwrap();
    let upper = HmacSha256::from_hex(&KEY_HEX.to_uppercase()).unwrap();
    let encoded = encode_promise(1, AcceptorId(0), vote(0, "A").as_ref());
    let mac = from_bytes.authenticate(&encoded);
    assert_eq!(from_hex.authenticate(&encoded), mac);
    assert_eq!(upper.authenticate(&encoded), mac);
    assert_eq!(mac, Mac(reference_hmac(&key_bytes(), &encoded)));
}

#[test]
fn too_short_keys_are_rejected() {
    assert!(HmacSha256::new(&[]).is_err());
    assert!(HmacSha256::new(&[1; 15]).is_err());
    assert!(HmacSha256::from_hex("").is_err());
    assert!(HmacSha256::from_hex("   ").is_err());
    assert!(HmacSha256::from_hex(&"ab".repeat(15)).is_err());
    assert!(HmacSha256::from_hex("00").is_err());
}

#[test]
fn bad_hex_is_rejected() {
    let cases = [
        ("non-hex digits", "zz".repeat(32)),
        ("odd length", format!("{KEY_HEX}0")),
        ("0x prefix", format!("0x{KEY_HEX}")),
        (
            "inner space",
            format!("{} {}", &KEY_HEX[..32], &KEY_HEX[32..]),
        ),
        ("non-ascii", "é".repeat(32)),
    ];
    for (what, key) in cases {
        let err = HmacSha256::from_hex(&key);
        assert!(err.is_err(), "{what}: accepted");
        let message = err.unwrap_err().to_string();
        assert!(message.starts_with("bad key"), "{what}: {message}");
    }
}

#[test]
fn debug_never_prints_the_key() {
    let printed = format!("{:?}", auth());
    assert_eq!(printed, "HmacSha256(..)");
    assert!(!printed.contains("0102"));
}
