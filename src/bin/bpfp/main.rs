//! `bpfp`: runs and operates a BP Fast Paxos cluster over UDP.
//!
//! Each subcommand is a variant of [`Command`] with its own argument struct and a `run_*`
//! function that returns `Result<(), Failure>`; `main` only dispatches and turns a failure
//! into a message and an exit status.

mod bench;
mod client;
mod serve;
mod simulate;
mod torture;

use bp_fast_paxos::cluster_config::{ClusterConfig, GenerateError};
use clap::{Args, Parser, Subcommand};
use std::fmt::Display;
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;

/// The simulator and the servers allocate and free many small messages: mimalloc serves
/// them faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "bpfp",
    about = "Run and operate a BP Fast Paxos cluster over UDP",
    long_about = "Run and operate a BP Fast Paxos cluster over UDP (PROTOCOL.md §8).\n\n\
                  Exit status: 0 on success, 1 when the command fails, 2 on bad arguments."
)]
struct Cli {
    /// Log level (error, warn, info, debug, trace, off) or `RUST_LOG`-style `target=level`
    /// directives, comma-separated; `RUST_LOG` is used when this is not given.
    #[arg(long, global = true, value_parser = parse_log_filter)]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print a new cluster config with fresh random keys, as TOML, on stdout.
    Config(ConfigArgs),
    /// Run an acceptor (a replica of the store) until Ctrl-C.
    Acceptor(serve::AcceptorArgs),
    /// Run a proposer until Ctrl-C.
    Proposer(serve::ProposerArgs),
    /// Write DIR/cluster.toml and run 4 acceptors and 2 proposers on 127.0.0.1 until Ctrl-C.
    Local(serve::LocalArgs),
    /// Set a key: prints OK once the write is applied.
    Put(client::PutArgs),
    /// Read a key, through the log (linearizable): prints its value, or (absent).
    Get(client::GetArgs),
    /// Compare-and-set a key: prints swapped, or what the value is.
    Cas(client::CasArgs),
    /// Measure throughput and latency with closed-loop clients, on the fast path and around
    /// a trust change, with stateright's paxos example as a baseline.
    Bench(bench::BenchArgs),
    /// Run a cluster under injected faults and a Byzantine proposer with a concurrent
    /// workload, then check the history for linearizability and the replicas for agreement.
    Torture(torture::TortureArgs),
    /// Simulate the whole service on one thread under seeded faults of time, network and
    /// disk, then check it; the same seed replays the same run.
    Simulate(simulate::SimulateArgs),
}

#[derive(Args, Debug)]
struct ConfigArgs {
    /// Number of acceptors: 3f + 1 for some f >= 1 (4, 7, 10, ...).
    #[arg(long, value_parser = parse_acceptor_count)]
    acceptors: usize,
    /// Number of proposers; the leader of round r is proposer r mod this number.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    proposers: u16,
    /// Number of clients that may submit commands (each gets a command key); at least 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    clients: u16,
    /// The first UDP port (1 or more); acceptors, then proposers, then clients take
    /// consecutive ports, up to 65535.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    base_port: u16,
    /// The IP address every node listens on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Write DIR/cluster.toml (for acceptors) and each proposer's and client's share
    /// (DIR/proposer-N.toml, DIR/client-N.toml: only that node's keys) instead of printing.
    #[arg(long, value_name = "DIR")]
    out: Option<std::path::PathBuf>,
    /// With --out, replace the files of a config already in DIR, and remove the shares of
    /// nodes the new config does not have. Its keys are then gone: every store and share
    /// made with them stops working.
    #[arg(long, requires = "out")]
    force: bool,
}

/// Why a subcommand failed, and so the exit status.
pub enum Failure {
    /// The arguments make no sense together: exit 2, like clap's own usage errors.
    Usage(String),
    /// The command could not do its job: exit 1.
    Runtime(String),
}

