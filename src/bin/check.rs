//! `check`: model-checks BP Fast Paxos with stateright.
//!
//! `check` exhausts the default configuration; `check explore` serves stateright's web
//! explorer; `check simulate` runs random walks for configurations too big to exhaust. Each
//! works on the single decree and, with `--log`, on the replicated log: both are protocols of
//! one model core, checked by one run path.

use bp_fast_paxos::models::core::model::{Properties, ProtocolModel};
use bp_fast_paxos::models::core::property::{VARIANT_MUST_VIOLATE, must_hold};
use bp_fast_paxos::models::core::protocol::{AgentState, Msg, State, Storage};
use bp_fast_paxos::models::core::report::{Describe, Verdict, verdicts};
use bp_fast_paxos::models::core::shape::SHARED_DEFAULTS;
use bp_fast_paxos::models::core::symmetry::{Rename, Symmetric, representative};
use bp_fast_paxos::models::log;
use bp_fast_paxos::models::{LearnerMode, Menu, ModelConfig, NetworkKind, Shape, Variant};
use bp_fast_paxos::trace::read::read_history;
use bp_fast_paxos::trace::replay::replay;
use bp_fast_paxos::trace::tla::{MODULE, write_tla};
use bp_fast_paxos::types::ProposerId;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use serde_json::json;
use stateright::{Checker, HasDiscoveries, Model as _, UniformChooser};
use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Every step of the search clones a state (its network of envelopes, the actors' states in
/// `Arc`s, the ghost history), renames it and drops both: mimalloc serves those many small
/// allocations faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "check",
    about = "Model-check BP Fast Paxos against Byzantine proposers",
    long_about = format!(
        "Model-check BP Fast Paxos (PROTOCOL.md) with stateright. With no subcommand, \
         exhausts the configuration (by default: {}) and checks every property.\n\n\
         Exit status: 0 when every property gets its expected verdict, 1 when one does not, \
         2 on bad arguments. A search that is not exhaustive (--depth, simulate) settles only \
         what it finds a state for; the rest it reports inconclusive, and they do not fail it.",
        ModelConfig::default()
    )
)]
struct Cli {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    search: SearchArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Exhaust the configuration (the default).
    Check,
    /// Serve stateright's web explorer on the configuration.
    Explore {
        /// HOST:PORT, a name or an address.
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: String,
    },
    /// Validate the traces of a running cluster (`bpfp ... --trace`): replay them through
    /// the model, or with --tla write a TLA+ module for `spec/check.sh --trace DIR`.
    Trace {
        /// Trace files, or directories of `*.trace.jsonl` files: one per acceptor.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write `TraceBPFastPaxosLog.tla` and `.cfg` into DIR instead of replaying.
        #[arg(long, value_name = "DIR")]
        tla: Option<PathBuf>,
    },
    /// Random walks through the configuration, for spaces too big to exhaust.
    Simulate {
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Stop once this many states were visited (a bound that does not depend on the
        /// machine's speed), or at the time limit, whichever comes first.
        #[arg(long, value_name = "N")]
        states: Option<usize>,
    },
    /// Write the test vectors to DIR (tests/vectors/README.md describes them).
    Vectors {
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Args, Debug)]
struct ModelArgs {
    /// Acceptor crashes tolerated: n = 3f + 1 acceptors.
    #[arg(short = 'f', long = "f", default_value_t = SHARED_DEFAULTS.f, global = true)]
    f: usize,
    /// Number of proposers; leader(r) = p_(r mod proposers).
    #[arg(long, default_value_t = SHARED_DEFAULTS.proposers, global = true)]
    proposers: usize,
    /// Byzantine proposers, by index (comma separated), or `none`.
    #[arg(long, default_value_t = proposer_list(SHARED_DEFAULTS.byzantine), global = true)]
    byzantine: String,
    #[arg(
        long,
        global = true,
        help = format!(
            "The highest round explored (default {}; {} for the log)",
            ModelConfig::default().max_round,
            log::Config::default().max_round
        )
    )]
    max_round: Option<u32>,
    /// Number of values clients propose (A, B, ...).
    #[arg(long, default_value_t = SHARED_DEFAULTS.client_values, global = true)]
    values: usize,
    /// Leave out Z, the value no client proposed.
    #[arg(long, global = true)]
    no_unproposed: bool,
    /// Acceptors that may be crashed at once (they recover from durable state).
    #[arg(long, default_value_t = SHARED_DEFAULTS.max_crashes, global = true)]
    crashes: usize,
    #[arg(
        long,
        value_parser = named(&NetworkKind::ALL, NetworkKind::name),
        default_value = ModelConfig::default().network.name(),
        global = true
    )]
    network: NetworkKind,
    #[arg(
        long,
        value_parser = named(&LearnerMode::ALL, LearnerMode::name),
        default_value = ModelConfig::default().learners.name(),
        global = true
    )]
    learners: LearnerMode,
    /// The Byzantine proposer's menu: `pruned` leaves out ACCEPTs the acceptors reject (the
    /// ACCEPT with no proof stands for them), `full` sends them all.
    #[arg(
        long,
        value_parser = named(&Menu::ALL, Menu::name),
        default_value = ModelConfig::default().menu.name(),
        global = true
    )]
    menu: Menu,
    /// Crash pruning: `on` leaves out acceptor crashes that lose nothing (a pause the network
    /// already shows; see CHECKING.md), `off` explores every crash.
    #[arg(
        long,
        value_enum,
        default_value_t = Toggle::from(ModelConfig::default().prune_lossless_crashes),
        global = true
    )]
    crash_pruning: Toggle,
    /// Check a deliberately broken protocol (see --list-variants).
    #[arg(long, global = true)]
    variant: Option<String>,
    #[arg(
        long,
        global = true,
        help = format!(
            "Check the replicated log (PROTOCOL.md §8) instead of the single decree: by \
             default {} slots and rounds 0..{} (--max-round is honoured when given)",
            log::Config::default().slots,
            log::Config::default().max_round
        )
    )]
    log: bool,
    /// Slots of the replicated log (implies --log).
    #[arg(long, global = true)]
    slots: Option<u64>,
    /// The replicated log with a client learner that decides from LEARNs.
    #[arg(long, global = true)]
    client_learner: bool,
    /// The log's acceptors refuse a vote that would take the bytes of their open votes over
    /// this bound (values: no-op 1 byte, A and B 3, Z 2); no bound by default.
    #[arg(long, global = true)]
    max_open_vote_bytes: Option<usize>,
    /// The log's state transfer: `on-demand` teaches an acceptor chosen slots only in a step
    /// that reads what it learns (a PROMISE, its window), `postponed` at any time but to an
    /// acceptor in the highest round only for an ACCEPT beyond its window, `every` at any
    /// time (the unreduced model; see CHECKING.md).
    #[arg(
        long,
        value_parser = named(&log::CatchUp::ALL, log::CatchUp::name),
        default_value = log::Config::default().catch_up.name(),
        global = true
    )]
    catch_up: log::CatchUp,
}

