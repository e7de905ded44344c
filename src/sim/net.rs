//! The simulated network: each datagram is lost, duplicated or delayed (so reordered) by
//! seeded choices, cut by a partition, or dropped for its size, and otherwise delivered after
//! a delay drawn from a distribution with a long tail.

use crate::runtime::faults::FaultRng;
use stateright::actor::Id;
use std::collections::BTreeSet;

/// The largest UDP payload over IPv4: a larger datagram never arrives.
pub const UDP_MAX_PAYLOAD: usize = 65_507;

/// How the network treats datagrams.
#[derive(Clone, Debug, PartialEq)]
pub struct NetProfile {
    pub loss: f64,
    pub duplicate: f64,
    /// The chance that a datagram takes the long tail of the delay distribution.
    pub slow: f64,
    /// Every datagram takes between these, in µs.
    pub min_delay_us: u64,
    pub typical_delay_us: u64,
    /// The longest delay of the tail, in µs.
    pub max_delay_us: u64,
}

impl NetProfile {
    /// A healthy network: no loss, small delays.
    pub fn calm() -> Self {
        NetProfile {
            loss: 0.0,
            duplicate: 0.0,
            slow: 0.0,
            min_delay_us: 50,
            typical_delay_us: 300,
            max_delay_us: 300,
        }
    }

    /// The faulty network of a run: 10 % lost, 5 % duplicated, 10 % delayed up to 20 ms.
    pub fn faulty() -> Self {
        NetProfile {
            loss: 0.10,
            duplicate: 0.05,
            slow: 0.10,
            min_delay_us: 50,
            typical_delay_us: 500,
            max_delay_us: 20_000,
        }
    }
}

/// What the network did, over the run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetCounts {
    pub sent: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub slow: u64,
    pub partitioned: u64,
    pub oversized: u64,
}

/// The network: its profile and the current partition.
pub struct Network {
    pub profile: NetProfile,
    /// The nodes cut off from the rest (both ways); empty when healed.
    pub cut: BTreeSet<Id>,
    pub counts: NetCounts,
}

impl Network {
    pub fn new(profile: NetProfile) -> Self {
        Network {
            profile,
            cut: BTreeSet::new(),
            counts: NetCounts::default(),
        }
    }

    /// The delays (µs from now) after which copies of a datagram of `len` bytes from `from`
    /// arrive at `to`: none if it is lost.
    pub fn fate(&mut self, from: Id, to: Id, len: usize, rng: &mut FaultRng) -> Vec<u64> {
        self.counts.sent += 1;
        if len > UDP_MAX_PAYLOAD {
            self.counts.oversized += 1;
            return Vec::new();
        }
        if self.cut.contains(&from) != self.cut.contains(&to) {
            self.counts.partitioned += 1;
            return Vec::new();
        }
        let p = &self.profile;
        if rng.chance(p.loss) {
            self.counts.lost += 1;
            return Vec::new();
        }
        let copies = if rng.chance(p.duplicate) {
            self.counts.duplicated += 1;
            2
        } else {
            1
        };
        (0..copies)
            .map(|_| {
                let typical = p.min_delay_us + rng.below(p.typical_delay_us.max(1));
                if rng.chance(p.slow) {
                    self.counts.slow += 1;
                    // Squared: most slow datagrams are a little late, a few very late.
                    let u = rng.unit();
                    typical + (u * u * p.max_delay_us as f64) as u64
                } else {
                    typical
                }
            })
            .collect()
    }
}
