//! A Byzantine proposer (PROTOCOL.md §5). It is "eager": it sends at once every message it can
//! build from what it knows. On a network that may lose, delay and reorder any message, sending
//! early is as good as sending late and an undelivered message is as good as an unsent one, so
//! the eager proposer covers every choice of what to send, when, and to which acceptors
//! (equivocation included), with far fewer states than a proposer that chooses step by step.
//!
//! Its menu:
//! - at start, for every round up to the bound and every value (`Z` included): `ACCEPT(r, v)`
//!   with no proof, to every acceptor (round 0's equivocation; a missing proof above 0; rounds
//!   that are not its own);
//! - for every round above 0 that it leads, every value and every quorum of acceptors: an
//!   `ACCEPT` whose proof is made-up PROMISEs of that quorum, all reporting no vote, with
//!   forged authenticators (the strongest forgery: it would allow any value);
//! - `TRUSTCHANGE(r)` to every acceptor, and `LEARN(r, v)` to every learner, posing as
//!   acceptors it is not;
//! - on each PROMISE it sees (PROMISEs cross the network unencrypted, so it sees those sent to
//!   other proposers too; the model delivers each to it at once, see `models/core/settle.rs`): for
//!   every set `S` of the PROMISEs it holds, of any rounds and at most one per acceptor, that
//!   includes the new one and has at least `2f` of them (one short of a quorum: the shortest
//!   proof that matters), every round `r' > 0` it leads (a stale proof when `S` holds PROMISEs
//!   of other rounds), and every value: `ACCEPT(r', v, S)` to every acceptor.
//!
//! Left out, because an acceptor treats them exactly as a message of the menu: proofs with
//! fewer than `2f` PROMISEs, proofs with two PROMISEs of one acceptor (acceptors count the
//! first and check the others, so such a proof is rejected or acts as the one without the
//! second), replays of PROMISEs to acceptors (which ignore PROMISEs), and re-sending a message
//! (the network duplicates).
//!
//! The pruned menu (the default) leaves out what cannot change an acceptor's state beyond what
//! the rest of the menu does:
//! - an `ACCEPT(r, v, proof)` above round 0 whose proof the acceptors' own `ValidProof`
//!   rejects: an acceptor answers it exactly as it answers `ACCEPT(r, v)` with no proof (same
//!   gates, then a trust change to `r + 1`; the cause is not part of the state), which is sent;
//! - that ACCEPT with no proof itself when `r` is the highest round: the trust change it
//!   causes leaves the explored bound;
//! - so proofs are built only from PROMISEs that pass the acceptors' per-PROMISE check for
//!   the round (`check_promise`: its round, its votes below the round), since a proof with
//!   one that fails is rejected whatever the rest;
//! - messages every acceptor ignores whatever its state: ACCEPTs for rounds it does not lead
//!   and TRUSTCHANGEs from a proposer.
//!
//! The full menu (`--menu full`) sends everything; a test checks that both menus bring the
//! acceptors to exactly the same states.

use super::config::{LearnerMode, Menu, ModelConfig};
use super::core::eager::{Eager, EagerState, to_acceptors};
pub use super::core::menu::subsets;
use super::core::shape::Shape;
use super::symbolic::SymbolicAuth;
use super::value::ModelValue;
use super::variant::Variant;
use crate::auth::Mac;
use crate::message::{Msg, Promise, Proof};
use crate::rules::{Rules, check_promise, valid_proof};
use crate::types::{AcceptorId, Cluster, ProposerId, Round};
use stateright::actor::{Actor, Id, Out};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug)]
pub struct ByzantineProposer {
    pub id: ProposerId,
    pub cluster: Cluster,
    pub max_round: Round,
    pub values: Vec<ModelValue>,
    /// The smallest proof it builds from real PROMISEs: `2f`.
    pub min_proof: usize,
    /// Who LEARNs go to (the acceptors and the client), if anybody reads them.
    pub forge_learns_to: Vec<Id>,
    /// Under the `leaked-key` variant it signs the PROMISEs it makes up.
    pub knows_key: bool,
    /// The rules the acceptors follow, to prune ACCEPTs they would reject.
    pub rules: Rules,
    /// Send the whole menu, rejected proofs included.
    pub full_menu: bool,
}

/// The genuine PROMISEs it has seen, of every round.
pub type ByzantineState = EagerState<Promise<ModelValue>>;

impl ByzantineProposer {
    pub fn new(cfg: &ModelConfig, id: ProposerId) -> Self {
        let forge_learns_to = if cfg.learners == LearnerMode::Abstract {
            Vec::new()
        } else {
            let mut to = vec![cfg.learner_id()];
            if cfg.learners == LearnerMode::Acceptors {
                to.extend((0..cfg.acceptors()).map(Id::from));
            }
            to
        };
        ByzantineProposer {
            id,
            cluster: cfg.cluster(),
            max_round: cfg.max_round,
            values: cfg.values(),
            min_proof: 2 * cfg.f,
            forge_learns_to,
            knows_key: cfg.variant == Some(Variant::LeakedKey),
            rules: cfg.rules(),
            full_menu: cfg.menu == Menu::Full,
        }
    }

    fn send_to_acceptors<A: Actor<Msg = Msg<ModelValue>>>(
        &self,
        msg: Msg<ModelValue>,
        o: &mut Out<A>,
    ) {
        to_acceptors(&self.cluster, msg, o);
    }

