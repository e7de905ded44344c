//! `bpfp bench`'s shared figures and the stateright paxos baseline it compares with.

use std::time::Duration;

pub mod baseline;

/// The nearest-rank `q`-quantile of `sorted` latencies; zero when there are none.
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
