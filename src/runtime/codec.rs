//! The codec of a running cluster: the wire format under the channel keys of its config.

use super::event_loop::Codec;
use super::wire::{self, ChannelKeys, WireError};
use crate::auth::BadKey;
use crate::cluster_config::ClusterConfig;
use serde::Serialize;
use serde::de::DeserializeOwned;
use stateright::actor::Id;
use std::sync::Arc;

/// Authenticated datagrams between the nodes of one cluster.
#[derive(Clone, Debug)]
pub struct WireCodec {
    keys: Arc<ChannelKeys>,
}

impl WireCodec {
    pub fn new(keys: ChannelKeys) -> Self {
        WireCodec {
            keys: Arc::new(keys),
        }
    }

    /// Every channel key of a validated config, by the nodes' stateright ids.
    pub fn from_config(config: &ClusterConfig) -> Result<Self, BadKey> {
        let mut keys = ChannelKeys::new();
        let nodes: Vec<_> = config.nodes().collect();
        for (i, a) in nodes.iter().enumerate() {
            for b in &nodes[i + 1..] {
                if let Some(key) = config.channel_key(*a, *b) {
                    let bytes = key
                        .to_bytes()
                        .map_err(|e| BadKey(format!("channel key {a}–{b}: {e}")))?;
                    keys.insert(config.stateright_id(*a), config.stateright_id(*b), &bytes)?;
                }
            }
        }
        Ok(WireCodec::new(keys))
    }
}

impl<M: Serialize + DeserializeOwned> Codec<M> for WireCodec {
    type Error = WireError;

    fn encode(&self, from: Id, to: Id, msg: &M) -> Result<Vec<u8>, WireError> {
        wire::encode(from, to, msg, &self.keys)
    }

    fn decode(&self, me: Id, datagram: &[u8]) -> Result<(Id, M), WireError> {
        wire::decode(datagram, me, &self.keys)
    }
}
