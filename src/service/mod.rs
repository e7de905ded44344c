//! The replicated key-value service (PROTOCOL.md §8): clients' commands, authenticated with a
//! key each client shares with the servers (never with proposers), batched into the values
//! the log agrees on, and applied exactly once, in log order, by every replica alike.

pub mod command;
pub mod kv;

pub use command::{Batch, Command, CommandKeys, Op};
pub use kv::{Applied, KvStore, Reply};
