----------------------------- MODULE ConsensusLog -----------------------------
(***************************************************************************)
(* What the replicated log must achieve, the abstract spec that            *)
(* BPFastPaxosLog refines: one Consensus instance (Consensus.tla) per      *)
(* slot.  Each slot's chosen set starts empty and at most once receives    *)
(* one value, which never changes; a step chooses in one slot.             *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets

CONSTANTS Value, Slot

VARIABLE chosen   \* chosen[s]: the values chosen in slot s

TypeOK == chosen \in [Slot -> SUBSET Value] /\ \A s \in Slot : Cardinality(chosen[s]) <= 1

Init == chosen = [s \in Slot |-> {}]

Next == \E s \in Slot : /\ chosen[s] = {}
                        /\ \E v \in Value : chosen' = [chosen EXCEPT ![s] = {v}]

Spec == Init /\ [][Next]_chosen
=============================================================================
