//! The messages of single-decree BP Fast Paxos (PROTOCOL.md §3).

use crate::auth::{Authenticated, Authenticator, Mac};
use crate::types::{AcceptorId, Round, Value};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt::{self, Debug, Display};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// A vote: an acceptor accepted `value` in `round`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Vote<V> {
    pub round: Round,
    pub value: V,
}

/// `PROMISE(r, a, vrnd, vval, mac)`: acceptor `a` moved to round `r`; its last vote (below `r`)
/// was `last_vote`. The mac lets every acceptor check, after a proposer carried the PROMISE in a
/// proof, that `a` really sent it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Promise<V> {
    pub round: Round,
    pub acceptor: AcceptorId,
    pub last_vote: Option<Vote<V>>,
    pub mac: Mac,
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
    encode_promise_into(&mut out, round, acceptor, last_vote);
    out
}

/// [`encode_promise`], appended to `out`.
fn encode_promise_into<V: Value>(
    out: &mut Vec<u8>,
    round: Round,
    acceptor: AcceptorId,
    last_vote: Option<&Vote<V>>,
) {
    out.extend_from_slice(PROMISE_TAG);
    out.extend_from_slice(&round.to_be_bytes());
    out.extend_from_slice(&acceptor.0.to_be_bytes());
    match last_vote {
        None => out.push(0),
        Some(vote) => {
            out.push(1);
            out.extend_from_slice(&vote.round.to_be_bytes());
            vote.value.encode(out);
        }
    }
}

thread_local! {
    /// A buffer for the encodings that are authenticated and then dropped: the model checker
    /// signs and checks PROMISEs on most of its steps, and an allocation each time showed.
    static ENCODING: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `f` of the canonical encoding of `PROMISE(round, acceptor, last_vote)`.
fn with_encoded_promise<V: Value, R>(
    round: Round,
    acceptor: AcceptorId,
    last_vote: Option<&Vote<V>>,
    f: impl FnOnce(&[u8]) -> R,
) -> R {
    ENCODING.with(|buffer| match buffer.try_borrow_mut() {
        Ok(mut bytes) => {
            bytes.clear();
            encode_promise_into(&mut bytes, round, acceptor, last_vote);
            f(&bytes)
        }
        // Only if `f` itself encodes a PROMISE (no authenticator does).
        Err(_) => f(&encode_promise(round, acceptor, last_vote)),
    })
}

impl<V: Value> Promise<V> {
    /// A PROMISE authenticated by its sender.
    pub fn signed<A: Authenticator>(
        auth: &A,
        round: Round,
        acceptor: AcceptorId,
        last_vote: Option<Vote<V>>,
    ) -> Self {
        let mac = with_encoded_promise(round, acceptor, last_vote.as_ref(), |bytes| {
            auth.authenticate(bytes)
        });
        Promise {
            round,
            acceptor,
            last_vote,
            mac,
        }
    }

    /// Whether this PROMISE carries a valid authenticator, i.e. its acceptor really sent it.
    pub fn is_authentic<A: Authenticator>(&self, auth: &A) -> bool {
        with_encoded_promise(
            self.round,
            self.acceptor,
            self.last_vote.as_ref(),
            |bytes| auth.verify(bytes, &self.mac),
        )
    }
}

impl<V: Value> Authenticated for Promise<V> {
    fn canonical_bytes(&self) -> Vec<u8> {
        encode_promise(self.round, self.acceptor, self.last_vote.as_ref())
    }

    fn mac(&self) -> &Mac {
        &self.mac
    }
}

/// The proof of an ACCEPT: a set of PROMISEs (empty in round 0). Shared, because one ACCEPT
/// goes to every acceptor. It carries a digest of its PROMISEs, computed once when it is
/// built, which is what it hashes as: a model checker hashes every message in flight at each
/// step, and hashing the PROMISEs themselves every time dominated. Equality and order still
/// compare the PROMISEs; the digest is a function of them, so equal proofs hash alike. On the
/// wire it is the sequence of PROMISEs, as before (the digest is never sent).
#[derive(Clone)]
pub struct Proof<V> {
    promises: Arc<[Promise<V>]>,
    digest: u64,
}

impl<V: Hash> Proof<V> {
    /// No proof, as in round 0.
    pub fn none() -> Self {
        Proof::from(Vec::new())
    }
}

impl<V: Hash> From<Vec<Promise<V>>> for Proof<V> {
    fn from(promises: Vec<Promise<V>>) -> Self {
        // SipHash with fixed keys: the same digest in every run and on every thread.
        let mut hasher = DefaultHasher::new();
        promises.hash(&mut hasher);
        Proof {
            digest: hasher.finish(),
            promises: Arc::from(promises),
        }
    }
}

impl<V> Proof<V> {
    /// Where its PROMISEs are: clones of one proof share them.
    pub fn as_ptr(&self) -> *const Promise<V> {
        self.promises.as_ptr()
    }
}

impl<V> Deref for Proof<V> {
    type Target = [Promise<V>];
    fn deref(&self) -> &[Promise<V>] {
        &self.promises
    }
}

impl<V: PartialEq> PartialEq for Proof<V> {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest
            && (Arc::ptr_eq(&self.promises, &other.promises) || self.promises == other.promises)
    }
}

