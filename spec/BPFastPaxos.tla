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

\* The known-bad variants, each a bug the checks must catch:
\*   no-proof-check        acceptors skip ValidProof
\*   vote-twice            an acceptor may vote again in a round it voted in
\*   no-single-value-rule  rule 3 of Allowed dropped
\*   threshold-one         rule 2 of Allowed with a threshold of one vote
\*   quorum-2f             quorums of 2F acceptors
\*   stale-proof           ValidProof takes PROMISEs of rounds <= r, not = r
\*   any-round-values      rules 3 and 4 of Allowed read the votes of every
\*                         reported round instead of the highest one, k
\*   leaked-key            ValidProof skips the authenticator (MAC) check
\*   unsynced-vote         an acceptor sends LEARN before its vote is durable,
\*                         so a restart can forget the vote
Variants == {"correct", "no-proof-check", "vote-twice", "no-single-value-rule",
             "threshold-one", "quorum-2f", "stale-proof", "any-round-values",
             "leaked-key", "unsynced-vote"}

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
    FullMenu,     \* TRUE: the Byzantine proposer's whole menu of proofs
                  \* (see SomeProof); FALSE: the reduced one
    Variant       \* "correct", or the name of a known-bad variant (see
                  \* Variants below)

ASSUME /\ Byzantine \subseteq Proposer
       /\ ClientValue \subseteq Value
       /\ None \notin Value
       /\ F \in Nat /\ MaxRound \in Nat /\ MaxCrashes \in Nat
       /\ Cardinality(Acceptor) = 3 * F + 1
       /\ ProposerOrder \in Seq(Proposer) /\ Len(ProposerOrder) > 0
       /\ \A p \in Proposer \ Byzantine : ClientOf[p] \in ClientValue
       /\ Variant \in Variants
       /\ FullMenu \in BOOLEAN

Round == 0 .. MaxRound

\* The proposer trusted in round r: p_{r mod m}.
Leader(r) == ProposerOrder[(r % Len(ProposerOrder)) + 1]

\* Quorums: any 2F + 1 acceptors (2F in the known-bad variant "quorum-2f").
QuorumSize == IF Variant = "quorum-2f" THEN 2 * F ELSE 2 * F + 1
Quorum == {Q \in SUBSET Acceptor : Cardinality(Q) >= QuorumSize}

