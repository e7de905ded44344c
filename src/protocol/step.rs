//! What a step function returns, for every protocol of the crate: the agent's next state and
//! the effects the driver (the model checker or the runtime) carries out, in order. "Store
//! before send" is carried in the effects themselves ([`Effect::Persist`] comes first).

use crate::rules::ProofError;
use crate::types::{AcceptorId, ProposerId, Round};
use serde::{Deserialize, Serialize};

/// A peer as the channel identifies it: the receiver knows who sent a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Peer {
    Acceptor(AcceptorId),
    Proposer(ProposerId),
    /// A learner that is not an acceptor (a client).
    Client,
}

/// Where a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum To {
    /// Every acceptor, the sender included.
    Acceptors,
    /// Every acceptor but the sender.
    OtherAcceptors,
    /// One proposer.
    Proposer(ProposerId),
    /// Every learner: the acceptors and the client (PROTOCOL.md §3).
    Learners,
}

/// Why an acceptor changed trust.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TrustCause {
    /// The leader sent two values in one round (two ACCEPTs, or LEARNs that disagree).
    Equivocation,
    /// The leader sent an ACCEPT whose proof is invalid.
    InvalidProof(ProofError),
    /// No decision in time: the leader may have crashed.
    Timeout,
    /// Another acceptor moved to the round (TRUSTCHANGE).
    Peer(AcceptorId),
}

/// An effect of a step, for the driver to carry out in order: `M` is the protocol's message,
/// `D` what its learners decide.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect<M, D> {
    /// Make the acceptor's durable state stable before any later send.
    Persist,
    Send(To, M),
    /// An acceptor moved to `round` (for logs and traces).
    TrustChanged {
        round: Round,
        cause: TrustCause,
    },
    /// A learner decided.
    Decided(D),
}

/// A step: the next state and its effects. Step functions return `None` when the input
/// changes nothing, so that drivers can skip it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step<S, M, D> {
    pub state: S,
    pub effects: Vec<Effect<M, D>>,
}

impl<S, M, D> Step<S, M, D> {
    pub fn new(state: S) -> Self {
        Step {
            state,
            effects: Vec::new(),
        }
    }

    pub fn send(mut self, to: To, msg: M) -> Self {
        self.effects.push(Effect::Send(to, msg));
        self
    }

    pub fn effect(mut self, effect: Effect<M, D>) -> Self {
        self.effects.push(effect);
        self
    }
}

impl std::fmt::Display for TrustCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrustCause::Equivocation => write!(f, "the leader equivocated"),
            TrustCause::InvalidProof(why) => write!(f, "the leader sent an invalid proof: {why}"),
            TrustCause::Timeout => write!(f, "no decision in time: the leader may have crashed"),
            TrustCause::Peer(a) => write!(f, "{a} moved to the round"),
        }
    }
}

impl From<ProofError> for TrustCause {
    fn from(e: ProofError) -> Self {
        TrustCause::InvalidProof(e)
    }
}
