//! PROMISE authenticators (PROTOCOL.md §3): `mac = HMAC-SHA256(K, encode(promise))` with a
//! domain key `K` that acceptors share and proposers never hold. Authentication works on
//! canonical bytes: each PROMISE kind ([`crate::message::Promise`], the log's
//! [`crate::log::message::LogPromise`]) says what its bytes are by implementing
//! [`Authenticated`], so this module depends on no message.

use hmac::{Hmac, Mac as _};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt::{self, Debug, Display};
use std::sync::atomic::{AtomicU64, Ordering};

/// A 32-byte authenticator.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Mac(pub [u8; 32]);

impl Mac {
    /// The authenticator a proposer puts on a PROMISE it made up: it cannot compute a real one.
    pub const FORGED: Mac = Mac([0; 32]);
}

impl Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mac({})", hex::encode(&self.0[..4]))
    }
}

impl Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", hex::encode(&self.0[..2]))
    }
}

/// Computes and checks PROMISE authenticators. Acceptors hold one; proposers never do.
pub trait Authenticator: Clone + Debug + Send + Sync + 'static {
    /// The authenticator of an encoded PROMISE.
    fn authenticate(&self, encoded: &[u8]) -> Mac;

    /// Whether `mac` authenticates `encoded`.
    fn verify(&self, encoded: &[u8], mac: &Mac) -> bool {
        self.authenticate(encoded) == *mac
    }
}

/// The shortest key accepted, in bytes: shorter keys are guessable.
pub const MIN_KEY_BYTES: usize = 16;

/// HMAC-SHA256 under the acceptors' shared domain key.
#[derive(Clone)]
pub struct HmacSha256 {
    keyed: Hmac<Sha256>,
}

/// A key that is not valid hex, or shorter than 16 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadKey(pub String);

impl Display for BadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad key: {}", self.0)
    }
}

impl std::error::Error for BadKey {}

impl HmacSha256 {
    /// An authenticator under `key` (at least 16 bytes: the domain key is a secret).
    pub fn new(key: &[u8]) -> Result<Self, BadKey> {
        if key.len() < MIN_KEY_BYTES {
            return Err(BadKey(format!(
                "the key has {} bytes; at least {MIN_KEY_BYTES} are needed",
                key.len()
            )));
        }
        let keyed = Hmac::<Sha256>::new_from_slice(key)
            .map_err(|e| BadKey(format!("HMAC rejected the key: {e}")))?;
        Ok(HmacSha256 { keyed })
    }

    /// An authenticator under a key written in hex, as in a cluster config.
    pub fn from_hex(key: &str) -> Result<Self, BadKey> {
        let bytes =
            hex::decode(key.trim()).map_err(|e| BadKey(format!("the key is not hex ({e})")))?;
        Self::new(&bytes)
    }
}

impl Debug for HmacSha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.write_str("HmacSha256(..)")
    }
}

/// PROMISE authenticators computed or checked under the domain key in this process, for
/// `bpfp bench` (the common case must compute none).
static PROOF_MACS: AtomicU64 = AtomicU64::new(0);

/// How many PROMISE authenticators this process computed or checked so far.
pub fn proof_macs_computed() -> u64 {
    PROOF_MACS.load(Ordering::Relaxed)
}

impl Authenticator for HmacSha256 {
    fn authenticate(&self, encoded: &[u8]) -> Mac {
        PROOF_MACS.fetch_add(1, Ordering::Relaxed);
        let mut mac = self.keyed.clone();
        mac.update(encoded);
        Mac(mac.finalize().into_bytes().into())
    }

    fn verify(&self, encoded: &[u8], mac: &Mac) -> bool {
        PROOF_MACS.fetch_add(1, Ordering::Relaxed);
        let mut check = self.keyed.clone();
        check.update(encoded);
        // Constant-time comparison.
        check.verify_slice(&mac.0).is_ok()
    }
}

/// A message whose authenticator covers a canonical encoding of its fields: both PROMISE kinds.
pub trait Authenticated {
    /// The canonical bytes the authenticator covers (tag first, for domain separation).
    fn canonical_bytes(&self) -> Vec<u8>;
    /// The authenticator the message carries.
    fn mac(&self) -> &Mac;

    /// Whether the message carries a valid authenticator, i.e. its sender really sent it.
    fn is_authentic<A: Authenticator>(&self, auth: &A) -> bool {
        auth.verify(&self.canonical_bytes(), self.mac())
    }
}
