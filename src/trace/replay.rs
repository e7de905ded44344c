//! `check trace`: the merged history replayed through the model. Each acceptor of the trace
//! is shadowed by the model's acceptor ([`LogAcceptor`], the step functions the model checker
//! explores), and every event must be a step that the model allows from the shadow's state:
//!
//! - a vote is what the model's acceptor does on that ACCEPT and proof (which rules out a
//!   second vote in a round, a vote below its round, and a vote the proof does not allow);
//! - a PROMISE goes to a higher round (or is one of its round again, the spec's `RePromise`)
//!   and reports exactly the acceptor's votes at or above a decided prefix the acceptor knows;
//! - a restart recovers the round and votes the acceptor had;
//! - a decision is of a value a quorum voted (in its round, when learned from LEARNs).
//!
//! and the model's safety properties hold after every event: at most one value chosen per
//! slot, learners agree, and every proof is made of PROMISEs acceptors really sent before.

use super::event::{Event, TracePromise, TraceVote, Via};
use super::read::{History, Step};
use crate::auth::{Authenticator, Mac};
use crate::log::Slot;
use crate::log::acceptor::{LogAcceptor, LogAcceptorState, VoteLimits};
use crate::log::message::{LogPromise, encode_log_promise};
use crate::log::rules::valid_log_proof;
use crate::message::Vote;
use crate::rules::Rules;
use crate::types::{AcceptorId, Cluster, ProposerId, Round};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Display};
use std::sync::{Arc, RwLock};

/// The model's abstraction of the authenticators (PROTOCOL.md §3): a PROMISE verifies if an
/// acceptor really sent it, with that mac, earlier in the history. No key is needed.
#[derive(Clone, Debug, Default)]
pub struct SentPromises(Arc<RwLock<BTreeMap<Vec<u8>, Mac>>>);

impl SentPromises {
    fn insert(&self, promise: &LogPromise<String>) {
        let encoded = encode_log_promise(
            promise.round,
            promise.acceptor,
            promise.decided_prefix,
            &promise.votes,
        );
        let mut table = self.0.write().unwrap_or_else(|e| e.into_inner());
        table.insert(encoded, promise.mac);
    }

    fn get(&self, encoded: &[u8]) -> Option<Mac> {
        let table = self.0.read().unwrap_or_else(|e| e.into_inner());
        table.get(encoded).copied()
    }
}

impl Authenticator for SentPromises {
    fn authenticate(&self, encoded: &[u8]) -> Mac {
        self.get(encoded).unwrap_or(Mac::FORGED)
    }

    fn verify(&self, encoded: &[u8], mac: &Mac) -> bool {
        self.get(encoded) == Some(*mac)
    }
}

/// The first event that is not a legal step, or after which a property fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Its position in the merged history, from 1.
    pub index: usize,
    pub acceptor: u16,
    pub origin: String,
    pub event: String,
    pub why: String,
}

impl Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "event {} (a{}, {}): {}\n  {}",
            self.index,
            self.acceptor + 1,
            self.origin,
            self.event,
            self.why
        )
    }
}

/// What a history that validated held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replayed {
    pub events: usize,
    pub starts: usize,
    pub votes: usize,
    pub promises: usize,
    pub decisions: usize,
    pub slots_chosen: usize,
    pub highest_round: Round,
}

impl Display for Replayed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} events: {} starts, {} votes, {} PROMISEs, {} decisions; {} slots chosen; \
             highest round {}",
            self.events,
            self.starts,
            self.votes,
            self.promises,
            self.decisions,
            self.slots_chosen,
            self.highest_round
        )
    }
}

/// The model's view of one acceptor of the trace.
struct Shadow {
    state: LogAcceptorState<String>,
    started: bool,
    /// Every slot below it is known decided (its learner's base).
    known_below: Slot,
    /// Slots at or above `known_below` that it knows decided.
    known: BTreeSet<Slot>,
}

impl Shadow {
    fn knows_decided_below(&self, d: Slot) -> Option<Slot> {
        (self.known_below..d).find(|slot| !self.known.contains(slot))
    }
}

