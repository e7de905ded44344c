//! A simulated run: the cluster (4 acceptors, 2 proposers of which proposer 0 is Byzantine),
//! honest clients and a Byzantine client, a fault schedule (crashes, torn writes, full disks,
//! partitions, a whole-cluster restart, a faulty network), then healing, a calm
//! phase in which every operation must complete, final reads of every key, and the checks.

use super::attack::Attack;
use super::checks::{Property, Violation};
use super::client::{ByzantineClient, SimClient};
use super::liveness::{Bound, FINAL_READER, check_liveness};
use super::moves::Move;
use super::nemesis::Nemesis;
use super::net::{NetProfile, Network};
use super::rx::RxProfile;
use super::world::{BrokenDriver, Happening, World};
use crate::cluster_config::{ClusterConfig, NodeId, Role, SecretKey};
use crate::runtime::codec::WireCodec;
use crate::runtime::faults::FaultRng;
use crate::service::client::ClientCore;
use crate::service::msg::SlotValue;
use crate::service::node::{ServiceState, Tuning};
use crate::service::server::{Broken, ServerOptions, service_node};
use crate::torture::byzantine::Byzantine;
use crate::torture::history::{EventType, write_jsonl};
use crate::torture::linearizable::{Verdict, check};
use crate::types::ClientId;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A deliberately broken build for the simulator to catch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimBroken {
    /// Broken protocol rules, as in `bpfp torture --broken`.
    Rules(Broken),
    /// A broken carrying-out of effects, or a broken replica.
    Driver(BrokenDriver),
}

impl SimBroken {
    pub const ALL: [(&'static str, SimBroken); 7] = [
        (
            "learner-f-plus-1",
            SimBroken::Rules(Broken::LearnerQuorumFPlus1),
        ),
        ("vote-twice", SimBroken::Rules(Broken::VoteTwice)),
        (
            "send-before-sync",
            SimBroken::Driver(BrokenDriver::SendBeforeSync),
        ),
        ("apply-twice", SimBroken::Driver(BrokenDriver::ApplyTwice)),
        (
            "compact-before-snapshot",
            SimBroken::Driver(BrokenDriver::CompactBeforeSnapshot),
        ),
        (
            "cas-misreported",
            SimBroken::Driver(BrokenDriver::CasMisreported),
        ),
        (
            "release-at-every-write",
            SimBroken::Driver(BrokenDriver::ReleaseAtEveryWrite),
        ),
    ];

    pub fn name(self) -> &'static str {
        SimBroken::ALL
            .iter()
            .find(|(_, b)| *b == self)
            .map_or("?", |(n, _)| n)
    }

    pub fn parse(text: &str) -> Result<SimBroken, String> {
        SimBroken::ALL
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, b)| *b)
            .ok_or_else(|| {
                let names: Vec<&str> = SimBroken::ALL.iter().map(|(n, _)| *n).collect();
                format!(
                    "unknown broken build {text:?}; one of: {}",
                    names.join(", ")
                )
            })
    }
}

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimOptions {
    pub seed: u64,
    pub clients: usize,
    pub keys: usize,
    /// Simulated milliseconds of faults, then of calm before the final reads.
    pub fault_ms: u64,
    pub calm_ms: u64,
    pub broken: Option<SimBroken>,
    /// Crash and restart the whole cluster once during the faults.
    pub whole_cluster: bool,
    pub byzantine: bool,
    /// A tenth of the operations put values from half of `max_command_bytes` up to it, on
    /// keys of their own: open votes and PROMISEs of many datagrams.
    pub large_values: bool,
    /// The share of datagrams the faulty network loses.
    pub loss: f64,
    /// Servers' receive buffers of this many bytes, filled while the server reads and syncs
    /// ([`super::rx`]); none: a server reads every datagram the instant it arrives.
    pub rcvbuf: Option<usize>,
    /// Stop after this many steps (events) and check what happened so far.
    pub until_step: Option<u64>,
    /// Stop at the first step that finds a violation (the checks at the end still run).
    pub stop_at_violation: bool,
    /// Where to keep the acceptors' stores (a fresh directory is made inside).
    pub scratch: PathBuf,
}

