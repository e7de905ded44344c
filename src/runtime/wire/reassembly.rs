//! Reassembly of fragmented messages with bounded memory per sender.
//!
//! Only authenticated fragments reach it, so every byte it holds came from a node that holds a
//! channel key with this one. Per sender it holds at most [`Limits::messages_per_sender`]
//! messages and [`Limits::bytes_per_sender`] bytes of fragments; a fragment that would pass
//! either bound evicts that sender's oldest incomplete messages first. As on UDP itself, a
//! message one of whose fragments is lost is lost: the protocol's resends recover.

use super::WireError;
use super::fragment::{self, Fragment};
use stateright::actor::Id;
use std::collections::{BTreeMap, VecDeque};

/// The bounds of reassembly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Fragments held per sender, in bytes of payload. At least [`fragment::MAX_MESSAGE`], so
    /// that the largest message can be reassembled.
    pub bytes_per_sender: usize,
    /// Incomplete messages held per sender.
    pub messages_per_sender: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            bytes_per_sender: fragment::MAX_MESSAGE,
            messages_per_sender: 8,
        }
    }
}

/// One message being reassembled.
#[derive(Clone, Debug)]
struct Partial {
    digest: [u8; 32],
    total: usize,
    /// The fragments received, by index.
    parts: BTreeMap<usize, Vec<u8>>,
    held: usize,
}

/// The incomplete messages of one sender, oldest first.
#[derive(Clone, Debug, Default)]
struct SenderBuffer {
    partials: VecDeque<Partial>,
    held: usize,
}

impl SenderBuffer {
    fn evict_oldest(&mut self) -> bool {
        match self.partials.pop_front() {
            Some(old) => {
                self.held -= old.held;
                true
            }
            None => false,
        }
    }
}

/// Every sender's incomplete messages.
#[derive(Clone, Debug, Default)]
pub struct Reassembly {
    limits: Limits,
    senders: BTreeMap<Id, SenderBuffer>,
    evicted: u64,
}

impl Reassembly {
    pub fn new(limits: Limits) -> Self {
        Reassembly {
            limits,
            ..Reassembly::default()
        }
    }

    /// Incomplete messages evicted so far to keep within the limits.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Bytes of fragments held now, over every sender.
    pub fn held(&self) -> usize {
        self.senders.values().map(|s| s.held).sum()
    }

    /// Adds an authenticated fragment from `sender`; the whole payload once it is complete
    /// and its digest matches. A fragment already held is ignored (a duplicate).
    pub(super) fn add(
        &mut self,
        sender: Id,
        fragment: Fragment<'_>,
    ) -> Result<Option<Vec<u8>>, WireError> {
        let Fragment {
            digest,
            total,
            index,
            data,
        } = fragment;
        if data.len() == total {
            // A message of one fragment needs no buffer.
            return Self::complete(data.to_vec(), &digest).map(Some);
        }
        let limits = self.limits;
        let buffer = self.senders.entry(sender).or_default();
        let position = buffer.partials.iter().position(|p| p.digest == digest);
        if let Some(at) = position {
            let partial = &buffer.partials[at];
            if partial.total != total {
                return Err(WireError::BadFragment);
            }
            if partial.parts.contains_key(&index) {
                return Ok(None);
            }
        }
        // Make room, oldest first, never evicting the message this fragment belongs to.
        let mut keep = position;
        let new_message = usize::from(position.is_none());
        while buffer.held + data.len() > limits.bytes_per_sender
            || buffer.partials.len() + new_message > limits.messages_per_sender
        {
            if keep == Some(0) {
                // The oldest is this fragment's own message: evict the next oldest instead.
                let Some(old) = buffer.partials.remove(1) else {
                    break;
                };
                buffer.held -= old.held;
            } else if buffer.evict_oldest() {
                keep = keep.map(|k| k - 1);
            } else {
                break;
            }
            self.evicted += 1;
        }
        if buffer.held + data.len() > limits.bytes_per_sender {
            // Only with limits below one message: nothing can be held.
            return Ok(None);
        }
        let at = match keep {
            Some(at) => at,
            None => {
                buffer.partials.push_back(Partial {
                    digest,
                    total,
                    parts: BTreeMap::new(),
                    held: 0,
                });
                buffer.partials.len() - 1
            }
        };
        let partial = &mut buffer.partials[at];
        partial.parts.insert(index, data.to_vec());
        partial.held += data.len();
        buffer.held += data.len();
        if partial.held < partial.total {
            return Ok(None);
        }
        let done = buffer.partials.remove(at).expect("the index was just used");
        buffer.held -= done.held;
        if buffer.partials.is_empty() {
            self.senders.remove(&sender);
        }
        let mut payload = Vec::with_capacity(done.total);
        for part in done.parts.into_values() {
            payload.extend_from_slice(&part);
        }
        Self::complete(payload, &digest).map(Some)
    }

    fn complete(payload: Vec<u8>, digest: &[u8; 32]) -> Result<Vec<u8>, WireError> {
        if fragment::matches(&payload, digest) {
            Ok(payload)
        } else {
            Err(WireError::BadFragment)
        }
    }
}
