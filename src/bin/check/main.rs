//! `check`: model-checks BP Fast Paxos with stateright.
//!
//! `check` exhausts the default configuration; `check explore` serves stateright's web
//! explorer; `check simulate` runs random walks for configurations too big to exhaust. Each
//! works on the single decree and, with `--log`, on the replicated log: both are protocols of
//! one model core, checked by one run path.

mod cli;
mod report;
mod trace;

use bp_fast_paxos::models::Variant;
use bp_fast_paxos::models::core::model::ProtocolModel;
use bp_fast_paxos::models::core::property::{VARIANT_MUST_VIOLATE, must_hold};
use bp_fast_paxos::models::core::protocol::{AgentState, Msg, State, Storage};
use bp_fast_paxos::models::core::symmetry::{Rename, representative};
use clap::{CommandFactory, FromArgMatches};
use cli::{
    Cli, Command, LOG_WALK_SECONDS, SINGLE_DECREE_WALK_SECONDS, SearchArgs, Toggle, log_config,
    model_config, refuse_depth_zero, refuse_unused, usage_error,
};
use report::{Checkable, How, report};
use serde_json::json;
use stateright::{Checker, HasDiscoveries, Model as _, UniformChooser};
use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpListener;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use trace::check_trace;

/// Every step of the search clones a state (its network of envelopes, the actors' states in
/// `Arc`s, the ghost history), renames it and drops both: mimalloc serves those many small
/// allocations faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
