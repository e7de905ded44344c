//! The fault schedule: crashes (some in the middle of a write), full disks, partitions, a
//! whole-cluster restart, then healing. It acts on the [`World`] through its public moves.

use super::disk::DiskFault;
use super::moves::{Fault, Move};
use super::net::NetProfile;
use super::world::{Down, Happening, World};
use stateright::actor::Id;
use std::collections::BTreeMap;

/// The strike that cuts the leader off.
const LEADER_CUT_OFF: u64 = 11;

/// The strike that restarts the whole cluster.
const WHOLE_CLUSTER: u64 = 7;

/// The fault schedule's state.
pub struct Nemesis {
    faulting: bool,
    /// Strikes so far: the first three are set, so that every run has them.
    strikes: u64,
    whole_cluster: bool,
    /// The kinds of partitions made, and how many of each.
    pub descriptions: BTreeMap<&'static str, u64>,
}

impl Nemesis {
    /// A schedule that starts faulting; `whole_cluster`: its third strike restarts the whole
    /// cluster (and later ones may), else none does.
    pub fn new(whole_cluster: bool) -> Self {
        Nemesis {
            faulting: true,
            strikes: 0,
            whole_cluster,
            descriptions: BTreeMap::new(),
        }
    }

    fn count(&mut self, what: &'static str) {
        *self.descriptions.entry(what).or_default() += 1;
    }

    pub fn on_move(&mut self, w: &mut World, m: Move) {
        match m {
            Move::Strike if self.faulting => self.strike(w),
            Move::Strike => {}
            Move::Recover(fault) => {
                self.recover(w, fault);
                if self.faulting {
                    let gap = 100_000 + w.rng.below(500_000);
                    w.schedule(gap, Happening::Nemesis(Move::Strike));
                }
            }
            Move::CrashNow(a) => {
                w.set_disk_fault(a, DiskFault::None);
                if w.is_up(a) {
                    w.crash(a, Down::Crashed);
                }
            }
            Move::Heal => {
                self.faulting = false;
                w.net.profile = NetProfile::calm();
                w.net.cut.clear();
                for i in 0..w.nodes.len() {
                    w.set_disk_fault(i, DiskFault::None);
                }
                w.start_all_down();
                // The Byzantine nodes are faults too: they stop.
                w.byzantine = None;
                w.attack = None;
                w.byzantine_client = None;
            }
            Move::EndWorkload => w.workload_over = true,
            // Started by the run, which knows the keys.
            Move::FinalReads => {}
        }
    }

    fn strike(&mut self, w: &mut World) {
        let acceptors = w.acceptors;
        let a = w.rng.below(acceptors as u64) as usize;
        // First a crash in the middle of a write (a torn record), then the leader cut off
        // (so that the acceptors move to a round the Byzantine proposer leads), then the
        // whole cluster restarted (so that every run shows what survives it); then any.
        let roll = match self.strikes {
            0 => 0,
            1 => LEADER_CUT_OFF,
            2 if self.whole_cluster => WHOLE_CLUSTER,
            _ => w.rng.below(12),
        };
        self.strikes += 1;
        let (fault, hold) = match roll {
            // A crash in the middle of a write: the record is torn.
            0..=2 => {
                let kept = w.rng.below(256) as u8;
                w.set_disk_fault(a, DiskFault::CrashDuringWrite { kept });
                w.schedule(50_000, Happening::Nemesis(Move::CrashNow(a)));
                w.counts.acceptor_crashes += 1;
                (Fault::AcceptorCrash(a), 200_000 + w.rng.below(800_000))
            }
            3 | 4 => {
                w.crash(a, Down::Crashed);
                w.counts.acceptor_crashes += 1;
                (Fault::AcceptorCrash(a), 200_000 + w.rng.below(800_000))
            }
            5 => {
                let p = acceptors + 1;
                w.crash(p, Down::Crashed);
                w.counts.proposer_crashes += 1;
                (Fault::ProposerCrash(p), 200_000 + w.rng.below(800_000))
            }
            6 => {
                w.set_disk_fault(a, DiskFault::Full);
                w.counts.disk_full += 1;
                (Fault::DiskFull(a), 300_000 + w.rng.below(700_000))
            }
            WHOLE_CLUSTER if self.whole_cluster => {
                for i in 0..w.nodes.len() {
                    if w.is_up(i) {
                        w.crash(i, Down::Crashed);
                    }
                }
                w.counts.whole_cluster_restarts += 1;
                (Fault::WholeCluster, 100_000 + w.rng.below(400_000))
            }
            _ => {
                let kind = if roll == LEADER_CUT_OFF {
                    2
                } else {
                    w.rng.below(3)
                };
                let cut: Vec<Id> = match kind {
                    0 => {
                        self.count("one node cut off");
                        let n = w.nodes.len() as u64;
                        vec![Id::from(w.rng.below(n) as usize)]
                    }
                    1 => {
                        self.count("a minority cut off");
                        vec![Id::from(a), Id::from(acceptors + 1)]
                    }
                    _ => {
                        self.count("the leader cut off");
                        vec![Id::from(w.leader().1)]
                    }
                };
                w.net.cut = cut.into_iter().collect();
                w.counts.partitions += 1;
                // The set one long enough for the acceptors to suspect the leader.
                let least = if roll == LEADER_CUT_OFF {
                    1_000_000
                } else {
                    200_000
                };
                (Fault::Partition, least + w.rng.below(1_000_000))
            }
        };
        w.schedule(hold, Happening::Nemesis(Move::Recover(fault)));
    }

    fn recover(&mut self, w: &mut World, fault: Fault) {
        match fault {
            Fault::AcceptorCrash(i) | Fault::ProposerCrash(i) | Fault::DiskFull(i) => {
                w.set_disk_fault(i, DiskFault::None);
                if !w.is_up(i) {
                    w.start_node(i);
                }
            }
            Fault::Partition => w.net.cut.clear(),
            Fault::WholeCluster => w.start_all_down(),
        }
    }
}
