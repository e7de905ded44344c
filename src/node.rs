//! The honest agents as stateright actors. The actor only routes: every decision is made by
//! the step functions of [`crate::acceptor`], [`crate::proposer`] and [`crate::learner`], and
//! the same actor runs under the model checker and over the network.

use crate::acceptor::{Acceptor, AcceptorState, DurableState};
use crate::auth::Authenticator;
use crate::learner::{self, Decision, LearnerState};
use crate::message::Msg;
use crate::proposer::{Proposer, ProposerState};
use crate::rules::Rules;
use crate::step::{Effect, Peer, Step, To};
use crate::types::{AcceptorId, Cluster, ProposerId, Value};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::ops::Range;
use std::time::Duration;

/// Where the agents of a cluster are: acceptors are `Id(0) .. Id(n-1)`, proposers follow, and
/// `learners` lists who receives LEARN messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Topology {
    pub cluster: Cluster,
    pub learners: Vec<Id>,
    /// How long an acceptor waits for a decision before it suspects the leader.
    pub suspect_after: Range<Duration>,
}

impl Topology {
    pub fn acceptor(&self, a: AcceptorId) -> Id {
        Id::from(usize::from(a.0))
    }

    pub fn proposer(&self, p: ProposerId) -> Id {
        Id::from(self.cluster.acceptors() + usize::from(p.0))
    }

    /// The peer an id stands for.
    pub fn peer(&self, id: Id) -> Peer {
        peer_of(&self.cluster, id)
    }

    /// The recipients of a message sent by `sender` to `to`.
    pub fn recipients(&self, sender: Id, to: To) -> Vec<Id> {
        let acceptors = self.cluster.acceptor_ids().map(|a| self.acceptor(a));
        match to {
            To::Acceptors => acceptors.collect(),
            To::OtherAcceptors => acceptors.filter(|id| *id != sender).collect(),
            To::Proposer(p) => vec![self.proposer(p)],
            To::Learners => self.learners.clone(),
        }
    }
}

/// The peer an id stands for: acceptors first, then proposers; ids past them are clients.
pub fn peer_of(cluster: &Cluster, id: Id) -> Peer {
    let index = usize::from(id);
    let n = cluster.acceptors();
    if index < n {
        Peer::Acceptor(AcceptorId(index as u16))
    } else if index < n + cluster.proposers {
        Peer::Proposer(ProposerId((index - n) as u16))
    } else {
        Peer::Client
    }
}

fn report_decision<V: Value>(id: Id, decision: &Decision<V>) {
    tracing::info!(
        node = usize::from(id),
        round = decision.round,
        value = %decision.value,
        "decided"
    );
}

/// An honest agent.
#[derive(Clone, Debug)]
pub enum Role<V, A> {
    Acceptor(Acceptor<A>),
    Proposer(Proposer<V>),
    /// A learner that is not an acceptor (a client); it decides on a quorum of LEARNs.
    Learner(Rules),
}

/// An honest agent and where its peers are.
#[derive(Clone, Debug)]
pub struct Node<V, A> {
    pub role: Role<V, A>,
    pub topology: Topology,
}

/// The state of an honest agent.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de> + Ord"))]
pub enum NodeState<V> {
    Acceptor(AcceptorState<V>),
    Proposer(ProposerState<V>),
    Learner(LearnerState<V>),
}

/// The acceptor's one timer: no decision yet, suspect the leader.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NodeTimer {
    SuspectLeader,
}

impl<V: Value, A: Authenticator> Node<V, A> {
    /// Carries out a step's effects through stateright's `Out`.
    fn apply<S>(
        &self,
        id: Id,
        step: &Step<S, V>,
        durable: Option<DurableState<V>>,
        o: &mut Out<Self>,
    ) where
        A: Authenticator,
    {
        for effect in &step.effects {
            match effect {
                Effect::Persist => {
                    if let Some(d) = &durable {
                        o.save(d.clone());
                    }
                }
                Effect::Send(to, msg) => {
                    for dst in self.topology.recipients(id, *to) {
                        o.send(dst, msg.clone());
                    }
                }
                // Reported to whoever listens (the runtime's log); the model installs no
                // subscriber, so these cost a check of a global flag there.
                Effect::TrustChanged { round, cause } => {
                    tracing::info!(node = usize::from(id), round, %cause, "trust change");
                }
                Effect::Decided(decision) => report_decision(id, decision),
            }
        }
    }
}

impl<V: Value, A: Authenticator> Actor for Node<V, A> {
    type Msg = Msg<V>;
    type State = NodeState<V>;
    type Timer = NodeTimer;
    type Storage = DurableState<V>;
    type Random = ();

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        match &self.role {
            Role::Acceptor(_) => {
                o.set_timer(
                    NodeTimer::SuspectLeader,
                    self.topology.suspect_after.clone(),
                );
                NodeState::Acceptor(match storage {
                    Some(durable) => AcceptorState::recover(durable),
                    None => AcceptorState::initial(),
                })
            }
            Role::Proposer(proposer) => {
                let step = proposer.start();
                self.apply(id, &step, None, o);
                NodeState::Proposer(step.state)
            }
            Role::Learner(_) => NodeState::Learner(LearnerState::default()),
        }
    }

    fn on_msg(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        src: Id,
        msg: Self::Msg,
        o: &mut Out<Self>,
    ) {
        let from = self.topology.peer(src);
        match (&self.role, state.as_ref()) {
            (Role::Acceptor(acceptor), NodeState::Acceptor(s)) => {
                if let Some(step) = acceptor.on_message(s, from, &msg) {
                    self.apply(id, &step, Some(step.state.durable()), o);
                    *state = Cow::Owned(NodeState::Acceptor(step.state));
                }
            }
            (Role::Proposer(proposer), NodeState::Proposer(s)) => {
                if let Some(step) = proposer.on_message(s, from, &msg) {
                    self.apply(id, &step, None, o);
                    *state = Cow::Owned(NodeState::Proposer(step.state));
                }
            }
            (Role::Learner(rules), NodeState::Learner(s)) => {
                if let (Peer::Acceptor(a), Msg::Learn { round, value }) = (from, &msg)
                    && let Some(learned) = learner::learn(rules.quorum, s, a, *round, value)
                {
                    if let Some(decision) = &learned.decided {
                        report_decision(id, decision);
                    }
                    *state = Cow::Owned(NodeState::Learner(learned.state));
                }
            }
            _ => unreachable!("a node's state always matches its role"),
        }
    }

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        timer: &Self::Timer,
        o: &mut Out<Self>,
    ) {
        let NodeTimer::SuspectLeader = timer;
        if let (Role::Acceptor(acceptor), NodeState::Acceptor(s)) = (&self.role, state.as_ref()) {
            if let Some(step) = acceptor.timeout(s) {
                self.apply(id, &step, Some(step.state.durable()), o);
                *state = Cow::Owned(NodeState::Acceptor(step.state));
            }
            o.set_timer(
                NodeTimer::SuspectLeader,
                self.topology.suspect_after.clone(),
            );
        }
    }
}
