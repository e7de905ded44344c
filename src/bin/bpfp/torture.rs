//! `bpfp torture`: a cluster on loopback under faults and a concurrent workload, then the
//! checks of its history and replicas. Exit 1 on any violation.

use crate::Failure;
use bp_fast_paxos::runtime::faults::FaultRates;
use bp_fast_paxos::service::server::Broken;
use bp_fast_paxos::torture::run::{TortureOptions, torture};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct TortureArgs {
    /// How long the faults and the workload run, in seconds.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 5)]
    clients: usize,
    /// Keys the workload reads, writes and compares-and-sets.
    #[arg(long, default_value_t = 3)]
    keys: usize,
    /// Seed of every random choice (faults, workload, Byzantine proposer).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Probability that a datagram is lost.
    #[arg(long, default_value_t = 0.2)]
    loss: f64,
    /// Probability that a datagram is duplicated.
    #[arg(long, default_value_t = 0.2)]
    duplicate: f64,
    /// Probability that a datagram is delayed (and so reordered).
    #[arg(long, default_value_t = 0.2)]
    reorder: f64,
    /// The longest injected delay, in milliseconds.
    #[arg(long, default_value_t = 20)]
    max_delay_ms: u64,
    /// No crashes (of acceptors, of the honest proposer, of the whole cluster).
    #[arg(long)]
    no_crashes: bool,
    /// No partitions.
    #[arg(long)]
    no_partitions: bool,
    /// No Byzantine proposer (proposer 0 runs honestly).
    #[arg(long)]
    no_byzantine: bool,
    /// Run a deliberately broken build, which the checks must catch: learner-f-plus-1
    /// (learners decide on f + 1 LEARNs) or vote-twice (an acceptor votes again in a round).
    #[arg(long, value_parser = parse_broken)]
    broken: Option<Broken>,
    /// Where the stores and `history.jsonl` go.
    #[arg(long, default_value = "bpfp-torture")]
    dir: PathBuf,
    /// Record the acceptors' traces in DIR/trace, for `check trace`.
    #[arg(long)]
    trace: bool,
}

fn parse_broken(text: &str) -> Result<Broken, String> {
    Broken::ALL
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, b)| *b)
        .ok_or_else(|| {
            let names: Vec<&str> = Broken::ALL.iter().map(|(n, _)| *n).collect();
            format!("unknown broken mode {text:?}; one of: {}", names.join(", "))
        })
}

fn probability(name: &str, p: f64) -> Result<f64, Failure> {
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(Failure::Usage(format!(
            "--{name} must be between 0 and 1, not {p}"
        )))
    }
}

pub fn run_torture(args: TortureArgs) -> Result<(), Failure> {
    if args.seconds.is_nan() || args.seconds <= 0.0 || args.clients == 0 || args.keys == 0 {
        return Err(Failure::Usage(
            "--seconds, --clients and --keys must be positive".into(),
        ));
    }
    let options = TortureOptions {
        duration: Duration::from_secs_f64(args.seconds),
        clients: args.clients,
        keys: args.keys,
        seed: args.seed,
        rates: FaultRates {
            loss: probability("loss", args.loss)?,
            duplicate: probability("duplicate", args.duplicate)?,
            delay: probability("reorder", args.reorder)?,
            max_delay: Duration::from_millis(args.max_delay_ms),
        },
        crashes: !args.no_crashes,
        // Under --no-crashes too: no crash at all.
        whole_cluster_crashes: !args.no_crashes,
        large_values: true,
        partitions: !args.no_partitions,
        byzantine: !args.no_byzantine,
        broken: args.broken,
        dir: args.dir,
        trace: args.trace,
    };
    eprintln!(
        "bpfp torture: {} s, {} clients, seed {}, loss {} dup {} reorder {}{}{}{}",
        args.seconds,
        args.clients,
        args.seed,
        args.loss,
        args.duplicate,
        args.reorder,
        if options.crashes { ", crashes" } else { "" },
        if options.partitions {
            ", partitions"
        } else {
            ""
        },
        if options.byzantine {
            ", Byzantine proposer 0"
        } else {
            ""
        },
    );
    let report = torture(&options).map_err(|e| Failure::runtime("cannot run", e))?;
    print!("{}", report.summary());
    if report.passed() {
        Ok(())
    } else {
        Err(Failure::Runtime(format!(
            "{} violation(s)",
            report.violations.len()
        )))
    }
}
