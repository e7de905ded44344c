//! `check trace --tla`: the merged history as a TLA+ module, `TraceBPFastPaxos`, that drives
//! `spec/BPFastPaxos.tla` through the same steps (the technique of etcd's and CCF's trace
//! validation). TLC checks that each event is a step of the spec, with the spec's invariants
//! after it; `spec/check.sh --trace DIR` runs it.
//!
//! The spec is single-decree and the runtime runs a log, so the history is projected slot by
//! slot: each slot starts from the spec's `Init`, and sees
//!
//! - each vote in the slot as `ReceiveAccept(a, m)` for the ACCEPT `m` of `Leader(r)` with the
//!   slot's part of the proof (every proposer is Byzantine here: the trace does not show what
//!   proposers meant, only what acceptors received);
//! - each change of an acceptor's round as `TrustChange(a)`: a PROMISE named by a proof in the
//!   slot when it was sent, the others just before the acceptor's next vote in the slot (the
//!   spec sends each PROMISE with the acceptor's true last vote, so a proof that misreports a
//!   vote is not made of PROMISEs the spec sent, and the vote is refused);
//! - each learner's first decision of the slot as `Decide(l)`.
//!
//! Restarts are not projected: a restart that recovers what the acceptor had is a pause, which
//! the replay of [`super::replay`] checks.

use super::event::{Event, TracePromise};
use super::read::History;
use crate::log::Slot;
use crate::types::{Cluster, Round};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// The name of the generated module (and of its `.cfg`).
pub const MODULE: &str = "TraceBPFastPaxos";

/// One event of a slot's projection.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Projected {
    /// A new slot: back to `Init`.
    Slot(Slot),
    Trust {
        acceptor: u16,
        round: Round,
    },
    Vote {
        acceptor: u16,
        round: Round,
        value: usize,
        /// The proposer the ACCEPT came from, as recorded.
        from: u16,
        proof: Vec<ProjectedPromise>,
    },
    Decide {
        learner: u16,
        value: usize,
    },
}

/// A PROMISE of a proof as the spec sees it in one slot: the acceptor's vote there, if any.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ProjectedPromise {
    round: Round,
    acceptor: u16,
    vote: Option<(Round, usize)>,
}

/// What the generated module holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlaTrace {
    pub slots: usize,
    pub events: usize,
    pub values: usize,
    pub max_round: Round,
}

/// Names a slot's values `v1`, `v2`, … in the order they appear.
#[derive(Default)]
struct Names(Vec<String>);

impl Names {
    fn of(&mut self, value: &str) -> usize {
        match self.0.iter().position(|v| v == value) {
            Some(i) => i + 1,
            None => {
                self.0.push(value.to_string());
                self.0.len()
            }
        }
    }
}

/// The slots the history touches, and the PROMISEs each one's proofs name.
fn slots_and_references(history: &History) -> BTreeMap<Slot, BTreeSet<(u16, Round)>> {
    let mut slots: BTreeMap<Slot, BTreeSet<(u16, Round)>> = BTreeMap::new();
    for step in &history.steps {
        match &step.event {
            Event::Vote { slot, proof, .. } => {
                let refs = slots.entry(*slot).or_default();
                refs.extend(proof.iter().map(|p| (p.acceptor, p.round)));
            }
            Event::Decide { slot, .. } => {
                slots.entry(*slot).or_default();
            }
            _ => {}
        }
    }
    slots
}

fn project_promise(promise: &TracePromise, slot: Slot, names: &mut Names) -> ProjectedPromise {
    ProjectedPromise {
        round: promise.round,
        acceptor: promise.acceptor,
        vote: promise.vote_in(slot).map(|v| (v.round, names.of(&v.value))),
    }
}

