//! A server's socket receive buffer. A real server reads one datagram, verifies it, takes its
//! step and syncs, then reads the next; what arrives meanwhile waits in the kernel's buffer
//! (`SO_RCVBUF`), and a datagram that finds the buffer full is dropped. A burst of large
//! fragments overflows a buffer of the default size while its reader is busy: a loss that
//! falls on every copy of a message alike, which the network's independent losses never show.

use std::collections::VecDeque;

/// The kernel's default receive buffer on Linux (`net.core.rmem_default`).
pub const DEFAULT_RCVBUF: usize = 212_992;

/// The time a 64 KB fragment takes on loopback after the one before it, in µs.
pub const WIRE_US_PER_FRAGMENT: u64 = 10;

/// How a server's receive buffer fills and drains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxProfile {
    /// Bytes the buffer holds, counted as the kernel counts them ([`charge`]).
    pub capacity: usize,
    /// The server's time per byte of a datagram it reads (authentication, reassembly), in ns.
    pub ns_per_byte: u64,
}

impl RxProfile {
    /// A buffer of the kernel's default size, on a busy machine.
    pub fn kernel_default() -> Self {
        RxProfile {
            capacity: DEFAULT_RCVBUF,
            ns_per_byte: 5,
        }
    }

    /// How long the server takes to read a datagram of `len` bytes, in µs.
    pub fn read_us(&self, len: usize) -> u64 {
        (len as u64 * self.ns_per_byte).div_ceil(1000)
    }
}

/// What a datagram of `len` bytes takes of the buffer: the kernel counts the memory it was
/// received into (its `truesize`). On loopback `/proc/net/udp` showed 832 bytes queued for
/// one small datagram and 102,488 for one of 65,000 bytes: about this.
pub fn charge(len: usize) -> usize {
    768 + len + len / 2
}

/// One server's buffer: the datagrams waiting, and until when the server is busy.
#[derive(Clone, Debug, Default)]
pub struct RxBuffer {
    waiting: VecDeque<Vec<u8>>,
    held: usize,
    /// The server reads nothing before this time (µs).
    pub busy_until: u64,
    /// Whether a drain of the buffer is scheduled.
    pub draining: bool,
    /// Datagrams dropped because the buffer was full.
    pub overflowed: u64,
}

impl RxBuffer {
    /// Whether the server would read a datagram arriving at `now` at once.
    pub fn idle(&self, now: u64) -> bool {
        self.waiting.is_empty() && self.busy_until <= now
    }

    /// Queues an arriving datagram; false if the buffer has no room for it (dropped).
    pub fn offer(&mut self, profile: &RxProfile, datagram: Vec<u8>) -> bool {
        let size = charge(datagram.len());
        // As Linux does, a datagram is taken while the buffer is not yet over its size.
        if self.held > profile.capacity {
            self.overflowed += 1;
            return false;
        }
        self.held += size;
        self.waiting.push_back(datagram);
        true
    }

    /// The oldest datagram waiting.
    pub fn take(&mut self) -> Option<Vec<u8>> {
        let datagram = self.waiting.pop_front()?;
        self.held -= charge(datagram.len());
        Some(datagram)
    }

    /// Empties the buffer: its socket closed with the server.
    pub fn clear(&mut self) {
        self.waiting.clear();
        self.held = 0;
        self.draining = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::pacing::Pacer;
    use stateright::actor::Id;
    use std::collections::BTreeSet;

    /// The fragments of one message of `count` fragments that a reader with a default buffer
    /// gets when the message is sent `copies` times, 50 ms apart (a leader's resends), spaced
    /// by `pacer`; the reader is busy `busy_us` (a sync, a wait for a core) as each copy
    /// starts to arrive.
    fn received(pacer: &mut Pacer, count: usize, copies: u64, busy_us: u64) -> BTreeSet<u8> {
        let profile = RxProfile::kernel_default();
        let mut arrivals = Vec::new();
        for copy in 0..copies {
            let sent = copy * 50_000;
            let times = pacer.schedule(Id::from(1), sent, count).expect("room");
            for (k, at) in times.into_iter().enumerate() {
                arrivals.push((at + 50 + k as u64 * WIRE_US_PER_FRAGMENT, k as u8, sent));
            }
        }
        arrivals.sort();
        let (mut rx, mut got) = (RxBuffer::default(), BTreeSet::new());
        let mut busy_for = None;
        for (at, k, copy) in arrivals {
            if busy_for != Some(copy) {
                busy_for = Some(copy);
                rx.busy_until = rx.busy_until.max(at) + busy_us;
            }
            // The reader takes what waits while it is free before this arrival.
            while rx.busy_until <= at {
                let Some(d) = rx.take() else { break };
                got.insert(d[0]);
                rx.busy_until += profile.read_us(d.len());
            }
            let mut datagram = vec![0; 65_000];
            datagram[0] = k;
            if rx.idle(at) {
                got.insert(k);
                rx.busy_until = at + profile.read_us(datagram.len());
            } else {
                rx.offer(&profile, datagram);
            }
        }
        while let Some(d) = rx.take() {
            got.insert(d[0]);
        }
        got
    }

    /// Issue 12's stall: the torture's leader resent a NEWROUND of 7 fragments every 50 ms,
    /// and a busy acceptor's buffer kept the first 3 of each burst, the same 3 every time.
    #[test]
    fn a_burst_larger_than_the_buffer_loses_the_same_fragments_on_every_resend() {
        let unpaced = received(&mut Pacer::new(0, 0), 7, 20, 2_000);
        assert_eq!(unpaced, BTreeSet::from([0, 1, 2]));
    }

    #[test]
    fn paced_fragments_all_reach_a_busy_reader() {
        let paced = received(&mut Pacer::default(), 7, 1, 2_000);
        assert_eq!(paced, (0..7).collect(), "one copy arrives whole");
        let large = received(&mut Pacer::default(), 100, 1, 2_000);
        assert_eq!(large.len(), 100, "so does one of the largest messages");
    }

    #[test]
    fn a_burst_of_fragments_overflows_the_default_buffer() {
        let profile = RxProfile::kernel_default();
        let mut rx = RxBuffer::default();
        let taken = (0..10)
            .filter(|_| rx.offer(&profile, vec![0; 65_000]))
            .count();
        assert_eq!(
            taken, 3,
            "three 64 KB fragments fill 208 KiB as the kernel counts"
        );
        assert_eq!(rx.overflowed, 7);
        assert!(!rx.offer(&profile, vec![0; 65_000]), "full");
        assert_eq!(rx.take().map(|d| d.len()), Some(65_000));
        assert!(
            rx.offer(&profile, vec![0; 65_000]),
            "reading one makes room"
        );
    }

    #[test]
    fn small_datagrams_fit_by_the_hundred() {
        let profile = RxProfile::kernel_default();
        let mut rx = RxBuffer::default();
        let taken = (0..300)
            .filter(|_| rx.offer(&profile, vec![0; 200]))
            .count();
        assert_eq!(taken, 200, "1,068 bytes each: 200 fit in 208 KiB");
    }
}
