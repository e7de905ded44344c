//! The `check` binary as a user runs it: exit statuses, the `--json` object, variants, and
//! the same run path for the replicated log (`--log`): exhaustive, simulated, explored.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_check"))
        .args(args)
        .output()
        .expect("the check binary runs")
}

/// Fails the test, with what the command printed on stderr, unless it exited 0.
fn exited_0(output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).expect("stdout holds exactly one JSON object")
}

fn property<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["properties"]
        .as_array()
        .expect("a list of properties")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no property {name}"))
}

#[test]
fn small_configuration_passes_with_the_json_object_of_the_readme() {
    let out = check(&[
        "--max-round",
        "1",
        "--crashes",
        "0",
        "--simulate-first",
        "1",
        "--json",
    ]);
    exited_0(&out);
    let report = json_of(&out);
    for field in ["states", "unique_states", "max_depth"] {
        assert!(report[field].as_u64().unwrap() > 0, "{field}");
    }
    assert!(report["seconds"].as_f64().is_some());
    assert_eq!(report["config"]["f"], 1);
    assert_eq!(report["config"]["max_round"], 1);
    let agreement = property(&report, "agreement");
    assert_eq!(agreement["expectation"], "always");
    assert_eq!(agreement["holds"], true);
    assert!(agreement.get("counterexample").is_none());
    // The sanity property fails as it must, with the equivocation as its counterexample.
    let one_value = property(&report, "one value per round");
    assert_eq!(one_value["holds"], false);
    assert!(!one_value["counterexample"].as_array().unwrap().is_empty());
    assert_eq!(property(&report, "fast path")["expectation"], "sometimes");
}

