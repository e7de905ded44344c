//! The log's acceptor, which is also a learner (PROTOCOL.md §8): one round `rnd` for all
//! slots, and its last vote in each slot. A message is judged first, by the `plan_*`
//! function of its action (the vote gate of an ACCEPT is [`LogAcceptor::judge_accept`]),
//! then carried out on the state or on a copy of it.

use super::Slot;
use super::learner::{self, Lesson, LogLearnerState};
use super::message::{LogMsg, LogPromise, LogProof, ProofDigest, RoundProof, SlotVote};
use super::rules::{check_slot, valid_log_proof, valid_round_proof};
use super::step::{LogEffect, LogStep, SlotDecision};
use crate::auth::Authenticator;
use crate::learner::Decision;
use crate::message::Vote;
use crate::rules::{ProofError, Rules};
use crate::step::{Peer, To, TrustCause};
use crate::types::{AcceptorId, Cluster, ProposerId, Round, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An acceptor's identity and the rules it enforces; `auth` holds the domain key.
#[derive(Clone, Debug)]
pub struct LogAcceptor<A> {
    pub id: AcceptorId,
    pub cluster: Cluster,
    pub rules: Rules,
    pub auth: A,
    /// It votes only in slots below its decided prefix plus `window`: a Byzantine proposer
    /// cannot make it hold votes, nor a new leader fill holes, without bound.
    pub window: Slot,
    /// The bytes it holds votes for, bounded as the slots are by `window`.
    pub limits: VoteLimits,
}

/// Bounds on the votes an acceptor holds, in bytes of the values' canonical encoding
/// ([`Value::encoded_len`]). It refuses (does not vote for) an ACCEPT that would break one:
/// not voting is always safe, since every rule of the protocol is about the votes cast.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VoteLimits {
    /// The largest value it votes for.
    pub value_bytes: usize,
    /// The most bytes of votes in open slots (those at or above its decided prefix, which a
    /// PROMISE reports) that it holds, the vote asked for included.
    pub open_vote_bytes: usize,
}

impl VoteLimits {
    /// No bound but the slot window.
    pub const NONE: VoteLimits = VoteLimits {
        value_bytes: usize::MAX,
        open_vote_bytes: usize::MAX,
    };

    /// Whether `s` may vote `value` in `slot` within the bounds: the vote replaces its vote in
    /// that slot, if any.
    ///
    /// Open votes are counted from its open prefix: its learner's decided prefix, or the
    /// closed prefix of the round proof it verified when that is higher (an honest acceptor of
    /// the proof learned every slot below it decided). So votes it holds in slots decided
    /// without its knowledge do not make it refuse the slots a new round proposes; those
    /// votes and the open ones, everything its PROMISE reports, stay within twice the bound.
    /// The vote at the open prefix is never refused for the open bound: only the prefix
    /// moving frees open bytes, so refusing the vote that fills the lowest hole would stop
    /// the log for good. So a PROMISE reports at most twice the bound plus one value.
    pub fn admit<V: Value>(&self, s: &LogAcceptorState<V>, slot: Slot, value: &V) -> bool {
        let size = value.encoded_len();
        if size > self.value_bytes {
            return false;
        }
        if self.open_vote_bytes == usize::MAX {
            return true;
        }
        let held_from = |prefix: Slot| -> usize {
            s.votes
                .range(prefix..)
                .filter(|(voted_in, _)| **voted_in != slot)
                .map(|(_, vote)| vote.value.encoded_len())
                .sum()
        };
        let learned = s.learner.decided_prefix();
        let closed = s.round_proof.as_ref().map_or(0, RoundProof::closed_below);
        if closed > learned {
            let reported = held_from(learned).saturating_add(size);
            if reported > self.open_vote_bytes.saturating_mul(2) {
                return false;
            }
        }
        let open_prefix = learned.max(closed);
        slot == open_prefix || held_from(open_prefix).saturating_add(size) <= self.open_vote_bytes
    }
}

