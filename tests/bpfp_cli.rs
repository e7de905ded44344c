//! The `bpfp` binary as the README uses it: `bpfp local`, then `bpfp put` / `get` / `cas`
//! against it; and `bpfp bench`, whose fast path must compute no proof MAC.

mod common;
use common::TempDir;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bpfp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bpfp"))
}

/// Kills the local cluster when the test ends, however it ends. Declared after the directory
/// it serves from, so that the cluster is gone before the directory is removed.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn client(verb: &str, config: &Path, args: &[&str]) -> Output {
    bpfp()
        .arg(verb)
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("bpfp runs")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "bpfp failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn local_then_put_get_and_cas_as_in_the_readme() {
    let scratch = TempDir::new("cli-local");
    let dir = scratch.path();
    let mut running = Running(
        bpfp()
            .args(["local", "--dir"])
            .arg(dir)
            .arg("--trace")
            .arg(dir.join("trace"))
            .args(["--log-level", "warn"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("bpfp local starts"),
    );
    let mut first_line = String::new();
    BufReader::new(running.0.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let config = PathBuf::from(first_line.trim());
    assert_eq!(config, dir.join("cluster.toml"));

    assert_eq!(
        stdout(&client("put", &config, &["greeting", "hello", "world"])),
        "OK"
    );
    assert_eq!(
        stdout(&client("get", &config, &["greeting"])),
        "hello world"
    );
    assert_eq!(
        stdout(&client("get", &config, &["--client", "1", "nothing"])),
        "(absent)"
    );
    let swapped = client(
        "cas",
        &config,
        &["greeting", "--expect", "hello world", "bye"],
    );
    assert_eq!(stdout(&swapped), "swapped");
    let refused = client("cas", &config, &["greeting", "--if-absent", "again"]);
    assert_eq!(stdout(&refused), "not swapped: the value is \"bye\"");

    let stranger = client("get", &config, &["--client", "99", "greeting"]);
    assert_eq!(stranger.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&stranger.stderr).contains("client 99 is not in the config"));

    // `--trace` recorded what the acceptors did, and it is what the model allows.
    drop(running);
    let check = Command::new(env!("CARGO_BIN_EXE_check"))
        .arg("trace")
        .arg(dir.join("trace"))
        .output()
        .unwrap();
    let report = stdout(&check);
    assert!(report.starts_with("trace valid:"), "{report}");
    assert!(report.contains(" 4 starts, "), "{report}");
}

#[test]
fn get_exits_1_with_a_clear_message_when_no_quorum_answers() {
    let dir = TempDir::new("cli-down");
    let config = bpfp()
        .args([
            "config",
            "--acceptors",
            "4",
            "--proposers",
            "1",
            "--base-port",
            "47100",
        ])
        .output()
        .unwrap();
    let path = dir.path().join("cluster.toml");
    let text = String::from_utf8(config.stdout)
        .unwrap()
        .replace("client_timeout_ms = 3000", "client_timeout_ms = 300");
    std::fs::write(&path, text).unwrap();
    let out = client("get", &path, &["k"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no quorum answered"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bench_prints_figures_and_the_fast_path_computes_no_proof_mac() {
    let out = bpfp()
        .args([
            "bench",
            "--clients",
            "2",
            "--seconds",
            "0.5",
            "--no-baseline",
            "--json",
        ])
        .args(["--log-level", "error"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON figures");
    let fast = &report["phases"][0];
    assert_eq!(fast["name"], "fast path");
    assert!(fast["commands"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(fast["proof_macs_per_slot"].as_f64(), Some(0.0), "{report}");
    let change = &report["phases"][1];
    assert_eq!(change["name"], "trust change");
    assert!(change["commands"].as_u64().unwrap() > 0, "{report}");
    assert!(
        change["proof_macs_per_slot"].as_f64().unwrap() > 0.0,
        "{report}"
    );
}

#[test]
fn put_refuses_a_command_over_the_limit_at_once_without_a_server() {
    let dir = TempDir::new("cli-large");
    let config = bpfp()
        .args([
            "config",
            "--acceptors",
            "4",
            "--proposers",
            "1",
            "--base-port",
            "47200",
        ])
        .output()
        .unwrap();
    let path = dir.path().join("cluster.toml");
    std::fs::write(&path, config.stdout).unwrap();
    let start = std::time::Instant::now();
    let out = client("put", &path, &["k", &"x".repeat(20_000)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("too large"), "{stderr}");
    // The config's client timeout is 3 s: refused before anything was sent.
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
}

/// `bpfp config --out DIR` for 4 acceptors, 2 proposers and a client from `base_port` on.
fn config_out(dir: &Path, base_port: u16) {
    let out = bpfp()
        .args(["config", "--acceptors", "4", "--proposers", "2"])
        .args(["--base-port", &base_port.to_string(), "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How long a command that must fail may take: a server that starts serving instead never ends.
const REFUSED_WITHIN: Duration = Duration::from_secs(5);

/// The output of a command that must fail at once; one still running after
/// [`REFUSED_WITHIN`] is killed, and the test fails with what it printed.
fn refused(command: &mut Command) -> Output {
    let mut child = command
        .args(["--log-level", "warn"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bpfp starts");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() && started.elapsed() < REFUSED_WITHIN {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill(); // nothing to do for one that exited
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.code().is_some(),
        "still running after {REFUSED_WITHIN:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The exit status and the stderr of a command that ended.
fn failure(out: &Output) -> (Option<i32>, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `bpfp local` on a directory where `bpfp config --out` wrote the config finds no stores to
/// serve again; its advice must be one `bpfp local` can follow (it has no `--init`).
#[test]
fn local_on_a_config_it_did_not_set_up_gives_advice_local_can_follow() {
    let scratch = TempDir::new("cli-local-foreign");
    let dir = scratch.path();
    config_out(dir, 47300);
    let (code, stderr) = failure(&refused(bpfp().args(["local", "--dir"]).arg(dir)));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("--init"), "{stderr}");
    assert!(stderr.contains("a new --dir"), "{stderr}");
    let config = dir.join("cluster.toml");
    assert!(stderr.contains(&config.display().to_string()), "{stderr}");
}

/// Proposer 0's share run as proposer 1 has none of proposer 1's keys: refused at once.
#[test]
fn a_proposer_given_another_proposers_share_refuses_naming_both() {
    let scratch = TempDir::new("cli-wrong-share");
    let dir = scratch.path();
    config_out(dir, 47310);
    let out = refused(
        bpfp()
            .args(["proposer", "--id", "1", "--config"])
            .arg(dir.join("proposer-0.toml"))
            .arg("--data")
            .arg(dir),
    );
    let (code, stderr) = failure(&out);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("share of proposer 0"), "{stderr}");
    assert!(stderr.contains("not of proposer 1"), "{stderr}");
}

/// A proposer's share given to an acceptor or a client: the error says what the file is and
/// which file that node needs.
#[test]
fn an_acceptor_or_a_client_given_a_proposers_share_is_told_which_file_it_needs() {
    let scratch = TempDir::new("cli-share-kind");
    let dir = scratch.path();
    config_out(dir, 47320);
    let share = dir.join("proposer-0.toml");
    let acceptor = refused(
        bpfp()
            .args(["acceptor", "--id", "0", "--init", "--config"])
            .arg(&share)
            .arg("--data")
            .arg(dir.join("data")),
    );
    let (code, stderr) = failure(&acceptor);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("share of proposer 0"), "{stderr}");
    assert!(stderr.contains("the whole cluster.toml"), "{stderr}");
    let put = refused(
        bpfp()
            .arg("put")
            .arg("--config")
            .arg(&share)
            .args(["k", "v"]),
    );
    let (code, stderr) = failure(&put);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("share of proposer 0"), "{stderr}");
    assert!(stderr.contains("client-0.toml"), "{stderr}");
}

/// `--log-level` takes a level or `RUST_LOG`-style `target=level` directives; anything else
/// is a usage error, as clap's own are.
#[test]
fn a_log_level_that_is_not_one_exits_2_naming_the_option() {
    let config = |level: &str| {
        bpfp()
            .args(["--log-level", level, "config", "--acceptors", "4"])
            .args(["--proposers", "1", "--base-port", "47330"])
            .output()
            .unwrap()
    };
    for level in ["bogus", "foo=[", "bp_fast_paxos=loud"] {
        let (code, stderr) = failure(&config(level));
        assert_eq!(code, Some(2), "{level}: {stderr}");
        assert!(stderr.contains("--log-level"), "{level}: {stderr}");
    }
    for level in ["warn", "DEBUG", "off", "bp_fast_paxos=debug,warn"] {
        let (code, stderr) = failure(&config(level));
        assert_eq!(code, Some(0), "{level}: {stderr}");
        assert!(stderr.is_empty(), "{level}: {stderr}");
    }
}

/// The proposer's round file serves liveness only: a damaged one still stops the proposer
/// (it cannot tell what else is wrong with its disk), with the path and that it may go.
#[test]
fn a_damaged_round_file_stops_the_proposer_saying_it_is_safe_to_delete() {
    let scratch = TempDir::new("cli-damaged-round");
    let dir = scratch.path();
    config_out(dir, 47340);
    let round = dir.join("proposer-0.round");
    std::fs::write(&round, b"not a NEWROUND").unwrap();
    // Proposer 0's port, taken (by this test, or by whoever holds it already): the damaged
    // file is still what the proposer reports, as it looks at its files before it binds.
    let _taken = std::net::UdpSocket::bind("127.0.0.1:47344").ok();
    let out = refused(
        bpfp()
            .args(["proposer", "--id", "0", "--config"])
            .arg(dir.join("proposer-0.toml"))
            .arg("--data")
            .arg(dir),
    );
    let (code, stderr) = failure(&out);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&round.display().to_string()), "{stderr}");
    assert!(stderr.contains("safe to delete"), "{stderr}");
    assert!(stderr.contains("trust change"), "{stderr}");
}

/// `bpfp local --clients 0` would serve a cluster no client can use: refused as a usage error
/// before anything is written.
#[test]
fn local_without_clients_is_a_usage_error() {
    let scratch = TempDir::new("cli-local-no-clients");
    let dir = scratch.path().join("cluster");
    let out = refused(bpfp().args(["local", "--clients", "0", "--dir"]).arg(&dir));
    let (code, stderr) = failure(&out);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--clients"), "{stderr}");
    assert!(!dir.exists(), "it wrote {}", dir.display());
}
