//! A cluster of honest actors, unchanged, and Byzantine proposers, as one stateright actor
//! type. Shared by the single-decree and the log models.

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::fmt::Debug;
use std::hash::Hash;

/// What a Byzantine proposer of the model does: an opening menu at start, and more on each
/// message it receives. It has no timers and stores nothing.
pub trait Byzantine<Msg>: Clone + Debug {
    type State: Clone + Debug + Eq + Hash;
    fn start<A: Actor<Msg = Msg>>(&self, o: &mut Out<A>) -> Self::State;
    fn receive<A: Actor<Msg = Msg>>(
        &self,
        state: &Self::State,
        src: Id,
        msg: &Msg,
        o: &mut Out<A>,
    ) -> Option<Self::State>;
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

impl<H, B> Actor for Mixed<H, B>
where
    H: Actor,
    B: Byzantine<H::Msg> + Send + Sync + 'static,
    B::State: Send + Sync + 'static,
{
    type Msg = H::Msg;
    type State = MixedState<H::State, B::State>;
    type Timer = H::Timer;
    type Storage = H::Storage;
    type Random = H::Random;

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        match self {
            Mixed::Honest(node) => {
                let mut out = Out::new();
                let state = node.on_start(id, storage, &mut out);
                o.append(&mut out);
                MixedState::Honest(state)
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
        match (self, state.as_ref()) {
            (Mixed::Honest(node), MixedState::Honest(inner)) => {
                let mut inner = Cow::Borrowed(inner);
                let mut out = Out::new();
                node.on_msg(id, &mut inner, src, msg, &mut out);
                o.append(&mut out);
                if let Cow::Owned(next) = inner {
                    *state = Cow::Owned(MixedState::Honest(next));
                }
            }
            (Mixed::Byzantine(byz), MixedState::Byzantine(inner)) => {
                if let Some(next) = byz.receive(inner, src, &msg, o) {
                    *state = Cow::Owned(MixedState::Byzantine(next));
                }
            }
            _ => unreachable!("an actor's state always matches its kind"),
        }
    }

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        timer: &Self::Timer,
        o: &mut Out<Self>,
    ) {
        if let (Mixed::Honest(node), MixedState::Honest(inner)) = (self, state.as_ref()) {
            let mut inner = Cow::Borrowed(inner);
            let mut out = Out::new();
            node.on_timeout(id, &mut inner, timer, &mut out);
            o.append(&mut out);
            if let Cow::Owned(next) = inner {
                *state = Cow::Owned(MixedState::Honest(next));
            }
        }
    }
}