#[derive(Args, Debug)]
struct SearchArgs {
    /// Breadth-first search (shortest counterexamples with one thread; no symmetry).
    #[arg(long, conflicts_with = "dfs", global = true)]
    bfs: bool,
    /// Depth-first search (the default; needed for symmetry reduction).
    #[arg(long, global = true)]
    dfs: bool,
    /// Checker threads (default: every core).
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// Symmetry reduction over acceptors: on (the default with DFS) or off.
    #[arg(long, value_enum, default_value_t = Toggle::On, global = true)]
    symmetry: Toggle,
    /// Stop at this depth, at least 1 (the check is then bounded, not exhaustive: a verdict
    /// that needs a state it did not reach is reported inconclusive).
    #[arg(long, global = true)]
    depth: Option<usize>,
    /// Print only one JSON object on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// List the variants and exit.
    #[arg(long)]
    list_variants: bool,
    /// Seconds between progress lines on stderr.
    #[arg(long, default_value_t = 2, global = true)]
    progress_every: u64,
    /// `check`: seconds of seeded random walks before the exhaustive search, so that a bug
    /// that blows up the space is reported at once (0: none). By default 3 for the single
    /// decree, whose broken variants the walks find in under 0.4 s and whose default search
    /// ends in under a minute, and 10 for the log, whose default search takes hours.
    #[arg(long, global = true)]
    simulate_first: Option<u64>,
    /// The seed of those random walks.
    #[arg(long, default_value_t = 0, global = true)]
    simulate_seed: u64,
}

/// The values of an option that takes one of the model's own choices, by the names `name`
/// gives them: the model writes the names and the defaults once.
fn named<T: Copy + Send + Sync + 'static>(
    all: &'static [T],
    name: fn(T) -> &'static str,
) -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(all.iter().map(|item| name(*item))).map(move |chosen| {
        *all.iter()
            .find(|item| name(**item) == chosen)
            .expect("clap took one of the possible values")
    })
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
enum Toggle {
    On,
    Off,
}

