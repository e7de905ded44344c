//! The datagram format of the UDP runtime (PROTOCOL.md §8). A datagram is
//!
//! | bytes | field |
//! |---|---|
//! | 2 | [`MAGIC`], `BP` |
//! | 1 | [`VERSION`] of the format |
//! | 4 | sender: the index of its stateright `Id`, u32 big-endian |
//! | 4 | receiver, likewise |
//! | n | payload, encoded with postcard |
//! | 32 | HMAC-SHA256 of every byte before it, under the channel key of (sender, receiver) |
//!
//! The tag covers both ids, so although a pair shares one key, a datagram can be neither
//! re-addressed nor reflected back to its sender. Replays are not stopped here: channels may
//! duplicate messages (PROTOCOL.md §1) and the protocol tolerates it.
//!
//! [`decode`] checks the length, the header, the receiver, the sender's key and the tag, in that
//! order, and only then lets postcard read the payload: unauthenticated bytes never reach the
//! deserializer. Reading and writing are bounded by the datagram (see `bounded.rs`). Payload
//! types must not be recursive, since postcard has no nesting limit.
//!
//! A message too large for one datagram, up to [`MAX_MESSAGE`] bytes of payload, travels as
//! fragments (`fragment.rs`), each authenticated like a datagram; [`receive`] reassembles
//! them with bounded memory per sender (`reassembly.rs`). [`encode_message`] and [`receive`]
//! are what nodes use; [`encode`] and [`decode`] handle one whole datagram. A message for
//! several receivers is serialized once ([`Serialized`]) and then [`frame`]d for each.

mod bounded;
mod channel;
mod error;
mod fragment;
mod reassembly;
mod serialized;

pub use bounded::encoded_len;
pub use channel::{ChannelKey, ChannelKeys};
pub use error::{DropCounts, WireError};
pub use fragment::{
    FRAGMENT_DATA, FRAGMENT_HEADER_LEN, FRAGMENT_MAGIC, MAX_MESSAGE, fragment_count,
};
pub use reassembly::{Limits as ReassemblyLimits, Reassembly};
pub use serialized::{Serialized, frame};

use serde::Serialize;
use serde::de::DeserializeOwned;
use stateright::actor::Id;

/// The first bytes of every datagram.
pub const MAGIC: [u8; 2] = *b"BP";
/// The version of this format; a datagram of another version is dropped.
pub const VERSION: u8 = 1;
/// Magic, version, sender and receiver.
pub const HEADER_LEN: usize = MAGIC.len() + 1 + 4 + 4;
/// The HMAC-SHA256 tag at the end.
pub const TAG_LEN: usize = 32;
/// The largest datagram, header and tag included: under the 65 507 bytes of a UDP/IPv4 payload.
pub const MAX_DATAGRAM: usize = 65_000;

/// The datagram that carries `payload` from `sender` to `receiver`, authenticated with their
/// channel key. A payload too large for [`MAX_DATAGRAM`] is an error, never truncated.
pub fn encode<T: Serialize + ?Sized>(
    sender: Id,
    receiver: Id,
    payload: &T,
    keys: &ChannelKeys,
) -> Result<Vec<u8>, WireError> {
    let key = keys.key(sender, receiver).ok_or(WireError::NoChannelKey)?;
    // ChannelKeys only holds ids that fit, so this cannot fail; stay total anyway.
    let (Some(from), Some(to)) = (wire_id(sender), wire_id(receiver)) else {
        return Err(WireError::NoChannelKey);
    };
    // Room for a small message; the buffer grows as the payload needs, never past the limit.
    let mut datagram = Vec::with_capacity(HEADER_LEN + 64 + TAG_LEN);
    datagram.extend_from_slice(&MAGIC);
    datagram.push(VERSION);
    datagram.extend_from_slice(&from.to_be_bytes());
    datagram.extend_from_slice(&to.to_be_bytes());
    let mut datagram = bounded::write(payload, datagram, MAX_DATAGRAM - TAG_LEN)?;
    let tag = key.tag(&datagram);
    datagram.extend_from_slice(&tag);
    Ok(datagram)
}

/// The datagrams that carry `payload` from `sender` to `receiver`: one whole datagram (as
/// [`encode`] makes it) when it fits, else its fragments. A payload of more than
/// [`MAX_MESSAGE`] bytes is an error.
pub fn encode_message<T: Serialize + ?Sized>(
    sender: Id,
    receiver: Id,
    payload: &T,
    keys: &ChannelKeys,
) -> Result<Vec<Vec<u8>>, WireError> {
    // A link without a key is refused before any work on the payload.
    keys.key(sender, receiver).ok_or(WireError::NoChannelKey)?;
    frame(sender, receiver, &Serialized::new(payload)?, keys)
}

