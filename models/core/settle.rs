//! Settling, a reduction of the model core (CHECKING.md says why it is sound): PROMISEs are
//! shown at once to the Byzantine proposers that want them.
//!
//! A Byzantine proposer is eager (it answers a PROMISE by sending every ACCEPT it can build,
//! whatever the order of arrival), its delivery disables no other step, and on a network where
//! messages are never taken back, sending more earlier only adds choices. Every state of the
//! plain actor model is matched by a state reached here with the same honest agents and the
//! same votes and PROMISEs, and the Byzantine proposer holding at least the same PROMISEs. What
//! is skipped are the states in which a PROMISE to it is still in flight, which multiply the
//! space without adding any acceptor behaviour.
//!
//! The checker settles each delivery and timeout from what it sent ([`deliver_and_settle`],
//! [`time_out_and_settle`]); other steps are settled by a scan of the network ([`settle_after`]).

use super::actor_step::{self, Skipped, Step, borrowed};
use super::mixed::{Byzantine, Mixed, MixedState};
use super::protocol::{Actors, Msg, Protocol, State};
use crate::node::NodeTimer;
use stateright::Model;
use stateright::actor::{ActorModelAction, Envelope, Id, Network};

/// Shows every Byzantine proposer every message it wants and does not hold yet: on a
/// protocol whose Byzantine proposers see all (the single decree's duplicating network:
/// PROMISEs are not encrypted) every one sent, otherwise those addressed to it (a delivery
/// there may consume the message, so another proposer's copy cannot be shown).
pub fn settle<P: Protocol>(actors: &Actors<P>, mut state: State<P>) -> State<P> {
    'settling: loop {
        // Every showing the Byzantine proposers want, in the order stateright's step would be
        // tried on them; the first that changes anything is taken, and the scan begins again.
        let mut wanted: Vec<Envelope<Msg<P>>> = Vec::new();
        for env in state.network.iter_deliverable() {
            wanted.extend(showings(actors, &state, env));
        }
        for shown in wanted {
            if !matches!(show(actors, &mut state, shown), Shown::NoStep) {
                continue 'settling;
            }
        }
        return state;
    }
}

/// `env` as shown to each Byzantine proposer that wants it, in the order of their ids: every
/// one if they see all, otherwise its destination only.
fn showings<'a, P: Protocol>(
    actors: &'a Actors<P>,
    state: &'a State<P>,
    env: Envelope<&'a Msg<P>>,
) -> impl Iterator<Item = Envelope<Msg<P>>> + 'a {
    let sees_all = actors.cfg.byzantine_sees_all();
    (0..actors.actors.len())
        .map(Id::from)
        .filter(move |b| (sees_all || *b == env.dst) && wants(actors, state, *b, env.msg))
        .map(move |b| Envelope {
            src: env.src,
            dst: b,
            msg: env.msg.clone(),
        })
}

/// Whether actor `b` is a Byzantine proposer that wants to be shown `msg` in `state`.
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

/// Whether some Byzantine proposer wants to be shown `env`.
fn wanted_by_any<P: Protocol>(
    actors: &Actors<P>,
    state: &State<P>,
    env: &Envelope<Msg<P>>,
) -> bool {
    showings(actors, state, borrowed(env)).next().is_some()
}

/// What showing a message did.
enum Shown<M> {
    /// Delivered in place: the envelopes it sent that a Byzantine proposer wants.
    InPlace(Vec<Envelope<M>>),
    /// Delivered by stateright's step, which does not tell what it sent.
    Stepped,
    /// Nothing: there is no step for it, and the state is unchanged.
    NoStep,
}

/// Delivers `shown` in `state`: in place where [`actor_step`] can, by stateright's step on a
/// copy otherwise.
fn show<P: Protocol>(
    actors: &Actors<P>,
    state: &mut State<P>,
    shown: Envelope<Msg<P>>,
) -> Shown<Msg<P>> {
    match actor_step::deliver(actors, state, shown) {
        Ok(step) => Shown::InPlace(step.apply(actors, state, |s, e| wanted_by_any(actors, s, e))),
        Err(Skipped::NoStep) => Shown::NoStep,
        Err(Skipped::NotHere(env)) => match actors.next_state(state, deliver(env)) {
            Some(next) => {
                *state = next;
                Shown::Stepped
            }
            None => Shown::NoStep,
        },
    }
}

