//! `bpfp torture`: a real cluster on loopback under a concurrent client workload while faults
//! are injected (loss, duplication, delay and reordering; crashes and restarts of acceptors and
//! of the honest proposer; partitions; a Byzantine proposer), then the checks: the history is linearizable per key,
//! every replica applied the same log, and no node stopped on its own.

use super::byzantine::ByzantineProposer;
use super::byzantine_client::{ByzantineClient, ClientMischief};
use super::history::{Event, HistoryError, Recorder, write_jsonl};
use super::linearizable::{Verdict, check};
use crate::cluster_config::{NodeId, Role};
use crate::log::acceptor::LogAcceptorState;
use crate::runtime::faults::{FaultCounts, FaultRates, FaultRng, Faults};
use crate::service::client::{Client, ClientError};
use crate::service::msg::SlotValue;
use crate::service::node::Tuning;
use crate::service::replica::Replica;
use crate::service::server::{Broken, LocalCluster, ServerOptions, TraceTo, loopback_config};
use crate::service::{Command, Op, Reply};
use crate::trace::event::value_digest;
use crate::trace::record::TraceRecorder;
use crate::types::ClientId;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What to run.
#[derive(Clone, Debug)]
pub struct TortureOptions {
    pub duration: Duration,
    /// Concurrent clients (processes of the history).
    pub clients: usize,
    pub keys: usize,
    pub seed: u64,
    pub rates: FaultRates,
    /// Crash and restart acceptors and the honest proposer, one at a time.
    pub crashes: bool,
    /// Crash every acceptor at once and restart them all (at least once per run).
    pub whole_cluster_crashes: bool,
    /// A tenth of the operations put values up to `max_command_bytes` on keys of their own.
    pub large_values: bool,
    /// Isolate an acceptor or the honest proposer for a while, one at a time.
    pub partitions: bool,
    /// Proposer 0 (the leader of round 0) is Byzantine, and so is one more client.
    pub byzantine: bool,
    pub broken: Option<Broken>,
    /// Where the cluster keeps its stores, and the history (`history.jsonl`).
    pub dir: PathBuf,
    /// Record the acceptors' traces in `dir/trace` (for `check trace`).
    pub trace: bool,
}

impl TortureOptions {
    /// A run with every fault at the rates of `bpfp torture`'s defaults (20 % of datagrams
    /// lost, duplicated and delayed by up to 20 ms; crashes, partitions, a Byzantine
    /// proposer), 5 clients on 3 keys, no broken build and no traces.
    pub fn every_fault(dir: PathBuf, seed: u64, duration: Duration) -> Self {
        TortureOptions {
            duration,
            clients: 5,
            keys: 3,
            seed,
            rates: FaultRates {
                loss: 0.2,
                duplicate: 0.2,
                delay: 0.2,
                max_delay: Duration::from_millis(20),
            },
            crashes: true,
            whole_cluster_crashes: true,
            large_values: true,
            partitions: true,
            byzantine: true,
            broken: None,
            dir,
            trace: false,
        }
    }
}

/// What happened and what the checks found.
#[derive(Debug, Default)]
pub struct TortureReport {
    pub ok: u64,
    pub failed: u64,
    pub unknown: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub delayed: u64,
    pub partitioned: u64,
    pub crashes: u64,
    /// Crashes of the honest proposer (proposer 1), each followed by its restart.
    pub proposer_crashes: u64,
    /// Crashes of every acceptor at once, each followed by a restart of them all.
    pub whole_cluster_restarts: u64,
    pub partitions: u64,
    pub byzantine_actions: u64,
    /// The Byzantine client's requests: over the size limit, answered "too large",
    /// replayed and spoofed from a victim's address; and the bytes that reached the victim
    /// for the bytes sent from there.
    pub oversized: u64,
    pub refused_too_large: u64,
    pub client_replays: u64,
    pub client_spoofs: u64,
    pub reflected_bytes: u64,
    pub sent_from_victim: u64,
    /// The highest round an acceptor reached: how many trust changes there were, at most.
    pub highest_round: u32,
    /// Puts of values up to `max_command_bytes` (on keys of their own), invoked.
    pub large_writes: u64,
    /// The most bytes of keys and values a replica's store held.
    pub largest_store_bytes: u64,
    /// Rises seen of an acceptor's snapshot and of its durable base (votes of decided slots
    /// dropped), and copies of a peer's store installed (snapshot catch-ups). The first two
    /// are sampled, so they are lower bounds.
    pub snapshots: u64,
    pub compactions: u64,
    pub snapshot_catch_ups: u64,
    /// Keys whose last write is certain (acknowledged, with no other write that could
    /// follow it) and read back at the end; of those, how many read another value.
    pub keys_with_a_certain_last_write: u64,
    pub acknowledged_writes_lost: u64,
    pub history: PathBuf,
    /// Every violation found; empty when the run passed.
    pub violations: Vec<String>,
}

