//! What the eager Byzantine proposers of both protocols share (`models/byzantine.rs` says why
//! eager is enough): the state, the genuine PROMISEs it holds; how a PROMISE reaches it; and
//! sending one message to every acceptor. Each protocol brings its own menu ([`Eager`]).

use super::mixed::Byzantine;
use super::symmetry::{Rename, Renaming};
use crate::types::{AcceptorId, Cluster};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::hash::Hash;

/// The genuine PROMISEs an eager proposer holds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EagerState<Pr: Ord> {
    pub promises: BTreeSet<Pr>,
}

impl<Pr: Ord> Default for EagerState<Pr> {
    fn default() -> Self {
        EagerState {
            promises: BTreeSet::new(),
        }
    }
}

impl<Pr: Ord + Rename> Rename for EagerState<Pr> {
    fn rename(&self, r: &Renaming) -> Self {
        EagerState {
            promises: self.promises.iter().map(|p| p.rename(r)).collect(),
        }
    }

    fn fixed_by(&self, r: &Renaming) -> bool {
        self.promises.iter().all(|p| p.fixed_by(r))
    }
}

/// A protocol's eager Byzantine proposer, speaking messages `M`: its menu, at start and on
/// each new PROMISE. The model core makes it a [`Byzantine`] actor.
pub trait Eager<M>: Clone + Debug {
    type Promise: Clone + Debug + Ord + Hash + Send + Sync + 'static;

    /// The PROMISE `msg` is, if it is one.
    fn promise_in(msg: &M) -> Option<&Self::Promise>;
    /// The acceptor a PROMISE names.
    fn sender(promise: &Self::Promise) -> AcceptorId;
    /// Whether its menu builds anything from `promise` (every PROMISE by default).
    fn uses(&self, _promise: &Self::Promise) -> bool {
        true
    }
    /// Sends its whole opening menu.
    fn open<A: Actor<Msg = M>>(&self, o: &mut Out<A>);
    /// Sends every message it can build from `promise`, new, with those it `held` before.
    fn answer<A: Actor<Msg = M>>(
        &self,
        held: &BTreeSet<Self::Promise>,
        promise: &Self::Promise,
        o: &mut Out<A>,
    );
}

impl<M, E: Eager<M>> Byzantine<M> for E {
    type State = EagerState<E::Promise>;

    fn start<A: Actor<Msg = M>>(&self, o: &mut Out<A>) -> Self::State {
        self.open(o);
        EagerState::default()
    }

    /// On a PROMISE from the acceptor that sent it, to this proposer or to another one (the
    /// model may let it see every PROMISE on the network): every message it now can build.
    fn receive<A: Actor<Msg = M>>(
        &self,
        state: &Self::State,
        src: Id,
        msg: &M,
        o: &mut Out<A>,
    ) -> Option<Self::State> {
        let promise = E::promise_in(msg)?;
        // Channels are authenticated: a PROMISE comes from the acceptor it names.
        if usize::from(E::sender(promise).0) != usize::from(src)
            || !self.uses(promise)
            || state.promises.contains(promise)
        {
            return None;
        }
        self.answer(&state.promises, promise, o);
        let mut next = state.clone();
        next.promises.insert(promise.clone());
        Some(next)
    }

    fn wants(&self, state: &Self::State, msg: &M) -> bool {
        E::promise_in(msg).is_some_and(|p| !state.promises.contains(p))
    }
}

/// Sends `msg` to every acceptor of `cluster`, in the order of their ids.
pub fn to_acceptors<A: Actor>(cluster: &Cluster, msg: A::Msg, o: &mut Out<A>)
where
    A::Msg: Clone,
{
    for dst in 0..cluster.acceptors() {
        o.send(Id::from(dst), msg.clone());
    }
}
