//! Fragments: a message too large for one datagram travels as several, each authenticated on
//! its own with the channel key, like a whole datagram. A fragment is
//!
//! | bytes | field |
//! |---|---|
//! | 2 | [`FRAGMENT_MAGIC`], `BF` |
//! | 1 | [`super::VERSION`] |
//! | 4 | sender, u32 big-endian |
//! | 4 | receiver, likewise |
//! | 32 | SHA-256 of the whole payload: names the message and checks its reassembly |
//! | 4 | the payload's length in bytes, u32 big-endian, at most [`MAX_MESSAGE`] |
//! | 4 | the fragment's index, u32 big-endian, from 0 |
//! | k | bytes `index * FRAGMENT_DATA ..` of the payload: [`FRAGMENT_DATA`] bytes, fewer in the last |
//! | 32 | HMAC-SHA256 of every byte before it, under the channel key of (sender, receiver) |
//!
//! Naming a message by its digest needs no counter that a restart could reuse, so fragments
//! of two messages are never mixed; the same message sent twice is the same message.

use super::channel::ChannelKey;
use super::{HEADER_LEN, MAX_DATAGRAM, TAG_LEN, VERSION, WireError};
use sha2::{Digest, Sha256};

/// The first bytes of a fragment (a whole message starts with [`super::MAGIC`]).
pub const FRAGMENT_MAGIC: [u8; 2] = *b"BF";
/// The header of a fragment: magic, version, sender, receiver, digest, length, index.
pub const FRAGMENT_HEADER_LEN: usize = HEADER_LEN + 32 + 4 + 4;
/// The payload bytes in every fragment but the last.
pub const FRAGMENT_DATA: usize = MAX_DATAGRAM - FRAGMENT_HEADER_LEN - TAG_LEN;
pub use crate::bounds::MAX_MESSAGE;

/// How many fragments carry a payload of `len` bytes.
pub fn fragment_count(len: usize) -> usize {
    len.div_ceil(FRAGMENT_DATA)
}

/// The fragments of `payload`, whose SHA-256 is `digest`, from `from` to `to` (wire ids),
/// each tagged under `key`.
pub(super) fn split(
    from: u32,
    to: u32,
    payload: &[u8],
    digest: &[u8; 32],
    key: &ChannelKey,
) -> Vec<Vec<u8>> {
    // The caller bounds the payload by MAX_MESSAGE, which fits a u32.
    let total = payload.len() as u32;
    payload
        .chunks(FRAGMENT_DATA)
        .enumerate()
        .map(|(index, data)| {
            let mut fragment = Vec::with_capacity(FRAGMENT_HEADER_LEN + data.len() + TAG_LEN);
            fragment.extend_from_slice(&FRAGMENT_MAGIC);
            fragment.push(VERSION);
            fragment.extend_from_slice(&from.to_be_bytes());
            fragment.extend_from_slice(&to.to_be_bytes());
            fragment.extend_from_slice(digest);
            fragment.extend_from_slice(&total.to_be_bytes());
            fragment.extend_from_slice(&(index as u32).to_be_bytes());
            fragment.extend_from_slice(data);
            let tag = key.tag(&fragment);
            fragment.extend_from_slice(&tag);
            fragment
        })
        .collect()
}

/// An authenticated fragment's fields, checked for consistency.
#[derive(Debug)]
pub(super) struct Fragment<'a> {
    pub digest: [u8; 32],
    pub total: usize,
    pub index: usize,
    pub data: &'a [u8],
}

impl<'a> Fragment<'a> {
    /// Reads the fields after the ids of a fragment whose tag verified (`signed` is every byte
    /// before the tag). The length, index and amount of data must agree.
    pub fn parse(signed: &'a [u8]) -> Result<Self, WireError> {
        let Some((header, data)) = signed.split_first_chunk::<FRAGMENT_HEADER_LEN>() else {
            return Err(WireError::TooShort);
        };
        let field = |at: usize| {
            let bytes = [header[at], header[at + 1], header[at + 2], header[at + 3]];
            u32::from_be_bytes(bytes) as usize
        };
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&header[HEADER_LEN..HEADER_LEN + 32]);
        let total = field(HEADER_LEN + 32);
        let index = field(HEADER_LEN + 36);
        if total == 0 || total > MAX_MESSAGE {
            return Err(WireError::BadFragment);
        }
        if index >= fragment_count(total) {
            return Err(WireError::BadFragment);
        }
        let expected = (total - index * FRAGMENT_DATA).min(FRAGMENT_DATA);
        if data.len() != expected {
            return Err(WireError::BadFragment);
        }
        Ok(Fragment {
            digest,
            total,
            index,
            data,
        })
    }
}

/// Whether `payload` is the message that `digest` names.
pub(super) fn matches(payload: &[u8], digest: &[u8; 32]) -> bool {
    Sha256::digest(payload).as_slice() == digest
}
