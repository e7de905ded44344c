//! `check trace --tla`: the merged history as a TLA+ module, `TraceBPFastPaxosLog`, that drives
//! `spec/BPFastPaxosLog.tla` through the same steps (the technique of etcd's and CCF's trace
//! validation). TLC checks that each event is a step of the log spec, with the spec's
//! invariants after it; `spec/check.sh --trace DIR` runs it.
//!
//! The whole log is one behaviour of the spec, each event one action:
//!
//! - a vote is `ReceiveAccept` with the ACCEPT's proof, or `AcceptByDigest` with the NEWROUND
//!   proof the acceptor kept (every proposer is Byzantine here: the trace shows what acceptors
//!   received, not what proposers meant); a proof is reduced to the first PROMISE of each
//!   acceptor, which is all an acceptor reads of it; the spec's `Window` is the acceptors'
//!   slot window from the trace header, so a vote outside it is a step the spec refuses;
//! - a NEWROUND proof kept is `KeepProof`;
//! - a PROMISE is `TrustChangeTo`, and must be the PROMISE the spec sends, with the decided
//!   prefix `d` and the votes at or above it;
//! - a decision is `LearnAt` (a quorum of votes in its round) or `CatchUpAt` (a decision some
//!   learner knew); a snapshot is `StateTransferTo`; dropped votes are `CompactTo`;
//! - a restart is `Restart`, whose durable state must be the spec's.
//!
//! PROMISEs are written once, in a table `P`, and events name them by index.

use super::event::{Event, TracePromise, TraceVote, Via};
use super::read::History;
use crate::log::Slot;
use crate::types::{Cluster, Round};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// The name of the generated module (and of its `.cfg`).
pub const MODULE: &str = "TraceBPFastPaxosLog";

/// What the generated module holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlaTrace {
    pub slots: usize,
    /// The spec's `Window`: the acceptors' slot window, or, for traces that do not record
    /// it, the slots of the module (a window that never binds).
    pub window: Slot,
    pub events: usize,
    pub values: usize,
    pub max_round: Round,
}

/// Names values `v1`, `v2`, … in the order they appear.
#[derive(Default)]
struct Names(BTreeMap<String, usize>);

impl Names {
    fn of(&mut self, value: &str) -> String {
        let next = self.0.len() + 1;
        format!("\"v{}\"", self.0.entry(value.to_string()).or_insert(next))
    }
}

/// A PROMISE as the spec sees it: its mac is not part of it (no proposer can forge one, so
/// a PROMISE is in the spec's `msgs` iff an acceptor sent it).
type PromiseKey = (Round, u16, Slot, Vec<(Slot, Round, String)>);

/// The table of PROMISEs, and the values' names.
#[derive(Default)]
struct Tables {
    names: Names,
    promises: Vec<String>,
    index: BTreeMap<PromiseKey, usize>,
}

impl Tables {
    /// The TLA+ list `<<<<slot, round, value>>, …>>` of votes.
    fn votes(&mut self, votes: &[TraceVote]) -> String {
        let items: Vec<String> = votes
            .iter()
            .map(|v| format!("<<{}, {}, {}>>", v.slot, v.round, self.names.of(&v.value)))
            .collect();
        format!("<<{}>>", items.join(", "))
    }

    /// The 1-based index of `promise` in `P`, adding it if it is new.
    fn promise(&mut self, promise: &TracePromise) -> usize {
        let key: PromiseKey = (
            promise.round,
            promise.acceptor,
            promise.decided_prefix,
            promise
                .votes
                .iter()
                .map(|v| (v.slot, v.round, v.value.clone()))
                .collect(),
        );
        if let Some(i) = self.index.get(&key) {
            return *i;
        }
        let votes = self.votes(&promise.votes);
        self.promises.push(format!(
            "Promise({}, {}, {}, {votes})",
            promise.round,
            acceptor_name(promise.acceptor),
            promise.decided_prefix
        ));
        let i = self.promises.len();
        self.index.insert(key, i);
        i
    }

    /// A proof as the set of the first PROMISE of each acceptor.
    fn proof(&mut self, proof: &[TracePromise]) -> String {
        let mut seen = BTreeSet::new();
        let items: Vec<String> = proof
            .iter()
            .filter(|p| seen.insert(p.acceptor))
            .map(|p| format!("P[{}]", self.promise(p)))
            .collect();
        format!("{{{}}}", items.join(", "))
    }
}

fn acceptor_name(a: u16) -> String {
    format!("\"a{}\"", a + 1)
}

