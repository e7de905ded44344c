//! The linearizability checker on hand-written histories whose verdict is known, on generated
//! ones (linearizable by construction, then corrupted), and against stateright's own tester.

use bp_fast_paxos::service::command::Op;
use bp_fast_paxos::service::kv::Reply;
use bp_fast_paxos::torture::history::{
    Event, EventType, Func, HistoryError, Recorder, read_jsonl, write_jsonl,
};
use bp_fast_paxos::torture::linearizable::{
    CasRegister, RegisterOp, RegisterRet, Verdict, check, check_with_budget,
};
use serde_json::{Value, json};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use EventType::{Fail, Info, Invoke, Ok as Done};
use Func::{Cas, Read, Write};

fn ev(process: u64, kind: EventType, f: Func, key: &str, value: Value) -> Event {
    Event {
        process,
        kind,
        f,
        key: key.to_string(),
        value,
        time: 0,
    }
}

/// A history in list order, its times 10 ns apart.
fn hist(events: impl IntoIterator<Item = Event>) -> Vec<Event> {
    let mut events: Vec<Event> = events.into_iter().collect();
    for (i, e) in events.iter_mut().enumerate() {
        e.time = 10 * i as u64;
    }
    events
}

fn s(v: Option<&str>) -> Value {
    v.map_or(Value::Null, Value::from)
}

fn w_inv(p: u64, k: &str, v: &str) -> Event {
    ev(p, Invoke, Write, k, json!(v))
}
fn w_end(p: u64, kind: EventType, k: &str, v: &str) -> Event {
    ev(p, kind, Write, k, json!(v))
}
fn r_inv(p: u64, k: &str) -> Event {
    ev(p, Invoke, Read, k, Value::Null)
}
fn r_ok(p: u64, k: &str, v: Option<&str>) -> Event {
    ev(p, Done, Read, k, s(v))
}
fn c_inv(p: u64, k: &str, e: Option<&str>, n: &str) -> Event {
    ev(p, Invoke, Cas, k, json!([s(e), n]))
}
fn c_end(p: u64, kind: EventType, k: &str, e: Option<&str>, n: &str) -> Event {
    ev(p, kind, Cas, k, json!([s(e), n]))
}
/// A write that completes before anything else happens.
fn write(p: u64, k: &str, v: &str) -> [Event; 2] {
    [w_inv(p, k, v), w_end(p, Done, k, v)]
}
fn read(p: u64, k: &str, v: Option<&str>) -> [Event; 2] {
    [r_inv(p, k), r_ok(p, k, v)]
}
fn cas(p: u64, kind: EventType, k: &str, e: Option<&str>, n: &str) -> [Event; 2] {
    [c_inv(p, k, e, n), c_end(p, kind, k, e, n)]
}

fn verdict(events: &[Event]) -> Verdict {
    check(events).expect("a well-formed history")
}

fn assert_lin(events: &[Event]) {
    let v = verdict(events);
    assert!(v.is_linearizable(), "expected linearizable, got {v}");
}

fn assert_not_lin(events: &[Event]) -> Vec<Event> {
    match verdict(events) {
        Verdict::NotLinearizable { witness, .. } => {
            // The witness is a history of its own, and already not linearizable.
            assert!(
                matches!(verdict(&witness), Verdict::NotLinearizable { .. }),
                "witness {witness:?}"
            );
            witness
        }
        v => panic!("expected not linearizable, got {v}"),
    }
}

#[test]
fn empty_history_is_linearizable() {
    assert_eq!(verdict(&[]), Verdict::Linearizable { keys: 0, ops: 0 });
}

#[test]
fn sequential_write_then_read() {
    let h = hist([write(1, "x", "a"), read(2, "x", Some("a"))].concat());
    assert_eq!(verdict(&h), Verdict::Linearizable { keys: 1, ops: 2 });
    assert_lin(&hist(read(1, "x", None)));
}

