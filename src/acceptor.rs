//! The acceptor, which is also a learner (PROTOCOL.md §2 and §4). Each public function is one
//! action of the TLA+ spec, named after it.

use crate::auth::Authenticator;
use crate::learner::{self, LearnerState};
use crate::message::{Msg, Promise, Vote};
use crate::rules::{Rules, valid_proof};
use crate::step::{Effect, Peer, Step, To, TrustCause};
use crate::types::{AcceptorId, Cluster, ProposerId, Round, Value};
use serde::{Deserialize, Serialize};

/// An acceptor's identity and the rules it enforces; `auth` holds the domain key.
#[derive(Clone, Debug)]
pub struct Acceptor<A> {
    pub id: AcceptorId,
    pub cluster: Cluster,
    pub rules: Rules,
    pub auth: A,
}

/// The state of an acceptor: `rnd`, its last vote (`vrnd`, `vval`), and its learner.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de> + Ord"))]
pub struct AcceptorState<V> {
    pub rnd: Round,
    pub last_vote: Option<Vote<V>>,
    pub learner: LearnerState<V>,
}

/// The part of an acceptor's state that survives a crash: it is stored before any PROMISE or
/// LEARN that depends on it is sent.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DurableState<V> {
    pub rnd: Round,
    pub last_vote: Option<Vote<V>>,
}

pub type AcceptorStep<V> = Step<AcceptorState<V>, V>;

impl<V: Value> AcceptorState<V> {
    /// The state of a new acceptor: round 0, no vote.
    pub fn initial() -> Self {
        AcceptorState {
            rnd: 0,
            last_vote: None,
            learner: LearnerState::default(),
        }
    }

    /// The state of an acceptor restarted from its durable state (its learner starts afresh).
    pub fn recover(durable: &DurableState<V>) -> Self {
        AcceptorState {
            rnd: durable.rnd,
            last_vote: durable.last_vote.clone(),
            learner: LearnerState::default(),
        }
    }

    pub fn durable(&self) -> DurableState<V> {
        DurableState {
            rnd: self.rnd,
            last_vote: self.last_vote.clone(),
        }
    }

    fn voted_in(&self, round: Round) -> Option<&V> {
        self.last_vote
            .as_ref()
            .filter(|v| v.round == round)
            .map(|v| &v.value)
    }
}

impl<A: Authenticator> Acceptor<A> {
    /// Dispatches a message by its type and authenticated sender. Messages that an acceptor
    /// does not take from that sender (a TRUSTCHANGE or LEARN from a proposer, any PROMISE)
    /// are ignored.
    pub fn on_message<V: Value>(
        &self,
        s: &AcceptorState<V>,
        from: Peer,
        msg: &Msg<V>,
    ) -> Option<AcceptorStep<V>> {
        match (from, msg) {
            (
                Peer::Proposer(p),
                Msg::Accept {
                    round,
                    value,
                    proof,
                },
            ) => self.receive_accept(s, p, *round, value, proof),
            (Peer::Acceptor(b), Msg::TrustChange { round }) => self.join_round(s, b, *round),
            (Peer::Acceptor(b), Msg::Learn { round, value }) => self.learn(s, b, *round, value),
            _ => None,
        }
    }

