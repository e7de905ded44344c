//! `check trace`: traces of a running cluster, replayed through the model or written as a
//! TLA+ module.

use bp_fast_paxos::trace::read::read_history;
use bp_fast_paxos::trace::replay::replay;
use bp_fast_paxos::trace::tla::{MODULE, write_tla};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

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
pub fn check_trace(args: &[PathBuf], tla: Option<&Path>) -> ExitCode {
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