#[test]
fn concurrent_read_sees_old_or_new() {
    for seen in [None, Some("a")] {
        assert_lin(&hist([
            w_inv(1, "x", "a"),
            r_inv(2, "x"),
            r_ok(2, "x", seen),
            w_end(1, Done, "x", "a"),
        ]));
        // Overlapping the other way round.
        assert_lin(&hist([
            r_inv(2, "x"),
            w_inv(1, "x", "a"),
            w_end(1, Done, "x", "a"),
            r_ok(2, "x", seen),
        ]));
    }
}

#[test]
fn concurrent_reads_must_agree_on_one_order() {
    // Two reads during a write may see new then old only if they overlap each other.
    assert_lin(&hist([
        w_inv(1, "x", "a"),
        r_inv(2, "x"),
        r_inv(3, "x"),
        r_ok(2, "x", Some("a")),
        r_ok(3, "x", None),
        w_end(1, Done, "x", "a"),
    ]));
    // Once a read has returned the new value, a later read cannot see the old one.
    assert_not_lin(&hist([
        w_inv(1, "x", "a"),
        r_inv(2, "x"),
        r_ok(2, "x", Some("a")),
        r_inv(3, "x"),
        r_ok(3, "x", None),
        w_end(1, Done, "x", "a"),
    ]));
}

#[test]
fn read_of_a_value_never_written() {
    let h = hist([write(1, "x", "a"), read(2, "x", Some("z"))].concat());
    let witness = assert_not_lin(&h);
    assert_eq!(witness, h[2..]);
}

#[test]
fn stale_read_after_a_completed_write() {
    let h = hist(
        [
            write(1, "x", "a"),
            write(1, "x", "b"),
            read(2, "x", Some("a")),
        ]
        .concat(),
    );
    let witness = assert_not_lin(&h);
    assert_eq!(witness.len(), 6, "{witness:?}");
}

#[test]
fn lost_write() {
    assert_not_lin(&hist([write(1, "x", "a"), read(2, "x", None)].concat()));
}

#[test]
fn info_write_may_take_effect_later_or_never() {
    // Its effect shows up in a later read, even after the info.
    let h = hist(
        [
            vec![w_inv(1, "x", "a"), w_end(1, Info, "x", "a")],
            read(2, "x", None).to_vec(),
            read(2, "x", Some("a")).to_vec(),
        ]
        .concat(),
    );
    assert_lin(&h);
    // Never observed.
    assert_lin(&hist(
        [
            vec![w_inv(1, "x", "a"), w_end(1, Info, "x", "a")],
            read(2, "x", None).to_vec(),
        ]
        .concat(),
    ));
    // Never completed at all.
    assert_lin(&hist([
        w_inv(1, "x", "a"),
        r_inv(2, "x"),
        r_ok(2, "x", Some("a")),
    ]));
    // But not before it was invoked.
    assert_not_lin(&hist(
        [
            read(2, "x", Some("a")).to_vec(),
            vec![w_inv(1, "x", "a"), w_end(1, Info, "x", "a")],
        ]
        .concat(),
    ));
    // And once observed, it has happened: the value before it cannot come back.
    assert_not_lin(&hist(
        [
            write(3, "x", "old").to_vec(),
            vec![w_inv(1, "x", "a"), w_end(1, Info, "x", "a")],
            read(2, "x", Some("a")).to_vec(),
            read(2, "x", Some("old")).to_vec(),
        ]
        .concat(),
    ));
}

#[test]
fn a_process_may_invoke_again_after_info() {
    // Process 1's first write stays in flight forever, concurrent with its second one.
    assert_lin(&hist(
        [
            vec![w_inv(1, "x", "a"), w_end(1, Info, "x", "a")],
            write(1, "x", "b").to_vec(),
            read(2, "x", Some("a")).to_vec(),
        ]
        .concat(),
    ));
}

#[test]
fn failed_operations_take_no_effect() {
    // A failed cas, no other writer: its value must never be read.
    assert_not_lin(&hist(
        [
            cas(1, Fail, "x", None, "a").to_vec(),
            read(2, "x", Some("a")).to_vec(),
        ]
        .concat(),
    ));
    // Not even while in flight.
    assert_not_lin(&hist([
        c_inv(1, "x", None, "a"),
        r_inv(2, "x"),
        r_ok(2, "x", Some("a")),
        c_end(1, Fail, "x", None, "a"),
    ]));
    assert_not_lin(&hist(
        [
            vec![w_inv(1, "x", "a"), w_end(1, Fail, "x", "a")],
            read(2, "x", Some("a")).to_vec(),
        ]
        .concat(),
    ));
    // A failed read says nothing.
    assert_lin(&hist([r_inv(1, "x"), ev(1, Fail, Read, "x", Value::Null)]));
}

