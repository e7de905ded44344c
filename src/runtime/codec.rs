//! The codec of a running cluster: the wire format under the channel keys of its config.

use super::event_loop::Codec;
use super::parsed::Parsed;
use super::wire::{self, ChannelKeys, DropCounts, Reassembly, Serialized, WireError};
use crate::auth::BadKey;
use crate::cluster_config::{ClusterConfig, NodeId};
use serde::Serialize;
use serde::de::DeserializeOwned;
use stateright::actor::Id;
use std::sync::Arc;

/// Authenticated datagrams between the nodes of one cluster, and the fragments of the
/// messages it receives that are not complete yet.
#[derive(Clone, Debug)]
pub struct WireCodec {
    keys: Arc<ChannelKeys>,
    reassembly: Reassembly,
}

impl WireCodec {
    pub fn new(keys: ChannelKeys) -> Self {
        WireCodec {
            keys: Arc::new(keys),
            reassembly: Reassembly::default(),
        }
    }

    /// Incomplete messages evicted so far to keep reassembly within its bounds.
    pub fn evicted(&self) -> u64 {
        self.reassembly.evicted()
    }

    /// The codec of node `me`: the channel keys of the pairs it belongs to, and no other, so
    /// that it can neither pose as another node nor read what is not addressed to it.
    pub fn from_config(config: &ClusterConfig, me: NodeId) -> Result<Self, BadKey> {
        let mut keys = ChannelKeys::new();
        for peer in config.nodes().filter(|peer| *peer != me) {
            if let Some(key) = config.channel_key(me, peer) {
                let bytes = key
                    .to_bytes()
                    .map_err(|e| BadKey(format!("channel key {me}–{peer}: {e}")))?;
                keys.insert(config.stateright_id(me), config.stateright_id(peer), &bytes)?;
            }
        }
        Ok(WireCodec::new(keys))
    }
}

impl WireCodec {
    /// [`Codec::decode`], with `parse` reading each authenticated, whole payload.
    pub fn decode_with<M>(
        &mut self,
        me: Id,
        datagram: &[u8],
        parse: impl FnOnce(&[u8]) -> Result<M, WireError>,
    ) -> Result<Option<(Id, M)>, WireError> {
        wire::receive_with(datagram, me, &self.keys, &mut self.reassembly, parse)
    }
}

impl<M: Serialize + DeserializeOwned> Codec<M> for WireCodec {
    type Error = WireError;
    type Serialized = Serialized;

    fn serialize(&self, msg: &M) -> Result<Serialized, WireError> {
        Serialized::new(msg)
    }

    fn frame(&self, from: Id, to: Id, msg: &Serialized) -> Result<Vec<Vec<u8>>, WireError> {
        wire::frame(from, to, msg, &self.keys)
    }

    fn encode(&self, from: Id, to: Id, msg: &M) -> Result<Vec<Vec<u8>>, WireError> {
        wire::encode_message(from, to, msg, &self.keys)
    }

    fn decode(&mut self, me: Id, datagram: &[u8]) -> Result<Option<(Id, M)>, WireError> {
        wire::receive(datagram, me, &self.keys, &mut self.reassembly)
    }

    fn count_drop(&self, error: &WireError, counts: &mut DropCounts) {
        counts.record(error);
    }
}

/// The codec of a server: [`WireCodec`], reading each payload once for all its copies (see
/// [`Parsed`]): the LEARNs of one slot from every other acceptor carry equal payloads.
pub struct ServerCodec<M> {
    wire: WireCodec,
    parsed: Parsed<M>,
}

/// Enough for the copies of the broadcasts that arrive in one burst.
const SERVER_PARSED_KEPT: usize = 8;
/// Below 256 bytes a payload (a client's command, an ACCEPT of one command) is cheaper to read
/// than to keep; above one datagram, what is kept would grow to megabytes.
const SERVER_PARSED_LENGTHS: std::ops::RangeInclusive<usize> = 256..=wire::MAX_DATAGRAM;

impl<M: DeserializeOwned + Clone> ServerCodec<M> {
    pub fn new(wire: WireCodec) -> Self {
        ServerCodec {
            wire,
            parsed: Parsed::new(SERVER_PARSED_KEPT, SERVER_PARSED_LENGTHS),
        }
    }
}

impl<M: Serialize + DeserializeOwned + Clone + Send + 'static> Codec<M> for ServerCodec<M> {
    type Error = WireError;
    type Serialized = Serialized;

    fn serialize(&self, msg: &M) -> Result<Serialized, WireError> {
        Codec::<M>::serialize(&self.wire, msg)
    }

    fn frame(&self, from: Id, to: Id, msg: &Serialized) -> Result<Vec<Vec<u8>>, WireError> {
        Codec::<M>::frame(&self.wire, from, to, msg)
    }

    fn decode(&mut self, me: Id, datagram: &[u8]) -> Result<Option<(Id, M)>, WireError> {
        let parsed = &mut self.parsed;
        self.wire.decode_with(me, datagram, |p| parsed.parse(p))
    }

    fn count_drop(&self, error: &WireError, counts: &mut DropCounts) {
        counts.record(error);
    }
}
