//! Channel keys (PROTOCOL.md §8): each pair of agents shares an HMAC-SHA256 key that
//! authenticates every datagram between them. These are not the acceptors' domain key of
//! [`crate::auth`], which authenticates PROMISEs after a proposer carried them.

use super::wire_id;
use crate::auth::BadKey;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use stateright::actor::Id;
use std::collections::BTreeMap;
use std::fmt::{self, Debug};

/// The key of one channel, ready to tag and verify datagrams.
#[derive(Clone)]
pub struct ChannelKey {
    keyed: Hmac<Sha256>,
}

impl ChannelKey {
    /// A channel key of at least 16 bytes: it is a secret of the pair.
    pub fn new(key: &[u8]) -> Result<Self, BadKey> {
        if key.len() < 16 {
            return Err(BadKey(format!(
                "the channel key has {} bytes; at least 16 are needed",
                key.len()
            )));
        }
        let keyed = Hmac::<Sha256>::new_from_slice(key)
            .map_err(|e| BadKey(format!("HMAC rejected the channel key: {e}")))?;
        Ok(ChannelKey { keyed })
    }

    /// The HMAC-SHA256 tag of `bytes`.
    pub fn tag(&self, bytes: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(bytes);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` authenticates `bytes`, compared in constant time.
    pub fn verify(&self, bytes: &[u8], tag: &[u8]) -> bool {
        let mut mac = self.keyed.clone();
        mac.update(bytes);
        mac.verify_slice(tag).is_ok()
    }
}

impl Debug for ChannelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.write_str("ChannelKey(..)")
    }
}

/// The channel keys an agent knows, one per unordered pair of ids: the key of `(a, b)` is the key
/// of `(b, a)`.
#[derive(Clone, Debug, Default)]
pub struct ChannelKeys {
    keys: BTreeMap<(Id, Id), ChannelKey>,
}

impl ChannelKeys {
    /// No keys: every datagram is refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// The keys of a map from pairs of ids to key bytes.
    pub fn from_map<K: AsRef<[u8]>>(
        map: impl IntoIterator<Item = ((Id, Id), K)>,
    ) -> Result<Self, BadKey> {
        let mut keys = ChannelKeys::new();
        for ((a, b), key) in map {
            keys.insert(a, b, key.as_ref())?;
        }
        Ok(keys)
    }

    /// Sets the key of the pair `(a, b)`, replacing any earlier one.
    pub fn insert(&mut self, a: Id, b: Id, key: &[u8]) -> Result<(), BadKey> {
        for id in [a, b] {
            if wire_id(id).is_none() {
                return Err(BadKey(format!(
                    "{id:?} does not fit the 32-bit id of a datagram"
                )));
            }
        }
        self.keys.insert(pair(a, b), ChannelKey::new(key)?);
        Ok(())
    }

    /// The key of the pair `(a, b)`, if known.
    pub fn key(&self, a: Id, b: Id) -> Option<&ChannelKey> {
        self.keys.get(&pair(a, b))
    }
}

/// The unordered pair `{a, b}`, smaller id first.
fn pair(a: Id, b: Id) -> (Id, Id) {
    if a <= b { (a, b) } else { (b, a) }
}
