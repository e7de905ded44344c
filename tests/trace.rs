//! Trace validation end to end: a short torture run (loss, duplication, reordering, crashes,
//! partitions, a Byzantine proposer) records the acceptors' traces, which replay through the
//! model (`check trace`) and drive the TLA+ spec under TLC (`check trace --tla`, then
//! `spec/check.sh --trace`). A runtime broken on purpose, and traces tampered with, are
//! rejected by both.

mod common;
use common::TempDir;

use bp_fast_paxos::runtime::faults::FaultRates;
use bp_fast_paxos::service::server::Broken;
use bp_fast_paxos::torture::run::{TortureOptions, torture};
use bp_fast_paxos::trace::event::{Event, FORMAT, Header, Record, TracePromise, TraceVote, Via};
use bp_fast_paxos::trace::read::{History, Step, read_history, read_trace};
use bp_fast_paxos::trace::replay::replay;
use bp_fast_paxos::trace::tla::write_tla;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A short torture run with traces: its directory (kept if the test fails, as the summary
/// printed names its history) and its merged history.
fn traced_run(
    name: &str,
    seed: u64,
    seconds: u64,
    loss: f64,
    broken: Option<Broken>,
) -> (TempDir, History) {
    let dir = TempDir::new(name).kept_on_failure();
    let defaults =
        TortureOptions::every_fault(dir.path().to_path_buf(), seed, Duration::from_secs(seconds));
    let options = TortureOptions {
        clients: 3,
        rates: FaultRates {
            loss,
            ..defaults.rates
        },
        broken,
        trace: true,
        // As the traces these tests were measured on: one acceptor crashed at a time, small
        // values (with both, TLC did not finish the log-rules check in 23 minutes).
        whole_cluster_crashes: false,
        large_values: false,
        ..defaults
    };
    let report = torture(&options).expect("the run starts");
    eprintln!("{name}:\n{}", report.summary());
    if broken.is_none() {
        assert!(report.passed(), "{:?}", report.violations);
    }
    let trace = dir.path().join("trace");
    let files: Vec<PathBuf> = (0..4)
        .map(|i| trace.join(format!("acceptor-{i}.trace.jsonl")))
        .collect();
    let history = read_history(&files).expect("the traces read back");
    (dir, history)
}

/// How long one TLC run over a trace may take before the test fails: a single path replays
/// in seconds, so a run that needs minutes is a spec step that branches (as a disjunction
/// under a `\A` in an action once did), not a slow machine.
const TLC_LIMIT: Duration = Duration::from_secs(300);

/// `spec/check.sh --trace` on the module written for `history`: its exit code and output.
fn tlc(history: &History, name: &str) -> (i32, String) {
    let scratch = TempDir::new(&format!("tla-{name}"));
    let dir = scratch.path();
    write_tla(history, dir).expect("the module is written");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/check.sh");
    let log = dir.join("check.out");
    let out = std::fs::File::create(&log).expect("the log is created");
    let mut child = Command::new(script)
        .arg("--trace")
        .arg(dir)
        // Its errors (a missing module, a checker that cannot start) belong in the text too.
        .stdout(out.try_clone().expect("the log is shared"))
        .stderr(out)
        // Its own process group, so that a run over the limit is stopped with its TLC.
        .process_group(0)
        .spawn()
        .expect("spec/check.sh runs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("spec/check.sh is waited for") {
            break status;
        }
        if started.elapsed() > TLC_LIMIT {
            let _ = Command::new("kill")
                .arg("--")
                .arg(format!("-{}", child.id()))
                .status();
            let _ = child.wait();
            panic!(
                "{name}: TLC did not replay the trace in {TLC_LIMIT:?}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    eprintln!("{name}: {text}");
    (status.code().unwrap_or(-1), text)
}

/// The position of the first event that `pick` accepts.
fn find(history: &History, pick: impl Fn(&Event) -> bool) -> usize {
    history
        .steps
        .iter()
        .position(|s| pick(&s.event))
        .expect("the run has such an event")
}

#[test]
fn a_torture_runs_traces_validate_against_the_model_and_the_spec_and_tampering_is_caught() {
    let (_run, history) = traced_run("honest", 1, 8, 0.2, None);
    let replayed = replay(&history).unwrap_or_else(|r| panic!("rejected: {r}"));
    eprintln!("replayed: {replayed}");
    assert!(replayed.votes > 50 && replayed.decisions > 50, "{replayed}");
    assert!(
        replayed.promises > 0 && replayed.highest_round > 0,
        "{replayed}"
    );
    assert!(
        replayed.starts >= 4,
        "every acceptor's start is in the trace"
    );
    let (code, text) = tlc(&history, "honest");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(": valid ("), "{text}");

    // A proof carrying a PROMISE that misreports a vote: no acceptor sent it.
    let mut forged = history.clone();
    let at = find(&forged, |e| {
        matches!(e, Event::Vote { slot, proof, .. }
            if proof.iter().any(|p| p.vote_in(*slot).is_some()))
    });
    let Event::Vote { slot, proof, .. } = &mut forged.steps[at].event else {
        unreachable!()
    };
    let slot = *slot;
    let promise = proof
        .iter_mut()
        .find(|p| p.vote_in(slot).is_some())
        .unwrap();
    promise.votes.retain(|v| v.slot != slot);
    let rejected = replay(&forged).expect_err("a forged PROMISE is refused");
    assert_eq!(rejected.index, at + 1, "{rejected}");
    assert!(rejected.why.contains("bad authenticator"), "{rejected}");
    let (code, text) = tlc(&forged, "forged");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("rejected at event"), "{text}");

    // A vote on an ACCEPT from a proposer that does not lead its round: the spec replays
    // the recorded sender, so its leader check must refuse it.
    let mut usurped = history.clone();
    let m = usurped.proposers.max(1) as u64;
    let at = find(&usurped, |e| matches!(e, Event::Vote { .. }));
    if let Event::Vote { round, from, .. } = &mut usurped.steps[at].event {
        *from = ((u64::from(*round) + 1) % m) as u16;
    }
    let (code, text) = tlc(&usurped, "usurped");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("rejected at event"), "{text}");

    // A learner deciding a value that nobody voted.
    let mut decided = history.clone();
    let at = find(&decided, |e| matches!(e, Event::Decide { .. }));
    if let Event::Decide { value, .. } = &mut decided.steps[at].event {
        *value = "0000000000000000".into();
    }
    let rejected = replay(&decided).expect_err("a decision nobody voted is refused");
    assert_eq!(rejected.index, at + 1, "{rejected}");
    let (code, text) = tlc(&decided, "decided");
    assert_eq!(code, 1, "{text}");

    // A PROMISE that leaves out a vote the acceptor cast (and would let a leader pick a
    // second value for the slot).
    let mut lying = history.clone();
    let at = find(
        &lying,
        |e| matches!(e, Event::Promise { promise, .. } if !promise.votes.is_empty()),
    );
    if let Event::Promise { promise, .. } = &mut lying.steps[at].event {
        promise.votes.pop();
    }
    let rejected = replay(&lying).expect_err("a dishonest PROMISE is refused");
    assert_eq!(rejected.index, at + 1, "{rejected}");
    assert!(rejected.why.contains("not honest"), "{rejected}");

    // A restart that lost the acceptor's round.
    let mut amnesia = history.clone();
    let restarts: Vec<usize> = (0..amnesia.steps.len())
        .filter(|&i| matches!(amnesia.steps[i].event, Event::Start { rnd, .. } if rnd > 0))
        .collect();
    if let Some(&at) = restarts.first() {
        if let Event::Start { rnd, .. } = &mut amnesia.steps[at].event {
            *rnd -= 1;
        }
        let rejected = replay(&amnesia).expect_err("a store that lost a step is refused");
        assert_eq!(rejected.index, at + 1, "{rejected}");
        assert!(rejected.why.contains("lost a step"), "{rejected}");
    }
}

