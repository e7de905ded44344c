//! `bpfp bench`: closed-loop clients against a local cluster (or a running one) on the fast
//! path, at one client count or a sweep of them; optionally the same load against a real peer
//! (etcd) in the same run; then a phase around one forced trust change (the round-0 leader is
//! stopped a third of the way in), with its latency over time; and the stateright paxos
//! example as a figure of the transport alone. Figures on stdout, as text or JSON, and an SVG
//! plot with `--plot`.

use crate::Failure;
use crate::serve::read_config;
use bp_fast_paxos::auth::proof_macs_computed;
use bp_fast_paxos::bench::baseline::{BaselineOutcome, run_stateright_paxos};
use bp_fast_paxos::bench::disk;
use bp_fast_paxos::bench::etcd::{self, EtcdCluster};
use bp_fast_paxos::bench::etcd_session::EtcdSession;
use bp_fast_paxos::bench::load::{Bucket, Figures, Load, Samples, loader_threads};
use bp_fast_paxos::bench::plot::{self, Panel, Scale, Series};
use bp_fast_paxos::bench::service::ServiceSession;
use bp_fast_paxos::bench::workload::{KEYS, Workload};
use bp_fast_paxos::cluster_config::{ClusterConfig, NodeId, Role};
use bp_fast_paxos::runtime::event_loop::Counters;
use bp_fast_paxos::service::node::Tuning;
use bp_fast_paxos::service::server::{LocalCluster, ServerOptions, loopback_config};
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Closed-loop clients (each waits for its reply before the next command); with --sweep,
    /// those of the trust-change phase.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Measure the fast path at each of these client counts in turn (e.g. 1,4,16,64,256).
    #[arg(long, value_delimiter = ',', value_name = "COUNTS")]
    sweep: Vec<usize>,
    /// Seconds per phase (per client count in a sweep).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Bytes of every value put, for every system measured.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    value_size: u16,
    /// Also drive a real peer, started on loopback for the run, with the same clients, command
    /// mix and value size (skipped, with the reason, when it is not installed).
    #[arg(long, value_enum)]
    peer: Option<Peer>,
    /// Write the figures as an SVG plot (throughput and latency per client count, and latency
    /// over time around the trust change) to this file.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Use a running cluster instead of starting one (its config must list enough clients;
    /// the trust-change phase and the server-side figures need a local cluster).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The local cluster's `max_slots_in_flight` (the config's default when left out): how
    /// many slots the leader pipelines.
    #[arg(long, value_name = "K", conflicts_with = "config",
          value_parser = clap::value_parser!(u64).range(1..=85))]
    slots_in_flight: Option<u64>,
    /// How long the local cluster's leader waits, after a decision, for the clients it
    /// answered before it proposes a small batch, in microseconds (0: it never waits).
    #[arg(long, value_name = "MICROSECONDS", conflicts_with = "config",
          default_value_t = default_linger_us())]
    linger_us: u64,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
    /// Skip the stateright baseline.
    #[arg(long)]
    no_baseline: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Peer {
    /// etcd 3.4 (Debian's `etcd-server`): 3 members, through its HTTP/JSON gateway.
    Etcd,
}

/// The figures of one phase.
#[derive(Serialize, Debug)]
struct Phase {
    name: &'static str,
    clients: usize,
    #[serde(flatten)]
    figures: Figures,
    /// Log slots decided (at acceptor 0) during the phase.
    slots: Option<u64>,
    /// Commands per slot.
    batching: Option<f64>,
    /// Datagrams the servers sent, per slot decided.
    datagrams_per_slot: Option<f64>,
    /// PROMISE authenticators computed or checked, per slot decided.
    proof_macs_per_slot: Option<f64>,
}

/// Latency over time in the trust-change phase.
#[derive(Serialize, Debug)]
struct Timeline {
    leader_stopped_at_s: f64,
    bucket_ms: u64,
    buckets: Vec<Bucket>,
}

#[derive(Serialize, Debug)]
struct PeerReport {
    name: &'static str,
    version: Option<String>,
    ran: bool,
    note: String,
    /// One per client count, as the service's fast-path phases.
    phases: Vec<Phase>,
}

#[derive(Serialize, Debug)]
struct Baseline {
    ran: bool,
    note: String,
    throughput: Option<f64>,
    p50_us: Option<f64>,
    p99_us: Option<f64>,
    max_us: Option<f64>,
}

