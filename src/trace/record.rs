//! The recorder of `--trace`: an [`Observer`] of a running acceptor that writes, after each
//! step, what the step changed (votes, round, decisions, dropped votes) as trace records.
//! It reads the state before and after the step, so it records what the runtime did, even
//! if that is not what the protocol's step functions allow.

use super::event::{Event, FORMAT, Header, Record, TracePromise, TraceVote, Via, value_digest};
use crate::log::Slot;
use crate::log::acceptor::LogAcceptorState;
use crate::log::message::{LogMsg, LogProof, ProofDigest};
use crate::message::Vote;
use crate::runtime::event_loop::{Input, Observer};
use crate::service::msg::{ServiceMsg, SlotValue};
use crate::service::node::{ServiceNode, ServiceState, ServiceTimer};
use crate::service::server::{Trace, TraceTo};
use crate::types::Cluster;
use stateright::actor::{Command, Id, Out};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// What the recorder keeps of the state before a step.
struct Before {
    rnd: u32,
    decided_base: Slot,
    learner_base: Slot,
    votes: BTreeMap<Slot, Vote<SlotValue>>,
    decided: BTreeSet<Slot>,
    /// The round and digest of the NEWROUND proof it kept.
    kept: Option<(u32, ProofDigest)>,
}

/// Writes the trace of one acceptor to a file.
pub struct TraceRecorder {
    acceptor: u16,
    cluster: Cluster,
    file: Option<BufWriter<File>>,
    seq: u64,
    before: Option<Before>,
}

impl TraceRecorder {
    /// Servers that record their acceptors' traces to `to`, each with a recorder.
    pub fn to(to: TraceTo) -> Trace {
        Trace {
            to,
            open: Self::boxed,
        }
    }

    /// [`Self::open`], as the observer a server runs.
    fn boxed(
        path: &Path,
        acceptor: u16,
        cluster: Cluster,
        window: Slot,
    ) -> io::Result<Box<dyn Observer<ServiceNode>>> {
        Ok(Box::new(Self::open(path, acceptor, cluster, window)?))
    }

