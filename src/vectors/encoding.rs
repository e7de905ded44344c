//! `encoding.json`: canonical encodings and HMAC-SHA256 authenticators under published test
//! keys: values, single-decree and log PROMISEs, and datagrams exactly as the UDP runtime
//! sends them (`runtime::wire::encode` of a `ServiceMsg` under per-pair channel keys), with
//! datagrams the runtime must drop.

use super::findings::{Findings, compare, domain_auth_of};
use super::json;
use super::parse::{self, Parsed};
use super::{domain_auth, with_header};
use crate::auth::{Authenticator, HmacSha256};
use crate::log::message::encode_log_promise;
use crate::log::message::{LogMsg, LogPromise, LogProof, SlotVote};
use crate::log::value::LogValue;
use crate::message::Vote;
use crate::message::encode_promise;
use crate::runtime::wire::{self, ChannelKey, ChannelKeys, WireError};
use crate::service::command::Batch;
use crate::service::msg::{ServiceMsg, SlotValue};
use crate::types::{AcceptorId, Cluster, Round, Value};
use hmac::{Hmac, Mac as _};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use stateright::actor::Id;

/// The cluster of the datagram examples: 4 acceptors (ids 0-3), 2 proposers (4, 5) and one
/// client (6).
fn cluster() -> Cluster {
    Cluster::new(1, 2)
}

/// The channel key of the pair `{a, b}`: SHA-256 of `"BPFP test channel key"`, then the
/// smaller id and the larger one (u32 BE each). Published in the file; test keys only.
pub fn channel_key(a: usize, b: usize) -> Vec<u8> {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    let mut hash = Sha256::new();
    hash.update(b"BPFP test channel key");
    hash.update((low as u32).to_be_bytes());
    hash.update((high as u32).to_be_bytes());
    hash.finalize().to_vec()
}

/// The pairs of the datagram examples.
const PAIRS: [(usize, usize); 6] = [(0, 1), (0, 3), (1, 4), (2, 5), (3, 4), (4, 5)];

fn channel_keys() -> ChannelKeys {
    ChannelKeys::from_map(PAIRS.map(|(a, b)| ((Id::from(a), Id::from(b)), channel_key(a, b))))
        .expect("the test keys are long enough")
}