/// The state of a log acceptor: `rnd`, its last vote per slot, and its learner.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de> + Ord"))]
pub struct LogAcceptorState<V> {
    pub(crate) rnd: Round,
    /// Every slot below it was decided and its vote dropped (0 in the model, which never
    /// drops votes). ACCEPTs for those slots are ignored: with the vote gone, a second vote
    /// in its round could not be refused.
    pub(crate) decided_base: Slot,
    /// The last vote in every slot it voted in. Never dropped: a PROMISE must report every
    /// vote at or above the decided prefix.
    pub(crate) votes: BTreeMap<Slot, Vote<V>>,
    pub(crate) learner: LogLearnerState<V>,
    /// The NEWROUND proof it verified for its latest round, if any: ACCEPTs of that round
    /// name it by its digest. Volatile: after a restart, such ACCEPTs are ignored.
    pub(crate) round_proof: Option<RoundProof<V>>,
}

/// What survives a crash: stored before any PROMISE or LEARN that depends on it is sent.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de> + Ord"))]
pub struct LogDurableState<V> {
    pub rnd: Round,
    /// `decided_base`: every slot below it was decided. A restarted acceptor's learner starts
    /// there, so its PROMISEs still close those slots although their votes are gone.
    pub base: Slot,
    pub votes: BTreeMap<Slot, Vote<V>>,
}

pub type LogAcceptorStep<V> = LogStep<LogAcceptorState<V>, V>;

/// The effects of an action taken on the state itself ([`LogAcceptor::on_message_in_place`]):
/// a driver that keeps one state saves copying it on every step.
pub type LogEffects<V> = LogStep<(), V>;

/// What a message asks of the acceptor, judged on its state before any change: every check
/// made and every proof verified. Carrying it out ([`LogAcceptor::carry_out`]) is a step
/// that cannot be refused, so a message that makes no step is known before the state is
/// touched, and the pure step copies the state only for a message that makes one.
enum Plan<'m, V> {
    /// `Vote` in `slot` and `round`.
    Vote {
        round: Round,
        slot: Slot,
        value: &'m V,
    },
    /// `TrustChange` to a round above `rnd`.
    TrustChange(Round, TrustCause),
    /// A LEARN that teaches the learner, and the round to move to on the equivocation it
    /// shows in the acceptor's round (none once the LEARN decides its slot).
    Learn {
        slot: Slot,
        lesson: Lesson<V>,
        equivocation: Option<Round>,
    },
    /// A NEWROUND whose proof was verified, with the ACCEPTs it carries: each is judged on
    /// the state the ones before it left.
    NewRound {
        p: ProposerId,
        known: RoundProof<V>,
        accepts: &'m [(Slot, V)],
    },
}

/// What the checks of an ACCEPT before its proof decide; the rounds are `r + 1`, where the
/// acceptor moves on evidence.
enum Gate {
    Ignore,
    /// It voted another value in this round and slot.
    Equivocation(Round),
    CheckProof(Round),
}

impl<V: Value> LogAcceptorState<V> {
    /// A new acceptor: round 0, no vote.
    pub fn initial() -> Self {
        LogAcceptorState {
            rnd: 0,
            decided_base: 0,
            votes: BTreeMap::new(),
            learner: LogLearnerState::default(),
            round_proof: None,
        }
    }

    /// An acceptor restarted from its durable state; its learner starts afresh at the decided
    /// base (so its PROMISEs report every vote above it until it learns again).
    pub fn recover(durable: &LogDurableState<V>) -> Self {
        LogAcceptorState {
            rnd: durable.rnd,
            decided_base: durable.base,
            votes: durable.votes.clone(),
            learner: LogLearnerState::starting_at(durable.base),
            round_proof: None,
        }
    }

    /// Whether `durable` is this state's durable part, compared without copying it. Every
    /// field is named, so a field added to the durable state must be compared here too: a
    /// save reuses `durable` when this says yes.
    pub fn durable_is(&self, durable: &LogDurableState<V>) -> bool {
        let LogDurableState { rnd, base, votes } = durable;
        self.rnd == *rnd && self.decided_base == *base && self.votes == *votes
    }