/// `spec/check.sh --trace` rejects `history` at the event at `at` (0-based).
fn tlc_rejects_at(history: &History, name: &str, at: usize) {
    let (code, text) = tlc(history, name);
    assert_eq!(code, 1, "{name}: {text}");
    assert!(
        text.contains(&format!("rejected at event {}", at + 1)),
        "{name}: rejected at event {}: {text}",
        at + 1
    );
}

#[test]
fn the_log_rules_of_a_torture_run_are_steps_of_the_log_spec_and_tampering_with_each_is_caught() {
    let (_run, history) = traced_run("log-rules", 3, 6, 0.2, None);
    let count =
        |pick: &dyn Fn(&Event) -> bool| history.steps.iter().filter(|s| pick(&s.event)).count();
    // The run exercises what the log spec adds to the single decree.
    assert!(count(&|e| matches!(e, Event::Promise { .. })) > 0);
    assert!(count(&|e| matches!(e, Event::Keep { .. })) > 0);
    assert!(count(&|e| matches!(e, Event::Vote { digest: true, .. })) > 0);
    assert!(count(&|e| matches!(e, Event::Drop { .. })) > 0);
    let (code, text) = tlc(&history, "log-rules");
    assert_eq!(code, 0, "{text}");

    // A PROMISE whose decided prefix is one slot longer than the acceptor's: it would close
    // a slot the acceptor has not learned and drop its vote there.
    let mut longer = history.clone();
    let at = find(&longer, |e| matches!(e, Event::Promise { .. }));
    if let Event::Promise { promise, .. } = &mut longer.steps[at].event {
        promise.decided_prefix += 1;
        let d = promise.decided_prefix;
        promise.votes.retain(|v| v.slot >= d);
    }
    tlc_rejects_at(&longer, "promise-d", at);

    // A vote in a slot that its proof closes (below the largest d of the proof), when the
    // run has a proof with a decided prefix.
    let closing = history.steps.iter().position(|s| {
        matches!(&s.event, Event::Vote { round, proof, .. }
            if *round > 0 && proof.iter().any(|p| p.decided_prefix > 0))
    });
    if let Some(at) = closing {
        let mut closed = history.clone();
        if let Event::Vote { slot, proof, .. } = &mut closed.steps[at].event {
            *slot = proof.iter().map(|p| p.decided_prefix).max().unwrap_or(1) - 1;
        }
        tlc_rejects_at(&closed, "closed-slot", at);
    }

    // An ACCEPT by digest taken without the NEWROUND proof it names: the acceptor's Keep
    // event is removed, and its next digest vote in that round is refused.
    let mut unverified = history.clone();
    let keep = find(&unverified, |e| matches!(e, Event::Keep { .. }));
    let (acceptor, Event::Keep { round: kept, .. }) = (
        unverified.steps[keep].acceptor,
        unverified.steps[keep].event.clone(),
    ) else {
        unreachable!()
    };
    let vote = (keep + 1..unverified.steps.len())
        .find(|&i| {
            unverified.steps[i].acceptor == acceptor
                && matches!(unverified.steps[i].event,
                    Event::Vote { digest: true, round, .. } if round == kept)
        })
        .expect("a digest vote follows the kept proof");
    unverified.steps.remove(keep);
    tlc_rejects_at(&unverified, "no-newround", vote - 1);

    // A decision by catch-up (or, without one, from LEARNs) of a value nobody decided.
    let mut caught = history.clone();
    let at = caught
        .steps
        .iter()
        .position(|s| {
            matches!(
                s.event,
                Event::Decide {
                    via: Via::CatchUp,
                    ..
                }
            )
        })
        .unwrap_or_else(|| find(&caught, |e| matches!(e, Event::Decide { .. })));
    if let Event::Decide { value, .. } = &mut caught.steps[at].event {
        *value = "0000000000000000".into();
    }
    tlc_rejects_at(&caught, "catch-up", at);

    // Votes dropped beyond the decided prefix: compaction before the decision. The base is
    // moved past every slot decided anywhere so far (a replica drops only below the snapshot
    // before its last, well inside its decided prefix).
    let mut early = history.clone();
    let at = find(&early, |e| matches!(e, Event::Drop { .. }));
    let decided_so_far = early.steps[..at]
        .iter()
        .filter_map(|s| match s.event {
            Event::Decide { slot, .. } => Some(slot),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    if let Event::Drop { base } = &mut early.steps[at].event {
        *base = decided_so_far + 2;
    }
    let rejected = replay(&early).expect_err("votes dropped above the decided prefix");
    assert_eq!(rejected.index, at + 1, "{rejected}");
    tlc_rejects_at(&early, "compact-early", at);
}

#[test]
fn a_runtime_that_votes_twice_in_a_round_is_rejected_by_both_validations() {
    // The Byzantine leader of round 0 sends both values of its first equivocations to one
    // acceptor; the broken acceptor votes for both.
    let (_run, history) = traced_run("vote-twice", 1, 4, 0.1, Some(Broken::VoteTwice));
    let rejected = replay(&history).expect_err("the model refuses the second vote");
    eprintln!("{rejected}");
    assert!(rejected.event.contains("\"vote\""), "{rejected}");
    assert!(rejected.why.contains("one vote per round"), "{rejected}");
    let (code, text) = tlc(&history, "vote-twice");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("rejected at event"), "{text}");
    assert!(
        text.contains("k |-> \"vote\""),
        "the spec refuses a vote: {text}"
    );
}

#[test]
fn check_trace_reports_unreadable_traces_and_exits_2() {
    let scratch = TempDir::new("bad-input");
    let dir = scratch.path();
    let check = env!("CARGO_BIN_EXE_check");
    let cases: [(&str, &str, &str); 4] = [
        ("empty", "", "empty, not a trace"),
        ("header", "{\"not\": \"a header\"}\n", "not a trace header"),
        (
            "format",
            "{\"format\":\"other/9\",\"acceptor\":0,\"f\":1,\"proposers\":2}\n",
            "expected \"bp-fast-paxos-trace/1\"",
        ),
        (
            "record",
            "{\"format\":\"bp-fast-paxos-trace/1\",\"acceptor\":0,\"f\":1,\"proposers\":2}\n\
             {\"t\":1,\"seq\":1,\"event\":\"vote\",\"slot\":\"x\"}\n",
            ":2:",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.join(format!("{name}.trace.jsonl"));
        std::fs::write(&path, text).unwrap();
        let out = Command::new(check)
            .arg("trace")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
    let lonely = dir.join("lonely.trace.jsonl");
    std::fs::write(
        &lonely,
        "{\"format\":\"bp-fast-paxos-trace/1\",\"acceptor\":0,\"f\":1,\"proposers\":2}\n",
    )
    .unwrap();
    let out = Command::new(check)
        .arg("trace")
        .arg(&lonely)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("traces of all 4 acceptors are needed"));
    let out = Command::new(check)
        .arg("trace")
        .arg(dir.join("missing.trace.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn a_torn_last_line_is_a_crash_mid_write_and_other_damage_is_an_error() {
    let scratch = TempDir::new("torn");
    let dir = scratch.path();
    let header = "{\"format\":\"bp-fast-paxos-trace/1\",\"acceptor\":0,\"f\":1,\"proposers\":2}\n";
    let start = "{\"t\":1,\"seq\":1,\"event\":\"start\",\"rnd\":0,\"base\":0,\"votes\":[]}\n";
    let torn = dir.join("torn.trace.jsonl");
    std::fs::write(&torn, format!("{header}{start}{{\"t\":2,\"seq\":2,\"ev")).unwrap();
    let trace = read_trace(&torn).expect("a torn tail is cut");
    assert_eq!((trace.records.len(), trace.torn), (1, true));
    let damaged = dir.join("damaged.trace.jsonl");
    std::fs::write(&damaged, format!("{header}{{\"t\":2,\"seq\"\n{start}")).unwrap();
    let e = read_trace(&damaged).expect_err("damage before the end is an error");
    assert!(e.to_string().contains(":2:"), "{e}");
}

/// A synthetic history of four acceptors, step by step, for the spec to judge.
#[derive(Default)]
struct Synthetic {
    steps: Vec<Step>,
}

impl Synthetic {
    /// Every acceptor starts afresh: round 0, nothing voted.
    fn all_started() -> Self {
        let mut history = Synthetic::default();
        for a in 0..4 {
            history.start(a, 0);
        }
        history
    }

    fn push(&mut self, acceptor: u16, event: Event) {
        let t = self.steps.len() as u64;
        self.steps.push(Step {
            acceptor,
            t,
            origin: format!("synthetic:{t}"),
            event,
        });
    }

    fn start(&mut self, acceptor: u16, base: u64) {
        let event = Event::Start {
            rnd: 0,
            base,
            votes: vec![],
        };
        self.push(acceptor, event);
    }

    /// A vote of round 0, on an ACCEPT from the round's leader `p0` with no proof.
    fn vote(&mut self, acceptor: u16, slot: u64, value: &str) {
        let event = Event::Vote {
            slot,
            round: 0,
            value: value.into(),
            from: 0,
            proof: vec![],
            digest: false,
        };
        self.push(acceptor, event);
    }

    fn decide(&mut self, acceptor: u16, slot: u64, value: &str) {
        let event = Event::Decide {
            slot,
            round: 0,
            value: value.into(),
            via: Via::Learn,
        };
        self.push(acceptor, event);
    }

    /// The index of the last step pushed.
    fn last(&self) -> usize {
        self.steps.len() - 1
    }

    fn history(self, window: Option<u64>) -> History {
        History {
            f: 1,
            proposers: 2,
            window,
            steps: self.steps,
            torn: Vec::new(),
        }
    }
}

/// A history of `slots` slots decided in round 0 by every acceptor, after which acceptor 3
/// compacts them, restarts from its snapshot and takes a state transfer over the same prefix.
fn restart_then_state_transfer(slots: u64) -> History {
    let mut history = Synthetic::all_started();
    for slot in 0..slots {
        let value = format!("{slot:016x}");
        for a in 0..4 {
            history.vote(a, slot, &value);
        }
        for a in 0..4 {
            history.decide(a, slot, &value);
        }
    }
    history.push(3, Event::Drop { base: slots });
    history.start(3, slots);
    history.push(3, Event::Skip { to: slots });
    history.history(None)
}

/// A synthetic history with a slot window of 2: every acceptor starts and votes `A` in slot
/// 0 in round 0; acceptor 0 decides slot 0 from those votes if `decide`, then votes `B` in
/// slot `far` in round 0.
fn vote_far(far: u64, decide: bool) -> (History, usize) {
    let mut history = Synthetic::all_started();
    for a in 0..4 {
        history.vote(a, 0, "A");
    }
    if decide {
        history.decide(0, 0, "A");
    }
    history.vote(0, far, "B");
    let at = history.last();
    (history.history(Some(2)), at)
}

#[test]
fn a_vote_outside_the_slot_window_is_a_step_the_spec_refuses() {
    // The acceptor votes only below its decided prefix plus the window (PROTOCOL.md §8, the
    // gate of `LogAcceptor`): with nothing decided, slot 1 is in the window and slot 2 is
    // not; once slot 0 is decided, slot 2 is in it.
    let (inside, _) = vote_far(1, false);
    let (code, text) = tlc(&inside, "window-inside");
    assert_eq!(code, 0, "{text}");
    let (outside, at) = vote_far(2, false);
    tlc_rejects_at(&outside, "window-outside", at);
    let (moved, _) = vote_far(2, true);
    let (code, text) = tlc(&moved, "window-moved");
    assert_eq!(code, 0, "{text}");
}

#[test]
fn a_state_transfer_over_a_long_decided_prefix_is_one_step_for_tlc() {
    // Every slot below the transfer is both known and decided: a step that branched per slot
    // where both hold would have 2^40 successors, and TLC would not finish.
    let history = restart_then_state_transfer(40);
    let (code, text) = tlc(&history, "transfer");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(": valid ("), "{text}");
}

#[test]
fn a_promise_of_its_round_again_after_a_restart_is_a_step_of_both_validations() {
    // Acceptor 0 votes `A` in slot 0 of round 0, moves to round 1 (its PROMISE reports the
    // vote), learns slot 0 decided, drops its vote behind a snapshot and restarts in round 1.
    // Its round has not begun, so it sends leader(1) a PROMISE of round 1 again, with what it
    // stored: slot 0 decided, no open vote (the spec's `RePromise`).
    let mut history = Synthetic::all_started();
    for a in 0..4 {
        history.vote(a, 0, "A");
    }
    let promise = |decided_prefix: u64, votes: Vec<TraceVote>| TracePromise {
        round: 1,
        acceptor: 0,
        decided_prefix,
        votes,
        mac: "00".repeat(32),
    };
    let voted = TraceVote {
        slot: 0,
        round: 0,
        value: "A".into(),
    };
    history.push(
        0,
        Event::Promise {
            promise: promise(0, vec![voted]),
            cause: "timeout".into(),
        },
    );
    history.decide(0, 0, "A");
    history.push(0, Event::Drop { base: 1 });
    let restart = Event::Start {
        rnd: 1,
        base: 1,
        votes: vec![],
    };
    history.push(0, restart);
    history.push(
        0,
        Event::Promise {
            promise: promise(1, vec![]),
            cause: "restart".into(),
        },
    );
    let history = history.history(None);
    replay(&history).unwrap_or_else(|r| panic!("rejected: {r}"));
    let (code, text) = tlc(&history, "repromise");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(": valid ("), "{text}");
}

/// A trace whose last line is torn is read as a crash mid-write; when the replay then
/// rejects the history, `check trace` says which file was torn, since a file cut short by
/// other means (a copy, an editor) would read the same and its node's later events are gone.
#[test]
fn a_rejection_after_a_torn_line_names_the_torn_file() {
    let scratch = TempDir::new("torn-rejected");
    let dir = scratch.path();
    let line = |t: u64, event: Event| {
        let record = Record { t, seq: t, event };
        serde_json::to_string(&record).unwrap() + "\n"
    };
    let start = Event::Start {
        rnd: 0,
        base: 0,
        votes: vec![],
    };
    let vote = Event::Vote {
        slot: 0,
        round: 0,
        value: "A".into(),
        from: 0,
        proof: vec![],
        digest: false,
    };
    let decide = Event::Decide {
        slot: 0,
        round: 0,
        value: "A".into(),
        via: Via::Learn,
    };
    for acceptor in 0..4u16 {
        let header = Header {
            format: FORMAT.into(),
            acceptor,
            f: 1,
            proposers: 2,
            window: None,
        };
        let mut text = serde_json::to_string(&header).unwrap() + "\n";
        text += &line(1, start.clone());
        match acceptor {
            // Acceptor 2's vote is torn off: only two votes are left for the decision.
            2 => text += &line(2, vote.clone())[..20],
            3 => {}
            _ => text += &line(2, vote.clone()),
        }
        if acceptor == 0 {
            text += &line(3, decide.clone());
        }
        std::fs::write(dir.join(format!("acceptor-{acceptor}.trace.jsonl")), text).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_check"))
        .arg("trace")
        .arg(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("REJECTED"), "{stdout}");
    assert!(
        stdout.contains("acceptor-2.trace.jsonl") && stdout.contains("torn"),
        "the note names the torn file: {stdout}"
    );
}