pub fn document() -> Json {
    let auth = domain_auth();
    let values: Vec<Json> = ["A", "B", "Z", "", "AB", "héllo"]
        .into_iter()
        .map(|v| {
            let mut out = Vec::new();
            v.to_string().encode(&mut out);
            json!({"value": v, "encoding": json::bytes(&out)})
        })
        .collect();
    let promises: Vec<Json> = single_decree_promises()
        .into_iter()
        .map(|(round, a, vote)| {
            let encoding = encode_promise(round, AcceptorId(a), vote.as_ref());
            json!({
                "round": round,
                "acceptor": a,
                "last_vote": json::vote(vote.as_ref()),
                "encoding": json::bytes(&encoding),
                "mac": json::bytes(&auth.authenticate(&encoding).0),
            })
        })
        .collect();
    let log_promises: Vec<Json> = log_promises()
        .into_iter()
        .map(|(round, a, d, votes)| {
            let encoding = encode_log_promise(round, AcceptorId(a), d, &votes);
            json!({
                "round": round,
                "acceptor": a,
                "decided_prefix": d,
                "votes": votes.iter().map(|v| json!({
                    "slot": v.slot, "round": v.vote.round, "value": json::value(&v.vote.value),
                })).collect::<Vec<_>>(),
                "encoding": json::bytes(&encoding),
                "mac": json::bytes(&auth.authenticate(&encoding).0),
            })
        })
        .collect();
    let keys = channel_keys();
    let datagrams: Vec<Json> = datagram_examples()
        .into_iter()
        .map(|(description, from, to, msg)| {
            let datagram = wire::encode(Id::from(from), Id::from(to), &msg, &keys)
                .expect("every example pair has a key");
            let payload = postcard::to_stdvec(&msg).expect("postcard encodes");
            json!({
                "description": description,
                "sender": from,
                "receiver": to,
                "message": service_message(&msg),
                "payload": json::bytes(&payload),
                "tag": json::bytes(&datagram[datagram.len() - wire::TAG_LEN..]),
                "datagram": json::bytes(&datagram),
            })
        })
        .collect();
    let rejected: Vec<Json> = rejected_datagrams(&keys)
        .into_iter()
        .map(|(description, receiver, datagram)| {
            let error = match wire::decode::<ServiceMsg>(&datagram, Id::from(receiver), &keys) {
                Ok(_) => "accepted".to_string(),
                Err(e) => wire_error_name(&e).to_string(),
            };
            json!({
                "description": description,
                "receiver": receiver,
                "datagram": json::bytes(&datagram),
                "error": error,
            })
        })
        .collect();
    let c = cluster();
    let mut doc = with_header(json::cluster_params(&c), "encoding");
    doc["node_ids"] = json!({
        "acceptors": (0..c.acceptors()).collect::<Vec<_>>(),
        "proposers": (c.acceptors()..c.acceptors() + c.proposers).collect::<Vec<_>>(),
        "clients": [c.acceptors() + c.proposers],
    });
    doc["channel_keys"] = Json::Array(
        PAIRS
            .iter()
            .map(|&(a, b)| json!({"between": [a, b], "key": json::bytes(&channel_key(a, b))}))
            .collect(),
    );
    doc["values"] = Json::Array(values);
    doc["promises"] = Json::Array(promises);
    doc["log_promises"] = Json::Array(log_promises);
    doc["datagrams"] = Json::Array(datagrams);
    doc["rejected_datagrams"] = Json::Array(rejected);
    doc
}

fn vote(round: Round, value: &str) -> Option<Vote<String>> {
    Some(Vote {
        round,
        value: value.to_string(),
    })
}

fn single_decree_promises() -> Vec<(Round, u16, Option<Vote<String>>)> {
    vec![
        (1, 0, None),
        (1, 1, vote(0, "A")),
        (2, 2, vote(1, "B")),
        (2, 3, vote(0, "Z")),
        (7, 0, vote(3, "AB")),
        (3, 1, vote(2, "")),
        (Round::MAX, 3, vote(Round::MAX - 1, "héllo")),
    ]
}

fn slot_vote<V>(slot: u64, round: Round, value: V) -> SlotVote<V> {
    SlotVote {
        slot,
        vote: Vote { round, value },
    }
}

fn log_promises() -> Vec<(Round, u16, u64, Vec<SlotVote<String>>)> {
    vec![
        (1, 0, 0, Vec::new()),
        (1, 1, 0, vec![slot_vote(0, 0, "A".to_string())]),
        (
            2,
            2,
            3,
            vec![
                slot_vote(3, 0, "A".to_string()),
                slot_vote(5, 1, "B".to_string()),
            ],
        ),
    ]
}

/// A log PROMISE of the service, signed under the test domain key.
fn service_promise() -> LogPromise<SlotValue> {
    LogPromise::signed(
        &domain_auth(),
        1,
        AcceptorId(2),
        0,
        vec![slot_vote(0, 0, LogValue::Noop)],
    )
}

