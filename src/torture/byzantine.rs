//! A Byzantine proposer for torture runs, on the runtime's sockets: it holds its own channel
//! keys (it is a member of the cluster) but none of the acceptors' secrets. It equivocates in
//! the rounds it leads with the commands clients sent it, sends NEWROUNDs and ACCEPTs with
//! stale, partial and forged proofs, replays what it sent, floods junk and oversized
//! datagrams, and poses as other nodes with forged channel tags. Its choices ([`Byzantine`]) are
//! apart from the socket, so that the simulator drives the same proposer on its own clock.

use crate::auth::Mac;
use crate::cluster_config::{ClusterConfig, NodeId, Role};
use crate::log::Slot;
use crate::log::message::{LogMsg, LogPromise, LogProof, ProofDigest};
use crate::log::value::LogValue;
use crate::runtime::codec::WireCodec;
use crate::runtime::event_loop::Codec;
use crate::runtime::faults::FaultRng;
use crate::runtime::wire::{self, ChannelKeys};
use crate::service::command::{Batch, Command};
use crate::service::msg::{ServiceMsg, SlotValue};
use crate::types::{ProposerId, Round};
use stateright::actor::Id;
use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the Byzantine proposer did.
#[derive(Debug, Default)]
pub struct Mischief {
    pub equivocations: AtomicU64,
    pub bad_proofs: AtomicU64,
    pub replays: AtomicU64,
    pub junk: AtomicU64,
    pub impersonations: AtomicU64,
}

impl Mischief {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn total(&self) -> u64 {
        [
            &self.equivocations,
            &self.bad_proofs,
            &self.replays,
            &self.junk,
            &self.impersonations,
        ]
        .iter()
        .map(|c| Self::get(c))
        .sum()
    }
}

/// The running Byzantine proposer; it stops when dropped.
pub struct ByzantineProposer {
    stop: Arc<AtomicBool>,
    pub mischief: Arc<Mischief>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for ByzantineProposer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl ByzantineProposer {
    /// Proposer `id` of `config` turned Byzantine, on `socket` (bound to its address).
    pub fn start(
        config: &ClusterConfig,
        id: u16,
        socket: UdpSocket,
        seed: u64,
    ) -> Result<Self, String> {
        let mut logic = Byzantine::new(config, id, seed)?;
        let addresses: BTreeMap<Id, SocketAddr> = config
            .nodes()
            .filter_map(|n| Some((config.stateright_id(n), config.address(n)?)))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let mischief = Arc::clone(&logic.mischief);
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("byzantine".into())
                .spawn(move || {
                    let _ = socket.set_read_timeout(Some(Duration::from_millis(5)));
                    let mut buf = vec![0u8; 65_536];
                    let started = Instant::now();
                    let mut next = Instant::now();
                    while !stop.load(Ordering::Relaxed) {
                        if let Ok((len, _)) = socket.recv_from(&mut buf) {
                            logic.observe(&buf[..len]);
                        }
                        // About every 5 ms, however busy the socket.
                        if Instant::now() >= next {
                            for (to, datagram) in logic.misbehave(started.elapsed()) {
                                if let Some(addr) = addresses.get(&to) {
                                    let _ = socket.send_to(&datagram, addr);
                                }
                            }
                            next = Instant::now() + Duration::from_millis(5);
                        }
                    }
                })
                .map_err(|e| e.to_string())?
        };
        Ok(ByzantineProposer {
            stop,
            mischief,
            thread: Some(thread),
        })
    }
}

/// The Byzantine proposer's choices, apart from any socket or clock: it reads the datagrams it
/// receives and, when asked (about every 5 ms), returns the datagrams it sends, by receiver.
/// The torture runs it on a thread and a socket; the simulator on its own clock.
pub struct Byzantine {
    codec: WireCodec,
    me: Id,
    my_id: ProposerId,
    proposers: usize,
    acceptors: Vec<Id>,
    rng: FaultRng,
    /// Recent client commands it received: the only commands it can propose.
    commands: Vec<Command>,
    /// PROMISEs it received (for rounds it leads).
    promises: Vec<LogPromise<SlotValue>>,
    highest_slot: Slot,
    /// The highest round it has seen.
    round: Round,
    /// Datagrams it sent, for replays.
    sent: Vec<(Id, Vec<u8>)>,
    pub mischief: Arc<Mischief>,
    next_early_slot: Slot,
    /// What it sends in the current call of [`Byzantine::misbehave`].
    outbox: Vec<(Id, Vec<u8>)>,
    /// Time since it started, as of the current call.
    elapsed: Duration,
}

