//! A cluster of honest actors, unchanged, and Byzantine proposers, as one stateright actor
//! type; and the helpers that run a nested actor inside another one.

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::fmt::Debug;
use std::hash::Hash;

/// What a Byzantine proposer of the model does: an opening menu at start, and more on each
/// message it receives. It has no timers and stores nothing.
pub trait Byzantine<Msg>: Clone + Debug {
    type State: Clone + Debug + Eq + Hash + Send + Sync + 'static;
    fn start<A: Actor<Msg = Msg>>(&self, o: &mut Out<A>) -> Self::State;
    fn receive<A: Actor<Msg = Msg>>(
        &self,
        state: &Self::State,
        src: Id,
        msg: &Msg,
        o: &mut Out<A>,
    ) -> Option<Self::State>;
    /// Whether the model shows it `msg` as soon as it is sent: a PROMISE it does not hold
    /// yet (see [`super::settle::settle`]).
    fn wants(&self, state: &Self::State, msg: &Msg) -> bool;
}

#[derive(Clone, Debug)]
pub enum Mixed<H, B> {
    Honest(H),
    Byzantine(B),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MixedState<H, B> {
    Honest(H),
    Byzantine(B),
}

/// Runs `step` of a nested actor `I` with an output of its own, then appends that output to
/// the outer actor's (both speak the same messages, timers and storage).
pub fn with_own_out<I, O, R>(o: &mut Out<O>, step: impl FnOnce(&mut Out<I>) -> R) -> R
where
    I: Actor,
    O: Actor<Msg = I::Msg, Timer = I::Timer, Random = I::Random, Storage = I::Storage>,
{
    let mut out = Out::new();
    let result = step(&mut out);
    o.append(&mut out);
    result
}

/// Runs a step of a nested actor `I` on its state (borrowed until the step changes it) and
/// with an output of its own, appended to the outer actor's; the new state if it changed.
pub fn nested_step<I, O>(
    state: &I::State,
    o: &mut Out<O>,
    step: impl FnOnce(&mut Cow<I::State>, &mut Out<I>),
) -> Option<I::State>
where
    I: Actor,
    O: Actor<Msg = I::Msg, Timer = I::Timer, Random = I::Random, Storage = I::Storage>,
{
    with_own_out(o, |out| {
        let mut inner = Cow::Borrowed(state);
        step(&mut inner, out);
        match inner {
            Cow::Owned(next) => Some(next),
            Cow::Borrowed(_) => None,
        }
    })
}

impl<H, B> Actor for Mixed<H, B>
where
    H: Actor,
    B: Byzantine<H::Msg> + Send + Sync + 'static,
{
    type Msg = H::Msg;
    type State = MixedState<H::State, B::State>;
    type Timer = H::Timer;
    type Storage = H::Storage;
    type Random = H::Random;

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        match self {
            Mixed::Honest(node) => {
                MixedState::Honest(with_own_out(o, |out| node.on_start(id, storage, out)))
            }
            Mixed::Byzantine(byz) => MixedState::Byzantine(byz.start(o)),
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
        let next = match (self, state.as_ref()) {
            (Mixed::Honest(node), MixedState::Honest(inner)) => {
                nested_step(inner, o, |inner, out| node.on_msg(id, inner, src, msg, out))
                    .map(MixedState::Honest)
            }
            (Mixed::Byzantine(byz), MixedState::Byzantine(inner)) => {
                byz.receive(inner, src, &msg, o).map(MixedState::Byzantine)
            }
            _ => unreachable!("an actor's state always matches its kind"),
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
        if let (Mixed::Honest(node), MixedState::Honest(inner)) = (self, state.as_ref())
            && let Some(next) = nested_step(inner, o, |inner, out| {
                node.on_timeout(id, inner, timer, out)
            })
        {
            *state = Cow::Owned(MixedState::Honest(next));
        }
    }
}