#[derive(Serialize, Debug)]
struct Report {
    clients: usize,
    value_size: usize,
    /// Round trip of one small datagram on loopback, for scale.
    loopback_rtt_us: f64,
    /// The median synced append on the local cluster's disk with all its acceptors writing at
    /// once: what a command waits for at one client, at least once (none for a running
    /// cluster, whose disks are elsewhere).
    synced_append_us: Option<f64>,
    /// The fast path at each client count, then the trust change.
    phases: Vec<Phase>,
    trust_change: Option<Timeline>,
    peer: Option<PeerReport>,
    baseline: Option<Baseline>,
}

/// The timeline's interval.
const BUCKET: Duration = Duration::from_millis(100);
/// Every phase begins with this long of load that is not measured: a new client's first
/// commands wait for connections to open and addresses to be learnt.
const WARM_UP: Duration = Duration::from_millis(500);

/// The servers' own linger, so that `--help` shows the default the leader runs with.
fn default_linger_us() -> u64 {
    u64::try_from(Tuning::default().linger.as_micros()).unwrap_or(u64::MAX)
}

/// The local cluster's options: the defaults, but for the linger asked for.
fn server_options(args: &BenchArgs) -> ServerOptions {
    let mut options = ServerOptions::default();
    options.tuning.linger = Duration::from_micros(args.linger_us);
    options
}

