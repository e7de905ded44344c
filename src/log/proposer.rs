//! The log's honest proposer (PROTOCOL.md §5 and §8). In round 0 its values go to slots
//! 0, 1, … with no proof; as `leader(r)`, `r > 0`, it takes PROMISEs of a quorum Q and
//! proposes in every open slot: the value Q forces, else its next pending value, else a no-op
//! for a hole below the highest slot Q reports a vote in.

use super::Slot;
use super::message::{LogMsg, LogPromise, LogProof, RoundProof};
use super::rules::{SlotRule, closed_below, distinct_acceptors, slot_rule};
use super::step::LogStep;
use super::value::LogValue;
use crate::rules::{Collected, Rules, collect_promise, has_promise};
use crate::step::{Peer, To};
use crate::types::{Cluster, ProposerId, Round, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An honest proposer with its clients' batches, in the order they came.
#[derive(Clone, Debug)]
pub struct LogProposer<B> {
    pub id: ProposerId,
    pub cluster: Cluster,
    pub rules: Rules,
    pub batches: Vec<B>,
}

/// The PROMISEs collected for the rounds this proposer leads, until it proposes in them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(bound(deserialize = "B: Deserialize<'de> + Ord"))]
pub struct LogProposerState<B> {
    pub(crate) promises: Collected<LogPromise<LogValue<B>>>,
    /// The highest round it proposed in; lower rounds are over for it.
    pub(crate) leading: Option<Leading<LogValue<B>>>,
}

/// The round a proposer proposed in last, with what it needs to go on proposing there: the
/// round's proof Q (valid for every slot Q leaves open) with the digest that names it, and
/// the next free slot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de>"))]
pub struct Leading<V> {
    pub(crate) proof: RoundProof<V>,
    pub(crate) next_slot: Slot,
}

impl<B> Default for LogProposerState<B> {
    /// No PROMISE collected, no round led.
    fn default() -> Self {
        LogProposerState {
            promises: BTreeMap::new(),
            leading: None,
        }
    }
}

impl<B> LogProposerState<B> {
    /// The highest round it proposed in.
    pub fn proposed(&self) -> Option<Round> {
        self.leading.as_ref().map(|l| l.proof.round)
    }

    /// The slot its next batch goes to, in the round it leads; `None` if it leads none.
    pub fn next_slot(&self) -> Option<Slot> {
        self.leading.as_ref().map(|l| l.next_slot)
    }
}

pub type LogProposerStep<B> = LogStep<LogProposerState<B>, LogValue<B>>;

/// What an honest leader proposes with proof Q: a value for every slot from the first one Q
/// leaves open, until its batches and the slots Q reports votes in are used up.
pub fn plan<B: Value>(
    rules: &Rules,
    proof: &[LogPromise<LogValue<B>>],
    batches: &[B],
) -> Vec<(Slot, LogValue<B>)> {
    let q = distinct_acceptors(proof);
    let first_open = closed_below(&q);
    let highest_voted = q
        .values()
        .flat_map(|p| p.votes.iter().map(|v| v.slot))
        .filter(|s| *s >= first_open)
        .max();
    let rules_by_slot = |slot| slot_rule(rules, &q, slot);
    // A batch that Q already forces into some slot will be decided there.
    let forced: Vec<LogValue<B>> = highest_voted
        .map_or(first_open..first_open, |h| first_open..h.saturating_add(1))
        .filter_map(|slot| rules_by_slot(slot).forced().cloned())
        .collect();
    let mut pending = batches
        .iter()
        .map(|b| LogValue::Batch(b.clone()))
        .filter(|v| !forced.contains(v));
    let mut out = Vec::new();
    let mut slot = first_open;
    loop {
        let rule: SlotRule<LogValue<B>> = rules_by_slot(slot);
        let value = match rule.forced() {
            Some(v) => v.clone(),
            None => match pending.next() {
                Some(v) => v,
                None if highest_voted.is_some_and(|h| slot <= h) => LogValue::Noop,
                None => return out,
            },
        };
        out.push((slot, value));
        slot += 1;
    }
}

impl<B: Value> LogProposer<B> {
    /// `ProposeFast`: `leader(0)` sends its batches to slots 0, 1, … with no proof.
    pub fn start(&self) -> LogProposerStep<B> {
        let mut state = LogProposerState::default();
        if self.cluster.leader(0) != self.id {
            return LogStep::new(state);
        }
        state.leading = Some(Leading {
            proof: RoundProof::new(0, LogProof::none()),
            next_slot: 0,
        });
        let mut step = LogStep::new(state);
        for batch in &self.batches {
            if let Some(more) = self.submit(&step.state, batch.clone()) {
                step.state = more.state;
                step.effects.extend(more.effects);
            }
        }
        step
    }

    /// A new batch, in the round it leads: `ACCEPT(round, next_slot, batch, Q)`. `None` if it
    /// leads no round (the driver keeps the batch until it does).
    pub fn submit(&self, s: &LogProposerState<B>, batch: B) -> Option<LogProposerStep<B>> {
        let leading = s.leading.as_ref()?;
        let msg = leading
            .proof
            .accept(leading.next_slot, LogValue::Batch(batch));
        let mut next = s.clone();
        if let Some(l) = next.leading.as_mut() {
            l.next_slot = l.next_slot.checked_add(1)?;
        }
        Some(LogStep::new(next).send(To::Acceptors, msg))
    }

    /// Takes a PROMISE from the acceptor that sent it, for a round this proposer leads.
    pub fn on_message(
        &self,
        s: &LogProposerState<B>,
        from: Peer,
        msg: &LogMsg<LogValue<B>>,
    ) -> Option<LogProposerStep<B>> {
        self.on_message_with(s, from, msg, &self.batches)
    }

    /// As [`Self::on_message`], with `batches` as the pending values a new round's plan
    /// proposes (a driver that queues commands passes its queue).
    pub fn on_message_with(
        &self,
        s: &LogProposerState<B>,
        from: Peer,
        msg: &LogMsg<LogValue<B>>,
        batches: &[B],
    ) -> Option<LogProposerStep<B>> {
        match (from, msg) {
            (Peer::Acceptor(a), LogMsg::Promise(promise)) if promise.acceptor == a => {
                self.receive_promise(s, promise, batches)
            }
            _ => None,
        }
    }

    /// Collects `promise`; with a quorum, `Propose` with `batches` as the pending values.
    pub fn receive_promise(
        &self,
        s: &LogProposerState<B>,
        promise: &LogPromise<LogValue<B>>,
        batches: &[B],
    ) -> Option<LogProposerStep<B>> {
        let round = promise.round;
        if self.cluster.leader(round) != self.id
            || s.proposed().is_some_and(|p| round <= p)
            || has_promise(&s.promises, round, promise)
        {
            return None;
        }
        let mut next = s.clone();
        let Some(proof) = collect_promise(&self.rules, &mut next.promises, round, promise) else {
            return Some(LogStep::new(next));
        };
        Some(self.propose(next, round, proof, batches))
    }

    /// `Propose`: `NEWROUND(round, Q, plan)`, which carries the proof once and a value for
    /// every slot of the [`plan`]; it then leads `round`, and names Q by its digest.
    pub fn propose(
        &self,
        mut next: LogProposerState<B>,
        round: Round,
        proof: Vec<LogPromise<LogValue<B>>>,
        batches: &[B],
    ) -> LogProposerStep<B> {
        let planned = plan(&self.rules, &proof, batches);
        let next_slot = planned
            .last()
            .map_or(closed_below(&distinct_acceptors(&proof)), |(slot, _)| {
                slot + 1
            });
        let proof = LogProof::from(proof);
        next.leading = Some(Leading {
            proof: RoundProof::new(round, proof.clone()),
            next_slot,
        });
        let accepts = planned.into();
        LogStep::new(next).send(
            To::Acceptors,
            LogMsg::NewRound {
                round,
                proof,
                accepts,
            },
        )
    }
}
