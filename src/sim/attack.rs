//! The Byzantine proposer's aimed attacks, beside the torture's random mischief: the two
//! equivocations that a broken quorum or a broken acceptor turns into a violation, made so
//! that they land in every run rather than by luck.
//!
//! - At the start, in round 0 (which needs no proof): a clean split of slots 0 to 7, one value
//!   to half the acceptors and another to the other half, each ACCEPT sent three times against
//!   loss and the whole sent again a little later (an acceptor answers a repeated ACCEPT with
//!   its LEARN again). A quorum of `2f + 1` decides neither value; with `f + 1`, a learner
//!   decides the value whose second LEARN reaches it first, so in each slot some learners
//!   likely decide one value and some the other: over eight slots, almost surely.
//! - In each later round it leads, once it holds PROMISEs of a quorum (a valid proof): every
//!   acceptor is asked two values for a fresh slot of its own, three times each. An honest
//!   acceptor votes the first and changes trust on the second; one that votes twice is seen.
//!   Every other such round gets a split instead.
//!
//! Pure choices over what it observes; the world sends the datagrams on its clock.

use crate::cluster_config::{ClusterConfig, NodeId, Role};
use crate::log::Slot;
use crate::log::message::{LogMsg, LogPromise, LogProof};
use crate::log::value::LogValue;
use crate::runtime::codec::WireCodec;
use crate::runtime::event_loop::Codec;
use crate::service::command::Batch;
use crate::service::msg::{ServiceMsg, SlotValue};
use crate::types::{AcceptorId, Round};
use stateright::actor::Id;
use std::collections::{BTreeMap, BTreeSet};

/// Copies of each ACCEPT: with 10 % loss, all three are lost once in a thousand.
const COPIES: usize = 3;
/// How many times the opening split is sent (once per act, about every 5 ms).
const OPENING_SENDS: u32 = 3;
/// Slots split at once: each is a race of LEARNs of its own.
const SPLIT_SLOTS: Slot = 8;

/// The attacks of proposer `index` (proposer 0 leads round 0).
pub struct Attack {
    codec: WireCodec,
    me: Id,
    index: usize,
    proposers: usize,
    acceptors: Vec<Id>,
    quorum: usize,
    opening_sends: u32,
    /// The PROMISEs of the rounds it leads, by round and acceptor (the first of each).
    promises: BTreeMap<Round, BTreeMap<AcceptorId, LogPromise<SlotValue>>>,
    /// The rounds it attacked.
    attacked: BTreeSet<Round>,
    pub splits: u64,
    pub double_asks: u64,
}

impl Attack {
    pub fn new(config: &ClusterConfig, index: u16) -> Result<Self, String> {
        let me = NodeId::new(Role::Proposer, index);
        let codec = WireCodec::from_config(config, me).map_err(|e| e.0)?;
        let acceptors = config
            .nodes()
            .filter(|n| n.role() == Role::Acceptor)
            .map(|n| config.stateright_id(n))
            .collect();
        let cluster = config.cluster();
        Ok(Attack {
            codec,
            me: config.stateright_id(me),
            index: usize::from(index),
            proposers: config.proposers.len().max(1),
            acceptors,
            quorum: 2 * cluster.f + 1,
            opening_sends: 0,
            promises: BTreeMap::new(),
            attacked: BTreeSet::new(),
            splits: 0,
            double_asks: 0,
        })
    }

    /// Whether the opening split is over.
    pub fn opened(&self) -> bool {
        self.index != 0 || self.opening_sends >= OPENING_SENDS
    }

    fn leads(&self, round: Round) -> bool {
        round as usize % self.proposers == self.index
    }

    /// Keeps the PROMISEs of rounds it leads and has not attacked yet.
    pub fn observe(&mut self, datagram: &[u8]) {
        let Ok(Some((_, ServiceMsg::Log(LogMsg::Promise(p))))) =
            self.codec.decode(self.me, datagram)
        else {
            return;
        };
        if !self.leads(p.round) || self.attacked.contains(&p.round) {
            return;
        }
        self.promises
            .entry(p.round)
            .or_default()
            .entry(p.acceptor)
            .or_insert(p);
        // Only the latest rounds matter.
        while self.promises.len() > 4 {
            self.promises.pop_first();
        }
    }

    /// The datagrams of this act, by receiver.
    pub fn act(&mut self) -> Vec<(Id, Vec<u8>)> {
        let mut out = Vec::new();
        if self.index == 0 && self.opening_sends < OPENING_SENDS {
            self.opening_sends += 1;
            self.split(0, 0, &LogProof::none(), &mut out);
        }
        let ready = self
            .promises
            .iter()
            .rev()
            .find(|(_, by)| by.len() >= self.quorum)
            .map(|(round, _)| *round);
        if let Some(round) = ready
            && let Some(by) = self.promises.remove(&round)
        {
            self.attacked.insert(round);
            let slot = fresh_slot(by.values());
            let proof = LogProof::from(by.into_values().collect::<Vec<_>>());
            if self.attacked.len() % 2 == 1 {
                self.double_ask(round, slot, &proof, &mut out);
            } else {
                self.split(round, slot, &proof, &mut out);
            }
        }
        out
    }

    /// In each of [`SPLIT_SLOTS`] slots from `slot`: one value to the first half of the
    /// acceptors, another to the rest.
    fn split(
        &mut self,
        round: Round,
        slot: Slot,
        proof: &LogProof<SlotValue>,
        out: &mut Vec<(Id, Vec<u8>)>,
    ) {
        let (a, b) = two_values();
        let half = self.acceptors.len() / 2;
        for (i, to) in self.acceptors.clone().into_iter().enumerate() {
            let value = if i < half { &a } else { &b };
            for s in slot..slot + SPLIT_SLOTS {
                self.accept(to, round, s, value.clone(), proof, out);
            }
        }
        self.splits += 1;
    }

    /// Two values to each acceptor, in a slot of its own.
    fn double_ask(
        &mut self,
        round: Round,
        slot: Slot,
        proof: &LogProof<SlotValue>,
        out: &mut Vec<(Id, Vec<u8>)>,
    ) {
        let (a, b) = two_values();
        for (i, to) in self.acceptors.clone().into_iter().enumerate() {
            let own = slot + i as Slot;
            self.accept(to, round, own, a.clone(), proof, out);
            self.accept(to, round, own, b.clone(), proof, out);
        }
        self.double_asks += 1;
    }

    fn accept(
        &self,
        to: Id,
        round: Round,
        slot: Slot,
        value: SlotValue,
        proof: &LogProof<SlotValue>,
        out: &mut Vec<(Id, Vec<u8>)>,
    ) {
        let msg = ServiceMsg::Log(LogMsg::Accept {
            round,
            slot,
            value,
            proof: proof.clone(),
        });
        for datagram in self.codec.encode(self.me, to, &msg).unwrap_or_default() {
            out.extend(std::iter::repeat_n((to, datagram), COPIES));
        }
    }
}

/// Two values that differ and that every acceptor admits.
fn two_values() -> (SlotValue, SlotValue) {
    (LogValue::Noop, LogValue::Batch(Batch::noop()))
}

/// A slot no PROMISE of the proof reports a vote in or closes: any value is allowed in it.
fn fresh_slot<'a>(promises: impl Iterator<Item = &'a LogPromise<SlotValue>>) -> Slot {
    promises
        .map(|p| {
            let above_votes = p.votes.iter().map(|v| v.slot + 1).max().unwrap_or(0);
            p.decided_prefix.max(above_votes)
        })
        .max()
        .unwrap_or(0)
}