fn deliver<M>(env: Envelope<M>) -> ActorModelAction<M, NodeTimer, ()> {
    ActorModelAction::Deliver {
        src: env.src,
        dst: env.dst,
        msg: env.msg,
    }
}

/// The state that delivering `env` leads to from `last` (a settled state), settled: what
/// stateright's step and [`settle_after`] give, found with one copy of the state.
pub fn deliver_and_settle<P: Protocol>(
    actors: &Actors<P>,
    last: &State<P>,
    env: Envelope<Msg<P>>,
) -> Option<State<P>> {
    match actor_step::deliver(actors, last, env) {
        Ok(step) => Some(apply_and_settle(actors, last, step)),
        Err(Skipped::NoStep) => None,
        Err(Skipped::NotHere(env)) => actors
            .next_state(last, deliver(env))
            .map(|next| settle_after(actors, last, next)),
    }
}

/// The state that `timer` going off at `id` leads to from `last` (a settled state), settled,
/// as [`deliver_and_settle`] finds it.
pub fn time_out_and_settle<P: Protocol>(
    actors: &Actors<P>,
    last: &State<P>,
    id: Id,
    timer: NodeTimer,
) -> Option<State<P>> {
    match actor_step::time_out(actors, last, id, timer) {
        Ok(step) => Some(apply_and_settle(actors, last, step)),
        Err(Skipped::NoStep) => None,
        Err(Skipped::NotHere((id, timer))) => actors
            .next_state(last, ActorModelAction::Timeout(id, timer))
            .map(|next| settle_after(actors, last, next)),
    }
}

