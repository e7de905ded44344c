//! The model's reductions, sound for every protocol of the core (CHECKING.md says why):
//! crashes that lose nothing left out, and the bounds of the explored space. Settling, the
//! third, is [`super::settle`].

use super::mixed::MixedState;
use super::protocol::{Actors, Protocol, State, acceptor_states};
use crate::node::NodeTimer;
use stateright::actor::Id;

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
