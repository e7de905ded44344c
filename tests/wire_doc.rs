//! WIRE.md, checked against the code: every hex example in it (the fences
//! ```` ```hex name=… ```` ), its tables of enum variant indices, constants and node ids, the
//! order of the checks on receipt, and the durable file's layout. A change to the format makes
//! one of these fail and names the block of WIRE.md that no longer holds.
//!
//! To print the current bytes of every example (to update WIRE.md after a deliberate change):
//! `cargo test --release --test wire_doc -- --ignored --nocapture print_examples`.

mod common;
use common::TempDir;

use bp_fast_paxos::auth::{Authenticator, HmacSha256, MIN_KEY_BYTES};
use bp_fast_paxos::cluster_config::{ClusterConfig, GENERATED_KEY_BYTES, NodeId};
use bp_fast_paxos::durable::snapshot::encode_snapshot;
use bp_fast_paxos::durable::{self, DurableLog, DurableOptions, MAX_FILE_LEN, MAX_RECORD_LEN};
use bp_fast_paxos::learner::Decision;
use bp_fast_paxos::log::acceptor::LogDurableState;
use bp_fast_paxos::log::changes::{AcceptorRecord, Change, diff, fold};
use bp_fast_paxos::log::message::encode_log_promise;
use bp_fast_paxos::log::message::{LogMsg, LogPromise, LogProof, ProofDigest, SlotVote};
use bp_fast_paxos::log::value::LogValue;
use bp_fast_paxos::message::Vote;
use bp_fast_paxos::message::encode_promise;
use bp_fast_paxos::runtime::floors::{self, FreshnessFloors};
use bp_fast_paxos::runtime::wire::{
    ChannelKeys, FRAGMENT_DATA, FRAGMENT_HEADER_LEN, HEADER_LEN, MAGIC, MAX_DATAGRAM, MAX_MESSAGE,
    Reassembly, ReassemblyLimits, TAG_LEN, VERSION, WireError, decode, encode, encode_message,
    receive,
};
use bp_fast_paxos::service::command::{Batch, Command, Op, encode_command};
use bp_fast_paxos::service::kv::{KvStore, Reply};
use bp_fast_paxos::service::msg::{ServiceMsg, SlotValue};
use bp_fast_paxos::service::replica::CATCH_UP_BYTES;
use bp_fast_paxos::service::store::ReplicaSnapshot;
use bp_fast_paxos::service::transfer::{Part, SNAPSHOT_PART_BYTES};
use bp_fast_paxos::types::{AcceptorId, ClientId, Value};
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use stateright::actor::Id;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// The fixtures of WIRE.md's examples: a cluster of 4 acceptors, 2 proposers and 2 clients.
// ---------------------------------------------------------------------------------------------

/// Acceptor 0 and proposer 0 by stateright id (n = 4, m = 2).
const ACCEPTOR_0: usize = 0;
const PROPOSER_0: usize = 4;

/// 32 bytes counting up from `first`: 0x01..=0x20 is the channel key of the examples.
fn counting_key(first: u8) -> Vec<u8> {
    (0..32u8).map(|i| first + i).collect()
}

fn channel_key() -> Vec<u8> {
    counting_key(0x01)
}

fn command_key() -> Vec<u8> {
    counting_key(0x21)
}

fn domain_key() -> Vec<u8> {
    counting_key(0x41)
}

fn keys() -> ChannelKeys {
    ChannelKeys::from_map([((Id::from(ACCEPTOR_0), Id::from(PROPOSER_0)), channel_key())])
        .expect("the example key is valid")
}

fn domain() -> HmacSha256 {
    HmacSha256::new(&domain_key()).expect("the example key is valid")
}

fn put() -> Op {
    Op::Put {
        key: "k".into(),
        value: "v".into(),
    }
}

/// Client 0's command 1, `Put k = v`, signed with the example command key.
fn command() -> Command {
    Command::signed(ClientId(0), 1, put(), &command_key())
}

fn one_command_batch() -> SlotValue {
    LogValue::Batch(Batch::from(vec![command()]))
}

fn learn() -> ServiceMsg {
    ServiceMsg::Log(LogMsg::Learn {
        round: 1,
        slot: 2,
        value: LogValue::Batch(Batch::from(vec![])),
    })
}

/// The LEARN of WIRE.md's fragment example: one put of 64 912 bytes, so that the payload is
/// 64 958 bytes, one more than a whole datagram carries.
fn large_learn() -> ServiceMsg {
    let put = Op::Put {
        key: "k".into(),
        value: "v".repeat(64_912),
    };
    let command = Command::signed(ClientId(0), 1, put, &command_key());
    ServiceMsg::Log(LogMsg::Learn {
        round: 1,
        slot: 2,
        value: LogValue::Batch(Batch::from(vec![command])),
    })
}

/// The fragments of [`large_learn`] from acceptor 0 to proposer 0.
fn large_learn_fragments() -> Vec<Vec<u8>> {
    let (a0, p0) = (Id::from(ACCEPTOR_0), Id::from(PROPOSER_0));
    encode_message(a0, p0, &large_learn(), &keys()).expect("encodes")
}

