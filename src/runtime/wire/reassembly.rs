//! Reassembly of fragmented messages with bounded memory per sender.
//!
//! Only authenticated fragments reach it, so every byte it holds came from a node that holds a
//! channel key with this one. Per sender it holds at most [`Limits::messages_per_sender`]
//! messages and [`Limits::bytes_per_sender`] bytes of fragments. As on UDP itself, a message
//! one of whose fragments is lost is lost until the protocol resends it; a resend names the
//! message by the same digest, so it fills the gaps the first send left.
//!
//! A fragment that would pass either bound evicts first the messages that only repeat one
//! completed a moment ago (a late or duplicated fragment of it starts a message that will
//! not complete unless it is resent), then the message that received a fragment least
//! recently: one whose sender stopped, not one being resent.

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
    /// Incomplete messages held per sender: enough for the messages a leader resends while a
    /// large one waits for its next resend.
    pub messages_per_sender: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            bytes_per_sender: fragment::MAX_MESSAGE,
            messages_per_sender: 32,
        }
    }
}

/// How many completed messages a sender's buffer remembers, to know a late copy of one.
const REMEMBERED_COMPLETIONS: usize = 16;

/// One message being reassembled.
#[derive(Clone, Debug)]
struct Partial {
    digest: [u8; 32],
    total: usize,
    /// The fragments received, by index.
    parts: BTreeMap<usize, Vec<u8>>,
    held: usize,
    /// Whether it repeats a message completed recently: evicted before any other.
    repeat: bool,
}

/// The incomplete messages of one sender, least recently added to first, and the digests of
/// the last messages it completed.
#[derive(Clone, Debug, Default)]
struct SenderBuffer {
    partials: VecDeque<Partial>,
    held: usize,
    completed: VecDeque<[u8; 32]>,
}

impl SenderBuffer {
    /// Takes out the message to evict first, if any.
    fn evict(&mut self) -> Option<Partial> {
        let at = self.partials.iter().position(|p| p.repeat).unwrap_or(0);
        let old = self.partials.remove(at)?;
        self.held -= old.held;
        Some(old)
    }

    fn note_completed(&mut self, digest: [u8; 32]) {
        if self.completed.len() == REMEMBERED_COMPLETIONS {
            self.completed.pop_front();
        }
        self.completed.push_back(digest);
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
        // The message this fragment belongs to is taken out while room is made, so that it
        // is never the one evicted, and goes back last: the most recently added to.
        let mut partial = match buffer.partials.iter().position(|p| p.digest == digest) {
            Some(at) => {
                let partial = buffer
                    .partials
                    .remove(at)
                    .expect("the index was just found");
                buffer.held -= partial.held;
                partial
            }
            None => Partial {
                digest,
                total,
                parts: BTreeMap::new(),
                held: 0,
                repeat: buffer.completed.contains(&digest),
            },
        };
        if partial.total != total {
            buffer.held += partial.held;
            buffer.partials.push_back(partial);
            return Err(WireError::BadFragment);
        }
        if !partial.parts.contains_key(&index) {
            while buffer.held + partial.held + data.len() > limits.bytes_per_sender
                || buffer.partials.len() + 1 > limits.messages_per_sender
            {
                let Some(old) = buffer.evict() else { break };
                self.evicted += 1;
                tracing::debug!(
                    sender = usize::from(sender),
                    bytes = old.total,
                    held = old.held,
                    repeat = old.repeat,
                    "reassembly evicted an incomplete message"
                );
            }
            // Only with limits below one message can it still not fit: then it is not held.
            if buffer.held + partial.held + data.len() <= limits.bytes_per_sender {
                partial.parts.insert(index, data.to_vec());
                partial.held += data.len();
            }
        }
        if partial.held < partial.total {
            buffer.held += partial.held;
            if partial.held > 0 {
                buffer.partials.push_back(partial);
            }
            return Ok(None);
        }
        buffer.note_completed(digest);
        let mut payload = Vec::with_capacity(partial.total);
        for part in partial.parts.into_values() {
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
