//! The model's reductions, sound for every protocol of the core (CHECKING.md says why):
//! PROMISEs settled at once at Byzantine proposers, crashes that lose nothing left out, and
//! the bounds of the explored space.
//!
//! Settling: a Byzantine proposer is eager (it answers a PROMISE by sending every ACCEPT it
//! can build, whatever the order of arrival), its delivery disables no other step, and on a
//! network where messages are never taken back, sending more earlier only adds choices. Every
//! state of the plain actor model is matched by a state reached here with the same honest
//! agents and the same votes and PROMISEs, and the Byzantine proposer holding at least the
//! same PROMISEs. What is skipped are the states in which a PROMISE to it is still in flight,
//! which multiply the space without adding any acceptor behaviour.

use super::mixed::{Byzantine, Mixed, MixedState};
use super::protocol::{Actors, Protocol, State, acceptor_states};
use crate::node::NodeTimer;
use stateright::Model;
use stateright::actor::{ActorModelAction, Id, Network};

/// Shows every Byzantine proposer every message it wants and does not hold yet: on a
/// protocol whose Byzantine proposers see all (the single decree's duplicating network:
/// PROMISEs are not encrypted) every one sent, otherwise those addressed to it (a delivery
/// there may consume the message, so another proposer's copy cannot be shown).
pub fn settle<P: Protocol>(actors: &Actors<P>, mut state: State<P>) -> State<P> {
    let sees_all = actors.cfg.byzantine_sees_all();
    let byzantine: Vec<Id> = actors
        .actors
        .iter()
        .enumerate()
        .filter(|(_, actor)| matches!(actor, Mixed::Byzantine(_)))
        .map(|(i, _)| Id::from(i))
        .collect();
    loop {
        let pending = state.network.iter_deliverable().find_map(|env| {
            byzantine
                .iter()
                .filter(|b| sees_all || **b == env.dst)
                .find_map(|b| {
                    let index = usize::from(*b);
                    let Mixed::Byzantine(proposer) = &actors.actors[index] else {
                        return None;
                    };
                    let Some(MixedState::Byzantine(held)) =
                        state.actor_states.get(index).map(|s| &**s)
                    else {
                        return None;
                    };
                    if !proposer.wants(held, env.msg) {
                        return None;
                    }
                    let deliver = ActorModelAction::Deliver {
                        src: env.src,
                        dst: *b,
                        msg: env.msg.clone(),
                    };
                    actors.next_state(&state, deliver)
                })
        });
        match pending {
            Some(next) => state = next,
            None => return state,
        }
    }
}

/// [`settle`] for the state an action led to from `last`, itself settled. On a duplicating
/// network the set of envelopes only grows, so when it did not grow nothing new was sent, and
/// nothing is left to show: the scan of every envelope is skipped.
pub fn settle_after<P: Protocol>(actors: &Actors<P>, last: &State<P>, next: State<P>) -> State<P> {
    if let (Network::UnorderedDuplicating(before, _), Network::UnorderedDuplicating(after, _)) =
        (&last.network, &next.network)
        && before.len() == after.len()
    {
        return next;
    }
    settle(actors, next)
}

/// Whether crashing actor `id` can lead anywhere new. Only acceptors crash (a crashed
/// proposer is a silent one, which a Byzantine proposer can be anyway and an honest one is
/// not meant to be). With crash pruning on, a crash is also left out when the acceptor would
/// lose nothing by it: on a duplicating network such a crash is a pause that an acceptor which
/// is sent nothing for a while already shows, and its recovery restores the very state it
/// crashed in (see CHECKING.md, "Crashes that lose nothing").
pub fn crash_matters<P: Protocol>(actors: &Actors<P>, state: &State<P>, id: Id) -> bool {
    let index = usize::from(id);
    let Some(MixedState::Honest(honest)) = state.actor_states.get(index).map(|s| &**s) else {
        return false;
    };
    let Some(acceptor) = P::acceptor(honest) else {
        return false;
    };
    if !actors.cfg.prunes_lossless_crashes() {
        return true;
    }
    let recovered = P::recover(state.actor_storages[index].as_ref());
    let timer_armed = state.timers_set[index]
        .iter()
        .any(|t| *t == NodeTimer::SuspectLeader);
    recovered != *acceptor || !timer_armed
}

/// The state space explored: rounds up to the bound, and crashes of acceptors only.
pub fn within_bounds<P: Protocol>(cfg: &P, state: &State<P>) -> bool {
    let n = cfg.acceptors();
    acceptor_states::<P>(state).all(|(_, a)| P::round_of(a) <= cfg.max_round())
        && state.crashed.iter().skip(n).all(|crashed| !crashed)
}