fn accept() -> ServiceMsg {
    ServiceMsg::Log(LogMsg::Accept {
        round: 0,
        slot: 3,
        value: one_command_batch(),
        proof: LogProof::none(),
    })
}

/// `PROMISE(1, a3, d = 5, [s5: noop@0, s6: no-op batch@0])` under the example domain key.
fn promise() -> LogPromise<SlotValue> {
    let votes = vec![
        SlotVote {
            slot: 5,
            vote: Vote {
                round: 0,
                value: LogValue::Noop,
            },
        },
        SlotVote {
            slot: 6,
            vote: Vote {
                round: 0,
                value: LogValue::Batch(Batch::noop()),
            },
        },
    ];
    LogPromise::signed(&domain(), 1, AcceptorId(2), 5, votes)
}

fn durable_state() -> LogDurableState<SlotValue> {
    let mut votes = BTreeMap::new();
    votes.insert(
        5,
        Vote {
            round: 1,
            value: LogValue::Noop,
        },
    );
    votes.insert(
        6,
        Vote {
            round: 2,
            value: LogValue::Batch(Batch::noop()),
        },
    );
    LogDurableState {
        rnd: 2,
        base: 5,
        votes,
    }
}

/// The generation of WIRE.md's durable file example (a real store picks a fresh one).
const EXAMPLE_GENERATION: u64 = 0x0123_4567_89ab_cdef;

fn postcard<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("postcard encodes")
}

/// Every hex example of WIRE.md, by the name of its fence, computed by the code.
fn examples() -> Vec<(&'static str, Vec<u8>)> {
    let keys = keys();
    let (a0, p0) = (Id::from(ACCEPTOR_0), Id::from(PROPOSER_0));
    let mut batch_value = Vec::new();
    one_command_batch().encode(&mut batch_value);
    let promise = promise();
    let promise_fields = encode_log_promise(
        promise.round,
        promise.acceptor,
        promise.decided_prefix,
        &promise.votes,
    );
    let single_decree = encode_promise(
        2,
        AcceptorId(1),
        Some(&Vote {
            round: 1,
            value: String::from("v"),
        }),
    );
    let proof = LogProof::from(vec![promise.clone()]);
    let fragments = large_learn_fragments();
    vec![
        (
            "fragment-0-header",
            fragments[0][..FRAGMENT_HEADER_LEN].to_vec(),
        ),
        ("fragment-1", fragments[1].clone()),
        (
            "learn-datagram",
            encode(a0, p0, &learn(), &keys).expect("encodes"),
        ),
        ("command-fields", encode_command(ClientId(0), 1, &put())),
        ("command-mac", command().mac.0.to_vec()),
        (
            "accept-datagram",
            encode(p0, a0, &accept(), &keys).expect("encodes"),
        ),
        ("batch-value", batch_value),
        ("log-promise-fields", promise_fields),
        ("log-promise-mac", promise.mac.0.to_vec()),
        (
            "promise-payload",
            postcard(&ServiceMsg::Log(LogMsg::Promise(promise))),
        ),
        ("proof-digest", proof.digest().0.to_vec()),
        ("single-decree-promise-fields", single_decree),
        ("durable-record-payload", postcard(&durable_state())),
        (
            "durable-file",
            durable_file(EXAMPLE_GENERATION, None, &[postcard(&durable_state())]),
        ),
        (
            "acceptor-record-full",
            postcard(&AcceptorRecord::Full(durable_state())),
        ),
        ("acceptor-record-changes", postcard(&acceptor_changes())),
        (
            "snapshot-file",
            encode_snapshot(&postcard(&replica_snapshot())),
        ),
        ("floors-record-payload", postcard(&floors_example())),
    ]
}

/// WIRE.md's record of one step's changes.
fn acceptor_changes() -> AcceptorRecord<SlotValue> {
    AcceptorRecord::Changes(vec![
        Change::DropBelow(6),
        Change::Round(3),
        Change::Vote {
            slot: 7,
            vote: Vote {
                round: 3,
                value: LogValue::Noop,
            },
        },
    ])
}

/// WIRE.md's floors: client 6's address last moved for seq 300.
fn floors_example() -> FreshnessFloors {
    let raised = floors::raised(&FreshnessFloors::new(), Id::from(6), 300);
    raised.expect("a new client's floor rises")
}

fn replica_snapshot() -> ReplicaSnapshot {
    ReplicaSnapshot {
        applied: 2,
        log_digest: [0; 32],
        store: Default::default(),
    }
}

/// The documented changes are what the store appends for that step, and fold back to it.
#[test]
fn the_documented_changes_are_the_diff_of_their_step() {
    let mut after = durable_state();
    after.votes.remove(&5);
    after.base = 6;
    after.rnd = 3;
    after.votes.insert(
        7,
        Vote {
            round: 3,
            value: LogValue::Noop,
        },
    );
    let AcceptorRecord::Changes(changes) = acceptor_changes() else {
        unreachable!()
    };
    assert_eq!(diff(&durable_state(), &after), Some(changes.clone()));
    let folded = fold([
        AcceptorRecord::Full(durable_state()),
        AcceptorRecord::Changes(changes),
    ]);
    assert_eq!(folded, Some(after));
}