    /// Sends `ACCEPT(round, value, proof)` to every acceptor, unless the menu is pruned and
    /// the acceptors would reject the proof (see the module's comment).
    fn offer<A: Actor<Msg = Msg<ModelValue>>>(
        &self,
        round: Round,
        value: ModelValue,
        proof: &Proof<ModelValue>,
        o: &mut Out<A>,
    ) {
        let accepted =
            round == 0 || valid_proof(&self.rules, &SymbolicAuth, round, &value, proof).is_ok();
        let stands_for_rejected = proof.is_empty() && round < self.max_round;
        if self.full_menu || accepted || stands_for_rejected {
            self.send_to_acceptors(
                Msg::Accept {
                    round,
                    value,
                    proof: proof.clone(),
                },
                o,
            );
        }
    }

    fn rounds_led(&self) -> impl Iterator<Item = Round> + '_ {
        self.cluster.rounds_led_by(self.id, self.max_round)
    }

    /// A PROMISE it made up: no vote to report, and an authenticator it cannot compute (unless
    /// the key leaked).
    fn made_up_promise(&self, round: Round, acceptor: AcceptorId) -> Promise<ModelValue> {
        if self.knows_key {
            return Promise::signed(&SymbolicAuth, round, acceptor, None);
        }
        Promise {
            round,
            acceptor,
            last_vote: None,
            mac: Mac::FORGED,
        }
    }
}

/// Every way to take at most one item of each group (the empty choice included): the proofs
/// with at most one PROMISE per acceptor. Acceptors read only the first PROMISE of an
/// acceptor in a proof and check the others too, so a proof with two PROMISEs of one
/// acceptor is rejected, or treated as the proof without the second (CHECKING.md).
fn one_per_group<'a, T>(groups: &[Vec<&'a T>]) -> Vec<Vec<&'a T>> {
    let mut out: Vec<Vec<&'a T>> = vec![Vec::new()];
    for group in groups {
        let mut grown = Vec::with_capacity(out.len() * (group.len() + 1));
        for partial in &out {
            grown.push(partial.clone());
            for item in group {
                let mut with = partial.clone();
                with.push(*item);
                grown.push(with);
            }
        }
        out = grown;
    }
    out
}

impl Eager<Msg<ModelValue>> for ByzantineProposer {
    type Promise = Promise<ModelValue>;

    fn promise_in(msg: &Msg<ModelValue>) -> Option<&Promise<ModelValue>> {
        match msg {
            Msg::Promise(promise) => Some(promise),
            _ => None,
        }
    }

    fn sender(promise: &Promise<ModelValue>) -> AcceptorId {
        promise.acceptor
    }

    /// Sends its whole opening menu.
    fn open<A: Actor<Msg = Msg<ModelValue>>>(&self, o: &mut Out<A>) {
        let no_proof = Proof::none();
        for round in 0..=self.max_round {
            for value in &self.values {
                if self.cluster.leader(round) == self.id {
                    self.offer(round, *value, &no_proof, o);
                } else if self.full_menu {
                    let proof = Proof::none();
                    self.send_to_acceptors(
                        Msg::Accept {
                            round,
                            value: *value,
                            proof,
                        },
                        o,
                    );
                }
            }
        }
        let quorum = 2 * self.cluster.f + 1;
        let acceptors: Vec<AcceptorId> = self.cluster.acceptor_ids().collect();
        for round in self.rounds_led().filter(|r| *r > 0) {
            for members in subsets(&acceptors, quorum) {
                let proof: Proof<_> = members
                    .iter()
                    .map(|a| self.made_up_promise(round, *a))
                    .collect::<Vec<_>>()
                    .into();
                for value in &self.values {
                    self.offer(round, *value, &proof, o);
                }
            }
        }
        if self.full_menu {
            for round in 1..=self.max_round {
                self.send_to_acceptors(Msg::TrustChange { round }, o);
            }
        }
        for dst in &self.forge_learns_to {
            for round in 0..=self.max_round {
                for value in &self.values {
                    o.send(
                        *dst,
                        Msg::Learn {
                            round,
                            value: *value,
                        },
                    );
                }
            }
        }
    }

    /// Every proof it now can build with `promise`, for every round above 0 it leads.
    fn answer<A: Actor<Msg = Msg<ModelValue>>>(
        &self,
        held: &BTreeSet<Promise<ModelValue>>,
        promise: &Promise<ModelValue>,
        o: &mut Out<A>,
    ) {
        for round in self.rounds_led().filter(|r| *r > 0) {
            // The pruned menu leaves out proofs with a PROMISE that the acceptors' check
            // rejects for this round whatever the rest of the proof (`offer` would drop them).
            let usable = |p: &Promise<ModelValue>| {
                self.full_menu
                    || !self.rules.check_proofs
                    || check_promise(
                        &self.rules,
                        round,
                        p.round,
                        p.acceptor,
                        p.last_vote.iter().map(|v| v.round),
                    )
                    .is_ok()
            };
            if !usable(promise) {
                continue;
            }
            // The usable PROMISEs it holds from the other acceptors, of any round, by acceptor.
            let mut by_acceptor: BTreeMap<AcceptorId, Vec<&Promise<ModelValue>>> = BTreeMap::new();
            for other in held
                .iter()
                .filter(|p| p.acceptor != promise.acceptor && usable(p))
            {
                by_acceptor.entry(other.acceptor).or_default().push(other);
            }
            let groups: Vec<Vec<&Promise<ModelValue>>> = by_acceptor.into_values().collect();
            let min_others = self.min_proof.saturating_sub(1);
            for chosen in one_per_group(&groups) {
                if chosen.len() < min_others {
                    continue;
                }
                let mut proof: Vec<Promise<ModelValue>> = chosen.into_iter().cloned().collect();
                proof.push(promise.clone());
                proof.sort();
                // One proof, shared by every value's ACCEPT to every acceptor.
                let proof = Proof::from(proof);
                for value in &self.values {
                    self.offer(round, *value, &proof, o);
                }
            }
        }
    }
}