/// The TLA+ record of one event; `first` says whether a start is the acceptor's first.
fn event_tla(acceptor: u16, event: &Event, first: bool, t: &mut Tables) -> String {
    let a = acceptor_name(acceptor);
    match event {
        Event::Start { rnd, base, votes } => format!(
            "[k |-> \"start\", a |-> {a}, first |-> {}, r |-> {rnd}, n |-> {base}, vs |-> {}]",
            if first { "TRUE" } else { "FALSE" },
            t.votes(votes)
        ),
        Event::Vote {
            slot,
            round,
            value,
            from,
            proof,
            digest,
        } => format!(
            "[k |-> \"vote\", a |-> {a}, s |-> {slot}, r |-> {round}, v |-> {}, p |-> \"p{from}\", \
             dg |-> {}, q |-> {}]",
            t.names.of(value),
            if *digest { "TRUE" } else { "FALSE" },
            t.proof(proof)
        ),
        Event::Keep { round, proof } => format!(
            "[k |-> \"keep\", a |-> {a}, r |-> {round}, q |-> {}]",
            t.proof(proof)
        ),
        Event::Promise { promise, .. } => format!(
            "[k |-> \"promise\", a |-> {a}, r |-> {}, n |-> {}]",
            promise.round,
            t.promise(promise)
        ),
        Event::Decide {
            slot,
            round,
            value,
            via,
        } => format!(
            "[k |-> \"{}\", a |-> {a}, s |-> {slot}, r |-> {round}, v |-> {}]",
            match via {
                Via::Learn => "learn",
                Via::CatchUp => "catchup",
            },
            t.names.of(value)
        ),
        Event::Skip { to } => format!("[k |-> \"skip\", a |-> {a}, n |-> {to}]"),
        Event::Drop { base } => format!("[k |-> \"drop\", a |-> {a}, n |-> {base}]"),
    }
}

/// The slots the module must hold: one past every slot the history names.
fn slots_of(history: &History) -> Slot {
    let past = |votes: &[TraceVote]| votes.iter().map(|v| v.slot + 1).max().unwrap_or(0);
    let promise_past = |p: &TracePromise| past(&p.votes).max(p.decided_prefix);
    history
        .steps
        .iter()
        .map(|s| match &s.event {
            Event::Start { base, votes, .. } => past(votes).max(*base),
            Event::Vote { slot, proof, .. } => proof
                .iter()
                .map(promise_past)
                .max()
                .unwrap_or(0)
                .max(slot + 1),
            Event::Keep { proof, .. } => proof.iter().map(promise_past).max().unwrap_or(0),
            Event::Promise { promise, .. } => promise_past(promise),
            Event::Decide { slot, .. } => slot + 1,
            Event::Skip { to } => *to,
            Event::Drop { base } => *base,
        })
        .max()
        .unwrap_or(0)
        .max(1)
}

fn max_round_of(history: &History) -> Round {
    let promise_round = |p: &TracePromise| {
        p.votes
            .iter()
            .map(|v| v.round)
            .max()
            .unwrap_or(0)
            .max(p.round)
    };
    let proof_round = |q: &[TracePromise]| q.iter().map(promise_round).max().unwrap_or(0);
    history
        .steps
        .iter()
        .map(|s| match &s.event {
            Event::Start { rnd, votes, .. } => {
                votes.iter().map(|v| v.round).max().unwrap_or(0).max(*rnd)
            }
            Event::Vote { round, proof, .. } | Event::Keep { round, proof } => {
                proof_round(proof).max(*round)
            }
            Event::Promise { promise, .. } => promise_round(promise),
            Event::Decide { round, .. } => *round,
            Event::Skip { .. } | Event::Drop { .. } => 0,
        })
        .max()
        .unwrap_or(0)
}

/// Writes `TraceBPFastPaxosLog.tla` and its `.cfg` into `dir`.
pub fn write_tla(history: &History, dir: &Path) -> io::Result<TlaTrace> {
    let cluster = Cluster::new(history.f, history.proposers.max(1));
    let mut tables = Tables::default();
    let mut started = BTreeSet::new();
    let mut events = Vec::new();
    for step in &history.steps {
        let first = matches!(step.event, Event::Start { .. }) && started.insert(step.acceptor);
        events.push(event_tla(step.acceptor, &step.event, first, &mut tables));
    }
    let restarts = history
        .steps
        .iter()
        .filter(|s| matches!(s.event, Event::Start { .. }))
        .count();
    let slots = slots_of(history);
    let trace = TlaTrace {
        slots: slots as usize,
        window: history.window.unwrap_or(slots),
        events: events.len(),
        values: tables.names.0.len().max(1),
        max_round: max_round_of(history),
    };
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join(format!("{MODULE}.tla")),
        module_text(cluster, &trace, restarts, &tables, &events),
    )?;
    std::fs::write(dir.join(format!("{MODULE}.cfg")), CFG)?;
    Ok(trace)
}

