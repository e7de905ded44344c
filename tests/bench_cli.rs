//! `bpfp bench`'s sweep, plot and peer: the SVG it writes holds every series; `--peer etcd`
//! without etcd is skipped with the reason, and with etcd installed both systems are measured
//! side by side; and the figure CHECKING.md embeds is one the bench wrote with the peer.

mod common;
use common::TempDir;

use std::path::Path;
use std::process::{Command, Output};

fn bench(args: &[&str], path_var: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bpfp"));
    command
        .arg("bench")
        .args(args)
        .args(["--no-baseline", "--log-level", "error"]);
    if let Some(path) = path_var {
        command.env("PATH", path);
    }
    let out = command.output().expect("bpfp runs");
    assert!(
        out.status.success(),
        "bpfp bench {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// The texts of an SVG's `<text>` elements, trimmed.
fn texts(svg: &str) -> Vec<&str> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim())
        })
        .collect()
}

fn count(svg: &str, label: &str) -> usize {
    texts(svg).iter().filter(|t| **t == label).count()
}

/// The series every plot of the bench has, whatever the peer.
fn assert_service_series(svg: &str) {
    assert!(
        svg.starts_with("<svg"),
        "not an SVG: {}",
        &svg[..svg.len().min(200)]
    );
    let texts = texts(svg);
    for title in ["Throughput", "Latency p50", "Latency p99"] {
        assert!(texts.contains(&title), "no {title} panel: {texts:?}");
    }
    assert!(
        texts.iter().any(|t| t.starts_with("Trust change")),
        "{texts:?}"
    );
    // The service in the legend of each per-client-count panel, and the trust change's series.
    assert_eq!(count(svg, "BP Fast Paxos"), 3, "{texts:?}");
    for label in [
        "BP Fast Paxos p50 per 100 ms",
        "BP Fast Paxos max per 100 ms",
        "round-0 leader stopped",
    ] {
        assert_eq!(count(svg, label), 1, "{texts:?}");
    }
    // Lines of data, beyond the legend's marks.
    assert!(svg.matches("<polyline").count() > 10);
}

/// The peer's label (`etcd 3.4.23`) in the legend of each per-client-count panel.
fn assert_etcd_series(svg: &str) {
    let etcd = texts(svg)
        .into_iter()
        .filter(|t| t.starts_with("etcd 3."))
        .count();
    assert_eq!(etcd, 3, "{:?}", texts(svg));
}

