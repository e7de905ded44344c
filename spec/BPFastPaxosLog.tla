---------------------------- MODULE BPFastPaxosLog ----------------------------
(***************************************************************************)
(* The replicated log of BP Fast Paxos (shared/PROTOCOL.md §8), in the     *)
(* style of BPFastPaxos.tla: slots 0 .. Slots - 1, one consensus instance  *)
(* each, rounds shared by all slots.                                       *)
(*                                                                         *)
(* What the log adds to the single decree, and where it is here:           *)
(*  - a PROMISE carries the acceptor's decided prefix d and its last vote  *)
(*    in every slot >= d (PromiseOf); an acceptor may PROMISE again in its *)
(*    round with a larger d (RePromise);                                   *)
(*  - in a proof Q, slots below the largest d of Q are closed (SlotOpen);  *)
(*  - NEWROUND carries the round's proof once; the acceptor verifies and   *)
(*    keeps it (ReceiveNewRound), and ACCEPTs of the round name it by      *)
(*    digest (AcceptByDigest); it keeps the first proof of a round;        *)
(*  - an acceptor votes only in slots below its decided prefix plus        *)
(*    Window, and never in a slot it compacted;                            *)
(*  - catch-up: a learner takes a slot's decision from a replica that has  *)
(*    it (CatchUp: the answer to a repeated ACCEPT, or to a catch-up       *)
(*    request), or a whole decided prefix (StateTransfer);                 *)
(*  - compaction (Compact): the decided prefix made durable as a snapshot, *)
(*    then its votes dropped;                                              *)
(*  - crash-recovery (Restart): rnd, the votes and the snapshot survive;   *)
(*    the learner and the kept NEWROUND proof do not.                     *)
(* Retransmission needs no action: msgs only grows, so a resent ACCEPT or  *)
(* a LEARN sent again is a message that is already there.                  *)
(***************************************************************************)
EXTENDS Naturals, Integers, FiniteSets, Sequences, TLC

CONSTANTS
    Acceptor, Proposer, Byzantine, Value, ClientValue, ClientOf,
    F,
    MaxRound,
    Slots,        \* slots 0 .. Slots - 1 are modelled
    Window,       \* an acceptor votes only in slots < its d + Window
    MaxCrashes,   \* acceptors that crash for good
    MaxRestarts,  \* restarts (crash and recovery from the durable state)
    ProposerOrder,
    None,
    Variant       \* "correct" or a known-bad variant:
                  \* "close-min-d": slots are closed below the smallest d of
                  \*    a proof instead of the largest;
                  \* "omit-vote-at-d": a PROMISE does not report the vote of
                  \*    slot d, the first slot not known decided;
                  \* "newround-unverified": an acceptor keeps a NEWROUND
                  \*    proof without checking it, and takes the ACCEPTs
                  \*    that name it;
                  \* "compact-early": votes are dropped before the decision
                  \*    they depend on is durable;
                  \* "stale-proof": ValidProof takes PROMISEs of rounds <= r,
                  \*    not only of r

ASSUME /\ Byzantine \subseteq Proposer
       /\ ClientValue \subseteq Value
       /\ None \notin Value
       /\ Cardinality(Acceptor) = 3 * F + 1
       /\ Slots \in Nat \ {0} /\ Window \in Nat \ {0}
       /\ MaxRound \in Nat /\ MaxCrashes \in Nat /\ MaxRestarts \in Nat
       /\ ProposerOrder \in Seq(Proposer) /\ Len(ProposerOrder) > 0
       /\ \A p \in Proposer \ Byzantine : ClientOf[p] \in ClientValue
       /\ Variant \in {"correct", "close-min-d", "omit-vote-at-d",
                       "newround-unverified", "compact-early", "stale-proof"}

Round == 0 .. MaxRound
Slot == 0 .. (Slots - 1)
Leader(r) == ProposerOrder[(r % Len(ProposerOrder)) + 1]
QuorumSize == 2 * F + 1
Quorum == {Q \in SUBSET Acceptor : Cardinality(Q) >= QuorumSize}
Max(S) == CHOOSE x \in S : \A y \in S : y <= x
Min(S) == CHOOSE x \in S : \A y \in S : x <= y

(***************************************************************************)
(* Messages.  A PROMISE reports d and, per slot, a last vote (vr = -1, vv  *)
(* = None: no vote reported).  The proof of an honest ACCEPT or NEWROUND   *)
(* is a set of PROMISEs; an ACCEPT by digest names its NEWROUND's proof:   *)
(* SHA-256 is collision resistant, so a digest names one proof, and the    *)
(* model writes that proof in place of its digest.                         *)
(***************************************************************************)
PromiseMsg == [type : {"promise"}, rnd : Round, acc : Acceptor,
               d : 0 .. Slots, vr : [Slot -> Round \cup {-1}],
               vv : [Slot -> Value \cup {None}]]
AcceptMsg == [type : {"accept"}, from : Proposer, rnd : Round, slot : Slot,
              val : Value, proof : SUBSET PromiseMsg, digest : BOOLEAN]
NewRoundMsg == [type : {"newround"}, from : Proposer, rnd : Round,
                proof : SUBSET PromiseMsg]
Message == PromiseMsg \cup AcceptMsg \cup NewRoundMsg

VARIABLES
    rnd,       \* rnd[a]: the round a trusts                      (durable)
    vr, vv,    \* vr[a][s], vv[a][s]: a's last vote in slot s      (durable)
    snap,      \* snap[a][s]: the value of slot s in a's durable snapshot of
               \* its applied log (None above it): its compacted prefix
    known,     \* known[a][s]: the value a's learner knows decided in s
    rproof,    \* rproof[a]: the NEWROUND proof a verified and keeps, as
               \* [rnd, proof], or None
    votes,     \* ghost: every vote <<a, r, s, v>> ever cast; as every vote
               \* is sent as LEARN to every learner, also the LEARNs sent
    decisions, \* ghost: every <<s, v>> some learner ever knew decided: the
               \* decisions a replica may send in catch-up
    crashed,   \* acceptors crashed for good
    restarts,  \* how many restarts happened
    msgs       \* PROMISEs and honest proposers' messages, ever sent

vars == <<rnd, vr, vv, snap, known, rproof, votes, decisions, crashed,
          restarts, msgs>>

NoProof == [rnd |-> -1, proof |-> {}]

TypeOK ==
    /\ rnd \in [Acceptor -> Round]
    /\ vr \in [Acceptor -> [Slot -> Round \cup {-1}]]
    /\ vv \in [Acceptor -> [Slot -> Value \cup {None}]]
    /\ snap \in [Acceptor -> [Slot -> Value \cup {None}]]
    /\ known \in [Acceptor -> [Slot -> Value \cup {None}]]
    /\ \A a \in Acceptor : rproof[a] = NoProof \/ rproof[a].rnd \in Round
    /\ votes \subseteq Acceptor \X Round \X Slot \X Value
    /\ decisions \subseteq Slot \X Value
    /\ crashed \subseteq Acceptor
    /\ restarts \in Nat
    /\ msgs \subseteq Message

VotedFor(a, r, s, v) == <<a, r, s, v>> \in votes

\* The length of a prefix of f all of whose entries are known.
PrefixLen(f) == IF \A s \in Slot : f[s] # None THEN Slots
                ELSE Min({s \in Slot : f[s] = None})

\* d: the length of a's decided prefix.  Base: the length of its snapshot,
\* the slots whose votes it may have dropped.
D(a) == PrefixLen(known[a])
Base(a) == PrefixLen(snap[a])

-----------------------------------------------------------------------------
(***************************************************************************)
(* The proof rule of the log.                                              *)
(***************************************************************************)
Accs(Q) == {m.acc : m \in Q}

\* One PROMISE per acceptor: an acceptor ignores every PROMISE of a proof
\* but the first of each acceptor, so any proof acts as one of these, which
\* a Byzantine proposer may send as it is.
OnePerAcceptor(Q) == \A m1, m2 \in Q : m1.acc = m2.acc => m1 = m2

\* The MAC check: a PROMISE's mac is a function of its content under a key
\* no proposer holds, so a PROMISE record passes it exactly when an
\* acceptor sent that very PROMISE.
Authentic(m) == m \in msgs

\* The PROMISE is for the proof's round (any round up to it in
\* "stale-proof").
ForRound(m, r) == IF Variant = "stale-proof" THEN m.rnd <= r ELSE m.rnd = r

\* What ValidProof asks of each PROMISE of a proof for r: none that reports
\* a vote in r itself (a RePromise after a vote in its round).
PromiseOK(m, r) ==
    /\ m.type = "promise" /\ ForRound(m, r)
    /\ \A s \in Slot : m.vr[s] < r
    /\ Authentic(m)

\* The part of ValidProof that does not depend on the slot: what an
\* acceptor checks once per round, on NEWROUND.
ValidRoundProof(r, Q) ==
    /\ r > 0
    /\ OnePerAcceptor(Q)
    /\ \A m \in Q : PromiseOK(m, r)
    /\ Cardinality(Accs(Q)) >= QuorumSize

\* Slots below the largest d of Q are closed (below the smallest in the
\* known-bad variant "close-min-d").
ClosedBelow(Q) ==
    IF Variant = "close-min-d" THEN Min({m.d : m \in Q} \cup {Slots})
    ELSE Max({m.d : m \in Q} \cup {0})

\* The single decree's Allowed over the votes Q reports for slot s.
AllowedIn(Q, s) ==
    LET k     == Max({m.vr[s] : m \in Q} \cup {-1})
        V     == {m.vv[s] : m \in {n \in Q : n.vr[s] = k}}
        Voters(w) == {m.acc : m \in {n \in Q : n.vr[s] = k /\ n.vv[s] = w}}
        Heavy == {w \in V : Cardinality(Voters(w)) >= Cardinality(Accs(Q)) - F}
    IN  IF k = -1 THEN Value
        ELSE IF Heavy # {} THEN Heavy
        ELSE IF Cardinality(V) = 1 THEN V
        ELSE Value

SlotAllows(Q, s, v) == s >= ClosedBelow(Q) /\ v \in AllowedIn(Q, s)

ValidProof(r, s, v, Q) == ValidRoundProof(r, Q) /\ SlotAllows(Q, s, v)

-----------------------------------------------------------------------------
Promises == {m \in msgs : m.type = "promise"}
PromisesFor(r) == {m \in Promises : m.rnd = r}

\* The PROMISEs of round r that a valid proof may hold: none that reports a
\* vote in round r (a RePromise after a vote in its round).
UsableFor(r) == {m \in PromisesFor(r) : \A s \in Slot : m.vr[s] < r}

\* The proofs an honest proposer builds for round r from the PROMISEs it
\* received: one usable PROMISE from each acceptor of a quorum.
Proofs(r) ==
    LET U == UsableFor(r)
        From(S) == {Q \in SUBSET {m \in U : m.acc \in S} :
                       Accs(Q) = S /\ Cardinality(Q) = Cardinality(S)}
    IN  UNION {From(S) : S \in Quorum}

(***************************************************************************)
(* The Byzantine proposer's proofs, as in BPFastPaxos.tla: it sees every   *)
(* PROMISE on the network and may put in a proof any PROMISE ever sent (of *)
(* any round and acceptor) and forgeries; the acceptors' own check         *)
(* (PromiseOK) is what keeps out the wrong rounds and the forgeries.  An   *)
(* acceptor reads only the first PROMISE of each acceptor of a proof, so   *)
(* the menu takes at most one per acceptor; the search skips PROMISEs that *)
(* fail PromiseOK and proofs too small for the check (pruning by the      *)
(* acceptors' own check, so it holds every proof the check accepts).       *)
(***************************************************************************)
\* Made-up PROMISEs for round r: no decided prefix and no vote, the forgery
\* that would allow the most.
Forged(r) == [type : {"promise"}, rnd : {r}, acc : Acceptor, d : {0},
              vr : {[s \in Slot |-> -1]}, vv : {[s \in Slot |-> None]}]

ProofPool(r) == Promises \cup Forged(r)

\* In "newround-unverified" a NEWROUND proof is not checked: any PROMISEs of
\* round r, any number of them.
Candidates(a, r) ==
    IF Variant = "newround-unverified"
    THEN {m \in PromisesFor(r) : m.acc = a}
    ELSE {m \in ProofPool(r) : m.acc = a /\ PromiseOK(m, r)}

NeededSize == IF Variant = "newround-unverified" THEN 0 ELSE QuorumSize

\* Every set of at most one candidate of each acceptor of S.
RECURSIVE Choices(_, _)
Choices(S, r) ==
    IF S = {} THEN {{}}
    ELSE LET a == CHOOSE x \in S : TRUE
         IN  {Q \cup X : Q \in Choices(S \ {a}, r),
                         X \in {{}} \cup {{m} : m \in Candidates(a, r)}}

ByzantineProofs(r) == {Q \in Choices(Acceptor, r) : Cardinality(Q) >= NeededSize}

\* Some proof made of Q and at most one candidate of each acceptor of S
\* makes an acceptor take ACCEPT(r, s, v): a search of ByzantineProofs(r)
\* that stops at the first such proof, without building the menu.
RECURSIVE SomeProof(_, _, _, _, _)
SomeProof(r, s, v, S, Q) ==
    /\ Cardinality(Q) + Cardinality(S) >= NeededSize
    /\ IF S = {} THEN ValidProof(r, s, v, Q)
       ELSE LET a == CHOOSE x \in S : TRUE
            IN  \/ SomeProof(r, s, v, S \ {a}, Q)
                \/ \E m \in Candidates(a, r) : SomeProof(r, s, v, S \ {a}, Q \cup {m})

-----------------------------------------------------------------------------
Init ==
    /\ rnd = [a \in Acceptor |-> 0]
    /\ vr = [a \in Acceptor |-> [s \in Slot |-> -1]]
    /\ vv = [a \in Acceptor |-> [s \in Slot |-> None]]
    /\ snap = [a \in Acceptor |-> [s \in Slot |-> None]]
    /\ known = [a \in Acceptor |-> [s \in Slot |-> None]]
    /\ rproof = [a \in Acceptor |-> NoProof]
    /\ votes = {}
    /\ decisions = {}
    /\ crashed = {}
    /\ restarts = 0
    /\ msgs = {}

Live(a) == a \notin crashed

(***************************************************************************)
(* Honest proposers.  Round 0: an ACCEPT of its client's value in every    *)
(* slot.  Round r > 0: a proof Q from a quorum's PROMISEs, sent once in    *)
(* NEWROUND, then an ACCEPT by digest in every open slot, of the value it  *)
(* must pick, else its client's, else any allowed one.                     *)
(***************************************************************************)
SentIn(p, r) == \E m \in msgs : m.type \in {"accept", "newround"}
                                /\ m.from = p /\ m.rnd = r

HonestPick(p, Q, s) ==
    LET A == AllowedIn(Q, s)
    IN  IF Cardinality(A) = 1 THEN A
        ELSE IF ClientOf[p] \in A THEN {ClientOf[p]} ELSE A

HonestFastAccepts(p) ==
    /\ p \notin Byzantine /\ p = Leader(0) /\ ~SentIn(p, 0)
    /\ msgs' = msgs \cup
         {[type |-> "accept", from |-> p, rnd |-> 0, slot |-> s,
           val |-> ClientOf[p], proof |-> {}, digest |-> FALSE] : s \in Slot}
    /\ UNCHANGED <<rnd, vr, vv, snap, known, rproof, votes, decisions,
                   crashed, restarts>>

HonestNewRound(p, r) ==
    /\ p \notin Byzantine /\ r > 0 /\ p = Leader(r) /\ ~SentIn(p, r)
    /\ \E Q \in Proofs(r) :
         \E pick \in [{s \in Slot : s >= ClosedBelow(Q)} -> Value] :
            /\ \A s \in DOMAIN pick : pick[s] \in HonestPick(p, Q, s)
            /\ msgs' = msgs \cup
                 {[type |-> "newround", from |-> p, rnd |-> r, proof |-> Q]} \cup
                 {[type |-> "accept", from |-> p, rnd |-> r, slot |-> s,
                   val |-> pick[s], proof |-> Q, digest |-> TRUE] :
                      s \in DOMAIN pick}
    /\ UNCHANGED <<rnd, vr, vv, snap, known, rproof, votes, decisions,
                   crashed, restarts>>

(***************************************************************************)
(* Acceptors.                                                              *)
(***************************************************************************)
\* The PROMISE a sends for round r: its d and its last vote in every slot
\* >= d (in the variant "omit-vote-at-d", in every slot > d).
PromiseWith(a, r, d) ==
    LET reported(s) == IF Variant = "omit-vote-at-d" THEN s > d ELSE s >= d
    IN  [type |-> "promise", rnd |-> r, acc |-> a, d |-> d,
         vr |-> [s \in Slot |-> IF reported(s) THEN vr[a][s] ELSE -1],
         vv |-> [s \in Slot |-> IF reported(s) THEN vv[a][s] ELSE None]]

PromiseOf(a, r) == PromiseWith(a, r, D(a))

\* Trust change to r2 > rnd[a], for any of PROTOCOL.md's triggers (a
\* timeout, equivocation in some slot, an invalid proof from its leader, a
\* TRUSTCHANGE), none of which safety may depend on.
TrustChangeTo(a, r2) ==
    /\ Live(a)
    /\ r2 > rnd[a]
    /\ rnd' = [rnd EXCEPT ![a] = r2]
    /\ msgs' = msgs \cup {PromiseOf(a, r2)}
    /\ UNCHANGED <<vr, vv, snap, known, rproof, votes, decisions, crashed,
                   restarts>>

TrustChange(a) == \E r2 \in Round : TrustChangeTo(a, r2)

\* A second PROMISE in the round it trusts, with what it knows now (a
\* larger d, or a vote cast in that round, which makes the PROMISE unusable
\* in a proof).  Nothing in the protocol requires it; that it is safe lets
\* an acceptor answer a leader that lost its PROMISE.
RePromise(a) ==
    /\ Live(a) /\ rnd[a] > 0
    /\ PromiseOf(a, rnd[a]) \notin msgs
    /\ msgs' = msgs \cup {PromiseOf(a, rnd[a])}
    /\ UNCHANGED <<rnd, vr, vv, snap, known, rproof, votes, decisions,
                   crashed, restarts>>

\* a may vote in round r and slot s: Lamport's condition, in a slot it has
\* not compacted and within its window.
CanVoteIn(a, r, s) ==
    /\ Live(a)
    /\ rnd[a] <= r /\ vr[a][s] # r
    /\ s >= Base(a)
    /\ s < D(a) + Window

Vote(a, r, s, v) ==
    /\ rnd' = [rnd EXCEPT ![a] = r]
    /\ vr' = [vr EXCEPT ![a][s] = r]
    /\ vv' = [vv EXCEPT ![a][s] = v]
    /\ votes' = votes \cup {<<a, r, s, v>>}
    /\ UNCHANGED <<snap, known, rproof, decisions, crashed, restarts, msgs>>

\* ACCEPT(r, s, v, proof) from Leader(r), sent by an honest proposer (in
\* msgs) or now by a Byzantine one, with any proof of its menu (an invalid
\* proof leads to no vote, and the trust change it may cause is a
\* TrustChange step).  Round 0 needs no proof.
ReceiveAccept(a, r, s, v, Q) ==
    /\ CanVoteIn(a, r, s)
    /\ r = 0 \/ ValidProof(r, s, v, Q)
    /\ Vote(a, r, s, v)

HonestAccept(a) ==
    \E m \in msgs :
       /\ m.type = "accept" /\ ~m.digest
       /\ ReceiveAccept(a, m.rnd, m.slot, m.val, m.proof)

\* Some proof of the menu makes an acceptor take ACCEPT(r, s, v).  The proof
\* leaves no trace in the state, so one is enough.
ByzantineCanJustify(r, s, v) == r = 0 \/ SomeProof(r, s, v, Acceptor, {})

\* (IF makes TLC evaluate the search for a proof once per round, slot and
\* value, as a condition, not once per proof and acceptor.)
ByzantineAccept ==
    \E p \in Byzantine, r \in Round, s \in Slot, v \in Value :
       /\ p = Leader(r)
       /\ IF /\ \E a \in Acceptor : CanVoteIn(a, r, s)
             /\ ByzantineCanJustify(r, s, v)
          THEN \E a \in Acceptor : CanVoteIn(a, r, s) /\ Vote(a, r, s, v)
          ELSE FALSE

\* NEWROUND(r, Q) from Leader(r): a keeps Q for round r once Q is a valid
\* round proof; it keeps the first proof of a round, and only for a round it
\* may still vote in.  (Carried values are AcceptByDigest steps after it.)
\* A Byzantine leader may send any Q of its menu; one that is not a valid
\* round proof is refused (in "newround-unverified": any set of round r's
\* PROMISEs is kept).
KeepProof(a, r, Q) ==
    /\ Live(a) /\ r > 0 /\ rnd[a] <= r /\ rproof[a].rnd < r
    /\ IF Variant = "newround-unverified"
       THEN Q \subseteq PromisesFor(r) /\ OnePerAcceptor(Q)
       ELSE ValidRoundProof(r, Q)
    /\ rproof' = [rproof EXCEPT ![a] = [rnd |-> r, proof |-> Q]]
    /\ UNCHANGED <<rnd, vr, vv, snap, known, votes, decisions, crashed,
                   restarts, msgs>>

HonestNewRoundKept(a) ==
    \E m \in msgs : m.type = "newround" /\ KeepProof(a, m.rnd, m.proof)

ByzantineNewRound ==
    \E p \in Byzantine, r \in Round :
       /\ p = Leader(r) /\ r > 0
       /\ \E Q \in ByzantineProofs(r), a \in Acceptor : KeepProof(a, r, Q)

\* ACCEPT(r, s, v, digest) from Leader(r): taken with the proof a kept for
\* round r if the digest names it, ignored otherwise.  Only the slot's part
\* of the proof is checked: the round part was, on NEWROUND.
AcceptByDigest(a, r, s, v) ==
    /\ rproof[a].rnd = r
    /\ CanVoteIn(a, r, s)
    /\ SlotAllows(rproof[a].proof, s, v)
    /\ Vote(a, r, s, v)

HonestDigestAccept(a) ==
    \E m \in msgs :
       /\ m.type = "accept" /\ m.digest /\ m.proof = rproof[a].proof
       /\ AcceptByDigest(a, m.rnd, m.slot, m.val)

ByzantineDigestAccept(a) ==
    \E p \in Byzantine, r \in Round, s \in Slot, v \in Value :
       p = Leader(r) /\ AcceptByDigest(a, r, s, v)

(***************************************************************************)
(* Learners (every acceptor).                                              *)
(***************************************************************************)
LearnedIn(r, s, v) == {b \in Acceptor : VotedFor(b, r, s, v)}

Know(a, s, v) ==
    /\ known' = [known EXCEPT ![a][s] = v]
    /\ decisions' = decisions \cup {<<s, v>>}

\* A quorum's LEARNs for one round and slot.
LearnAt(a, s, r, v) ==
    /\ Live(a)
    /\ known[a][s] = None
    /\ Cardinality(LearnedIn(r, s, v)) >= QuorumSize
    /\ Know(a, s, v)
    /\ UNCHANGED <<rnd, vr, vv, snap, rproof, votes, crashed, restarts, msgs>>

Learn(a) == \E s \in Slot, r \in Round, v \in Value : LearnAt(a, s, r, v)

\* Catch-up by decisions: a replica that knew slot s decided sent it (as
\* the answer to a repeated ACCEPT, or to a catch-up request).
CatchUpAt(a, s, v) ==
    /\ Live(a)
    /\ <<s, v>> \in decisions
    /\ known[a][s] = None
    /\ Know(a, s, v)
    /\ UNCHANGED <<rnd, vr, vv, snap, rproof, votes, crashed, restarts, msgs>>

CatchUp(a) == \E <<s, v>> \in decisions : CatchUpAt(a, s, v)

\* State transfer: a replica sends its decided prefix up to k (its snapshot
\* and the decisions above it); every slot below k was decided by some
\* learner.
\* (An IF condition is evaluated as one boolean; a disjunction under \A in an
\* action would make TLC branch once per slot where both disjuncts hold.)
StateTransferTo(a, k) ==
    /\ Live(a)
    /\ IF \A s \in 0 .. (k - 1) : known[a][s] # None \/ \E v \in Value : <<s, v>> \in decisions
       THEN TRUE ELSE FALSE
    /\ known' = [known EXCEPT ![a] =
                   [s \in Slot |-> IF s < k /\ known[a][s] = None
                                   THEN CHOOSE v \in Value : <<s, v>> \in decisions
                                   ELSE known[a][s]]]
    /\ UNCHANGED <<rnd, vr, vv, snap, rproof, votes, decisions, crashed,
                   restarts, msgs>>

StateTransfer(a) == \E k \in (D(a) + 1) .. Slots : StateTransferTo(a, k)

(***************************************************************************)
(* Compaction and crash-recovery.                                          *)
(***************************************************************************)
\* The decided prefix up to b made durable (the snapshot of the applied
\* store), then the votes below b dropped.  In "compact-early" the votes are
\* dropped but the snapshot is not stored.
\* Without restarts it is left out (a reduction): the votes it drops are in
\* slots below d, which no PROMISE reports while d does not shrink, and a
\* slot it compacts is one the acceptor no longer votes in, so every
\* behaviour with it is one without it with fewer votes.
CompactTo(a, b) ==
    /\ Live(a) /\ MaxRestarts > 0
    /\ Base(a) < b /\ b <= D(a)
    /\ snap' = IF Variant = "compact-early" THEN snap
              ELSE [snap EXCEPT ![a] =
                      [s \in Slot |-> IF s < b THEN known[a][s] ELSE None]]
    /\ vr' = [vr EXCEPT ![a] = [s \in Slot |-> IF s < b THEN -1 ELSE @[s]]]
    /\ vv' = [vv EXCEPT ![a] = [s \in Slot |-> IF s < b THEN None ELSE @[s]]]
    /\ UNCHANGED <<rnd, known, rproof, votes, decisions, crashed, restarts, msgs>>

Compact(a) == \E b \in Slot \cup {Slots} : CompactTo(a, b)

\* a's last vote in slot s, from the ghost of all votes: what it held before
\* it dropped the slot's vote.
LastVoteR(a, s) == Max({t[2] : t \in {x \in votes : x[1] = a /\ x[3] = s}} \cup {-1})
LastVoteV(a, s) ==
    IF LastVoteR(a, s) = -1 THEN None
    ELSE CHOOSE v \in Value : VotedFor(a, LastVoteR(a, s), s, v)

\* A restart: the durable state (rnd, votes, snapshot) survives; the
\* learner starts from the snapshot, and the NEWROUND proof is gone.  The
\* store may not hold the latest compaction yet: it may come back with a
\* lower base b and the votes it had above b (a store is written after the
\* compaction, at the next step that stores anything), which is as safe.
RestartWith(a, b) ==
    /\ Live(a) /\ restarts < MaxRestarts
    /\ b <= Base(a)
    /\ restarts' = restarts + 1
    /\ snap' = [snap EXCEPT ![a] = [s \in Slot |-> IF s < b THEN @[s] ELSE None]]
    /\ known' = [known EXCEPT ![a] = snap'[a]]
    /\ vr' = [vr EXCEPT ![a] = [s \in Slot |-> IF b <= s /\ s < Base(a)
                                               THEN LastVoteR(a, s) ELSE @[s]]]
    /\ vv' = [vv EXCEPT ![a] = [s \in Slot |-> IF b <= s /\ s < Base(a)
                                               THEN LastVoteV(a, s) ELSE @[s]]]
    /\ rproof' = [rproof EXCEPT ![a] = NoProof]
    /\ UNCHANGED <<rnd, votes, decisions, crashed, msgs>>

Restart(a) == \E b \in 0 .. Base(a) : RestartWith(a, b)

Crash(a) ==
    /\ Live(a) /\ Cardinality(crashed) < MaxCrashes
    /\ crashed' = crashed \cup {a}
    /\ UNCHANGED <<rnd, vr, vv, snap, known, rproof, votes, decisions,
                   restarts, msgs>>

-----------------------------------------------------------------------------
Next ==
    \/ \E p \in Proposer : \/ HonestFastAccepts(p)
                           \/ \E r \in Round : HonestNewRound(p, r)
    \/ ByzantineAccept \/ ByzantineNewRound
    \/ \E a \in Acceptor :
          \/ HonestAccept(a) \/ HonestNewRoundKept(a)
          \/ HonestDigestAccept(a) \/ ByzantineDigestAccept(a)
          \/ TrustChange(a) \/ RePromise(a)
          \/ Learn(a) \/ CatchUp(a) \/ StateTransfer(a)
          \/ Compact(a) \/ Restart(a) \/ Crash(a)

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------
(***************************************************************************)
(* What is chosen, slot by slot, as in BPFastPaxos.tla.                    *)
(***************************************************************************)
ChosenAt(s, r, v) == Cardinality(LearnedIn(r, s, v)) >= QuorumSize

ChosenIn(s) == {v \in Value : \E r \in Round : ChosenAt(s, r, v)}

DidNotVoteAt(a, c, s) == \A v \in Value : ~VotedFor(a, c, s, v)

CanStillVoteAt(a, c, s) == DidNotVoteAt(a, c, s) /\ rnd[a] <= c /\ Live(a)

\* Some quorum all voted w in c or can still vote in c.
ChoosableAt(s, c, w) ==
    Cardinality({a \in Acceptor : VotedFor(a, c, s, w) \/ CanStillVoteAt(a, c, s)})
       >= QuorumSize

SafeAt(s, r, v) ==
    \A c \in 0 .. (r - 1) : \A w \in Value \ {v} : ~ChoosableAt(s, c, w)

\* The decided log of a: its decided prefix, in order.
LogOf(a) == [i \in 1 .. D(a) |-> known[a][i - 1]]

IsPrefix(x, y) == Len(x) <= Len(y) /\ \A i \in 1 .. Len(x) : x[i] = y[i]

-----------------------------------------------------------------------------
(***************************************************************************)
(* Invariants.                                                             *)
(***************************************************************************)
Agreement ==
    \A s \in Slot :
       /\ Cardinality(ChosenIn(s)) <= 1
       /\ \A v \in Value : <<s, v>> \in decisions => v \in ChosenIn(s)

LogsArePrefixes ==
    \A a, b \in Acceptor : IsPrefix(LogOf(a), LogOf(b)) \/ IsPrefix(LogOf(b), LogOf(a))

\* The values choosable in slot s in some round below r: SafeAt(s, r, v)
\* says exactly ChoosableBelow(s, r) \subseteq {v}.
ChoosableBelow(s, r) == {w \in Value : \E c \in 0 .. (r - 1) : ChoosableAt(s, c, w)}

\* Every vote is safe: \A <<a, r, s, v>> \in votes : SafeAt(s, r, v), with
\* SafeAt computed once per slot and round.
VotesSafe ==
    \A s \in Slot, r \in {t[2] : t \in votes} :
        LET unsafe == ChoosableBelow(s, r)
        IN  unsafe # {} =>
               \A t \in votes : t[2] = r /\ t[3] = s => unsafe \subseteq {t[4]}

OneVote == \A a \in Acceptor, r \in Round, s \in Slot, v, w \in Value :
              VotedFor(a, r, s, v) /\ VotedFor(a, r, s, w) => v = w

\* A PROMISE for r reports, in every slot at or above its d, the sender's
\* last vote below r (or a vote in r itself, cast before a RePromise: such
\* a PROMISE is in no valid proof), and every slot below its d is chosen;
\* the sender never votes below r afterwards.
PromiseHonest(m) ==
    /\ rnd[m.acc] >= m.rnd
    /\ \A s \in Slot :
         IF s < m.d
         THEN ChosenIn(s) # {} /\ m.vr[s] = -1
         ELSE LET below == {c \in 0 .. (m.rnd - 1) : ~DidNotVoteAt(m.acc, c, s)}
              IN  /\ m.vr[s] < m.rnd => m.vr[s] = Max(below \cup {-1})
                  /\ m.vr[s] # -1 => VotedFor(m.acc, m.vr[s], s, m.vv[s])

PromisesHonest == \A m \in Promises : PromiseHonest(m)

\* Proofs are sound: every proof an honest proposer sent, and every
\* NEWROUND proof an acceptor keeps, is a valid round proof made of
\* PROMISEs really sent, and every slot it closes is chosen.
ProofSound(r, Q) ==
    /\ ValidRoundProof(r, Q) /\ Q \subseteq Promises
    /\ \A s \in 0 .. (ClosedBelow(Q) - 1) : ChosenIn(s) # {}

ProofsSound ==
    /\ \A m \in msgs : m.type \in {"accept", "newround"} /\ m.rnd > 0
                           => ProofSound(m.rnd, m.proof)
    /\ \A a \in Acceptor : rproof[a] # NoProof => ProofSound(rproof[a].rnd, rproof[a].proof)

\* What an acceptor keeps is what it may rely on: the snapshot holds chosen
\* values, and a slot whose votes it dropped is in its snapshot.
DurableSound ==
    \A a \in Acceptor, s \in Slot :
       /\ snap[a][s] # None => snap[a][s] \in ChosenIn(s)
       /\ known[a][s] # None => known[a][s] \in ChosenIn(s)

\* A value chosen in a slot with every round that got votes led by an
\* honest proposer is a value some client proposed.
Validity ==
    (\A <<a, r, s, v>> \in votes : Leader(r) \notin Byzantine)
       => \A s \in Slot : ChosenIn(s) \subseteq ClientValue

\* Sanity: one value per round and slot must FAIL with a Byzantine leader.
OneValuePerRoundAndSlot ==
    \A a1, a2 \in Acceptor, r \in Round, s \in Slot, v1, v2 \in Value :
        VotedFor(a1, r, s, v1) /\ VotedFor(a2, r, s, v2) => v1 = v2

(***************************************************************************)
(* Refinement of a sequence of Consensus instances (ConsensusLog.tla):     *)
(* each slot's chosen set starts empty, holds at most one value, and only  *)
(* grows; one step chooses in at most one slot.                            *)
(***************************************************************************)
chosenLog == [s \in Slot |-> ChosenIn(s)]

CL == INSTANCE ConsensusLog WITH chosen <- chosenLog

ConsensusLogRefined == CL!Spec
=============================================================================
