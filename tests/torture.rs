//! Short torture runs, as CI runs them: the service under loss, duplication, reordering,
//! acceptor crashes, partitions and a Byzantine proposer passes every check; and the checks
//! have teeth: a build whose learners decide on f + 1 LEARNs is caught.

use bp_fast_paxos::service::server::Broken;
use bp_fast_paxos::torture::history::{EventType, read_jsonl};
use bp_fast_paxos::torture::run::{TortureOptions, torture};
use std::path::PathBuf;
use std::time::Duration;

fn options(seed: u64, seconds: u64, broken: Option<Broken>) -> TortureOptions {
    TortureOptions {
        broken,
        ..TortureOptions::every_fault(
            dir(seed, broken.is_some()),
            seed,
            Duration::from_secs(seconds),
        )
    }
}

fn dir(seed: u64, broken: bool) -> PathBuf {
    std::env::temp_dir().join(format!(
        "bpfp-torture-{}-{seed}-{broken}",
        std::process::id()
    ))
}

#[test]
fn a_short_torture_run_with_every_fault_passes_every_check() {
    for seed in [1, 2] {
        let report = torture(&options(seed, 20, None)).expect("the run starts");
        eprintln!("seed {seed}:\n{}", report.summary());
        assert!(report.passed(), "seed {seed}: {:?}", report.violations);
        assert!(
            report.ok > 50,
            "the service made progress: {}",
            report.summary()
        );
        assert!(report.lost > 0 && report.duplicated > 0 && report.delayed > 0);
        assert!(report.crashes + report.partitions > 0);
        assert!(report.byzantine_actions > 0);
        // The Byzantine client tried every trick; its oversized requests were answered "too
        // large", and what reached the victim's address is no more than it sent (the
        // violations say so too).
        assert!(report.oversized > 0 && report.refused_too_large > 0);
        assert!(report.client_replays > 0 && report.client_spoofs > 0);
        assert!(report.reflected_bytes <= report.sent_from_victim);
        // The history is on disk, in the documented format, and its outcomes add up.
        let file = std::fs::File::open(&report.history).unwrap();
        let events = read_jsonl(std::io::BufReader::new(file)).unwrap();
        let invokes = events
            .iter()
            .filter(|e| e.kind == EventType::Invoke)
            .count() as u64;
        assert_eq!(invokes, report.ok + report.failed + report.unknown);
    }
}

#[test]
fn learners_that_decide_on_f_plus_1_learns_are_caught() {
    // The Byzantine leader of round 0 splits the acceptors two and two: with quorums of f + 1
    // both halves decide. Whether a run shows it depends on timing, so try a few seeds.
    let caught = [1, 2, 4, 5].into_iter().find_map(|seed| {
        let report = torture(&options(seed, 5, Some(Broken::LearnerQuorumFPlus1))).unwrap();
        eprintln!("broken, seed {seed}:\n{}", report.summary());
        (!report.passed()).then_some(report)
    });
    let report = caught.expect("some run catches the broken learners");
    assert!(
        report
            .violations
            .iter()
            .any(|v| v.contains("decided") || v.contains("different logs")),
        "{:?}",
        report.violations
    );
}
