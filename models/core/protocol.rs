//! What a protocol brings to the model core: its honest actor and Byzantine proposer, its
//! ghost history, how to read its acceptors' states, and any actions of its own.

use super::mixed::{Byzantine, Mixed, MixedState};
use super::shape::{NetworkKind, Shape};
use crate::node::NodeTimer;
use crate::types::{AcceptorId, ProposerId, Round};
use stateright::actor::{Actor, ActorModel, ActorModelAction, ActorModelState, Envelope};
use std::fmt::{Debug, Display};
use std::hash::Hash;

/// The messages of protocol `P`.
pub type Msg<P> = <<P as Protocol>::Honest as Actor>::Msg;
/// The state of an honest agent of `P`.
pub type HonestState<P> = <<P as Protocol>::Honest as Actor>::State;
/// What an honest agent of `P` stores.
pub type Storage<P> = <<P as Protocol>::Honest as Actor>::Storage;
/// The state of a Byzantine proposer of `P`.
pub type ByzantineState<P> = <<P as Protocol>::Byzantine as Byzantine<Msg<P>>>::State;
/// Any actor of the model: honest, or a Byzantine proposer.
pub type Agent<P> = Mixed<<P as Protocol>::Honest, <P as Protocol>::Byzantine>;
pub type AgentState<P> = MixedState<HonestState<P>, ByzantineState<P>>;
/// stateright's actor model of `P`, with `P` as its configuration.
pub type Actors<P> = ActorModel<Agent<P>, P, <P as Protocol>::Ghost>;
/// A state of the model of `P`.
pub type State<P> = ActorModelState<Agent<P>, <P as Protocol>::Ghost>;
/// An action of stateright's actor model of `P`.
pub type ActorAction<P> = ActorModelAction<Msg<P>, NodeTimer, ()>;

/// A protocol as the model core checks it; implemented by its model configuration.
pub trait Protocol: Shape + Clone + Debug + Send + Sync + Sized + 'static {
    /// Every honest agent (acceptor, proposer, learner), as the crate's actor.
    type Honest: Actor<
            Timer = NodeTimer,
            Random = (),
            Msg: Ord + Display + Send + Sync,
            State: Ord + Send + Sync,
            Storage: Ord + Send + Sync,
        > + Clone
        + Send
        + Sync
        + 'static;
    /// The eager Byzantine proposer.
    type Byzantine: Byzantine<Msg<Self>> + Send + Sync + 'static;
    /// The ghost history the properties read, recorded from the messages sent.
    type Ghost: Clone + Debug + Default + Eq + Hash + Send + Sync + 'static;
    /// An acceptor's state.
    type Acceptor: PartialEq;
    /// The model's actions: the actor model's, and perhaps some of the protocol's own.
    type Action: Clone + Debug + Eq + Hash + Send + Sync + 'static;

    fn network(&self) -> NetworkKind;
    /// Whether crashes that lose nothing are left out (see [`super::reductions`]).
    fn prunes_lossless_crashes(&self) -> bool;
    /// Whether a Byzantine proposer is shown every PROMISE sent, or only those sent to it.
    fn byzantine_sees_all(&self) -> bool;
    /// Honest acceptor `id`.
    fn acceptor_agent(&self, id: AcceptorId) -> Self::Honest;
    /// Honest proposer `id`.
    fn proposer_agent(&self, id: ProposerId) -> Self::Honest;
    /// Byzantine proposer `id`.
    fn byzantine_agent(&self, id: ProposerId) -> Self::Byzantine;
    /// The client learner, if the configuration has one.
    fn learner_agent(&self) -> Option<Self::Honest>;

    /// The actors, numbered as in [`crate::node::Topology`]: acceptors, proposers (each
    /// Byzantine or honest), then the client learner if there is one.
    fn agents(&self) -> Vec<Agent<Self>> {
        let cluster = self.cluster();
        let mut actors: Vec<Agent<Self>> = cluster
            .acceptor_ids()
            .map(|id| Mixed::Honest(self.acceptor_agent(id)))
            .collect();
        for id in cluster.proposer_ids() {
            actors.push(if self.is_byzantine(id) {
                Mixed::Byzantine(self.byzantine_agent(id))
            } else {
                Mixed::Honest(self.proposer_agent(id))
            });
        }
        actors.extend(self.learner_agent().map(Mixed::Honest));
        actors
    }
    /// The ghost history after `env` is sent, if it records anything new.
    fn record_sent(&self, ghost: &Self::Ghost, env: Envelope<&Msg<Self>>) -> Option<Self::Ghost>;

    /// The acceptor's state, if the agent is an acceptor.
    fn acceptor(state: &HonestState<Self>) -> Option<&Self::Acceptor>;
    /// The round an acceptor is in.
    fn round_of(acceptor: &Self::Acceptor) -> Round;
    /// What an acceptor restarts with from what it stored (nothing: its initial state).
    fn recover(storage: Option<&Storage<Self>>) -> Self::Acceptor;

    /// An actor model action as one of the model's.
    fn lift(action: ActorAction<Self>) -> Self::Action;
    /// The actor model action a model action is, if it is one.
    fn as_actor(action: &Self::Action) -> Option<&ActorAction<Self>>;
    /// Likewise by value: the action back when it is one of the protocol's own.
    fn into_actor(action: Self::Action) -> Result<ActorAction<Self>, Self::Action>;

    /// The protocol's own actions in `state` (none by default).
    fn own_actions(
        &self,
        _actors: &Actors<Self>,
        _state: &State<Self>,
        _actions: &mut Vec<Self::Action>,
    ) {
    }

    /// The state one of its own actions leads to.
    fn own_next_state(
        &self,
        _actors: &Actors<Self>,
        _state: &State<Self>,
        _action: Self::Action,
    ) -> Option<State<Self>> {
        None
    }
}

/// Every acceptor's state, by acceptor (acceptors come first among the actors).
pub fn acceptor_states<P: Protocol>(
    state: &State<P>,
) -> impl Iterator<Item = (AcceptorId, &P::Acceptor)> {
    state
        .actor_states
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &**s {
            MixedState::Honest(h) => P::acceptor(h).map(|a| (AcceptorId(i as u16), a)),
            MixedState::Byzantine(_) => None,
        })
}
