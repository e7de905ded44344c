//! The simulator's liveness check on crafted histories: it holds on one within the bound and
//! fails on each way of breaking it.

use bp_fast_paxos::sim::liveness::{Bound, FINAL_READER, check_liveness};
use bp_fast_paxos::torture::history::{Event, EventType, Func};

const MS: u64 = 1_000_000;

fn event(process: u64, kind: EventType, time_ms: u64) -> Event {
    Event {
        process,
        kind,
        f: Func::Read,
        key: "k".into(),
        value: serde_json::Value::Null,
        time: time_ms * MS,
    }
}

fn bound() -> Bound {
    Bound {
        recovered_ns: 100 * MS,
        timeout_ns: 20 * MS,
        final_reads: 1,
    }
}

/// Invocations and completions after recovery, within the timeout, and a final read.
fn healthy() -> Vec<Event> {
    vec![
        // Before recovery: slow and unknown, which the bound allows.
        event(1, EventType::Invoke, 10),
        event(1, EventType::Info, 90),
        event(2, EventType::Invoke, 100),
        event(2, EventType::Ok, 115),
        event(FINAL_READER, EventType::Invoke, 200),
        event(FINAL_READER, EventType::Ok, 201),
    ]
}

#[test]
fn a_history_within_the_bound_holds() {
    let found = check_liveness(&healthy(), &bound());
    assert!(found.holds(&bound()), "{found:?}");
    assert_eq!(found.slowest_after_recovery_us, 15_000);
}

#[test]
fn an_operation_unknown_after_recovery_breaks_it() {
    let mut history = healthy();
    history.push(event(3, EventType::Invoke, 150));
    history.push(event(3, EventType::Info, 170));
    let found = check_liveness(&history, &bound());
    assert_eq!(found.stuck, 1);
    assert!(!found.holds(&bound()));
}

#[test]
fn an_operation_slower_than_the_timeout_breaks_it() {
    let mut history = healthy();
    history.push(event(3, EventType::Invoke, 150));
    history.push(event(3, EventType::Ok, 171));
    assert!(!check_liveness(&history, &bound()).holds(&bound()));
}

#[test]
fn an_operation_never_completed_breaks_it() {
    let mut history = healthy();
    history.push(event(3, EventType::Invoke, 150));
    assert_eq!(check_liveness(&history, &bound()).stuck, 1);
}

#[test]
fn a_final_read_that_did_not_complete_breaks_it() {
    let mut history = healthy();
    history.truncate(4);
    history.push(event(FINAL_READER, EventType::Invoke, 200));
    history.push(event(FINAL_READER, EventType::Info, 220));
    let found = check_liveness(&history, &bound());
    assert_eq!(found.final_reads, 0);
    assert!(!found.holds(&bound()));
}