/// The replay: the shadows and the ghost state the properties read.
struct Replay {
    cluster: Cluster,
    rules: Rules,
    auth: SentPromises,
    shadows: BTreeMap<u16, Shadow>,
    /// Who voted what: (slot, round, value) to the acceptors.
    voters: BTreeMap<(Slot, Round, String), BTreeSet<u16>>,
    /// The value chosen in each slot, and a round it was chosen in.
    chosen: BTreeMap<Slot, (Round, String)>,
    /// The value each slot was decided as, by any learner.
    decided: BTreeMap<Slot, String>,
    report: Replayed,
}

impl Replay {
    fn new(f: usize, proposers: usize) -> Self {
        Replay {
            cluster: Cluster::new(f, proposers.max(1)),
            rules: Rules::standard(f),
            auth: SentPromises::default(),
            shadows: BTreeMap::new(),
            voters: BTreeMap::new(),
            chosen: BTreeMap::new(),
            decided: BTreeMap::new(),
            report: Replayed::default(),
        }
    }

    fn model(&self, acceptor: u16) -> LogAcceptor<SentPromises> {
        LogAcceptor {
            id: AcceptorId(acceptor),
            cluster: self.cluster,
            rules: self.rules,
            auth: self.auth.clone(),
            // The window bounds resources, not safety: the shadow's learner is not replayed.
            window: Slot::MAX,
            // Likewise the vote limits: a refused vote is not in the trace.
            limits: VoteLimits::NONE,
        }
    }

    fn shadow(&mut self, acceptor: u16) -> &mut Shadow {
        self.shadows.entry(acceptor).or_insert_with(|| Shadow {
            state: LogAcceptorState::initial(),
            started: false,
            known_below: 0,
            known: BTreeSet::new(),
        })
    }

    /// Replays one event; `Err` says why it is not a legal step or breaks a property.
    fn apply(&mut self, acceptor: u16, event: &Event) -> Result<(), String> {
        self.report.events += 1;
        match event {
            Event::Start { rnd, base, votes } => self.start(acceptor, *rnd, *base, votes),
            Event::Vote {
                slot,
                round,
                value,
                from,
                proof,
                ..
            } => self.vote(acceptor, *slot, *round, value, *from, proof),
            // The proof is checked with each vote that names it (`proof` of a digest vote).
            Event::Keep { .. } => Ok(()),
            Event::Promise { promise, .. } => self.promise(acceptor, promise),
            Event::Decide {
                slot,
                round,
                value,
                via,
            } => self.decide(acceptor, *slot, *round, value, *via),
            Event::Skip { to } => self.skip(acceptor, *to),
            Event::Drop { base } => self.drop_votes(acceptor, *base),
        }
    }

    fn start(
        &mut self,
        acceptor: u16,
        rnd: Round,
        base: Slot,
        votes: &[TraceVote],
    ) -> Result<(), String> {
        self.report.starts += 1;
        let recovered: BTreeMap<Slot, Vote<String>> =
            votes.iter().map(|v| (v.slot, v.slot_vote().vote)).collect();
        let shadow = self.shadow(acceptor);
        if !shadow.started {
            shadow.started = true;
            if rnd != 0 || base != 0 || !votes.is_empty() {
                return Err(format!(
                    "the trace must start with the acceptor's first start, in round 0 with no \
                     vote; it starts in round {rnd} with {} votes",
                    votes.len()
                ));
            }
            return Ok(());
        }
        // A restart: the store must give back what the acceptor had promised and voted.
        let had = &shadow.state;
        if rnd != had.rnd {
            return Err(format!(
                "restarted in round {rnd}, but it had moved to round {} before it stopped: its \
                 store lost a step",
                had.rnd
            ));
        }
        let from = base.max(had.decided_base);
        let kept: BTreeMap<_, _> = had.votes.range(from..).map(|(s, v)| (*s, v)).collect();
        let back: BTreeMap<_, _> = recovered.range(from..).map(|(s, v)| (*s, v)).collect();
        if kept != back {
            return Err(format!(
                "restarted with votes {back:?} from slot {from} on, but it had voted {kept:?}"
            ));
        }
        if let Some(slot) = shadow.knows_decided_below(base) {
            return Err(format!(
                "restarted with base {base}, but it never learned slot {slot} decided"
            ));
        }
        shadow.state = LogAcceptorState {
            rnd,
            decided_base: base,
            votes: recovered,
            ..LogAcceptorState::initial()
        };
        shadow.known_below = base;
        shadow.known.clear();
        Ok(())
    }

