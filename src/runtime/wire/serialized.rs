//! A message serialized once for all its destinations. The payload bytes of a datagram (or of
//! its fragments) do not depend on the link: only the header and the tag do, so a broadcast
//! serializes its message once, and a fragmented one digests it once.

use super::fragment;
use super::{ChannelKeys, HEADER_LEN, MAGIC, MAX_DATAGRAM, MAX_MESSAGE, TAG_LEN, VERSION};
use super::{WireError, bounded, wire_id};
use serde::Serialize;
use sha2::{Digest, Sha256};
use stateright::actor::Id;

/// The postcard payload of a message, and its SHA-256 when it travels as fragments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Serialized {
    bytes: Vec<u8>,
    /// Names the message in each of its fragments; `None` when it fits one datagram.
    digest: Option<[u8; 32]>,
}

impl Serialized {
    /// Serializes `payload`; more than [`MAX_MESSAGE`] bytes is an error.
    pub fn new<T: Serialize + ?Sized>(payload: &T) -> Result<Self, WireError> {
        // Room for most messages at once; a larger one grows as it needs.
        let bytes = bounded::write(payload, Vec::with_capacity(256), MAX_MESSAGE)?;
        let digest = (HEADER_LEN + bytes.len() + TAG_LEN > MAX_DATAGRAM)
            .then(|| Sha256::digest(&bytes).into());
        Ok(Serialized { bytes, digest })
    }
}

/// The datagrams that carry `message` from `sender` to `receiver`, authenticated with their
/// channel key: one whole datagram when it fits, else its fragments.
pub fn frame(
    sender: Id,
    receiver: Id,
    message: &Serialized,
    keys: &ChannelKeys,
) -> Result<Vec<Vec<u8>>, WireError> {
    let key = keys.key(sender, receiver).ok_or(WireError::NoChannelKey)?;
    // ChannelKeys only holds ids that fit, so this cannot fail; stay total anyway.
    let (Some(from), Some(to)) = (wire_id(sender), wire_id(receiver)) else {
        return Err(WireError::NoChannelKey);
    };
    if let Some(digest) = &message.digest {
        return Ok(fragment::split(from, to, &message.bytes, digest, key));
    }
    let mut datagram = Vec::with_capacity(HEADER_LEN + message.bytes.len() + TAG_LEN);
    datagram.extend_from_slice(&MAGIC);
    datagram.push(VERSION);
    datagram.extend_from_slice(&from.to_be_bytes());
    datagram.extend_from_slice(&to.to_be_bytes());
    datagram.extend_from_slice(&message.bytes);
    let tag = key.tag(&datagram);
    datagram.extend_from_slice(&tag);
    Ok(vec![datagram])
}