// ---------------------------------------------------------------------------------------------
// Reading WIRE.md.
// ---------------------------------------------------------------------------------------------

fn wire_md() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("WIRE.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The bytes of every ```` ```hex name=NAME ```` fence: on each line, what precedes `#`,
/// without whitespace, is hex; the rest is the annotation.
fn hex_blocks(doc: &str) -> BTreeMap<String, Vec<u8>> {
    let mut blocks = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for (number, line) in doc.lines().enumerate() {
        let trimmed = line.trim();
        match &mut current {
            None => {
                if let Some(rest) = trimmed.strip_prefix("```hex") {
                    let name = rest
                        .trim()
                        .strip_prefix("name=")
                        .unwrap_or_else(|| {
                            panic!("WIRE.md:{}: a hex fence needs a name", number + 1)
                        })
                        .trim()
                        .to_owned();
                    current = Some((name, String::new()));
                }
            }
            Some((name, digits)) => {
                if trimmed == "```" {
                    let bytes = hex::decode(&*digits)
                        .unwrap_or_else(|e| panic!("WIRE.md: block {name} is not hex: {e}"));
                    let first = blocks.insert(name.clone(), bytes).is_none();
                    assert!(first, "WIRE.md: two hex blocks are named {name}");
                    current = None;
                } else {
                    let data = trimmed.split('#').next().unwrap_or("");
                    digits.extend(data.chars().filter(|c| !c.is_whitespace()));
                }
            }
        }
    }
    assert!(current.is_none(), "WIRE.md: an unclosed hex fence");
    blocks
}

/// The rows of the table between `<!-- NAME:begin -->` and `<!-- NAME:end -->`, as cells,
/// without the header and separator rows.
fn table(doc: &str, name: &str) -> Vec<Vec<String>> {
    let begin = format!("<!-- {name}:begin -->");
    let end = format!("<!-- {name}:end -->");
    let start = doc
        .find(&begin)
        .unwrap_or_else(|| panic!("WIRE.md has no {begin}"));
    let stop = doc[start..]
        .find(&end)
        .unwrap_or_else(|| panic!("WIRE.md has no {end}"))
        + start;
    doc[start + begin.len()..stop]
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with('|'))
        .skip(2) // the header row and the separator
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect()
}

