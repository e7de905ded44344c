//! The simulated clients. An honest client runs the real client's core
//! ([`crate::service::client::ClientCore`]: sign the command, send it to the leader of the
//! round the last reply named, then to the other proposers after a quarter of the resend
//! period, resend to every proposer and acceptor every resend period, give up after the client
//! timeout, take the first reply of an acceptor to its seq) on the simulated clock, with a
//! workload that makes compare-and-set succeed often: few keys, and the expected value is the
//! last one the client saw. A Byzantine client holds its own keys and sends forged,
//! misdirected and malformed messages.

use crate::log::message::LogMsg;
use crate::log::value::LogValue;
use crate::runtime::codec::WireCodec;
use crate::runtime::faults::FaultRng;
use crate::service::client::{ClientCore, Outgoing};
use crate::service::command::{Batch, Command, Op};
use crate::service::kv::Reply;
use crate::service::msg::ServiceMsg;
use crate::types::ClientId;
use stateright::actor::Id;
use std::collections::BTreeMap;
use std::time::Duration;

/// An operation in flight.
#[derive(Clone, Debug)]
pub struct InFlight {
    pub op: Op,
    pub key: usize,
}

/// One honest client.
pub struct SimClient {
    pub index: u16,
    pub id: Id,
    /// The real client's sends, resends and answers, on the simulated clock (µs since the
    /// start, as a `Duration`).
    core: ClientCore<Duration>,
    /// Its process in the history: a new one after each unknown outcome.
    pub process: u64,
    rng: FaultRng,
    keys: usize,
    /// The last value it knows of each key.
    seen: BTreeMap<usize, Option<String>>,
    written: u64,
    pub current: Option<InFlight>,
    /// With large values: a tenth of its operations put values up to this many bytes of
    /// command (the cluster's `max_command_bytes`) on keys of their own.
    pub large_values: Option<usize>,
}

/// What the world does for a client.
pub struct Sends(pub Vec<(Id, ServiceMsg)>);

/// The keys that only large puts write: enough to grow the store past several snapshots'
/// worth of datagrams.
pub const BULK_KEYS: u64 = 32;

pub fn key_name(k: usize) -> String {
    format!("k{k}")
}

impl SimClient {
    /// Client `index` (`id` among the nodes), running `core`, its commands numbered from 1.
    pub fn new(index: u16, id: Id, core: ClientCore<Duration>, seed: u64, keys: usize) -> Self {
        SimClient {
            index,
            id,
            core: core.numbered_from(1),
            process: u64::from(index),
            rng: FaultRng::new(seed ^ (u64::from(index) + 1).wrapping_mul(0x2545_F491_4F6C_DD1D)),
            keys: keys.max(1),
            seen: BTreeMap::new(),
            written: 0,
            current: None,
            large_values: None,
        }
    }

    /// Starts the next operation of the workload (`read_key`: a read of that key instead) at
    /// `now` (µs): the operation, and its datagrams, or `None` when the client refused to
    /// send it (too large), an outcome as unknown to the history as a lost one.
    pub fn invoke(
        &mut self,
        now: u64,
        read_key: Option<usize>,
    ) -> (&InFlight, Option<Vec<Outgoing>>) {
        let (key, op) = match read_key {
            Some(k) => (k, Op::Get { key: key_name(k) }),
            None => self.next_op(),
        };
        let sent = self.core.start(op.clone(), Duration::from_micros(now)).ok();
        (self.current.insert(InFlight { op, key }), sent)
    }

    /// What is due at `now` (µs): the resends of the operation in flight, or `None` once it
    /// has timed out.
    pub fn on_time(&mut self, now: u64) -> Option<Vec<Outgoing>> {
        self.core.on_time(Duration::from_micros(now)).ok()
    }

    /// When [`SimClient::on_time`] next has something to do, in µs.
    pub fn deadline(&self) -> Option<u64> {
        (self.core.deadline()).map(|at| u64::try_from(at.as_micros()).unwrap_or(u64::MAX))
    }

    fn next_op(&mut self) -> (usize, Op) {
        if let Some(max) = self.large_values
            && self.rng.chance(0.1)
        {
            return self.large_put(max);
        }
        let k = self.rng.below(self.keys as u64) as usize;
        let key = key_name(k);
        let known = self.seen.contains_key(&k);
        let roll = self.rng.below(10);
        let op = match roll {
            // Without a recent value, read first: a compare-and-set then has a good chance.
            _ if !known && roll < 6 => Op::Get { key },
            0..=2 => Op::Get { key },
            3 | 4 => {
                self.written += 1;
                Op::Put {
                    key,
                    value: format!("{}-{}", self.index, self.written),
                }
            }
            _ => {
                self.written += 1;
                Op::Cas {
                    key,
                    expected: self.seen.get(&k).cloned().flatten(),
                    new: format!("{}-{}", self.index, self.written),
                }
            }
        };
        (k, op)
    }

    /// A put of a value from half of the command limit `max` up to it, on one of
    /// [`BULK_KEYS`] keys that only such puts write (numbered after the workload's keys).
    fn large_put(&mut self, max: usize) -> (usize, Op) {
        self.written += 1;
        let k = self.keys + self.rng.below(BULK_KEYS) as usize;
        let tag = format!("{}-{}-", self.index, self.written);
        let empty = Op::Put {
            key: key_name(k),
            value: tag.clone(),
        };
        let room = max.saturating_sub(Command::signed(ClientId(0), 0, empty, &[]).encoded_len());
        let pad = room / 2 + self.rng.below(room as u64 / 2 + 1) as usize;
        let value = tag + &"x".repeat(pad);
        (
            k,
            Op::Put {
                key: key_name(k),
                value,
            },
        )
    }