fn datagram_examples() -> Vec<(&'static str, usize, usize, ServiceMsg)> {
    let empty_batch = || LogValue::Batch(Batch::noop());
    vec![
        (
            "TRUSTCHANGE(1), acceptor 0 to acceptor 1",
            0,
            1,
            ServiceMsg::Log(LogMsg::TrustChange { round: 1 }),
        ),
        (
            "LEARN(0, slot 0, noop), acceptor 1 to proposer 0",
            1,
            4,
            ServiceMsg::Log(LogMsg::Learn {
                round: 0,
                slot: 0,
                value: LogValue::Noop,
            }),
        ),
        (
            "PROMISE(1, acceptor 2, d = 0, [slot 0: noop@0]), acceptor 2 to proposer 1",
            2,
            5,
            ServiceMsg::Log(LogMsg::Promise(service_promise())),
        ),
        (
            "ACCEPT(0, slot 1, empty batch) with no proof, proposer 0 to acceptor 3",
            4,
            3,
            ServiceMsg::Log(LogMsg::Accept {
                round: 0,
                slot: 1,
                value: empty_batch(),
                proof: LogProof::none(),
            }),
        ),
        (
            "ACCEPT(1, slot 0, noop) with a one-PROMISE proof, proposer 1 to acceptor 2",
            5,
            2,
            ServiceMsg::Log(LogMsg::Accept {
                round: 1,
                slot: 0,
                value: LogValue::Noop,
                proof: LogProof::from(vec![service_promise()]),
            }),
        ),
        (
            "CATCHUP(from slot 2), acceptor 3 to acceptor 0",
            3,
            0,
            ServiceMsg::CatchUp { from: 2 },
        ),
    ]
}

/// Datagrams the receiver drops, each for one reason.
fn rejected_datagrams(keys: &ChannelKeys) -> Vec<(&'static str, usize, Vec<u8>)> {
    let msg = ServiceMsg::Log(LogMsg::TrustChange { round: 1 });
    let good = wire::encode(Id::from(0), Id::from(1), &msg, keys).expect("a key");
    let mut flipped_tag = good.clone();
    *flipped_tag.last_mut().expect("not empty") ^= 0x01;
    let mut flipped_payload = good.clone();
    flipped_payload[wire::HEADER_LEN] ^= 0x01;
    let mut other_version = good.clone();
    other_version[2] = 2;
    // A valid datagram from 0 to 1, but tagged with the key of the pair {0, 3}.
    let mut wrong_key = good[..good.len() - wire::TAG_LEN].to_vec();
    let tag = ChannelKey::new(&channel_key(0, 3))
        .expect("long")
        .tag(&wrong_key);
    wrong_key.extend_from_slice(&tag);
    // Authentic, but the payload's enum tag names no ServiceMsg variant.
    let mut malformed = good[..wire::HEADER_LEN].to_vec();
    malformed.push(0x7f);
    let tag = ChannelKey::new(&channel_key(0, 1))
        .expect("long")
        .tag(&malformed);
    malformed.extend_from_slice(&tag);
    vec![
        ("the last byte of the tag flipped", 1, flipped_tag),
        ("the first payload byte flipped", 1, flipped_payload),
        ("version byte 02", 1, other_version),
        ("tagged with another pair's key", 1, wrong_key),
        (
            "a datagram for acceptor 1 delivered to acceptor 0",
            0,
            good.clone(),
        ),
        (
            "a sender (2) with no key shared with the receiver (1)",
            1,
            {
                let mut d = good[..wire::HEADER_LEN].to_vec();
                d[3..7].copy_from_slice(&2u32.to_be_bytes());
                d.extend_from_slice(&good[wire::HEADER_LEN..]);
                d
            },
        ),
        (
            "42 bytes, shorter than a header and a tag",
            1,
            good[..42].to_vec(),
        ),
        (
            "an authentic datagram whose payload is no message",
            1,
            malformed,
        ),
    ]
}

pub fn wire_error_name(e: &WireError) -> &'static str {
    match e {
        WireError::TooShort => "too-short",
        WireError::TooLarge => "too-large",
        WireError::BadVersion => "bad-version",
        WireError::NotForMe => "not-for-me",
        WireError::UnknownSender => "unknown-sender",
        WireError::BadMac => "bad-mac",
        WireError::Malformed(_) => "malformed",
        WireError::NoChannelKey => "no-channel-key",
        WireError::BadFragment => "bad-fragment",
    }
}

fn slot_value(v: &SlotValue) -> Json {
    match v {
        LogValue::Noop => json!({"kind": "noop"}),
        LogValue::Batch(b) => json!({"kind": "batch", "commands": b.len()}),
    }
}