fn spaced_hex(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .map(|line| {
            line.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// The hex examples.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_hex_example_is_what_the_code_produces() {
    let documented = hex_blocks(&wire_md());
    let computed = examples();
    let names: BTreeSet<&str> = computed.iter().map(|(name, _)| *name).collect();
    let in_doc: BTreeSet<&str> = documented.keys().map(String::as_str).collect();
    assert_eq!(
        in_doc, names,
        "WIRE.md's hex blocks are not the examples this test knows"
    );
    for (name, bytes) in &computed {
        assert!(
            documented[*name] == *bytes,
            "WIRE.md's block {name} is out of date; the code produces {} bytes:\n{}",
            bytes.len(),
            spaced_hex(bytes)
        );
    }
}

#[test]
#[ignore = "prints the examples; run with --ignored --nocapture"]
fn print_examples() {
    for (name, bytes) in examples() {
        println!("{name} ({} bytes):\n{}\n", bytes.len(), spaced_hex(&bytes));
    }
}

/// The examples' datagrams decode, and their tags are HMAC-SHA256 over everything before them
/// under the channel key, computed here without the crate.
#[test]
fn the_example_datagrams_are_authentic_and_decode() {
    let blocks = hex_blocks(&wire_md());
    let cases = [
        ("learn-datagram", ACCEPTOR_0, PROPOSER_0, learn()),
        ("accept-datagram", PROPOSER_0, ACCEPTOR_0, accept()),
    ];
    for (name, from, to, msg) in cases {
        let datagram = &blocks[name];
        let (signed, tag) = datagram.split_at(datagram.len() - TAG_LEN);
        let mut mac = Hmac::<Sha256>::new_from_slice(&channel_key()).expect("any key length");
        mac.update(signed);
        assert_eq!(
            tag,
            &mac.finalize().into_bytes()[..],
            "{name}: the tag is not HMAC-SHA256 of the bytes before it"
        );
        assert_eq!(&signed[..2], b"BP");
        assert_eq!(signed[2], 1);
        assert_eq!(signed[3..7], (from as u32).to_be_bytes());
        assert_eq!(signed[7..11], (to as u32).to_be_bytes());
        assert_eq!(
            signed[11..],
            postcard(&msg),
            "{name}: the payload is postcard"
        );
        let (sender, decoded) =
            decode::<ServiceMsg>(datagram, Id::from(to), &keys()).expect("decodes");
        assert_eq!((sender, decoded), (Id::from(from), msg));
    }
}

/// The authenticators of the command and of the PROMISE, and the proof digest, recomputed
/// here from the documented rules.
#[test]
fn the_authenticated_encodings_follow_the_documented_rules() {
    let blocks = hex_blocks(&wire_md());
    let hmac = |key: &[u8], bytes: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
        mac.update(bytes);
        mac.finalize().into_bytes().to_vec()
    };
    assert_eq!(
        blocks["command-mac"],
        hmac(&command_key(), &blocks["command-fields"])
    );
    assert_eq!(
        blocks["log-promise-mac"],
        hmac(&domain_key(), &blocks["log-promise-fields"])
    );
    assert!(promise().is_authentic(&domain()));
    assert_eq!(
        domain()
            .authenticate(&blocks["log-promise-fields"])
            .0
            .to_vec(),
        blocks["log-promise-mac"]
    );

    // The batch's value encoding: tag 1, count, then each command's fields and mac.
    let fields = &blocks["command-fields"];
    let mut batch = vec![1u8];
    batch.extend(1u64.to_be_bytes());
    batch.extend((fields.len() as u64).to_be_bytes());
    batch.extend(fields);
    batch.extend(&blocks["command-mac"]);
    assert_eq!(blocks["batch-value"], batch);

    // The proof digest: SHA-256 over the tag, the count, then each PROMISE's length, fields
    // and mac.
    let promise_fields = &blocks["log-promise-fields"];
    let mut hash = Sha256::new();
    hash.update(b"BPFP/PROOF-DIGEST/1");
    hash.update(1u64.to_be_bytes());
    hash.update((promise_fields.len() as u64).to_be_bytes());
    hash.update(promise_fields);
    hash.update(&blocks["log-promise-mac"]);
    assert_eq!(blocks["proof-digest"], hash.finalize().to_vec());
}

// ---------------------------------------------------------------------------------------------
// The enum variant indices.
// ---------------------------------------------------------------------------------------------

/// One value of every variant of every enum on the wire, with the variant's name. The matches
/// have no wildcard: a new variant does not compile until it is added here (and to WIRE.md).
fn every_variant() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let mut rows = Vec::new();

    let batch = one_command_batch();
    let service = [
        learn(),
        ServiceMsg::Request(command()),
        ServiceMsg::Reply {
            seq: 1,
            reply: Reply::Stored,
            round: 0,
        },
        ServiceMsg::CatchUp { from: 7 },
        ServiceMsg::Decisions {
            first: 7,
            decisions: vec![Decision {
                round: 0,
                value: LogValue::Noop,
            }],
        },
        ServiceMsg::Snapshot(Part {
            applied: 7,
            log_digest: [0; 32],
            store_digest: [0; 32],
            total: 2,
            offset: 0,
            bytes: vec![0, 0],
        }),
        ServiceMsg::SnapshotFetch {
            applied: 7,
            offset: 0,
        },
        ServiceMsg::TooLarge {
            seq: 1,
            size: 20_000,
            max: 16_384,
        },
    ];
    for msg in service {
        let name = match &msg {
            ServiceMsg::Log(_) => "Log",
            ServiceMsg::Request(_) => "Request",
            ServiceMsg::Reply { .. } => "Reply",
            ServiceMsg::CatchUp { .. } => "CatchUp",
            ServiceMsg::Decisions { .. } => "Decisions",
            ServiceMsg::Snapshot { .. } => "Snapshot",
            ServiceMsg::TooLarge { .. } => "TooLarge",
            ServiceMsg::SnapshotFetch { .. } => "SnapshotFetch",
        };
        rows.push(("ServiceMsg", name, postcard(&msg)));
    }

    let log: [LogMsg<SlotValue>; 6] = [
        LogMsg::Accept {
            round: 0,
            slot: 0,
            value: batch.clone(),
            proof: LogProof::none(),
        },
        LogMsg::NewRound {
            round: 1,
            proof: LogProof::from(vec![promise()]),
            accepts: Arc::from(vec![(0, batch.clone())]),
        },
        LogMsg::AcceptByDigest {
            round: 1,
            slot: 0,
            value: batch.clone(),
            digest: ProofDigest([0; 32]),
        },
        LogMsg::Promise(promise()),
        LogMsg::Learn {
            round: 0,
            slot: 0,
            value: LogValue::Noop,
        },
        LogMsg::TrustChange { round: 1 },
    ];
    for msg in log {
        let name = match &msg {
            LogMsg::Accept { .. } => "Accept",
            LogMsg::NewRound { .. } => "NewRound",
            LogMsg::AcceptByDigest { .. } => "AcceptByDigest",
            LogMsg::Promise(_) => "Promise",
            LogMsg::Learn { .. } => "Learn",
            LogMsg::TrustChange { .. } => "TrustChange",
        };
        rows.push(("LogMsg", name, postcard(&msg)));
    }

    for value in [LogValue::Noop, LogValue::Batch(Batch::noop())] {
        let name = match &value {
            LogValue::Noop => "Noop",
            LogValue::Batch(_) => "Batch",
        };
        rows.push(("LogValue", name, postcard(&value)));
    }

    let ops = [
        put(),
        Op::Get { key: "k".into() },
        Op::Cas {
            key: "k".into(),
            expected: None,
            new: "v".into(),
        },
    ];
    for op in ops {
        let name = match &op {
            Op::Put { .. } => "Put",
            Op::Get { .. } => "Get",
            Op::Cas { .. } => "Cas",
        };
        rows.push(("Op", name, postcard(&op)));
    }

    let replies = [
        Reply::Stored,
        Reply::Value(None),
        Reply::Cas {
            swapped: true,
            found: None,
        },
    ];
    for reply in replies {
        let name = match &reply {
            Reply::Stored => "Stored",
            Reply::Value(_) => "Value",
            Reply::Cas { .. } => "Cas",
        };
        rows.push(("Reply", name, postcard(&reply)));
    }
    rows
}