impl TortureReport {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "operations: {} ok, {} failed, {} unknown (timed out)",
            self.ok, self.failed, self.unknown
        );
        let _ = writeln!(
            s,
            "faults: {} datagrams lost, {} duplicated, {} delayed, {} cut by partitions; {} acceptor crashes, {} proposer crashes, {} whole-cluster crashes and restarts, {} partitions; {} Byzantine actions",
            self.lost,
            self.duplicated,
            self.delayed,
            self.partitioned,
            self.crashes,
            self.proposer_crashes,
            self.whole_cluster_restarts,
            self.partitions,
            self.byzantine_actions
        );
        let _ = writeln!(
            s,
            "store: {} large writes invoked, largest store {} bytes; at least {} snapshots and {} compactions seen, {} snapshot catch-ups",
            self.large_writes,
            self.largest_store_bytes,
            self.snapshots,
            self.compactions,
            self.snapshot_catch_ups
        );
        let _ = writeln!(
            s,
            "acknowledged writes lost: {} (of {} keys whose last write is certain)",
            self.acknowledged_writes_lost, self.keys_with_a_certain_last_write
        );
        let _ = writeln!(
            s,
            "Byzantine client: {} oversized requests ({} \"too large\" answers), {} replays and {} spoofed requests from a victim's address, which received {} bytes for {} sent",
            self.oversized,
            self.refused_too_large,
            self.client_replays,
            self.client_spoofs,
            self.reflected_bytes,
            self.sent_from_victim
        );
        let _ = writeln!(s, "highest round reached: {}", self.highest_round);
        let _ = writeln!(s, "history: {}", self.history.display());
        if self.passed() {
            let _ = writeln!(s, "no violation");
        }
        for v in &self.violations {
            let _ = writeln!(s, "VIOLATION: {v}");
        }
        s
    }
}

type Shared = Arc<Mutex<LocalCluster>>;

fn lock(cluster: &Shared) -> MutexGuard<'_, LocalCluster> {
    cluster.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs the torture and its checks. `Err` only when the run could not be set up.
