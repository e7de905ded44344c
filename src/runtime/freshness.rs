//! What a message says about where to answer its sender.

use crate::message::Msg;

/// What a message from a node with no fixed address (a client) says about where to answer
/// it. Its address is learned from its authenticated datagrams, but only from a fresh one: a
/// datagram is authentic however often it is replayed and from wherever, so a replayed or
/// spoofed copy must not move where the node's answers go (a reflection attack).
pub trait Freshness {
    /// A number its sender raises with every new request (a client's command number), if
    /// this message may move the sender's address: it moves only for a number above every
    /// one it moved for before. `None`: this message never moves it.
    fn freshness(&self) -> Option<u64>;
}

/// The single decree's nodes all have fixed addresses: no message moves one.
impl<V> Freshness for Msg<V> {
    fn freshness(&self) -> Option<u64> {
        None
    }
}
