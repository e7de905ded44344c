------------------------------ MODULE Consensus ------------------------------
(***************************************************************************)
(* What consensus must achieve, the abstract spec BP Fast Paxos refines:  *)
(* the set of chosen values starts empty, and at most once one value of   *)
(* Value is chosen; after that it never changes.                          *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets

CONSTANT Value

VARIABLE chosen

TypeOK == chosen \subseteq Value /\ Cardinality(chosen) <= 1

Init == chosen = {}

Next == /\ chosen = {}
        /\ \E v \in Value : chosen' = {v}

Spec == Init /\ [][Next]_chosen
=============================================================================
