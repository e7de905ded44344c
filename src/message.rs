//! The messages of single-decree BP Fast Paxos (PROTOCOL.md §3).

use crate::auth::{Authenticated, Authenticator, Mac};
use crate::types::{AcceptorId, Round, Value};
use serde::{Deserialize, Serialize};
use std::fmt::{self, Display};
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

impl<V: Value> Promise<V> {
    /// A PROMISE authenticated by its sender.
    pub fn signed<A: Authenticator>(
        auth: &A,
        round: Round,
        acceptor: AcceptorId,
        last_vote: Option<Vote<V>>,
    ) -> Self {
        let mac = auth.authenticate(&encode_promise(round, acceptor, last_vote.as_ref()));
        Promise {
            round,
            acceptor,
            last_vote,
            mac,
        }
    }

    /// Whether this PROMISE carries a valid authenticator, i.e. its acceptor really sent it.
    pub fn is_authentic<A: Authenticator>(&self, auth: &A) -> bool {
        Authenticated::is_authentic(self, auth)
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
/// goes to every acceptor.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Proof<V>(Arc<[Promise<V>]>);

impl<V> Proof<V> {
    /// No proof, as in round 0.
    pub fn none() -> Self {
        Proof(Arc::from(Vec::new()))
    }
}

impl<V> From<Vec<Promise<V>>> for Proof<V> {
    fn from(promises: Vec<Promise<V>>) -> Self {
        Proof(Arc::from(promises))
    }
}

impl<V> Deref for Proof<V> {
    type Target = [Promise<V>];
    fn deref(&self) -> &[Promise<V>] {
        &self.0
    }
}

/// A message of the protocol. The sender is not a field: channels are authenticated, so the
/// receiver knows who sent it (the model's envelopes and the runtime's per-pair MACs).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

/// The single decree's nodes all have fixed addresses: no message moves one.
impl<V> crate::runtime::freshness::Freshness for Msg<V> {
    fn freshness(&self) -> Option<u64> {
        None
    }
}
