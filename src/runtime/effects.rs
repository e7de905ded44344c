//! Carrying out what an actor's step asked for, in the order it asked: a save completes before
//! the sends that follow it (an acceptor's PROMISE or LEARN depends on its synced state), then
//! timers are set or cancelled. One implementation for every driver — the UDP event loop and
//! the simulator — behind three small traits, so both run the same ordering.

use super::storage::Storage;
use stateright::actor::{Actor, Command, Id, Out};
use std::io;
use std::ops::Range;
use std::time::Duration;

/// Where a node's messages go (a socket, a simulated network).
pub trait Transport<M> {
    fn send(&mut self, to: Id, msg: M);
}

/// A node's timers (a clock's, a simulated clock's).
pub trait Timers<T> {
    /// Sets `timer` to fire once, after a duration within `range`; a set timer is replaced.
    fn set(&mut self, timer: T, range: Range<Duration>);
    fn cancel(&mut self, timer: &T);
}

/// Carries out `out` in order. A failed save stops it there and is returned: the node must not
/// send what it could not persist.
pub fn carry_out<A: Actor>(
    out: Out<A>,
    storage: &mut impl Storage<A::Storage>,
    transport: &mut impl Transport<A::Msg>,
    timers: &mut impl Timers<A::Timer>,
) -> io::Result<()> {
    for command in out {
        match command {
            Command::Save(stable) => storage.save(&stable)?,
            Command::Send(dst, msg) => transport.send(dst, msg),
            Command::SetTimer(timer, range) => timers.set(timer, range),
            Command::CancelTimer(timer) => timers.cancel(&timer),
            // None of the protocol's actors draws randomness.
            Command::ChooseRandom(..) => {}
        }
    }
    Ok(())
}