    /// Appends to `path` (a restarted acceptor goes on with its trace), writing the header
    /// first if the file is new. `window` is the acceptor's slot window, which the header
    /// names so that a replay votes as the acceptor did; the server passes it down, so the
    /// recorder does not reach up into the server for it.
    pub fn open(path: &Path, acceptor: u16, cluster: Cluster, window: Slot) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let fresh = file.metadata()?.len() == 0;
        let mut file = BufWriter::new(file);
        if fresh {
            let header = Header {
                format: FORMAT.to_string(),
                acceptor,
                f: cluster.f,
                proposers: cluster.proposers,
                window: Some(window),
            };
            serde_json::to_writer(&mut file, &header)?;
            file.write_all(b"\n")?;
            file.flush()?;
        }
        Ok(TraceRecorder {
            acceptor,
            cluster,
            file: Some(file),
            seq: 0,
            before: None,
        })
    }

    fn write(&mut self, events: Vec<Event>) {
        let Some(file) = &mut self.file else {
            return;
        };
        let mut written = Ok(());
        for event in events {
            self.seq += 1;
            let record = Record {
                t: now_ns(),
                seq: self.seq,
                event,
            };
            written = serde_json::to_writer(&mut *file, &record)
                .map_err(io::Error::from)
                .and_then(|()| file.write_all(b"\n"));
            if written.is_err() {
                break;
            }
        }
        // Flushed at every step: the node may be stopped (a crash) at any step boundary.
        if let Err(e) = written.and_then(|()| file.flush()) {
            tracing::warn!(
                acceptor = self.acceptor,
                "cannot write the trace, stopping it: {e}"
            );
            self.file = None;
        }
    }

    fn proposer_of(&self, src: Id) -> u16 {
        let index = usize::from(src).wrapping_sub(self.cluster.acceptors());
        u16::try_from(index).unwrap_or(u16::MAX)
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn acceptor_of(state: &ServiceState) -> Option<&LogAcceptorState<SlotValue>> {
    state.acceptor().map(|(acceptor, _)| acceptor)
}

fn decided_slots(acceptor: &LogAcceptorState<SlotValue>) -> BTreeSet<Slot> {
    acceptor
        .learner
        .slots
        .iter()
        .filter(|(_, l)| l.decided.is_some())
        .map(|(slot, _)| *slot)
        .collect()
}

fn proof_of(proof: &LogProof<SlotValue>) -> Vec<TracePromise> {
    proof.iter().map(TracePromise::of).collect()
}

/// The proof behind a vote that `msg` caused: its own, or the NEWROUND proof it named.
fn proof_behind(
    msg: Option<&ServiceMsg>,
    after: &LogAcceptorState<SlotValue>,
) -> Vec<TracePromise> {
    match msg {
        Some(ServiceMsg::Log(LogMsg::Accept { proof, .. }))
        | Some(ServiceMsg::Log(LogMsg::NewRound { proof, .. })) => proof_of(proof),
        Some(ServiceMsg::Log(LogMsg::AcceptByDigest { .. })) => after
            .round_proof
            .as_ref()
            .map(|known| proof_of(&known.proof))
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn cause_of(input: &Input<'_, ServiceNode>) -> String {
    match input {
        Input::Timeout(ServiceTimer::Log(_)) => "timeout".into(),
        Input::Timeout(ServiceTimer::Tick) => "tick".into(),
        Input::Timeout(ServiceTimer::Linger) => "linger".into(),
        Input::Msg { src, msg } => match msg {
            ServiceMsg::Log(LogMsg::TrustChange { .. }) => format!("trust change of node {src}"),
            ServiceMsg::Log(LogMsg::Learn { .. }) => "equivocation seen in LEARNs".into(),
            ServiceMsg::Log(_) => "evidence in an ACCEPT or NEWROUND".into(),
            _ => "other".into(),
        },
    }
}

impl Observer<ServiceNode> for TraceRecorder {
    fn started(&mut self, state: &ServiceState) {
        let Some(acceptor) = acceptor_of(state) else {
            return;
        };
        let votes = acceptor
            .votes
            .iter()
            .map(|(slot, vote)| TraceVote::of(*slot, vote))
            .collect();
        let mut events = vec![Event::Start {
            rnd: acceptor.rnd,
            base: acceptor.decided_base,
            votes,
        }];
        // A restarted acceptor's learner starts at its own snapshot (a state transfer).
        if acceptor.learner.base > acceptor.decided_base {
            events.push(Event::Skip {
                to: acceptor.learner.base,
            });
        }
        // Restarted in a round not begun, it sends its leader the PROMISE again (the spec's
        // `RePromise`), the one it keeps to resend.
        if let Some((_, replica)) = state.acceptor()
            && let Some(promised) = &replica.promised
            && let (_, LogMsg::Promise(promise)) = &**promised
        {
            events.push(Event::Promise {
                promise: TracePromise::of(promise),
                cause: "restart".into(),
            });
        }
        self.write(events);
    }

    fn before(&mut self, state: &ServiceState) {
        self.before = acceptor_of(state).map(|acceptor| Before {
            rnd: acceptor.rnd,
            decided_base: acceptor.decided_base,
            learner_base: acceptor.learner.base,
            votes: acceptor.votes.clone(),
            decided: decided_slots(acceptor),
            kept: acceptor.round_proof.as_ref().map(|k| (k.round, k.digest)),
        });
    }

    fn after(
        &mut self,
        input: Input<'_, ServiceNode>,
        state: &ServiceState,
        out: &Out<ServiceNode>,
    ) {
        let (Some(before), Some(after)) = (self.before.take(), acceptor_of(state)) else {
            return;
        };
        let (src, msg) = match &input {
            Input::Msg { src, msg } => (Some(*src), Some(*msg)),
            Input::Timeout(_) => (None, None),
        };
        let mut events = Vec::new();
        // A NEWROUND proof kept comes before the votes it allows.
        if let Some(known) = &after.round_proof
            && before.kept != Some((known.round, known.digest))
        {
            events.push(Event::Keep {
                round: known.round,
                proof: proof_of(&known.proof),
            });
        }
        let digest = matches!(
            msg,
            Some(ServiceMsg::Log(
                LogMsg::AcceptByDigest { .. } | LogMsg::NewRound { .. }
            ))
        );
        for (slot, vote) in &after.votes {
            if before.votes.get(slot) == Some(vote) {
                continue;
            }
            events.push(Event::Vote {
                slot: *slot,
                round: vote.round,
                value: value_digest(&vote.value),
                from: src.map_or(u16::MAX, |src| self.proposer_of(src)),
                proof: proof_behind(msg, after),
                digest,
            });
        }
        if after.rnd > before.rnd {
            for command in out.iter() {
                if let Command::Send(_, ServiceMsg::Log(LogMsg::Promise(promise))) = command {
                    events.push(Event::Promise {
                        promise: TracePromise::of(promise),
                        cause: cause_of(&input),
                    });
                    break;
                }
            }
        }
        let via = match msg {
            Some(ServiceMsg::Decisions { .. }) => Via::CatchUp,
            _ => Via::Learn,
        };
        for (slot, learner) in after.learner.slots.range(before.learner_base..) {
            if let Some(decision) = &learner.decided
                && !before.decided.contains(slot)
            {
                events.push(Event::Decide {
                    slot: *slot,
                    round: decision.round,
                    value: value_digest(&decision.value),
                    via,
                });
            }
        }
        if matches!(msg, Some(ServiceMsg::Snapshot { .. }))
            && after.learner.base > before.learner_base
        {
            events.push(Event::Skip {
                to: after.learner.base,
            });
        }
        if after.decided_base > before.decided_base {
            events.push(Event::Drop {
                base: after.decided_base,
            });
        }
        if !events.is_empty() {
            self.write(events);
        }
    }
}
