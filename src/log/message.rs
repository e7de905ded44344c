//! The messages of the replicated log (PROTOCOL.md §8): the single-decree messages with a
//! slot, and a PROMISE that reports the decided prefix and one vote per open slot.

use super::Slot;
use crate::auth::{Authenticated, Authenticator, Mac};
use crate::message::Vote;
use crate::types::{AcceptorId, Round, Value};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt::{self, Display};
use std::ops::Deref;
use std::sync::Arc;

/// An acceptor's last vote in one slot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SlotVote<V> {
    pub slot: Slot,
    pub vote: Vote<V>,
}

/// `PROMISE(r, a, d, votes, mac)`: acceptor `a` moved to round `r`; it has learned slots
/// `< d` decided (`decided_prefix`), and `votes` holds its last vote in every slot `>= d` in
/// which it voted, by increasing slot. One mac covers it all.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LogPromise<V> {
    pub round: Round,
    pub acceptor: AcceptorId,
    pub decided_prefix: Slot,
    pub votes: Arc<[SlotVote<V>]>,
    pub mac: Mac,
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
        Authenticated::is_authentic(self, auth)
    }
}

impl<V: Value> Authenticated for LogPromise<V> {
    fn canonical_bytes(&self) -> Vec<u8> {
        encode_log_promise(self.round, self.acceptor, self.decided_prefix, &self.votes)
    }

    fn mac(&self) -> &Mac {
        &self.mac
    }
}

impl<V> LogPromise<V> {
    /// The last vote it reports for `slot` (the first, should a slot appear twice).
    pub fn vote_in(&self, slot: Slot) -> Option<&Vote<V>> {
        self.votes.iter().find(|v| v.slot == slot).map(|v| &v.vote)
    }
}

/// The proof of an ACCEPT: a set of PROMISEs (empty in round 0). Shared, because every ACCEPT
/// of a round carries it to every acceptor.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LogProof<V>(Arc<[LogPromise<V>]>);

impl<V> LogProof<V> {
    /// No proof, as in round 0.
    pub fn none() -> Self {
        LogProof(Arc::from(Vec::new()))
    }
}

/// Domain separation for proof digests.
const PROOF_DIGEST_TAG: &[u8] = b"BPFP/PROOF-DIGEST/1";

/// The SHA-256 digest that names a proof in the ACCEPTs after its NEWROUND (§8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProofDigest(pub [u8; 32]);

impl Display for ProofDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", hex::encode(&self.0[..4]))
    }
}

impl<V: Value> LogProof<V> {
    /// SHA-256 over the tag, the number of PROMISEs (u64 BE), then each PROMISE's canonical
    /// encoding, length-prefixed (u64 BE), and its mac, in the order of the proof.
    pub fn digest(&self) -> ProofDigest {
        let mut hash = Sha256::new();
        hash.update(PROOF_DIGEST_TAG);
        hash.update((self.len() as u64).to_be_bytes());
        for p in self.iter() {
            let encoded = p.canonical_bytes();
            hash.update((encoded.len() as u64).to_be_bytes());
            hash.update(&encoded);
            hash.update(p.mac.0);
        }
        ProofDigest(hash.finalize().into())
    }
}

/// The proof of a round with its digest, which names it in the round's ACCEPTs: what a
/// leader proposes with, and what an acceptor verified on NEWROUND.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de>"))]
pub struct RoundProof<V> {
    pub round: Round,
    pub digest: ProofDigest,
    pub proof: LogProof<V>,
}

impl<V: Value> RoundProof<V> {
    /// `proof` as the proof of `round`, digested once.
    pub fn new(round: Round, proof: LogProof<V>) -> Self {
        RoundProof {
            round,
            digest: proof.digest(),
            proof,
        }
    }

    /// Every slot below it is closed by this proof: the largest decided prefix its PROMISEs
    /// report (an honest acceptor learned every slot below it decided).
    pub fn closed_below(&self) -> Slot {
        self.proof
            .iter()
            .map(|p| p.decided_prefix)
            .max()
            .unwrap_or(0)
    }

