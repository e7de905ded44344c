-------------------------- MODULE MCBPFastPaxosLog ---------------------------
(***************************************************************************)
(* The log model that TLC checks: acceptors a1..a4 (F = 1), proposers p0  *)
(* (even rounds) and p1 (odd rounds), client values A (p0's client) and B *)
(* (p1's), Z a value no client proposed.  The spec/cfg/log-*.cfg files    *)
(* choose the Byzantine proposers, rounds, slots, window, values, crashes, *)
(* restarts and the variant.                                              *)
(*                                                                         *)
(* MCSpec and MCView are the reduced model that the holding 2-slot        *)
(* configurations check (CHECKING.md argues each reduction):              *)
(*  - lazy learners: learning is part of the learner's next step that     *)
(*    reads it (a PROMISE's d, the window, compaction), in slot order;    *)
(*    catch-up and state transfer hand on only chosen values, which       *)
(*    learning takes too;                                                 *)
(*  - a RePromise that reports a vote in its own round is left out (every *)
(*    acceptor's ValidProof refuses it); MCRePromise = FALSE bounds the   *)
(*    PROMISEs to one per acceptor and round;                            *)
(*  - Byzantine ACCEPTs carry their proof inline: a Byzantine NEWROUND    *)
(*    and its digest ACCEPTs make acceptors vote as those do;             *)
(*  - lazy keeping: an acceptor keeps an honest NEWROUND proof with the    *)
(*    first ACCEPT by digest it takes that names it, not in a step of its  *)
(*    own (only its own digest ACCEPTs read the kept proof);              *)
(*  - the view keeps of an honest NEWROUND proof (in msgs or kept) only   *)
(*    what acceptors read of it, the values it allows per slot, and drops *)
(*    decisions, which no step of MCSpec reads.                           *)
(*  - compaction at the restart: an acceptor compacts only as part of a   *)
(*    restart, the one step that reads its snapshot.                      *)
(***************************************************************************)
EXTENDS BPFastPaxosLog

CONSTANTS a1, a2, a3, a4, p0, p1, A, B, Z,
          MCRePromise  \* FALSE: a bound, one PROMISE per acceptor and round

MCProposerOrder == <<p0, p1>>

MCClientOf == [p \in {p0, p1} |-> IF p = p0 THEN A ELSE B]

\* Acceptors are interchangeable: no definition singles one out.
Symmetry == Permutations(Acceptor)

-----------------------------------------------------------------------------
\* What an acceptor reads of a round proof Q: the values it allows in each
\* slot, none in a closed one.
ProofView(Q) == [s \in Slot |-> IF s < ClosedBelow(Q) THEN {} ELSE AllowedIn(Q, s)]

(***************************************************************************)
(* Lazy learners.  A learner's knowledge is read only by its own steps:   *)
(* the d of its PROMISEs, its window and its compaction.  So each of these *)
(* steps first learns, in slot order, up to some chosen prefix length k,  *)
(* and there is no learning step of its own: a LearnAt step is moved to   *)
(* just before the next step of its learner that reads what it learned.   *)
(***************************************************************************)
ChosenVal(s) == CHOOSE v \in ChosenIn(s) : TRUE

ChosenPrefixLen ==
    PrefixLen([s \in Slot |-> IF ChosenIn(s) = {} THEN None ELSE ChosenVal(s)])

LearnChoices(a) == D(a) .. ChosenPrefixLen

\* a has learned its decided prefix up to k.
LearnTo(a, k) ==
    /\ known' = [known EXCEPT ![a] =
                   [s \in Slot |-> IF s < k /\ known[a][s] = None
                                   THEN ChosenVal(s) ELSE known[a][s]]]
    /\ decisions' = decisions \cup {<<s, ChosenVal(s)>> : s \in 0 .. (k - 1)}

LazyTrustChange(a) ==
    \E r2 \in Round, k \in LearnChoices(a) :
       /\ Live(a) /\ r2 > rnd[a]
       /\ rnd' = [rnd EXCEPT ![a] = r2]
       /\ msgs' = msgs \cup {PromiseWith(a, r2, k)}
       /\ LearnTo(a, k)
       /\ UNCHANGED <<vr, vv, snap, rproof, votes, crashed, restarts>>

\* A RePromise that reports a vote in its own round is left out: every
\* acceptor's ValidProof refuses it and no honest proof holds it.
LazyRePromise(a) ==
    \E k \in LearnChoices(a) :
       LET m == PromiseWith(a, rnd[a], k)
       IN  /\ Live(a) /\ rnd[a] > 0
           /\ m \notin msgs /\ \A s \in Slot : m.vr[s] < rnd[a]
           /\ msgs' = msgs \cup {m}
           /\ LearnTo(a, k)
           /\ UNCHANGED <<rnd, vr, vv, snap, rproof, votes, crashed, restarts>>

\* The least a must learn to vote in slot s: its window must reach s.
VoteLearn(a, s) == IF s - Window + 1 > D(a) THEN s - Window + 1 ELSE D(a)

LazyCanVoteIn(a, r, s) ==
    /\ Live(a)
    /\ rnd[a] <= r /\ vr[a][s] # r
    /\ s >= Base(a)
    /\ VoteLearn(a, s) <= ChosenPrefixLen

\* The vote, and what it learns first; rproof is up to the caller.
LazyVoteKeeping(a, r, s, v) ==
    /\ LazyCanVoteIn(a, r, s)
    /\ rnd' = [rnd EXCEPT ![a] = r]
    /\ vr' = [vr EXCEPT ![a][s] = r]
    /\ vv' = [vv EXCEPT ![a][s] = v]
    /\ votes' = votes \cup {<<a, r, s, v>>}
    /\ LearnTo(a, VoteLearn(a, s))
    /\ UNCHANGED <<snap, crashed, restarts, msgs>>

LazyVote(a, r, s, v) == LazyVoteKeeping(a, r, s, v) /\ UNCHANGED rproof

LazyHonestAccept(a) ==
    \E m \in msgs :
       /\ m.type = "accept" /\ ~m.digest
       /\ m.rnd = 0 \/ ValidProof(m.rnd, m.slot, m.val, m.proof)
       /\ LazyVote(a, m.rnd, m.slot, m.val)

\* Lazy keeping: an acceptor keeps an honest NEWROUND's proof when it takes
\* the first ACCEPT by digest that names it (KeepProof's guard, then the
\* vote), not in a step of its own; later ACCEPTs of the round use it.
LazyHonestDigestAccept(a) ==
    \E m \in msgs :
       /\ m.type = "accept" /\ m.digest
       /\ SlotAllows(m.proof, m.slot, m.val)
       /\ IF rproof[a].rnd = m.rnd
          THEN m.proof = rproof[a].proof /\ LazyVote(a, m.rnd, m.slot, m.val)
          ELSE /\ [type |-> "newround", from |-> m.from, rnd |-> m.rnd,
                   proof |-> m.proof] \in msgs
               /\ Live(a) /\ m.rnd > 0 /\ rnd[a] <= m.rnd /\ rproof[a].rnd < m.rnd
               /\ ValidRoundProof(m.rnd, m.proof)
               /\ rproof' = [rproof EXCEPT ![a] = [rnd |-> m.rnd, proof |-> m.proof]]
               /\ LazyVoteKeeping(a, m.rnd, m.slot, m.val)

\* Byzantine ACCEPTs carry their proof inline: a Byzantine NEWROUND and the
\* digest ACCEPTs that name it make an acceptor vote only as inline ACCEPTs
\* with the same (valid) proof do, so they are left out.
LazyByzantineAccept ==
    \E p \in Byzantine, r \in Round, s \in Slot, v \in Value :
       /\ p = Leader(r)
       /\ IF /\ \E a \in Acceptor : LazyCanVoteIn(a, r, s)
             /\ ByzantineCanJustify(r, s, v)
          THEN \E a \in Acceptor : LazyVote(a, r, s, v)
          ELSE FALSE

(***************************************************************************)
(* Compaction at the restart.  A compaction writes snap[a] and drops the  *)
(* votes of a below it; a restart is the only step that reads snap[a],    *)
(* and the dropped votes (slots below d) are reported by no PROMISE while  *)
(* d does not shrink, which only a restart makes it do.  Between the two,  *)
(* a compaction only makes a refuse votes below its base, and refusing is  *)
(* a step not taken.  So a compaction is moved to just before the next    *)
(* restart of its acceptor, or dropped if there is none: LazyRestart is    *)
(* CompactTo(a, b) (when b is above the base) followed by RestartWith(a, b) *)
(* (b at or below the base: a store older than the latest compaction).    *)
(* In "compact-early" the compaction drops the votes from the base up to  *)
(* c but keeps the snapshot, and the restart comes back with that         *)
(* snapshot: the behaviour the variant must be caught on.                 *)
(***************************************************************************)
\* The value a knows or may learn in slot s below ChosenPrefixLen.
SnapVal(a, s) == IF known[a][s] # None THEN known[a][s] ELSE ChosenVal(s)

LazyRestartTo(a, b, c) ==
    /\ Live(a) /\ restarts < MaxRestarts
    /\ restarts' = restarts + 1
    /\ snap' = [snap EXCEPT ![a] =
                  [s \in Slot |-> IF s < b THEN SnapVal(a, s) ELSE None]]
    /\ known' = [known EXCEPT ![a] = snap'[a]]
    /\ decisions' = decisions \cup {<<s, SnapVal(a, s)>> : s \in 0 .. (b - 1)}
    /\ vr' = [vr EXCEPT ![a] =
                [s \in Slot |-> IF s < b \/ (Base(a) <= s /\ s < c) THEN -1
                               ELSE IF s < Base(a) THEN LastVoteR(a, s) ELSE @[s]]]
    /\ vv' = [vv EXCEPT ![a] =
                [s \in Slot |-> IF s < b \/ (Base(a) <= s /\ s < c) THEN None
                               ELSE IF s < Base(a) THEN LastVoteV(a, s) ELSE @[s]]]
    /\ rproof' = [rproof EXCEPT ![a] = NoProof]
    /\ UNCHANGED <<rnd, votes, crashed, msgs>>

LazyRestart(a) ==
    IF Variant = "compact-early"
    THEN \E c \in (Base(a) + 1) .. ChosenPrefixLen : LazyRestartTo(a, Base(a), c)
    ELSE \E b \in 0 .. ChosenPrefixLen : LazyRestartTo(a, b, 0)

MCNext ==
    \/ \E p \in Proposer : \/ HonestFastAccepts(p)
                           \/ \E r \in Round : HonestNewRound(p, r)
    \/ LazyByzantineAccept
    \/ \E a \in Acceptor :
          \/ LazyHonestAccept(a)
          \/ LazyHonestDigestAccept(a)
          \/ LazyTrustChange(a) \/ (MCRePromise /\ LazyRePromise(a))
          \/ LazyRestart(a) \/ Crash(a)

MCSpec == Init /\ [][MCNext]_vars

MsgView(m) == IF m.type = "promise" THEN m
              ELSE [m EXCEPT !.proof = ProofView(m.proof)]

MCView ==
    <<rnd, vr, vv, snap, known,
      [a \in Acceptor |-> <<rproof[a].rnd, ProofView(rproof[a].proof)>>],
      votes, crashed, restarts, {MsgView(m) : m \in msgs}>>

-----------------------------------------------------------------------------
(***************************************************************************)
(* The full Spec beside the reduced model (spec/check.sh --compare): with  *)
(* MCRePromise = FALSE, an action constraint keeps the full spec to one     *)
(* PROMISE per acceptor and round too (every new PROMISE is for a round    *)
(* above the sender's: no RePromise step), so the two differ only by the   *)
(* other reductions.                                                       *)
(***************************************************************************)
MCOnePromisePerRound ==
    MCRePromise \/ \A m \in msgs' \ msgs : m.type = "promise" => m.rnd > rnd[m.acc]
=============================================================================
