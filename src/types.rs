//! Rounds, agent identities, values, and the shape of a cluster.

use serde::{Deserialize, Serialize};
use std::fmt::{self, Debug, Display};
use std::hash::Hash;

/// A round (Paxos' ballot). Round 0 is the fast round; the proposer trusted in round `r` is
/// [`Cluster::leader`]`(r)`.
pub type Round = u32;

/// An acceptor (`a_1 .. a_n` in PROTOCOL.md is `AcceptorId(0) .. AcceptorId(n - 1)` here).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AcceptorId(pub u16);

/// A proposer `p_0 .. p_{m-1}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProposerId(pub u16);

/// A client of the replicated service (PROTOCOL.md §8): it signs its commands with a key it
/// shares with the acceptors and learns decisions from LEARNs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClientId(pub u16);

impl Display for AcceptorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a{}", self.0 + 1)
    }
}

impl Display for ProposerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

impl Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

/// What the protocol agrees on. The canonical encoding is what a PROMISE's authenticator
/// covers, so it must be injective.
pub trait Value: Clone + Debug + Display + Eq + Ord + Hash + Send + Sync + 'static {
    /// Appends an injective byte encoding of the value.
    fn encode(&self, out: &mut Vec<u8>);

    /// The length of [`Value::encode`]'s bytes: the size by which limits measure a value.
    /// Types whose values can be large compute it without encoding.
    fn encoded_len(&self) -> usize {
        let mut out = Vec::new();
        self.encode(&mut out);
        out.len()
    }
}

/// Text values, as a runtime carries them: length-prefixed, so that the encoding stays
/// injective inside a longer encoding.
impl Value for String {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend((self.len() as u64).to_be_bytes());
        out.extend(self.as_bytes());
    }

    fn encoded_len(&self) -> usize {
        8 + self.len()
    }
}

/// The static shape of a cluster: `n = 3f + 1` acceptors and `m` proposers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cluster {
    /// The number of acceptor crashes tolerated.
    pub f: usize,
    /// The number of proposers, `m >= 1`.
    pub proposers: usize,
}

impl Cluster {
    /// A cluster tolerating `f` crashed acceptors with `proposers` proposers.
    pub fn new(f: usize, proposers: usize) -> Self {
        assert!(proposers >= 1, "a cluster needs at least one proposer");
        Cluster { f, proposers }
    }

    /// The number of acceptors, `3f + 1`.
    pub fn acceptors(&self) -> usize {
        3 * self.f + 1
    }

    /// Every acceptor id, in order.
    pub fn acceptor_ids(&self) -> impl Iterator<Item = AcceptorId> + use<> {
        (0..self.acceptors() as u16).map(AcceptorId)
    }

    /// Every proposer id, in order.
    pub fn proposer_ids(&self) -> impl Iterator<Item = ProposerId> + use<> {
        (0..self.proposers as u16).map(ProposerId)
    }

    /// The proposer trusted in round `r`: `p_{r mod m}`.
    pub fn leader(&self, r: Round) -> ProposerId {
        ProposerId((r as usize % self.proposers) as u16)
    }

    /// The rounds up to `max_round` that `p` leads.
    pub fn rounds_led_by(&self, p: ProposerId, max_round: Round) -> impl Iterator<Item = Round> {
        let cluster = *self;
        (0..=max_round).filter(move |&r| cluster.leader(r) == p)
    }
}
