//! What sees a node's steps from the edge: an [`Observer`] (the trace recorder).

use stateright::actor::{Actor, Id, Out};

/// What a step of a node reacted to.
pub enum Input<'a, A: Actor> {
    Msg { src: Id, msg: &'a A::Msg },
    Timeout(&'a A::Timer),
}

/// Watches a node's steps from the edge, without changing them: the trace recorder of
/// `--trace`. It sees the state a step starts from, then the state it ends in with the
/// commands it gave, before any of them is carried out (so before its sends can cause a step
/// elsewhere).
pub trait Observer<A: Actor>: Send {
    /// The node started in `state` (afresh, or recovered from its store).
    fn started(&mut self, state: &A::State);
    /// A step is about to run on `state`.
    fn before(&mut self, state: &A::State);
    /// The step ran: `input` took the node to `state`, and it gave `out`.
    fn after(&mut self, input: Input<'_, A>, state: &A::State, out: &Out<A>);
}
