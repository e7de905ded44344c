//! State transfer in bounded chunks: a replica that lags behind what its peers still keep
//! receives a copy of a peer's store, one datagram-sized part at a time, and installs it only
//! once it has every byte and they hash to the digest every part names.
//!
//! The sender encodes its store once (postcard, as on the wire) when a peer asks, and holds
//! that encoding, so that every part comes from the same store however far it applies in the
//! meantime. The receiver asks for each next part when it has the previous one (so no burst
//! can overflow a socket buffer) and asks again on its tick when a part is lost. Both sides
//! forget a transfer that makes no progress for a while. Pure functions over the state; the
//! actor sends what they return.

use super::kv::KvStore;
pub use super::msg::Part;
use super::msg::ServiceMsg;
use crate::log::Slot;
use sha2::{Digest, Sha256};
use stateright::actor::Id;
use std::sync::Arc;

/// The store bytes in one `Snapshot` part: with its other fields it fits one datagram.
pub const SNAPSHOT_PART_BYTES: usize = 48 * 1024;
/// Ticks without progress after which a transfer is forgotten, by its receiver.
const RECEIVER_PATIENCE: u32 = 20;
/// Ticks without a request after which a sender drops the copy it holds.
const SENDER_PATIENCE: u32 = 50;

/// A store encoded for transfer, after every slot below `applied`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Offer {
    pub applied: Slot,
    pub log_digest: [u8; 32],
    pub store_digest: [u8; 32],
    pub bytes: Arc<[u8]>,
    idle: u32,
}

/// A store being received.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Incoming {
    /// Who sends it: where to ask for the next part.
    pub from: Id,
    pub applied: Slot,
    pub log_digest: [u8; 32],
    pub store_digest: [u8; 32],
    pub total: u64,
    pub bytes: Vec<u8>,
    idle: u32,
}

/// An acceptor's transfers: the copy it offers its peers and the one it receives.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Transfer {
    pub offer: Option<Offer>,
    pub incoming: Option<Incoming>,
}

/// What a part did to the transfer in progress.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// Nothing: a duplicate, a part of another copy, or nothing newer than what is applied.
    Ignored,
    /// Ask `from` for the next part.
    Fetch(Id, ServiceMsg),
    /// Every byte arrived and checked out: the store after every slot below `applied`.
    Complete {
        applied: Slot,
        log_digest: [u8; 32],
        store: KvStore,
    },
}

impl Transfer {
    /// The first part of a copy of `store`, after every slot below `applied` with the log
    /// digest `log_digest`, for a peer that needs slots from `from` on (if `applied` is past
    /// it). A copy held already serves if it is recent enough.
    pub fn offer_from(
        &mut self,
        applied: Slot,
        store: &KvStore,
        log_digest: [u8; 32],
        from: Slot,
    ) -> Option<ServiceMsg> {
        if applied <= from {
            return None;
        }
        let fresh = self.offer.as_ref().is_some_and(|o| o.applied > from);
        if !fresh {
            let bytes: Arc<[u8]> = postcard::to_stdvec(store).ok()?.into();
            self.offer = Some(Offer {
                applied,
                log_digest,
                store_digest: Sha256::digest(&bytes).into(),
                bytes,
                idle: 0,
            });
        }
        self.part_at(0)
    }

    /// The part from `offset` on of the copy of `applied`, if it is the one held.
    pub fn fetch(&mut self, applied: Slot, offset: u64) -> Option<ServiceMsg> {
        match &self.offer {
            Some(offer) if offer.applied == applied => self.part_at(offset),
            _ => None,
        }
    }

    fn part_at(&mut self, offset: u64) -> Option<ServiceMsg> {
        let offer = self.offer.as_mut()?;
        offer.idle = 0;
        let start = usize::try_from(offset).ok()?;
        let rest = offer.bytes.get(start..)?;
        if rest.is_empty() && start > 0 {
            return None;
        }
        let bytes = rest[..rest.len().min(SNAPSHOT_PART_BYTES)].to_vec();
        Some(ServiceMsg::Snapshot(Part {
            applied: offer.applied,
            log_digest: offer.log_digest,
            store_digest: offer.store_digest,
            total: offer.bytes.len() as u64,
            offset,
            bytes,
        }))
    }

    /// A part from acceptor `src`, for a replica that applied every slot below `applied`.
    pub fn receive(&mut self, src: Id, applied: Slot, part: Part) -> Received {
        if part.applied <= applied
            || part.offset.saturating_add(part.bytes.len() as u64) > part.total
        {
            return Received::Ignored;
        }
        if self.incoming.is_none() {
            // One copy at a time, and a new one only from its start.
            if part.offset != 0 {
                return Received::Ignored;
            }
            self.incoming = Some(Incoming {
                from: src,
                applied: part.applied,
                log_digest: part.log_digest,
                store_digest: part.store_digest,
                total: part.total,
                bytes: Vec::new(),
                idle: 0,
            });
        }
        let Some(incoming) = &mut self.incoming else {
            return Received::Ignored;
        };
        let same = (incoming.applied, incoming.store_digest, incoming.total)
            == (part.applied, part.store_digest, part.total);
        if !same || part.offset != incoming.bytes.len() as u64 || part.bytes.is_empty() {
            return Received::Ignored;
        }
        incoming.bytes.extend_from_slice(&part.bytes);
        incoming.from = src;
        incoming.idle = 0;
        if (incoming.bytes.len() as u64) < incoming.total {
            let fetch = ServiceMsg::SnapshotFetch {
                applied: incoming.applied,
                offset: incoming.bytes.len() as u64,
            };
            return Received::Fetch(src, fetch);
        }
        let Some(done) = self.incoming.take() else {
            return Received::Ignored;
        };
        let digest: [u8; 32] = Sha256::digest(&done.bytes).into();
        match postcard::from_bytes::<KvStore>(&done.bytes) {
            Ok(store) if digest == done.store_digest => Received::Complete {
                applied: done.applied,
                log_digest: done.log_digest,
                store,
            },
            // Not the copy its parts named: start over.
            _ => Received::Ignored,
        }
    }

    /// A tick: ask again for a part that did not come, forget what makes no progress.
    /// Returns the request to resend, if any.
    pub fn tick(&mut self) -> Option<(Id, ServiceMsg)> {
        if let Some(offer) = &mut self.offer {
            offer.idle += 1;
            if offer.idle > SENDER_PATIENCE {
                self.offer = None;
            }
        }
        let incoming = self.incoming.as_mut()?;
        incoming.idle += 1;
        if incoming.idle > RECEIVER_PATIENCE {
            self.incoming = None;
            return None;
        }
        let fetch = ServiceMsg::SnapshotFetch {
            applied: incoming.applied,
            offset: incoming.bytes.len() as u64,
        };
        Some((incoming.from, fetch))
    }

    /// Whether a copy is being received (then the replica waits for it rather than ask
    /// every peer again).
    pub fn receiving(&self) -> bool {
        self.incoming.is_some()
    }
}