#[test]
fn a_failed_cas_found_another_value() {
    // `fail` means the comparison failed: a cas not swapped while the register held the
    // expected value explains nothing.
    let w = assert_not_lin(&hist(
        [write(1, "x", "a"), cas(2, Fail, "x", Some("a"), "b")].concat(),
    ));
    assert!(w.iter().any(|e| e.kind == Fail), "{w:?}");
    assert_not_lin(&hist(cas(1, Fail, "x", None, "a")));
    // Concurrent with the write that made the value it expected: it may have gone first.
    assert_lin(&hist([
        w_inv(1, "x", "a"),
        c_inv(2, "x", Some("a"), "b"),
        c_end(2, Fail, "x", Some("a"), "b"),
        w_end(1, Done, "x", "a"),
    ]));
    // A failed cas is no writer: its new value is never read.
    assert_not_lin(&hist(
        [
            write(1, "x", "a").to_vec(),
            cas(2, Fail, "x", Some("z"), "b").to_vec(),
            read(3, "x", Some("b")).to_vec(),
        ]
        .concat(),
    ));
}

#[test]
fn cas_semantics() {
    // Swaps from absent, then from a value.
    assert_lin(&hist(
        [
            cas(1, Done, "x", None, "a"),
            cas(2, Done, "x", Some("a"), "b"),
            read(3, "x", Some("b")),
        ]
        .concat(),
    ));
    // A swap whose expected value is not the current one.
    assert_not_lin(&hist(
        [write(1, "x", "a"), cas(2, Done, "x", Some("z"), "b")].concat(),
    ));
    assert_not_lin(&hist(
        [write(1, "x", "a"), cas(2, Done, "x", None, "b")].concat(),
    ));
    // A failed cas leaves the value as it was.
    assert_lin(&hist(
        [
            write(1, "x", "a"),
            cas(2, Fail, "x", Some("z"), "b"),
            read(3, "x", Some("a")),
        ]
        .concat(),
    ));
    // Two concurrent cas from the same value: only one can win.
    assert_not_lin(&hist([
        c_inv(1, "x", None, "a"),
        c_inv(2, "x", None, "b"),
        c_end(1, Done, "x", None, "a"),
        c_end(2, Done, "x", None, "b"),
    ]));
    // An info cas that swapped, seen later.
    assert_lin(&hist(
        [
            write(1, "x", "a").to_vec(),
            vec![
                c_inv(2, "x", Some("a"), "b"),
                c_end(2, Info, "x", Some("a"), "b"),
            ],
            read(3, "x", Some("b")).to_vec(),
        ]
        .concat(),
    ));
    // An info cas cannot swap from a value the register never held.
    assert_not_lin(&hist(
        [
            write(1, "x", "a").to_vec(),
            vec![
                c_inv(2, "x", Some("z"), "b"),
                c_end(2, Info, "x", Some("z"), "b"),
            ],
            read(3, "x", Some("b")).to_vec(),
        ]
        .concat(),
    ));
}

#[test]
fn keys_are_independent() {
    let h = hist(
        [
            write(1, "x", "a"),
            write(1, "y", "b"),
            read(2, "x", Some("a")),
            read(2, "y", Some("b")),
        ]
        .concat(),
    );
    assert_eq!(verdict(&h), Verdict::Linearizable { keys: 2, ops: 4 });
    // The same value under another key does not count.
    let h = hist([write(1, "y", "a"), read(2, "x", Some("a"))].concat());
    match verdict(&h) {
        Verdict::NotLinearizable { key, .. } => assert_eq!(key, "x"),
        v => panic!("{v}"),
    }
}

fn malformed(events: &[Event]) -> (usize, String) {
    match check(events) {
        Err(HistoryError::Malformed { index, why, .. }) => (index, why),
        other => panic!("expected a malformed history, got {other:?}"),
    }
}

