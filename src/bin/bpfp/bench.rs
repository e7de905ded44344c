//! `bpfp bench`: closed-loop clients against a local cluster (or a running one), first on the
//! fast path, then around one forced trust change (the round-0 leader is stopped), and the
//! stateright paxos example as a baseline. Figures on stdout, as text or JSON.

use crate::Failure;
use crate::serve::read_config;
use bp_fast_paxos::auth::proof_macs_computed;
use bp_fast_paxos::bench::baseline::{BaselineOutcome, run_stateright_paxos};
use bp_fast_paxos::bench::percentile;
use bp_fast_paxos::cluster_config::{ClusterConfig, NodeId, Role};
use bp_fast_paxos::runtime::event_loop::Counters;
use bp_fast_paxos::service::client::Client;
use bp_fast_paxos::service::server::{LocalCluster, ServerOptions, loopback_config};
use bp_fast_paxos::service::{Op, Reply};
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Closed-loop clients (each waits for its reply before the next command).
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds per phase.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Use a running cluster instead of starting one (its config must list enough clients;
    /// the trust-change phase and the server-side figures need a local cluster).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
    /// Skip the stateright baseline.
    #[arg(long)]
    no_baseline: bool,
}

/// The figures of one phase.
#[derive(Serialize, Debug)]
struct Phase {
    name: &'static str,
    commands: u64,
    failed: u64,
    seconds: f64,
    throughput: f64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    /// Log slots decided (at acceptor 0) during the phase.
    slots: Option<u64>,
    /// Commands per slot.
    batching: Option<f64>,
    /// Datagrams the servers sent, per slot decided.
    datagrams_per_slot: Option<f64>,
    /// PROMISE authenticators computed or checked, per slot decided.
    proof_macs_per_slot: Option<f64>,
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
    /// Round trip of one small datagram on loopback, for scale.
    loopback_rtt_us: f64,
    phases: Vec<Phase>,
    baseline: Option<Baseline>,
}