pub fn run_bench(args: BenchArgs) -> Result<(), Failure> {
    if args.clients == 0 || args.sweep.contains(&0) || args.seconds.is_nan() || args.seconds <= 0.0
    {
        return Err(Failure::Usage(
            "--clients, --sweep's counts and --seconds must be positive".into(),
        ));
    }
    if let Some(path) = &args.plot {
        check_plot_path(path)?;
    }
    let duration = Duration::from_secs_f64(args.seconds);
    let workload = Workload {
        value_size: usize::from(args.value_size),
    };
    let counts = if args.sweep.is_empty() {
        vec![args.clients]
    } else {
        args.sweep.clone()
    };
    let most = counts.iter().copied().fold(args.clients, usize::max);
    let scratch = std::env::temp_dir().join(format!("bpfp-bench-{}", std::process::id()));
    let mut local = None;
    let config = match &args.config {
        Some(path) => read_config(path)?,
        None => {
            let (mut config, sockets) = loopback_config(1, 2, most)
                .map_err(|e| Failure::runtime("cannot set up a local cluster", e))?;
            if let Some(k) = args.slots_in_flight {
                config.limits.max_slots_in_flight = k;
            }
            let cluster = LocalCluster::start_with(
                config.clone(),
                &scratch.join("bpfp"),
                sockets,
                server_options(&args),
            )
            .map_err(|e| Failure::runtime("cannot start a local cluster", e))?;
            local = Some(cluster);
            config
        }
    };
    if config.clients.len() < most {
        return Err(Failure::Usage(format!(
            "the config lists {} clients; {most} clients need as many",
            config.clients.len(),
        )));
    }
    let mut peer = args
        .peer
        .map(|Peer::Etcd| start_etcd(&scratch.join("etcd")));
    let mut report = Report {
        clients: args.clients,
        value_size: workload.value_size,
        loopback_rtt_us: loopback_rtt().as_secs_f64() * 1e6,
        synced_append_us: local
            .is_some()
            .then(|| time_synced_append(&scratch.join("disk"), config.acceptors.len()))
            .flatten(),
        phases: Vec::new(),
        trust_change: None,
        peer: None,
        baseline: None,
    };
    // Each client count on one system, then on the other: neighbours in time share the
    // machine's load, so their ratio is fairer than that of two sweeps run one after the other.
    for &clients in &counts {
        let (phase, _) =
            service_phase(&config, local.as_mut(), clients, duration, workload, false)?;
        report.phases.push(phase);
        if let Some((report, cluster)) = &mut peer {
            etcd_phase(report, cluster, clients, duration, workload);
        }
    }
    if let Some((peer_report, cluster)) = peer {
        drop(cluster);
        report.peer = Some(peer_report);
    }
    if let Some(mut cluster) = local {
        let (phase, timeline) = service_phase(
            &config,
            Some(&mut cluster),
            args.clients,
            duration,
            workload,
            true,
        )?;
        report.phases.push(phase);
        report.trust_change = timeline;
        drop(cluster);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if !args.no_baseline {
        report.baseline = Some(baseline(args.clients, duration));
    }
    print(&report, args.json)?;
    if let Some(path) = &args.plot {
        plot::write_svg(path, &panels(&report), (560, 380))
            .map_err(|e| Failure::Runtime(e.to_string()))?;
        if !args.json {
            println!("plot written to {}", path.display());
        }
    }
    Ok(())
}

/// Refuses a plot that could not be written, before the bench runs rather than after: its
/// directory must exist and take a new file.
fn check_plot_path(path: &Path) -> Result<(), Failure> {
    let refuse = |why: String| Failure::Usage(format!("--plot {}: {why}", path.display()));
    if path.is_dir() {
        return Err(refuse("it is a directory; give a file".into()));
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(refuse(format!("there is no directory {}", dir.display())));
    }
    let probe = dir.join(format!(".bpfp-plot-probe-{}", std::process::id()));
    std::fs::File::create_new(&probe)
        .map_err(|e| refuse(format!("cannot write in {}: {e}", dir.display())))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The peer's cluster, started; or a report saying why it was skipped, and no cluster.
fn start_etcd(dir: &Path) -> (PeerReport, Option<EtcdCluster>) {
    let mut report = PeerReport {
        name: "etcd",
        version: None,
        ran: false,
        note: String::new(),
        phases: Vec::new(),
    };
    let started = etcd::find_etcd(std::env::var_os("PATH").as_deref())
        .and_then(|binary| EtcdCluster::start(&binary, dir));
    match started {
        Ok(cluster) => {
            report.ran = true;
            report.version = Some(cluster.version.clone());
            report.note = format!(
                "etcd {}: {} members on loopback, each syncing its write-ahead log; puts and linearizable ranges through its HTTP/JSON gateway over kept-alive connections",
                cluster.version,
                etcd::MEMBERS
            );
            (report, Some(cluster))
        }
        Err(why) => {
            report.note = format!("skipped: {why}");
            eprintln!("bench: the etcd peer is {}", report.note);
            (report, None)
        }
    }
}

/// One client count against etcd; an error ends the peer's part of the run (and stops it).
fn etcd_phase(
    report: &mut PeerReport,
    cluster: &mut Option<EtcdCluster>,
    clients: usize,
    duration: Duration,
    workload: Workload,
) {
    let Some(running) = cluster else { return };
    let members = running.clients();
    // Spread over the members; a follower forwards puts to the leader.
    let sessions: Vec<_> = (0..clients)
        .map(|i| EtcdSession::new(members[i % members.len()]))
        .collect();
    let load = Load::start(sessions, loader_threads(clients), workload);
    std::thread::sleep(WARM_UP + duration);
    wait_for_answers(&load, 1, etcd::REQUEST_TIMEOUT);
    let outcome = load.finish().and_then(|samples| {
        running.check_alive()?;
        let samples = samples.after_warm_up(WARM_UP);
        if samples.completions.is_empty() {
            return Err(format!("no command answered ({} failed)", samples.failed));
        }
        Ok(samples)
    });
    match outcome {
        Ok(samples) => report.phases.push(Phase {
            name: "etcd",
            clients,
            figures: samples.figures(),
            slots: None,
            batching: None,
            datagrams_per_slot: None,
            proof_macs_per_slot: None,
        }),
        Err(why) => {
            report.ran = false;
            report.note = format!("stopped at {clients} clients: {why}");
            eprintln!("bench: the etcd peer {}", report.note);
            *cluster = None;
        }
    }
}

/// Waits (at most `patience`) until `wanted` commands have been answered.
fn wait_for_answers(load: &Load, wanted: u64, patience: Duration) {
    let until = load.elapsed() + patience;
    while load.answered() < wanted && load.elapsed() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Server-side counts at one instant.
struct Snapshot {
    applied: u64,
    sent: u64,
    macs: u64,
}

fn snapshot(cluster: &LocalCluster) -> Snapshot {
    let applied = cluster
        .server(NodeId::new(Role::Acceptor, 0))
        .and_then(|s| s.state().acceptor().map(|(_, r)| r.applied))
        .unwrap_or(0);
    let sent = cluster
        .servers
        .iter()
        .map(|(_, s)| Counters::get(&s.counters.sent))
        .sum();
    Snapshot {
        applied,
        sent,
        macs: proof_macs_computed(),
    }
}

/// One phase against the service; with `stop_leader`, the round-0 leader is stopped a third of
/// the way in, and the phase lasts until a command sent after that is answered (so that it
/// shows the new round), and comes with its latency over time.
fn service_phase(
    config: &ClusterConfig,
    mut cluster: Option<&mut LocalCluster>,
    clients: usize,
    duration: Duration,
    workload: Workload,
    stop_leader: bool,
) -> Result<(Phase, Option<Timeline>), Failure> {
    let sessions = (0..clients)
        .map(|i| {
            ServiceSession::connect(config, i as u16)
                .map_err(|e| Failure::runtime("cannot start a client", e))
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let load = Load::start(sessions, loader_threads(clients), workload);
    std::thread::sleep(WARM_UP);
    let before = cluster.as_deref().map(snapshot);
    let mut stopped = None;
    // What the stopped leader sent, which its counters no longer tell once it is gone.
    let mut sent_by_stopped = 0;
    match cluster.as_deref_mut().filter(|_| stop_leader) {
        Some(cluster) => {
            std::thread::sleep(duration / 3);
            // Acceptors suspect the silent leader, and round 1's leader takes over.
            let leader = NodeId::new(Role::Proposer, 0);
            sent_by_stopped = cluster
                .server(leader)
                .map_or(0, |s| Counters::get(&s.counters.sent));
            cluster.kill(leader);
            stopped = Some((load.elapsed() - WARM_UP, load.answered()));
            std::thread::sleep(duration - duration / 3);
        }
        None => std::thread::sleep(duration),
    }
    // Each client has at most one command in flight at the stop, so this many answers
    // include one to a command sent after it.
    let wanted = stopped.map_or(1, |(_, answered)| answered + clients as u64 + 1);
    wait_for_answers(&load, wanted, config.timing.client_timeout() * 3);
    let samples: Samples = load
        .finish()
        .map_err(Failure::Runtime)?
        .after_warm_up(WARM_UP);
    let after = cluster.as_deref().map(snapshot).map(|mut a| {
        a.sent += sent_by_stopped;
        a
    });
    let figures = samples.figures();
    let slots = before
        .as_ref()
        .zip(after.as_ref())
        .map(|(b, a)| a.applied.saturating_sub(b.applied));
    let per_slot = |f: &dyn Fn(&Snapshot) -> u64| {
        let (b, a, s) = (before.as_ref()?, after.as_ref()?, slots?);
        (s > 0).then(|| f(a).saturating_sub(f(b)) as f64 / s as f64)
    };
    let phase = Phase {
        name: if stop_leader {
            "trust change"
        } else {
            "fast path"
        },
        clients,
        slots,
        batching: slots
            .filter(|s| *s > 0)
            .map(|s| figures.commands as f64 / s as f64),
        datagrams_per_slot: per_slot(&|s| s.sent),
        proof_macs_per_slot: per_slot(&|s| s.macs),
        figures,
    };
    let timeline = stopped.map(|(at, _)| Timeline {
        leader_stopped_at_s: at.as_secs_f64(),
        bucket_ms: BUCKET.as_millis() as u64,
        buckets: samples.timeline(BUCKET),
    });
    Ok((phase, timeline))
}

fn baseline(clients: usize, duration: Duration) -> Baseline {
    let work = std::env::temp_dir().join("bpfp-bench-baseline");
    match run_stateright_paxos(&work, clients, duration) {
        BaselineOutcome::Ran(f) => Baseline {
            ran: true,
            note: "stateright examples/paxos.rs over UDP, a figure of the transport alone: single decree, so closed-loop Gets of its decided value, served from memory with no consensus and no disk".into(),
            throughput: Some(f.throughput),
            p50_us: Some(f.p50.as_secs_f64() * 1e6),
            p99_us: Some(f.p99.as_secs_f64() * 1e6),
            max_us: Some(f.max.as_secs_f64() * 1e6),
        },
        BaselineOutcome::Skipped(why) => Baseline {
            ran: false,
            note: format!("skipped: {why}"),
            throughput: None,
            p50_us: None,
            p99_us: None,
            max_us: None,
        },
    }
}

/// The median of 1000 round trips of a small datagram between two loopback sockets.
fn loopback_rtt() -> Duration {
    let measure = || -> std::io::Result<Duration> {
        let a = std::net::UdpSocket::bind("127.0.0.1:0")?;
        let b = std::net::UdpSocket::bind("127.0.0.1:0")?;
        b.set_read_timeout(Some(Duration::from_secs(1)))?;
        a.set_read_timeout(Some(Duration::from_secs(1)))?;
        let (a_addr, b_addr) = (a.local_addr()?, b.local_addr()?);
        let mut buf = [0u8; 64];
        let mut times = Vec::new();
        for _ in 0..1000 {
            let start = std::time::Instant::now();
            a.send_to(&[1; 32], b_addr)?;
            b.recv_from(&mut buf)?;
            b.send_to(&[2; 32], a_addr)?;
            a.recv_from(&mut buf)?;
            times.push(start.elapsed());
        }
        times.sort();
        Ok(times[times.len() / 2])
    };
    measure().unwrap_or_default()
}

/// The median synced append of `writers` at once in `dir`, in µs; none (and said why) if the
/// disk refuses.
fn time_synced_append(dir: &Path, writers: usize) -> Option<f64> {
    match disk::synced_append(dir, writers, SYNCED_APPENDS) {
        Ok(took) => Some(took.as_secs_f64() * 1e6),
        Err(e) => {
            eprintln!("cannot time a synced append in {}: {e}", dir.display());
            None
        }
    }
}

/// Synced appends each writer makes to time the disk (about a tenth of a second here; fewer on a
/// slower disk, whose timing stops at 150 ms).
const SYNCED_APPENDS: usize = 500;

/// A latency in µs, in the unit that reads best.
fn latency(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

/// The service's name in the figures.
const SERVICE: &str = "BP Fast Paxos";

fn peer_label(peer: &PeerReport) -> String {
    match &peer.version {
        Some(v) => format!("{} {v}", peer.name),
        None => peer.name.to_owned(),
    }
}

fn print(report: &Report, json: bool) -> Result<(), Failure> {
    if json {
        let text = serde_json::to_string_pretty(report)
            .map_err(|e| Failure::runtime("cannot write JSON", e))?;
        println!("{text}");
        return Ok(());
    }
    println!(
        "closed-loop clients, put and get in turn on {KEYS} keys, {}-byte values; loopback UDP round trip {:.1} µs",
        report.value_size, report.loopback_rtt_us
    );
    if let Some(us) = report.synced_append_us {
        println!(
            "one synced append on the servers' disk, all acceptors at once: {}",
            latency(us)
        );
    }
    let fast: Vec<&Phase> = report
        .phases
        .iter()
        .filter(|p| p.name == "fast path")
        .collect();
    let peer = report.peer.as_ref().filter(|p| !p.phases.is_empty());
    let mut head = format!(
        "{:>7} | {:<13} {:>9} {:>9} {:>9}",
        "clients", SERVICE, "cmds/s", "p50", "p99"
    );
    if let Some(peer) = peer {
        head += &format!(
            " | {:<13} {:>9} {:>9} {:>9} | {SERVICE} / {}",
            peer_label(peer),
            "cmds/s",
            "p50",
            "p99",
            peer.name
        );
    }
    println!("{head}");
    for p in &fast {
        let f = &p.figures;
        let mut row = format!(
            "{:>7} | {:<13} {:>9.0} {:>9} {:>9}",
            p.clients,
            "",
            f.throughput,
            latency(f.p50_us),
            latency(f.p99_us)
        );
        if let Some(peer) = peer {
            match peer.phases.iter().find(|q| q.clients == p.clients) {
                Some(q) => {
                    let g = &q.figures;
                    let ratio = if g.throughput > 0.0 {
                        format!("{:.2}×", f.throughput / g.throughput)
                    } else {
                        "-".into()
                    };
                    row += &format!(
                        " | {:<13} {:>9.0} {:>9} {:>9} | {ratio}",
                        "",
                        g.throughput,
                        latency(g.p50_us),
                        latency(g.p99_us)
                    );
                }
                None => row += " | -",
            }
        }
        println!("{row}");
    }
    if let Some(peer) = &report.peer {
        println!("{}: {}", peer.name, peer.note);
    }
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
    for p in &report.phases {
        let f = &p.figures;
        println!(
            "{:<13} {:>4} clients: {:>8} cmds in {:.1} s = {:>9.0} cmds/s; latency p50 {}, p99 {}, max {}; {} without answer",
            p.name,
            p.clients,
            f.commands,
            f.seconds,
            f.throughput,
            latency(f.p50_us),
            latency(f.p99_us),
            latency(f.max_us),
            f.failed
        );
        println!(
            "{:<13} slots {}, commands per slot {}, datagrams per slot {}, proof MACs per slot {}",
            "",
            p.slots.map_or("-".to_string(), |s| s.to_string()),
            opt(p.batching),
            opt(p.datagrams_per_slot),
            opt(p.proof_macs_per_slot)
        );
    }
    if let Some(t) = &report.trust_change {
        println!(
            "trust change over time ({} ms intervals; the round-0 leader stopped at {:.2} s): start, commands answered, p50, max",
            t.bucket_ms, t.leader_stopped_at_s
        );
        let mut quiet_since = None;
        for b in &t.buckets {
            if b.commands == 0 {
                quiet_since.get_or_insert(b.start_s);
                continue;
            }
            if let Some(from) = quiet_since.take() {
                println!("  {from:>6.2} s to {:.2} s: no command answered", b.start_s);
            }
            println!(
                "  {:>6.2} s {:>7} {:>9} {:>9}",
                b.start_s,
                b.commands,
                latency(b.p50_us),
                latency(b.max_us)
            );
        }
    }
    if let Some(b) = &report.baseline {
        match b.throughput {
            Some(t) => println!(
                "baseline (transport alone) {t:>9.0} ops/s; latency p50 {}, p99 {}, max {} ({})",
                latency(b.p50_us.unwrap_or(0.0)),
                latency(b.p99_us.unwrap_or(0.0)),
                latency(b.max_us.unwrap_or(0.0)),
                b.note
            ),
            None => println!("baseline (transport alone) {}", b.note),
        }
    }
    Ok(())
}

/// The plot: throughput, p50 and p99 per client count for each system, and the trust
/// change's latency over time.
fn panels(report: &Report) -> Vec<Panel> {
    let mut systems: Vec<(String, Vec<&Phase>)> = vec![(
        SERVICE.to_owned(),
        report
            .phases
            .iter()
            .filter(|p| p.name == "fast path")
            .collect(),
    )];
    if let Some(peer) = report.peer.as_ref().filter(|p| !p.phases.is_empty()) {
        systems.push((peer_label(peer), peer.phases.iter().collect()));
    }
    let per_clients =
        |title: &str, y_label: &str, y_scale, value: &dyn Fn(&Figures) -> f64| Panel {
            title: title.to_owned(),
            x_label: "closed-loop clients".into(),
            y_label: y_label.to_owned(),
            x_scale: Scale::Log,
            y_scale,
            series: systems
                .iter()
                .map(|(label, phases)| Series {
                    label: label.clone(),
                    points: phases
                        .iter()
                        .map(|p| (p.clients as f64, value(&p.figures)))
                        .collect(),
                })
                .collect(),
        };
    let mut panels = vec![
        per_clients("Throughput", "commands/s", Scale::Linear, &|f| f.throughput),
        per_clients("Latency p50", "ms", Scale::Log, &|f| f.p50_us / 1000.0),
        per_clients("Latency p99", "ms", Scale::Log, &|f| f.p99_us / 1000.0),
    ];
    if let Some(t) = &report.trust_change {
        let series = |label: &str, value: &dyn Fn(&Bucket) -> f64| Series {
            label: label.to_owned(),
            // No line across an interval in which nothing was answered.
            points: t
                .buckets
                .iter()
                .map(|b| {
                    if b.commands > 0 {
                        (b.start_s, value(b))
                    } else {
                        plot::BREAK
                    }
                })
                .collect(),
        };
        let p50 = series(&format!("{SERVICE} p50 per {} ms", t.bucket_ms), &|b| {
            b.p50_us / 1000.0
        });
        let max = series(&format!("{SERVICE} max per {} ms", t.bucket_ms), &|b| {
            b.max_us / 1000.0
        });
        let shown = p50
            .points
            .iter()
            .chain(&max.points)
            .map(|p| p.1)
            .filter(|v| v.is_finite() && *v > 0.0);
        let (lo, hi) = shown.fold((f64::INFINITY, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let stop = Series {
            label: "round-0 leader stopped".into(),
            points: if lo <= hi {
                vec![(t.leader_stopped_at_s, lo), (t.leader_stopped_at_s, hi)]
            } else {
                Vec::new()
            },
        };
        panels.push(Panel {
            title: format!(
                "Trust change, {} clients: latency over time",
                report.clients
            ),
            x_label: "seconds since the phase began".into(),
            y_label: "ms".into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Log,
            series: vec![p50, max, stop],
        });
    }
    panels
}
