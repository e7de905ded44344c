//! The single decree as a [`Protocol`]: its honest agents are [`crate::protocol::node::Node`]s,
//! whose step functions are those of [`crate::acceptor`], [`crate::proposer`] and
//! [`crate::learner`].

use crate::acceptor::{Acceptor, AcceptorState, DurableState};
use crate::auth::Authenticator;
use crate::learner::{self, Decision, LearnerState};
use crate::message::Msg;
use crate::proposer::{Proposer, ProposerState};
use crate::protocol::{self, Protocol, StepOf};
use crate::rules::Rules;
use crate::step::{Effect, Peer, Step};
use crate::types::Value;
use std::marker::PhantomData;

pub use crate::protocol::node::{NodeTimer, Topology, peer_of};

/// The single decree, with values `V` and acceptors that authenticate with `A`.
pub struct SingleDecree<V, A>(PhantomData<fn() -> (V, A)>);

/// An honest single-decree agent.
pub type Role<V, A> = protocol::node::Role<Acceptor<A>, Proposer<V>>;
/// An honest single-decree agent and where its peers are.
pub type Node<V, A> = protocol::node::Node<SingleDecree<V, A>>;
/// The state of an honest single-decree agent.
pub type NodeState<V> =
    protocol::node::NodeState<AcceptorState<V>, ProposerState<V>, LearnerState<V>>;

impl<V: Value, A: Authenticator> Protocol for SingleDecree<V, A> {
    type Msg = Msg<V>;
    type Decision = Decision<V>;
    type Acceptor = Acceptor<A>;
    type AcceptorState = AcceptorState<V>;
    type Durable = DurableState<V>;
    type Proposer = Proposer<V>;
    type ProposerState = ProposerState<V>;
    type LearnerState = LearnerState<V>;

    fn recover(durable: Option<&DurableState<V>>) -> AcceptorState<V> {
        durable.map_or_else(AcceptorState::initial, AcceptorState::recover)
    }

    fn durable(state: &AcceptorState<V>) -> DurableState<V> {
        state.durable()
    }

    fn acceptor_step(
        acceptor: &Acceptor<A>,
        state: &AcceptorState<V>,
        from: Peer,
        msg: &Msg<V>,
    ) -> Option<StepOf<Self, AcceptorState<V>>> {
        acceptor.on_message(state, from, msg)
    }

    fn acceptor_timeout(
        acceptor: &Acceptor<A>,
        state: &AcceptorState<V>,
    ) -> Option<StepOf<Self, AcceptorState<V>>> {
        acceptor.timeout(state)
    }

    fn proposer_start(proposer: &Proposer<V>) -> StepOf<Self, ProposerState<V>> {
        proposer.start()
    }

    fn proposer_step(
        proposer: &Proposer<V>,
        state: &ProposerState<V>,
        from: Peer,
        msg: &Msg<V>,
    ) -> Option<StepOf<Self, ProposerState<V>>> {
        proposer.on_message(state, from, msg)
    }

    fn learner_step(
        rules: &Rules,
        state: &LearnerState<V>,
        from: Peer,
        msg: &Msg<V>,
    ) -> Option<StepOf<Self, LearnerState<V>>> {
        let (Peer::Acceptor(a), Msg::Learn { round, value }) = (from, msg) else {
            return None;
        };
        let learned = learner::learn(rules.quorum, state, a, *round, value)?;
        let step = Step::new(learned.state);
        Some(match learned.decided {
            Some(decision) => step.effect(Effect::Decided(decision)),
            None => step,
        })
    }

    fn report(node: usize, decision: &Decision<V>) {
        tracing::info!(node, round = decision.round, value = %decision.value, "decided");
    }
}