impl SimOptions {
    pub fn new(seed: u64) -> Self {
        SimOptions {
            seed,
            clients: 5,
            keys: 3,
            fault_ms: 10_000,
            calm_ms: 5_000,
            broken: None,
            whole_cluster: true,
            byzantine: true,
            large_values: false,
            loss: NetProfile::faulty().loss,
            rcvbuf: None,
            until_step: None,
            stop_at_violation: false,
            scratch: default_scratch(),
        }
    }

    /// The command that replays this run.
    pub fn replay_command(&self) -> String {
        let mut c = format!("bpfp simulate --seed {}", self.seed);
        if let Some(b) = self.broken {
            let _ = write!(c, " --broken {}", b.name());
        }
        if !self.whole_cluster {
            c.push_str(" --no-whole-cluster");
        }
        if !self.byzantine {
            c.push_str(" --no-byzantine");
        }
        if self.large_values {
            c.push_str(" --large-values");
        }
        let d = SimOptions::new(0);
        if self.loss != d.loss {
            let _ = write!(c, " --loss {}", self.loss);
        }
        if let Some(bytes) = self.rcvbuf {
            let _ = write!(c, " --rcvbuf {bytes}");
        }
        if (self.clients, self.keys, self.fault_ms, self.calm_ms)
            != (d.clients, d.keys, d.fault_ms, d.calm_ms)
        {
            let _ = write!(
                c,
                " --clients {} --keys {} --fault-ms {} --calm-ms {}",
                self.clients, self.keys, self.fault_ms, self.calm_ms
            );
        }
        if let Some(n) = self.until_step {
            let _ = write!(c, " --until-step {n}");
        }
        c
    }
}

/// Memory-backed when the system has it: the stores are real files, and syncing them is
/// simulated time, not the disk's.
fn default_scratch() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Operations invoked this long after the faults heal must complete.
pub const RECOVERY_MS: u64 = 2_000;
/// The client timeout of the simulated cluster: the bound on each of those operations.
pub const CLIENT_TIMEOUT_MS: u64 = 2_000;
const SUSPECT_LEADER_MS: u64 = 400;
/// Applied slots a replica keeps for peers (256 by default): fewer, so that restarted
/// replicas catch up by snapshot as often as by decisions, and steps copy less.
pub const RETAIN: u64 = 16;
/// A replica snapshots every this many applied slots (256 by default): an acceptor then keeps
/// few votes, which every step of its log copies (the simulator's main cost), and snapshots
/// and compaction happen often in every run.
pub const SNAPSHOT_EVERY: u64 = 32;

/// The violations a summary lists (the first, by step).
const SHOWN_VIOLATIONS: usize = 10;

/// What a run did and found.
#[derive(Debug)]
pub struct SimReport {
    pub options: SimOptions,
    pub ok: u64,
    pub failed: u64,
    pub unknown: u64,
    pub cas_swapped: u64,
    pub cas_total: u64,
    pub steps: u64,
    pub simulated_ms: u64,
    pub faults: String,
    pub highest_round: u32,
    /// Crashes and restarts of the whole cluster during the faults.
    pub whole_cluster_restarts: u64,
    /// Crashes that lost a snapshot still being written.
    pub snapshots_lost: u64,
    pub violations: Vec<Violation>,
    pub history: Vec<crate::torture::history::Event>,
    /// The longest operation invoked after recovery, in simulated µs.
    pub slowest_after_recovery_us: u64,
}

impl SimReport {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    pub fn operations(&self) -> u64 {
        self.ok + self.failed + self.unknown
    }