#[test]
fn the_variant_table_gives_postcards_first_byte() {
    let documented: BTreeSet<(String, u8, String)> = table(&wire_md(), "variants")
        .into_iter()
        .map(|row| {
            let [enumeration, index, variant] =
                <[String; 3]>::try_from(row.get(..3).unwrap_or(&row).to_vec())
                    .unwrap_or_else(|row| panic!("a variants row has 3 cells first: {row:?}"));
            let index = index
                .parse()
                .unwrap_or_else(|_| panic!("bad index {index:?} of {enumeration}::{variant}"));
            (enumeration, index, variant)
        })
        .collect();
    let computed: BTreeSet<(String, u8, String)> = every_variant()
        .into_iter()
        .map(|(enumeration, variant, bytes)| {
            // Every index is below 128, so its varint is one byte.
            assert!(bytes[0] < 0x80);
            (enumeration.to_owned(), bytes[0], variant.to_owned())
        })
        .collect();
    assert_eq!(documented, computed, "WIRE.md's variant table");
}

// ---------------------------------------------------------------------------------------------
// Constants, node ids, the checks on receipt.
// ---------------------------------------------------------------------------------------------

#[test]
fn the_constants_table_matches_the_code() {
    let known: BTreeMap<&str, u64> = [
        ("wire::HEADER_LEN", HEADER_LEN as u64),
        ("wire::TAG_LEN", TAG_LEN as u64),
        ("wire::MAX_DATAGRAM", MAX_DATAGRAM as u64),
        ("wire::VERSION", u64::from(VERSION)),
        ("wire::FRAGMENT_HEADER_LEN", FRAGMENT_HEADER_LEN as u64),
        ("wire::FRAGMENT_DATA", FRAGMENT_DATA as u64),
        ("wire::MAX_MESSAGE", MAX_MESSAGE as u64),
        (
            "ReassemblyLimits::bytes_per_sender",
            ReassemblyLimits::default().bytes_per_sender as u64,
        ),
        (
            "ReassemblyLimits::messages_per_sender",
            ReassemblyLimits::default().messages_per_sender as u64,
        ),
        ("replica::CATCH_UP_BYTES", CATCH_UP_BYTES as u64),
        ("transfer::SNAPSHOT_PART_BYTES", SNAPSHOT_PART_BYTES as u64),
        ("auth::MIN_KEY_BYTES", MIN_KEY_BYTES as u64),
        ("GENERATED_KEY_BYTES", GENERATED_KEY_BYTES as u64),
        ("durable::VERSION", u64::from(durable::VERSION)),
        ("durable::MAX_RECORD_LEN", u64::from(MAX_RECORD_LEN)),
        ("durable::MAX_FILE_LEN", MAX_FILE_LEN),
        (
            "DurableOptions::compact_above_bytes",
            DurableOptions::default().compact_above_bytes,
        ),
    ]
    .into_iter()
    .collect();
    let documented: BTreeMap<String, u64> = table(&wire_md(), "constants")
        .into_iter()
        .map(|row| {
            let value: String = row[1].chars().filter(|c| c.is_ascii_digit()).collect();
            (
                row[0].clone(),
                value.parse().expect("a constant is a number"),
            )
        })
        .collect();
    let known: BTreeMap<String, u64> = known.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    assert_eq!(documented, known, "WIRE.md's constants table");
    assert_eq!(MAGIC, *b"BP");
}

#[test]
fn the_id_table_matches_the_config() {
    let config = ClusterConfig::generate(4, 2, 2, 7000, [127, 0, 0, 1].into())
        .expect("the example config generates");
    let rows = table(&wire_md(), "ids");
    assert_eq!(rows.len(), config.nodes().count(), "one row per node");
    for row in rows {
        let node: NodeId = row[0].parse().expect("a node name");
        let id: usize = row[1].parse().expect("an id");
        assert_eq!(config.stateright_id(node), Id::from(id), "{node}");
        assert_eq!(config.node_of(Id::from(id)), Some(node));
    }
}

