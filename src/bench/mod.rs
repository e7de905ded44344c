//! `bpfp bench`'s parts: the workload and the closed-loop driver that both compared systems
//! share, each system's client as a session of that driver (`service`, `etcd_session`), etcd
//! as the peer (its cluster and its gateway client), the stateright paxos baseline, the cost
//! of a synced write on the servers' disk (`disk`), and the SVG plot of the figures.

use std::time::Duration;

pub mod base64;
pub mod baseline;
pub mod disk;
pub mod etcd;
pub mod etcd_session;
pub mod http;
pub mod load;
pub mod plot;
pub mod service;
pub mod workload;

/// The nearest-rank `q`-quantile of `sorted` latencies; zero when there are none.
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