/// The sender and payload of a datagram received by `me`, once its header and tag check out.
pub fn decode<T: DeserializeOwned>(
    datagram: &[u8],
    me: Id,
    keys: &ChannelKeys,
) -> Result<(Id, T), WireError> {
    decode_with(datagram, me, keys, parse)
}

/// [`decode`], with `parse` reading the authenticated payload.
fn decode_with<T>(
    datagram: &[u8],
    me: Id,
    keys: &ChannelKeys,
    parse: impl FnOnce(&[u8]) -> Result<T, WireError>,
) -> Result<(Id, T), WireError> {
    let (signed, tag) = split_tag(datagram)?;
    let Some((header, payload)) = signed.split_first_chunk::<HEADER_LEN>() else {
        return Err(WireError::TooShort);
    };
    if header[..2] != MAGIC || header[2] != VERSION {
        return Err(WireError::BadVersion);
    }
    let sender = authenticate(header, signed, tag, me, keys)?;
    Ok((sender, parse(payload)?))
}

/// What `me` received in a datagram: a whole message, or the fragment that completes one
/// (then the message), or a fragment that does not yet (`None`). A fragment is checked like
/// a datagram, and held in `reassembly` only once its tag verifies.
pub fn receive<T: DeserializeOwned>(
    datagram: &[u8],
    me: Id,
    keys: &ChannelKeys,
    reassembly: &mut Reassembly,
) -> Result<Option<(Id, T)>, WireError> {
    receive_with(datagram, me, keys, reassembly, parse)
}

/// [`receive`], with `parse` reading each authenticated, whole payload: a receiver that
/// meets the same payload often (the copies of a broadcast) may keep what it read.
pub fn receive_with<T>(
    datagram: &[u8],
    me: Id,
    keys: &ChannelKeys,
    reassembly: &mut Reassembly,
    parse: impl FnOnce(&[u8]) -> Result<T, WireError>,
) -> Result<Option<(Id, T)>, WireError> {
    let (signed, tag) = split_tag(datagram)?;
    if signed[..2] != FRAGMENT_MAGIC {
        return decode_with(datagram, me, keys, parse).map(Some);
    }
    if signed[2] != VERSION {
        return Err(WireError::BadVersion);
    }
    let Some((header, _)) = signed.split_first_chunk::<HEADER_LEN>() else {
        return Err(WireError::TooShort);
    };
    if signed.len() < FRAGMENT_HEADER_LEN {
        return Err(WireError::TooShort);
    }
    let sender = authenticate(header, signed, tag, me, keys)?;
    let fragment = fragment::Fragment::parse(signed)?;
    match reassembly.add(sender, fragment)? {
        Some(payload) => Ok(Some((sender, parse(&payload)?))),
        None => Ok(None),
    }
}

/// Reads an authenticated payload: a `T` that fills it exactly.
pub fn parse<T: DeserializeOwned>(payload: &[u8]) -> Result<T, WireError> {
    bounded::read(payload)
}

/// The bytes a tag covers and the tag, if the length is within the limits.
fn split_tag(datagram: &[u8]) -> Result<(&[u8], &[u8; TAG_LEN]), WireError> {
    if datagram.len() > MAX_DATAGRAM {
        return Err(WireError::TooLarge);
    }
    match datagram.split_last_chunk::<TAG_LEN>() {
        Some((signed, tag)) if signed.len() >= HEADER_LEN => Ok((signed, tag)),
        _ => Err(WireError::TooShort),
    }
}

/// The sender named in `header`, once the receiver is `me` and the tag verifies under the
/// pair's key.
fn authenticate(
    header: &[u8; HEADER_LEN],
    signed: &[u8],
    tag: &[u8; TAG_LEN],
    me: Id,
    keys: &ChannelKeys,
) -> Result<Id, WireError> {
    let [_, _, _, s0, s1, s2, s3, r0, r1, r2, r3] = *header;
    let sender = u32::from_be_bytes([s0, s1, s2, s3]);
    let receiver = u32::from_be_bytes([r0, r1, r2, r3]);
    if wire_id(me) != Some(receiver) {
        return Err(WireError::NotForMe);
    }
    let sender = usize::try_from(sender)
        .map(Id::from)
        .map_err(|_| WireError::UnknownSender)?;
    let key = keys.key(sender, me).ok_or(WireError::UnknownSender)?;
    if !key.verify(signed, tag) {
        return Err(WireError::BadMac);
    }
    Ok(sender)
}

/// The index of `id` as the datagram writes it, if it fits.
fn wire_id(id: Id) -> Option<u32> {
    u32::try_from(usize::from(id)).ok()
}