    /// The answer to the operation in flight, if `datagram` is one from an acceptor: its
    /// reply, or `None` when it is refused as too large (not applied, but told to the history
    /// as unknown).
    pub fn reply_in(&mut self, datagram: &[u8]) -> Option<Option<Reply>> {
        self.current.as_ref()?;
        self.core.on_datagram(datagram).map(Result::ok)
    }

    /// The operation in flight ended with `reply` (`None`: unknown).
    pub fn complete(&mut self, reply: Option<&Reply>, clients: u64) -> Option<InFlight> {
        let done = self.current.take()?;
        match reply {
            Some(Reply::Value(v)) => {
                self.seen.insert(done.key, v.clone());
            }
            Some(Reply::Cas { swapped, found }) => {
                let now = match (&done.op, swapped) {
                    (Op::Cas { new, .. }, true) => Some(new.clone()),
                    _ => found.clone(),
                };
                self.seen.insert(done.key, now);
            }
            Some(Reply::Stored) => {
                if let Op::Put { value, .. } = &done.op {
                    self.seen.insert(done.key, Some(value.clone()));
                }
            }
            None => {
                // Jepsen's convention: a process with an unknown outcome is done.
                self.process += clients;
                self.seen.remove(&done.key);
            }
        }
        Some(done)
    }
}

/// What the Byzantine client did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientMischief {
    pub forged: u64,
    pub misdirected: u64,
    pub log_messages: u64,
    pub junk: u64,
}

impl ClientMischief {
    pub fn total(&self) -> u64 {
        self.forged + self.misdirected + self.log_messages + self.junk
    }
}

/// A client that holds its own keys and misbehaves with them: commands under other clients'
/// names with made-up authenticators, commands that claim another client, protocol messages no
/// client may send, and junk. Its own valid commands touch only a key of its own, outside the
/// checked history.
pub struct ByzantineClient {
    pub index: u16,
    pub id: Id,
    key: Vec<u8>,
    pub codec: WireCodec,
    rng: FaultRng,
    honest: u16,
    keys: usize,
    seq: u64,
    pub mischief: ClientMischief,
}

/// A datagram to send: a message to encode, or raw bytes.
pub enum Datagram {
    Msg(Id, ServiceMsg),
    Raw(Id, Vec<u8>),
}

impl ByzantineClient {
    pub fn new(
        index: u16,
        id: Id,
        key: Vec<u8>,
        codec: WireCodec,
        seed: u64,
        honest: u16,
        keys: usize,
    ) -> Self {
        ByzantineClient {
            index,
            id,
            key,
            codec,
            rng: FaultRng::new(seed ^ 0xB1C),
            honest: honest.max(1),
            keys: keys.max(1),
            seq: 1 << 40,
            mischief: ClientMischief::default(),
        }
    }

    /// One act of mischief towards `servers` (acceptors first, then proposers).
    pub fn act(&mut self, servers: &[Id]) -> Vec<Datagram> {
        let to = servers[self.rng.below(servers.len() as u64) as usize];
        let key = key_name(self.rng.below(self.keys as u64) as usize);
        let victim = ClientId(self.rng.below(u64::from(self.honest)) as u16);
        self.seq += 1;
        match self.rng.below(5) {
            0 => {
                // Another client's name, an authenticator it cannot know.
                let op = Op::Put {
                    key,
                    value: "forged".into(),
                };
                let guess: Vec<u8> = (0..32).map(|_| self.rng.next_u64() as u8).collect();
                let command = Command::signed(victim, self.seq, op, &guess);
                self.mischief.forged += 1;
                servers
                    .iter()
                    .map(|s| Datagram::Msg(*s, ServiceMsg::Request(command.clone())))
                    .collect()
            }
            1 => {
                // Signed by itself but claiming another client: the sender does not match.
                let op = Op::Cas {
                    key,
                    expected: None,
                    new: "misdirected".into(),
                };
                let mut command = Command::signed(ClientId(self.index), self.seq, op, &self.key);
                command.client = victim;
                self.mischief.misdirected += 1;
                vec![Datagram::Msg(to, ServiceMsg::Request(command))]
            }
            2 => {
                // Protocol messages only servers may send.
                let round = self.rng.below(1_000) as u32 + 1;
                let msg = match self.rng.below(3) {
                    0 => ServiceMsg::Log(LogMsg::TrustChange { round }),
                    1 => ServiceMsg::Log(LogMsg::Learn {
                        round,
                        slot: self.rng.below(50),
                        value: LogValue::Batch(Batch::noop()),
                    }),
                    _ => ServiceMsg::CatchUp { from: 0 },
                };
                self.mischief.log_messages += 1;
                vec![Datagram::Msg(to, msg)]
            }
            3 => {
                let len = self.rng.below(300) as usize;
                let bytes = (0..len).map(|_| self.rng.next_u64() as u8).collect();
                self.mischief.junk += 1;
                vec![Datagram::Raw(to, bytes)]
            }
            _ => {
                // A valid command of its own, on a key of its own.
                let op = Op::Put {
                    key: format!("byzantine-{}", self.index),
                    value: self.seq.to_string(),
                };
                let command = Command::signed(ClientId(self.index), self.seq, op, &self.key);
                servers
                    .iter()
                    .map(|s| Datagram::Msg(*s, ServiceMsg::Request(command.clone())))
                    .collect()
            }
        }
    }
}