#[test]
fn malformed_histories_are_errors() {
    let (i, why) = malformed(&hist([write(1, "x", "a")[1].clone()]));
    assert_eq!(i, 0);
    assert!(why.contains("without an operation in flight"), "{why}");
    let (i, why) = malformed(&hist([w_inv(1, "x", "a"), r_inv(1, "x")]));
    assert_eq!(i, 1);
    assert!(why.contains("in flight"), "{why}");
    let (i, _) = malformed(&hist([w_inv(1, "x", "a"), r_ok(1, "x", Some("a"))]));
    assert_eq!(i, 1);
    let (i, _) = malformed(&hist([w_inv(1, "x", "a"), w_end(1, Done, "y", "a")]));
    assert_eq!(i, 1);
    let (i, _) = malformed(&hist([w_inv(1, "x", "a"), w_end(1, Done, "x", "b")]));
    assert_eq!(i, 1);
    let (i, why) = malformed(&hist([ev(1, Invoke, Write, "x", json!(3))]));
    assert_eq!(i, 0);
    assert!(why.contains("string"), "{why}");
    let (i, _) = malformed(&hist([ev(1, Invoke, Cas, "x", json!(["a"]))]));
    assert_eq!(i, 0);
    let (i, _) = malformed(&hist([r_inv(1, "x"), ev(1, Done, Read, "x", json!(1))]));
    assert_eq!(i, 1);
    // After info the process is free again, but only after.
    let err = check(&hist([
        w_inv(1, "x", "a"),
        w_end(1, Info, "x", "a"),
        w_end(1, Info, "x", "a"),
    ]))
    .unwrap_err();
    assert!(err.to_string().starts_with("event 2 (process 1)"), "{err}");
}

/// A long sequential history over one key with writes `v0, v1, …` and a read after each.
fn long_history(n: usize) -> Vec<Event> {
    let mut events = Vec::new();
    for i in 0..n {
        let v = format!("v{i}");
        events.extend(write(i as u64 % 3, "x", &v));
        events.extend(read(3 + i as u64 % 2, "x", Some(&v)));
    }
    events
}

#[test]
fn witness_is_minimised_and_keeps_the_offending_read() {
    let mut events = long_history(100);
    // Halfway, a read sees the value of two writes ago.
    let at = 4 * 50 + 3;
    assert_eq!(events[at].f, Read);
    events[at].value = json!("v48");
    let events = hist(events);
    let witness = assert_not_lin(&events);
    assert!(witness.contains(&events[at]), "{witness:?}");
    assert!(
        witness.len() < events.len() / 10,
        "{} events",
        witness.len()
    );
    // The read, the write it saw overwritten, and the write that overwrote it.
    assert_eq!(witness.len(), 6, "{witness:?}");
    assert!(witness.windows(2).all(|w| w[0].time <= w[1].time));
    let report = verdict(&events).to_string();
    assert!(
        report.starts_with("NOT linearizable: key \"x\""),
        "{report}"
    );
    assert!(report.contains("\"v48\""), "{report}");
}

