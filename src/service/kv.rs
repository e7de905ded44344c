//! The key-value state machine. Every replica applies the same batches in log order and so
//! reaches the same state and the same replies: exactly once per (client, seq), and a command
//! whose authenticator is bad is skipped by every replica alike.

use super::command::{Batch, Command, CommandKeys, Op};
use crate::types::ClientId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The answer to a command.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Reply {
    /// A put was applied.
    Stored,
    /// The value read (`None`: no such key).
    Value(Option<String>),
    /// A compare-and-set: whether it swapped, and the value it found.
    Cas {
        swapped: bool,
        found: Option<String>,
    },
}

/// What applying one command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Executed now, with this reply.
    Executed(Reply),
    /// Already executed (a retransmission in a later slot): the reply it had then, if it is
    /// the client's latest command.
    Duplicate(Option<Reply>),
    /// Its authenticator is not its client's: nobody executes it.
    Forged,
}

/// The store and, per client, the latest command executed and its reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KvStore {
    data: BTreeMap<String, String>,
    sessions: BTreeMap<ClientId, (u64, Reply)>,
}

impl KvStore {
    /// The bytes of its keys and values: how large the store has grown.
    pub fn data_bytes(&self) -> usize {
        self.data.iter().map(|(k, v)| k.len() + v.len()).sum()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(String::as_str)
    }

    /// The latest command executed for `client`, and its reply.
    pub fn session(&self, client: ClientId) -> Option<(u64, &Reply)> {
        self.sessions.get(&client).map(|(seq, reply)| (*seq, reply))
    }

    /// Applies the batch of one slot, command by command.
    pub fn apply_batch(&mut self, batch: &Batch, keys: &CommandKeys) -> Vec<Applied> {
        batch.0.iter().map(|c| self.apply(c, keys)).collect()
    }

    /// Applies one command. A client numbers its commands 1, 2, …: a seq at or below its
    /// latest executed one is a duplicate. Seqs may skip (a command lost before it reached a
    /// proposer), since clients wait for each reply before the next command.
    pub fn apply(&mut self, command: &Command, keys: &CommandKeys) -> Applied {
        if !command.is_authentic(keys) {
            return Applied::Forged;
        }
        if let Some((latest, reply)) = self.sessions.get(&command.client)
            && command.seq <= *latest
        {
            return Applied::Duplicate((command.seq == *latest).then(|| reply.clone()));
        }
        let reply = self.execute(&command.op);
        self.sessions
            .insert(command.client, (command.seq, reply.clone()));
        Applied::Executed(reply)
    }

    fn execute(&mut self, op: &Op) -> Reply {
        match op {
            Op::Put { key, value } => {
                self.data.insert(key.clone(), value.clone());
                Reply::Stored
            }
            Op::Get { key } => Reply::Value(self.data.get(key).cloned()),
            Op::Cas { key, expected, new } => {
                let found = self.data.get(key).cloned();
                let swapped = found == *expected;
                if swapped {
                    self.data.insert(key.clone(), new.clone());
                }
                Reply::Cas { swapped, found }
            }
        }
    }
}