fn module_text(
    cluster: Cluster,
    trace: &TlaTrace,
    restarts: usize,
    tables: &Tables,
    events: &[String],
) -> String {
    let acceptors: Vec<String> = cluster.acceptor_ids().map(|a| acceptor_name(a.0)).collect();
    let proposers: Vec<String> = cluster
        .proposer_ids()
        .map(|p| format!("\"p{}\"", p.0))
        .collect();
    let values: Vec<String> = (1..=trace.values).map(|v| format!("\"v{v}\"")).collect();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "---------------------------- MODULE {MODULE} ----------------------------"
    );
    text.push_str(HEAD);
    let _ = writeln!(text, "TAcceptor == {{{}}}", acceptors.join(", "));
    let _ = writeln!(text, "TProposer == {{{}}}", proposers.join(", "));
    let _ = writeln!(text, "TProposerOrder == <<{}>>", proposers.join(", "));
    let _ = writeln!(text, "TValue == {{{}}}", values.join(", "));
    let _ = writeln!(text, "TClientOf == [p \\in TProposer |-> \"v1\"]");
    let _ = writeln!(text, "TF == {}", cluster.f);
    let _ = writeln!(text, "TMaxRound == {}", trace.max_round);
    let _ = writeln!(text, "TSlots == {}", trace.slots);
    let _ = writeln!(text, "TWindow == {}", trace.window);
    let _ = writeln!(text, "TMaxRestarts == {restarts}");
    text.push_str(PROMISE_OPS);
    text.push_str("P == <<\n");
    for (i, p) in tables.promises.iter().enumerate() {
        let sep = if i + 1 == tables.promises.len() {
            ""
        } else {
            ","
        };
        let _ = writeln!(text, "  {p}{sep}");
    }
    text.push_str(">>\n\n");
    text.push_str("Events == <<\n");
    for (i, event) in events.iter().enumerate() {
        let sep = if i + 1 == events.len() { "" } else { "," };
        let _ = writeln!(text, "  {event}{sep}");
    }
    text.push_str(">>\n");
    text.push_str(TAIL);
    text
}