#[test]
fn jsonl_round_trip_and_errors_name_the_line() {
    let events = hist(
        [
            write(1, "x", "a").to_vec(),
            read(2, "x", Some("a")).to_vec(),
            cas(3, Fail, "x", None, "b").to_vec(),
            vec![w_inv(4, "y", "c"), w_end(4, Info, "y", "c")],
            read(2, "y", None).to_vec(),
        ]
        .concat(),
    );
    let mut out = Vec::new();
    write_jsonl(&events, &mut out).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert_eq!(text.lines().count(), events.len());
    assert!(
        text.starts_with(
            r#"{"process":1,"type":"invoke","f":"write","key":"x","value":"a","time":0}"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#""type":"fail","f":"cas","key":"x","value":[null,"b"]"#),
        "{text}"
    );
    assert_eq!(read_jsonl(&out[..]).unwrap(), events);

    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = r#"{"process":2,"type":"done","f":"read","key":"x","value":null,"time":20}"#;
    match read_jsonl(lines.join("\n").as_bytes()) {
        Err(e @ HistoryError::Parse { line: 3, .. }) => {
            assert!(e.to_string().starts_with("line 3: "), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // Blank lines are skipped but still counted.
    lines[2] = "";
    lines[4] = "not json";
    assert!(matches!(
        read_jsonl(lines.join("\n").as_bytes()),
        Err(HistoryError::Parse { line: 5, .. })
    ));
}

/// A deterministic pseudo-random generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// A random operation on one of `keys` keys, its values drawn from `values` ones, or unique
/// (`values == 0`, numbered by `fresh`; a cas then expects one of the latest).
fn random_op(rng: &mut Rng, keys: usize, values: usize, fresh: &mut usize) -> Op {
    let key = format!("k{}", rng.below(keys));
    let new = |rng: &mut Rng, fresh: &mut usize| {
        *fresh += 1;
        format!(
            "v{}",
            if values == 0 {
                *fresh
            } else {
                rng.below(values)
            }
        )
    };
    let old = |rng: &mut Rng, fresh: &usize| {
        let v = match values {
            0 => fresh.saturating_sub(rng.below(3)),
            n => rng.below(n),
        };
        (!rng.chance(20)).then(|| format!("v{v}"))
    };
    match rng.below(3) {
        0 => Op::Get { key },
        1 => Op::Put {
            key,
            value: new(rng, fresh),
        },
        _ => Op::Cas {
            key,
            expected: old(rng, fresh),
            new: new(rng, fresh),
        },
    }
}

/// Applies `op` to `store` atomically, as the replicated store does.
fn apply(store: &mut HashMap<String, String>, op: &Op) -> Reply {
    match op {
        Op::Get { key } => Reply::Value(store.get(key).cloned()),
        Op::Put { key, value } => {
            store.insert(key.clone(), value.clone());
            Reply::Stored
        }
        Op::Cas { key, expected, new } => {
            let found = store.get(key).cloned();
            let swapped = found == *expected;
            if swapped {
                store.insert(key.clone(), new.clone());
            }
            Reply::Cas { swapped, found }
        }
    }
}

#[test]
fn sequential_random_history_then_one_corrupted_read() {
    let mut rng = Rng(7);
    let recorder = Recorder::new();
    let mut store = HashMap::new();
    for i in 0..200 {
        let op = random_op(&mut rng, 3, 4, &mut 0);
        let process = i % 5;
        recorder.invoke_op(process, &op);
        let reply = apply(&mut store, &op);
        recorder.complete_op(process, &op, Some(&reply)).unwrap();
    }
    let events = recorder.events();
    assert_eq!(events.len(), 400);
    assert!(events.windows(2).all(|w| w[0].time <= w[1].time));
    assert_eq!(
        verdict(&events),
        Verdict::Linearizable { keys: 3, ops: 200 }
    );
    // Corrupt one read (of the middle of the run) into a value it did not hold.
    let at = (200..400)
        .find(|&i| events[i].kind == Done && events[i].f == Read)
        .unwrap();
    let mut bad = events.clone();
    bad[at].value = match &bad[at].value {
        Value::Null => json!("v0"),
        _ => Value::Null,
    };
    let witness = assert_not_lin(&bad);
    assert!(witness.contains(&bad[at]), "{witness:?}");
    assert!(witness.len() < 20, "{witness:?}");
}

/// A concurrent history: `processes` clients over `keys` keys, each operation applied
/// atomically at a random point between its invoke and its completion, so linearizable by
/// construction. Some end `info` (applied before, after, or never); a cas that did not swap
/// ends `fail`.
fn concurrent_history(
    rng: &mut Rng,
    ops: usize,
    processes: u64,
    keys: usize,
    values: usize,
) -> Vec<Event> {
    enum Phase {
        Idle,
        Invoked(Op),
        Applied(Op, Reply),
    }
    let recorder = Recorder::new();
    let mut store = HashMap::new();
    let mut phases: Vec<Phase> = (0..processes).map(|_| Phase::Idle).collect();
    // Operations that ended `info` before taking effect, which may still take effect.
    let mut orphans: Vec<Op> = Vec::new();
    let (mut invoked, mut fresh) = (0, 0);
    loop {
        if !orphans.is_empty() && rng.chance(5) {
            let op = orphans.swap_remove(rng.below(orphans.len()));
            if rng.chance(50) {
                apply(&mut store, &op);
            }
        }
        let p = rng.below(processes as usize);
        phases[p] = match std::mem::replace(&mut phases[p], Phase::Idle) {
            Phase::Idle if invoked < ops => {
                invoked += 1;
                let op = random_op(rng, keys, values, &mut fresh);
                recorder.invoke_op(p as u64, &op);
                Phase::Invoked(op)
            }
            Phase::Idle => Phase::Idle,
            Phase::Invoked(op) if rng.chance(5) => {
                recorder.complete_op(p as u64, &op, None).unwrap();
                orphans.push(op);
                Phase::Idle
            }
            Phase::Invoked(op) => {
                let reply = apply(&mut store, &op);
                Phase::Applied(op, reply)
            }
            Phase::Applied(op, reply) => {
                let reply = (!rng.chance(5)).then_some(&reply);
                recorder.complete_op(p as u64, &op, reply).unwrap();
                Phase::Idle
            }
        };
        if invoked == ops && phases.iter().all(|p| matches!(p, Phase::Idle)) {
            return recorder.events();
        }
    }
}

/// stateright's linearizability tester on each key of `events`: fail writes and reads dropped,
/// a fail cas returning "not swapped", info ones left in flight (their process continuing under a fresh thread id).
fn stateright_verdict(events: &[Event]) -> bool {
    // How each invoke ended: index of invoke -> completion kind.
    let mut outcome: HashMap<usize, EventType> = HashMap::new();
    let mut open: HashMap<u64, usize> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        if e.kind == Invoke {
            open.insert(e.process, i);
        } else {
            outcome.insert(open.remove(&e.process).unwrap(), e.kind);
        }
    }
    type Tester = LinearizabilityTester<u64, CasRegister<String>>;
    let mut testers: BTreeMap<&str, Tester> = BTreeMap::new();
    let mut thread: HashMap<u64, u64> = HashMap::new();
    let mut fresh = 1000;
    let string = |v: &Value| v.as_str().map(str::to_string);
    for (i, e) in events.iter().enumerate() {
        let tester = testers
            .entry(&e.key)
            .or_insert_with(|| LinearizabilityTester::new(CasRegister(None)));
        let t = *thread.entry(e.process).or_insert(e.process);
        if e.kind == Invoke {
            if outcome.get(&i) == Some(&Fail) && e.f != Cas {
                continue;
            }
            let op = match e.f {
                Read => RegisterOp::Read,
                Write => RegisterOp::Write(string(&e.value).unwrap()),
                Cas => RegisterOp::Cas {
                    expected: string(&e.value[0]),
                    new: string(&e.value[1]).unwrap(),
                },
            };
            tester.on_invoke(t, op).unwrap();
            continue;
        }
        match e.kind {
            Done => {
                let ret = match e.f {
                    Read => RegisterRet::Read(string(&e.value)),
                    Write => RegisterRet::Written,
                    Cas => RegisterRet::Cas(true),
                };
                tester.on_return(t, ret).unwrap();
            }
            Info => {
                fresh += 1;
                thread.insert(e.process, fresh);
            }
            Fail if e.f == Cas => {
                tester.on_return(t, RegisterRet::Cas(false)).unwrap();
            }
            _ => {}
        }
    }
    testers.values().all(|t| t.is_consistent())
}

/// Random small concurrent histories, linearizable by construction, then cut short (leaving
/// operations in flight) and corrupted: both checkers must agree on each.
fn agree_with_stateright(seed: u64, rounds: usize) {
    let mut rng = Rng(seed);
    let (mut lin, mut not_lin) = (0, 0);
    for round in 0..rounds {
        let values = [0, 2, 3][round % 3];
        let processes = 2 + (round % 3) as u64;
        let mut events =
            concurrent_history(&mut rng, 4 + round % 7, processes, 1 + round % 2, values);
        if rng.chance(30) {
            events.truncate(1 + rng.below(events.len()));
        }
        assert!(verdict(&events).is_linearizable(), "{events:#?}");
        assert!(stateright_verdict(&events));
        // Corrupt one completion: a read's value, or an outcome.
        let mut written: Vec<Value> = vec![Value::Null, json!("v0")];
        for e in &events {
            match e.f {
                Write => written.push(e.value.clone()),
                Cas => written.push(e.value[1].clone()),
                Read => {}
            }
        }
        let done: Vec<usize> = (0..events.len())
            .filter(|&i| events[i].kind != Invoke)
            .collect();
        if done.is_empty() {
            continue;
        }
        let at = done[rng.below(done.len())];
        let e = &mut events[at];
        match (e.f, e.kind) {
            (Read, Done) => e.value = written[rng.below(written.len())].clone(),
            (Read, _) => {}
            (_, Done) => e.kind = Fail,
            (_, Fail) => e.kind = Done,
            (_, _) => e.kind = [Done, Fail][rng.below(2)],
        }
        let ours = verdict(&events);
        assert_eq!(
            ours.is_linearizable(),
            stateright_verdict(&events),
            "{ours}\n{events:#?}"
        );
        match ours {
            Verdict::NotLinearizable { witness, .. } => {
                assert!(!stateright_verdict(&witness), "{witness:#?}");
                assert!(witness.iter().all(|w| events.contains(w)));
                not_lin += 1;
            }
            _ => lin += 1,
        }
    }
    // Both kinds of corrupted histories occur.
    assert!(lin > rounds / 8 && not_lin > rounds / 8, "{lin} {not_lin}");
}

#[test]
fn concurrent_random_histories_agree_with_stateright() {
    agree_with_stateright(2024, 600);
}

/// The same at length: `cargo test --release --test linearizable -- --ignored`.
#[test]
#[ignore]
fn many_more_random_histories_agree_with_stateright() {
    for seed in 0..20 {
        agree_with_stateright(seed, 5_000);
    }
}

#[test]
fn recorder_is_shared_by_threads() {
    let recorder = Recorder::new();
    let store = std::sync::Mutex::new(HashMap::new());
    std::thread::scope(|scope| {
        for p in 0..8u64 {
            let (recorder, store) = (recorder.clone(), &store);
            scope.spawn(move || {
                let mut rng = Rng(p);
                for _ in 0..200 {
                    let op = random_op(&mut rng, 2, 5, &mut 0);
                    recorder.invoke_op(p, &op);
                    let reply = apply(&mut store.lock().unwrap(), &op);
                    recorder.complete_op(p, &op, Some(&reply)).unwrap();
                }
            });
        }
    });
    let events = recorder.events();
    assert_eq!(events.len(), 8 * 200 * 2);
    assert_eq!(
        verdict(&events),
        Verdict::Linearizable { keys: 2, ops: 1600 }
    );
    // A reply that does not answer the operation is an error, recorded as info.
    let op = Op::Get { key: "x".into() };
    recorder.invoke_op(9, &op);
    assert!(matches!(
        recorder.complete_op(9, &op, Some(&Reply::Stored)),
        Err(HistoryError::MismatchedReply { .. })
    ));
    assert_eq!(recorder.events().last().unwrap().kind, Info);
}

#[test]
fn large_concurrent_history_is_checked_quickly() {
    let mut rng = Rng(99);
    let events = concurrent_history(&mut rng, 20_000, 10, 1, 0);
    let start = Instant::now();
    let v = verdict(&events);
    assert!(v.is_linearizable(), "{v}");
    let took = start.elapsed();
    eprintln!("20000 operations, 10 processes, 1 key: {took:?}");
    assert!(took.as_secs() < 10, "{took:?}");
}

#[test]
fn an_exhausted_budget_is_unknown_not_ok() {
    let mut rng = Rng(5);
    let events = concurrent_history(&mut rng, 200, 5, 1, 3);
    match check_with_budget(&events, 10).unwrap() {
        Verdict::Unknown { key, why } => {
            assert_eq!(key, "k0");
            assert!(why.contains("budget"), "{why}");
        }
        v => panic!("{v}"),
    }
    assert!(
        check_with_budget(&events, u64::MAX)
            .unwrap()
            .is_linearizable()
    );
}