pub fn torture(options: &TortureOptions) -> Result<TortureReport, String> {
    let clients = options.clients.max(1);
    let (mut config, mut sockets) =
        loopback_config(1, 2, clients + 2).map_err(|e| e.to_string())?;
    // Short timeouts: a lost command is an `info` in the history, not a stall.
    config.timing.suspect_leader_ms = 400;
    config.timing.client_timeout_ms = 2_000;
    // Room for twice the default open votes, which a cluster of f = 1 may take (WIRE.md
    // section 5.1): under these faults, acceptors whose learners lag hold votes of decided
    // slots, and a tighter bound makes them refuse the lowest slot of a new round sooner.
    config.limits.max_open_vote_bytes = 512 * 1024;
    config.validate().map_err(|e| e.to_string())?;
    let faults = Faults::new(FaultRates::none(), options.seed);
    let trace = options.trace.then(|| options.dir.join("trace"));
    if let Some(dir) = &trace {
        // Recorders append (a restarted acceptor goes on): start from nothing.
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let server_options = ServerOptions {
        faults: Some(Arc::clone(&faults)),
        broken: options.broken,
        trace: trace.map(|dir| TraceRecorder::to(TraceTo::Dir(dir))),
        // Snapshots and compaction every few dozen slots, so that even a short run drops
        // decided votes and makes lagging replicas catch up from a copy of the store.
        tuning: Tuning {
            snapshot_every: 32,
            retain: 32,
            ..Tuning::default()
        },
        ..ServerOptions::default()
    };
    let p0 = NodeId::new(Role::Proposer, 0);
    let byzantine_socket = if options.byzantine {
        // Proposer 0 never runs honestly: its socket goes to the Byzantine proposer.
        let index = usize::from(config.stateright_id(p0));
        Some(sockets.remove(index))
    } else {
        None
    };
    let data = options.dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let cluster = if options.byzantine {
        LocalCluster::start_except(config.clone(), &data, sockets, server_options, &[p0])
    } else {
        LocalCluster::start_with(config.clone(), &data, sockets, server_options)
    }
    .map_err(|e| e.to_string())?;
    let cluster: Shared = Arc::new(Mutex::new(cluster));
    let byzantine = match byzantine_socket {
        Some(socket) => Some(ByzantineProposer::start(
            &config,
            0,
            socket,
            options.seed ^ 0xB,
        )?),
        None => None,
    };
    // The client after the final reader's.
    let byzantine_client = if options.byzantine {
        Some(ByzantineClient::start(
            &config,
            clients as u16 + 1,
            options.seed ^ 0xC,
        )?)
    } else {
        None
    };
    faults.set_rates(options.rates.clone());

    let recorder = Recorder::new();
    let stop = Arc::new(AtomicBool::new(false));
    let mismatches = Arc::new(AtomicU64::new(0));
    let large_writes = Arc::new(AtomicU64::new(0));
    let max_command_bytes = usize::try_from(config.limits.max_command_bytes).unwrap_or(usize::MAX);
    let large_values = options.large_values;
    let workers: Vec<_> = (0..clients)
        .map(|i| {
            let client = Client::connect(&config, i as u16).map_err(|e| e.to_string())?;
            let (recorder, stop, mismatches, large_writes) = (
                recorder.clone(),
                Arc::clone(&stop),
                Arc::clone(&mismatches),
                Arc::clone(&large_writes),
            );
            let (keys, seed, clients) = (options.keys.max(1), options.seed, clients);
            Ok(std::thread::spawn(move || {
                let mut worker = Worker {
                    client,
                    index: i,
                    clients,
                    process: i as u64,
                    rng: FaultRng::new(seed ^ ((i as u64 + 1) << 32)),
                    keys,
                    seen: BTreeMap::new(),
                    written: 0,
                    max_command_bytes,
                    large_values,
                    large_writes,
                };
                worker.run(&recorder, &stop, &mismatches);
            }))
        })
        .collect::<Result<_, String>>()?;

    let observer = Observer::start(Arc::clone(&cluster));
    let mut report = TortureReport::default();
    nemesis(&cluster, &faults, options, &mut report);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    report.byzantine_actions = byzantine.as_ref().map_or(0, |b| b.mischief.total());
    drop(byzantine);
    if let Some(c) = byzantine_client {
        let m = Arc::clone(&c.mischief);
        drop(c);
        report.byzantine_actions += m.total();
        note_client_mischief(&m, &mut report);
    }

    // Heal, then read every key: the reads show any acknowledged write that was lost, and
    // the slots they take let lagging replicas see that they lag.
    faults.set_rates(FaultRates::none());
    faults.heal();
    restart_all(&cluster, &mut report);
    final_reads(&config, clients, options.keys.max(1), &recorder);
    report.large_writes = large_writes.load(Ordering::Relaxed);

    let counts = &faults.counts;
    report.lost = FaultCounts::get(&counts.lost);
    report.duplicated = FaultCounts::get(&counts.duplicated);
    report.delayed = FaultCounts::get(&counts.delayed);
    report.partitioned = FaultCounts::get(&counts.partitioned);
    let events = recorder.events();
    for e in &events {
        match e.kind {
            super::history::EventType::Ok => report.ok += 1,
            super::history::EventType::Fail => report.failed += 1,
            super::history::EventType::Info => report.unknown += 1,
            super::history::EventType::Invoke => {}
        }
    }
    let history = options.dir.join("history.jsonl");
    std::fs::create_dir_all(&options.dir).map_err(|e| e.to_string())?;
    let file = std::fs::File::create(&history).map_err(|e| e.to_string())?;
    write_jsonl(&events, std::io::BufWriter::new(file)).map_err(|e| e.to_string())?;
    report.history = history;

    if mismatches.load(Ordering::Relaxed) > 0 {
        report.violations.push(format!(
            "{} replies did not answer their command",
            mismatches.load(Ordering::Relaxed)
        ));
    }
    let (certain, lost) = lost_writes(&events, FINAL_READER);
    report.keys_with_a_certain_last_write = certain;
    report.acknowledged_writes_lost = lost.len() as u64;
    report.violations.extend(lost);
    match check(&events) {
        Ok(Verdict::Linearizable { .. }) => {}
        Ok(verdict) => report.violations.push(verdict.to_string()),
        Err(e) => report.violations.push(format!("malformed history: {e}")),
    }
    check_replicas(&lock(&cluster), &mut report);
    let seen = observer.finish();
    report.violations.extend(seen.conflicts);
    report.largest_store_bytes = seen.stats.largest_store_bytes;
    report.snapshots = seen.stats.snapshots;
    report.compactions = seen.stats.compactions;
    report.snapshot_catch_ups = seen.stats.installed;
    Ok(report)
}

/// What the Byzantine client did and got. Servers may send to an address only as many bytes
/// as they received from it, unless a fresh request came from there (and none did from the
/// victim's): more is a reflection attack that works.
fn note_client_mischief(m: &ClientMischief, report: &mut TortureReport) {
    report.oversized = ClientMischief::get(&m.oversized);
    report.refused_too_large = ClientMischief::get(&m.refused);
    report.client_replays = ClientMischief::get(&m.replays);
    report.client_spoofs = ClientMischief::get(&m.spoofed);
    report.reflected_bytes = ClientMischief::get(&m.reflected_bytes);
    report.sent_from_victim = ClientMischief::get(&m.sent_from_victim);
    if report.reflected_bytes > report.sent_from_victim {
        report.violations.push(format!(
            "reflection: {} bytes reached an address that sent {} bytes and no fresh request",
            report.reflected_bytes, report.sent_from_victim
        ));
    }
    if report.oversized > 0 && report.refused_too_large == 0 {
        report.violations.push(format!(
            "{} requests over the size limit, and not one \"too large\" answer",
            report.oversized
        ));
    }
}

/// Watches the acceptors during the whole run: every slot decided, and the digest of every
/// applied prefix, so that a divergence is caught even if the slot is later forgotten or a
/// snapshot papers over it; and how far the stores grew and were compacted.
struct Observer {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Seen>,
}

/// What the observer found.
struct Seen {
    conflicts: Vec<String>,
    stats: StoreStats,
}

/// The stores' growth and compaction, sampled.
#[derive(Default)]
struct StoreStats {
    largest_store_bytes: u64,
    snapshots: u64,
    compactions: u64,
    installed: u64,
    /// Per acceptor: its snapshot's `applied`, durable base and stores installed when last
    /// sampled.
    last: BTreeMap<NodeId, (u64, u64, u64)>,
}

impl StoreStats {
    fn record(&mut self, node: NodeId, log: &LogAcceptorState<SlotValue>, replica: &Replica) {
        let bytes = replica.store.data_bytes() as u64;
        self.largest_store_bytes = self.largest_store_bytes.max(bytes);
        let now = (replica.snapshot_at, log.decided_base, replica.installed);
        let (snapshot, base, installed) = self.last.insert(node, now).unwrap_or((0, 0, 0));
        self.snapshots += u64::from(now.0 > snapshot);
        self.compactions += u64::from(now.1 > base);
        // The count restarts at 0 with the acceptor.
        self.installed += if now.2 >= installed {
            now.2 - installed
        } else {
            now.2
        };
    }
}

impl Observer {
    fn start(cluster: Shared) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut decided = Decided::default();
                let mut prefixes = Prefixes::default();
                let mut stats = StoreStats::default();
                while !stop.load(Ordering::Relaxed)
                    && prefixes.conflicts.len() + decided.conflicts.len() < 10
                {
                    let states: Vec<_> = {
                        let cluster = lock(&cluster);
                        cluster
                            .servers
                            .iter()
                            .map(|(n, s)| (*n, s.state()))
                            .collect()
                    };
                    for (node, state) in &states {
                        let Some((log, replica)) = state.acceptor() else {
                            continue;
                        };
                        decided.record(*node, log);
                        prefixes.record(*node, replica.applied, replica.log_digest);
                        stats.record(*node, log, replica);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let mut conflicts = prefixes.conflicts;
                conflicts.extend(decided.conflicts);
                conflicts.dedup();
                Seen { conflicts, stats }
            })
        };
        Observer { stop, thread }
    }

    /// Stops watching; the divergences seen, and the stores' growth.
    fn finish(self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_else(|_| Seen {
            conflicts: vec!["the observer thread panicked".into()],
            stats: StoreStats::default(),
        })
    }
}

