//! The liveness check of a run, a pure function of its history: every operation invoked once
//! the cluster has had time to recover from the healed faults completes (ok or fail, not
//! unknown) within the client timeout, and the final reads of every key complete.

use crate::torture::history::{Event, EventType};
use std::collections::BTreeMap;

/// The process of the fresh client that reads every key at the end of a run.
pub const FINAL_READER: u64 = 1_000_000;

/// The bound a run must meet, in the history's time (nanoseconds since its start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// Operations invoked at or after this time must complete.
    pub recovered_ns: u64,
    /// Within this long of their invocation.
    pub timeout_ns: u64,
    /// How many final reads (one per key) must complete.
    pub final_reads: usize,
}

/// What the check found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Liveness {
    /// Operations invoked after recovery that did not complete within the bound.
    pub stuck: usize,
    /// Final reads that completed.
    pub final_reads: usize,
    /// The longest operation invoked after recovery, in µs.
    pub slowest_after_recovery_us: u64,
}

impl Liveness {
    /// Whether the bound was met.
    pub fn holds(&self, bound: &Bound) -> bool {
        self.stuck == 0 && self.final_reads >= bound.final_reads
    }
}

/// Checks `history` against `bound`.
pub fn check_liveness(history: &[Event], bound: &Bound) -> Liveness {
    let mut found = Liveness::default();
    let mut invoked: BTreeMap<u64, u64> = BTreeMap::new();
    for e in history {
        if e.kind == EventType::Invoke {
            invoked.insert(e.process, e.time);
            continue;
        }
        if e.process == FINAL_READER && e.kind == EventType::Ok {
            found.final_reads += 1;
        }
        let started = invoked.remove(&e.process).unwrap_or(0);
        if started < bound.recovered_ns {
            continue;
        }
        let took = e.time.saturating_sub(started);
        found.slowest_after_recovery_us = found.slowest_after_recovery_us.max(took / 1000);
        if e.kind == EventType::Info || took > bound.timeout_ns {
            found.stuck += 1;
        }
    }
    // Still pending at the end: never completed.
    found.stuck += invoked
        .values()
        .filter(|t| **t >= bound.recovered_ns)
        .count();
    found
}
