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
use super::protocol::{Actors, Msg, Protocol, State, acceptor_states};
use crate::node::NodeTimer;
use stateright::Model;
use stateright::actor::{Actor, ActorModelAction, Command, Envelope, Id, Network, Out, is_no_op};
use std::borrow::Cow;
use std::sync::Arc;

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
    'settling: loop {
        // Every showing the Byzantine proposers want, in the order stateright's step would be
        // tried on them; the first that changes anything is taken, and the scan begins again.
        let mut wanted: Vec<Envelope<Msg<P>>> = Vec::new();
        for env in state.network.iter_deliverable() {
            for b in &byzantine {
                if (sees_all || *b == env.dst) && wants(actors, &state, *b, env.msg) {
                    wanted.push(Envelope {
                        src: env.src,
                        dst: *b,
                        msg: env.msg.clone(),
                    });
                }
            }
        }
        for shown in wanted {
            match deliver_in_place(actors, &mut state, &shown) {
                Delivery::Done => continue 'settling,
                Delivery::NoOp => {}
                Delivery::NotInPlace => {
                    let deliver = ActorModelAction::Deliver {
                        src: shown.src,
                        dst: shown.dst,
                        msg: shown.msg,
                    };
                    if let Some(next) = actors.next_state(&state, deliver) {
                        state = next;
                        continue 'settling;
                    }
                }
            }
        }
        return state;
    }
}

/// Whether Byzantine proposer `b` wants to be shown `msg` in `state`.
fn wants<P: Protocol>(actors: &Actors<P>, state: &State<P>, b: Id, msg: &Msg<P>) -> bool {
    let index = usize::from(b);
    let Mixed::Byzantine(proposer) = &actors.actors[index] else {
        return false;
    };
    let Some(MixedState::Byzantine(held)) = state.actor_states.get(index).map(|s| &**s) else {
        return false;
    };
    proposer.wants(held, msg)
}

fn borrowed<M>(env: &Envelope<M>) -> Envelope<&M> {
    Envelope {
        src: env.src,
        dst: env.dst,
        msg: &env.msg,
    }
}

/// What [`deliver_in_place`] did.
enum Delivery {
    /// The state is now the one the delivery leads to.
    Done,
    /// The delivery changes nothing (stateright's actor model has no step for it either).
    NoOp,
    /// The delivery does something done in place only on a duplicating network with sends
    /// alone; the state is untouched, and stateright's own step must take it.
    NotInPlace,
}