    pub fn durable(&self) -> LogDurableState<V> {
        LogDurableState {
            rnd: self.rnd,
            base: self.decided_base,
            votes: self.votes.clone(),
        }
    }

    /// Drops the votes of the decided prefix below `limit`, which no PROMISE reports (§8),
    /// so that the durable state stays as small as the undecided slots. A replica drops only
    /// what a synced snapshot of its applied state covers, so that the decided values stay
    /// durable on this node (as votes to decide again, or in the snapshot). `None` if there
    /// are none. The next [`LogEffect::Persist`] stores the result; until then the store
    /// holds more votes, and a lower base, which is as safe.
    pub(crate) fn drop_decided_votes_below(&self, limit: Slot) -> Option<Self> {
        let d = self.learner.decided_prefix().min(limit);
        if d <= self.decided_base {
            return None;
        }
        Some(LogAcceptorState {
            rnd: self.rnd,
            decided_base: d,
            votes: self
                .votes
                .range(d..)
                .map(|(s, v)| (*s, v.clone()))
                .collect(),
            learner: self.learner.clone(),
            round_proof: self.round_proof.clone(),
        })
    }

    /// The same state with `learner` for its learner (its own is not copied).
    pub(crate) fn with_learner(&self, learner: LogLearnerState<V>) -> Self {
        LogAcceptorState {
            rnd: self.rnd,
            decided_base: self.decided_base,
            votes: self.votes.clone(),
            learner,
            round_proof: self.round_proof.clone(),
        }
    }

    /// Its round: it votes in no lower one.
    pub fn rnd(&self) -> Round {
        self.rnd
    }

    /// Every slot below it was decided and its vote dropped.
    pub fn decided_base(&self) -> Slot {
        self.decided_base
    }

    /// Its last vote in every slot it voted in (and did not drop).
    pub fn votes(&self) -> &BTreeMap<Slot, Vote<V>> {
        &self.votes
    }

    pub fn learner(&self) -> &LogLearnerState<V> {
        &self.learner
    }

    /// The round whose NEWROUND proof it verified and keeps, if any: ACCEPTs by digest of
    /// any other round are ignored.
    pub fn verified_round(&self) -> Option<Round> {
        self.round_proof.as_ref().map(|known| known.round)
    }

    /// The same state with nothing learned: how a model compares states whose learner no
    /// step can read yet (the postponed state transfer of `models/log`).
    pub fn with_learner_forgotten(&self) -> Self {
        Self {
            learner: LogLearnerState::default(),
            ..self.clone()
        }
    }

    /// The NEWROUND proof it verified for its latest round, if any.
    pub fn round_proof(&self) -> Option<&RoundProof<V>> {
        self.round_proof.as_ref()
    }

    fn voted_in(&self, round: Round, slot: Slot) -> Option<&V> {
        self.votes
            .get(&slot)
            .filter(|v| v.round == round)
            .map(|v| &v.value)
    }

    /// The votes a PROMISE reports: every slot at or above the decided prefix.
    pub(super) fn open_votes(&self) -> (Slot, Vec<SlotVote<V>>) {
        let d = self.learner.decided_prefix();
        let votes = self
            .votes
            .range(d..)
            .map(|(slot, vote)| SlotVote {
                slot: *slot,
                vote: vote.clone(),
            })
            .collect();
        (d, votes)
    }
}

impl<A: Authenticator> LogAcceptor<A> {
    /// Dispatches a message by its type and authenticated sender; what an acceptor does not
    /// take from that sender is ignored. The state is copied only if the message changes it.
    pub fn on_message<V: Value>(
        &self,
        s: &LogAcceptorState<V>,
        from: Peer,
        msg: &LogMsg<V>,
    ) -> Option<LogAcceptorStep<V>> {
        Some(self.step(s, self.plan(s, from, msg)?))
    }

    /// [`Self::on_message`] on the state itself: the step's effects, or `None` (the state
    /// untouched) if the message changes nothing.
    pub fn on_message_in_place<V: Value>(
        &self,
        s: &mut LogAcceptorState<V>,
        from: Peer,
        msg: &LogMsg<V>,
    ) -> Option<LogEffects<V>> {
        let plan = self.plan(s, from, msg)?;
        Some(self.carry_out(s, plan))
    }

