--------------------------- MODULE IndBPFastPaxos ---------------------------
(***************************************************************************)
(* IndInv is inductive: Lamport's method of checking it with TLC.  The    *)
(* initial states are random states that satisfy IndInv (RandomSubset of  *)
(* the acceptors' local states, every value of an honest round, the rest  *)
(* derived or chosen among all that fits); TLC takes every step from each *)
(* and checks IndInv after it.  The step counter keeps the search to     *)
(* those steps.                                                            *)
(* Limits: a random sample of the states IndInv allows in a small         *)
(* configuration (see the .cfg), not all of them, and no crash.           *)
(***************************************************************************)
EXTENDS MCBPFastPaxos, Randomization

CONSTANT Samples   \* how many random acceptor states to start from

VARIABLE step      \* 0 in an initial state, 1 after a step

\* One acceptor's share of a state: whether and what it voted in each round
\* (None: no vote), a round, and the rounds above 0 it promised.
Local == [vote : [Round -> Value \cup {None}], rnd : Round,
          promised : SUBSET (Round \ {0})]

\* The acceptors' votes: an honest leader proposes one value per round, hv[r],
\* so a vote in its round is for hv[r].
VoteOf(f, hv, a, r) ==
    IF f[a].vote[r] = None \/ Leader(r) \in Byzantine THEN f[a].vote[r] ELSE hv[r]

VotesOf(f, hv) ==
    {<<a, r, VoteOf(f, hv, a, r)>> : a \in Acceptor, r \in Round} \
    (Acceptor \X Round \X {None})

RoundsVoted(vs, a) == {t[2] : t \in {u \in vs : u[1] = a}}

LastBelow(vs, a, r) == Max({x \in RoundsVoted(vs, a) : x < r} \cup {-1})

VoteIn(vs, a, r) == CHOOSE t \in vs : t[1] = a /\ t[2] = r

\* The PROMISEs sent: each reports the acceptor's last vote below its round.
PromisesOf(f, vs) ==
    UNION {{[type |-> "promise", rnd |-> r, acc |-> a, vrnd |-> LastBelow(vs, a, r),
             vval |-> IF LastBelow(vs, a, r) = -1 THEN None
                      ELSE VoteIn(vs, a, LastBelow(vs, a, r))[3]] :
              r \in f[a].promised} :
             a \in Acceptor}

\* The acceptor's round: at least the one it drew, every round it voted in and
\* every round it promised.
RndOf(f, vs, a) == Max({f[a].rnd} \cup RoundsVoted(vs, a) \cup f[a].promised)

\* The ACCEPTs an honest leader of round r may have sent: none or one.
AcceptChoices(r, P) ==
    IF Leader(r) \in Byzantine THEN {{}}
    ELSE IF r = 0
    THEN {{}, {[type |-> "accept", from |-> Leader(0), rnd |-> 0,
                val |-> ClientOf[Leader(0)], proof |-> {}]}}
    ELSE {{}} \cup
         {{[type |-> "accept", from |-> Leader(r), rnd |-> r, val |-> v,
            proof |-> Q]} :
            Q \in {S \in SUBSET {m \in P : m.rnd = r} :
                     Cardinality(S) >= QuorumSize},
            v \in Value}

RECURSIVE AcceptSets(_, _)
AcceptSets(rs, P) ==
    IF rs = {} THEN {{}}
    ELSE LET r == CHOOSE x \in rs : TRUE
         IN  {X \cup Y : X \in AcceptChoices(r, P), Y \in AcceptSets(rs \ {r}, P)}

IndInit ==
    \E f \in RandomSubset(Samples, [Acceptor -> Local]),
      hv \in [Round -> Value] :
       /\ votes = VotesOf(f, hv)
       /\ rnd = [a \in Acceptor |-> RndOf(f, votes, a)]
       /\ vrnd = [a \in Acceptor |-> Max(RoundsVoted(votes, a) \cup {-1})]
       /\ vval = [a \in Acceptor |-> IF vrnd[a] = -1 THEN None
                                     ELSE VoteIn(votes, a, vrnd[a])[3]]
       /\ crashed = {}
       /\ durable = [a \in Acceptor |-> <<rnd[a], vrnd[a], vval[a]>>]
       /\ \E acc \in AcceptSets(Round, PromisesOf(f, votes)) :
             msgs = PromisesOf(f, votes) \cup acc \cup
                    {[type |-> "learn", rnd |-> t[2], val |-> t[3], acc |-> t[1]] :
                       t \in votes}
       /\ \E dec \in [Learner -> {{}, chosen}] : decided = dec
       /\ step = 0
       /\ IndInv

IndNext == Next /\ step' = 1

IndSpec == IndInit /\ [][IndNext]_<<vars, step>>

\* Only the initial states are expanded; IndInv is checked after each step.
FromInitOnly == step = 0

\* Sanity: the sample holds states where something is chosen (else the check
\* would say little).  Expected violated.
NothingChosenInSample == step = 0 => chosen = {}
=============================================================================
