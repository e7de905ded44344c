//! Pacing of fragment bursts. A message of many fragments sent back to back lands in the
//! receiver's socket buffer at once; a buffer of the kernel's default size (208 KiB) holds
//! about three 64 KB fragments, so while the receiver syncs or waits for a core the rest are
//! dropped, and the same ones on every resend. Spacing the fragments on each link lets the
//! receiver read them as they come. Pure: the caller gives the time and sends at the times
//! returned.

use stateright::actor::Id;
use std::collections::BTreeMap;

/// The gap between two fragments on one link, in µs: 64 KB a millisecond, faster than a
/// receiver verifies them.
pub const FRAGMENT_GAP_US: u64 = 1_000;
/// The longest a link's paced fragments may queue, in µs. A message that would wait longer is
/// dropped whole, as a full send buffer drops it; the protocol's resends recover.
pub const MAX_BACKLOG_US: u64 = 400_000;

/// When each link is free again.
#[derive(Clone, Debug)]
pub struct Pacer {
    gap_us: u64,
    max_backlog_us: u64,
    free_at: BTreeMap<Id, u64>,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::new(FRAGMENT_GAP_US, MAX_BACKLOG_US)
    }
}

impl Pacer {
    pub fn new(gap_us: u64, max_backlog_us: u64) -> Self {
        Pacer {
            gap_us,
            max_backlog_us,
            free_at: BTreeMap::new(),
        }
    }

    /// The times (µs, on the caller's clock) at which to send the `count` datagrams of one
    /// message to `dst` at `now`; `None` if the link's backlog is full (drop the message).
    /// A message of one datagram goes at once: small messages never wait behind bulk ones.
    pub fn schedule(&mut self, dst: Id, now: u64, count: usize) -> Option<Vec<u64>> {
        if count <= 1 {
            return Some(vec![now; count]);
        }
        let free = self.free_at.get(&dst).copied().unwrap_or(0);
        let start = free.max(now);
        if start - now > self.max_backlog_us {
            return None;
        }
        let times: Vec<u64> = (0..count as u64).map(|k| start + k * self.gap_us).collect();
        self.free_at.insert(dst, start + count as u64 * self.gap_us);
        Some(times)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_spaced_and_follow_the_links_backlog() {
        let mut pacer = Pacer::new(1_000, 10_000);
        let a = Id::from(1);
        assert_eq!(pacer.schedule(a, 100, 3), Some(vec![100, 1_100, 2_100]));
        // The next message on the same link waits for the first.
        assert_eq!(pacer.schedule(a, 200, 2), Some(vec![3_100, 4_100]));
        // Another link is free.
        assert_eq!(pacer.schedule(Id::from(2), 200, 2), Some(vec![200, 1_200]));
        // A single datagram never waits.
        assert_eq!(pacer.schedule(a, 300, 1), Some(vec![300]));
    }

    #[test]
    fn a_message_beyond_the_backlog_is_dropped() {
        let mut pacer = Pacer::new(1_000, 10_000);
        let a = Id::from(1);
        assert!(pacer.schedule(a, 0, 11).is_some());
        assert_eq!(pacer.schedule(a, 0, 2), None, "11 ms queued, 10 allowed");
        assert!(pacer.schedule(a, 2_000, 2).is_some(), "9 ms left to wait");
    }
}