    fn vote(
        &mut self,
        acceptor: u16,
        slot: Slot,
        round: Round,
        value: &str,
        from: u16,
        proof: &[TracePromise],
    ) -> Result<(), String> {
        self.report.votes += 1;
        self.report.highest_round = self.report.highest_round.max(round);
        let proof: Vec<LogPromise<String>> = proof.iter().map(TracePromise::log_promise).collect();
        let value = value.to_string();
        let model = self.model(acceptor);
        let state = self.shadow(acceptor).state.clone();
        let step = model.receive_accept(&state, ProposerId(from), round, slot, &value, &proof);
        let voted = Vote {
            round,
            value: value.clone(),
        };
        let next = match step {
            Some(step) if step.state.votes.get(&slot) == Some(&voted) => step.state,
            Some(step) => {
                return Err(format!(
                    "the model's acceptor does not vote on this ACCEPT: it changes trust to \
                     round {} ({})",
                    step.state.rnd,
                    self.why_not(&state, slot, round, &value, from, &proof)
                ));
            }
            None => {
                return Err(format!(
                    "the model's acceptor ignores this ACCEPT ({})",
                    self.why_not(&state, slot, round, &value, from, &proof)
                ));
            }
        };
        self.shadow(acceptor).state = next;
        let voters = self.voters.entry((slot, round, value.clone())).or_default();
        voters.insert(acceptor);
        if voters.len() >= self.rules.quorum {
            match self.chosen.get(&slot) {
                Some((r, other)) if *other != value => {
                    return Err(format!(
                        "agreement violated: slot {slot} chose {other} in round {r} and \
                         {value} in round {round}"
                    ));
                }
                Some(_) => {}
                None => {
                    self.chosen.insert(slot, (round, value));
                    self.report.slots_chosen += 1;
                }
            }
        }
        Ok(())
    }

    /// Why the model does not take a vote, for the error message.
    fn why_not(
        &self,
        state: &LogAcceptorState<String>,
        slot: Slot,
        round: Round,
        value: &String,
        from: u16,
        proof: &[LogPromise<String>],
    ) -> String {
        if from == u16::MAX {
            return "no ACCEPT from a proposer caused the vote".into();
        }
        if ProposerId(from) != self.cluster.leader(round) {
            return format!("p{from} does not lead round {round}");
        }
        if round < state.rnd {
            return format!("the acceptor is in round {}, above {round}", state.rnd);
        }
        if slot < state.decided_base {
            return format!(
                "slot {slot} is below its decided base {}",
                state.decided_base
            );
        }
        if let Some(vote) = state.votes.get(&slot).filter(|v| v.round == round) {
            return format!(
                "it already voted {} in round {round} of slot {slot}: one vote per round",
                vote.value
            );
        }
        match valid_log_proof(&self.rules, &self.auth, round, slot, value, proof) {
            Err(e) => format!("the proof is invalid: {e}"),
            Ok(()) => "no reason found".into(),
        }
    }