    /// The summary: the same for the same options, byte for byte.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let o = &self.options;
        let _ = writeln!(
            s,
            "seed {}{}: {} operations ({} ok, {} failed, {} unknown), {} of {} compare-and-sets swapped; {} steps, {}.{:03} s simulated",
            o.seed,
            o.broken
                .map_or(String::new(), |b| format!(" (broken: {})", b.name())),
            self.operations(),
            self.ok,
            self.failed,
            self.unknown,
            self.cas_swapped,
            self.cas_total,
            self.steps,
            self.simulated_ms / 1000,
            self.simulated_ms % 1000,
        );
        let _ = writeln!(s, "  faults: {}", self.faults);
        let _ = writeln!(
            s,
            "  highest round {}; slowest operation after recovery {} ms",
            self.highest_round,
            self.slowest_after_recovery_us / 1000
        );
        if self.passed() {
            let _ = writeln!(s, "  no violation");
        } else {
            let first = self.violations.iter().map(|v| v.step).min().unwrap_or(0);
            for v in self.violations.iter().take(SHOWN_VIOLATIONS) {
                let _ = writeln!(
                    s,
                    "  VIOLATION at step {} ({}): {}",
                    v.step,
                    v.property,
                    v.what.trim_end()
                );
            }
            if self.violations.len() > SHOWN_VIOLATIONS {
                let more = self.violations.len() - SHOWN_VIOLATIONS;
                let _ = writeln!(s, "  and {more} more violations");
            }
            let _ = writeln!(s, "  first violation at step {first}");
            let _ = writeln!(s, "  replay: {}", o.replay_command());
            let online = self.violations.iter().find(|v| v.property.online());
            if let Some(v) = online.filter(|v| v.step == first) {
                let shortened = SimOptions {
                    until_step: Some(v.step),
                    ..o.clone()
                };
                let _ = writeln!(s, "  replay up to it: {}", shortened.replay_command());
            } else {
                let _ = writeln!(
                    s,
                    "  found by the checks at the end of the run: --shrink finds the first step \
                     at which a run cut short fails"
                );
            }
        }
        s
    }

    /// Writes the history as `dir/history.jsonl`, in the torture's format.
    pub fn write_history(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("history.jsonl");
        let file = std::fs::File::create(&path)?;
        write_jsonl(&self.history, std::io::BufWriter::new(file))?;
        Ok(path)
    }
}

/// A key from the seed, so that the same seed gives the same bytes everywhere.
fn seeded_key(rng: &mut FaultRng) -> SecretKey {
    let bytes: Vec<u8> = (0..4).flat_map(|_| rng.next_u64().to_be_bytes()).collect();
    SecretKey::from_hex(hex::encode(bytes))
}

/// The cluster's config with keys derived from the seed.
fn seeded_config(seed: u64, clients: usize) -> Result<ClusterConfig, String> {
    let mut config = ClusterConfig::generate(4, 2, clients + 1, 1, [127, 0, 0, 1].into())
        .map_err(|e| e.to_string())?;
    let mut rng = FaultRng::new(seed ^ 0x6B65_7973);
    if let Some(secrets) = &mut config.acceptor_secrets {
        secrets.domain_key = Some(seeded_key(&mut rng));
    }
    for k in &mut config.channel_keys {
        k.key = seeded_key(&mut rng);
    }
    for k in &mut config.command_keys {
        k.key = seeded_key(&mut rng);
    }
    config.timing.suspect_leader_ms = SUSPECT_LEADER_MS;
    config.timing.client_timeout_ms = CLIENT_TIMEOUT_MS;
    Ok(config)
}