#[test]
fn a_broken_variant_exits_1_with_a_counterexample() {
    let out = check(&[
        "--variant",
        "vote-twice",
        "--max-round",
        "1",
        "--crashes",
        "0",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_of(&out);
    let violated: Vec<&Value> = ["agreement", "votes safe"]
        .iter()
        .map(|name| property(&report, name))
        .filter(|p| p["holds"] == false)
        .collect();
    assert!(!violated.is_empty());
    for p in violated {
        let steps = p["counterexample"].as_array().unwrap();
        assert!(
            steps
                .iter()
                .any(|s| s["outcome"].as_str().unwrap().contains("votes"))
        );
    }
}

#[test]
fn random_walks_report_a_broken_variant_before_the_exhaustive_search() {
    // On the default configuration (rounds 0..2, Z, a crash) the seeded walks find the
    // double vote at once; the report says so.
    let out = check(&["--variant", "vote-twice", "--threads", "1", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_of(&out);
    assert!(
        report["mode"].as_str().unwrap().starts_with("random walks"),
        "{report}"
    );
    assert!(report["seconds"].as_f64().unwrap() < 10.0, "{report}");
}

#[test]
fn human_output_numbers_the_counterexample_steps() {
    let out = check(&[
        "--variant",
        "vote-twice",
        "--max-round",
        "1",
        "--crashes",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("VIOLATED"), "{text}");
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("1.")),
        "{text}"
    );
}

#[test]
fn bad_arguments_exit_2_with_a_message() {
    for args in [
        &["--f", "0"][..],
        &["--variant", "no-such-variant"],
        &["--byzantine", "7"],
        &["--max-round", "many"],
    ] {
        let out = check(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: no message");
    }
}

/// The log's model has one network (duplicating), one menu (pruned), always prunes lossless
/// crashes and has its own learner option: `check --log` refuses the single decree's other
/// choices by name rather than ignoring them.
#[test]
fn the_log_refuses_the_single_decree_options_it_does_not_take() {
    for (args, named) in [
        (&["--log", "--network", "ordered"][..], "--network"),
        (&["--log", "--network", "non-duplicating"], "--network"),
        (&["--slots", "3", "--menu", "full"], "--menu"),
        (&["--log", "--crash-pruning", "off"], "--crash-pruning"),
        (&["--log", "--learners", "acceptors"], "--learners"),
        (
            &["--log", "--learners", "client", "simulate"],
            "--client-learner",
        ),
    ] {
        let out = check(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(named), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: it ran a check");
    }
}

#[test]
fn list_variants_names_every_required_variant() {
    let out = check(&["--list-variants"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "no-proof-check",
        "vote-twice",
        "no-single-value-rule",
        "threshold-one",
        "quorum-2f",
        "stale-proof",
        "any-round-values",
    ] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
}

#[test]
fn simulation_of_a_larger_configuration_reports_safety_without_panicking() {
    let out = check(&[
        "simulate",
        "--seconds",
        "300",
        "--states",
        "2000",
        "--seed",
        "7",
        "--f",
        "2",
        "--max-round",
        "4",
        "--json",
    ]);
    // A walk finds no violation, and what it does not reach is inconclusive: exit 0.
    exited_0(&out);
    let report = json_of(&out);
    assert_eq!(report["mode"], "simulation");
    assert!(report["states"].as_u64().unwrap() >= 2_000);
    for name in ["agreement", "votes safe", "one vote per round", "validity"] {
        assert_eq!(property(&report, name)["holds"], true, "{name}");
    }
}

#[test]
fn the_log_check_prints_the_json_object_with_the_figures_of_checking_md() {
    // CHECKING.md's row "2 slots, rounds 0..1, A and Z, honest proposers" (state transfer on
    // demand, the default): one thread, so the counts are the same on every run.
    let out = check(&[
        "--log",
        "--crashes",
        "0",
        "--values",
        "1",
        "--byzantine",
        "none",
        "--threads",
        "1",
        "--simulate-first",
        "0",
        "--json",
    ]);
    exited_0(&out);
    let report = json_of(&out);
    assert_eq!(report["config"]["log"], true);
    assert_eq!(report["config"]["slots"], 2);
    assert_eq!(report["mode"], "exhaustive");
    assert_eq!(report["config"]["catch_up"], "on-demand");
    assert_eq!(report["unique_states"], 1_129);
    assert_eq!(report["states"], 5_010);
    assert_eq!(property(&report, "logs are prefixes")["holds"], true);
    assert_eq!(property(&report, "whole log chosen")["holds"], true);
}

#[test]
fn the_log_simulates_like_the_single_decree() {
    let out = check(&[
        "--log",
        "simulate",
        "--seconds",
        "2",
        "--seed",
        "3",
        "--json",
    ]);
    // A walk finds no violation, and what it does not reach is inconclusive: exit 0.
    exited_0(&out);
    let report = json_of(&out);
    assert_eq!(report["mode"], "simulation");
    assert_eq!(report["config"]["log"], true);
    assert!(report["states"].as_u64().unwrap() > 1_000, "{report}");
    // The safety properties come first.
    for name in &LOG_PROPERTIES[..6] {
        assert_eq!(property(&report, name)["holds"], true, "{name}");
    }
}

/// Every property of the log's model, in the order `check` reports them.
const LOG_PROPERTIES: [&str; 12] = [
    "agreement",
    "logs are prefixes",
    "votes safe",
    "one vote per round and slot",
    "promises honest",
    "validity",
    "one value per round and slot",
    "whole log chosen",
    "decision after trust change",
    "slot closed",
    "no-op chosen",
    "learner decides",
];

/// `check --log simulate` bounded by a state count on one thread, so that the walk depends
/// on the seed alone.
fn log_simulation(seed: &str, json: bool) -> Output {
    let mut args = vec![
        "--log",
        "simulate",
        "--seconds",
        "300",
        "--states",
        "3000",
        "--seed",
        seed,
        "--threads",
        "1",
    ];
    if json {
        args.push("--json");
    }
    let out = check(&args);
    // A walk finds no violation, and what it does not reach is inconclusive: exit 0.
    exited_0(&out);
    out
}

#[test]
fn the_log_simulation_prints_a_verdict_per_property() {
    let out = log_simulation("5", false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Simulating replicated log"), "{text}");
    for name in LOG_PROPERTIES {
        // "  ok   always    agreement                      holds", the name padded to 30.
        let column = format!(" {name:30} ");
        let verdict = text
            .lines()
            .find_map(|l| l.split_once(&column).map(|(_, verdict)| verdict))
            .unwrap_or_else(|| panic!("no verdict line for {name} in {text}"));
        let verdict = verdict.trim_end_matches(" (unexpected)");
        assert!(
            ["holds", "VIOLATED", "reached", "not reached"].contains(&verdict),
            "{name}: {verdict}"
        );
    }
    let report = json_of(&log_simulation("5", true));
    let names: Vec<&str> = report["properties"]
        .as_array()
        .expect("a list of properties")
        .iter()
        .map(|p| p["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, LOG_PROPERTIES);
}

#[test]
fn the_log_simulation_repeats_with_its_seed() {
    let first = json_of(&log_simulation("9", true));
    let again = json_of(&log_simulation("9", true));
    assert_eq!(first["mode"], "simulation");
    assert_eq!(first["config"]["settings"]["seed"], 9);
    for field in ["states", "unique_states", "max_depth", "ok", "properties"] {
        assert_eq!(first[field], again[field], "{field}");
    }
    assert!(first["states"].as_u64().unwrap() >= 3_000, "{first}");
}

#[test]
fn the_log_rejects_a_variant_with_random_walks_first() {
    // As for the single decree, the seeded walks find the double vote before the search.
    let out = check(&[
        "--log",
        "--variant",
        "vote-twice",
        "--threads",
        "1",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_of(&out);
    assert!(
        report["mode"].as_str().unwrap().starts_with("random walks"),
        "{report}"
    );
    let violated = ["agreement", "votes safe"]
        .iter()
        .any(|name| property(&report, name)["holds"] == false);
    assert!(violated, "{report}");
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().unwrap().port()
}

/// `GET path` over a plain TCP connection: the whole response, or `None` if nobody answers.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[test]
fn the_log_explorer_serves_the_log_model() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut explorer = Command::new(env!("CARGO_BIN_EXE_check"))
        .args(["--log", "--crashes", "0", "explore", "--addr", &addr])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the check binary starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut states = None;
    while states.is_none() && Instant::now() < deadline {
        if let Ok(Some(status)) = explorer.try_wait() {
            panic!("the explorer exited: {status}");
        }
        states = http_get(port, "/.states");
        if states.is_none() {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let page = http_get(port, "/");
    explorer.kill().expect("the explorer stops");
    explorer.wait().expect("the explorer is reaped");
    let states = states.expect("the explorer answers within a minute");
    assert!(states.starts_with("HTTP/1.1 200"), "{states}");
    // The initial state, with the log's properties and its acceptors' states.
    assert!(states.contains("logs are prefixes"), "{states}");
    assert!(states.contains("LogAcceptorState"), "{states}");
    let page = page.expect("the explorer serves its page");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
}

/// An address the explorer cannot listen on is a usage error with a message, not a panic
/// inside stateright's server.
#[test]
fn the_explorer_refuses_an_address_it_cannot_listen_on() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("a port to hold");
    let taken_addr = taken.local_addr().unwrap().to_string();
    for addr in [taken_addr.as_str(), "nonsense"] {
        let out = check(&["--max-round", "1", "explore", "--addr", addr]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{addr}: {stderr}");
        assert!(!stderr.contains("panicked"), "{addr}: {stderr}");
        assert!(
            stderr.contains(addr),
            "{addr}: the message names it: {stderr}"
        );
    }
}

/// An option that a command does not use is refused by name, not silently ignored: a user
/// who asks `check trace --f 2` or `check simulate --bfs` would otherwise believe it applied.
#[test]
fn options_a_command_does_not_use_are_refused() {
    let dir = std::env::temp_dir().join(format!("check-cli-unused-{}", std::process::id()));
    let out_dir = dir.to_string_lossy().to_string();
    for (args, named) in [
        (&["trace", "--f", "2", "no-such.trace.jsonl"][..], "--f"),
        (&["trace", "--json", "no-such.trace.jsonl"], "--json"),
        (
            &["--variant", "vote-twice", "trace", "x.jsonl"],
            "--variant",
        ),
        (
            &["vectors", "--network", "ordered", "--out", &out_dir],
            "--network",
        ),
        (&["simulate", "--bfs", "--seconds", "1"], "--bfs"),
        (
            &["simulate", "--simulate-first", "1", "--seconds", "1"],
            "--simulate-first",
        ),
        (&["--max-open-vote-bytes", "3"], "--max-open-vote-bytes"),
        (&["--depth", "0"], "--depth"),
        (&["explore", "--depth", "3"], "--depth"),
        (
            &["--depth", "3", "--simulate-first", "1"],
            "--simulate-first",
        ),
    ] {
        let out = check(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: it ran");
    }
    assert!(!dir.exists(), "vectors were written");
}

/// A search bounded by depth cannot show that a state is unreachable: a `sometimes` property
/// it did not reach is inconclusive, reported so, and does not fail the run; what it found
/// still counts.
#[test]
fn a_bounded_search_reports_what_it_did_not_reach_as_inconclusive() {
    let out = check(&[
        "--max-round",
        "1",
        "--crashes",
        "0",
        "--depth",
        "4",
        "--json",
    ]);
    exited_0(&out);
    let report = json_of(&out);
    assert_eq!(report["ok"], true);
    let trust_change = property(&report, "decision after trust change");
    assert_eq!(trust_change["holds"], false, "reached within depth 4?");
    assert_eq!(trust_change["inconclusive"], true);
    // Found states settle their verdicts: agreement holds, the equivocation is shown.
    assert!(property(&report, "agreement").get("inconclusive").is_none());
    assert_eq!(property(&report, "one value per round")["holds"], false);

    let text = check(&["--max-round", "1", "--crashes", "0", "--depth", "4"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("not reached (inconclusive"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
}
