//! A Byzantine client for torture runs: a client of the config with its own keys that sends
//! commands over the size limit, replays its earlier request datagrams from another address
//! (a victim's), and sends requests under forged channel tags from there too. The servers must
//! answer the oversized commands "too large", and send nothing at all to the victim, which
//! never sent a fresh request: any byte it receives is a reflection.

use crate::cluster_config::{ClusterConfig, NodeId, Role};
use crate::runtime::codec::WireCodec;
use crate::runtime::event_loop::Codec;
use crate::runtime::faults::FaultRng;
use crate::service::command::{Command, Op};
use crate::service::msg::ServiceMsg;
use crate::types::ClientId;
use stateright::actor::Id;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the Byzantine client did, and what came back.
#[derive(Debug, Default)]
pub struct ClientMischief {
    /// Requests over `max_command_bytes`, sent to every server.
    pub oversized: AtomicU64,
    /// `TooLarge` answers it received.
    pub refused: AtomicU64,
    /// Earlier request datagrams sent again from the victim's address.
    pub replays: AtomicU64,
    /// Requests under a forged channel tag, from the victim's address.
    pub spoofed: AtomicU64,
    /// Bytes that reached the victim's address: reflections.
    pub reflected_bytes: AtomicU64,
    /// Bytes sent from the victim's address.
    pub sent_from_victim: AtomicU64,
}

impl ClientMischief {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn total(&self) -> u64 {
        [&self.oversized, &self.replays, &self.spoofed]
            .iter()
            .map(|c| Self::get(c))
            .sum()
    }
}

/// The running Byzantine client; it stops when dropped.
pub struct ByzantineClient {
    stop: Arc<AtomicBool>,
    pub mischief: Arc<ClientMischief>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for ByzantineClient {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl ByzantineClient {
    /// Client `id` of `config` turned Byzantine.
    pub fn start(config: &ClusterConfig, id: u16, seed: u64) -> Result<Self, String> {
        let me = NodeId::new(Role::Client, id);
        let codec = WireCodec::from_config(config, me).map_err(|e| e.0)?;
        let key = config
            .command_key(ClientId(id))
            .ok_or_else(|| format!("no command key for client {id}"))?
            .to_bytes()
            .map_err(|e| e.to_string())?;
        // The forger's keys: the config's with every channel key replaced.
        let mut forged = config.clone();
        for k in &mut forged.channel_keys {
            k.key = crate::cluster_config::SecretKey::from_hex("5a".repeat(32));
        }
        let forger = WireCodec::from_config(&forged, me).map_err(|e| e.0)?;
        let bind = |what: &str| {
            UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("cannot bind the {what}: {e}"))
        };
        let servers = config
            .nodes()
            .filter(|n| n.role() != Role::Client)
            .filter_map(|n| Some((config.stateright_id(n), config.address(n)?)))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let mischief = Arc::new(ClientMischief::default());
        let mut actor = Actor {
            own: bind("Byzantine client's socket")?,
            victim: bind("victim's socket")?,
            codec,
            forger,
            me: config.stateright_id(me),
            client: ClientId(id),
            key,
            servers,
            max_command_bytes: config.limits.max_command_bytes,
            next_seq: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_micros() as u64),
            rng: FaultRng::new(seed),
            sent: Vec::new(),
            mischief: Arc::clone(&mischief),
        };
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("byzantine-client".into())
                .spawn(move || actor.run(&stop))
                .map_err(|e| e.to_string())?
        };
        Ok(ByzantineClient {
            stop,
            mischief,
            thread: Some(thread),
        })
    }
}

struct Actor {
    /// Where it sends its fresh requests from, and reads the answers.
    own: UdpSocket,
    /// The victim's address: it sends replays and forgeries from there, and reads what
    /// reaches it.
    victim: UdpSocket,
    codec: WireCodec,
    forger: WireCodec,
    me: Id,
    client: ClientId,
    key: Vec<u8>,
    servers: Vec<(Id, SocketAddr)>,
    max_command_bytes: u64,
    next_seq: u64,
    rng: FaultRng,
    /// Request datagrams it sent, for replays.
    sent: Vec<(SocketAddr, Vec<u8>)>,
    mischief: Arc<ClientMischief>,
}

