//! stateright's actor steps on a duplicating network (a delivery, a timeout), in two halves:
//! what the actor does, found on the state as it is ([`deliver`], [`time_out`]), and its
//! effects written into a state the caller owns ([`Step::apply`]). The checker copies a state
//! once per step; settling then shows the Byzantine proposers their PROMISEs on that copy, and
//! learns from the step which envelopes are new instead of scanning the whole network.
//!
//! The result is stateright's `next_state` of the same action, field for field, the order of
//! the network's hash set included (`settle::tests` compare them).

use super::protocol::{Actors, Agent, AgentState, Msg, Protocol, State};
use crate::node::NodeTimer;
use stateright::actor::{
    Actor, Command, Envelope, Id, Network, Out, is_no_op, is_no_op_with_timer,
};
use std::borrow::Cow;
use std::sync::Arc;

/// What an actor's step does, found before anything is changed.
pub struct Step<P: Protocol> {
    id: Id,
    cause: Cause<Msg<P>>,
    next_actor: Option<AgentState<P>>,
    out: Out<Agent<P>>,
    received: Option<P::Ghost>,
}

/// What the step answers.
enum Cause<M> {
    Delivery(Envelope<M>),
    Timeout(NodeTimer),
}

/// Why a step is not taken here.
pub enum Skipped<A> {
    /// stateright has no step for it either: the actor is absent or crashed, or it does
    /// nothing.
    NoStep,
    /// It is not on a duplicating network, or the actor draws a random choice (no actor of
    /// the protocols does); stateright's own step must take it. The action comes back for it.
    NotHere(A),
}

/// What delivering `env` to its destination in `state` does.
pub fn deliver<P: Protocol>(
    actors: &Actors<P>,
    state: &State<P>,
    env: Envelope<Msg<P>>,
) -> Result<Step<P>, Skipped<Envelope<Msg<P>>>> {
    if !matches!(state.network, Network::UnorderedDuplicating(..)) {
        return Err(Skipped::NotHere(env));
    }
    let index = usize::from(env.dst);
    let Some(last_actor) = state.actor_states.get(index) else {
        return Err(Skipped::NoStep);
    };
    if state.crashed[index] {
        return Err(Skipped::NoStep);
    }
    let mut actor = Cow::Borrowed(&**last_actor);
    let mut out = Out::new();
    actors.actors[index].on_msg(env.dst, &mut actor, env.src, env.msg.clone(), &mut out);
    if is_no_op(&actor, &out) {
        return Err(Skipped::NoStep);
    }
    if draws_random(&out) {
        return Err(Skipped::NotHere(env));
    }
    let received = (actors.record_msg_in)(&actors.cfg, &state.history, borrowed(&env));
    Ok(Step {
        id: env.dst,
        next_actor: changed(actor),
        cause: Cause::Delivery(env),
        out,
        received,
    })
}

/// What `timer` going off at actor `id` in `state` does.
pub fn time_out<P: Protocol>(
    actors: &Actors<P>,
    state: &State<P>,
    id: Id,
    timer: NodeTimer,
) -> Result<Step<P>, Skipped<(Id, NodeTimer)>> {
    if !matches!(state.network, Network::UnorderedDuplicating(..)) {
        return Err(Skipped::NotHere((id, timer)));
    }
    let index = usize::from(id);
    let mut actor = Cow::Borrowed(&*state.actor_states[index]);
    let mut out = Out::new();
    actors.actors[index].on_timeout(id, &mut actor, &timer, &mut out);
    if is_no_op_with_timer(&actor, &out, &timer) {
        return Err(Skipped::NoStep);
    }
    if draws_random(&out) {
        return Err(Skipped::NotHere((id, timer)));
    }
    Ok(Step {
        id,
        next_actor: changed(actor),
        cause: Cause::Timeout(timer),
        out,
        received: None,
    })
}

fn draws_random<A: Actor>(out: &Out<A>) -> bool {
    out.iter().any(|c| matches!(c, Command::ChooseRandom(..)))
}

fn changed<S: Clone>(actor: Cow<S>) -> Option<S> {
    match actor {
        Cow::Owned(next) => Some(next),
        Cow::Borrowed(_) => None,
    }
}

impl<P: Protocol> Step<P> {
    /// Writes the step into `state`, the state it was found on or a copy of it. Returns the
    /// envelopes it sent that `report` picks, in the order they were sent.
    pub fn apply(
        self,
        actors: &Actors<P>,
        state: &mut State<P>,
        mut report: impl FnMut(&State<P>, &Envelope<Msg<P>>) -> bool,
    ) -> Vec<Envelope<Msg<P>>> {
        let id = self.id;
        let index = usize::from(id);
        match self.cause {
            Cause::Delivery(env) => {
                if let Network::UnorderedDuplicating(_, last_msg) = &mut state.network {
                    *last_msg = Some(env);
                }
            }
            // A timer that went off is no longer set, unless the step sets it again.
            Cause::Timeout(timer) => {
                state.timers_set[index].cancel(&timer);
            }
        }
        if let Some(next) = self.next_actor {
            state.actor_states[index] = Arc::new(next);
        }
        if let Some(history) = self.received {
            state.history = history;
        }
        let mut reported = Vec::new();
        for command in self.out {
            match command {
                Command::Send(dst, msg) => {
                    let sent = Envelope { src: id, dst, msg };
                    if report(state, &sent) {
                        reported.push(sent.clone());
                    }
                    if let Some(history) =
                        (actors.record_msg_out)(&actors.cfg, &state.history, borrowed(&sent))
                    {
                        state.history = history;
                    }
                    if let Network::UnorderedDuplicating(envelopes, _) = &mut state.network {
                        envelopes.insert(sent);
                    }
                }
                Command::SetTimer(timer, _) => {
                    if state.timers_set.len() <= index {
                        state.timers_set.resize_with(index + 1, Default::default);
                    }
                    state.timers_set[index].set(timer);
                }
                Command::CancelTimer(timer) => {
                    state.timers_set[index].cancel(&timer);
                }
                Command::Save(storage) => {
                    if state.actor_storages.len() <= index {
                        state
                            .actor_storages
                            .resize_with(index + 1, Default::default);
                    }
                    state.actor_storages[index] = Some(storage);
                }
                Command::ChooseRandom(..) => unreachable!("refused when the step was found"),
            }
        }
        reported
    }
}

/// `env` with its message borrowed, as stateright's history records take it.
pub fn borrowed<M>(env: &Envelope<M>) -> Envelope<&M> {
    Envelope {
        src: env.src,
        dst: env.dst,
        msg: &env.msg,
    }
}