impl From<bool> for Toggle {
    fn from(on: bool) -> Self {
        if on { Toggle::On } else { Toggle::Off }
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("check: {message}");
    ExitCode::from(2)
}

/// Proposers as `--byzantine` takes them: indices, comma separated, or `none`.
fn proposer_list(proposers: &[ProposerId]) -> String {
    if proposers.is_empty() {
        return "none".to_string();
    }
    let indices: Vec<String> = proposers.iter().map(|p| p.0.to_string()).collect();
    indices.join(",")
}

fn parse_byzantine(list: &str) -> Result<Vec<ProposerId>, String> {
    if list.trim() == "none" || list.trim().is_empty() {
        return Ok(Vec::new());
    }
    list.split(',')
        .map(|p| {
            let p = p.trim().trim_start_matches('p');
            p.parse::<u16>().map(ProposerId).map_err(|_| {
                format!("--byzantine takes proposer indices like 0,1 or `none`, not {list:?}")
            })
        })
        .collect()
}

fn model_config(args: &ModelArgs) -> Result<ModelConfig, String> {
    if args.client_learner {
        return Err("--client-learner is for the log; use --learners client".into());
    }
    if args.max_open_vote_bytes.is_some() {
        return Err("--max-open-vote-bytes is for the log: the single decree has one vote".into());
    }
    if args.catch_up != log::Config::default().catch_up {
        return Err("--catch-up is for the log: the single decree has no state transfer".into());
    }
    let variant = variant_of(args)?;
    let cfg = ModelConfig {
        f: args.f,
        proposers: args.proposers,
        byzantine: parse_byzantine(&args.byzantine)?,
        max_round: args.max_round.unwrap_or(ModelConfig::default().max_round),
        client_values: args.values,
        unproposed_value: !args.no_unproposed,
        max_crashes: args.crashes,
        network: args.network,
        learners: args.learners,
        variant,
        menu: args.menu,
        prune_lossless_crashes: args.crash_pruning == Toggle::On,
    };
    cfg.validate()?;
    Ok(cfg)
}

fn variant_of(args: &ModelArgs) -> Result<Option<Variant>, String> {
    match &args.variant {
        None => Ok(None),
        Some(name) => Variant::from_name(name).map(Some).ok_or_else(|| {
            let names: Vec<_> = Variant::ALL.iter().map(|v| v.name()).collect();
            format!("no variant {name:?}; the variants are {}", names.join(", "))
        }),
    }
}

/// The single decree's options that the log's model does not take, when given another value
/// than the one the log has: it has one network, one menu and always prunes lossless crashes.
fn refuse_for_log(args: &ModelArgs) -> Result<(), String> {
    if args.network != NetworkKind::Duplicating {
        return Err("--network is for the single decree: the log's network is duplicating".into());
    }
    if args.menu != Menu::Pruned {
        return Err("--menu is for the single decree: the log's Byzantine menu is pruned".into());
    }
    if args.crash_pruning != Toggle::On {
        return Err(
            "--crash-pruning is for the single decree: the log always prunes lossless crashes"
                .into(),
        );
    }
    if args.learners != LearnerMode::Abstract {
        return Err(
            "--learners is for the single decree: the log's acceptors learn by state \
                    transfer; use --client-learner for a client learner"
                .into(),
        );
    }
    Ok(())
}

fn log_config(args: &ModelArgs) -> Result<log::Config, String> {
    refuse_for_log(args)?;
    let defaults = log::Config::default();
    let cfg = log::Config {
        f: args.f,
        proposers: args.proposers,
        byzantine: parse_byzantine(&args.byzantine)?,
        max_round: args.max_round.unwrap_or(defaults.max_round),
        slots: args.slots.unwrap_or(defaults.slots),
        client_values: args.values,
        unproposed_value: !args.no_unproposed,
        max_crashes: args.crashes,
        client_learner: args.client_learner,
        variant: variant_of(args)?,
        max_open_vote_bytes: args.max_open_vote_bytes,
        catch_up: args.catch_up,
    };
    cfg.validate()?;
    Ok(cfg)
}

/// The trace files named, with each directory standing for its `*.trace.jsonl` files.
fn trace_files(args: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for arg in args {
        if !arg.is_dir() {
            files.push(arg.clone());
            continue;
        }
        let entries = std::fs::read_dir(arg).map_err(|e| format!("{}: {e}", arg.display()))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".trace.jsonl"))
            .collect();
        if found.is_empty() {
            return Err(format!("{}: no *.trace.jsonl files", arg.display()));
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// `check trace`: exit 0 when the traces validate, 1 when an event is rejected, 2 when they
/// cannot be read.
fn check_trace(args: &[PathBuf], tla: Option<&Path>) -> ExitCode {
    let history =
        match trace_files(args).and_then(|files| read_history(&files).map_err(|e| e.to_string())) {
            Ok(history) => history,
            Err(e) => {
                eprintln!("check trace: {e}");
                return ExitCode::from(2);
            }
        };
    if let Some(dir) = tla {
        return match write_tla(&history, dir) {
            Ok(t) => {
                println!(
                    "wrote {}/{MODULE}.tla: {} events over {} slots, up to {} values a slot, \
                     rounds 0..{}",
                    dir.display(),
                    t.events,
                    t.slots,
                    t.values,
                    t.max_round
                );
                println!("check it with: spec/check.sh --trace {}", dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("check trace: cannot write {}: {e}", dir.display());
                ExitCode::from(2)
            }
        };
    }
    let start = Instant::now();
    match replay(&history) {
        Ok(replayed) => {
            println!(
                "trace valid: {replayed} ({:.1} s)",
                start.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(rejection) => {
            println!("trace REJECTED at {rejection}");
            for path in &history.torn {
                println!(
                    "note: {} ends in a torn line, read as its node's crash mid-write; if the \
                     file was cut short otherwise, its later events are missing",
                    path.display()
                );
            }
            ExitCode::FAILURE
        }
    }
}

/// Peak resident memory of this process, in MiB (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Err(e) = refuse_unused(&matches).and_then(|()| refuse_depth_zero(&cli.search)) {
        return usage_error(&e);
    }
    // The commands that build no model.
    match &cli.command {
        Some(Command::Vectors { out }) => return write_vectors(out),
        Some(Command::Trace { files, tla }) => return check_trace(files, tla.as_deref()),
        _ => {}
    }
    if cli.search.list_variants {
        for v in Variant::ALL {
            println!("{:22} {}", v.name(), v.description());
        }
        return ExitCode::SUCCESS;
    }
    let command = cli.command.unwrap_or(Command::Check);
    let mut search = cli.search;
    let checked = if cli.model.log || cli.model.slots.is_some() {
        search.simulate_first.get_or_insert(LOG_WALK_SECONDS);
        log_config(&cli.model).map(|cfg| run(cfg, &search, command))
    } else {
        search
            .simulate_first
            .get_or_insert(SINGLE_DECREE_WALK_SECONDS);
        model_config(&cli.model).map(|cfg| run(cfg, &search, command))
    };
    checked.unwrap_or_else(|e| usage_error(&e))
}

/// The ids of the options of `A`.
fn ids_of<A: Args>() -> Vec<String> {
    A::augment_args(clap::Command::new("options"))
        .get_arguments()
        .map(|arg| arg.get_id().to_string())
        .collect()
}

fn owned(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

/// The ids of the options that the command `name` ignores, and how to say where; `bounded`:
/// `--depth` was given.
fn unused_by(name: Option<&str>, bounded: bool) -> (Vec<String>, String) {
    let walks = ["simulate_first", "simulate_seed"];
    match name {
        // They build no model: the traces and the vectors name their own configurations.
        Some(name @ ("trace" | "vectors")) => {
            let mut all = ids_of::<ModelArgs>();
            all.extend(ids_of::<SearchArgs>());
            (all, format!("`check {name}`"))
        }
        // Random walks neither order a search nor reduce by symmetry.
        Some("simulate") => {
            let ids = owned(&["bfs", "dfs", "symmetry"]);
            (
                owned(&walks).into_iter().chain(ids).collect(),
                "`check simulate`".into(),
            )
        }
        // The explorer answers requests: no report, no progress, no bound on its depth.
        Some("explore") => {
            let ids = owned(&["json", "bfs", "dfs", "symmetry", "progress_every", "depth"]);
            (
                owned(&walks).into_iter().chain(ids).collect(),
                "`check explore`".into(),
            )
        }
        // The random walks before the search are left out of a search bounded by depth.
        _ if bounded => (owned(&walks), "a search bounded by --depth".into()),
        _ => (Vec::new(), String::new()),
    }
}

/// Refuses, by name, an option given on the command line that the chosen command would
/// ignore: a user who asks `check trace --f 2` would otherwise believe it applied.
fn refuse_unused(matches: &ArgMatches) -> Result<(), String> {
    let sub = matches.subcommand();
    let given = |id: &str| {
        let on_line = |m: &ArgMatches| {
            m.ids().any(|present| present.as_str() == id)
                && m.value_source(id) == Some(ValueSource::CommandLine)
        };
        on_line(matches) || sub.is_some_and(|(_, m)| on_line(m))
    };
    let (unused, context) = unused_by(sub.map(|(name, _)| name), given("depth"));
    let Some(id) = unused.into_iter().find(|id| given(id)) else {
        return Ok(());
    };
    let long = Cli::command()
        .get_arguments()
        .find(|arg| arg.get_id() == id.as_str())
        .and_then(|arg| arg.get_long())
        .map_or(id.clone(), str::to_string);
    Err(format!("--{long} does not apply to {context}"))
}

/// A depth bound of 0 would be taken by stateright as no bound at all.
fn refuse_depth_zero(search: &SearchArgs) -> Result<(), String> {
    match search.depth {
        Some(0) => Err("--depth must be at least 1 (leave it out for no bound)".into()),
        _ => Ok(()),
    }
}

/// The default seconds of random walks before the exhaustive search (`--simulate-first`).
const SINGLE_DECREE_WALK_SECONDS: u64 = 3;
const LOG_WALK_SECONDS: u64 = 10;

/// What `check` needs of a protocol's configuration beyond the model core: its JSON.
trait Checkable: Properties + Describe + Symmetric + Shape + std::fmt::Display {
    /// The keys of its own in the `--json` report's configuration, beside those of its
    /// [`Shape`] ([`config_json`]).
    fn own_json(&self) -> serde_json::Value;
}

impl Checkable for ModelConfig {
    fn own_json(&self) -> serde_json::Value {
        json!({
            "values": names(self.values()),
            "network": self.network.name(),
            "learners": self.learners.name(),
            "menu": self.menu.name(),
            "crash_pruning": self.prune_lossless_crashes,
        })
    }
}

impl Checkable for log::Config {
    fn own_json(&self) -> serde_json::Value {
        json!({
            "log": true,
            "slots": self.slots,
            "values": names(self.byzantine_values()),
            "learners": if self.client_learner { "client" } else { "abstract" },
            "max_open_vote_bytes": self.max_open_vote_bytes,
            "catch_up": self.catch_up_mode().name(),
        })
    }
}

/// The items as the report writes them.
fn names<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> Vec<String> {
    items.into_iter().map(|item| item.to_string()).collect()
}

/// The configuration in the `--json` report: what every [`Shape`] has, the protocol's own
/// keys, and the search `settings`. serde_json's map keeps its keys sorted, so the merged
/// object prints as one literal of all the keys would.
fn config_json<P: Checkable>(cfg: &P, settings: serde_json::Value) -> serde_json::Value {
    let mut json = json!({
        "f": cfg.f(),
        "acceptors": cfg.acceptors(),
        "proposers": cfg.proposers(),
        "byzantine": names(cfg.byzantine()),
        "max_round": cfg.max_round(),
        "max_crashes": cfg.max_crashes(),
        "variant": cfg.variant().map(|v| v.name()),
        "settings": settings,
    });
    if let (serde_json::Value::Object(all), serde_json::Value::Object(own)) =
        (&mut json, cfg.own_json())
    {
        all.extend(own);
    }
    json
}

/// The one run path: `check`, `simulate` or `explore` on a configuration of either protocol.
fn run<P>(cfg: P, search: &SearchArgs, command: Command) -> ExitCode
where
    P: Checkable,
    AgentState<P>: Rename + Ord,
    Msg<P>: Rename,
    Storage<P>: Ord,
    P::Ghost: Rename,
    State<P>: std::fmt::Debug,
{
    let threads = search
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        return usage_error("--threads must be at least 1");
    }
    // Symmetry serves exhaustive DFS only: stateright's simulation rebuilds paths from the
    // states it walked, which a representative is not, and the explorer shows real states.
    let symmetry =
        search.symmetry == Toggle::On && !search.bfs && matches!(command, Command::Check);
    if search.symmetry == Toggle::On && search.bfs && !search.json {
        eprintln!("check: symmetry reduction needs DFS; this BFS run explores without it");
    }
    let mut model = ProtocolModel::new(cfg.clone());
    model.replayable_actions = !matches!(command, Command::Check);
    // A broken protocol is judged by its first safety violation, and BP Fast Paxos fails at
    // its first violated safety property: the rest of the space adds nothing to the verdict.
    let stop_at: BTreeSet<&'static str> = if cfg.variant().is_some() {
        VARIANT_MUST_VIOLATE.into_iter().collect()
    } else {
        must_hold(model.properties, &cfg)
    };
    let mut builder = model
        .checker()
        .threads(threads)
        .finish_when(HasDiscoveries::AnyOf(stop_at.clone()));
    if symmetry {
        builder = builder.symmetry_fn(representative::<P>);
    }
    if let Some(depth) = search.depth {
        builder = builder.target_max_depth(depth);
    }
    match command {
        Command::Check => {
            let how = if search.bfs { "bfs" } else { "dfs" };
            if !search.json {
                println!("Checking {cfg}");
                println!(
                    "Search: {how}, {threads} thread(s), symmetry {}, depth {}",
                    if symmetry { "on" } else { "off" },
                    search
                        .depth
                        .map_or("unbounded".to_string(), |d| d.to_string())
                );
            }
            if search.simulate_first.unwrap_or(0) > 0
                && search.depth.is_none()
                && let Some(code) = simulate_first(&cfg, search, threads, &stop_at)
            {
                return code;
            }
            let run = Run {
                cfg: &cfg,
                start: Instant::now(),
                search,
                settings: json!({
                    "search": how, "threads": threads, "symmetry": symmetry,
                    "depth_bound": search.depth,
                }),
                mode: match (cfg.variant().is_some(), search.depth.is_some()) {
                    (true, false) => "exhaustive until the first agreement or votes-safe violation",
                    (true, true) => {
                        "bounded by depth, until the first agreement or votes-safe violation"
                    }
                    (false, false) => "exhaustive",
                    (false, true) => "bounded by depth",
                },
                exhaustive: true,
            };
            if search.bfs {
                run.finish(builder.spawn_bfs())
            } else {
                run.finish(builder.spawn_dfs())
            }
        }
        Command::Simulate {
            seconds,
            seed,
            states,
        } => {
            if !search.json {
                println!("Simulating {cfg}");
                println!("Random walks for {seconds} s from seed {seed}, {threads} thread(s)");
            }
            let run = Run {
                cfg: &cfg,
                start: Instant::now(),
                search,
                settings: json!({"search": "simulation", "seed": seed, "threads": threads}),
                mode: "simulation",
                exhaustive: false,
            };
            let builder = builder.timeout(Duration::from_secs(seconds));
            let builder = match states {
                Some(n) => builder.target_state_count(n),
                None => builder,
            };
            run.finish(builder.spawn_simulation(seed, UniformChooser))
        }
        Command::Explore { addr } => {
            // stateright's server panics on an address it cannot listen on: try it first.
            if let Err(e) = TcpListener::bind(addr.as_str()) {
                return usage_error(&format!("explore: cannot listen on {addr}: {e}"));
            }
            println!("Serving the explorer for {cfg} on http://{addr}");
            let _ = std::io::stdout().flush();
            builder.serve(addr.as_str());
            ExitCode::SUCCESS
        }
        Command::Vectors { .. } | Command::Trace { .. } => {
            unreachable!("dispatched at the start of main")
        }
    }
}

/// Seeded random walks before the exhaustive search: a violation they find is reported at
/// once (`Some(exit code)`); otherwise the exhaustive search, the final word, follows.
fn simulate_first<P: Checkable>(
    cfg: &P,
    search: &SearchArgs,
    threads: usize,
    stop_at: &BTreeSet<&'static str>,
) -> Option<ExitCode> {
    let (seconds, seed) = (search.simulate_first.unwrap_or(0), search.simulate_seed);
    if !search.json {
        println!("Random walks first: {seconds} s from seed {seed}");
    }
    let start = Instant::now();
    let mut model = ProtocolModel::new(cfg.clone());
    // Simulation replays walks by action index (see ProtocolModel::replayable_actions).
    model.replayable_actions = true;
    let checker = model
        .checker()
        .threads(threads)
        .finish_when(HasDiscoveries::AnyOf(stop_at.clone()))
        .timeout(Duration::from_secs(seconds))
        .spawn_simulation(seed, UniformChooser)
        .join();
    if !stop_at.iter().any(|name| checker.discovery(name).is_some()) {
        return None;
    }
    let settings = json!({"search": "simulation", "seed": seed, "threads": threads});
    let how = How {
        as_json: search.json,
        settings,
        mode: "random walks before the exhaustive search, stopped at a safety violation",
        exhaustive: false,
    };
    Some(report(cfg, &checker, start.elapsed().as_secs_f64(), how))
}

/// A check under way.
struct Run<'a, P> {
    cfg: &'a P,
    start: Instant,
    search: &'a SearchArgs,
    settings: serde_json::Value,
    mode: &'static str,
    /// Whether the search covers every reachable state unless its depth bound cut it (a
    /// search, not a random walk).
    exhaustive: bool,
}

impl<P: Checkable> Run<'_, P> {
    /// Waits for the checker, printing progress on stderr, then reports.
    fn finish<C: Checker<ProtocolModel<P>>>(self, checker: C) -> ExitCode {
        let every = Duration::from_secs(self.search.progress_every.max(1));
        let mut last = Instant::now();
        let mut last_count = 0;
        while !checker.is_done() {
            std::thread::sleep(Duration::from_millis(50));
            if last.elapsed() >= every {
                let count = checker.state_count();
                let rate = (count - last_count) as f64 / last.elapsed().as_secs_f64();
                eprintln!(
                    "[{:>6.1}s] states {:>12}  unique {:>11}  depth {:>3}  {:>9.0} states/s",
                    self.start.elapsed().as_secs_f64(),
                    count,
                    checker.unique_state_count(),
                    checker.max_depth(),
                    rate
                );
                last = Instant::now();
                last_count = count;
            }
        }
        let checker = checker.join();
        let seconds = self.start.elapsed().as_secs_f64();
        // A bound deeper than every path cut nothing.
        let uncut = self
            .search
            .depth
            .is_none_or(|bound| checker.max_depth() < bound);
        let how = How {
            as_json: self.search.json,
            settings: self.settings,
            mode: self.mode,
            exhaustive: self.exhaustive && uncut,
        };
        report(self.cfg, &checker, seconds, how)
    }
}