impl Actor {
    fn run(&mut self, stop: &AtomicBool) {
        let _ = self.own.set_nonblocking(true);
        let _ = self.victim.set_nonblocking(true);
        let mut buf = vec![0u8; 65_536];
        let mut next = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            self.drain(&mut buf);
            if Instant::now() >= next {
                self.misbehave();
                next = Instant::now() + Duration::from_millis(20);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        // Late reflections still count.
        std::thread::sleep(Duration::from_millis(200));
        self.drain(&mut buf);
    }

    /// Reads what reached both sockets.
    fn drain(&mut self, buf: &mut [u8]) {
        while let Ok((len, _)) = self.own.recv_from(buf) {
            if let Ok(Some((_, ServiceMsg::TooLarge { .. }))) =
                self.codec.decode(self.me, &buf[..len])
            {
                ClientMischief::add(&self.mischief.refused, 1);
            }
        }
        while let Ok((len, _)) = self.victim.recv_from(buf) {
            ClientMischief::add(&self.mischief.reflected_bytes, len as u64);
        }
    }

    fn misbehave(&mut self) {
        if self.servers.is_empty() {
            return;
        }
        match self.rng.below(4) {
            0 => self.request(false),
            1 => self.request(true),
            2 => self.replay(),
            _ => self.spoof(),
        }
    }

    /// A fresh request from its own socket: a read of a key of its own, or a put over the
    /// size limit (which no server may queue).
    fn request(&mut self, oversized: bool) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let op = if oversized {
            let len = self.max_command_bytes as usize + 1 + self.rng.below(4_096) as usize;
            Op::Put {
                key: "byzantine".into(),
                value: "x".repeat(len),
            }
        } else {
            Op::Get {
                key: "byzantine".into(),
            }
        };
        let request = ServiceMsg::Request(Command::signed(self.client, seq, op, &self.key));
        for (id, addr) in self.servers.clone() {
            let Ok(datagrams) = self.codec.encode(self.me, id, &request) else {
                continue;
            };
            // An oversized request travels as fragments; each is worth replaying alone.
            for datagram in datagrams {
                let _ = self.own.send_to(&datagram, addr);
                self.sent.push((addr, datagram));
            }
        }
        if self.sent.len() > 256 {
            self.sent.drain(..128);
        }
        if oversized {
            ClientMischief::add(&self.mischief.oversized, 1);
        }
    }

    /// One of its earlier datagrams, again, from the victim's address.
    fn replay(&mut self) {
        if self.sent.is_empty() {
            return;
        }
        let i = self.rng.below(self.sent.len() as u64) as usize;
        let (addr, datagram) = &self.sent[i];
        if self.victim.send_to(datagram, addr).is_ok() {
            ClientMischief::add(&self.mischief.replays, 1);
            ClientMischief::add(&self.mischief.sent_from_victim, datagram.len() as u64);
        }
    }

    /// A fresh request under a forged channel tag, from the victim's address.
    fn spoof(&mut self) {
        let seq = self.next_seq + 1_000_000;
        let op = Op::Get {
            key: "byzantine".into(),
        };
        let request = ServiceMsg::Request(Command::signed(self.client, seq, op, &self.key));
        let (id, addr) = self.servers[self.rng.below(self.servers.len() as u64) as usize];
        let Ok(datagrams) = self.forger.encode(self.me, id, &request) else {
            return;
        };
        for datagram in datagrams {
            if self.victim.send_to(&datagram, addr).is_ok() {
                ClientMischief::add(&self.mischief.spoofed, 1);
                ClientMischief::add(&self.mischief.sent_from_victim, datagram.len() as u64);
            }
        }
    }
}
