//! stateright's step that delivers a message on a duplicating network, in two halves: what the
//! receiver does, found on the state as it is ([`step`]), and its effects written into a
//! state the caller owns ([`Step::apply`]). The checker copies a state once per step; settling
//! then shows the Byzantine proposers their PROMISEs on that copy, and learns from the step
//! which envelopes are new instead of scanning the whole network for them.
//!
//! The result is stateright's `next_state(state, Deliver(env))`, field for field, the order of
//! the network's hash set included (`reductions::tests` compare them).

use super::protocol::{Actors, Agent, AgentState, Msg, Protocol, State};
use stateright::actor::{Actor, Command, Envelope, Network, Out, is_no_op};
use std::borrow::Cow;
use std::sync::Arc;

/// What delivering a message does, found before anything is changed.
pub struct Step<P: Protocol> {
    env: Envelope<Msg<P>>,
    next_actor: Option<AgentState<P>>,
    out: Out<Agent<P>>,
    received: Option<P::Ghost>,
}

/// Why a delivery is not done here.
pub enum Skipped<M> {
    /// stateright has no step for it either: the receiver is absent or crashed, or it does
    /// nothing with the message.
    NoStep,
    /// It is not on a duplicating network, or the receiver does more than send and save (no
    /// delivery of the protocols sets a timer or draws a random choice); stateright's own
    /// step must take it. The envelope comes back for it.
    NotHere(Envelope<M>),
}

/// What delivering `env` to its destination in `state` does.
pub fn step<P: Protocol>(
    actors: &Actors<P>,
    state: &State<P>,
    env: Envelope<Msg<P>>,
) -> Result<Step<P>, Skipped<Msg<P>>> {
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
    if !out
        .iter()
        .all(|c| matches!(c, Command::Send(..) | Command::Save(..)))
    {
        return Err(Skipped::NotHere(env));
    }
    let received = (actors.record_msg_in)(&actors.cfg, &state.history, borrowed(&env));
    Ok(Step {
        next_actor: match actor {
            Cow::Owned(next) => Some(next),
            Cow::Borrowed(_) => None,
        },
        env,
        out,
        received,
    })
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
        let id = self.env.dst;
        let index = usize::from(id);
        if let Network::UnorderedDuplicating(_, last_msg) = &mut state.network {
            *last_msg = Some(self.env);
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
                Command::Save(storage) => {
                    if state.actor_storages.len() <= index {
                        state
                            .actor_storages
                            .resize_with(index + 1, Default::default);
                    }
                    state.actor_storages[index] = Some(storage);
                }
                Command::SetTimer(..) | Command::CancelTimer(..) | Command::ChooseRandom(..) => {
                    unreachable!("refused by `step`")
                }
            }
        }
        reported
    }
}

fn borrowed<M>(env: &Envelope<M>) -> Envelope<&M> {
    Envelope {
        src: env.src,
        dst: env.dst,
        msg: &env.msg,
    }
}