(***************************************************************************)
(* Messages.  The sender of an ACCEPT is the from field: channels are      *)
(* authenticated, so no proposer can pose as another agent.  A proof is a  *)
(* set of PROMISE records.  A PROMISE's mac is a function of its content   *)
(* under a key no proposer holds, so a PROMISE record in a proof is        *)
(* authentic exactly when an acceptor sent one with that content           *)
(* (Authentic, checked by ValidProof); any other record is a forgery.      *)
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
    msgs,     \* every message ever sent
    durable   \* durable[a]: <<rnd, vrnd, vval>> in a's store, what a restart
              \* recovers

vars == <<rnd, vrnd, vval, votes, crashed, decided, msgs, durable>>

TypeOK ==
    /\ rnd \in [Acceptor -> Round]
    /\ vrnd \in [Acceptor -> Round \cup {-1}]
    /\ vval \in [Acceptor -> Value \cup {None}]
    /\ votes \subseteq Acceptor \X Round \X Value
    /\ crashed \subseteq Acceptor
    /\ decided \in [Learner -> SUBSET Value]
    /\ msgs \subseteq Message
    /\ durable \in [Acceptor -> Round \X (Round \cup {-1}) \X (Value \cup {None})]

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

\* V: the values voted in round k (in the variant "any-round-values": in any
\* reported round).
Allowed(Q) ==
    LET k     == MaxVRnd(Q)
        V     == IF Variant = "any-round-values"
                 THEN {m.vval : m \in {n \in Q : n.vrnd # -1}}
                 ELSE {m.vval : m \in {n \in Q : n.vrnd = k}}
        Heavy == {w \in V : Cardinality(VotersIn(Q, k, w)) >= HeavyThreshold(Q)}
    IN  IF k = -1 THEN Value                       \* (1) nobody in Q voted
        ELSE IF Heavy # {} THEN Heavy              \* (2) w may be chosen in k
        ELSE IF Cardinality(V) = 1 /\ Variant # "no-single-value-rule"
             THEN V                                \* (3) one value seen in k
        ELSE Value                                 \* (4) k saw equivocation

Promises == {m \in msgs : m.type = "promise"}
PromisesFor(r) == {m \in Promises : m.rnd = r}

\* The MAC check: an acceptor sent this very PROMISE (skipped in "leaked-key").
Authentic(m) == m \in msgs \/ Variant = "leaked-key"

\* The PROMISE is for the proof's round (any round up to it in "stale-proof").
ForRound(m, r) == IF Variant = "stale-proof" THEN m.rnd <= r ELSE m.rnd = r

\* What ValidProof asks of each PROMISE of a proof for r.
PromiseOK(m, r) ==
    m.type = "promise" /\ ForRound(m, r) /\ m.vrnd < r /\ Authentic(m)

ValidProof(r, v, Q) ==
    /\ \A m \in Q : PromiseOK(m, r)
    /\ Cardinality(Accs(Q)) >= QuorumSize
    /\ v \in Allowed(Q)

-----------------------------------------------------------------------------
Init ==
    /\ rnd = [a \in Acceptor |-> 0]
    /\ vrnd = [a \in Acceptor |-> -1]
    /\ vval = [a \in Acceptor |-> None]
    /\ votes = {}
    /\ crashed = {}
    /\ decided = [l \in Learner |-> {}]
    /\ msgs = {}
    /\ durable = [a \in Acceptor |-> <<0, -1, None>>]

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
    /\ UNCHANGED <<rnd, vrnd, vval, votes, crashed, decided, durable>>

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
    /\ UNCHANGED <<rnd, vrnd, vval, votes, crashed, decided, durable>>

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
          /\ durable' = [durable EXCEPT ![a] = <<r2, vrnd[a], vval[a]>>]
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
\* recorded (made durable before the LEARN is sent, but in the variant
\* "unsynced-vote"), and a tells every learner with a LEARN.
Vote(a, r, v) ==
    /\ rnd' = [rnd EXCEPT ![a] = r]
    /\ vrnd' = [vrnd EXCEPT ![a] = r]
    /\ vval' = [vval EXCEPT ![a] = v]
    /\ votes' = votes \cup {<<a, r, v>>}
    /\ durable' = IF Variant = "unsynced-vote" THEN durable
                  ELSE [durable EXCEPT ![a] = <<r, r, v>>]
    /\ msgs' = msgs \cup {[type |-> "learn", rnd |-> r, val |-> v, acc |-> a]}
    /\ UNCHANGED <<crashed, decided>>

ReceiveAccept(a, m) ==
    /\ a \notin crashed
    /\ m.from = Leader(m.rnd)
    /\ CanVoteIn(a, m.rnd)
    /\ ~VotedFor(a, m.rnd, m.val)
    /\ ProofOK(m)
    /\ Vote(a, m.rnd, m.val)

(***************************************************************************)
(* An ACCEPT an acceptor receives was sent by an honest proposer (it is in *)
(* msgs) or is sent right now by a Byzantine one.  A Byzantine proposer    *)
(* sees every PROMISE on the network (PROMISEs are not encrypted) and can  *)
(* send any ACCEPT: any round, its own or not, any value of Value, and as  *)
(* proof any set of PROMISEs ever sent (any rounds, any acceptors) and of  *)
(* forgeries, which Authentic must reject.  Its ACCEPTs are not kept in    *)
(* msgs: on a network that loses messages an ACCEPT nobody received       *)
(* changes nothing, so each one is sent at the moment an acceptor receives *)
(* it, to some acceptors and not to others (equivocation); silence is the  *)
(* absence of such steps.  Only ACCEPTs of rounds that p leads matter      *)
(* (acceptors ignore the rest), and an ACCEPT whose proof is rejected      *)
(* leads to no step (the trust change it may cause is a TrustChange step). *)
(*                                                                         *)
(* The menu of proofs (SomeProof) draws from every PROMISE sent and one   *)
(* forgery per acceptor (round r, no vote: the forgery that allows the     *)
(* most), with at most one PROMISE per acceptor and at least 2F of them    *)
(* (one short of a quorum).  FullMenu = TRUE takes every subset of that    *)
(* pool instead.  The reduction loses no step of the correct spec: a proof *)
(* that ValidProof accepts holds only PROMISEs that acceptors sent for r,  *)
(* and an acceptor sends at most one PROMISE per round, so it has one per  *)
(* acceptor and at least a quorum of them.  The configurations menu-full   *)
(* and menu-reduced show that both menus reach the same states.            *)
(***************************************************************************)
HonestAcceptVote(a) ==
    \E m \in msgs : m.type = "accept" /\ ReceiveAccept(a, m)

\* Made-up PROMISEs for round r: no vote, so they would allow any value.
Forged(r) == [type : {"promise"}, rnd : {r}, acc : Acceptor, vrnd : {-1},
              vval : {None}]

ProofPool(r) == Promises \cup Forged(r)

\* Whether the ACCEPT of p for r and v with proof Q passes the acceptors'
\* check.
Takes(p, r, v, Q) ==
    ProofOK([type |-> "accept", from |-> p, rnd |-> r, val |-> v, proof |-> Q])

\* The search below skips proofs that the acceptors reject whatever their
\* value (a PROMISE that fails PromiseOK, too few PROMISEs): pruning by the
\* acceptors' own check, so it finds a proof exactly when the menu has one.
Candidates(a, r) ==
    {m \in ProofPool(r) : m.acc = a /\ (Variant = "no-proof-check" \/ PromiseOK(m, r))}

NeededSize ==
    IF Variant = "no-proof-check" THEN 2 * F
    ELSE IF QuorumSize > 2 * F THEN QuorumSize ELSE 2 * F

\* Some proof made of Q and at most one PROMISE of ProofPool(r) of each
\* acceptor of S, with at least 2F PROMISEs in all, passes the check.  (A
\* search that stops at the first such proof, without building the menu.)
RECURSIVE SomeProof(_, _, _, _, _)
SomeProof(p, r, v, S, Q) ==
    /\ Cardinality(Q) + Cardinality(S) >= NeededSize
    /\ IF S = {} THEN Takes(p, r, v, Q)
       ELSE LET a == CHOOSE x \in S : TRUE
            IN  \/ SomeProof(p, r, v, S \ {a}, Q)
                \/ \E m \in Candidates(a, r) : SomeProof(p, r, v, S \ {a}, Q \cup {m})

\* Some proof of the menu makes the acceptors take ACCEPT(r, v) of p.  The
\* proof leaves no trace in the state, so one is enough.
ByzantineCanJustify(p, r, v) ==
    \/ r = 0
    \/ IF FullMenu THEN \E Q \in SUBSET ProofPool(r) : Takes(p, r, v, Q)
       ELSE SomeProof(p, r, v, Acceptor, {})

ByzantineCanVote(a, r, v) ==
    a \notin crashed /\ CanVoteIn(a, r) /\ ~VotedFor(a, r, v)

\* Some acceptor votes for an ACCEPT that a Byzantine proposer sends it now.
\* (IF makes TLC evaluate the search for a proof once, as a condition that
\* stops at the first proof, not once per proof and acceptor.)
ByzantineAccept ==
    \E p \in Byzantine, r \in Round, v \in Value :
       /\ p = Leader(r)
       /\ IF /\ \E a \in Acceptor : ByzantineCanVote(a, r, v)
             /\ ByzantineCanJustify(p, r, v)
          THEN \E a \in Acceptor : ByzantineCanVote(a, r, v) /\ Vote(a, r, v)
          ELSE FALSE

(***************************************************************************)
(* Crash and restart.  A crashed acceptor does nothing; it restarts from   *)
(* its store, durable, to which it writes every PROMISE and vote before    *)
(* sending it (but in the variant "unsynced-vote").  At most MaxCrashes    *)
(* acceptors are down at once.                                             *)
(***************************************************************************)
Crash(a) ==
    /\ a \notin crashed
    /\ Cardinality(crashed) < MaxCrashes
    /\ crashed' = crashed \cup {a}
    /\ UNCHANGED <<rnd, vrnd, vval, votes, decided, msgs, durable>>

Restart(a) ==
    /\ a \in crashed
    /\ crashed' = crashed \ {a}
    /\ rnd' = [rnd EXCEPT ![a] = durable[a][1]]
    /\ vrnd' = [vrnd EXCEPT ![a] = durable[a][2]]
    /\ vval' = [vval EXCEPT ![a] = durable[a][3]]
    /\ UNCHANGED <<votes, decided, msgs, durable>>

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
    /\ UNCHANGED <<rnd, vrnd, vval, votes, crashed, msgs, durable>>

-----------------------------------------------------------------------------
Next ==
    \/ \E p \in Proposer : HonestFastAccept(p) \/ \E r \in Round : HonestAccept(p, r)
    \/ ByzantineAccept
    \/ \E a \in Acceptor : \/ HonestAcceptVote(a)
                           \/ TrustChange(a)
                           \/ Crash(a)
                           \/ Restart(a)
    \/ \E l \in Learner : Decide(l)

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------
(***************************************************************************)
(* What is chosen, in the style of Voting.tla.                             *)
(***************************************************************************)
\* Some quorum all voted v in r.  (Quorum holds every set of QuorumSize
\* acceptors or more, so counting the voters says the same, and TLC
\* evaluates it without going through the quorums.)
ChosenAt(r, v) == Cardinality({a \in Acceptor : VotedFor(a, r, v)}) >= QuorumSize

chosen == {v \in Value : \E r \in Round : ChosenAt(r, v)}

DidNotVoteAt(a, c) == \A v \in Value : ~VotedFor(a, c, v)

\* Acceptor a can still vote in round c (a crashed acceptor may restart).
CanStillVoteAt(a, c) == DidNotVoteAt(a, c) /\ rnd[a] <= c

\* w can still be chosen in round c (or already is): some quorum all voted w
\* in c or can still vote in c (counted, as in ChosenAt).
ChoosableAt(c, w) ==
    Cardinality({a \in Acceptor : VotedFor(a, c, w) \/ CanStillVoteAt(a, c)})
       >= QuorumSize

\* The semantic SafeAt: no other value is choosable in an earlier round.
\* (Voting.tla's form, "some quorum all voted v or can still vote", is too
\* strong here: a Byzantine leader can make acceptors vote different values
\* in one round.)
SafeAt(r, v) == \A c \in 0 .. (r - 1) : \A w \in Value \ {v} : ~ChoosableAt(c, w)

\* The values choosable in some round below r: SafeAt(r, v) says exactly
\* ChoosableBelow(r) \subseteq {v}.  The invariants below compute it once
\* per round rather than once per vote or proof.
ChoosableBelow(r) == {w \in Value : \E c \in 0 .. (r - 1) : ChoosableAt(c, w)}

-----------------------------------------------------------------------------
(***************************************************************************)
(* Invariants.                                                             *)
(***************************************************************************)
Agreement ==
    /\ Cardinality(chosen) <= 1
    /\ \A l \in Learner : decided[l] \subseteq chosen

\* Every vote is safe at its round: \A <<a, r, v>> \in votes : SafeAt(r, v),
\* with SafeAt computed once per round.
VotesSafe ==
    \A r \in {t[2] : t \in votes} :
        LET unsafe == ChoosableBelow(r)
        IN  unsafe # {} => \A t \in votes : t[2] = r => unsafe \subseteq {t[3]}

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

\* The inductive core of the safety argument: a proof that ValidProof
\* accepts allows only values safe at its round.  With the correct
\* ValidProof such a proof holds only PROMISEs sent for r, so the subsets of
\* PromisesFor(r) are every proof it accepts.
\* That is \A r, Q, v : ValidProof(r, v, Q) => SafeAt(r, v), computed with
\* SafeAt once per round and Allowed once per proof.
ProofSound ==
    \A r \in Round \ {0} :
        LET unsafe == ChoosableBelow(r)
        IN  unsafe # {} =>
               \A Q \in SUBSET PromisesFor(r) :
                  (/\ \A m \in Q : PromiseOK(m, r)
                   /\ Cardinality(Accs(Q)) >= QuorumSize)
                     => \A v \in Allowed(Q) \cap Value : unsafe \subseteq {v}

(***************************************************************************)
(* The inductive invariant: every step from a state where IndInv holds    *)
(* leads to a state where it holds (checked by spec/IndBPFastPaxos.tla on *)
(* random initial states), and it implies Agreement.  Beyond the          *)
(* properties above it says how the variables fit together.               *)
(***************************************************************************)
VotedRounds(a) == {r \in Round : ~DidNotVoteAt(a, r)}

\* vrnd and vval are an acceptor's last vote; it trusts every round it voted in
\* or later; its store holds its state (it writes before it sends).
VotesConsistent ==
    \A a \in Acceptor :
        /\ vrnd[a] = Max(VotedRounds(a) \cup {-1})
        /\ vrnd[a] = -1 => vval[a] = None
        /\ vrnd[a] # -1 => VotedFor(a, vrnd[a], vval[a])
        /\ \A r \in VotedRounds(a) : r <= rnd[a]
        /\ durable[a] = <<rnd[a], vrnd[a], vval[a]>>

\* The LEARNs sent are exactly the votes cast.
LearnsMatchVotes ==
    {<<m.acc, m.rnd, m.val>> : m \in {n \in msgs : n.type = "learn"}} = votes

\* The ACCEPTs in msgs are an honest leader's: at most one per round, with a
\* valid proof above round 0; a vote in a round an honest proposer leads is
\* for its ACCEPT's value.
HonestAcceptsValid ==
    /\ \A m \in msgs : m.type = "accept" =>
          /\ m.from = Leader(m.rnd) /\ m.from \notin Byzantine
          /\ m.rnd = 0 \/ ValidProof(m.rnd, m.val, m.proof)
          /\ \A n \in msgs : n.type = "accept" /\ n.rnd = m.rnd => n = m
    /\ \A <<a, r, v>> \in votes : Leader(r) \notin Byzantine =>
          \E m \in msgs : m.type = "accept" /\ m.rnd = r /\ m.val = v

IndInv ==
    /\ TypeOK
    /\ VotesConsistent
    /\ LearnsMatchVotes
    /\ \A l \in Learner : decided[l] \subseteq chosen
    /\ HonestAcceptsValid
    /\ OneVote
    /\ PromisesHonest
    /\ VotesSafe
    /\ ProofSound

(***************************************************************************)
(* Refinement of Lamport's Consensus (spec/Consensus.tla): what is chosen, *)
(* and what the learners decide, each start empty, hold at most one value  *)
(* and change only from empty to that value (so they only grow).           *)
(***************************************************************************)
C == INSTANCE Consensus WITH chosen <- chosen

ConsensusRefined == C!Spec

\* Every value some learner decided.
DecidedValues == UNION {decided[l] : l \in Learner}

D == INSTANCE Consensus WITH chosen <- DecidedValues

DecidedRefined == D!Spec

\* The votes and rounds refine Lamport's Voting (spec/Voting.tla, several
\* values per ballot): every vote is cast at or above the acceptor's round,
\* once per round, for a value safe at that round in the state before the
\* vote, and rounds only grow.
VT == INSTANCE Voting WITH Value <- Value, Acceptor <- Acceptor, Ballot <- Round,
                           QuorumSize <- QuorumSize, votes <- votes, maxBal <- rnd

VotingRefined == VT!Spec

(***************************************************************************)
(* Liveness: once the honest leader of the last round gets going, a value  *)
(* is chosen.  Fairness for every acceptor's trust change (so each ends in *)
(* the last round), the leader's ACCEPT and the acceptors' votes on it.    *)
(* Checked without crashes (a crashed acceptor is never "enabled", and     *)
(* crashes that come and go could starve any quorum).                      *)
(***************************************************************************)
LastLeader == Leader(MaxRound)

LiveSpec ==
    /\ Spec
    /\ \A a \in Acceptor : WF_vars(TrustChange(a)) /\ WF_vars(HonestAcceptVote(a))
    /\ WF_vars(HonestAccept(LastLeader, MaxRound))

EventuallyChosen == <>(chosen # {})

(***************************************************************************)
(* Reachability probes: each must be VIOLATED, or the spec reaches less    *)
(* than it should (a spec that reaches nothing satisfies every safety      *)
(* property).                                                              *)
(***************************************************************************)
NoChoiceInRound(r) == ~\E v \in Value : ChosenAt(r, v)
NoChoiceInRound1 == NoChoiceInRound(1)
NoChoiceInRound2 == NoChoiceInRound(2)

\* No value is chosen in a round above one in which two values were voted.
NoRecoveryAfterEquivocation ==
    ~\E r \in Round, v \in Value :
        /\ ChosenAt(r, v)
        /\ \E c \in 0 .. (r - 1) : \E a1, a2 \in Acceptor, w1, w2 \in Value :
              w1 # w2 /\ VotedFor(a1, c, w1) /\ VotedFor(a2, c, w2)

\* No value that no client proposed is chosen after round 0.
NoUnproposedChosenLate ==
    ~\E r \in Round \ {0}, v \in Value \ ClientValue : ChosenAt(r, v)

\* No learner decides.
NoDecision == \A l \in Learner : decided[l] = {}
=============================================================================