impl Byzantine {
    /// Proposer `id` of `config` turned Byzantine.
    pub fn new(config: &ClusterConfig, id: u16, seed: u64) -> Result<Self, String> {
        let me = NodeId::new(Role::Proposer, id);
        let codec = WireCodec::from_config(config, me).map_err(|e| e.0)?;
        let acceptors: Vec<Id> = config
            .nodes()
            .filter(|n| n.role() == Role::Acceptor)
            .map(|n| config.stateright_id(n))
            .collect();
        Ok(Byzantine {
            codec,
            me: config.stateright_id(me),
            my_id: ProposerId(id),
            proposers: config.proposers.len(),
            acceptors,
            rng: FaultRng::new(seed),
            commands: Vec::new(),
            promises: Vec::new(),
            highest_slot: 0,
            round: 0,
            sent: Vec::new(),
            mischief: Arc::new(Mischief::default()),
            next_early_slot: 0,
            outbox: Vec::new(),
            elapsed: Duration::ZERO,
        })
    }

    /// One round of mischief, `elapsed` after it started: the datagrams to send.
    pub fn misbehave(&mut self, elapsed: Duration) -> Vec<(Id, Vec<u8>)> {
        self.elapsed = elapsed;
        self.act();
        std::mem::take(&mut self.outbox)
    }

    /// Learns commands, PROMISEs, slots and rounds from what it receives.
    pub fn observe(&mut self, datagram: &[u8]) {
        let Ok(Some((_, msg))) = self.codec.decode(self.me, datagram) else {
            return;
        };
        match msg {
            ServiceMsg::Request(c) => {
                self.commands.push(c);
                if self.commands.len() > 64 {
                    self.commands.remove(0);
                }
            }
            ServiceMsg::Log(LogMsg::Promise(p)) => {
                self.round = self.round.max(p.round);
                self.promises.push(p);
                if self.promises.len() > 32 {
                    self.promises.remove(0);
                }
            }
            ServiceMsg::Log(LogMsg::Learn { round, slot, .. }) => {
                self.round = self.round.max(round);
                self.highest_slot = self.highest_slot.max(slot);
            }
            _ => {}
        }
    }

    fn act(&mut self) {
        if self.my_id.0 == 0 && self.elapsed < Duration::from_millis(500) {
            // While the acceptors still trust it in round 0: equivocate, and nothing else
            // that would give it away sooner.
            self.equivocate();
            return;
        }
        match self.rng.below(10) {
            0..=3 => self.equivocate(),
            4 | 5 => self.bad_proof(),
            6 => self.replay(),
            7 | 8 => self.junk(),
            _ => self.impersonate(),
        }
    }

    /// A round it leads, at or near the highest it has seen.
    fn my_round(&mut self) -> Round {
        let m = self.proposers.max(1) as Round;
        let base = self.round + self.rng.below(2) as Round;
        let offset = (self.my_id.0 as Round + m - base % m) % m;
        base + offset
    }

    fn some_batch(&mut self) -> SlotValue {
        if self.commands.is_empty() || self.rng.chance(0.2) {
            return LogValue::Noop;
        }
        let n = 1 + self.rng.below(self.commands.len().min(4) as u64) as usize;
        let start = self.rng.below(self.commands.len() as u64) as usize;
        let picked: Vec<Command> = (0..n)
            .map(|i| self.commands[(start + i) % self.commands.len()].clone())
            .collect();
        LogValue::Batch(Batch::from(picked))
    }

    /// Two values for one slot of a round it leads, each to part of the acceptors.
    fn equivocate(&mut self) {
        let early = self.elapsed < Duration::from_millis(500);
        let round = if self.my_id.0 == 0 && (early || self.rng.chance(0.5)) {
            0
        } else {
            self.my_round()
        };
        let slot = if early {
            // A fresh slot each time, so that no acceptor sees two ACCEPTs for one slot.
            self.next_early_slot += 1;
            self.next_early_slot - 1
        } else {
            self.highest_slot + self.rng.below(3)
        };
        let a = self.some_batch();
        let mut b = self.some_batch();
        if b == a {
            // A no-op and an empty batch differ, so it can always equivocate.
            b = match a {
                LogValue::Noop => LogValue::Batch(Batch::noop()),
                LogValue::Batch(_) => LogValue::Noop,
            };
        }
        let proof = self.some_proof(round);
        let n = self.acceptors.len();
        // Half and half most often: then neither value reaches a quorum of 2f + 1.
        let split = if early || self.rng.chance(0.5) {
            n / 2
        } else {
            1 + self.rng.below(n as u64 - 1) as usize
        };
        for (i, id) in self.acceptors.clone().into_iter().enumerate() {
            let value = if i < split { a.clone() } else { b.clone() };
            let msg = ServiceMsg::Log(LogMsg::Accept {
                round,
                slot,
                value,
                proof: proof.clone(),
            });
            self.send(id, &msg);
        }
        // Both values to one acceptor too, in its first few slots while it is trusted in
        // round 0 (it gives it away at once) and often later.
        let to_one = if early {
            slot < 3
        } else {
            self.rng.chance(0.3)
        };
        if to_one {
            // Both values to one acceptor too: evidence it must act on, and never a second
            // vote in the round.
            if let Some(id) = self.acceptors.first().copied() {
                let msg = ServiceMsg::Log(LogMsg::Accept {
                    round,
                    slot,
                    value: b.clone(),
                    proof: proof.clone(),
                });
                self.send(id, &msg);
            }
        }
        Mischief::bump(&self.mischief.equivocations);
    }