const HEAD: &str = r#"(***************************************************************************)
(* Generated by `check trace --tla` from the traces of a running cluster: *)
(* every acceptor's votes, kept NEWROUND proofs, PROMISEs, decisions,     *)
(* snapshots, compactions and restarts, as steps of BPFastPaxosLog.  TLC   *)
(* checks that each event is a step the spec allows (the run deadlocks at *)
(* the first one that is not) and that the spec's invariants hold after   *)
(* it.  Check it with                                                     *)
(*     spec/check.sh --trace DIR                                          *)
(***************************************************************************)
EXTENDS BPFastPaxosLog

VARIABLE i   \* how many events have been replayed

"#;

const PROMISE_OPS: &str = r#"
\* A slot's reported vote in a list <<<<slot, round, value>>, ...>>.
VotesR(l) == [s \in Slot |-> IF \E j \in DOMAIN l : l[j][1] = s
                             THEN l[CHOOSE j \in DOMAIN l : l[j][1] = s][2] ELSE -1]
VotesV(l) == [s \in Slot |-> IF \E j \in DOMAIN l : l[j][1] = s
                             THEN l[CHOOSE j \in DOMAIN l : l[j][1] = s][3] ELSE None]

Promise(r, a, d, l) ==
    [type |-> "promise", rnd |-> r, acc |-> a, d |-> d, vr |-> VotesR(l), vv |-> VotesV(l)]

"#;

const TAIL: &str = r#"
Ev == Events[i + 1]

TraceInit == Init /\ i = 0

\* The acceptor's first start is from the initial state; a later one is a
\* restart that must recover the spec's durable state.
Start(e) ==
    IF e.first
    THEN /\ rnd[e.a] = 0 /\ e.n = 0 /\ e.vs = <<>>
         /\ UNCHANGED vars
    ELSE /\ RestartWith(e.a, e.n)
         /\ rnd[e.a] = e.r
         /\ \A s \in Slot : s >= e.n => /\ vr'[e.a][s] = VotesR(e.vs)[s]
                                        /\ vv'[e.a][s] = VotesV(e.vs)[s]

\* A PROMISE: a trust change, or one of its round again (after a restart); one
\* already sent is sent again as it was (a message of msgs, which only grows).
RePromiseOf(e) ==
    \/ TrustChangeTo(e.a, e.r)
    \/ /\ e.r = rnd[e.a] /\ e.r > 0
       /\ \/ RePromise(e.a)
          \/ PromiseOf(e.a, e.r) \in msgs /\ UNCHANGED vars

\* An ACCEPT from Leader(r): with its proof, or naming the kept NEWROUND proof.
TraceVote(e) ==
    /\ e.p = Leader(e.r)
    /\ IF e.dg
       THEN rproof[e.a].proof = e.q /\ AcceptByDigest(e.a, e.r, e.s, e.v)
       ELSE /\ e.r = 0 \/ e.q \subseteq PromisesFor(e.r)
            /\ ReceiveAccept(e.a, e.r, e.s, e.v, e.q)

TraceStep ==
    /\ i < Len(Events)
    /\ i' = i + 1
    /\ CASE Ev.k = "start"   -> Start(Ev)
         [] Ev.k = "vote"    -> TraceVote(Ev)
         [] Ev.k = "keep"    -> Ev.q \subseteq PromisesFor(Ev.r) /\ KeepProof(Ev.a, Ev.r, Ev.q)
         [] Ev.k = "promise" -> RePromiseOf(Ev) /\ PromiseOf(Ev.a, Ev.r) = P[Ev.n]
         [] Ev.k = "learn"   -> LearnAt(Ev.a, Ev.s, Ev.r, Ev.v)
         [] Ev.k = "catchup" -> CatchUpAt(Ev.a, Ev.s, Ev.v)
         [] Ev.k = "skip"    -> StateTransferTo(Ev.a, Ev.n)
         [] Ev.k = "drop"    -> CompactTo(Ev.a, Ev.n)

\* At the end, stutter: a deadlock before it means an event the spec does not allow.
Done == i = Len(Events) /\ UNCHANGED <<vars, i>>

TraceNext == TraceStep \/ Done

\* The spec's invariants, for what the last event touched, over the votes of
\* one slot (the spec's own forms range over every value and round, which a
\* long trace makes slow).
Last == Events[i]
LastIs(kinds) == i > 0 /\ Last.k \in kinds

VotesIn(s) == {t \in votes : t[3] = s}
VotersIn(V, c, w) == {t[1] : t \in {x \in V : x[2] = c /\ x[4] = w}}
ChosenFrom(V) == {t[4] : t \in {x \in V : Cardinality(VotersIn(V, x[2], x[4])) >= QuorumSize}}
DecidedSlots == {x[1] : x \in decisions}

\* SafeAt(s, r, v): in no round c < r can a quorum choose another value:
\* one that got votes in c, or (as Value holds values nobody voted) any.
TraceSafeAt(s, r, v) ==
    LET V == VotesIn(s)
        Can(c) == {a \in Acceptor : rnd[a] <= c /\ Live(a)
                                    /\ ~\E t \in V : t[1] = a /\ t[2] = c}
    IN  \A c \in 0 .. (r - 1) :
           /\ Cardinality(Can(c)) < QuorumSize
           /\ \A w \in {t[4] : t \in {x \in V : x[2] = c}} \ {v} :
                 Cardinality(VotersIn(V, c, w) \cup Can(c)) < QuorumSize

TraceAgreement ==
    LastIs({"vote", "learn", "catchup"}) =>
        LET chosen == ChosenFrom(VotesIn(Last.s))
        IN  /\ Cardinality(chosen) <= 1
            /\ \A x \in decisions : x[1] = Last.s => x[2] \in chosen
TraceVotesSafe == LastIs({"vote"}) => TraceSafeAt(Last.s, Last.r, Last.v)
TraceOneVote ==
    LastIs({"vote"}) => \A t \in VotesIn(Last.s) : t[1] = Last.a /\ t[2] = Last.r => t[4] = Last.v
\* The PROMISE closes only decided slots, reports real votes, and no vote of
\* its sender below its round in an open slot is higher than the one it reports.
TracePromisesHonest ==
    LastIs({"promise"}) =>
        LET m == P[Last.n]
        IN  /\ 0 .. (m.d - 1) \subseteq DecidedSlots
            /\ \A s \in Slot : m.vr[s] # -1 => VotedFor(m.acc, m.vr[s], s, m.vv[s])
            /\ \A t \in votes : t[1] = m.acc /\ t[2] < m.rnd /\ t[3] >= m.d => m.vr[t[3]] >= t[2]
TraceProofsSound ==
    LastIs({"keep"}) =>
        /\ ValidRoundProof(Last.r, Last.q) /\ Last.q \subseteq Promises
        /\ 0 .. (ClosedBelow(Last.q) - 1) \subseteq DecidedSlots
TraceLogsArePrefixes == LastIs({"learn", "catchup", "skip", "start"}) => LogsArePrefixes

\* The replay is one path: its states differ by i, which is all TLC needs to tell them apart.
TraceView == i
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
    F <- TF
    MaxRound <- TMaxRound
    Slots <- TSlots
    Window <- TWindow
    MaxCrashes = 0
    MaxRestarts <- TMaxRestarts
    ProposerOrder <- TProposerOrder
    None = None
    Variant = "correct"
INIT TraceInit
NEXT TraceNext
INVARIANTS TraceAgreement TraceVotesSafe TraceOneVote TracePromisesHonest TraceProofsSound TraceLogsArePrefixes
VIEW TraceView
"#;