    /// On `ACCEPT(r, v, proof)` from proposer `p`: vote, or change trust on evidence of
    /// misbehaviour (equivocation, invalid proof), or ignore it.
    pub fn receive_accept<V: Value>(
        &self,
        s: &AcceptorState<V>,
        p: ProposerId,
        round: Round,
        value: &V,
        proof: &[Promise<V>],
    ) -> Option<AcceptorStep<V>> {
        if p != self.cluster.leader(round) || round < s.rnd {
            return None;
        }
        // No round follows the last one: a Byzantine proposer's ACCEPT must not overflow it.
        let next_round = round.checked_add(1)?;
        if self.rules.vote_once
            && let Some(voted) = s.voted_in(round)
        {
            if voted == value {
                return None; // a duplicate
            }
            return self.trust_change(s, next_round, TrustCause::Equivocation);
        }
        if round == 0 {
            return Some(self.vote(s, round, value));
        }
        match valid_proof(&self.rules, &self.auth, round, value, proof) {
            Ok(()) => Some(self.vote(s, round, value)),
            // Evidence against the leader it trusts (§2); from the leader of a later round,
            // an invalid ACCEPT is only ignored, or one datagram could push it to any round.
            Err(e) if round == s.rnd => self.trust_change(s, next_round, e.into()),
            Err(_) => None,
        }
    }

    /// `Vote`: accept `value` in `round` (`rnd := vrnd := round`, `vval := value`), store it,
    /// and tell the learners.
    pub fn vote<V: Value>(&self, s: &AcceptorState<V>, round: Round, value: &V) -> AcceptorStep<V> {
        let next = AcceptorState {
            rnd: round,
            last_vote: Some(Vote {
                round,
                value: value.clone(),
            }),
            learner: s.learner.clone(),
        };
        Step::new(next).effect(Effect::Persist).send(
            To::Learners,
            Msg::Learn {
                round,
                value: value.clone(),
            },
        )
    }

    /// `TrustChange`: move to `round > rnd`, store it, promise the new leader to vote in no
    /// lower round (reporting the last vote), and tell the other acceptors.
    pub fn trust_change<V: Value>(
        &self,
        s: &AcceptorState<V>,
        round: Round,
        cause: TrustCause,
    ) -> Option<AcceptorStep<V>> {
        if round <= s.rnd {
            return None;
        }
        let next = AcceptorState {
            rnd: round,
            last_vote: s.last_vote.clone(),
            learner: s.learner.clone(),
        };
        let promise = Promise::signed(&self.auth, round, self.id, s.last_vote.clone());
        Some(
            Step::new(next)
                .effect(Effect::Persist)
                .effect(Effect::TrustChanged { round, cause })
                .send(
                    To::Proposer(self.cluster.leader(round)),
                    Msg::Promise(promise),
                )
                .send(To::OtherAcceptors, Msg::TrustChange { round }),
        )
    }

    /// On `TRUSTCHANGE(r)` from acceptor `b`: join round `r` if it is above `rnd`.
    pub fn join_round<V: Value>(
        &self,
        s: &AcceptorState<V>,
        b: AcceptorId,
        round: Round,
    ) -> Option<AcceptorStep<V>> {
        self.trust_change(s, round, TrustCause::Peer(b))
    }

    /// `Learn`: on `LEARN(r, v)` from acceptor `b`. Decides on a quorum; on two values in the
    /// current round before a decision, the leader equivocated: change trust.
    pub fn learn<V: Value>(
        &self,
        s: &AcceptorState<V>,
        b: AcceptorId,
        round: Round,
        value: &V,
    ) -> Option<AcceptorStep<V>> {
        let learned = learner::learn(self.rules.quorum, &s.learner, b, round, value)?;
        let next = AcceptorState {
            rnd: s.rnd,
            last_vote: s.last_vote.clone(),
            learner: learned.state,
        };
        if let Some(decision) = learned.decided {
            return Some(Step::new(next).effect(Effect::Decided(decision)));
        }
        if learned.equivocation && round == next.rnd {
            return self.trust_change(&next, round.checked_add(1)?, TrustCause::Equivocation);
        }
        Some(Step::new(next))
    }

    /// A timeout with no decision: the leader may have crashed; move to the next round.
    pub fn timeout<V: Value>(&self, s: &AcceptorState<V>) -> Option<AcceptorStep<V>> {
        if s.learner.decided.is_some() {
            return None;
        }
        self.trust_change(s, s.rnd.checked_add(1)?, TrustCause::Timeout)
    }
}