    /// Some of the PROMISEs it holds for `round`, perhaps too few, perhaps forged or stale.
    fn some_proof(&mut self, round: Round) -> LogProof<SlotValue> {
        let mut proof: Vec<LogPromise<SlotValue>> = self
            .promises
            .iter()
            .filter(|p| p.round == round || self.rng.chance(0.1))
            .cloned()
            .collect();
        if !proof.is_empty() && self.rng.chance(0.3) {
            proof.pop();
        }
        if let Some(p) = proof.first_mut()
            && self.rng.chance(0.3)
        {
            p.mac = Mac::FORGED;
        }
        LogProof::from(proof)
    }

    fn bad_proof(&mut self) {
        let round = self.my_round().max(1);
        let proof = self.some_proof(round);
        let slot = self.highest_slot + 1;
        let value = self.some_batch();
        let msg = if self.rng.chance(0.5) {
            ServiceMsg::Log(LogMsg::NewRound {
                round,
                proof,
                accepts: vec![(slot, value)].into(),
            })
        } else {
            ServiceMsg::Log(LogMsg::AcceptByDigest {
                round,
                slot,
                value,
                digest: ProofDigest([self.rng.below(256) as u8; 32]),
            })
        };
        for id in self.acceptors.clone() {
            self.send(id, &msg);
        }
        Mischief::bump(&self.mischief.bad_proofs);
    }

    fn replay(&mut self) {
        if self.sent.is_empty() {
            return;
        }
        let i = self.rng.below(self.sent.len() as u64) as usize;
        let replayed = self.sent[i].clone();
        self.outbox.push(replayed);
        Mischief::bump(&self.mischief.replays);
    }

    /// Random bytes, or a datagram larger than any the wire allows.
    fn junk(&mut self) {
        let len = if self.rng.chance(0.2) {
            65_000 + self.rng.below(500) as usize
        } else {
            self.rng.below(200) as usize
        };
        let bytes: Vec<u8> = (0..len).map(|_| self.rng.next_u64() as u8).collect();
        let to = self.acceptors[self.rng.below(self.acceptors.len() as u64) as usize];
        self.outbox.push((to, bytes));
        Mischief::bump(&self.mischief.junk);
    }

    /// A well-formed datagram that claims another sender, tagged under a key it made up (it
    /// cannot know the real one).
    fn impersonate(&mut self) {
        let n = self.acceptors.len();
        let to = self.acceptors[self.rng.below(n as u64) as usize];
        let claimed = self.acceptors[self.rng.below(n as u64) as usize];
        let guess: Vec<u8> = (0..32).map(|_| self.rng.next_u64() as u8).collect();
        let Ok(keys) = ChannelKeys::from_map([((claimed, to), guess)]) else {
            return;
        };
        let round = self.round + 1 + self.rng.below(1000) as Round;
        let msg = ServiceMsg::Log(LogMsg::TrustChange { round });
        if let Ok(datagram) = wire::encode(claimed, to, &msg, &keys) {
            self.outbox.push((to, datagram));
        }
        Mischief::bump(&self.mischief.impersonations);
    }

    fn send(&mut self, to: Id, msg: &ServiceMsg) {
        // A message larger than a datagram goes as fragments; each may be replayed alone.
        for datagram in self.codec.encode(self.me, to, msg).unwrap_or_default() {
            self.outbox.push((to, datagram.clone()));
            if self.sent.len() < 256 {
                self.sent.push((to, datagram));
            } else {
                let i = self.rng.below(256) as usize;
                self.sent[i] = (to, datagram);
            }
        }
    }
}