/// A fresh directory for one run's stores.
fn scratch_dir(base: &Path, seed: u64) -> Result<PathBuf, String> {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let dir = base.join(format!("bpfp-sim-{}-{seed}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Runs one simulation and its checks. `Err` only when the run cannot be set up.
pub fn simulate(options: &SimOptions) -> Result<SimReport, String> {
    let config = seeded_config(spread(options.seed), options.clients.max(1))?;
    let dir = scratch_dir(&options.scratch, options.seed)?;
    let result = run(options, &config, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Spreads a seed over all 64 bits (splitmix64), so that nearby seeds share no generator state
/// (the xorshift generator ignores the lowest bit of its seed).
fn spread(seed: u64) -> u64 {
    let mut x = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn run(options: &SimOptions, config: &ClusterConfig, dir: &Path) -> Result<SimReport, String> {
    let seed = spread(options.seed);
    let rules = match options.broken {
        Some(SimBroken::Rules(b)) => Some(b),
        _ => None,
    };
    let server_options = ServerOptions {
        broken: rules,
        tuning: Tuning {
            retain: RETAIN,
            snapshot_every: SNAPSHOT_EVERY,
            ..Tuning::default()
        },
        ..ServerOptions::default()
    };
    let mut nodes = Vec::new();
    for node in config.nodes().filter(|n| n.role() != Role::Client) {
        let actor = service_node(config, node, &server_options).map_err(|e| e.to_string())?;
        let codec = WireCodec::from_config(config, node).map_err(|e| e.0)?;
        let acceptor = node.role() == Role::Acceptor;
        let store = acceptor.then(|| (dir.to_path_buf(), node.index()));
        nodes.push(World::new_node(
            actor,
            config.stateright_id(node),
            acceptor,
            store,
            codec,
        ));
    }
    let acceptors = config.acceptors.len();
    let clients = options.clients.max(1);
    let mut sim_clients = Vec::new();
    for i in 0..clients as u16 {
        let node = NodeId::new(Role::Client, i);
        // The real client's core, with the config's resend period and timeout.
        let (core, _) = ClientCore::from_config(config, i).map_err(|e| e.to_string())?;
        let mut client = SimClient::new(i, config.stateright_id(node), core, seed, options.keys);
        if options.large_values {
            client.large_values = usize::try_from(config.limits.max_command_bytes).ok();
        }
        sim_clients.push(client);
    }
    let byzantine_client = if options.byzantine {
        let i = clients as u16;
        let node = NodeId::new(Role::Client, i);
        let codec = WireCodec::from_config(config, node).map_err(|e| e.0)?;
        Some(ByzantineClient::new(
            i,
            config.stateright_id(node),
            client_key(config, i)?,
            codec,
            seed,
            clients as u16,
            options.keys,
        ))
    } else {
        None
    };
    let byzantine = if options.byzantine {
        let p0 = config.stateright_id(NodeId::new(Role::Proposer, 0));
        Some((usize::from(p0), Byzantine::new(config, 0, seed ^ 0xB)?))
    } else {
        None
    };
    let driver = match options.broken {
        Some(SimBroken::Driver(d)) => Some(d),
        _ => None,
    };
    let attack = if options.byzantine {
        Some(Attack::new(config, 0)?)
    } else {
        None
    };
    let mut w = World::new(
        nodes,
        acceptors,
        sim_clients,
        byzantine,
        byzantine_client,
        Network::new(NetProfile {
            loss: options.loss,
            ..NetProfile::faulty()
        }),
        seed,
        driver,
    );
    w.until_step = options.until_step;
    w.rx = options.rcvbuf.map(|capacity| RxProfile {
        capacity,
        ..RxProfile::kernel_default()
    });
    w.stop_at_violation = options.stop_at_violation;
    w.attack = attack;
    w.start_all_down();
    for c in 0..w.clients.len() {
        w.start_client(c);
    }
    if w.byzantine.is_some() {
        w.schedule(0, Happening::Byzantine);
        w.schedule(0, Happening::ByzantineClient);
    }
    let heal = options.fault_ms * 1000;
    let end = heal + options.calm_ms * 1000;
    let first = 100_000 + w.rng.below(200_000);
    w.schedule(first, Happening::Nemesis(Move::Strike));
    w.schedule(heal, Happening::Nemesis(Move::Heal));
    w.schedule(end, Happening::Nemesis(Move::EndWorkload));
    w.schedule(
        end + CLIENT_TIMEOUT_MS * 1000 + 100_000,
        Happening::Nemesis(Move::FinalReads),
    );
    let mut nemesis = Nemesis::new(options.whole_cluster);
    let mut moves = |w: &mut World, m: Move| {
        if let Move::FinalReads = m {
            // A fresh process reads every key once, one after the other.
            w.final_reads = Some((0..options.keys.max(1)).collect());
            w.clients[0].process = FINAL_READER;
            w.start_client(0);
        } else {
            nemesis.on_move(w, m);
        }
    };
    // In slices, so that the checks' memory stays bounded on long runs.
    let stop = end
        + CLIENT_TIMEOUT_MS * 1000
        + 100_000
        + (options.keys as u64 + 1) * CLIENT_TIMEOUT_MS * 1000;
    let mut complete = true;
    let mut t = 0;
    while t < stop {
        t = (t + 1_000_000).min(stop);
        if !w.run_until(t, &mut moves) {
            complete = false;
            break;
        }
        let decided = w.decided_everywhere();
        if w.announced.tracked_slots() > 50_000 {
            w.announced.forget_below(decided.saturating_sub(64));
        }
        if w.final_reads.as_ref().is_some_and(|k| k.is_empty()) && w.clients[0].current.is_none() {
            break;
        }
    }
    Ok(finish(options, w, nemesis.descriptions, complete, heal))
}

fn client_key(config: &ClusterConfig, i: u16) -> Result<Vec<u8>, String> {
    config
        .command_key(ClientId(i))
        .ok_or_else(|| format!("no command key for client {i}"))?
        .to_bytes()
        .map_err(|e| format!("command key of client {i}: {e}"))
}

/// The checks after the run, and the report.
fn finish(
    options: &SimOptions,
    mut w: World,
    partitions: BTreeMap<&'static str, u64>,
    complete: bool,
    heal: u64,
) -> SimReport {
    let steps = w.counts.steps;
    let mut violations = std::mem::take(&mut w.violations);
    let mut report = SimReport {
        options: options.clone(),
        ok: 0,
        failed: 0,
        unknown: 0,
        cas_swapped: 0,
        cas_total: 0,
        steps,
        simulated_ms: w.now / 1000,
        faults: String::new(),
        highest_round: w.leader().0,
        whole_cluster_restarts: w.counts.whole_cluster_restarts,
        snapshots_lost: w.counts.snapshots_lost,
        violations: Vec::new(),
        history: Vec::new(),
        slowest_after_recovery_us: 0,
    };
    for e in &w.history {
        match e.kind {
            EventType::Invoke => continue,
            EventType::Ok => report.ok += 1,
            EventType::Fail => report.failed += 1,
            EventType::Info => report.unknown += 1,
        }
        if e.f == crate::torture::history::Func::Cas && e.kind != EventType::Info {
            report.cas_total += 1;
            report.cas_swapped += u64::from(e.kind == EventType::Ok);
        }
    }
    // A run cut short is not held to the liveness bound.
    if complete {
        let bound = Bound {
            recovered_ns: (heal + RECOVERY_MS * 1000) * 1000,
            timeout_ns: CLIENT_TIMEOUT_MS * 1_000_000,
            final_reads: options.keys.max(1),
        };
        let found = check_liveness(&w.history, &bound);
        report.slowest_after_recovery_us = found.slowest_after_recovery_us;
        if found.stuck > 0 {
            violations.push(Violation {
                step: steps,
                property: Property::Liveness,
                what: format!(
                    "{} operations invoked {RECOVERY_MS} ms or more after the faults \
                     healed did not complete within {CLIENT_TIMEOUT_MS} ms",
                    found.stuck
                ),
            });
        }
        if found.final_reads < bound.final_reads {
            violations.push(Violation {
                step: steps,
                property: Property::Liveness,
                what: format!(
                    "{} of {} final reads completed",
                    found.final_reads, bound.final_reads
                ),
            });
        }
    }
    if w.mismatched_replies > 0 {
        violations.push(Violation {
            step: steps,
            property: Property::Replies,
            what: format!(
                "{} replies did not answer their command",
                w.mismatched_replies
            ),
        });
    }
    match check(&w.history) {
        Ok(Verdict::Linearizable { .. }) => {}
        Ok(verdict) => violations.push(Violation {
            step: steps,
            property: Property::Linearizable,
            what: verdict.to_string(),
        }),
        Err(e) => violations.push(Violation {
            step: steps,
            property: Property::Linearizable,
            what: format!("malformed history: {e}"),
        }),
    }
    violations.extend(decided_conflicts(&w).into_iter().map(|what| Violation {
        step: steps,
        property: Property::Agreement,
        what,
    }));
    violations.sort_by_key(|v| v.step);
    let c = &w.counts;
    let n = &w.net.counts;
    let mut faults = format!(
        "{} datagrams: {} lost, {} duplicated, {} delayed, {} cut, {} too large, {} dropped by receivers; \
         {} acceptor crashes ({} during a write, {} torn tails cut, {} snapshots being written lost), \
         {} proposer crashes, {} full disks, \
         {} whole-cluster restarts, {} partitions",
        n.sent,
        n.lost,
        n.duplicated,
        n.slow,
        n.partitioned,
        n.oversized,
        c.dropped_datagrams,
        c.acceptor_crashes,
        c.crashes_during_write,
        c.torn_tails_cut,
        c.snapshots_lost,
        c.proposer_crashes,
        c.disk_full,
        c.whole_cluster_restarts,
        c.partitions,
    );
    let kinds: Vec<String> = partitions.iter().map(|(k, n)| format!("{n} {k}")).collect();
    if !kinds.is_empty() {
        let _ = write!(faults, " ({})", kinds.join(", "));
    }
    if w.rx.is_some() {
        let _ = write!(
            faults,
            "; {} datagrams dropped by full receive buffers",
            w.rx_overflowed()
        );
    }
    let _ = write!(faults, "; {} saves in {} syncs", c.saves, c.syncs);
    report.faults = faults;
    report.violations = violations;
    report.history = std::mem::take(&mut w.history);
    report
}

/// Slots that two live acceptors decided differently.
fn decided_conflicts(w: &World) -> Vec<String> {
    let mut by_slot: BTreeMap<u64, (usize, SlotValue)> = BTreeMap::new();
    let mut conflicts = Vec::new();
    for (i, node) in w.nodes.iter().enumerate() {
        let Some((log, _)) = node.state.as_deref().and_then(ServiceState::acceptor) else {
            continue;
        };
        for (slot, l) in &log.learner.slots {
            let Some(d) = &l.decided else { continue };
            match by_slot.get(slot) {
                Some((other, v)) if *v != d.value => {
                    conflicts.push(format!(
                        "slot {slot}: acceptor {other} decided {v}, acceptor {i} decided {}",
                        d.value
                    ));
                }
                Some(_) => {}
                None => {
                    by_slot.insert(*slot, (i, d.value.clone()));
                }
            }
        }
    }
    conflicts
}

/// The smallest step count at which `options`' run already shows a safety violation: the
/// step of an online check's finding, else a binary search over `--until-step`.
pub fn first_failing_step(options: &SimOptions, report: &SimReport) -> Option<u64> {
    let online = report
        .violations
        .iter()
        .filter(|v| v.property.online())
        .map(|v| v.step)
        .min();
    if online.is_some() {
        return online;
    }
    let fails = |n: u64| {
        let mut o = options.clone();
        o.until_step = Some(n);
        simulate(&o).is_ok_and(|r| !r.passed())
    };
    if !fails(report.steps) {
        return None; // only liveness failed: it needs the whole run
    }
    let (mut lo, mut hi) = (0, report.steps);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fails(mid) { hi = mid } else { lo = mid }
    }
    Some(hi)
}
