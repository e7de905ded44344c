//! Fault injection for torture runs: a node's outgoing datagrams lost, duplicated, delayed
//! (and so reordered) with seeded pseudo-random choices, and partitions that cut chosen nodes
//! off, and a latency added to every datagram (a slow network, on which a round takes longer
//! than on loopback). The protocol must tolerate all of it (PROTOCOL.md §1: channels may lose,
//! duplicate and reorder); the torture run checks that it does.

use stateright::actor::Id;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often each fault strikes a datagram, in [0, 1].
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRates {
    pub loss: f64,
    pub duplicate: f64,
    /// Delayed by up to `max_delay`, so later datagrams overtake it.
    pub delay: f64,
    pub max_delay: Duration,
}

impl FaultRates {
    pub fn none() -> Self {
        FaultRates {
            loss: 0.0,
            duplicate: 0.0,
            delay: 0.0,
            max_delay: Duration::ZERO,
        }
    }
}

/// What the faults did, over all nodes.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub lost: AtomicU64,
    pub duplicated: AtomicU64,
    pub delayed: AtomicU64,
    pub partitioned: AtomicU64,
}

impl FaultCounts {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// The faults of a whole cluster: rates, the isolated nodes, and the counts. Shared by its
/// nodes and by whoever drives the run.
#[derive(Debug)]
pub struct Faults {
    rates: Mutex<FaultRates>,
    isolated: Mutex<BTreeSet<Id>>,
    /// Added to every datagram that is sent, before any injected delay.
    latency: Mutex<Duration>,
    pub counts: FaultCounts,
    seed: u64,
}

/// What to do with one outgoing datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Drop,
    /// Send it this many times, each after its delay (zero: now).
    Send {
        copies: u8,
        delay: Duration,
    },
}

impl Faults {
    pub fn new(rates: FaultRates, seed: u64) -> Arc<Self> {
        Arc::new(Faults {
            rates: Mutex::new(rates),
            isolated: Mutex::new(BTreeSet::new()),
            latency: Mutex::new(Duration::ZERO),
            counts: FaultCounts::default(),
            seed,
        })
    }

    /// New rates from now on (a run heals by setting [`FaultRates::none`]).
    pub fn set_rates(&self, rates: FaultRates) {
        if let Ok(mut r) = self.rates.lock() {
            *r = rates;
        }
    }

    /// Every datagram sent from now on arrives `latency` later (zero: as fast as it can).
    pub fn set_latency(&self, latency: Duration) {
        if let Ok(mut l) = self.latency.lock() {
            *l = latency;
        }
    }

    /// Cuts `node` off: every datagram to or from it is lost until [`Faults::heal`].
    pub fn isolate(&self, node: Id) {
        if let Ok(mut isolated) = self.isolated.lock() {
            isolated.insert(node);
        }
    }

    pub fn heal(&self) {
        if let Ok(mut isolated) = self.isolated.lock() {
            isolated.clear();
        }
    }

    /// The random source of node `id`: seeded from the run's seed and the node, so that a
    /// seed replays the same choices for the same sequence of sends.
    pub fn rng_for(&self, id: Id) -> FaultRng {
        FaultRng::new(self.seed ^ (usize::from(id) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The fate of a datagram from `from` to `to`.
    pub fn fate(&self, from: Id, to: Id, rng: &mut FaultRng) -> Fate {
        let cut = self
            .isolated
            .lock()
            .map(|i| i.contains(&from) || i.contains(&to))
            .unwrap_or(false);
        if cut {
            FaultCounts::bump(&self.counts.partitioned);
            return Fate::Drop;
        }
        let rates = match self.rates.lock() {
            Ok(r) => r.clone(),
            Err(_) => FaultRates::none(),
        };
        if rng.chance(rates.loss) {
            FaultCounts::bump(&self.counts.lost);
            return Fate::Drop;
        }
        let copies = if rng.chance(rates.duplicate) {
            FaultCounts::bump(&self.counts.duplicated);
            2
        } else {
            1
        };
        let delay = if rng.chance(rates.delay) {
            FaultCounts::bump(&self.counts.delayed);
            rates.max_delay.mul_f64(rng.unit())
        } else {
            Duration::ZERO
        };
        let latency = self.latency.lock().map_or(Duration::ZERO, |l| *l);
        Fate::Send {
            copies,
            delay: latency + delay,
        }
    }
}

impl FaultCounts {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A xorshift generator: reproducible from its seed, not a secret.
#[derive(Clone, Debug)]
pub struct FaultRng(u64);

impl FaultRng {
    pub fn new(seed: u64) -> Self {
        FaultRng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_delays_every_datagram_that_is_sent() {
        let faults = Faults::new(FaultRates::none(), 3);
        let mut rng = faults.rng_for(Id::from(0));
        let (from, to) = (Id::from(0), Id::from(1));
        let now = |rng: &mut FaultRng| faults.fate(from, to, rng);
        assert_eq!(
            now(&mut rng),
            Fate::Send {
                copies: 1,
                delay: Duration::ZERO
            }
        );
        faults.set_latency(Duration::from_millis(150));
        assert_eq!(
            now(&mut rng),
            Fate::Send {
                copies: 1,
                delay: Duration::from_millis(150)
            }
        );
        faults.isolate(to);
        assert_eq!(now(&mut rng), Fate::Drop);
    }
}
