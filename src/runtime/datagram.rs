//! What the event loop needs of a wire format: a [`Codec`] that turns messages into
//! authenticated datagrams and back.

use super::wire::DropCounts;
use stateright::actor::Id;
use std::fmt::Display;

/// Turns messages into authenticated datagrams and back.
pub trait Codec<M>: Send + 'static {
    type Error: Display;
    /// A message serialized once for all its receivers.
    type Serialized: Send;
    fn serialize(&self, msg: &M) -> Result<Self::Serialized, Self::Error>;
    /// The datagrams that carry a serialized message from `from` to `to`.
    fn frame(&self, from: Id, to: Id, msg: &Self::Serialized) -> Result<Vec<Vec<u8>>, Self::Error>;
    /// The datagrams that carry `msg`: one, or the fragments of a larger message.
    fn encode(&self, from: Id, to: Id, msg: &M) -> Result<Vec<Vec<u8>>, Self::Error> {
        self.frame(from, to, &self.serialize(msg)?)
    }
    /// The authenticated sender and the message, for a datagram addressed to `me`; `None`
    /// for a fragment that does not complete its message yet.
    fn decode(&mut self, me: Id, datagram: &[u8]) -> Result<Option<(Id, M)>, Self::Error>;
    /// Counts a datagram dropped for `error` under its reason, if the codec has reasons.
    fn count_drop(&self, _error: &Self::Error, _counts: &mut DropCounts) {}
}
