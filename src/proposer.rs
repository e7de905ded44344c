//! The honest proposer (PROTOCOL.md §5).

use crate::message::{Msg, Promise, Proof};
use crate::rules::{Collected, Rules, allowed, collect_promise, distinct_acceptors, has_promise};
use crate::step::{Peer, Step, To};
use crate::types::{Cluster, ProposerId, Round, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An honest proposer with its client's value.
#[derive(Clone, Debug)]
pub struct Proposer<V> {
    pub id: ProposerId,
    pub cluster: Cluster,
    pub rules: Rules,
    pub client_value: V,
}

/// The PROMISEs collected for the rounds this proposer leads, until it proposes in them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProposerState<V> {
    pub promises: Collected<Promise<V>>,
    /// The highest round it proposed in; lower rounds are over for it.
    pub proposed: Option<Round>,
}

pub type ProposerStep<V> = Step<ProposerState<V>, V>;

impl<V: Value> Proposer<V> {
    /// `ProposeFast`: `leader(0)` sends `ACCEPT(0, v)` for its client's value, with no proof.
    pub fn start(&self) -> ProposerStep<V> {
        let mut state = ProposerState {
            promises: BTreeMap::new(),
            proposed: None,
        };
        if self.cluster.leader(0) != self.id {
            return Step::new(state);
        }
        state.proposed = Some(0);
        Step::new(state).send(
            To::Acceptors,
            Msg::Accept {
                round: 0,
                value: self.client_value.clone(),
                proof: Proof::none(),
            },
        )
    }

    /// Takes a PROMISE from the acceptor that sent it, for a round this proposer leads.
    pub fn on_message(
        &self,
        s: &ProposerState<V>,
        from: Peer,
        msg: &Msg<V>,
    ) -> Option<ProposerStep<V>> {
        match (from, msg) {
            (Peer::Acceptor(a), Msg::Promise(promise)) if promise.acceptor == a => {
                self.receive_promise(s, promise)
            }
            _ => None,
        }
    }

    /// Collects `promise`; with a quorum, `Propose`.
    pub fn receive_promise(
        &self,
        s: &ProposerState<V>,
        promise: &Promise<V>,
    ) -> Option<ProposerStep<V>> {
        let round = promise.round;
        if self.cluster.leader(round) != self.id
            || s.proposed.is_some_and(|p| round <= p)
            || has_promise(&s.promises, round, promise)
        {
            return None;
        }
        let mut next = s.clone();
        let Some(proof) = collect_promise(&self.rules, &mut next.promises, round, promise) else {
            return Some(Step::new(next));
        };
        next.proposed = Some(round);
        Some(self.propose(next, round, proof))
    }

    /// `Propose`: with PROMISEs of a quorum Q for `round`, send `ACCEPT(round, v, Q)` for the
    /// value `Allowed(Q)` forces, else the client's value.
    pub fn propose(
        &self,
        next: ProposerState<V>,
        round: Round,
        proof: Vec<Promise<V>>,
    ) -> ProposerStep<V> {
        let value = allowed(&self.rules, &distinct_acceptors(&proof)).pick(&self.client_value);
        Step::new(next).send(
            To::Acceptors,
            Msg::Accept {
                round,
                value,
                proof: proof.into(),
            },
        )
    }
}