/// The last line of a human-readable report.
fn conclusion(
    variant: Option<Variant>,
    verdicts: &[Verdict],
    ok: bool,
    inconclusive: usize,
) -> String {
    let Some(variant) = variant else {
        return if ok && inconclusive > 0 {
            format!(
                "Every property settled has its expected verdict; {inconclusive} need a \
                 state this search did not reach."
            )
        } else if ok {
            "Every property has its expected verdict.".to_string()
        } else {
            "Some property does not have its expected verdict.".to_string()
        };
    };
    let violated: Vec<&str> = verdicts
        .iter()
        .filter(|v| VARIANT_MUST_VIOLATE.contains(&v.name) && !v.holds)
        .map(|v| v.name)
        .collect();
    if violated.is_empty() && inconclusive > 0 {
        format!(
            "Variant {} was not rejected by this search, which was not exhaustive: it found no \
             violation of agreement or votes safe.",
            variant.name()
        )
    } else if violated.is_empty() {
        format!(
            "Variant {} was NOT rejected: agreement and votes safe hold in this configuration.",
            variant.name()
        )
    } else {
        format!(
            "Variant {} is rejected: {} violated (counterexample above).",
            variant.name(),
            violated.join(" and ")
        )
    }
}

/// How a search is reported.
struct How {
    as_json: bool,
    settings: serde_json::Value,
    mode: &'static str,
    exhaustive: bool,
}

