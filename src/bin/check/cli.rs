//! `check`'s command line: the options, the configurations they make, and the options a
//! command would ignore, refused by name.

use bp_fast_paxos::models::core::shape::SHARED_DEFAULTS;
use bp_fast_paxos::models::log;
use bp_fast_paxos::models::{LearnerMode, Menu, ModelConfig, NetworkKind, Variant};
use bp_fast_paxos::types::ProposerId;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

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
pub struct Cli {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub search: SearchArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
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
pub struct ModelArgs {
    /// Acceptor crashes tolerated: n = 3f + 1 acceptors.
    #[arg(short = 'f', long = "f", default_value_t = SHARED_DEFAULTS.f, global = true)]
    pub f: usize,
    /// Number of proposers; leader(r) = p_(r mod proposers).
    #[arg(long, default_value_t = SHARED_DEFAULTS.proposers, global = true)]
    pub proposers: usize,
    /// Byzantine proposers, by index (comma separated), or `none`.
    #[arg(long, default_value_t = proposer_list(SHARED_DEFAULTS.byzantine), global = true)]
    pub byzantine: String,
    #[arg(
        long,
        global = true,
        help = format!(
            "The highest round explored (default {}; {} for the log)",
            ModelConfig::default().max_round,
            log::Config::default().max_round
        )
    )]
    pub max_round: Option<u32>,
    /// Number of values clients propose (A, B, ...).
    #[arg(long, default_value_t = SHARED_DEFAULTS.client_values, global = true)]
    pub values: usize,
    /// Leave out Z, the value no client proposed.
    #[arg(long, global = true)]
    pub no_unproposed: bool,
    /// Acceptors that may be crashed at once (they recover from durable state).
    #[arg(long, default_value_t = SHARED_DEFAULTS.max_crashes, global = true)]
    pub crashes: usize,
    #[arg(
        long,
        value_parser = named(&NetworkKind::ALL, NetworkKind::name),
        default_value = ModelConfig::default().network.name(),
        global = true
    )]
    pub network: NetworkKind,
    #[arg(
        long,
        value_parser = named(&LearnerMode::ALL, LearnerMode::name),
        default_value = ModelConfig::default().learners.name(),
        global = true
    )]
    pub learners: LearnerMode,
    /// The Byzantine proposer's menu: `pruned` leaves out ACCEPTs the acceptors reject (the
    /// ACCEPT with no proof stands for them), `full` sends them all.
    #[arg(
        long,
        value_parser = named(&Menu::ALL, Menu::name),
        default_value = ModelConfig::default().menu.name(),
        global = true
    )]
    pub menu: Menu,
    /// Crash pruning: `on` leaves out acceptor crashes that lose nothing (a pause the network
    /// already shows; see CHECKING.md), `off` explores every crash.
    #[arg(
        long,
        value_enum,
        default_value_t = Toggle::from(ModelConfig::default().prune_lossless_crashes),
        global = true
    )]
    pub crash_pruning: Toggle,
    /// Check a deliberately broken protocol (see --list-variants).
    #[arg(long, global = true)]
    pub variant: Option<String>,
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
    pub log: bool,
    /// Slots of the replicated log (implies --log).
    #[arg(long, global = true)]
    pub slots: Option<u64>,
    /// The replicated log with a client learner that decides from LEARNs.
    #[arg(long, global = true)]
    pub client_learner: bool,
    /// The log's acceptors refuse a vote that would take the bytes of their open votes over
    /// this bound (values: no-op 1 byte, A and B 3, Z 2); no bound by default.
    #[arg(long, global = true)]
    pub max_open_vote_bytes: Option<usize>,
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
    pub catch_up: log::CatchUp,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Breadth-first search (shortest counterexamples with one thread; no symmetry).
    #[arg(long, conflicts_with = "dfs", global = true)]
    pub bfs: bool,
    /// Depth-first search (the default; needed for symmetry reduction).
    #[arg(long, global = true)]
    pub dfs: bool,
    /// Checker threads (default: every core).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// Symmetry reduction over acceptors: on (the default with DFS) or off.
    #[arg(long, value_enum, default_value_t = Toggle::On, global = true)]
    pub symmetry: Toggle,
    /// Stop at this depth, at least 1 (the check is then bounded, not exhaustive: a verdict
    /// that needs a state it did not reach is reported inconclusive).
    #[arg(long, global = true)]
    pub depth: Option<usize>,
    /// Print only one JSON object on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// List the variants and exit.
    #[arg(long)]
    pub list_variants: bool,
    /// Seconds between progress lines on stderr.
    #[arg(long, default_value_t = 2, global = true)]
    pub progress_every: u64,
    /// `check`: seconds of seeded random walks before the exhaustive search, so that a bug
    /// that blows up the space is reported at once (0: none). By default 3 for the single
    /// decree, whose broken variants the walks find in under 0.4 s and whose default search
    /// ends in under a minute, and 10 for the log, whose default search takes hours.
    #[arg(long, global = true)]
    pub simulate_first: Option<u64>,
    /// The seed of those random walks.
    #[arg(long, default_value_t = 0, global = true)]
    pub simulate_seed: u64,
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
pub enum Toggle {
    On,
    Off,
}

impl From<bool> for Toggle {
    fn from(on: bool) -> Self {
        if on { Toggle::On } else { Toggle::Off }
    }
}

pub fn usage_error(message: &str) -> ExitCode {
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

pub fn model_config(args: &ModelArgs) -> Result<ModelConfig, String> {
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

pub fn log_config(args: &ModelArgs) -> Result<log::Config, String> {
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
pub fn refuse_unused(matches: &ArgMatches) -> Result<(), String> {
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
pub fn refuse_depth_zero(search: &SearchArgs) -> Result<(), String> {
    match search.depth {
        Some(0) => Err("--depth must be at least 1 (leave it out for no bound)".into()),
        _ => Ok(()),
    }
}

/// The default seconds of random walks before the exhaustive search (`--simulate-first`).
pub const SINGLE_DECREE_WALK_SECONDS: u64 = 3;
pub const LOG_WALK_SECONDS: u64 = 10;
