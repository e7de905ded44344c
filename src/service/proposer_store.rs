//! What a server keeps across a crash, by role, and the proposer's file.
//!
//! An acceptor keeps its round, votes and replica snapshot ([`ServiceDurable`], in
//! [`super::store`]). A proposer keeps the NEWROUND of the round it began last, synced before
//! it is sent: after a restart it sends that very NEWROUND again instead of never answering
//! the acceptors that did not get it (they would wait for the suspicion period, doubled if
//! the rounds before decided nothing), and it never begins that round a second time with
//! another plan. One sync per round begun, none per command.

use super::msg::SlotValue;
use super::store::ServiceDurable;
use crate::durable::DurableError;
use crate::durable::snapshot::{read_snapshot, write_snapshot};
use crate::log::message::LogMsg;
use crate::runtime::storage::Storage;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// What a server saves, of the kind of its role.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ServerDurable {
    Acceptor(ServiceDurable),
    Proposer(ProposerDurable),
}

impl From<ServiceDurable> for ServerDurable {
    fn from(acceptor: ServiceDurable) -> Self {
        ServerDurable::Acceptor(acceptor)
    }
}

impl ServerDurable {
    /// An acceptor's record, if this is one.
    pub fn acceptor(&self) -> Option<&ServiceDurable> {
        match self {
            ServerDurable::Acceptor(a) => Some(a),
            ServerDurable::Proposer(_) => None,
        }
    }

    /// The acceptor's record, or the error of a store of votes given a proposer's.
    pub fn acceptor_record(&self) -> io::Result<&ServiceDurable> {
        self.acceptor()
            .ok_or_else(|| io::Error::other("an acceptor's store keeps no proposer's round"))
    }

    /// A proposer's record, if this is one.
    pub fn proposer(&self) -> Option<&ProposerDurable> {
        match self {
            ServerDurable::Proposer(p) => Some(p),
            ServerDurable::Acceptor(_) => None,
        }
    }
}

/// A store of an acceptor's records (on disk, or the simulator's): as the server's store, it
/// keeps the acceptor's record and refuses a proposer's.
pub trait KeepsAcceptorRecords: Storage<ServiceDurable> {}

impl KeepsAcceptorRecords for super::store::ServiceStore {}

impl<S: KeepsAcceptorRecords> Storage<ServerDurable> for S {
    fn save(&mut self, state: &ServerDurable) -> io::Result<()> {
        Storage::<ServiceDurable>::save(self, state.acceptor_record()?)
    }

    fn write(&mut self, state: &ServerDurable) -> io::Result<()> {
        Storage::<ServiceDurable>::write(self, state.acceptor_record()?)
    }

    fn sync(&mut self) -> io::Result<()> {
        Storage::<ServiceDurable>::sync(self)
    }
}

/// A proposer's record: the NEWROUND of the last round it began, as it was sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProposerDurable {
    pub new_round: LogMsg<SlotValue>,
}

/// The file of proposer `id` in `data_dir`.
pub fn proposer_path(data_dir: &Path, id: u16) -> PathBuf {
    data_dir.join(format!("proposer-{id}.round"))
}

/// A proposer's file, replaced whole (and synced, file and directory) at each save: a crash
/// leaves the old record or the new one.
#[derive(Debug)]
pub struct ProposerStore {
    path: PathBuf,
}

impl ProposerStore {
    /// Opens the file of proposer `id` in `data_dir`, with the record it holds (`None` for a
    /// proposer that never began a round).
    pub fn open(
        data_dir: &Path,
        id: u16,
    ) -> Result<(ProposerStore, Option<ProposerDurable>), DurableError> {
        let path = proposer_path(data_dir, id);
        let record = read_snapshot::<ProposerDurable>(&path)?;
        Ok((ProposerStore { path }, record))
    }
}

/// Saves a proposer's record; an acceptor's has no place here. A save that fails (a full
/// disk) is logged and the proposer goes on: the record serves liveness only, and a proposer
/// without it after a restart is one that never began a round, which is safe.
impl Storage<ServerDurable> for ProposerStore {
    fn save(&mut self, state: &ServerDurable) -> io::Result<()> {
        match state {
            ServerDurable::Proposer(record) => {
                if let Err(e) = write_snapshot(&self.path, record) {
                    tracing::warn!(error = %e, "the proposer's round is not stored");
                }
                Ok(())
            }
            ServerDurable::Acceptor(_) => Err(io::Error::other(
                "a proposer's store keeps no acceptor's votes",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::message::LogProof;
    use crate::temp_dir::TempDir;

    fn new_round(round: u32) -> ProposerDurable {
        ProposerDurable {
            new_round: LogMsg::NewRound {
                round,
                proof: LogProof::from(Vec::new()),
                accepts: Vec::new().into(),
            },
        }
    }

    #[test]
    fn a_saved_new_round_is_read_back_and_replaced_by_the_next() {
        let dir = TempDir::new("proposer-store");
        let (mut store, none) = ProposerStore::open(dir.path(), 1).unwrap();
        assert_eq!(none, None, "a proposer that never began a round");
        store.save(&ServerDurable::Proposer(new_round(5))).unwrap();
        store.save(&ServerDurable::Proposer(new_round(9))).unwrap();
        let (_, read) = ProposerStore::open(dir.path(), 1).unwrap();
        assert_eq!(read, Some(new_round(9)));
        let (_, other) = ProposerStore::open(dir.path(), 0).unwrap();
        assert_eq!(other, None, "each proposer has its own file");
    }

    #[test]
    fn an_acceptors_record_is_refused() {
        let dir = TempDir::new("proposer-store-refuses");
        let (mut store, _) = ProposerStore::open(dir.path(), 0).unwrap();
        let acceptor = ServerDurable::from(ServiceDurable::with_base(0, None));
        assert!(store.save(&acceptor).is_err());
        assert_eq!(ProposerStore::open(dir.path(), 0).unwrap().1, None);
    }
}