pub fn run_bench(args: BenchArgs) -> Result<(), Failure> {
    if args.clients == 0 || args.seconds.is_nan() || args.seconds <= 0.0 {
        return Err(Failure::Usage(
            "--clients and --seconds must be positive".into(),
        ));
    }
    let duration = Duration::from_secs_f64(args.seconds);
    let mut local = None;
    let config = match &args.config {
        Some(path) => read_config(path)?,
        None => {
            let (config, sockets) = loopback_config(1, 2, args.clients)
                .map_err(|e| Failure::runtime("cannot set up a local cluster", e))?;
            let dir = std::env::temp_dir().join(format!("bpfp-bench-{}", std::process::id()));
            let cluster =
                LocalCluster::start_with(config.clone(), &dir, sockets, ServerOptions::default())
                    .map_err(|e| Failure::runtime("cannot start a local cluster", e))?;
            local = Some((cluster, dir));
            config
        }
    };
    if config.clients.len() < args.clients {
        return Err(Failure::Usage(format!(
            "the config lists {} clients; --clients {} needs as many",
            config.clients.len(),
            args.clients
        )));
    }
    let mut report = Report {
        clients: args.clients,
        loopback_rtt_us: loopback_rtt().as_secs_f64() * 1e6,
        phases: Vec::new(),
        baseline: None,
    };
    let cluster = local.as_mut().map(|(c, _)| c);
    report.phases.push(phase(
        "fast path",
        &config,
        cluster.as_deref(),
        args.clients,
        duration,
    )?);
    if let Some(cluster) = cluster {
        // The round-0 leader stops: acceptors suspect it, and round 1's leader takes over.
        cluster.kill(NodeId::new(Role::Proposer, 0));
        report.phases.push(phase(
            "trust change",
            &config,
            Some(cluster),
            args.clients,
            duration,
        )?);
    }
    if let Some((cluster, dir)) = local {
        drop(cluster);
        let _ = std::fs::remove_dir_all(dir);
    }
    if !args.no_baseline {
        let work = std::env::temp_dir().join("bpfp-bench-baseline");
        report.baseline = Some(match run_stateright_paxos(&work, args.clients, duration) {
            BaselineOutcome::Ran(f) => Baseline {
                ran: true,
                note: "stateright examples/paxos.rs over UDP: single decree, so closed-loop Gets of its decided value".into(),
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
        });
    }
    print(&report, args.json)
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

fn phase(
    name: &'static str,
    config: &ClusterConfig,
    cluster: Option<&LocalCluster>,
    clients: usize,
    duration: Duration,
) -> Result<Phase, Failure> {
    let before = cluster.map(snapshot);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let workers = (0..clients)
        .map(|i| {
            let mut client = Client::connect(config, i as u16)
                .map_err(|e| Failure::runtime("cannot start a client", e))?;
            let (stop, done) = (Arc::clone(&stop), Arc::clone(&done));
            Ok(std::thread::spawn(move || {
                closed_loop(&mut client, i, &stop, &done)
            }))
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    std::thread::sleep(duration);
    // Around a trust change, the phase lasts at least until commands are served again.
    let patience = Instant::now() + config.timing.client_timeout() * 3;
    while done.load(Ordering::Relaxed) == 0 && Instant::now() < patience {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut failed = 0;
    for worker in workers {
        let (ok, bad) = worker
            .join()
            .map_err(|_| Failure::Runtime("a client thread panicked".into()))?;
        latencies.extend(ok);
        failed += bad;
    }
    let seconds = start.elapsed().as_secs_f64();
    latencies.sort();
    let commands = latencies.len() as u64;
    let after = cluster.map(snapshot);
    let slots = before
        .as_ref()
        .zip(after.as_ref())
        .map(|(b, a)| a.applied.saturating_sub(b.applied));
    let per_slot = |f: &dyn Fn(&Snapshot) -> u64| {
        let (b, a, s) = (before.as_ref()?, after.as_ref()?, slots?);
        (s > 0).then(|| (f(a) - f(b)) as f64 / s as f64)
    };
    Ok(Phase {
        name,
        commands,
        failed,
        seconds,
        throughput: commands as f64 / seconds,
        p50_us: percentile(&latencies, 0.50).as_secs_f64() * 1e6,
        p99_us: percentile(&latencies, 0.99).as_secs_f64() * 1e6,
        max_us: latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e6),
        slots,
        batching: slots.filter(|s| *s > 0).map(|s| commands as f64 / s as f64),
        datagrams_per_slot: per_slot(&|s| s.sent),
        proof_macs_per_slot: per_slot(&|s| s.macs),
    })
}

/// One client: put and get in turn on a few keys until told to stop. The latencies of the
/// commands answered, and how many got no answer.
fn closed_loop(
    client: &mut Client,
    i: usize,
    stop: &AtomicBool,
    done: &AtomicU64,
) -> (Vec<Duration>, u64) {
    let mut latencies = Vec::new();
    let mut failed = 0;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("k{}", (i as u64 + n) % 8);
        let op = if n.is_multiple_of(2) {
            Op::Put {
                key,
                value: format!("{i}-{n}"),
            }
        } else {
            Op::Get { key }
        };
        let start = Instant::now();
        match client.execute(op) {
            Ok(Reply::Stored | Reply::Value(_) | Reply::Cas { .. }) => {
                latencies.push(start.elapsed());
                done.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => failed += 1,
        }
        n += 1;
    }
    (latencies, failed)
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
            let start = Instant::now();
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

fn print(report: &Report, json: bool) -> Result<(), Failure> {
    if json {
        let text = serde_json::to_string_pretty(report)
            .map_err(|e| Failure::runtime("cannot write JSON", e))?;
        println!("{text}");
        return Ok(());
    }
    println!(
        "{} closed-loop clients; loopback UDP round trip {:.1} µs",
        report.clients, report.loopback_rtt_us
    );
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
    for p in &report.phases {
        println!(
            "{:<13} {:>8} cmds in {:.1} s = {:>9.0} cmds/s; latency p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs; {} without answer",
            p.name, p.commands, p.seconds, p.throughput, p.p50_us, p.p99_us, p.max_us, p.failed
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
    if let Some(b) = &report.baseline {
        match b.throughput {
            Some(t) => println!(
                "baseline      {t:>9.0} ops/s; latency p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs ({})",
                b.p50_us.unwrap_or(0.0),
                b.p99_us.unwrap_or(0.0),
                b.max_us.unwrap_or(0.0),
                b.note
            ),
            None => println!("baseline      {}", b.note),
        }
    }
    Ok(())
}