#[test]
fn a_sweep_prints_each_client_count_and_plots_every_series() {
    let dir = TempDir::new("bench-sweep");
    let svg_path = dir.path().join("sweep.svg");
    let out = bench(
        &[
            "--sweep",
            "1,2",
            "--clients",
            "2",
            "--seconds",
            "0.5",
            "--json",
            "--plot",
            svg_path.to_str().unwrap(),
        ],
        None,
    );
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the figures as JSON");
    let phases = report["phases"].as_array().unwrap();
    let shape: Vec<(&str, u64)> = phases
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["clients"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        shape,
        [("fast path", 1), ("fast path", 2), ("trust change", 2)]
    );
    for p in phases {
        assert!(p["commands"].as_u64().unwrap() > 0, "{p}");
    }
    // The disk under the local cluster's stores was timed: a synced append, all acceptors at once.
    let synced_append = report["synced_append_us"]
        .as_f64()
        .expect("a local cluster's disk");
    assert!(synced_append > 0.0, "{report}");
    let timeline = &report["trust_change"];
    let stopped = timeline["leader_stopped_at_s"].as_f64().unwrap();
    let buckets = timeline["buckets"].as_array().unwrap();
    // Commands answered before the stop and after it.
    let answered_at = |after: bool| {
        buckets
            .iter()
            .filter(|b| (b["start_s"].as_f64().unwrap() > stopped) == after)
            .map(|b| b["commands"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert!(
        answered_at(false) > 0 && answered_at(true) > 0,
        "{timeline}"
    );
    let svg = std::fs::read_to_string(&svg_path).expect("the plot is written");
    assert_service_series(&svg);
    assert!(!svg.contains("etcd"), "no peer was asked for");
}

#[test]
fn a_leader_with_four_slots_in_flight_answers_every_command_across_a_trust_change() {
    let out = bench(
        &[
            "--clients",
            "8",
            "--seconds",
            "1",
            "--slots-in-flight",
            "4",
            "--json",
        ],
        None,
    );
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the figures as JSON");
    for p in report["phases"].as_array().unwrap() {
        assert!(p["commands"].as_u64().unwrap() > 0, "{p}");
        assert_eq!(p["failed"].as_u64(), Some(0), "{p}");
    }
}

#[test]
fn slots_in_flight_must_be_at_least_one_and_only_for_a_local_cluster() {
    for args in [
        &["--slots-in-flight", "0"][..],
        &["--slots-in-flight", "2", "--config", "cluster.toml"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_bpfp"))
            .arg("bench")
            .args(args)
            .output()
            .expect("bpfp runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--slots-in-flight"), "{args:?}: {stderr}");
    }
}

#[test]
fn peer_etcd_without_etcd_is_skipped_with_the_reason() {
    let empty = TempDir::new("no-etcd");
    let out = bench(
        &["--peer", "etcd", "--clients", "1", "--seconds", "0.3"],
        Some(empty.path()),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("etcd: skipped: etcd is not installed"),
        "{stdout}"
    );
    // The service is still measured.
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("1 |") && !l.contains('×')),
        "{stdout}"
    );
}

/// Only where etcd is installed (CI's machine may not have it; the test never installs it).
#[test]
fn peer_etcd_when_installed_is_measured_beside_the_service() {
    let installed = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("etcd").is_file()))
        .unwrap_or(false);
    if !installed {
        eprintln!("etcd is not installed: nothing to compare with");
        return;
    }
    let dir = TempDir::new("bench-etcd");
    let svg_path = dir.path().join("peer.svg");
    let out = bench(
        &[
            "--peer",
            "etcd",
            "--sweep",
            "1,4",
            "--clients",
            "2",
            "--seconds",
            "0.5",
            "--plot",
            svg_path.to_str().unwrap(),
        ],
        None,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let header = stdout
        .lines()
        .find(|l| l.contains("clients |"))
        .expect("a table");
    assert!(
        header.contains("BP Fast Paxos") && header.contains("etcd 3."),
        "{stdout}"
    );
    for clients in ["1", "4"] {
        let row = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{clients} |")))
            .unwrap_or_else(|| panic!("no row for {clients} clients:\n{stdout}"));
        // Service figures | etcd figures | the throughput ratio.
        assert_eq!(row.matches('|').count(), 3, "{row}");
        assert!(row.trim_end().ends_with('×'), "{row}");
    }
    let svg = std::fs::read_to_string(&svg_path).expect("the plot is written");
    assert_service_series(&svg);
    assert_etcd_series(&svg);
}

/// The figure CHECKING.md embeds: written by `bpfp bench --peer etcd --sweep ... --plot`.
#[test]
fn the_committed_figure_has_both_systems_and_checking_embeds_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let svg = std::fs::read_to_string(root.join("tests/bench/sweep-etcd.svg")).unwrap();
    assert_service_series(&svg);
    assert_etcd_series(&svg);
    let checking = std::fs::read_to_string(root.join("CHECKING.md")).unwrap();
    assert!(checking.contains("](tests/bench/sweep-etcd.svg)"));
}

/// A plot that cannot be written is refused before the bench runs, not after it.
#[test]
fn a_plot_in_a_missing_directory_is_refused_before_the_bench_runs() {
    let dir = TempDir::new("bench-plot-dir");
    let missing = dir.path().join("missing");
    let svg = missing.join("x.svg");
    let start = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_bpfp"))
        .args(["bench", "--no-baseline", "--seconds", "2", "--plot"])
        .arg(&svg)
        .output()
        .expect("bpfp runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--plot"), "{stderr}");
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
    // Two phases of 2 s each had they run.
    assert!(
        start.elapsed() < std::time::Duration::from_secs(2),
        "{stderr}"
    );
}

/// `--linger-us`'s help gives the default the leader runs with, and 0 only as a choice.
#[test]
fn linger_help_names_its_real_default() {
    let out = Command::new(env!("CARGO_BIN_EXE_bpfp"))
        .args(["bench", "--help"])
        .output()
        .expect("bpfp runs");
    let help = String::from_utf8_lossy(&out.stdout);
    let linger = help
        .split("--linger-us")
        .nth(1)
        .and_then(|rest| rest.split("\n      --").next())
        .expect("--linger-us in the help");
    assert!(linger.contains("[default: 200]"), "{linger}");
    assert!(!linger.contains("the default when left out"), "{linger}");
}