/// The order of the checks of `decode`, as WIRE.md lists them: each corruption is caught by
/// its own check although it also breaks every later one (the tag, above all).
#[test]
fn the_checks_on_receipt_come_in_the_documented_order() {
    let keys = keys();
    let (a0, p0) = (Id::from(ACCEPTOR_0), Id::from(PROPOSER_0));
    let good = encode(a0, p0, &learn(), &keys).expect("encodes");
    let check = |bytes: &[u8], me: Id| decode::<ServiceMsg>(bytes, me, &keys).map(|_| ());

    let mut long = good.clone();
    long.resize(MAX_DATAGRAM + 1, 0);
    assert_eq!(check(&long, p0), Err(WireError::TooLarge));
    assert_eq!(
        check(&good[..HEADER_LEN + TAG_LEN - 1], p0),
        Err(WireError::TooShort)
    );
    let mut magic = good.clone();
    magic[0] = b'X';
    assert_eq!(check(&magic, p0), Err(WireError::BadVersion));
    let mut version = good.clone();
    version[2] = 2;
    assert_eq!(check(&version, p0), Err(WireError::BadVersion));
    assert_eq!(check(&good, Id::from(5)), Err(WireError::NotForMe));
    let mut sender = good.clone();
    sender[6] = 9;
    assert_eq!(check(&sender, p0), Err(WireError::UnknownSender));
    let mut tag = good.clone();
    *tag.last_mut().expect("not empty") ^= 1;
    assert_eq!(check(&tag, p0), Err(WireError::BadMac));
    // Authentic, but one byte too many after the payload.
    let mut trailing = good[..good.len() - TAG_LEN].to_vec();
    trailing.push(0);
    let mut mac = Hmac::<Sha256>::new_from_slice(&channel_key()).expect("any key length");
    mac.update(&trailing);
    trailing.extend(mac.finalize().into_bytes());
    assert!(matches!(check(&trailing, p0), Err(WireError::Malformed(_))));
    assert_eq!(check(&good, p0), Ok(()));

    // Encoding refuses a payload that would pass the limit, and a pair without a key.
    let huge = ServiceMsg::Request(Command::signed(
        ClientId(0),
        1,
        Op::Put {
            key: "k".into(),
            value: "x".repeat(MAX_DATAGRAM),
        },
        &command_key(),
    ));
    assert_eq!(encode(p0, a0, &huge, &keys), Err(WireError::TooLarge));
    assert_eq!(
        encode(a0, Id::from(1), &learn(), &keys),
        Err(WireError::NoChannelKey)
    );
}

/// The fragment example: two fragments, laid out as WIRE.md's section 3.1 says (recomputed
/// here without the crate), that reassemble in either order into the message.
#[test]
fn the_fragment_example_follows_the_documented_layout() {
    let fragments = large_learn_fragments();
    let payload = postcard(&large_learn());
    assert_eq!(payload.len(), 64_958);
    assert_eq!(payload.len(), MAX_DATAGRAM - HEADER_LEN - TAG_LEN + 1);
    assert_eq!(fragments.len(), 2);
    let digest: [u8; 32] = Sha256::digest(&payload).into();
    for (index, fragment) in fragments.iter().enumerate() {
        let (signed, tag) = fragment.split_at(fragment.len() - TAG_LEN);
        let mut mac = Hmac::<Sha256>::new_from_slice(&channel_key()).expect("any key length");
        mac.update(signed);
        assert_eq!(tag, &mac.finalize().into_bytes()[..]);
        assert_eq!(&signed[..3], b"BF\x01");
        assert_eq!(signed[3..7], (ACCEPTOR_0 as u32).to_be_bytes());
        assert_eq!(signed[7..11], (PROPOSER_0 as u32).to_be_bytes());
        assert_eq!(signed[11..43], digest);
        assert_eq!(signed[43..47], 64_958u32.to_be_bytes());
        assert_eq!(signed[47..51], (index as u32).to_be_bytes());
        let start = index * FRAGMENT_DATA;
        let end = (start + FRAGMENT_DATA).min(payload.len());
        assert_eq!(signed[51..], payload[start..end]);
    }
    assert_eq!(fragments[0].len(), MAX_DATAGRAM);
    let p0 = Id::from(PROPOSER_0);
    for order in [[0, 1], [1, 0]] {
        let mut reassembly = Reassembly::default();
        let first = receive::<ServiceMsg>(&fragments[order[0]], p0, &keys(), &mut reassembly);
        assert_eq!(first, Ok(None));
        let second = receive::<ServiceMsg>(&fragments[order[1]], p0, &keys(), &mut reassembly);
        assert_eq!(second, Ok(Some((Id::from(ACCEPTOR_0), large_learn()))));
    }
}

