//! The simulator of the whole service (`bpfp simulate`): CI's fixed seed range passes, every
//! broken build is caught by every seed of it, a seed replays byte for byte, and a failing
//! seed prints the command that replays it and the first step at which it fails.

mod common;
use common::TempDir;

use bp_fast_paxos::sim::checks::Property;
use bp_fast_paxos::sim::{SimBroken, SimOptions, SimReport, simulate};
use std::process::{Command, Output};

/// CI's seeds: CHECKING.md records what they cover.
const CI_SEEDS: std::ops::Range<u64> = 0..8;

fn run(options: &SimOptions) -> SimReport {
    simulate(options).unwrap_or_else(|e| panic!("seed {}: {e}", options.seed))
}

#[test]
fn the_seed_range_passes() {
    let mut snapshots_lost = 0;
    for seed in CI_SEEDS {
        let report = run(&SimOptions::new(seed));
        assert!(report.passed(), "{}", report.summary());
        // The run did something: operations, compare-and-sets that swapped, faults.
        assert!(report.operations() > 1_000, "{}", report.summary());
        assert!(
            report.cas_swapped * 4 > report.cas_total,
            "{}",
            report.summary()
        );
        assert!(!report.faults.starts_with("0 "), "{}", report.summary());
        // Every run restarts the whole cluster, and loses no acknowledged write through it
        // (the final reads and the linearizability check above).
        assert!(report.whole_cluster_restarts >= 1, "{}", report.summary());
        snapshots_lost += report.snapshots_lost;
    }
    // Crashes lose snapshots still being written (the one before is back), and recovery
    // from the one before with the votes kept loses nothing.
    assert!(
        snapshots_lost >= 8,
        "{snapshots_lost} snapshots lost in crashes"
    );
}

/// Seeds the long run found stalled after the faults healed, one per cause: 313, a restart of
/// the whole cluster whose acceptors had dropped every vote behind a snapshot and so waited
/// 8 and then 16 suspicion periods; 334, a Byzantine client that sent its command to the
/// acceptors alone, so that they suspected every honest leader in turn for a command none
/// was given; 360, a restart of the whole cluster in a round whose leader had not yet
/// gathered its PROMISEs: the restarted leader had lost those it held and the restarted
/// acceptors never sent theirs again, so the round could not begin and ended only by
/// suspicion, into a round of the stopped Byzantine proposer; 39, a Byzantine client's command
/// passed on to the Byzantine leader, for which the acceptors that joined the next round on a
/// TRUSTCHANGE suspected its honest leader, into another round of the Byzantine proposer. Each
/// failed the liveness check before its fix.
#[test]
fn the_seeds_that_stalled_after_the_faults_pass() {
    for seed in [313, 334, 360, 39] {
        let report = run(&SimOptions::new(seed));
        assert!(report.passed(), "{}", report.summary());
    }
}

/// Every seed of CI's range catches the broken build `name` by `property` (the run stops at
/// the first violation; the steps are those CHECKING.md records).
fn caught_by_every_seed(name: &str, property: Property) {
    caught_by_every_seed_with(name, property, None);
}

/// As [`caught_by_every_seed`], with the servers' receive buffers of `rcvbuf` bytes modelled
/// if given (bursts of several datagrams, so of several writes, come only with them).
fn caught_by_every_seed_with(name: &str, property: Property, rcvbuf: Option<usize>) {
    let broken = SimBroken::parse(name).expect("a known broken build");
    let mut steps = Vec::new();
    for seed in CI_SEEDS {
        let report = run(&SimOptions {
            broken: Some(broken),
            stop_at_violation: true,
            rcvbuf,
            ..SimOptions::new(seed)
        });
        let caught = report.violations.iter().find(|v| v.property == property);
        let Some(caught) = caught else {
            panic!(
                "{name} not caught by {property} with seed {seed}:\n{}",
                report.summary()
            );
        };
        steps.push((seed, caught.step));
    }
    eprintln!("{name}: caught by {property} at (seed, step) {steps:?}");
}

#[test]
fn learner_f_plus_1_is_caught_by_every_seed() {
    caught_by_every_seed("learner-f-plus-1", Property::Agreement);
}

#[test]
fn vote_twice_is_caught_by_every_seed() {
    caught_by_every_seed("vote-twice", Property::VoteOnce);
}

#[test]
fn send_before_sync_is_caught_by_every_seed() {
    caught_by_every_seed("send-before-sync", Property::SyncedBeforeSend);
}

