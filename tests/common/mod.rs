//! Helpers shared by the integration tests. Each test binary includes this module with
//! `mod common;` and uses only some of it.
#![allow(dead_code)]

pub mod counting;

use bp_fast_paxos::runtime::wire::ChannelKeys;
use bp_fast_paxos::service::Op;
use stateright::actor::Id;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A directory of its own under the system's temporary directory, removed when dropped (pass
/// or panic) so that test runs leave nothing behind in /tmp. Declare it before the servers
/// that write into it: they then stop before it goes.
pub struct TempDir {
    path: PathBuf,
    keep_on_failure: bool,
}

impl TempDir {
    /// A new, empty directory; `name` says which test it is for.
    pub fn new(name: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let unique = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "bp-fast-paxos-test-{}-{name}-{unique}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir {
            path,
            keep_on_failure: false,
        }
    }

    /// Kept if the test fails, for a test that prints paths in it to look at; removed if it
    /// passes.
    pub fn kept_on_failure(mut self) -> Self {
        self.keep_on_failure = true;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the store tests keep an acceptor's store.
    pub fn store_file(&self) -> PathBuf {
        self.path.join("acceptor.log")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.keep_on_failure && std::thread::panicking() {
            eprintln!("kept {} to look at", self.path.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The datagram tests' nodes, by stateright id (n = 4, m = 1): acceptors a1 and a2, the
/// proposer, and a client.
pub mod nodes {
    pub const A1: usize = 0;
    pub const A2: usize = 1;
    pub const P0: usize = 4;
    pub const CLIENT: usize = 5;
}

pub fn id(index: usize) -> Id {
    Id::from(index)
}

/// A distinct 32-byte channel key for every pair.
pub fn channel_key(a: usize, b: usize) -> Vec<u8> {
    let (lo, hi) = (a.min(b) as u8, a.max(b) as u8);
    (0..32u8).map(|i| i ^ lo.wrapping_mul(16) ^ hi).collect()
}

/// The keys of every pair among a1, a2 and the proposer (and a1 with itself); the client has
/// none.
pub fn channel_keys() -> ChannelKeys {
    use nodes::{A1, A2, P0};
    let pairs = [(A1, A2), (A1, P0), (A2, P0), (A1, A1)];
    ChannelKeys::from_map(pairs.map(|(a, b)| ((id(a), id(b)), channel_key(a, b))))
        .expect("test keys are valid")
}

/// The key-value service's operations.
pub fn put(key: &str, value: &str) -> Op {
    Op::Put {
        key: key.into(),
        value: value.into(),
    }
}

pub fn get(key: &str) -> Op {
    Op::Get { key: key.into() }
}