fn log_promise(p: &LogPromise<SlotValue>) -> Json {
    json::log_promise(p, slot_value)
}

/// The messages of the examples, field by field (other kinds are not in the vectors).
pub fn service_message(msg: &ServiceMsg) -> Json {
    match msg {
        ServiceMsg::Log(LogMsg::TrustChange { round }) => {
            json!({"type": "log-trustchange", "round": round})
        }
        ServiceMsg::Log(LogMsg::Learn { round, slot, value }) => {
            json!({"type": "log-learn", "round": round, "slot": slot, "value": slot_value(value)})
        }
        ServiceMsg::Log(LogMsg::Promise(p)) => {
            let mut out = log_promise(p);
            out["type"] = json!("log-promise");
            out
        }
        ServiceMsg::Log(LogMsg::Accept {
            round,
            slot,
            value,
            proof,
        }) => json!({
            "type": "log-accept",
            "round": round,
            "slot": slot,
            "value": slot_value(value),
            "proof": proof.iter().map(log_promise).collect::<Vec<_>>(),
        }),
        ServiceMsg::CatchUp { from } => json!({"type": "catch-up", "from": from}),
        _ => json!({"type": "other"}),
    }
}

/// Plain HMAC-SHA256, independent of the authenticators under test.
fn plain_hmac(key: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(bytes);
    mac.finalize().into_bytes().to_vec()
}

fn expect_bytes(findings: &mut Findings, id: &str, what: &str, expected: &[u8], actual: &[u8]) {
    compare(
        findings,
        id,
        what,
        &json::bytes(expected),
        &json::bytes(actual),
    );
}

/// Checks a stored PROMISE entry's `encoding` and `mac` against `encoding`, its mac under
/// the project's authenticator, and a plain HMAC-SHA256 under `key`.
fn expect_authenticated(
    findings: &mut Findings,
    id: &str,
    entry: &Json,
    encoding: &[u8],
    auth: &HmacSha256,
    key: &[u8],
) -> Parsed<()> {
    let expected_mac = parse::hex_field(entry, "mac")?;
    expect_bytes(
        findings,
        id,
        "encoding",
        &parse::hex_field(entry, "encoding")?,
        encoding,
    );
    expect_bytes(
        findings,
        id,
        "mac",
        &expected_mac,
        &auth.authenticate(encoding).0,
    );
    expect_bytes(
        findings,
        id,
        "plain HMAC",
        &expected_mac,
        &plain_hmac(key, encoding),
    );
    Ok(())
}

