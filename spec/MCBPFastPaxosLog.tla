-------------------------- MODULE MCBPFastPaxosLog ---------------------------
(***************************************************************************)
(* The log model that TLC checks: acceptors a1..a4 (F = 1), proposers p0  *)
(* (even rounds) and p1 (odd rounds), client values A (p0's client) and B *)
(* (p1's), Z a value no client proposed.  The spec/cfg/log-*.cfg files    *)
(* choose the Byzantine proposers, rounds, slots, window, values, crashes, *)
(* restarts and the variant.                                              *)
(***************************************************************************)
EXTENDS BPFastPaxosLog

CONSTANTS a1, a2, a3, a4, p0, p1, A, B, Z

MCProposerOrder == <<p0, p1>>

MCClientOf == [p \in {p0, p1} |-> IF p = p0 THEN A ELSE B]

\* Acceptors are interchangeable: no definition singles one out.
Symmetry == Permutations(Acceptor)
=============================================================================