    /// What `msg` from `from` asks of the acceptor; `None` if it changes nothing.
    fn plan<'m, V: Value>(
        &self,
        s: &LogAcceptorState<V>,
        from: Peer,
        msg: &'m LogMsg<V>,
    ) -> Option<Plan<'m, V>> {
        match (from, msg) {
            (
                Peer::Proposer(p),
                LogMsg::Accept {
                    round,
                    slot,
                    value,
                    proof,
                },
            ) => self.plan_accept(s, p, *round, *slot, value, proof),
            (
                Peer::Proposer(p),
                LogMsg::NewRound {
                    round,
                    proof,
                    accepts,
                },
            ) => self.plan_new_round(s, p, *round, proof, accepts),
            (
                Peer::Proposer(p),
                LogMsg::AcceptByDigest {
                    round,
                    slot,
                    value,
                    digest,
                },
            ) => self.plan_accept_by_digest(s, p, *round, *slot, value, digest),
            // TRUSTCHANGE(r) from acceptor `b`: join round `r` if it is above `rnd`.
            (Peer::Acceptor(b), LogMsg::TrustChange { round }) => {
                plan_trust_change(s, *round, TrustCause::Peer(b))
            }
            (Peer::Acceptor(b), LogMsg::Learn { round, slot, value }) => {
                self.plan_learn(s, b, *round, *slot, value)
            }
            _ => None,
        }
    }

    /// The pure step of a plan: a copy of `s` with the plan carried out.
    fn step<V: Value>(&self, s: &LogAcceptorState<V>, plan: Plan<'_, V>) -> LogAcceptorStep<V> {
        let mut next = s.clone();
        let effects = self.carry_out(&mut next, plan);
        LogStep {
            state: next,
            effects: effects.effects,
        }
    }

    /// Carries out a plan made on `s`, on `s` itself.
    fn carry_out<V: Value>(&self, s: &mut LogAcceptorState<V>, plan: Plan<'_, V>) -> LogEffects<V> {
        match plan {
            Plan::Vote { round, slot, value } => self.vote_in_place(s, round, slot, value),
            Plan::TrustChange(round, cause) => self.trust_change_in_place(s, round, cause),
            Plan::Learn {
                slot,
                lesson,
                equivocation,
            } => {
                let taught = lesson.apply(&mut s.learner);
                if let Some(decision) = taught.decided {
                    LogStep::new(()).effect(LogEffect::Decided(SlotDecision { slot, decision }))
                } else if let Some(next_round) = equivocation {
                    self.trust_change_in_place(s, next_round, TrustCause::Equivocation)
                } else {
                    LogStep::new(())
                }
            }
            Plan::NewRound { p, known, accepts } => {
                let (round, digest) = (known.round, known.digest);
                s.round_proof = Some(known);
                let mut effects = LogStep::new(());
                for (slot, value) in accepts {
                    let Some(plan) = self.plan_accept_by_digest(s, p, round, *slot, value, &digest)
                    else {
                        continue;
                    };
                    let more = self.carry_out(s, plan);
                    effects.effects.extend(more.effects);
                    if s.rnd > round {
                        break; // evidence against the leader: the rest is moot
                    }
                }
                effects
            }
        }
    }

    /// On `ACCEPT(r, s, v, proof)` from proposer `p`: vote in slot `s`, or change trust on
    /// evidence against `leader(r)` (equivocation in the slot, invalid proof), or ignore it.
    pub fn receive_accept<V: Value>(
        &self,
        s: &LogAcceptorState<V>,
        p: ProposerId,
        round: Round,
        slot: Slot,
        value: &V,
        proof: &[LogPromise<V>],
    ) -> Option<LogAcceptorStep<V>> {
        Some(self.step(s, self.plan_accept(s, p, round, slot, value, proof)?))
    }

    fn plan_accept<'m, V: Value>(
        &self,
        s: &LogAcceptorState<V>,
        p: ProposerId,
        round: Round,
        slot: Slot,
        value: &'m V,
        proof: &[LogPromise<V>],
    ) -> Option<Plan<'m, V>> {
        self.judge_accept(s, p, round, slot, value, || {
            valid_log_proof(&self.rules, &self.auth, round, slot, value, proof)
        })
    }

    /// On `ACCEPT(r, s, v, digest)` from proposer `p`: as [`Self::receive_accept`], with the
    /// NEWROUND proof of round `r` that it verified, if its digest is `digest`; ignored if it
    /// holds no such proof (its NEWROUND was lost or has not arrived).
    fn plan_accept_by_digest<'m, V: Value>(
        &self,
        s: &LogAcceptorState<V>,
        p: ProposerId,
        round: Round,
        slot: Slot,
        value: &'m V,
        digest: &ProofDigest,
    ) -> Option<Plan<'m, V>> {
        let known = s.round_proof.as_ref()?;
        if known.round != round || known.digest != *digest {
            return None;
        }
        self.judge_accept(s, p, round, slot, value, || {
            check_slot(&self.rules, slot, value, &known.proof)
        })
    }

    /// An ACCEPT whose proof `valid` checks (round 0 needs none): vote, or act on the
    /// evidence, or ignore it (`None`).
    fn judge_accept<'m, V: Value>(
        &self,
        s: &LogAcceptorState<V>,
        p: ProposerId,
        round: Round,
        slot: Slot,
        value: &'m V,
        valid: impl FnOnce() -> Result<(), ProofError>,
    ) -> Option<Plan<'m, V>> {
        let vote = Plan::Vote { round, slot, value };
        let next_round = match self.gate(s, p, round, slot, value) {
            Gate::CheckProof(next_round) => next_round,
            Gate::Equivocation(next_round) => {
                return plan_trust_change(s, next_round, TrustCause::Equivocation);
            }
            Gate::Ignore => return None,
        };
        if round == 0 {
            return Some(vote);
        }
        match valid() {
            Ok(()) => Some(vote),
            Err(e) => evidence(s, round, next_round, e.into()),
        }
    }

    /// The checks of an ACCEPT before its proof. A vote over the [`VoteLimits`] is refused
    /// like any ACCEPT it ignores; an equivocation is evidence whatever its size.
    fn gate<V: Value>(
        &self,
        s: &LogAcceptorState<V>,
        p: ProposerId,
        round: Round,
        slot: Slot,
        value: &V,
    ) -> Gate {
        if p != self.cluster.leader(round)
            || round < s.rnd
            || slot < s.decided_base
            || slot >= s.learner.decided_prefix().saturating_add(self.window)
        {
            return Gate::Ignore;
        }
        let Some(next_round) = round.checked_add(1) else {
            return Gate::Ignore;
        };
        match s.voted_in(round, slot) {
            Some(voted) if self.rules.vote_once && voted == value => Gate::Ignore, // a duplicate
            Some(_) if self.rules.vote_once => Gate::Equivocation(next_round),
            _ if !self.limits.admit(s, slot, value) => Gate::Ignore,
            _ => Gate::CheckProof(next_round),
        }
    }

    /// On `NEWROUND(r, Q, accepts)` from proposer `p`: keep Q for round `r` once its round
    /// part is verified, then take each of `accepts` as an ACCEPT naming Q. An invalid Q from
    /// `leader(r)` is evidence against it.
    fn plan_new_round<'m, V: Value>(
        &self,
        s: &LogAcceptorState<V>,
        p: ProposerId,
        round: Round,
        proof: &LogProof<V>,
        accepts: &'m [(Slot, V)],
    ) -> Option<Plan<'m, V>> {
        if p != self.cluster.leader(round) || round < s.rnd || round == 0 {
            return None;
        }
        if s.round_proof.as_ref().is_some_and(|k| k.round >= round) {
            return None; // it keeps the first proof of a round
        }
        if let Err(e) = valid_round_proof(&self.rules, &self.auth, round, proof) {
            return evidence(s, round, round.checked_add(1)?, e.into());
        }
        Some(Plan::NewRound {
            p,
            known: RoundProof::new(round, proof.clone()),
            accepts,
        })
    }

    /// `Vote`: accept `value` in `slot` and `round` (`rnd := round`), store it, tell the
    /// learners.
    fn vote_in_place<V: Value>(
        &self,
        s: &mut LogAcceptorState<V>,
        round: Round,
        slot: Slot,
        value: &V,
    ) -> LogEffects<V> {
        s.rnd = round;
        s.votes.insert(
            slot,
            Vote {
                round,
                value: value.clone(),
            },
        );
        LogStep::new(()).effect(LogEffect::Persist).send(
            To::Learners,
            LogMsg::Learn {
                round,
                slot,
                value: value.clone(),
            },
        )
    }

    /// `TrustChange`: move to `round > rnd`, store it, promise the new leader to vote in no
    /// lower round (reporting the decided prefix and the votes above it), tell the others.
    pub fn trust_change<V: Value>(
        &self,
        s: &LogAcceptorState<V>,
        round: Round,
        cause: TrustCause,
    ) -> Option<LogAcceptorStep<V>> {
        Some(self.step(s, plan_trust_change(s, round, cause)?))
    }

    /// [`Self::trust_change`] on the state itself, to a round above `rnd`.
    fn trust_change_in_place<V: Value>(
        &self,
        s: &mut LogAcceptorState<V>,
        round: Round,
        cause: TrustCause,
    ) -> LogEffects<V> {
        debug_assert!(round > s.rnd, "a trust change moves to a higher round");
        let (decided_prefix, votes) = s.open_votes();
        s.rnd = round;
        let promise = LogPromise::signed(&self.auth, round, self.id, decided_prefix, votes);
        LogStep::new(())
            .effect(LogEffect::Persist)
            .effect(LogEffect::TrustChanged { round, cause })
            .send(
                To::Proposer(self.cluster.leader(round)),
                LogMsg::Promise(promise),
            )
            .send(To::OtherAcceptors, LogMsg::TrustChange { round })
    }

    /// `Learn`: on `LEARN(r, s, v)` from acceptor `b`. Decides the slot on a quorum; two
    /// values in one slot of the current round before the slot is decided mean the leader
    /// equivocated: change trust. `None` when it teaches nothing, and when it shows an
    /// equivocation in the last round there is, which has no round to move to: the LEARN is
    /// then ignored whole.
    fn plan_learn<'m, V: Value>(
        &self,
        s: &LogAcceptorState<V>,
        b: AcceptorId,
        round: Round,
        slot: Slot,
        value: &V,
    ) -> Option<Plan<'m, V>> {
        let lesson = learner::lesson(self.rules.quorum, &s.learner, b, round, slot, value)?;
        let taught = &lesson.taught;
        let equivocation = if taught.decided.is_none() && taught.equivocation && round == s.rnd {
            Some(round.checked_add(1)?)
        } else {
            None
        };
        Some(Plan::Learn {
            slot,
            lesson,
            equivocation,
        })
    }

    /// State transfer: the acceptor takes the decision of `slot` from a replica that has it.
    pub fn catch_up<V: Value>(
        &self,
        s: &LogAcceptorState<V>,
        slot: Slot,
        decision: &Decision<V>,
    ) -> Option<LogAcceptorStep<V>> {
        let next = s.with_learner(learner::catch_up(&s.learner, slot, decision)?);
        Some(LogStep::new(next).effect(LogEffect::Decided(SlotDecision {
            slot,
            decision: decision.clone(),
        })))
    }

    /// A timeout: the leader may have crashed (a log is never finished, so the driver calls
    /// this only while a command waits); move to the next round.
    pub fn timeout<V: Value>(&self, s: &LogAcceptorState<V>) -> Option<LogAcceptorStep<V>> {
        self.trust_change(s, s.rnd.checked_add(1)?, TrustCause::Timeout)
    }
}