impl Failure {
    pub fn runtime(what: &str, e: impl Display) -> Self {
        Failure::Runtime(format!("{what}: {e}"))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A simulation's servers log with the wall clock: only warnings, unless asked.
    let quiet = matches!(cli.command, Command::Simulate(_)).then_some("warn");
    init_logging(cli.log_level.as_deref().or(quiet));
    let outcome = match cli.command {
        Command::Config(args) => run_config(args),
        Command::Acceptor(args) => serve::run_acceptor(args),
        Command::Proposer(args) => serve::run_proposer(args),
        Command::Local(args) => serve::run_local(args),
        Command::Put(args) => client::run_put(args),
        Command::Get(args) => client::run_get(args),
        Command::Cas(args) => client::run_cas(args),
        Command::Bench(args) => bench::run_bench(args),
        Command::Torture(args) => torture::run_torture(args),
        Command::Simulate(args) => simulate::run_simulate(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("bpfp: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(message)) => {
            eprintln!("bpfp: {message}");
            ExitCode::from(1)
        }
    }
}

/// Logs to stderr at `level`, else as `RUST_LOG` says, else warnings and errors, plus the
/// servers' trust changes and other info.
fn init_logging(level: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = match level {
        Some(level) => EnvFilter::try_new(level),
        None => EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new("info")),
    };
    let filter = filter.unwrap_or_else(|e| {
        eprintln!("bpfp: bad log level ({e}); using info");
        EnvFilter::new("info")
    });
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

fn run_config(args: ConfigArgs) -> Result<(), Failure> {
    let config = ClusterConfig::generate(
        args.acceptors,
        usize::from(args.proposers),
        usize::from(args.clients),
        args.base_port,
        args.host,
    )
    .map_err(|e| match e {
        GenerateError::Randomness(_) => Failure::runtime("cannot generate keys", e),
        _ => Failure::Usage(e.to_string()),
    })?;
    let toml = config
        .to_toml()
        .map_err(|e| Failure::runtime("cannot write the config", e))?;
    let header = format!(
        "# BP Fast Paxos cluster: f = {}; acceptors: {}, proposers: {}, clients: {}.\n\
         # Every key is secret, and this file holds them all: give it to acceptors only. A\n\
         # proposer or client that held it could pose as an acceptor, forge PROMISEs (the\n\
         # domain key) and forge clients' commands. `bpfp config --out DIR` also writes each\n\
         # proposer's and client's share, with only its own keys.\n\n",
        config.f,
        config.acceptors.len(),
        config.proposers.len(),
        config.clients.len()
    );
    let Some(dir) = args.out else {
        let mut stdout = std::io::stdout().lock();
        return stdout
            .write_all(header.as_bytes())
            .and_then(|()| stdout.write_all(toml.as_bytes()))
            .and_then(|()| stdout.flush())
            .map_err(|e| Failure::runtime("cannot write to stdout", e));
    };
    let mut files = vec![("cluster.toml".to_string(), header + &toml)];
    files.extend(share_files(&config)?);
    write_files(&dir, files, args.force)?;
    println!("{}", dir.join("cluster.toml").display());
    Ok(())
}

/// Each proposer's and client's share, named and with its header.
fn share_files(config: &ClusterConfig) -> Result<Vec<(String, String)>, Failure> {
    let shares = config
        .nodes()
        .filter(|node| node.role() != bp_fast_paxos::cluster_config::Role::Acceptor);
    shares
        .map(|node| {
            let share = config
                .share_for(node)
                .to_toml()
                .map_err(|e| Failure::runtime("cannot write a share", e))?;
            let header = format!(
                "# The share of {node} in a BP Fast Paxos cluster: only its own keys. Give it to\n\
                 # {node} only.\n\n"
            );
            let name = format!("{}-{}.toml", node.role(), node.index());
            Ok((name, header + &share))
        })
        .collect()
}

/// Writes `files` into `dir`; unless `force`, only if none is there yet, since new keys in
/// place of a config's would leave every store and share made with it unusable.
fn write_files(dir: &Path, files: Vec<(String, String)>, force: bool) -> Result<(), Failure> {
    let mut paths = files.iter().map(|(name, _)| dir.join(name));
    if !force && let Some(taken) = paths.find(|path| path.exists()) {
        return Err(Failure::Runtime(format!(
            "{} exists: a new config would replace its keys, and no store or share made \
             with them would work; pass --force to replace it anyway",
            taken.display()
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::runtime(&format!("cannot create {}", dir.display()), e))?;
    if force {
        remove_stale_shares(dir, &files)?;
    }
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .map_err(|e| Failure::runtime(&format!("cannot write {}", path.display()), e))?;
    }
    Ok(())
}

/// Removes the shares in `dir` of nodes that the config replacing it does not have: their
/// keys are the old config's, and a node given one would fail in a way hard to read.
fn remove_stale_shares(dir: &Path, files: &[(String, String)]) -> Result<(), Failure> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Failure::runtime(&format!("cannot read {}", dir.display()), e))?;
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let a_share = (name.starts_with("proposer-") || name.starts_with("client-"))
            && name.ends_with(".toml");
        if a_share && !files.iter().any(|(written, _)| *written == name) {
            std::fs::remove_file(entry.path()).map_err(|e| {
                Failure::runtime(&format!("cannot remove {}", entry.path().display()), e)
            })?;
        }
    }
    Ok(())
}

/// Accepts a filter whose every directive is a level or `target=level`, so that clap reports
/// anything else as a usage error (exit 2). A bare word is a target to the filter's own parser,
/// which would take a mistyped level for one and log nothing.
fn parse_log_filter(text: &str) -> Result<String, String> {
    use tracing::level_filters::LevelFilter;
    tracing_subscriber::EnvFilter::try_new(text).map_err(|e| e.to_string())?;
    let not_a_level = text
        .split(',')
        .map(str::trim)
        .find(|part| !part.contains('=') && part.parse::<LevelFilter>().is_err());
    match not_a_level {
        Some(part) => Err(format!(
            "{part:?} is neither a level (error, warn, info, debug, trace, off) nor target=level"
        )),
        None => Ok(text.to_string()),
    }
}

/// Accepts only `3f + 1` acceptors with `f >= 1`, so that clap reports anything else as a
/// usage error (exit 2) before any work is done.
fn parse_acceptor_count(text: &str) -> Result<usize, String> {
    let n: usize = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if n >= 4 && n % 3 == 1 {
        Ok(n)
    } else {
        Err(format!(
            "{n} acceptors cannot form a cluster: n must be 3f + 1 with f >= 1 (4, 7, 10, ...)"
        ))
    }
}