/// stateright's step that delivers `env` on a duplicating network, done on `state` itself
/// instead of on a copy of it. The settled messages are many per step, and copying the whole
/// network for each was most of the work of settling. The result is equal to
/// `actors.next_state(state, Deliver(env))`, field for field, hash set layout included
/// (`tests::in_place_delivery_is_stateright_s_step` compares them).
fn deliver_in_place<P: Protocol>(
    actors: &Actors<P>,
    state: &mut State<P>,
    env: &Envelope<Msg<P>>,
) -> Delivery {
    let index = usize::from(env.dst);
    if !matches!(state.network, Network::UnorderedDuplicating(..))
        || state.crashed.get(index) != Some(&false)
    {
        return Delivery::NotInPlace;
    }
    let mut out = Out::new();
    let next_actor = {
        let mut actor_state = Cow::Borrowed(&*state.actor_states[index]);
        actors.actors[index].on_msg(
            env.dst,
            &mut actor_state,
            env.src,
            env.msg.clone(),
            &mut out,
        );
        if is_no_op(&actor_state, &out) {
            return Delivery::NoOp;
        }
        if out.iter().any(|c| !matches!(c, Command::Send(..))) {
            return Delivery::NotInPlace;
        }
        match actor_state {
            Cow::Owned(next) => Some(next),
            Cow::Borrowed(_) => None,
        }
    };
    let received = (actors.record_msg_in)(&actors.cfg, &state.history, borrowed(env));
    let Network::UnorderedDuplicating(envelopes, last_msg) = &mut state.network else {
        unreachable!("checked above");
    };
    *last_msg = Some(env.clone());
    if let Some(next) = next_actor {
        state.actor_states[index] = Arc::new(next);
    }
    if let Some(history) = received {
        state.history = history;
    }
    for command in out {
        let Command::Send(dst, msg) = command else {
            unreachable!("checked above");
        };
        let sent = Envelope {
            src: env.dst,
            dst,
            msg,
        };
        if let Some(history) = (actors.record_msg_out)(&actors.cfg, &state.history, borrowed(&sent))
        {
            state.history = history;
        }
        envelopes.insert(sent);
    }
    Delivery::Done
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ModelConfig;

    type Decree = ModelConfig;

    /// The default configuration: rounds 0..2, where the Byzantine `p0` leads round 2 and
    /// answers PROMISEs with ACCEPTs that the ghost history records.
    fn model() -> crate::models::properties::Model {
        ModelConfig::default().into_model()
    }

    /// The states of `walks` random walks from the initial states (a fixed seed), each of
    /// up to 40 steps: deep enough to reach rounds 1 and 2, where settling shows PROMISEs.
    fn states(walks: usize) -> Vec<State<Decree>> {
        let model = model();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut random = move |below: usize| {
            // xorshift64: reproducible, and enough to spread the walks.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % below as u64) as usize
        };
        let mut out = Vec::new();
        for _ in 0..walks {
            let init = model.init_states();
            let mut state = init[random(init.len())].clone();
            for _ in 0..40 {
                let mut actions = Vec::new();
                model.actions(&state, &mut actions);
                let next = (!actions.is_empty())
                    .then(|| actions.swap_remove(random(actions.len())))
                    .and_then(|action| model.next_state(&state, action));
                out.push(state);
                match next {
                    Some(next) => state = next,
                    None => break,
                }
            }
        }
        out
    }

    /// Equal as states, and with the network's envelopes in the same order: the order in
    /// which settling tries them.
    fn assert_same(a: &State<Decree>, b: &State<Decree>) {
        assert_eq!(a, b);
        let order = |s: &State<Decree>| {
            s.network
                .iter_all()
                .map(|e| e.to_cloned_msg())
                .collect::<Vec<_>>()
        };
        assert_eq!(order(a), order(b));
    }

    /// settle as it was before deliveries were done in place: one stateright step per
    /// showing, each on a copy of the whole state.
    fn settle_by_steps(actors: &Actors<Decree>, mut state: State<Decree>) -> State<Decree> {
        let sees_all = actors.cfg.byzantine_sees_all();
        let byzantine: Vec<Id> = (0..actors.actors.len())
            .filter(|i| matches!(actors.actors[*i], Mixed::Byzantine(_)))
            .map(Id::from)
            .collect();
        loop {
            let pending = state.network.iter_deliverable().find_map(|env| {
                byzantine
                    .iter()
                    .filter(|b| sees_all || **b == env.dst)
                    .filter(|b| wants(actors, &state, **b, env.msg))
                    .find_map(|b| {
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

    /// The successors of `state` by stateright's own steps, before settling: where PROMISEs
    /// to show are still in flight.
    fn unsettled_successors(state: &State<Decree>) -> Vec<State<Decree>> {
        let model = model();
        let mut actions = Vec::new();
        model.actors.actions(state, &mut actions);
        actions
            .into_iter()
            .filter_map(|action| model.actors.next_state(state, action))
            .collect()
    }

    /// Every delivery of `state`'s network: to its destination, and shown to each
    /// Byzantine proposer as settling does.
    fn deliveries(
        model: &crate::models::properties::Model,
        state: &State<Decree>,
    ) -> Vec<Envelope<Msg<Decree>>> {
        let byzantine: Vec<Id> = (0..model.actors.actors.len())
            .filter(|i| matches!(model.actors.actors[*i], Mixed::Byzantine(_)))
            .map(Id::from)
            .collect();
        state
            .network
            .iter_deliverable()
            .flat_map(|env| {
                std::iter::once(env.dst)
                    .chain(byzantine.iter().copied())
                    .map(move |dst| Envelope {
                        src: env.src,
                        dst,
                        msg: env.msg.clone(),
                    })
            })
            .collect()
    }

    #[test]
    fn in_place_delivery_is_stateright_s_step() {
        let model = model();
        let (mut in_place, mut not_in_place, mut recorded) = (0, 0, 0);
        for state in states(150).iter().flat_map(unsettled_successors) {
            for env in deliveries(&model, &state) {
                let mut delivered = state.clone();
                let stepped = model.actors.next_state(
                    &state,
                    ActorModelAction::Deliver {
                        src: env.src,
                        dst: env.dst,
                        msg: env.msg.clone(),
                    },
                );
                match deliver_in_place(&model.actors, &mut delivered, &env) {
                    Delivery::Done => {
                        in_place += 1;
                        recorded += usize::from(delivered.history != state.history);
                        assert_same(&delivered, &stepped.expect("a step where one was done"));
                    }
                    Delivery::NoOp => {
                        assert!(stepped.is_none(), "a no-op where stateright steps");
                        assert_same(&delivered, &state);
                    }
                    Delivery::NotInPlace => {
                        not_in_place += 1;
                        assert_same(&delivered, &state);
                    }
                }
            }
        }
        // Every kind was met: sends alone, some of them recorded in the ghost history (the
        // Byzantine proposer's ACCEPTs), and steps that set timers or save.
        assert!(in_place > 1_000, "{in_place} deliveries done in place");
        assert!(
            recorded > 100,
            "{recorded} in place recorded in the history"
        );
        assert!(not_in_place > 100, "{not_in_place} deliveries not in place");
    }

    #[test]
    fn settling_in_place_settles_as_one_step_at_a_time() {
        let model = model();
        let mut shown = 0;
        for state in states(150) {
            for env in state.network.iter_deliverable() {
                let action = ActorModelAction::Deliver {
                    src: env.src,
                    dst: env.dst,
                    msg: env.msg.clone(),
                };
                let Some(next) = model.actors.next_state(&state, action) else {
                    continue;
                };
                let by_steps = settle_by_steps(&model.actors, next.clone());
                let in_place = settle(&model.actors, next.clone());
                assert_same(&in_place, &by_steps);
                shown += usize::from(in_place != next);
            }
        }
        assert!(shown > 100, "settling showed something in {shown} steps");
    }
}