impl<V: Eq> Eq for Proof<V> {}

impl<V: PartialOrd> PartialOrd for Proof<V> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.promises.partial_cmp(&other.promises)
    }
}

impl<V: Ord> Ord for Proof<V> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.promises.cmp(&other.promises)
    }
}

impl<V> Hash for Proof<V> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.digest);
    }
}

impl<V: Debug> Debug for Proof<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Proof").field(&&*self.promises).finish()
    }
}

impl<V: Serialize> Serialize for Proof<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.promises.serialize(serializer)
    }
}

impl<'de, V: Deserialize<'de> + Hash> Deserialize<'de> for Proof<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Promise<V>>::deserialize(deserializer).map(Proof::from)
    }
}

/// A message of the protocol. The sender is not a field: channels are authenticated, so the
/// receiver knows who sent it (the model's envelopes and the runtime's per-pair MACs).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
// Building a proof computes its digest, so decoding one needs `V: Hash`.
#[serde(bound(deserialize = "V: Deserialize<'de> + Hash"))]
pub enum Msg<V> {
    /// `ACCEPT(r, v, proof)`, proposer to acceptors. The proof is empty in round 0.
    Accept {
        round: Round,
        value: V,
        proof: Proof<V>,
    },
    /// `PROMISE`, acceptor to `leader(r)`.
    Promise(Promise<V>),
    /// `LEARN(r, v)`, acceptor to the learners: the sender voted `v` in `r`.
    Learn { round: Round, value: V },
    /// `TRUSTCHANGE(r)`, acceptor to acceptors: the sender moved to round `r`.
    TrustChange { round: Round },
}

impl<V: Value> Display for Vote<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.value, self.round)
    }
}

impl<V: Value> Display for Promise<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PROMISE({}, {}, ", self.round, self.acceptor)?;
        match &self.last_vote {
            Some(vote) => write!(f, "{vote}")?,
            None => write!(f, "-")?,
        }
        write!(f, ", {})", self.mac)
    }
}

impl<V: Value> Display for Msg<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Accept {
                round,
                value,
                proof,
            } => {
                write!(f, "ACCEPT({round}, {value}, {{")?;
                for (i, p) in proof.iter().enumerate() {
                    let sep = if i == 0 { "" } else { " " };
                    match &p.last_vote {
                        Some(vote) => write!(f, "{sep}{}:{vote}", p.acceptor)?,
                        None => write!(f, "{sep}{}:-", p.acceptor)?,
                    }
                    if p.round != *round {
                        write!(f, "(r{})", p.round)?;
                    }
                    write!(f, "/{}", p.mac)?;
                }
                write!(f, "}})")
            }
            Msg::Promise(p) => write!(f, "{p}"),
            Msg::Learn { round, value } => write!(f, "LEARN({round}, {value})"),
            Msg::TrustChange { round } => write!(f, "TRUSTCHANGE({round})"),
        }
    }
}
