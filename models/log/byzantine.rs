//! The log's Byzantine proposer: the eager proposer of [`crate::models::byzantine`], slot by
//! slot. At start it sends, for every round it leads, every slot and every value (`Z`
//! included), `ACCEPT(r, s, v)` with no proof to every acceptor; on each PROMISE of a round it
//! leads, for every set of at least `2f` of its PROMISEs of that round that includes the new
//! one, every round `r' ≥ r` it leads, every slot and every value, the ACCEPT with that proof.
//!
//! The menu is the pruned one of the single decree, for the same reasons: an ACCEPT whose
//! proof the acceptors reject is answered exactly as the one with no proof (same gates, then
//! a trust change), which stands for it below the highest round; for the same reason it makes
//! up no PROMISEs (a forged mac is rejected). Messages every acceptor ignores are not sent.

use super::config::{Config, SlotValue};
use crate::log::Slot;
use crate::log::message::{LogMsg, LogPromise, LogProof};
use crate::log::rules::valid_log_proof;
use crate::models::core::eager::{Eager, EagerState, to_acceptors};
use crate::models::core::menu::subsets;
use crate::models::core::shape::Shape;
use crate::models::symbolic::SymbolicAuth;
use crate::rules::Rules;
use crate::types::{AcceptorId, Cluster, ProposerId, Round};
use stateright::actor::{Actor, Out};
use std::collections::BTreeSet;

#[derive(Clone, Debug)]
pub struct ByzantineProposer {
    pub id: ProposerId,
    pub cluster: Cluster,
    pub max_round: Round,
    pub slots: Slot,
    pub values: Vec<SlotValue>,
    /// The smallest proof it builds: `2f` (one short of a quorum).
    pub min_proof: usize,
    /// The acceptors' rules, to prune ACCEPTs they would reject.
    pub rules: Rules,
}

/// The genuine PROMISEs it holds, for the rounds it leads.
pub type ByzantineState = EagerState<LogPromise<SlotValue>>;

impl ByzantineProposer {
    pub fn new(cfg: &Config, id: ProposerId) -> Self {
        ByzantineProposer {
            id,
            cluster: cfg.cluster(),
            max_round: cfg.max_round,
            slots: cfg.slots,
            values: cfg.byzantine_values(),
            min_proof: 2 * cfg.f,
            rules: cfg.rules(),
        }
    }

    /// `ACCEPT(round, s, v, proof)` for every slot and value, to every acceptor, unless the
    /// acceptors would reject it and it does not stand for the rejected ones.
    fn offer_all<A: Actor<Msg = LogMsg<SlotValue>>>(
        &self,
        round: Round,
        proof: &[LogPromise<SlotValue>],
        o: &mut Out<A>,
    ) {
        let shared: LogProof<SlotValue> = proof.to_vec().into();
        for slot in 0..self.slots {
            for value in &self.values {
                let accepted = round == 0
                    || valid_log_proof(&self.rules, &SymbolicAuth, round, slot, value, proof)
                        .is_ok();
                let stands_for_rejected = proof.is_empty() && round < self.max_round;
                if !(accepted || stands_for_rejected) {
                    continue;
                }
                let msg = LogMsg::Accept {
                    round,
                    slot,
                    value: *value,
                    proof: shared.clone(),
                };
                to_acceptors(&self.cluster, msg, o);
            }
        }
    }

    fn rounds_led(&self) -> impl Iterator<Item = Round> + '_ {
        self.cluster.rounds_led_by(self.id, self.max_round)
    }
}

impl Eager<LogMsg<SlotValue>> for ByzantineProposer {
    type Promise = LogPromise<SlotValue>;

    fn promise_in(msg: &LogMsg<SlotValue>) -> Option<&LogPromise<SlotValue>> {
        match msg {
            LogMsg::Promise(promise) => Some(promise),
            _ => None,
        }
    }

    fn sender(promise: &LogPromise<SlotValue>) -> AcceptorId {
        promise.acceptor
    }

    /// Only PROMISEs of the rounds it leads.
    fn uses(&self, promise: &LogPromise<SlotValue>) -> bool {
        self.cluster.leader(promise.round) == self.id
    }

    fn open<A: Actor<Msg = LogMsg<SlotValue>>>(&self, o: &mut Out<A>) {
        for round in self.rounds_led() {
            self.offer_all(round, &[], o);
        }
    }

    /// Every ACCEPT it can now build with `promise`.
    fn answer<A: Actor<Msg = LogMsg<SlotValue>>>(
        &self,
        held: &BTreeSet<LogPromise<SlotValue>>,
        promise: &LogPromise<SlotValue>,
        o: &mut Out<A>,
    ) {
        let others: Vec<&LogPromise<SlotValue>> =
            held.iter().filter(|p| p.round == promise.round).collect();
        for size in self.min_proof.saturating_sub(1)..=others.len() {
            for chosen in subsets(&others, size) {
                let mut proof: Vec<_> = chosen.into_iter().cloned().collect();
                proof.push(promise.clone());
                proof.sort();
                for round in self.rounds_led().filter(|r| *r >= promise.round) {
                    self.offer_all(round, &proof, o);
                }
            }
        }
    }
}
