------------------------------- MODULE Voting -------------------------------
(***************************************************************************)
(* Lamport's Voting (the abstract algorithm behind Paxos), as BP Fast      *)
(* Paxos refines it: acceptors raise maxBal and vote, at most once per     *)
(* ballot, for a value that is safe at that ballot.  Unlike Voting.tla a   *)
(* ballot may get votes for several values (a Byzantine leader            *)
(* equivocates; in a fast round clients race), so there is no             *)
(* OneValuePerBallot guard, and SafeAt is the semantic one: no other value *)
(* is choosable in a lower ballot.  Refinement puts the safety argument    *)
(* on the mapping: every vote BP Fast Paxos casts is a VoteFor step, whose *)
(* guard SafeAt holds in the state before the vote.                       *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets

CONSTANTS Value, Acceptor, Ballot, QuorumSize

VARIABLES votes,   \* every vote <<a, b, v>> cast
          maxBal   \* maxBal[a]: the highest ballot a joined

vars == <<votes, maxBal>>

VotedFor(a, b, v) == <<a, b, v>> \in votes

DidNotVoteAt(a, c) == \A v \in Value : ~VotedFor(a, c, v)

CanStillVoteAt(a, c) == DidNotVoteAt(a, c) /\ maxBal[a] <= c

\* Some set of QuorumSize acceptors all voted w in c or can still vote in c.
ChoosableAt(c, w) ==
    Cardinality({a \in Acceptor : VotedFor(a, c, w) \/ CanStillVoteAt(a, c)})
       >= QuorumSize

SafeAt(b, v) == \A c \in Ballot : c < b => \A w \in Value \ {v} : ~ChoosableAt(c, w)

Init == votes = {} /\ maxBal = [a \in Acceptor |-> 0]

IncreaseMaxBal(a, b) ==
    /\ b > maxBal[a]
    /\ maxBal' = [maxBal EXCEPT ![a] = b]
    /\ UNCHANGED votes

VoteFor(a, b, v) ==
    /\ maxBal[a] <= b
    /\ DidNotVoteAt(a, b)
    /\ SafeAt(b, v)
    /\ votes' = votes \cup {<<a, b, v>>}
    /\ maxBal' = [maxBal EXCEPT ![a] = b]

Next == \E a \in Acceptor, b \in Ballot :
           IncreaseMaxBal(a, b) \/ \E v \in Value : VoteFor(a, b, v)

Spec == Init /\ [][Next]_vars
=============================================================================
