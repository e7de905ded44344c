//! The key-value state machine: authenticated commands, exactly-once application in log
//! order, and replicas that agree because they apply the same batches.

mod common;
use common::{get, put};

use bp_fast_paxos::auth::Mac;
use bp_fast_paxos::service::command::encode_command;
use bp_fast_paxos::service::{Applied, Batch, Command, CommandKeys, KvStore, Op, Reply};
use bp_fast_paxos::types::{ClientId, Value};

const ALICE: ClientId = ClientId(0);
const BOB: ClientId = ClientId(1);
const ALICE_KEY: &[u8] = b"alice's command key, 32 bytes..!";
const BOB_KEY: &[u8] = b"bob's command key, also 32 bytes";

fn keys() -> CommandKeys {
    let mut keys = CommandKeys::default();
    keys.insert(ALICE, ALICE_KEY.to_vec());
    keys.insert(BOB, BOB_KEY.to_vec());
    keys
}

fn cas(key: &str, expected: Option<&str>, new: &str) -> Op {
    Op::Cas {
        key: key.into(),
        expected: expected.map(Into::into),
        new: new.into(),
    }
}

fn alice(seq: u64, op: Op) -> Command {
    Command::signed(ALICE, seq, op, ALICE_KEY)
}

fn bob(seq: u64, op: Op) -> Command {
    Command::signed(BOB, seq, op, BOB_KEY)
}

#[test]
fn put_get_and_cas_answer_as_a_map_would() {
    let keys = keys();
    let mut kv = KvStore::default();
    assert_eq!(
        kv.apply(&alice(1, get("x")), &keys),
        Applied::Executed(Reply::Value(None))
    );
    assert_eq!(
        kv.apply(&alice(2, put("x", "1")), &keys),
        Applied::Executed(Reply::Stored)
    );
    assert_eq!(
        kv.apply(&bob(1, cas("x", Some("0"), "2")), &keys),
        Applied::Executed(Reply::Cas {
            swapped: false,
            found: Some("1".into())
        })
    );
    assert_eq!(
        kv.apply(&bob(2, cas("x", Some("1"), "2")), &keys),
        Applied::Executed(Reply::Cas {
            swapped: true,
            found: Some("1".into())
        })
    );
    assert_eq!(
        kv.apply(&alice(3, cas("y", None, "new")), &keys),
        Applied::Executed(Reply::Cas {
            swapped: true,
            found: None
        })
    );
    assert_eq!(kv.get("x"), Some("2"));
    assert_eq!(kv.get("y"), Some("new"));
}

#[test]
fn a_command_is_executed_once_however_often_it_is_decided() {
    let keys = keys();
    let mut kv = KvStore::default();
    let first = alice(1, cas("n", None, "1"));
    assert!(matches!(kv.apply(&first, &keys), Applied::Executed(_)));
    // A proposer replays it in a later slot: same reply, no second effect.
    let again = kv.apply(&first, &keys);
    assert_eq!(
        again,
        Applied::Duplicate(Some(Reply::Cas {
            swapped: true,
            found: None
        }))
    );
    assert!(matches!(
        kv.apply(&alice(2, put("n", "2")), &keys),
        Applied::Executed(_)
    ));
    // An older command arriving late is not executed and has no reply any more.
    assert_eq!(kv.apply(&first, &keys), Applied::Duplicate(None));
    assert_eq!(kv.get("n"), Some("2"));
}

#[test]
fn forged_or_altered_commands_are_skipped() {
    let keys = keys();
    let mut kv = KvStore::default();
    // A proposer alters the value of a genuine command.
    let mut altered = alice(1, put("x", "mine"));
    altered.op = put("x", "theirs");
    assert_eq!(kv.apply(&altered, &keys), Applied::Forged);
    // Signed with another client's key, or with a made-up mac, or by an unknown client.
    let wrong_key = Command::signed(ALICE, 1, put("x", "1"), BOB_KEY);
    assert_eq!(kv.apply(&wrong_key, &keys), Applied::Forged);
    let mut made_up = alice(1, put("x", "1"));
    made_up.mac = Mac::FORGED;
    assert_eq!(kv.apply(&made_up, &keys), Applied::Forged);
    let stranger = Command::signed(ClientId(9), 1, put("x", "1"), ALICE_KEY);
    assert_eq!(kv.apply(&stranger, &keys), Applied::Forged);
    assert_eq!(kv.get("x"), None);
    // A forged command does not burn the client's sequence number.
    assert!(matches!(
        kv.apply(&alice(1, put("x", "ok")), &keys),
        Applied::Executed(_)
    ));
}

