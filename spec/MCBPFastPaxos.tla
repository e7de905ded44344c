---------------------------- MODULE MCBPFastPaxos ----------------------------
(***************************************************************************)
(* The model that TLC (or tla-checker) checks: acceptors a1..a4 (F = 1),  *)
(* proposers p0 (leader of the even rounds) and p1 (leader of the odd     *)
(* rounds), client values A (p0's client) and B (p1's client), Z a value  *)
(* no client proposed, and one learner c (the client).  The .cfg files    *)
(* choose which proposers are Byzantine, the rounds, values, crashes and  *)
(* the variant.                                                           *)
(***************************************************************************)
EXTENDS BPFastPaxos

CONSTANTS a1, a2, a3, a4, p0, p1, A, B, Z, c

\* Leader(r) = p_{r mod 2}: p0 leads the even rounds, p1 the odd ones.
MCProposerOrder == <<p0, p1>>

\* p0's client proposes A, p1's client B.
MCClientOf == [p \in {p0, p1} |-> IF p = p0 THEN A ELSE B]

\* Acceptors are interchangeable: no definition singles one out.
Symmetry == Permutations(Acceptor)
=============================================================================