#[test]
fn apply_twice_is_caught_by_every_seed() {
    caught_by_every_seed("apply-twice", Property::Agreement);
}

#[test]
fn compact_before_snapshot_is_caught_by_every_seed() {
    caught_by_every_seed(
        "compact-before-snapshot",
        Property::SnapshotBeforeCompaction,
    );
}

/// The runtime's burst sends what it held at its first write only: a step after that write
/// may depend on it. Without receive buffers a burst is one datagram, and a run holds only a
/// handful of bursts with two writes (seed 1: none), too few to be sure of one; with them
/// every run has dozens.
#[test]
fn release_at_every_write_is_caught_by_every_seed() {
    caught_by_every_seed_with(
        "release-at-every-write",
        Property::SyncedBeforeSend,
        Some(212_992),
    );
}

/// Only the history shows it: no check as the run goes can.
#[test]
fn cas_misreported_is_caught_by_every_seed() {
    caught_by_every_seed("cas-misreported", Property::Linearizable);
}

fn bpfp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bpfp"))
        .args(args)
        .output()
        .expect("bpfp runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The rest of the line of `text` that starts with `prefix` (after indentation).
fn line_after(text: &str, prefix: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(prefix).map(str::to_string))
        .unwrap_or_else(|| panic!("no {prefix:?} in {text}"))
}

#[test]
fn a_seed_replays_byte_for_byte() {
    let base = TempDir::new("sim-replay");
    let (a, b) = (base.path().join("a"), base.path().join("b"));
    let args = |dir: &std::path::Path| {
        vec![
            "simulate".to_string(),
            "--seed".into(),
            "3".into(),
            "--fault-ms".into(),
            "4000".into(),
            "--dir".into(),
            dir.display().to_string(),
        ]
    };
    let first = Command::new(env!("CARGO_BIN_EXE_bpfp"))
        .args(args(&a))
        .output()
        .unwrap();
    let second = Command::new(env!("CARGO_BIN_EXE_bpfp"))
        .args(args(&b))
        .output()
        .unwrap();
    assert!(first.status.success(), "{}", stdout(&first));
    assert_eq!(first.stdout, second.stdout);
    let history_a = std::fs::read(a.join("history.jsonl")).unwrap();
    let history_b = std::fs::read(b.join("history.jsonl")).unwrap();
    assert!(history_a.len() > 10_000);
    assert!(history_a == history_b, "the histories differ");
}

