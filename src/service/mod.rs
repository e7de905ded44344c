//! The replicated key-value service (PROTOCOL.md §8): clients' commands, authenticated with a
//! key each client shares with the servers (never with proposers), batched into the values
//! the log agrees on, and applied exactly once, in log order, by every replica alike.
//!
//! - [`command`], [`kv`]: commands, batches and the state machine.
//! - [`msg`]: the service's messages around the log protocol's.
//! - [`node`]: a server: its tuning, state by role and timers; [`routing`]: the server as a
//!   stateright actor, which routes each input by role to one of its two sides:
//!   [`acceptor`] (what the service adds around the log acceptor) and [`proposer`] (around
//!   the log proposer). Both reach the log only through [`crate::log::face`].
//! - [`replica`], [`queue`]: the acceptor's replica of the store and the proposer's command
//!   queue, and [`linger`]: how its leader waits for the clients it just answered;
//!   [`transfer`]: a copy of the store sent in parts to a replica that lags;
//!   [`suspicion`]: how long an acceptor waits for a decision before it suspects the leader;
//!   [`refusals`]: which bound refused a vote, for diagnosis.
//! - [`store`], [`proposer_store`]: what an acceptor and a proposer keep across a crash.

pub mod acceptor;
pub mod client;
pub mod command;
pub mod kv;
pub mod linger;
pub mod msg;
pub mod node;
pub mod proposer;
pub mod proposer_store;
pub mod queue;
pub mod refusals;
pub mod replica;
pub mod routing;
pub mod server;
pub mod store;
pub mod suspicion;
pub mod transfer;
pub mod vote_bytes;

pub use command::{Batch, Command, CommandKeys, Op};
pub use kv::{Applied, KvStore, Reply};