/// `step` applied to a copy of `last` (a settled state), then settled. Settling begins from
/// the envelopes the step sent, since `last` left nothing to show: while a single showing is
/// wanted it is done in place, and [`settle`]'s scan of the whole network takes over when
/// more are, so that they are shown in the scan's order.
fn apply_and_settle<P: Protocol>(actors: &Actors<P>, last: &State<P>, step: Step<P>) -> State<P> {
    let mut state = last.clone();
    let mut sent = step.apply(actors, &mut state, |s, e| wanted_by_any(actors, s, e));
    loop {
        let mut wanted: Vec<Envelope<Msg<P>>> = sent
            .iter()
            .flat_map(|env| showings(actors, &state, borrowed(env)))
            .collect();
        if wanted.len() > 1 {
            return settle(actors, state);
        }
        let Some(shown) = wanted.pop() else {
            return state;
        };
        match show(actors, &mut state, shown) {
            Shown::InPlace(more) => sent = more,
            Shown::Stepped => return settle(actors, state),
            Shown::NoStep => return state,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::walk::{WalkPlan, sample};
    use crate::models::{ModelConfig, Shape};

    type Decree = ModelConfig;

    /// The default configuration: rounds 0..2, where the Byzantine `p0` leads round 2 and
    /// answers PROMISEs with ACCEPTs that the ghost history records.
    fn model() -> crate::models::properties::Model {
        ModelConfig::default().into_model()
    }

    /// States of the default model, from seeded walks of up to 40 steps: deep enough to
    /// reach rounds 1 and 2, where settling shows PROMISEs.
    fn states() -> Vec<State<Decree>> {
        let plan = WalkPlan {
            walks: 150,
            depth: 40,
            seed: 3,
        };
        sample(&model(), plan)
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
    fn a_delivery_done_in_place_is_stateright_s_step() {
        let model = model();
        let (mut in_place, mut saved, mut recorded) = (0, 0, 0);
        for state in states().iter().flat_map(unsettled_successors) {
            for env in deliveries(&model, &state) {
                let stepped = model.actors.next_state(&state, deliver(env.clone()));
                match actor_step::deliver(&model.actors, &state, env) {
                    Ok(step) => {
                        let mut delivered = state.clone();
                        step.apply(&model.actors, &mut delivered, |_, _| false);
                        in_place += 1;
                        recorded += usize::from(delivered.history != state.history);
                        saved += usize::from(delivered.actor_storages != state.actor_storages);
                        assert_same(&delivered, &stepped.expect("a step where one was done"));
                    }
                    Err(Skipped::NoStep) => {
                        assert!(stepped.is_none(), "no step where stateright steps")
                    }
                    Err(Skipped::NotHere(_)) => {
                        panic!("a delivery of the single decree that sets a timer")
                    }
                }
            }
        }
        // Every kind of effect was met: sends recorded in the ghost history (the Byzantine
        // proposer's ACCEPTs, the acceptors' votes), and saves.
        assert!(in_place > 1_000, "{in_place} deliveries done in place");
        assert!(recorded > 100, "{recorded} recorded in the history");
        assert!(saved > 100, "{saved} saved a durable state");
    }

    #[test]
    fn a_timeout_done_in_place_is_stateright_s_step() {
        let model = model();
        let (mut in_place, mut sent) = (0, 0);
        for state in states().iter().flat_map(unsettled_successors) {
            let mut actions = Vec::new();
            model.actors.actions(&state, &mut actions);
            for action in actions {
                let ActorModelAction::Timeout(id, timer) = action.clone() else {
                    continue;
                };
                let stepped = model.actors.next_state(&state, action);
                match actor_step::time_out(&model.actors, &state, id, timer) {
                    Ok(step) => {
                        let mut timed_out = state.clone();
                        step.apply(&model.actors, &mut timed_out, |_, _| false);
                        in_place += 1;
                        sent += usize::from(timed_out.network != state.network);
                        assert_same(&timed_out, &stepped.expect("a step where one was done"));
                    }
                    Err(Skipped::NoStep) => {
                        assert!(stepped.is_none(), "no step where stateright steps")
                    }
                    Err(Skipped::NotHere(_)) => panic!("a timeout of the single decree left out"),
                }
            }
        }
        // Timeouts that move an acceptor to a new round (TRUSTCHANGE, PROMISE, a save and
        // the timer set again) were met.
        assert!(in_place > 100, "{in_place} timeouts done in place");
        assert!(sent > 100, "{sent} timeouts sent something");
    }

    #[test]
    fn a_timer_that_goes_off_unanswered_is_cancelled_as_stateright_does() {
        // No actor of the model has a timer it ignores; give the proposer `p1` one.
        let model = model();
        let mut state = model.init_states().remove(0);
        let p1 = Id::from(model.cfg().cluster().acceptors() + 1);
        state.timers_set[usize::from(p1)].set(NodeTimer::SuspectLeader);
        let stepped = model
            .actors
            .next_state(
                &state,
                ActorModelAction::Timeout(p1, NodeTimer::SuspectLeader),
            )
            .expect("stateright steps: the timer is gone");
        let Ok(step) = actor_step::time_out(&model.actors, &state, p1, NodeTimer::SuspectLeader)
        else {
            panic!("no step where stateright steps");
        };
        let mut timed_out = state.clone();
        step.apply(&model.actors, &mut timed_out, |_, _| false);
        assert_same(&timed_out, &stepped);
        assert!(
            timed_out.timers_set[usize::from(p1)]
                .iter()
                .next()
                .is_none()
        );
    }

    #[test]
    fn a_step_settled_from_what_it_sent_is_stateright_s_step_settled() {
        let model = model();
        let (mut shown, mut timeouts) = (0, 0);
        for state in states() {
            let mut actions = Vec::new();
            model.actors.actions(&state, &mut actions);
            for action in actions {
                let settled = match action.clone() {
                    ActorModelAction::Deliver { src, dst, msg } => {
                        deliver_and_settle(&model.actors, &state, Envelope { src, dst, msg })
                    }
                    ActorModelAction::Timeout(id, timer) => {
                        timeouts += 1;
                        time_out_and_settle(&model.actors, &state, id, timer)
                    }
                    _ => continue,
                };
                let unsettled = model.actors.next_state(&state, action);
                let by_steps = unsettled
                    .clone()
                    .map(|next| settle_by_steps(&model.actors, next));
                match (&settled, &by_steps) {
                    (Some(a), Some(b)) => {
                        assert_same(a, b);
                        shown += usize::from(Some(a) != unsettled.as_ref());
                    }
                    (None, None) => {}
                    _ => panic!("a step on one side only: {settled:?} {by_steps:?}"),
                }
            }
        }
        assert!(shown > 100, "settling showed something in {shown} steps");
        assert!(timeouts > 100, "{timeouts} timeouts");
    }

    #[test]
    fn settling_in_place_settles_as_one_step_at_a_time() {
        let model = model();
        let mut shown = 0;
        for state in states() {
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