#[test]
fn a_failing_seed_prints_its_replay_and_its_first_failing_step() {
    let out = bpfp(&[
        "simulate",
        "--seed",
        "5",
        "--broken",
        "apply-twice",
        "--shrink",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("replay: bpfp simulate --seed 5 --broken apply-twice"),
        "{text}"
    );
    let line = |prefix: &str| line_after(&text, prefix);
    let first: u64 = line("first violation at step ").parse().unwrap();
    let shrunk: u64 = line("first failing step: ")
        .split(':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert_eq!(first, shrunk);
    // The printed command replays the run up to that step, and fails there.
    let replay = line("replay up to it: bpfp ");
    let args: Vec<&str> = replay.split_whitespace().collect();
    assert!(
        replay.ends_with(&format!("--until-step {first}")),
        "{replay}"
    );
    let cut = bpfp(&args);
    assert_eq!(cut.status.code(), Some(1), "{}", stdout(&cut));
    assert!(
        stdout(&cut).contains(&format!("first violation at step {first}")),
        "{}",
        stdout(&cut)
    );
    // One step less passes.
    let at = |n: u64| {
        run(&SimOptions {
            broken: SimBroken::parse("apply-twice").ok(),
            until_step: Some(n),
            ..SimOptions::new(5)
        })
    };
    assert!(!at(first).passed());
    assert!(at(first - 1).passed(), "{}", at(first - 1).summary());
}

/// A violation that only the checks at the end of a run find (here linearizability) is
/// shortened by `--shrink`'s binary search over `--until-step`: the run cut at the step it
/// prints fails, and the run cut one step earlier passes.
#[test]
fn shrink_finds_the_first_failing_step_of_a_violation_found_at_the_end() {
    let seed = 7;
    let seed_text = seed.to_string();
    let out = bpfp(&[
        "simulate",
        "--seed",
        &seed_text,
        "--broken",
        "cas-misreported",
        "--shrink",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    // No check as the run goes found it, so the summary offers no replay up to a step.
    assert!(!text.contains("replay up to it:"), "{text}");
    assert!(text.contains("found by the checks at the end"), "{text}");
    let whole: u64 = line_after(&text, "first violation at step ")
        .parse()
        .unwrap();
    let found = line_after(&text, "first failing step: ");
    let (step, replay) = found.split_once(": ").expect("a step and a command");
    let step: u64 = step.parse().unwrap();
    assert!(0 < step && step < whole, "{step} of {whole} steps");
    assert!(
        replay.ends_with(&format!("--until-step {step}")),
        "{replay}"
    );
    // The printed command fails, by the check at the end.
    let args: Vec<&str> = replay.split_whitespace().skip(1).collect();
    let cut = bpfp(&args);
    assert_eq!(cut.status.code(), Some(1), "{}", stdout(&cut));
    assert!(stdout(&cut).contains("(linearizable)"), "{}", stdout(&cut));
    // One step less passes.
    let at = |n: u64| {
        run(&SimOptions {
            broken: SimBroken::parse("cas-misreported").ok(),
            until_step: Some(n),
            ..SimOptions::new(seed)
        })
    };
    let failing = at(step);
    assert!(!failing.passed());
    assert!(
        failing
            .violations
            .iter()
            .all(|v| v.property == Property::Linearizable),
        "{}",
        failing.summary()
    );
    assert!(at(step - 1).passed(), "{}", at(step - 1).summary());
}

/// Issue 12's stall under loss, in the simulator: a tenth of the operations put values up to
/// the command limit (batches, open votes and PROMISEs of many datagrams) while 20 % of the
/// datagrams are lost; every check passes, the liveness bound after the faults heal included.
#[test]
fn large_values_under_twenty_percent_loss_pass_every_check() {
    let options = SimOptions {
        large_values: true,
        loss: 0.2,
        ..SimOptions::new(3)
    };
    let report = run(&options);
    assert!(report.passed(), "{}", report.summary());
    let large = report
        .history
        .iter()
        .filter(|e| e.value.as_str().is_some_and(|v| v.len() > 8_000))
        .count();
    assert!(large > 10, "{large} large puts\n{}", report.summary());
    assert!(
        options
            .replay_command()
            .ends_with("--large-values --loss 0.2"),
        "{}",
        options.replay_command()
    );
}

/// The saves and syncs of a run, from its summary ("N saves in M syncs").
fn saves_and_syncs(report: &SimReport) -> (u64, u64) {
    let tail = report
        .faults
        .rsplit_once("; ")
        .map(|(_, t)| t)
        .unwrap_or("");
    let numbers: Vec<u64> = tail.split(' ').filter_map(|w| w.parse().ok()).collect();
    match numbers[..] {
        [saves, syncs] => (saves, syncs),
        _ => panic!("no saves and syncs in {:?}", report.faults),
    }
}

/// A server with a receive buffer reads what waits in it as one burst and syncs once for all
/// its writes, as the UDP runtime does: some bursts hold several writes (two ACCEPTs, a
/// TRUSTCHANGE and a NEWROUND). Without one, every datagram is a burst of its own, with the
/// steps of what the server sends itself.
#[test]
fn bursts_share_their_syncs_as_the_runtime_takes_them() {
    let buffered = run(&SimOptions {
        rcvbuf: Some(212_992),
        ..SimOptions::new(2)
    });
    assert!(buffered.passed(), "{}", buffered.summary());
    let (saves, syncs) = saves_and_syncs(&buffered);
    assert!(syncs + 10 < saves, "{saves} saves, {syncs} syncs");
}

/// Issue 12's stall came from receive buffers of the kernel's default size, which a burst of
/// 64 KB fragments overflows while the server is busy. With such buffers modelled (and the
/// fragments of a message arriving together, as on loopback), large values under 20 % loss
/// pass every check, the liveness bound after the faults heal included.
#[test]
fn large_values_pass_with_receive_buffers_of_the_default_size() {
    let options = SimOptions {
        large_values: true,
        loss: 0.2,
        rcvbuf: Some(212_992),
        ..SimOptions::new(3)
    };
    let report = run(&options);
    assert!(report.passed(), "{}", report.summary());
    let overflowed = report
        .faults
        .rsplit_once("; ")
        .and_then(|(head, _)| head.rsplit_once("; "))
        .map(|(_, tail)| tail.to_string())
        .unwrap_or_default();
    assert!(
        overflowed.ends_with("datagrams dropped by full receive buffers"),
        "{}",
        report.summary()
    );
    assert!(
        options.replay_command().ends_with("--rcvbuf 212992"),
        "{}",
        options.replay_command()
    );
}