/// Checks every entry of a stored `encoding.json`.
pub fn verify(doc: &Json, findings: &mut Findings) -> Parsed<()> {
    let auth: HmacSha256 = domain_auth_of(doc)?;
    let key = parse::hex_field(doc, "domain_key")?;
    for (i, v) in parse::array_field(doc, "values")?.iter().enumerate() {
        let mut out = Vec::new();
        parse::value(v, "value")?.encode(&mut out);
        expect_bytes(
            findings,
            &format!("values[{i}]"),
            "encoding",
            &parse::hex_field(v, "encoding")?,
            &out,
        );
    }
    for (i, p) in parse::array_field(doc, "promises")?.iter().enumerate() {
        let id = format!("promises[{i}]");
        let last_vote = parse::vote(p.get("last_vote").unwrap_or(&Json::Null))?;
        let acceptor = AcceptorId(parse::u16_field(p, "acceptor")?);
        let encoding = encode_promise(
            parse::round_field(p, "round")?,
            acceptor,
            last_vote.as_ref(),
        );
        expect_authenticated(findings, &id, p, &encoding, &auth, &key)?;
    }
    for (i, p) in parse::array_field(doc, "log_promises")?.iter().enumerate() {
        let id = format!("log_promises[{i}]");
        let votes = parse::array_field(p, "votes")?
            .iter()
            .map(|v| {
                Ok(slot_vote(
                    parse::u64_field(v, "slot")?,
                    parse::round_field(v, "round")?,
                    parse::value(v, "value")?,
                ))
            })
            .collect::<Parsed<Vec<_>>>()?;
        let encoding = encode_log_promise(
            parse::round_field(p, "round")?,
            AcceptorId(parse::u16_field(p, "acceptor")?),
            parse::u64_field(p, "decided_prefix")?,
            &votes,
        );
        expect_authenticated(findings, &id, p, &encoding, &auth, &key)?;
    }
    let mut keys = ChannelKeys::new();
    for k in parse::array_field(doc, "channel_keys")? {
        let between = parse::array_field(k, "between")?;
        let ids: Vec<usize> = between
            .iter()
            .filter_map(|b| b.as_u64())
            .map(|b| b as usize)
            .collect();
        let [a, b] = ids[..] else {
            return Err(format!("a channel key is between two ids: {k}"));
        };
        keys.insert(Id::from(a), Id::from(b), &parse::hex_field(k, "key")?)
            .map_err(|e| e.to_string())?;
    }
    for (i, d) in parse::array_field(doc, "datagrams")?.iter().enumerate() {
        let id = format!("datagrams[{i}]");
        let datagram = parse::hex_field(d, "datagram")?;
        let sender = parse::u64_field(d, "sender")? as usize;
        let receiver = parse::u64_field(d, "receiver")? as usize;
        match wire::decode::<ServiceMsg>(&datagram, Id::from(receiver), &keys) {
            Err(e) => findings.push(format!("{id}: the receiver drops it: {e}")),
            Ok((from, msg)) => {
                compare(
                    findings,
                    &id,
                    "sender",
                    &json!(sender),
                    &json!(usize::from(from)),
                );
                let expected = d.get("message").unwrap_or(&Json::Null);
                compare(findings, &id, "message", expected, &service_message(&msg));
                let payload = postcard::to_stdvec(&msg).map_err(|e| e.to_string())?;
                expect_bytes(
                    findings,
                    &id,
                    "payload",
                    &parse::hex_field(d, "payload")?,
                    &payload,
                );
                let again = wire::encode(Id::from(sender), Id::from(receiver), &msg, &keys)
                    .map_err(|e| e.to_string())?;
                expect_bytes(findings, &id, "datagram", &datagram, &again);
                let signed = &datagram[..datagram.len().saturating_sub(wire::TAG_LEN)];
                let pair_key = channel_key_of(doc, sender, receiver)?;
                expect_bytes(
                    findings,
                    &id,
                    "tag",
                    &parse::hex_field(d, "tag")?,
                    &plain_hmac(&pair_key, signed),
                );
            }
        }
    }
    for (i, d) in parse::array_field(doc, "rejected_datagrams")?
        .iter()
        .enumerate()
    {
        let id = format!("rejected_datagrams[{i}]");
        let datagram = parse::hex_field(d, "datagram")?;
        let receiver = parse::u64_field(d, "receiver")? as usize;
        let got = match wire::decode::<ServiceMsg>(&datagram, Id::from(receiver), &keys) {
            Ok(_) => "accepted",
            Err(e) => wire_error_name(&e),
        };
        compare(
            findings,
            &id,
            "error",
            d.get("error").unwrap_or(&Json::Null),
            &json!(got),
        );
    }
    Ok(())
}

/// The key the file gives for the pair `{a, b}`.
fn channel_key_of(doc: &Json, a: usize, b: usize) -> Parsed<Vec<u8>> {
    for k in parse::array_field(doc, "channel_keys")? {
        let between: Vec<u64> = parse::array_field(k, "between")?
            .iter()
            .filter_map(Json::as_u64)
            .collect();
        if between == [a as u64, b as u64] || between == [b as u64, a as u64] {
            return parse::hex_field(k, "key");
        }
    }
    Err(format!("no channel key for {{{a}, {b}}}"))
}
