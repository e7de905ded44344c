//! The runtime: the same stateright actors that `check` verifies, driven over UDP sockets.
//! The actors stay pure; this module owns the sockets, the clocks, the timers' randomness and
//! the durable storage, and carries out the commands the actors emit, in order.

pub mod event_loop;
pub mod storage;
