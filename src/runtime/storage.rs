//! Where a node keeps what must survive a crash: for an acceptor, its round and votes.

use crate::durable::DurableLog;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io;

/// Durable storage of an actor's stable state.
pub trait Storage<S>: Send + 'static {
    /// Makes `state` durable (written and synced) before returning: the sends that follow
    /// depend on it.
    fn save(&mut self, state: &S) -> io::Result<()>;

    /// Writes `state` without waiting for the disk: it is durable once [`Storage::sync`]
    /// returns, and nothing that depends on it may be sent before. By default a write is a
    /// save, for stores with nothing to gain from grouping.
    fn write(&mut self, state: &S) -> io::Result<()> {
        self.save(state)
    }

    /// Makes every state written so far durable.
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// No storage, for agents that keep nothing across restarts (proposers, clients).
pub struct Volatile;

impl<S> Storage<S> for Volatile {
    fn save(&mut self, _: &S) -> io::Result<()> {
        Ok(())
    }
}

/// An acceptor's file: each save appends a snapshot and syncs it.
impl<R> Storage<R> for DurableLog<R>
where
    R: Serialize + DeserializeOwned + Send + 'static,
{
    fn save(&mut self, state: &R) -> io::Result<()> {
        self.append(state).map_err(io::Error::other)
    }
}