/// Whether the search saw a state that settles `verdict`: a violation of an `always`
/// property or an example of a `sometimes` one.
fn found_a_state(verdict: &Verdict) -> bool {
    (verdict.expectation == "sometimes") == verdict.holds
}

/// An unexpected verdict that rests on finding no state, in a search that did not cover
/// every state: it says nothing of the protocol, only of the search's reach.
fn inconclusive(verdict: &Verdict, exhaustive: bool) -> bool {
    !verdict.as_expected() && !exhaustive && !found_a_state(verdict)
}

fn report<P: Checkable, C: Checker<ProtocolModel<P>>>(
    cfg: &P,
    checker: &C,
    seconds: f64,
    how: How,
) -> ExitCode {
    let How {
        as_json,
        settings,
        mode,
        exhaustive,
    } = how;
    let verdicts = verdicts(checker);
    let ok = verdicts
        .iter()
        .all(|v| v.as_expected() || inconclusive(v, exhaustive));
    let peak = peak_rss_mib();
    if as_json {
        let out = json!({
            "config": config_json(cfg, settings),
            "mode": mode,
            "states": checker.state_count(),
            "unique_states": checker.unique_state_count(),
            "max_depth": checker.max_depth(),
            "seconds": seconds,
            "peak_rss_mib": peak,
            "ok": ok,
            "properties": verdicts
                .iter()
                .map(|v| verdict_json(v, exhaustive))
                .collect::<Vec<_>>(),
        });
        println!("{out}");
    } else {
        println!(
            "Done ({mode}): {} states, {} unique, max depth {}, {:.1} s, peak memory {}",
            checker.state_count(),
            checker.unique_state_count(),
            checker.max_depth(),
            seconds,
            peak.map_or("unknown".to_string(), |m| format!("{m:.0} MiB"))
        );
        for v in &verdicts {
            let verdict = match (v.expectation, v.holds) {
                ("sometimes", true) => "reached",
                ("sometimes", false) => "not reached",
                (_, true) => "holds",
                (_, false) => "VIOLATED",
            };
            // A variant's check stops at its first violation: only the rejection matters.
            let (mark, expected) = match (cfg.variant(), v.as_expected()) {
                (Some(_), _) => ("    ", ""),
                (None, true) => ("ok  ", ""),
                (None, false) if inconclusive(v, exhaustive) => {
                    ("--  ", " (inconclusive: the search was not exhaustive)")
                }
                (None, false) => ("FAIL", " (unexpected)"),
            };
            println!(
                "  {mark} {:9} {:30} {verdict}{expected}",
                v.expectation, v.name
            );
        }
        for v in verdicts.iter().filter(|v| v.counterexample.is_some()) {
            let steps = v.counterexample.as_ref().expect("filtered");
            let kind = if v.holds { "Example" } else { "Counterexample" };
            println!("\n{kind} for \"{}\" ({} steps):", v.name, steps.len());
            for s in steps {
                if s.outcome.is_empty() {
                    println!("  {:>3}. {}", s.step, s.action);
                } else {
                    println!("  {:>3}. {}\n       => {}", s.step, s.action, s.outcome);
                }
            }
        }
        let unsettled = verdicts
            .iter()
            .filter(|v| inconclusive(v, exhaustive))
            .count();
        println!("\n{}", conclusion(cfg.variant(), &verdicts, ok, unsettled));
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A verdict in the `--json` report, with `"inconclusive": true` when
/// [`inconclusive`].
fn verdict_json(verdict: &Verdict, exhaustive: bool) -> serde_json::Value {
    let mut json = serde_json::to_value(verdict).expect("a verdict serializes");
    if inconclusive(verdict, exhaustive)
        && let serde_json::Value::Object(fields) = &mut json
    {
        fields.insert("inconclusive".into(), true.into());
    }
    json
}

/// `check vectors --out DIR`: the vectors are generated from fixed configurations, so the
/// model options do not apply.
fn write_vectors(out: &std::path::Path) -> ExitCode {
    let start = Instant::now();
    match bp_fast_paxos::vectors::write_all(out) {
        Ok(files) => {
            for file in &files {
                println!("wrote {}", out.join(file.name).display());
            }
            println!("in {:.1} s", start.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("check: cannot write the vectors to {}: {e}", out.display());
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(expectation: &'static str, holds: bool, expected: bool) -> Verdict {
        Verdict {
            name: "p",
            tla_name: "P",
            expectation,
            holds,
            expected,
            counterexample: None,
        }
    }

    #[test]
    fn only_a_state_not_found_by_a_partial_search_is_inconclusive() {
        // Not found: a `sometimes` not reached, an `always` expected violated that held.
        for unfound in [
            verdict("sometimes", false, true),
            verdict("always", true, false),
        ] {
            assert!(inconclusive(&unfound, false));
            assert!(
                !inconclusive(&unfound, true),
                "an exhaustive search settles it"
            );
        }
        // Found: a violation, an example; and verdicts as expected are never inconclusive.
        for settled in [
            verdict("always", false, true),
            verdict("sometimes", true, false),
            verdict("sometimes", false, false),
            verdict("always", true, true),
        ] {
            assert!(!inconclusive(&settled, false));
        }
    }
}