    fn promise(&mut self, acceptor: u16, promise: &TracePromise) -> Result<(), String> {
        self.report.promises += 1;
        self.report.highest_round = self.report.highest_round.max(promise.round);
        if promise.acceptor != acceptor {
            return Err(format!(
                "a{} sent a PROMISE in the name of a{}",
                acceptor + 1,
                promise.acceptor + 1
            ));
        }
        let shadow = self.shadow(acceptor);
        // The same round again (after a restart): the spec's `RePromise`, as honest.
        let again = promise.round == shadow.state.rnd && promise.round > 0;
        if promise.round <= shadow.state.rnd && !again {
            return Err(format!(
                "a trust change must go up: the acceptor is in round {}, the PROMISE is for {}",
                shadow.state.rnd, promise.round
            ));
        }
        let d = promise.decided_prefix;
        if let Some(slot) = shadow.knows_decided_below(d) {
            return Err(format!(
                "the PROMISE reports the decided prefix {d}, but the acceptor does not know \
                 slot {slot} decided"
            ));
        }
        let votes: Vec<TraceVote> = shadow
            .state
            .votes
            .range(d..)
            .map(|(slot, vote)| TraceVote {
                slot: *slot,
                round: vote.round,
                value: vote.value.clone(),
            })
            .collect();
        if promise.votes != votes {
            return Err(format!(
                "the PROMISE is not honest: it reports the votes {:?} from slot {d} on, but \
                 the acceptor's votes there are {votes:?}",
                promise.votes
            ));
        }
        shadow.state.rnd = promise.round;
        self.auth.insert(&promise.log_promise());
        Ok(())
    }

    fn decide(
        &mut self,
        acceptor: u16,
        slot: Slot,
        round: Round,
        value: &str,
        via: Via,
    ) -> Result<(), String> {
        self.report.decisions += 1;
        let voters = self
            .voters
            .get(&(slot, round, value.to_string()))
            .map_or(0, BTreeSet::len);
        match via {
            Via::Learn if voters < self.rules.quorum => {
                return Err(format!(
                    "decided {value} in slot {slot} on LEARNs of round {round}, but only \
                     {voters} acceptors voted it there ({} needed)",
                    self.rules.quorum
                ));
            }
            Via::CatchUp if self.chosen.get(&slot).is_none_or(|(_, v)| v != value) => {
                return Err(format!(
                    "took the decision {value} of slot {slot} from a peer, but no quorum chose \
                     it"
                ));
            }
            _ => {}
        }
        match self.decided.get(&slot) {
            Some(other) if other != value => {
                return Err(format!(
                    "learners disagree: slot {slot} was decided {other}, now {value}"
                ));
            }
            Some(_) => {}
            None => {
                self.decided.insert(slot, value.to_string());
            }
        }
        let shadow = self.shadow(acceptor);
        if slot >= shadow.known_below {
            shadow.known.insert(slot);
        }
        Ok(())
    }

    fn skip(&mut self, acceptor: u16, to: Slot) -> Result<(), String> {
        let shadow = self.shadows.get(&acceptor);
        let from = shadow.map_or(0, |s| s.known_below);
        if let Some(slot) = (from..to).find(|slot| !self.chosen.contains_key(slot)) {
            return Err(format!(
                "skipped to slot {to} on a snapshot, but slot {slot} was never chosen"
            ));
        }
        let shadow = self.shadow(acceptor);
        shadow.known_below = shadow.known_below.max(to);
        shadow.known = shadow.known.split_off(&shadow.known_below);
        Ok(())
    }

    fn drop_votes(&mut self, acceptor: u16, base: Slot) -> Result<(), String> {
        let shadow = self.shadow(acceptor);
        if let Some(slot) = shadow.knows_decided_below(base) {
            return Err(format!(
                "dropped the votes below slot {base}, but slot {slot} is not known decided"
            ));
        }
        shadow.state.decided_base = shadow.state.decided_base.max(base);
        shadow.state.votes = shadow.state.votes.split_off(&shadow.state.decided_base);
        Ok(())
    }
}

/// Replays a merged history; the first rejected event, if any.
pub fn replay(history: &History) -> Result<Replayed, Rejection> {
    let mut replay = Replay::new(history.f, history.proposers);
    for (i, step) in history.steps.iter().enumerate() {
        if let Err(why) = replay.apply(step.acceptor, &step.event) {
            return Err(rejection(i + 1, step, why));
        }
    }
    Ok(replay.report.clone())
}

fn rejection(index: usize, step: &Step, why: String) -> Rejection {
    Rejection {
        index,
        acceptor: step.acceptor,
        origin: step.origin.clone(),
        event: serde_json::to_string(&step.event).unwrap_or_else(|_| format!("{:?}", step.event)),
        why,
    }
}