/// The order of the checks on a fragment, as WIRE.md's section 3.1 lists them.
#[test]
fn the_checks_on_a_fragment_come_in_the_documented_order() {
    let keys = keys();
    let p0 = Id::from(PROPOSER_0);
    let fragments = large_learn_fragments();
    let good = fragments[1].clone();
    let check = |bytes: &[u8], me: Id| {
        let mut reassembly = Reassembly::default();
        receive::<ServiceMsg>(bytes, me, &keys, &mut reassembly).map(|_| ())
    };
    // The fragment with its tag recomputed, so that only the change is wrong.
    let retag = |mut signed: Vec<u8>| {
        let mut mac = Hmac::<Sha256>::new_from_slice(&channel_key()).expect("any key length");
        mac.update(&signed);
        signed.extend(mac.finalize().into_bytes());
        signed
    };
    let signed = good[..good.len() - TAG_LEN].to_vec();
    let mut long = good.clone();
    long.resize(MAX_DATAGRAM + 1, 0);
    assert_eq!(check(&long, p0), Err(WireError::TooLarge));
    assert_eq!(
        check(&good[..HEADER_LEN + TAG_LEN - 1], p0),
        Err(WireError::TooShort)
    );
    let mut version = good.clone();
    version[2] = 2;
    assert_eq!(check(&version, p0), Err(WireError::BadVersion));
    assert_eq!(
        check(&good[..FRAGMENT_HEADER_LEN + TAG_LEN - 1], p0),
        Err(WireError::TooShort)
    );
    assert_eq!(check(&good, Id::from(5)), Err(WireError::NotForMe));
    let mut sender = good.clone();
    sender[6] = 9;
    assert_eq!(check(&sender, p0), Err(WireError::UnknownSender));
    let mut tag = good.clone();
    *tag.last_mut().expect("not empty") ^= 1;
    assert_eq!(check(&tag, p0), Err(WireError::BadMac));
    // Authentic, but the length, the index or the data disagree.
    let mut too_long = signed.clone();
    too_long[43..47].copy_from_slice(&(MAX_MESSAGE as u32 + 1).to_be_bytes());
    let mut index = signed.clone();
    index[47..51].copy_from_slice(&2u32.to_be_bytes());
    let mut data = signed.clone();
    data.push(0);
    for bad in [too_long, index, data] {
        assert_eq!(check(&retag(bad), p0), Err(WireError::BadFragment));
    }
    // The other fragment of the message with another length.
    let mut reassembly = Reassembly::default();
    assert_eq!(
        receive::<ServiceMsg>(&fragments[0], p0, &keys, &mut reassembly),
        Ok(None)
    );
    let mut length = signed.clone();
    length[43..47].copy_from_slice(&64_959u32.to_be_bytes());
    length.push(0);
    assert_eq!(
        receive::<ServiceMsg>(&retag(length), p0, &keys, &mut reassembly),
        Err(WireError::BadFragment)
    );
    // Every fragment, but data that is not what the digest names.
    let mut wrong = signed.clone();
    *wrong.last_mut().expect("data") ^= 1;
    assert_eq!(
        receive::<ServiceMsg>(&retag(wrong), p0, &keys, &mut reassembly),
        Err(WireError::BadFragment)
    );
    // Every fragment and the digest matches, but the payload is no message.
    let junk = vec![0xff; FRAGMENT_DATA + 1];
    let digest: [u8; 32] = Sha256::digest(&junk).into();
    let mut reassembly = Reassembly::default();
    let mut results = Vec::new();
    for (index, data) in junk.chunks(FRAGMENT_DATA).enumerate() {
        let mut fragment = signed[..HEADER_LEN].to_vec();
        fragment.extend(digest);
        fragment.extend((junk.len() as u32).to_be_bytes());
        fragment.extend((index as u32).to_be_bytes());
        fragment.extend(data);
        results.push(receive::<ServiceMsg>(
            &retag(fragment),
            p0,
            &keys,
            &mut reassembly,
        ));
    }
    assert_eq!(results[0], Ok(None));
    assert!(
        matches!(results[1], Err(WireError::Malformed(_))),
        "{results:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The durable file.
// ---------------------------------------------------------------------------------------------

/// A store file by WIRE.md's rules: the header of `generation` sealed at `sealed` (the header's
/// end when `None`), then one frame per payload, each checksummed with its offset.
fn durable_file(generation: u64, sealed: Option<u64>, payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut file = Vec::new();
    file.extend(b"BPFPDLOG");
    file.extend(durable::VERSION.to_le_bytes());
    file.extend(generation.to_le_bytes());
    file.extend(sealed.unwrap_or(32).to_le_bytes());
    let checksum = crc32fast::hash(&file);
    file.extend(checksum.to_le_bytes());
    for payload in payloads {
        let offset = file.len() as u64;
        let len = payload.len() as u32;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&generation.to_le_bytes());
        crc.update(&offset.to_le_bytes());
        crc.update(&len.to_le_bytes());
        crc.update(payload);
        file.extend(len.to_le_bytes());
        file.extend(crc.finalize().to_le_bytes());
        file.extend(payload);
    }
    file
}

fn generation_of(file: &[u8]) -> u64 {
    u64::from_le_bytes(file[12..20].try_into().expect("8 bytes"))
}

/// A real store's file is what the documented rules give for its generation: on creation, after
/// appends, after compaction, and after a torn tail is cut.
#[test]
fn the_durable_file_follows_the_documented_layout() {
    let dir = TempDir::new("layout");
    let path = dir.path().join("acceptor-0.log");
    let payload = postcard(&durable_state());
    let mut second = durable_state();
    second.rnd = 3;
    let second_payload = postcard(&second);
    let options = DurableOptions {
        // Above the header and two records: the third append compacts.
        compact_above_bytes: (32 + 2 * (8 + payload.len())) as u64,
    };
    {
        let (mut store, recovered) =
            DurableLog::<LogDurableState<SlotValue>>::open_with(&path, options).expect("opens");
        assert_eq!(recovered.state, None);
        assert!(PathBuf::from(format!("{}.lock", path.display())).exists());
        let file = std::fs::read(&path).expect("reads");
        assert_eq!(file, durable_file(generation_of(&file), None, &[]));

        store.append(&durable_state()).expect("appends");
        store.append(&durable_state()).expect("appends");
        let file = std::fs::read(&path).expect("reads");
        let generation = generation_of(&file);
        let two = [payload.clone(), payload.clone()];
        assert_eq!(file, durable_file(generation, None, &two));

        store.append(&second).expect("appends and compacts");
        let file = std::fs::read(&path).expect("reads");
        let compacted = generation_of(&file);
        assert_ne!(compacted, generation, "compaction starts a new generation");
        let sealed = (32 + 8 + second_payload.len()) as u64;
        assert_eq!(
            file,
            durable_file(
                compacted,
                Some(sealed),
                std::slice::from_ref(&second_payload)
            )
        );
    }
    // A torn append at the end is cut on the next open, and the last record is recovered.
    let mut file = std::fs::read(&path).expect("reads");
    let whole = file.clone();
    file.extend([0x05, 0, 0, 0, 0xde, 0xad]);
    std::fs::write(&path, &file).expect("writes");
    let (_, recovered) =
        DurableLog::<LogDurableState<SlotValue>>::open_with(&path, options).expect("opens");
    assert_eq!(recovered.state, Some(second));
    assert!(recovered.torn_tail.is_some());
    assert_eq!(std::fs::read(&path).expect("reads"), whole);
}

// ---------------------------------------------------------------------------------------------
// Postcard's rules, as section 4 states them.
// ---------------------------------------------------------------------------------------------

#[test]
fn postcards_rules_are_as_documented() {
    // Varints: 7-bit groups, least significant first.
    assert_eq!(postcard(&0u32), [0x00]);
    assert_eq!(postcard(&127u32), [0x7f]);
    assert_eq!(postcard(&128u32), [0x80, 0x01]);
    assert_eq!(postcard(&300u64), [0xac, 0x02]);
    assert_eq!(postcard(&u16::MAX).len(), 3);
    assert_eq!(postcard(&u32::MAX).len(), 5);
    assert_eq!(postcard(&u64::MAX).len(), 10);
    // A longer form than needed is accepted, a varint past the type's width is not.
    assert_eq!(postcard::from_bytes::<u32>(&[0x80, 0x00]), Ok(0));
    assert!(postcard::from_bytes::<u32>(&[0xff, 0xff, 0xff, 0xff, 0x10]).is_err());
    assert!(postcard::from_bytes::<u32>(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).is_err());
    // u8 is raw, [u8; 32] has no length, strings and sequences have one.
    assert_eq!(postcard(&200u8), [200]);
    assert_eq!(postcard(&[7u8; 32]), [7u8; 32]);
    assert_eq!(postcard("k"), [0x01, b'k']);
    assert_eq!(postcard(&vec![1u64, 2]), [0x02, 0x01, 0x02]);
    // Option and bool tags; any other byte is an error.
    assert_eq!(postcard(&Some(String::from("v"))), [0x01, 0x01, b'v']);
    assert_eq!(postcard(&None::<String>), [0x00]);
    assert!(postcard::from_bytes::<Option<u8>>(&[0x02, 0x00]).is_err());
    assert!(postcard::from_bytes::<bool>(&[0x02]).is_err());
    // Maps: count, then pairs; a repeated key keeps its last value.
    let map: BTreeMap<u64, u8> = postcard::from_bytes(&[0x02, 0x01, 0x05, 0x01, 0x07]).unwrap();
    assert_eq!(map, BTreeMap::from([(1, 7)]));
    // Newtypes are transparent; Arc is invisible.
    assert_eq!(postcard(&ClientId(300)), [0xac, 0x02]);
    assert_eq!(postcard(&Batch::noop()), [0x00]);
    assert_eq!(
        postcard(&KvStore::default()),
        [0x00, 0x00],
        "two empty maps"
    );
    // The canonical value encoding of an empty batch differs from Noop's.
    let mut empty = Vec::new();
    LogValue::Batch(Batch::noop()).encode(&mut empty);
    assert_eq!(empty, [1, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut noop = Vec::new();
    LogValue::<Batch>::Noop.encode(&mut noop);
    assert_eq!(noop, [0]);
}