/// A trust change to `round`, if it is above `rnd`.
fn plan_trust_change<'m, V>(
    s: &LogAcceptorState<V>,
    round: Round,
    cause: TrustCause,
) -> Option<Plan<'m, V>> {
    (round > s.rnd).then_some(Plan::TrustChange(round, cause))
}

/// An invalid proof from `leader(round)`: evidence against the leader it trusts (§2), so a
/// trust change to `next_round` if `round` is its round; from the leader of a later round it
/// is only ignored, or one datagram could push it to any round.
fn evidence<'m, V>(
    s: &LogAcceptorState<V>,
    round: Round,
    next_round: Round,
    cause: TrustCause,
) -> Option<Plan<'m, V>> {
    if round == s.rnd {
        plan_trust_change(s, next_round, cause)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::HmacSha256;
    use crate::log::value::LogValue;

    type V = LogValue<String>;

    fn value(s: &str) -> V {
        LogValue::Batch(s.to_string())
    }

    fn learn(round: Round, slot: Slot, v: &str) -> LogMsg<V> {
        LogMsg::Learn {
            round,
            slot,
            value: value(v),
        }
    }

    fn accept(round: Round, slot: Slot, v: &str) -> LogMsg<V> {
        LogMsg::Accept {
            round,
            slot,
            value: value(v),
            proof: LogProof::none(),
        }
    }

    /// Every message steps the same in place as on a copy: the same next state, the same
    /// effects, and `None` (the state untouched) for the same messages. Among them, LEARNs
    /// of two values in the last round there is, which must change nothing.
    #[test]
    fn stepping_in_place_is_the_pure_step() {
        let acceptor = LogAcceptor {
            id: AcceptorId(3),
            cluster: Cluster::new(1, 2),
            rules: Rules::standard(1),
            auth: HmacSha256::new(b"the-acceptors-domain-key").unwrap(),
            window: 8,
            limits: VoteLimits::NONE,
        };
        let p0 = Peer::Proposer(ProposerId(0));
        let a = |i| Peer::Acceptor(AcceptorId(i));
        let script = [
            (p0, accept(0, 0, "A")),
            (p0, accept(0, 0, "A")),
            (a(0), learn(0, 0, "A")),
            (a(1), learn(0, 0, "A")),
            (a(1), learn(0, 0, "A")),
            (a(2), learn(0, 0, "A")),
            (p0, accept(0, 1, "B")),
            (a(0), learn(0, 2, "C")),
            (a(1), learn(0, 2, "D")),
            (p0, accept(0, 1, "E")),
            (a(2), LogMsg::TrustChange { round: 4 }),
            (a(2), LogMsg::TrustChange { round: 3 }),
            (p0, accept(0, 3, "F")),
            (a(0), learn(4, 5, "G")),
        ];
        let mut pure = LogAcceptorState::initial();
        let mut in_place = LogAcceptorState::initial();
        let mut changed = 0;
        for (from, msg) in &script {
            let step = acceptor.on_message(&pure, *from, msg);
            let effects = acceptor.on_message_in_place(&mut in_place, *from, msg);
            match step {
                Some(step) => {
                    changed += 1;
                    assert_eq!(effects.map(|e| e.effects), Some(step.effects), "{msg:?}");
                    pure = step.state;
                }
                None => assert!(effects.is_none(), "{msg:?}"),
            }
            assert_eq!(in_place, pure, "{msg:?}");
        }
        assert!(
            changed >= 8,
            "the script changes the state: {changed} steps"
        );
        assert_eq!(pure.rnd, 4);

        let mut last = LogAcceptorState::initial();
        last.rnd = Round::MAX;
        let before = last.clone();
        let first = acceptor.on_message_in_place(&mut last, a(0), &learn(Round::MAX, 0, "A"));
        assert!(first.is_some());
        let kept = last.clone();
        let second = learn(Round::MAX, 0, "B");
        assert!(acceptor.on_message(&kept, a(1), &second).is_none());
        assert!(
            acceptor
                .on_message_in_place(&mut last, a(1), &second)
                .is_none()
        );
        assert_eq!(last, kept);
        assert_ne!(last, before);
    }
}
