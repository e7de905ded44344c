//! The UDP runtime: it drives the unchanged step functions of [`crate::acceptor`],
//! [`crate::proposer`] and [`crate::learner`] (through the actors of [`crate::node`]) over real
//! sockets instead of the model checker's network. Every datagram is authenticated with the
//! per-pair key of its sender and receiver (PROTOCOL.md §8), so a proposer or client cannot pose
//! as an acceptor, and a datagram that fails to authenticate or decode is dropped and counted.
//! A message larger than a datagram travels as fragments, each authenticated the same way.
//!
//! The event loop owns the sockets, the clocks, the timers' randomness and the storage, and
//! carries out the commands the actors emit, in order.

pub mod acceptor_store;
pub mod codec;
pub mod datagram;
pub mod effects;
pub mod event_loop;
pub mod faults;
pub mod floors;
pub mod freshness;
pub mod observer;
pub mod pacing;
pub mod parsed;
pub mod socket;
pub mod storage;
pub mod wire;