/// The projection of the history on `slot`.
fn project_slot(
    history: &History,
    slot: Slot,
    refs: &BTreeSet<(u16, Round)>,
    out: &mut Vec<Projected>,
) -> usize {
    let mut names = Names::default();
    let mut projected = vec![Projected::Slot(slot)];
    // The acceptor's real round, and the round the projection has it in.
    let mut real: BTreeMap<u16, Round> = BTreeMap::new();
    let mut shown: BTreeMap<u16, Round> = BTreeMap::new();
    let mut decided: BTreeSet<u16> = BTreeSet::new();
    let mut end = 1;
    for step in &history.steps {
        let a = step.acceptor;
        match &step.event {
            Event::Promise { promise, .. } => {
                real.insert(a, promise.round);
                if refs.contains(&(a, promise.round)) {
                    shown.insert(a, promise.round);
                    projected.push(Projected::Trust {
                        acceptor: a,
                        round: promise.round,
                    });
                }
            }
            Event::Vote {
                slot: s,
                round,
                value,
                from,
                proof,
            } => {
                let now = real.get(&a).copied().unwrap_or(0).max(*round);
                if *s == slot {
                    let before = real.get(&a).copied().unwrap_or(0);
                    if before > shown.get(&a).copied().unwrap_or(0) {
                        projected.push(Projected::Trust {
                            acceptor: a,
                            round: before,
                        });
                    }
                    let proof = proof
                        .iter()
                        .map(|p| project_promise(p, slot, &mut names))
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    projected.push(Projected::Vote {
                        acceptor: a,
                        round: *round,
                        value: names.of(value),
                        from: *from,
                        proof,
                    });
                    shown.insert(a, now);
                    end = projected.len();
                }
                real.insert(a, now);
            }
            Event::Decide { slot: s, value, .. } if *s == slot && decided.insert(a) => {
                projected.push(Projected::Decide {
                    learner: a,
                    value: names.of(value),
                });
                end = projected.len();
            }
            _ => {}
        }
    }
    // Nothing after the slot's last vote or decision matters to it.
    projected.truncate(end);
    out.extend(projected);
    names.0.len()
}

fn acceptor_name(a: u16) -> String {
    format!("\"a{}\"", a + 1)
}

fn event_tla(event: &Projected) -> String {
    let record = |k: &str, a: String, r: u64, v: String, q: String| {
        format!("[k |-> \"{k}\", a |-> {a}, r |-> {r}, v |-> {v}, q |-> {q}]")
    };
    let none = "\"-\"".to_string();
    match event {
        // A new slot's record holds the slot in `r`, for the reader of a deadlock.
        Projected::Slot(slot) => record("slot", none.clone(), *slot, none, "{}".into()),
        Projected::Trust { acceptor, round } => record(
            "trust",
            acceptor_name(*acceptor),
            u64::from(*round),
            none,
            "{}".into(),
        ),
        Projected::Vote {
            acceptor,
            round,
            value,
            from,
            proof,
        } => {
            let promises: Vec<String> = proof
                .iter()
                .map(|p| {
                    let (vrnd, vval) = match p.vote {
                        Some((r, v)) => (r.to_string(), format!("\"v{v}\"")),
                        None => ("-1".to_string(), "None".to_string()),
                    };
                    format!(
                        "[type |-> \"promise\", rnd |-> {}, acc |-> {}, vrnd |-> {vrnd}, \
                         vval |-> {vval}]",
                        p.round,
                        acceptor_name(p.acceptor)
                    )
                })
                .collect();
            let vote = record(
                "vote",
                acceptor_name(*acceptor),
                u64::from(*round),
                format!("\"v{value}\""),
                format!("{{{}}}", promises.join(", ")),
            );
            // A vote's record also names the ACCEPT's sender, `p`.
            format!("{}, p |-> \"p{from}\"]", vote.trim_end_matches(']'))
        }
        Projected::Decide { learner, value } => record(
            "decide",
            acceptor_name(*learner),
            0,
            format!("\"v{value}\""),
            "{}".into(),
        ),
    }
}

/// Writes `TraceBPFastPaxos.tla` and its `.cfg` into `dir`.
pub fn write_tla(history: &History, dir: &Path) -> io::Result<TlaTrace> {
    let cluster = Cluster::new(history.f, history.proposers.max(1));
    let mut events = Vec::new();
    let mut values = 2;
    let slots = slots_and_references(history);
    for (slot, refs) in &slots {
        values = values.max(project_slot(history, *slot, refs, &mut events));
    }
    let max_round = history
        .steps
        .iter()
        .filter_map(|s| match &s.event {
            Event::Vote { round, proof, .. } => {
                Some(proof.iter().map(|p| p.round).max().unwrap_or(0).max(*round))
            }
            Event::Promise { promise, .. } => Some(promise.round),
            Event::Start { rnd, .. } => Some(*rnd),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join(format!("{MODULE}.tla")),
        module_text(cluster, values, max_round, &events),
    )?;
    std::fs::write(dir.join(format!("{MODULE}.cfg")), CFG)?;
    Ok(TlaTrace {
        slots: slots.len(),
        events: events.len(),
        values,
        max_round,
    })
}

fn module_text(cluster: Cluster, values: usize, max_round: Round, events: &[Projected]) -> String {
    let acceptors: Vec<String> = cluster.acceptor_ids().map(|a| acceptor_name(a.0)).collect();
    let proposers: Vec<String> = cluster
        .proposer_ids()
        .map(|p| format!("\"p{}\"", p.0))
        .collect();
    let value_names: Vec<String> = (1..=values).map(|v| format!("\"v{v}\"")).collect();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "---------------------------- MODULE {MODULE} ----------------------------"
    );
    text.push_str(HEAD);
    let _ = writeln!(text, "TAcceptor == {{{}}}", acceptors.join(", "));
    let _ = writeln!(text, "TProposer == {{{}}}", proposers.join(", "));
    let _ = writeln!(text, "TProposerOrder == <<{}>>", proposers.join(", "));
    let _ = writeln!(text, "TValue == {{{}}}", value_names.join(", "));
    let _ = writeln!(text, "TClientOf == [p \\in TProposer |-> \"v1\"]");
    let _ = writeln!(text, "TF == {}", cluster.f);
    let _ = writeln!(text, "TMaxRound == {max_round}");
    text.push('\n');
    text.push_str("Events == <<\n");
    for (i, event) in events.iter().enumerate() {
        let sep = if i + 1 == events.len() { "" } else { "," };
        let _ = writeln!(text, "  {}{sep}", event_tla(event));
    }
    text.push_str(">>\n");
    text.push_str(TAIL);
    text
}

