//! PROMISE authenticators (PROTOCOL.md §3): `mac = HMAC-SHA256(K, encode(r, a, vrnd, vval))`
//! with a domain key `K` that acceptors share and proposers never hold; and the replicated
//! log's PROMISE (PROTOCOL.md §8), which one mac covers whole.

use crate::log::Slot;
use crate::log::message::{LogPromise, SlotVote};
use crate::message::Vote;
use crate::types::{AcceptorId, Round, Value};
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

/// Domain separation: these bytes start every encoded PROMISE.
const PROMISE_TAG: &[u8] = b"BPFP/PROMISE/1";

/// The canonical encoding of the authenticated fields of `PROMISE(r, a, vrnd, vval)`:
/// the tag, `r` (u32 BE), `a` (u16 BE), then `0x00` for no vote or `0x01`, `vrnd` (u32 BE)
/// and the value's own encoding.
pub fn encode_promise<V: Value>(
    round: Round,
    acceptor: AcceptorId,
    last_vote: Option<&Vote<V>>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(PROMISE_TAG.len() + 16);
    out.extend_from_slice(PROMISE_TAG);
    out.extend_from_slice(&round.to_be_bytes());
    out.extend_from_slice(&acceptor.0.to_be_bytes());
    match last_vote {
        None => out.push(0),
        Some(vote) => {
            out.push(1);
            out.extend_from_slice(&vote.round.to_be_bytes());
            vote.value.encode(&mut out);
        }
    }
    out
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

impl<V: Value> crate::message::Promise<V> {
    /// A PROMISE authenticated by its sender.
    pub fn signed<A: Authenticator>(
        auth: &A,
        round: Round,
        acceptor: AcceptorId,
        last_vote: Option<Vote<V>>,
    ) -> Self {
        let mac = auth.authenticate(&encode_promise(round, acceptor, last_vote.as_ref()));
        crate::message::Promise {
            round,
            acceptor,
            last_vote,
            mac,
        }
    }

    /// Whether this PROMISE carries a valid authenticator, i.e. its acceptor really sent it.
    pub fn is_authentic<A: Authenticator>(&self, auth: &A) -> bool {
        let encoded = encode_promise(self.round, self.acceptor, self.last_vote.as_ref());
        auth.verify(&encoded, &self.mac)
    }
}

/// Domain separation for the replicated log's PROMISE.
const LOG_PROMISE_TAG: &[u8] = b"BPFP/LOG-PROMISE/1";

/// The canonical encoding of `PROMISE(r, a, d, votes)` of the replicated log (PROTOCOL.md §8):
/// the tag, `r` (u32 BE), `a` (u16 BE), `d` (u64 BE), the number of votes (u64 BE), then for
/// each vote, in the order given, its slot (u64 BE), round (u32 BE) and value's encoding.
pub fn encode_log_promise<V: Value>(
    round: Round,
    acceptor: AcceptorId,
    decided_prefix: Slot,
    votes: &[SlotVote<V>],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(LOG_PROMISE_TAG.len() + 24 + 16 * votes.len());
    out.extend_from_slice(LOG_PROMISE_TAG);
    out.extend_from_slice(&round.to_be_bytes());
    out.extend_from_slice(&acceptor.0.to_be_bytes());
    out.extend_from_slice(&decided_prefix.to_be_bytes());
    out.extend_from_slice(&(votes.len() as u64).to_be_bytes());
    for v in votes {
        out.extend_from_slice(&v.slot.to_be_bytes());
        out.extend_from_slice(&v.vote.round.to_be_bytes());
        v.vote.value.encode(&mut out);
    }
    out
}

impl<V: Value> LogPromise<V> {
    /// A log PROMISE authenticated by its sender.
    pub fn signed<A: Authenticator>(
        auth: &A,
        round: Round,
        acceptor: AcceptorId,
        decided_prefix: Slot,
        votes: Vec<SlotVote<V>>,
    ) -> Self {
        let mac = auth.authenticate(&encode_log_promise(round, acceptor, decided_prefix, &votes));
        LogPromise {
            round,
            acceptor,
            decided_prefix,
            votes: votes.into(),
            mac,
        }
    }

    /// Whether this PROMISE carries a valid authenticator, i.e. its acceptor really sent it.
    pub fn is_authentic<A: Authenticator>(&self, auth: &A) -> bool {
        let encoded =
            encode_log_promise(self.round, self.acceptor, self.decided_prefix, &self.votes);
        auth.verify(&encoded, &self.mac)
    }
}
