//! `bpfp simulate`: the whole service under a seeded simulation of time, network and disk.
//! Exit 1 on any violation; a failing seed prints the command that replays it.

use crate::Failure;
use bp_fast_paxos::sim::{SimBroken, SimOptions, first_failing_step, simulate};
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// The seed of the run.
    #[arg(long, default_value_t = 1, conflicts_with = "seeds")]
    seed: u64,
    /// A range of seeds, `A..B` (B excluded), run one after the other.
    #[arg(long, value_parser = parse_range)]
    seeds: Option<(u64, u64)>,
    /// Honest clients.
    #[arg(long, default_value_t = 5)]
    clients: usize,
    /// Keys of the workload (few: contended).
    #[arg(long, default_value_t = 3)]
    keys: usize,
    /// Simulated milliseconds of faults.
    #[arg(long, default_value_t = 10_000)]
    fault_ms: u64,
    /// Simulated milliseconds of calm after the faults heal, before the final reads.
    #[arg(long, default_value_t = 5_000)]
    calm_ms: u64,
    /// Run a deliberately broken build, which the checks must catch: learner-f-plus-1,
    /// vote-twice, send-before-sync, apply-twice, compact-before-snapshot, cas-misreported,
    /// release-at-every-write.
    #[arg(long, value_parser = SimBroken::parse)]
    broken: Option<SimBroken>,
    /// No crash and restart of the whole cluster during the faults.
    #[arg(long)]
    no_whole_cluster: bool,
    /// No Byzantine proposer and client.
    #[arg(long)]
    no_byzantine: bool,
    /// A tenth of the operations put values up to the command limit (open votes and
    /// PROMISEs of many datagrams).
    #[arg(long)]
    large_values: bool,
    /// The share of datagrams lost while the faults last (0 to 1).
    #[arg(long, default_value_t = 0.10)]
    loss: f64,
    /// Give each server a socket receive buffer of this many bytes (212992 is Linux's
    /// default), which fills while the server reads and syncs and drops what does not fit.
    #[arg(long)]
    rcvbuf: Option<usize>,
    /// Stop after this many steps and check what happened until then.
    #[arg(long)]
    until_step: Option<u64>,
    /// Stop a run at the first step that finds a violation.
    #[arg(long)]
    stop_at_violation: bool,
    /// On a violation, find the first step at which the run fails (by binary search).
    #[arg(long)]
    shrink: bool,
    /// Write DIR/history.jsonl (one seed) or DIR/seed-S/history.jsonl (a range).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also print operations per second of wall time (not reproducible: it is measured).
    #[arg(long)]
    stats: bool,
}

fn parse_range(text: &str) -> Result<(u64, u64), String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("{text:?} is not a range A..B"))?;
    let a: u64 = a.parse().map_err(|e| format!("{a:?}: {e}"))?;
    let b: u64 = b.parse().map_err(|e| format!("{b:?}: {e}"))?;
    if a >= b {
        return Err(format!("the range {text} is empty"));
    }
    Ok((a, b))
}

pub fn run_simulate(args: SimulateArgs) -> Result<(), Failure> {
    if !(0.0..=1.0).contains(&args.loss) {
        return Err(Failure::Usage("--loss must be between 0 and 1".into()));
    }
    if args.clients == 0 || args.keys == 0 || args.fault_ms == 0 {
        return Err(Failure::Usage(
            "--clients, --keys and --fault-ms must be positive".into(),
        ));
    }
    let (first, last) = args.seeds.unwrap_or((args.seed, args.seed + 1));
    let range = args.seeds.is_some();
    let started = Instant::now();
    let (mut operations, mut failing) = (0u64, Vec::new());
    for seed in first..last {
        let options = SimOptions {
            clients: args.clients,
            keys: args.keys,
            fault_ms: args.fault_ms,
            calm_ms: args.calm_ms,
            broken: args.broken,
            whole_cluster: !args.no_whole_cluster,
            byzantine: !args.no_byzantine,
            large_values: args.large_values,
            loss: args.loss,
            rcvbuf: args.rcvbuf,
            until_step: args.until_step,
            stop_at_violation: args.stop_at_violation,
            ..SimOptions::new(seed)
        };
        let run_started = Instant::now();
        let report = simulate(&options).map_err(|e| Failure::runtime("cannot simulate", e))?;
        let wall = run_started.elapsed().as_secs_f64();
        print!("{}", report.summary());
        if args.stats {
            println!(
                "  stats: {} operations in {wall:.3} s of wall time: {:.0} simulated operations per second",
                report.operations(),
                report.operations() as f64 / wall.max(1e-9)
            );
        }
        if let Some(dir) = &args.dir {
            let dir = if range {
                dir.join(format!("seed-{seed}"))
            } else {
                dir.clone()
            };
            report
                .write_history(&dir)
                .map_err(|e| Failure::runtime("cannot write the history", e))?;
        }
        if !report.passed() {
            if args.shrink
                && let Some(step) = first_failing_step(&options, &report)
            {
                let shortened = SimOptions {
                    until_step: Some(step),
                    ..options.clone()
                };
                println!(
                    "  first failing step: {step}: {}",
                    shortened.replay_command()
                );
            }
            failing.push(seed);
        }
        operations += report.operations();
    }
    if args.stats {
        let wall = started.elapsed().as_secs_f64();
        println!(
            "total: {operations} simulated operations in {wall:.3} s of wall time: {:.0} per second",
            operations as f64 / wall.max(1e-9)
        );
    }
    if failing.is_empty() {
        Ok(())
    } else {
        let list: Vec<String> = failing.iter().map(u64::to_string).collect();
        Err(Failure::Runtime(format!(
            "{} of {} seeds failed: {}",
            failing.len(),
            last - first,
            list.join(" ")
        )))
    }
}