#[test]
fn replicas_applying_the_same_log_agree_on_state_and_replies() {
    let keys = keys();
    let mut forged = bob(3, put("k", "forged"));
    forged.mac = Mac::FORGED;
    let log = [
        Batch::from(vec![alice(1, put("k", "a")), bob(1, get("k"))]),
        Batch::noop(),
        Batch::from(vec![
            bob(2, cas("k", Some("a"), "b")),
            alice(1, put("k", "a")),
        ]),
        Batch::from(vec![forged, alice(2, get("k"))]),
    ];
    // One replica applies slot by slot; another, which catches up later, command by command
    // from a copy of the log that went through serde (as state transfer would).
    let mut one = KvStore::default();
    let replies_one: Vec<Vec<Applied>> = log.iter().map(|b| one.apply_batch(b, &keys)).collect();
    let copied: Vec<Batch> = serde_json::from_str(&serde_json::to_string(&log).unwrap()).unwrap();
    let mut two = KvStore::default();
    let replies_two: Vec<Vec<Applied>> = copied
        .iter()
        .map(|b| b.0.iter().map(|c| two.apply(c, &keys)).collect())
        .collect();
    assert_eq!(one, two);
    assert_eq!(replies_one, replies_two);
    assert_eq!(one.get("k"), Some("b"));
    assert_eq!(
        replies_one[3],
        vec![
            Applied::Forged,
            Applied::Executed(Reply::Value(Some("b".into())))
        ]
    );
}

#[test]
fn command_encodings_are_injective_across_fields() {
    // Moving bytes between fields must change the encoding.
    let pairs = [
        (put("ab", "c"), put("a", "bc")),
        (get("x"), put("x", "")),
        (cas("k", None, "v"), cas("k", Some(""), "v")),
        (cas("k", Some("v"), ""), cas("k", None, "v")),
    ];
    for (a, b) in pairs {
        assert_ne!(encode_command(ALICE, 1, &a), encode_command(ALICE, 1, &b));
    }
    assert_ne!(
        encode_command(ALICE, 1, &get("x")),
        encode_command(BOB, 1, &get("x"))
    );
    assert_ne!(
        encode_command(ALICE, 1, &get("x")),
        encode_command(ALICE, 2, &get("x"))
    );
}

#[test]
fn batch_encodings_are_prefix_free() {
    let encode = |b: &Batch| {
        let mut out = Vec::new();
        b.encode(&mut out);
        out
    };
    let one = Batch::from(vec![alice(1, get("x"))]);
    let two = Batch::from(vec![alice(1, get("x")), bob(1, get("y"))]);
    let (e0, e1, e2) = (encode(&Batch::noop()), encode(&one), encode(&two));
    assert!(!e1.starts_with(&e0));
    assert!(!e2.starts_with(&e1));
    assert_ne!(e0, e1);
    assert_eq!(Batch::noop().to_string(), "no-op");
}

#[test]
fn sizes_are_the_lengths_of_the_encodings_they_stand_for() {
    use bp_fast_paxos::log::value::LogValue;
    let encoded_len = |v: &dyn Fn(&mut Vec<u8>)| {
        let mut out = Vec::new();
        v(&mut out);
        out.len()
    };
    let commands = [
        alice(1, put("k", "value")),
        bob(2, get("a longer key")),
        alice(3, cas("k", None, "new")),
        bob(4, cas("k", Some("old value"), "")),
    ];
    for c in &commands {
        assert_eq!(
            c.encoded_len(),
            8 + encode_command(c.client, c.seq, &c.op).len() + 32
        );
    }
    for batch in [Batch::noop(), Batch::from(commands.to_vec())] {
        assert_eq!(batch.encoded_len(), encoded_len(&|out| batch.encode(out)));
        let slot = LogValue::Batch(batch.clone());
        assert_eq!(slot.encoded_len(), encoded_len(&|out| slot.encode(out)));
    }
    let noop: LogValue<Batch> = LogValue::Noop;
    assert_eq!(noop.encoded_len(), encoded_len(&|out| noop.encode(out)));
    let text = "a string".to_string();
    assert_eq!(text.encoded_len(), encoded_len(&|out| text.encode(out)));
}

/// A proposer that restarts never hears of the slots decided before: its queue must still
/// forget what it learns, or each LEARN costs it more (found by `bpfp simulate`).
#[test]
fn a_restarted_proposers_queue_stays_small() {
    use bp_fast_paxos::log::value::LogValue;
    use bp_fast_paxos::service::queue::Queue;
    use bp_fast_paxos::types::AcceptorId;
    let mut queue = Queue::default();
    for slot in 1_000..1_200 {
        for a in 0..3 {
            queue.learn(3, AcceptorId(a), 0, slot, &LogValue::Noop);
        }
    }
    assert_eq!(queue.highest_decided, Some(1_199));
    assert!(
        queue.learner.kept_slots() < 10,
        "{} slots kept",
        queue.learner.kept_slots()
    );
}