const HEAD: &str = r#"(***************************************************************************)
(* Generated by `check trace --tla` from the traces of a running cluster: *)
(* the acceptors' votes, trust changes and decisions, slot by slot, as    *)
(* steps of BPFastPaxos.  TLC checks that each event is a step the spec   *)
(* allows (the run deadlocks at the first one that is not) and that the   *)
(* spec's invariants hold after it.  Check it with                        *)
(*     spec/check.sh --trace DIR                                          *)
(***************************************************************************)
EXTENDS BPFastPaxos

VARIABLE i   \* how many events have been replayed

"#;

const TAIL: &str = r#"
Ev == Events[i + 1]

\* Every proposer is Byzantine: the trace shows what acceptors received.
TraceInit == Init /\ i = 0

\* A new slot: the spec's initial state again.
NewSlot ==
    /\ rnd' = [a \in Acceptor |-> 0]
    /\ vrnd' = [a \in Acceptor |-> -1]
    /\ vval' = [a \in Acceptor |-> None]
    /\ votes' = {}
    /\ crashed' = {}
    /\ decided' = [l \in Learner |-> {}]
    /\ msgs' = {}
    /\ durable' = [a \in Acceptor |-> <<0, -1, None>>]

\* The ACCEPT that the acceptor received from proposer e.p, with the slot's part of its
\* proof: ReceiveAccept checks that e.p leads round e.r.
TraceAccept(e) ==
    [type |-> "accept", from |-> e.p, rnd |-> e.r, val |-> e.v, proof |-> e.q]

TraceStep ==
    /\ i < Len(Events)
    /\ i' = i + 1
    /\ \/ Ev.k = "slot" /\ NewSlot
       \/ Ev.k = "trust" /\ TrustChange(Ev.a) /\ rnd'[Ev.a] = Ev.r
       \/ /\ Ev.k = "vote"
          \* ByzantineAccept(a) with this ACCEPT: its proof holds PROMISEs really sent.
          /\ Ev.q \subseteq PromisesFor(Ev.r)
          /\ ReceiveAccept(Ev.a, TraceAccept(Ev))
       \/ Ev.k = "decide" /\ Decide(Ev.a) /\ decided'[Ev.a] = decided[Ev.a] \cup {Ev.v}

\* At the end, stutter: a deadlock before it means an event the spec does not allow.
Done == i = Len(Events) /\ UNCHANGED <<vars, i>>

TraceNext == TraceStep \/ Done

\* The spec's invariants, checked after the events that can break them (trust changes and
\* decisions only ever make them easier to hold).
LastIs(kinds) == i > 0 /\ Events[i].k \in kinds

TraceAgreement == LastIs({"vote", "decide"}) => Agreement
TraceVotesSafe == LastIs({"vote"}) => VotesSafe
TraceOneVote == LastIs({"vote"}) => OneVote
TracePromisesHonest == LastIs({"vote", "trust"}) => PromisesHonest
=============================================================================
"#;

const CFG: &str = r#"\* Generated by `check trace --tla`: checked by spec/check.sh --trace DIR.
CONSTANTS
    Acceptor <- TAcceptor
    Proposer <- TProposer
    Byzantine <- TProposer
    Value <- TValue
    ClientValue <- TValue
    ClientOf <- TClientOf
    Learner <- TAcceptor
    F <- TF
    MaxRound <- TMaxRound
    MaxCrashes = 0
    ProposerOrder <- TProposerOrder
    None = None
    Variant = "correct"
    FullMenu = FALSE
INIT TraceInit
NEXT TraceNext
INVARIANTS TraceAgreement TraceVotesSafe TraceOneVote TracePromisesHonest
"#;
