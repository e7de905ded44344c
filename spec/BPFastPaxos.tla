------------------------------ MODULE BPFastPaxos ------------------------------
(***************************************************************************)
(* BP Fast Paxos (Byzantine Proposer Fast Paxos), single decree, as given   *)
(* in shared/PROTOCOL.md.  Acceptors fail only by crashing; any proposer    *)
(* in Byzantine may behave arbitrarily.  Acceptors, not proposers, start    *)
(* rounds (TRUSTCHANGE); an ACCEPT of a round r > 0 carries a proof: the    *)
(* PROMISEs for r of a quorum, from which every acceptor recomputes the     *)
(* values the leader of r may propose (Allowed, Fast Paxos' O4 rule).       *)
(*                                                                         *)
(* Naming follows Lamport's Voting / Paxos specs: rnd[a] is maxBal,        *)
(* vrnd[a] / vval[a] the acceptor's last vote, votes the ghost set of all   *)
(* votes ever cast (Voting's VotedFor), msgs the set of all messages ever   *)
(* sent, which only grows: loss, duplication and reordering come free.     *)
(***************************************************************************)
EXTENDS Naturals, Integers, FiniteSets, Sequences, TLC

CONSTANTS
    Acceptor,     \* the acceptors a_1 .. a_n, n = 3F + 1
    Proposer,     \* the proposers p_0 .. p_{m-1}
    Byzantine,    \* the proposers that may behave arbitrarily
    Value,        \* every value a message may carry
    ClientValue,  \* the values honest clients propose (Value \ ClientValue:
                  \* values no client proposed)
    ClientOf,     \* ClientOf[p]: the value p's own client asks p to propose
    Learner,      \* the learners (the client; every acceptor is one too)
    F,            \* the number of acceptor crashes the protocol tolerates
    MaxRound,     \* rounds 0 .. MaxRound are modelled
    MaxCrashes,   \* at most MaxCrashes acceptors crash
    ProposerOrder, \* <<p_0, ..., p_{m-1}>>: the proposers in leader order
    None,         \* "no value": vval of an acceptor that has not voted
    Variant       \* "correct", or the name of a known-bad variant:
                  \* "no-proof-check", "vote-twice", "no-single-value-rule",
                  \* "threshold-one", "quorum-2f"

ASSUME /\ Byzantine \subseteq Proposer
       /\ ClientValue \subseteq Value
       /\ None \notin Value
       /\ F \in Nat /\ MaxRound \in Nat /\ MaxCrashes \in Nat
       /\ Cardinality(Acceptor) = 3 * F + 1
       /\ ProposerOrder \in Seq(Proposer) /\ Len(ProposerOrder) > 0
       /\ \A p \in Proposer \ Byzantine : ClientOf[p] \in ClientValue
       /\ Variant \in {"correct", "no-proof-check", "vote-twice",
                       "no-single-value-rule", "threshold-one", "quorum-2f"}

Round == 0 .. MaxRound

\* The proposer trusted in round r: p_{r mod m}.
Leader(r) == ProposerOrder[(r % Len(ProposerOrder)) + 1]

\* Quorums: any 2F + 1 acceptors (2F in the known-bad variant "quorum-2f").
QuorumSize == IF Variant = "quorum-2f" THEN 2 * F ELSE 2 * F + 1
Quorum == {Q \in SUBSET Acceptor : Cardinality(Q) >= QuorumSize}

(***************************************************************************)
(* Messages.  The sender of an ACCEPT is the from field: channels are      *)
(* authenticated, so no proposer can pose as another agent.  A proof is a  *)
(* set of PROMISE messages; a PROMISE carries the acceptor's mac, which no  *)
(* proposer can forge, so a proof holds only PROMISEs acceptors really     *)
(* sent (BPConProof's abstraction of signatures).                          *)
(***************************************************************************)
PromiseMsg == [type : {"promise"}, rnd : Round, acc : Acceptor,
               vrnd : Round \cup {-1}, vval : Value \cup {None}]
AcceptMsg == [type : {"accept"}, from : Proposer, rnd : Round, val : Value,
              proof : SUBSET PromiseMsg]
LearnMsg == [type : {"learn"}, rnd : Round, val : Value, acc : Acceptor]
Message == PromiseMsg \cup AcceptMsg \cup LearnMsg

VARIABLES
    rnd,      \* rnd[a]: the round acceptor a trusts (Lamport's maxBal)
    vrnd,     \* vrnd[a]: the round of a's last vote, -1 if none
    vval,     \* vval[a]: the value of a's last vote, None if none
    votes,    \* ghost: every vote <<a, r, v>> ever cast
    crashed,  \* the acceptors that have crashed
    decided,  \* decided[l]: the values learner l has decided
    msgs      \* every message ever sent

vars == <<rnd, vrnd, vval, votes, crashed, decided, msgs>>

TypeOK ==
    /\ rnd \in [Acceptor -> Round]
    /\ vrnd \in [Acceptor -> Round \cup {-1}]
    /\ vval \in [Acceptor -> Value \cup {None}]
    /\ votes \subseteq Acceptor \X Round \X Value
    /\ crashed \subseteq Acceptor
    /\ decided \in [Learner -> SUBSET Value]
    /\ msgs \subseteq Message

VotedFor(a, r, v) == <<a, r, v>> \in votes

-----------------------------------------------------------------------------
(***************************************************************************)
(* The proof rule.  For a set Q of PROMISEs, Accs(Q) are the acceptors     *)
(* that sent them (duplicates and extra PROMISEs of one acceptor count     *)
(* once), k the largest vrnd in Q, and V the values voted in round k by    *)
(* acceptors of Q.                                                         *)
(***************************************************************************)
Accs(Q) == {m.acc : m \in Q}

Max(S) == CHOOSE x \in S : \A y \in S : y <= x

\* The largest vrnd reported in Q (-1: no acceptor of Q has voted).
MaxVRnd(Q) == Max({m.vrnd : m \in Q} \cup {-1})

\* The acceptors of Q that report a vote for w in round k.
VotersIn(Q, k, w) == {m.acc : m \in {n \in Q : n.vrnd = k /\ n.vval = w}}

\* Rule 2's threshold: |Q| - F acceptors (1 in the variant "threshold-one").
HeavyThreshold(Q) ==
    IF Variant = "threshold-one" THEN 1 ELSE Cardinality(Accs(Q)) - F

Allowed(Q) ==
    LET k     == MaxVRnd(Q)
        V     == {m.vval : m \in {n \in Q : n.vrnd = k}}
        Heavy == {w \in V : Cardinality(VotersIn(Q, k, w)) >= HeavyThreshold(Q)}
    IN  IF k = -1 THEN Value                       \* (1) nobody in Q voted
        ELSE IF Heavy # {} THEN Heavy              \* (2) w may be chosen in k
        ELSE IF Cardinality(V) = 1 /\ Variant # "no-single-value-rule"
             THEN V                                \* (3) one value seen in k
        ELSE Value                                 \* (4) k saw equivocation

ValidProof(r, v, Q) ==
    /\ \A m \in Q : m.type = "promise" /\ m.rnd = r /\ m.vrnd < r
    /\ Cardinality(Accs(Q)) >= QuorumSize
    /\ v \in Allowed(Q)

-----------------------------------------------------------------------------
Promises == {m \in msgs : m.type = "promise"}
PromisesFor(r) == {m \in Promises : m.rnd = r}

-----------------------------------------------------------------------------
Init ==
    /\ rnd = [a \in Acceptor |-> 0]
    /\ vrnd = [a \in Acceptor |-> -1]
    /\ vval = [a \in Acceptor |-> None]
    /\ votes = {}
    /\ crashed = {}
    /\ decided = [l \in Learner |-> {}]
    /\ msgs = {}

Send(m) == msgs' = msgs \cup {m}

(***************************************************************************)
(* Honest proposers.                                                       *)
(***************************************************************************)
\* An honest proposer sends at most one ACCEPT per round.
SentAccept(p, r) == \E m \in msgs : m.type = "accept" /\ m.from = p /\ m.rnd = r

\* The fast round: the leader of round 0 proposes its client's value.
HonestFastAccept(p) ==
    /\ p \notin Byzantine
    /\ p = Leader(0)
    /\ ~SentAccept(p, 0)
    /\ Send([type |-> "accept", from |-> p, rnd |-> 0, val |-> ClientOf[p],
             proof |-> {}])
    /\ UNCHANGED <<rnd, vrnd, vval, votes, crashed, decided>>

\* The values an honest leader picks from Allowed(Q): the one value it must
\* pick; else its own client's value when allowed; else any allowed value.
HonestPicks(p, Q) ==
    LET A == Allowed(Q)
    IN  IF Cardinality(A) = 1 THEN A
        ELSE IF ClientOf[p] \in A THEN {ClientOf[p]}
        ELSE A

HonestAccept(p, r) ==
    /\ p \notin Byzantine
    /\ r > 0
    /\ p = Leader(r)
    /\ ~SentAccept(p, r)
    /\ \E Q \in SUBSET PromisesFor(r) :
          /\ Cardinality(Accs(Q)) >= QuorumSize
          /\ \E v \in HonestPicks(p, Q) :
                Send([type |-> "accept", from |-> p, rnd |-> r, val |-> v,
                      proof |-> Q])
    /\ UNCHANGED <<rnd, vrnd, vval, votes, crashed, decided>>

(***************************************************************************)
(* Acceptors.                                                              *)
(***************************************************************************)
\* Trust change of acceptor a to a round r2 > rnd[a]: it promises r2 to
\* Leader(r2), reporting its last vote.  The step is non-deterministic: it
\* stands for every trigger of PROTOCOL.md (a timeout, detected
\* equivocation, an invalid proof from the trusted leader, another
\* acceptor's TRUSTCHANGE), none of which safety may depend on.  Since any
\* acceptor may take it at any time, TRUSTCHANGE messages, whose only
\* effect is to trigger this step, are not modelled.
TrustChange(a) ==
    /\ a \notin crashed
    /\ \E r2 \in Round :
          /\ r2 > rnd[a]
          /\ rnd' = [rnd EXCEPT ![a] = r2]
          /\ Send([type |-> "promise", rnd |-> r2, acc |-> a,
                   vrnd |-> vrnd[a], vval |-> vval[a]])
    /\ UNCHANGED <<vrnd, vval, votes, crashed, decided>>

\* Acceptor a may vote in round r (Lamport's condition rnd <= r /\ vrnd < r;
\* the variant "vote-twice" drops vrnd < r).
CanVoteIn(a, r) ==
    IF Variant = "vote-twice" THEN rnd[a] <= r ELSE rnd[a] <= r /\ vrnd[a] # r

ProofOK(m) ==
    \/ m.rnd = 0
    \/ Variant = "no-proof-check"
    \/ ValidProof(m.rnd, m.val, m.proof)

\* Acceptor a receives ACCEPT m and votes for it: m comes from the leader of
\* its round, a may vote in that round, and the proof is valid.  The vote is
\* recorded, and a tells every learner with a LEARN.
ReceiveAccept(a, m) ==
    /\ a \notin crashed
    /\ m.from = Leader(m.rnd)
    /\ CanVoteIn(a, m.rnd)
    /\ ~VotedFor(a, m.rnd, m.val)
    /\ ProofOK(m)
    /\ rnd' = [rnd EXCEPT ![a] = m.rnd]
    /\ vrnd' = [vrnd EXCEPT ![a] = m.rnd]
    /\ vval' = [vval EXCEPT ![a] = m.val]
    /\ votes' = votes \cup {<<a, m.rnd, m.val>>}
    /\ msgs' = msgs \cup
          {[type |-> "learn", rnd |-> m.rnd, val |-> m.val, acc |-> a]}
    /\ UNCHANGED <<crashed, decided>>

(***************************************************************************)
(* An ACCEPT an acceptor receives was sent by an honest proposer (it is in *)
(* msgs) or is sent right now by a Byzantine one.  A Byzantine proposer    *)
(* can send any ACCEPT: for any round, its own or not, any value of Value, *)
(* and as proof any set of PROMISEs that acceptors really sent (a MAC     *)
(* cannot be forged).  Its ACCEPTs are not kept in msgs: on a network      *)
(* that loses messages an ACCEPT nobody received changes nothing, so each  *)
(* one is sent at the moment an acceptor receives it, to some acceptors    *)
(* and not to others (equivocation); silence is the absence of such steps. *)
(* Only ACCEPTs of rounds that p leads matter (acceptors ignore the rest), *)
(* and only proofs made of PROMISEs of m's own round: any other proof is   *)
(* invalid, and the trust change it may cause is a TrustChange step.       *)
(***************************************************************************)
HonestAcceptVote(a) ==
    \E m \in msgs : m.type = "accept" /\ ReceiveAccept(a, m)

ByzantineAccept(a) ==
    \E p \in Byzantine, r \in Round :
       /\ p = Leader(r) /\ CanVoteIn(a, r)  \* (checked again by ReceiveAccept)
       /\ \E Q \in IF r = 0 THEN {{}} ELSE SUBSET PromisesFor(r), v \in Value :
             ReceiveAccept(a, [type |-> "accept", from |-> p, rnd |-> r,
                               val |-> v, proof |-> Q])

Crash(a) ==
    /\ a \notin crashed
    /\ Cardinality(crashed) < MaxCrashes
    /\ crashed' = crashed \cup {a}
    /\ UNCHANGED <<rnd, vrnd, vval, votes, decided, msgs>>

(***************************************************************************)
(* Learners: l decides v when it holds LEARN(r, v) from a quorum of        *)
(* acceptors for one round r.                                              *)
(***************************************************************************)
LearnedIn(r, v) ==
    {m.acc : m \in {n \in msgs : n.type = "learn" /\ n.rnd = r /\ n.val = v}}

Decide(l) ==
    /\ \E r \in Round, v \in Value :
          /\ v \notin decided[l]
          /\ Cardinality(LearnedIn(r, v)) >= QuorumSize
          /\ decided' = [decided EXCEPT ![l] = @ \cup {v}]
    /\ UNCHANGED <<rnd, vrnd, vval, votes, crashed, msgs>>

-----------------------------------------------------------------------------
Next ==
    \/ \E p \in Proposer : HonestFastAccept(p) \/ \E r \in Round : HonestAccept(p, r)
    \/ \E a \in Acceptor : \/ HonestAcceptVote(a)
                           \/ ByzantineAccept(a)
                           \/ TrustChange(a)
                           \/ Crash(a)
    \/ \E l \in Learner : Decide(l)

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------
(***************************************************************************)
(* What is chosen, in the style of Voting.tla.                             *)
(***************************************************************************)
ChosenAt(r, v) == \E Q \in Quorum : \A a \in Q : VotedFor(a, r, v)

chosen == {v \in Value : \E r \in Round : ChosenAt(r, v)}

DidNotVoteAt(a, c) == \A v \in Value : ~VotedFor(a, c, v)

\* Acceptor a can still vote in round c.
CanStillVoteAt(a, c) == DidNotVoteAt(a, c) /\ rnd[a] <= c /\ a \notin crashed

\* w can still be chosen in round c (or already is).
ChoosableAt(c, w) ==
    \E Q \in Quorum : \A a \in Q : VotedFor(a, c, w) \/ CanStillVoteAt(a, c)

\* The semantic SafeAt: no other value is choosable in an earlier round.
\* (Voting.tla's form, "some quorum all voted v or can still vote", is too
\* strong here: a Byzantine leader can make acceptors vote different values
\* in one round.)
SafeAt(r, v) == \A c \in 0 .. (r - 1) : \A w \in Value \ {v} : ~ChoosableAt(c, w)

-----------------------------------------------------------------------------
(***************************************************************************)
(* Invariants.                                                             *)
(***************************************************************************)
Agreement ==
    /\ Cardinality(chosen) <= 1
    /\ \A l \in Learner : decided[l] \subseteq chosen

VotesSafe == \A <<a, r, v>> \in votes : SafeAt(r, v)

OneVote == \A a \in Acceptor, r \in Round, v, w \in Value :
              VotedFor(a, r, v) /\ VotedFor(a, r, w) => v = w

\* A PROMISE for r reports the sender's last vote below r, and the sender
\* trusts r or a later round, so it never votes below r afterwards; a proof
\* holds only PROMISEs that acceptors really sent.
PromisesHonest ==
    /\ \A m \in Promises :
          LET below == {c \in 0 .. (m.rnd - 1) : ~DidNotVoteAt(m.acc, c)}
          IN  /\ m.vrnd = Max(below \cup {-1})
              /\ m.vrnd # -1 => VotedFor(m.acc, m.vrnd, m.vval)
              /\ rnd[m.acc] >= m.rnd
    /\ \A m \in msgs : m.type = "accept" => m.proof \subseteq Promises

\* A value chosen in round r was sent in an ACCEPT of Leader(r) (a Byzantine
\* leader's ACCEPTs are not kept in msgs: it can send any); if no round that
\* got votes was led by a Byzantine proposer, it is a value some client
\* proposed.
Validity ==
    /\ \A v \in chosen : \E r \in Round :
          /\ ChosenAt(r, v)
          /\ \/ Leader(r) \in Byzantine    \* it can send any ACCEPT
             \/ \E m \in msgs : /\ m.type = "accept" /\ m.from = Leader(r)
                              /\ m.rnd = r /\ m.val = v
    /\ (\A <<a, r, v>> \in votes : Leader(r) \notin Byzantine)
          => chosen \subseteq ClientValue

\* Sanity: Voting.tla's OneValuePerBallot.  It must FAIL when a Byzantine
\* proposer leads a round: equivocation is really modelled.
OneValuePerRound ==
    \A a1, a2 \in Acceptor, r \in Round, v1, v2 \in Value :
        VotedFor(a1, r, v1) /\ VotedFor(a2, r, v2) => v1 = v2

(***************************************************************************)
(* Refinement of Lamport's Consensus (spec/Consensus.tla): chosen starts   *)
(* empty, holds at most one value and only grows.                         *)
(***************************************************************************)
C == INSTANCE Consensus WITH chosen <- chosen

ConsensusRefined == C!Spec

ChosenGrows == [][chosen \subseteq chosen']_vars
=============================================================================