/// Injects crashes and partitions until the run's time is up.
fn nemesis(
    cluster: &Shared,
    faults: &Faults,
    options: &TortureOptions,
    report: &mut TortureReport,
) {
    let mut rng = FaultRng::new(options.seed ^ 0xDEAD);
    let end = Instant::now() + options.duration;
    let nap = |rng: &mut FaultRng, ms: u64| {
        let wait = Duration::from_millis(ms / 2 + rng.below(ms));
        std::thread::sleep(wait.min(end.saturating_duration_since(Instant::now())));
    };
    let half_time = Instant::now() + options.duration / 2;
    while Instant::now() < end {
        nap(&mut rng, 1_500);
        if Instant::now() >= end {
            break;
        }
        let acceptor = NodeId::new(Role::Acceptor, rng.below(4) as u16);
        let mut fault = rng.below(3);
        if options.whole_cluster_crashes
            && report.whole_cluster_restarts == 0
            && Instant::now() >= half_time
        {
            // Every run of at least a few seconds crashes the whole cluster at least once.
            fault = 2;
        }
        match fault {
            0 if options.crashes => {
                // A fifth of the crashes take the honest proposer, which comes back with the
                // NEWROUND of the round it began last, from its file.
                let node = if rng.chance(0.2) {
                    NodeId::new(Role::Proposer, 1)
                } else {
                    acceptor
                };
                lock(cluster).kill(node);
                match node.role() {
                    Role::Proposer => report.proposer_crashes += 1,
                    _ => report.crashes += 1,
                }
                nap(&mut rng, 1_000);
                if let Err(e) = lock(cluster).restart(node) {
                    report
                        .violations
                        .push(format!("{node} could not restart: {e}"));
                }
            }
            1 if options.partitions => {
                let victim = if rng.chance(0.7) {
                    acceptor
                } else {
                    NodeId::new(Role::Proposer, 1)
                };
                let id = lock(cluster).config.stateright_id(victim);
                faults.isolate(id);
                report.partitions += 1;
                nap(&mut rng, 1_000);
                faults.heal();
            }
            2 if options.whole_cluster_crashes => {
                // A crash of the whole cluster: every acceptor at once, none with time to
                // save anything more, then all back from their stores.
                let acceptors: Vec<NodeId> =
                    (0..4).map(|i| NodeId::new(Role::Acceptor, i)).collect();
                {
                    let mut cluster = lock(cluster);
                    for a in &acceptors {
                        cluster.kill(*a);
                    }
                }
                report.whole_cluster_restarts += 1;
                nap(&mut rng, 1_000);
                let mut cluster = lock(cluster);
                for a in acceptors {
                    if cluster.server(a).is_none()
                        && let Err(e) = cluster.restart(a)
                    {
                        report
                            .violations
                            .push(format!("{a} could not restart: {e}"));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Restarts any acceptor that is down, and records servers that stopped on their own.
fn restart_all(cluster: &Shared, report: &mut TortureReport) {
    let mut cluster = lock(cluster);
    for (node, server) in &cluster.servers {
        if server.is_finished() {
            report.violations.push(format!(
                "{node} stopped on its own (a panic or a storage error)"
            ));
        }
    }
    let acceptors: Vec<NodeId> = (0..4).map(|i| NodeId::new(Role::Acceptor, i)).collect();
    for a in acceptors {
        if cluster.server(a).is_none()
            && let Err(e) = cluster.restart(a)
        {
            report
                .violations
                .push(format!("{a} could not restart: {e}"));
        }
    }
}

/// One read of every key by a fresh process, after the faults.
fn final_reads(
    config: &crate::cluster_config::ClusterConfig,
    clients: usize,
    keys: usize,
    recorder: &Recorder,
) {
    let Ok(mut client) = Client::connect(config, clients as u16) else {
        return;
    };
    // The first read may wait for a trust change: after rounds without a decision the
    // acceptors wait up to 32 suspicion periods (`service::suspicion`, 12.8 to 19.2 s here)
    // for the leader, and a command must wait a whole period before they suspect it.
    client.set_timeout(Duration::from_secs(60));
    let process = FINAL_READER;
    let every_key = (0..keys).map(key).chain((0..BULK_KEYS).map(bulk_key));
    for key in every_key {
        let op = Op::Get { key };
        recorder.invoke_op(process, &op);
        let reply = client.execute(op.clone()).ok();
        let _ = recorder.complete_op(process, &op, reply.as_ref());
        if reply.is_none() {
            return; // the process is done after an unknown outcome
        }
    }
}

/// Every replica applied the same log: equal digests wherever two applied equally far, and no
/// slot decided two ways. It waits a while for the replicas to converge; replicas that stay
/// behind are compared on what they applied.
fn check_replicas(cluster: &LocalCluster, report: &mut TortureReport) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let replicas: Vec<(NodeId, u64, [u8; 32], u32)> = cluster
            .servers
            .iter()
            .filter_map(|(node, server)| {
                let state = server.state();
                let (log, replica) = state.acceptor()?;
                Some((*node, replica.applied, replica.log_digest, log.rnd))
            })
            .collect();
        report.highest_round = replicas.iter().map(|r| r.3).max().unwrap_or(0);
        let converged = replicas
            .windows(2)
            .all(|w| w[0].1 == w[1].1 && w[0].2 == w[1].2);
        if converged || Instant::now() >= deadline {
            let mut prefixes = Prefixes::default();
            for (node, applied, digest, _) in &replicas {
                prefixes.record(*node, *applied, *digest);
            }
            // Replicas of different lengths are compared on their common slots.
            let lengths = if !converged && prefixes.by_length.len() > 1 {
                let lengths: Vec<String> = replicas
                    .iter()
                    .map(|(n, a, _, _)| format!("{n}: {a}"))
                    .collect();
                format!(" (applied: {})", lengths.join(", "))
            } else {
                String::new()
            };
            report.violations.extend(prefixes.conflicts);
            report.violations.extend(
                slot_conflicts(cluster)
                    .into_iter()
                    .map(|c| format!("{c}{lengths}")),
            );
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Slots that two acceptors decided differently, among those they still keep.
fn slot_conflicts(cluster: &LocalCluster) -> Vec<String> {
    let mut decided = Decided::default();
    for (node, server) in &cluster.servers {
        let state = server.state();
        if let Some((log, _)) = state.acceptor() {
            decided.record(*node, log);
        }
    }
    decided.conflicts
}

/// The applied logs seen so far, by length (with a node that applied it), and every two of
/// one length that differ.
#[derive(Default)]
struct Prefixes {
    by_length: BTreeMap<u64, (NodeId, [u8; 32])>,
    conflicts: Vec<String>,
}

impl Prefixes {
    fn record(&mut self, node: NodeId, applied: u64, digest: [u8; 32]) {
        match self.by_length.get(&applied) {
            Some((other, d)) if *d != digest => self.conflicts.push(format!(
                "{node} and {other} applied different logs of {applied} slots"
            )),
            Some(_) => {}
            None => {
                self.by_length.insert(applied, (node, digest));
            }
        }
    }
}

/// The decisions seen so far, slot by slot, and every disagreement among them.
#[derive(Default)]
struct Decided {
    by_slot: BTreeMap<u64, (NodeId, SlotValue)>,
    conflicts: Vec<String>,
}

impl Decided {
    fn record(&mut self, node: NodeId, log: &LogAcceptorState<SlotValue>) {
        for (slot, l) in &log.learner.slots {
            let Some(d) = &l.decided else { continue };
            // Compared as values: a batch displays only its size.
            match self.by_slot.get(slot) {
                Some((other, v)) if *v != d.value => self.conflicts.push(format!(
                    "slot {slot}: {other} decided {v} (#{}), {node} decided {} (#{})",
                    value_digest(v),
                    d.value,
                    value_digest(&d.value)
                )),
                Some(_) => {}
                None => {
                    self.by_slot.insert(*slot, (node, d.value.clone()));
                }
            }
        }
    }
}

/// The process id of the reads after the faults.
pub const FINAL_READER: u64 = 1_000_000;

fn key(k: usize) -> String {
    format!("k{k}")
}

/// Keys that only puts of large values write: with values up to the command limit they grow
/// the store past a megabyte (96 of 16 KB), so that snapshots and their transfer in parts
/// carry real weight.
const BULK_KEYS: usize = 96;

fn bulk_key(k: usize) -> String {
    format!("bulk{k}")
}

/// Keys whose last write is certain, and a violation for each whose final read found another
/// value. A key's last write is certain when an acknowledged write `w` is such that every
/// other write or cas of the key either failed (wrote nothing) or completed before `w` was
/// invoked: then every order that explains the history ends with `w`, and the final read
/// (by `reader`) must return its value. (The linearizability check covers this too; this
/// says it plainly and counts it.)
pub fn lost_writes(events: &[Event], reader: u64) -> (u64, Vec<String>) {
    use super::history::{EventType, Func};
    // Per key: each write or cas, as (invoke index, completion index and kind, value).
    type Op = (usize, Option<(usize, EventType)>, serde_json::Value);
    let mut ops: BTreeMap<&str, Vec<Op>> = BTreeMap::new();
    let mut open: BTreeMap<u64, (usize, &str)> = BTreeMap::new();
    let mut final_reads: BTreeMap<&str, &serde_json::Value> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        match (e.kind, e.f) {
            (EventType::Invoke, Func::Write | Func::Cas) => {
                ops.entry(&e.key)
                    .or_default()
                    .push((i, None, e.value.clone()));
                open.insert(e.process, (i, &e.key));
            }
            (EventType::Invoke, Func::Read) => {}
            (kind, Func::Write | Func::Cas) => {
                if let Some((invoked, key)) = open.remove(&e.process)
                    && let Some(op) = ops
                        .get_mut(key)
                        .and_then(|v| v.iter_mut().find(|o| o.0 == invoked))
                {
                    op.1 = Some((i, kind));
                }
            }
            (EventType::Ok, Func::Read) if e.process == reader => {
                final_reads.insert(&e.key, &e.value);
            }
            _ => {}
        }
    }
    let mut certain = 0;
    let mut lost = Vec::new();
    for (key, writes) in &ops {
        let Some(read) = final_reads.get(key) else {
            continue;
        };
        let last = writes
            .iter()
            .filter(|w| w.1.is_some_and(|c| c.1 == EventType::Ok));
        let Some(w) = last.max_by_key(|w| w.1.map(|c| c.0)) else {
            continue;
        };
        let follows_nothing = writes.iter().all(|o| {
            o.0 == w.0
                || matches!(o.1, Some((_, EventType::Fail)))
                || matches!(o.1, Some((done, EventType::Ok)) if done < w.0)
        });
        if !follows_nothing {
            continue;
        }
        certain += 1;
        // A write's value is the string written; a cas's is [expected, new].
        let written = match &w.2 {
            serde_json::Value::Array(pair) => pair.get(1).cloned().unwrap_or_default(),
            v => v.clone(),
        };
        if **read != written {
            lost.push(format!(
                "acknowledged write lost: the last write of {key} ({}) is certain, the final read got {}",
                short(&written),
                short(read)
            ));
        }
    }
    (certain, lost)
}

/// A value for a message: large ones by their length.
fn short(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) if s.len() > 40 => format!("a value of {} bytes", s.len()),
        v => v.to_string(),
    }
}

/// One client process of the workload.
struct Worker {
    client: Client,
    index: usize,
    clients: usize,
    /// Its process id in the history: a new one after each unknown outcome.
    process: u64,
    rng: FaultRng,
    keys: usize,
    /// The last value it saw of each key, for CAS that may succeed.
    seen: BTreeMap<usize, Option<String>>,
    written: u64,
    /// The cluster's `max_command_bytes`: its large puts come up to it.
    max_command_bytes: usize,
    large_values: bool,
    large_writes: Arc<AtomicU64>,
}

impl Worker {
    fn run(&mut self, recorder: &Recorder, stop: &AtomicBool, mismatches: &AtomicU64) {
        while !stop.load(Ordering::Relaxed) {
            let k = self.rng.below(self.keys as u64) as usize;
            let op = if self.large_values && self.rng.chance(0.1) {
                self.large_put()
            } else {
                self.next_op(k)
            };
            recorder.invoke_op(self.process, &op);
            match self.client.execute(op.clone()) {
                Ok(reply) => {
                    if let Reply::Value(v) = &reply {
                        self.seen.insert(k, v.clone());
                    }
                    if let Reply::Cas { found, swapped } = &reply {
                        let now = if *swapped {
                            cas_new(&op)
                        } else {
                            found.clone()
                        };
                        self.seen.insert(k, now);
                    }
                    if let Err(HistoryError::MismatchedReply { .. }) =
                        recorder.complete_op(self.process, &op, Some(&reply))
                    {
                        mismatches.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(ClientError::NoAnswer { .. }) | Err(_) => {
                    let _ = recorder.complete_op(self.process, &op, None);
                    // Jepsen's convention: a process with an unknown outcome is done.
                    self.process += self.clients as u64;
                }
            }
        }
    }

    /// A put of a value up to the command limit on a bulk key: a third exactly at the limit,
    /// the others from half of it up.
    fn large_put(&mut self) -> Op {
        self.written += 1;
        self.large_writes.fetch_add(1, Ordering::Relaxed);
        let key = bulk_key(self.rng.below(BULK_KEYS as u64) as usize);
        let tag = format!("{}-{}-", self.index, self.written);
        let empty = Op::Put {
            key: key.clone(),
            value: tag.clone(),
        };
        let room = self
            .max_command_bytes
            .saturating_sub(Command::signed(ClientId(0), 0, empty, &[]).encoded_len());
        let pad = if self.rng.chance(1.0 / 3.0) {
            room
        } else {
            room / 2 + self.rng.below(room as u64 / 2 + 1) as usize
        };
        Op::Put {
            key,
            value: tag + &"x".repeat(pad),
        }
    }

    fn next_op(&mut self, k: usize) -> Op {
        let key = key(k);
        match self.rng.below(10) {
            0..=3 => Op::Get { key },
            4..=7 => {
                self.written += 1;
                Op::Put {
                    key,
                    value: format!("{}-{}", self.index, self.written),
                }
            }
            _ => {
                self.written += 1;
                Op::Cas {
                    key,
                    expected: self.seen.get(&k).cloned().flatten(),
                    new: format!("{}-{}", self.index, self.written),
                }
            }
        }
    }
}

fn cas_new(op: &Op) -> Option<String> {
    match op {
        Op::Cas { new, .. } => Some(new.clone()),
        _ => None,
    }
}