    /// The round's ACCEPT of `value` for `slot`: with no proof in round 0, else naming the
    /// proof by its digest (its NEWROUND carried it).
    pub fn accept(&self, slot: Slot, value: V) -> LogMsg<V> {
        if self.round == 0 {
            return LogMsg::Accept {
                round: 0,
                slot,
                value,
                proof: LogProof::none(),
            };
        }
        LogMsg::AcceptByDigest {
            round: self.round,
            slot,
            value,
            digest: self.digest,
        }
    }
}

impl<V> From<Vec<LogPromise<V>>> for LogProof<V> {
    fn from(promises: Vec<LogPromise<V>>) -> Self {
        LogProof(Arc::from(promises))
    }
}

impl<V> Deref for LogProof<V> {
    type Target = [LogPromise<V>];
    fn deref(&self) -> &[LogPromise<V>] {
        &self.0
    }
}

/// A message of the log protocol. As in the single decree, the sender is not a field: the
/// channel authenticates it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LogMsg<V> {
    /// `ACCEPT(r, s, v, proof)`, proposer to acceptors.
    Accept {
        round: Round,
        slot: Slot,
        value: V,
        proof: LogProof<V>,
    },
    /// `NEWROUND(r, Q, accepts)`, `leader(r)` to acceptors: the proof of its round, sent
    /// once, with the values of its first proposals (each as `ACCEPT(r, s, v)` would carry
    /// it); the ACCEPTs that follow name the proof by its digest.
    NewRound {
        round: Round,
        proof: LogProof<V>,
        accepts: Arc<[(Slot, V)]>,
    },
    /// `ACCEPT(r, s, v, digest)`: an ACCEPT whose proof is the NEWROUND proof of `round`
    /// with this digest.
    AcceptByDigest {
        round: Round,
        slot: Slot,
        value: V,
        digest: ProofDigest,
    },
    /// `PROMISE`, acceptor to `leader(r)`.
    Promise(LogPromise<V>),
    /// `LEARN(r, s, v)`, acceptor to the learners: the sender voted `v` in slot `s`, round `r`.
    Learn { round: Round, slot: Slot, value: V },
    /// `TRUSTCHANGE(r)`, acceptor to acceptors: the sender moved to round `r`.
    TrustChange { round: Round },
}

impl<V: Value> Display for LogPromise<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PROMISE({}, {}, d={}, [",
            self.round, self.acceptor, self.decided_prefix
        )?;
        for (i, v) in self.votes.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}s{}:{}", v.slot, v.vote)?;
        }
        write!(f, "], {})", self.mac)
    }
}

impl<V: Value> Display for LogMsg<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogMsg::Accept {
                round,
                slot,
                value,
                proof,
            } => {
                write!(f, "ACCEPT({round}, s{slot}, {value}, {{")?;
                for (i, p) in proof.iter().enumerate() {
                    let sep = if i == 0 { "" } else { " " };
                    write!(f, "{sep}{}:d{}", p.acceptor, p.decided_prefix)?;
                    if let Some(vote) = p.vote_in(*slot) {
                        write!(f, ":{vote}")?;
                    }
                    if p.round != *round {
                        write!(f, "(r{})", p.round)?;
                    }
                }
                write!(f, "}})")
            }
            LogMsg::NewRound {
                round,
                proof,
                accepts,
            } => {
                write!(f, "NEWROUND({round}, {{")?;
                for (i, p) in proof.iter().enumerate() {
                    let sep = if i == 0 { "" } else { " " };
                    write!(f, "{sep}{}:d{}", p.acceptor, p.decided_prefix)?;
                }
                write!(f, "}} {}, [", proof.digest())?;
                for (i, (slot, value)) in accepts.iter().enumerate() {
                    let sep = if i == 0 { "" } else { " " };
                    write!(f, "{sep}s{slot}:{value}")?;
                }
                write!(f, "])")
            }
            LogMsg::AcceptByDigest {
                round,
                slot,
                value,
                digest,
            } => write!(f, "ACCEPT({round}, s{slot}, {value}, {digest})"),
            LogMsg::Promise(p) => write!(f, "{p}"),
            LogMsg::Learn { round, slot, value } => write!(f, "LEARN({round}, s{slot}, {value})"),
            LogMsg::TrustChange { round } => write!(f, "TRUSTCHANGE({round})"),
        }
    }
}
