//! The honest agents of any [`Protocol`] as one stateright actor. The actor only routes:
//! every decision is made by the protocol's step functions, and the same actor runs under the
//! model checker and over the network.

use super::step::{Effect, Peer, Step, To};
use super::{Protocol, StepOf};
use crate::rules::Rules;
use crate::types::{AcceptorId, Cluster, ProposerId};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::fmt;
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

/// An honest agent: an acceptor, a proposer, or a learner that is not an acceptor (a client),
/// which decides on a quorum of LEARNs.
#[derive(Clone, Debug)]
pub enum Role<Acceptor, Proposer> {
    Acceptor(Acceptor),
    Proposer(Proposer),
    Learner(Rules),
}

/// The state of an honest agent, of the kind of its [`Role`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NodeState<Acceptor, Proposer, Learner> {
    Acceptor(Acceptor),
    Proposer(Proposer),
    Learner(Learner),
}

/// The state of an honest agent of protocol `P`.
pub type StateOf<P> = NodeState<
    <P as Protocol>::AcceptorState,
    <P as Protocol>::ProposerState,
    <P as Protocol>::LearnerState,
>;

/// The acceptor's one timer: no decision yet, suspect the leader.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NodeTimer {
    SuspectLeader,
}

/// An honest agent of protocol `P` and where its peers are.
pub struct Node<P: Protocol> {
    pub role: Role<P::Acceptor, P::Proposer>,
    pub topology: Topology,
}

impl<P: Protocol> Clone for Node<P> {
    fn clone(&self) -> Self {
        Node {
            role: self.role.clone(),
            topology: self.topology.clone(),
        }
    }
}

impl<P: Protocol> fmt::Debug for Node<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("role", &self.role)
            .field("topology", &self.topology)
            .finish()
    }
}

impl<P: Protocol> Node<P> {
    /// Carries out a step's effects through stateright's `Out`; `durable` is what a
    /// [`Effect::Persist`] stores (an acceptor's steps only).
    pub fn apply<S>(
        &self,
        id: Id,
        step: &Step<S, P::Msg, P::Decision>,
        durable: Option<P::Durable>,
        o: &mut Out<Self>,
    ) {
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
                Effect::Decided(decision) => P::report(usize::from(id), decision),
            }
        }
    }

    /// Applies an acceptor's step (storing its durable state) and returns its next state.
    fn acceptor_step(
        &self,
        id: Id,
        step: StepOf<P, P::AcceptorState>,
        o: &mut Out<Self>,
    ) -> StateOf<P> {
        self.apply(id, &step, Some(P::durable(&step.state)), o);
        NodeState::Acceptor(step.state)
    }

    /// Applies a proposer's step and returns its next state.
    pub fn proposer_step(
        &self,
        id: Id,
        step: StepOf<P, P::ProposerState>,
        o: &mut Out<Self>,
    ) -> StateOf<P> {
        self.apply(id, &step, None, o);
        NodeState::Proposer(step.state)
    }

    fn set_suspect_timer(&self, o: &mut Out<Self>) {
        o.set_timer(
            NodeTimer::SuspectLeader,
            self.topology.suspect_after.clone(),
        );
    }
}

impl<P: Protocol> Actor for Node<P> {
    type Msg = P::Msg;
    type State = StateOf<P>;
    type Timer = NodeTimer;
    type Storage = P::Durable;
    type Random = ();

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        match &self.role {
            Role::Acceptor(_) => {
                self.set_suspect_timer(o);
                NodeState::Acceptor(P::recover(storage.as_ref()))
            }
            Role::Proposer(proposer) => self.proposer_step(id, P::proposer_start(proposer), o),
            Role::Learner(_) => NodeState::Learner(P::LearnerState::default()),
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
        let next = match (&self.role, state.as_ref()) {
            (Role::Acceptor(acceptor), NodeState::Acceptor(s)) => {
                P::acceptor_step(acceptor, s, from, &msg)
                    .map(|step| self.acceptor_step(id, step, o))
            }
            (Role::Proposer(proposer), NodeState::Proposer(s)) => {
                P::proposer_step(proposer, s, from, &msg)
                    .map(|step| self.proposer_step(id, step, o))
            }
            (Role::Learner(rules), NodeState::Learner(s)) => P::learner_step(rules, s, from, &msg)
                .map(|step| {
                    self.apply(id, &step, None, o);
                    NodeState::Learner(step.state)
                }),
            _ => unreachable!("a node's state always matches its role"),
        };
        if let Some(next) = next {
            *state = Cow::Owned(next);
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
            if let Some(step) = P::acceptor_timeout(acceptor, s) {
                *state = Cow::Owned(self.acceptor_step(id, step, o));
            }
            self.set_suspect_timer(o);
        }
    }
}
