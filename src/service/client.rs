//! A client of the service: it signs each command with its command key, sends it to the
//! proposer it believes leads, and waits for one acceptor's reply (acceptors only crash, so one
//! reply is the answer). Each reply names the round its acceptor is in, whose leader gets the
//! next command. With no reply in a short while it sends the command to the other proposers
//! too, and in a longer while resends it to every proposer and every acceptor, which then
//! suspect the leader if the command is not applied in time: a wrong guess, or a leader that
//! drops commands, costs a wait, never the command.

use super::command::{Command, Op};
use super::kv::Reply;
use super::msg::ServiceMsg;
use crate::cluster_config::{ClusterConfig, NodeId, Role};
use crate::runtime::codec::WireCodec;
use crate::runtime::event_loop::{Codec, is_transient};
use crate::types::{ClientId, Cluster};
use stateright::actor::Id;
use std::fmt::{self, Display};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::ops::{Add, Sub};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Why a command got no answer.
#[derive(Debug)]
pub enum ClientError {
    /// The client is not in the config, or the config lacks its keys.
    Config(String),
    Socket(io::Error),
    /// No acceptor answered within the client timeout: the command may or may not be applied.
    NoAnswer {
        waited: Duration,
    },
    /// The command is over the cluster's `max_command_bytes`: it was not applied, and never
    /// will be.
    TooLarge {
        size: u64,
        max: u64,
    },
}

impl Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Config(why) => write!(f, "{why}"),
            ClientError::Socket(e) => write!(f, "socket error: {e}"),
            ClientError::NoAnswer { waited } => write!(
                f,
                "no quorum answered within {} ms (the command may or may not have been applied)",
                waited.as_millis()
            ),
            ClientError::TooLarge { size, max } => write!(
                f,
                "the command is too large: {size} bytes, over the cluster's limit of {max} \
                 (limits.max_command_bytes); it was not applied"
            ),
        }
    }
}

impl std::error::Error for ClientError {}

/// A datagram to send, and the server it goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub to: Id,
    pub addr: SocketAddr,
    pub bytes: Vec<u8>,
}

/// A point in time as a [`ClientCore`] reads it: an [`Instant`] of the real clock, or a
/// simulated clock's [`Duration`] since its start.
pub trait Moment: Copy + Ord + Add<Duration, Output = Self> + Sub<Self, Output = Duration> {}

impl<T: Copy + Ord + Add<Duration, Output = T> + Sub<T, Output = Duration>> Moment for T {}

/// A client without its socket or clock (sans-IO): it makes the datagrams of a command and of
/// its resends, reads the answers it is given, and says when it next has something to do.
/// [`Client`] runs one over a blocking socket, the bench many over a poller, and the simulator
/// one per simulated client on its simulated clock.
pub struct ClientCore<T = Instant> {
    codec: WireCodec,
    me: Id,
    client: ClientId,
    key: Vec<u8>,
    /// Every proposer, in the order of their ids, so that a [`Cluster::leader`] indexes it.
    proposers: Vec<(Id, SocketAddr)>,
    acceptors: Vec<(Id, SocketAddr)>,
    /// The index in `proposers` of the one the next command goes to first.
    leader: usize,
    /// Who leads which round ([`Cluster::leader`]).
    cluster: Cluster,
    next_seq: u64,
    /// The cluster's `max_command_bytes`: a larger command is refused before it is sent.
    max_command_bytes: u64,
    /// How long to wait for an answer in all.
    pub timeout: Duration,
    /// How long to wait before resending.
    pub resend_after: Duration,
    /// The command waiting for its answer, if any.
    waiting: Option<Waiting<T>>,
}

/// A command sent and not answered yet, and when to send it again.
struct Waiting<T> {
    seq: u64,
    request: ServiceMsg,
    start: T,
    /// When it goes to the other proposers too (after a trust change the round named by the
    /// last reply is stale, and the new leader has not got the command); done once.
    others_at: Option<T>,
    /// When it goes to every proposer and acceptor again.
    resend_at: T,
}

impl<T: Moment> ClientCore<T> {
    /// Client `id` of `config`, and the address its socket binds: the config's, else any free
    /// loopback port.
    pub fn from_config(config: &ClusterConfig, id: u16) -> Result<(Self, SocketAddr), ClientError> {
        let node = NodeId::new(Role::Client, id);
        if !config.contains(node) {
            return Err(ClientError::Config(format!(
                "client {id} is not in the config (it lists {} clients)",
                config.clients.len()
            )));
        }
        config
            .check_share_for(node)
            .map_err(|e| ClientError::Config(e.to_string()))?;
        let key = config
            .command_key(ClientId(id))
            .ok_or_else(|| {
                ClientError::Config(format!("the config has no command key for client {id}"))
            })?
            .to_bytes()
            .map_err(|e| ClientError::Config(format!("command key of client {id}: {e}")))?;
        let codec = WireCodec::from_config(config, node)
            .map_err(|e| ClientError::Config(format!("bad channel key: {}", e.0)))?;
        let servers = |role: Role, count: usize| -> Result<Vec<(Id, SocketAddr)>, ClientError> {
            (0..count)
                .map(|i| {
                    let n = NodeId::new(role, i as u16);
                    let addr = config.address(n).ok_or_else(|| {
                        ClientError::Config(format!("the config gives no address for {n}"))
                    })?;
                    Ok((config.stateright_id(n), addr))
                })
                .collect()
        };
        let timing = &config.timing;
        let core = ClientCore {
            codec,
            me: config.stateright_id(node),
            client: ClientId(id),
            key,
            proposers: servers(Role::Proposer, config.proposers.len())?,
            acceptors: servers(Role::Acceptor, config.acceptors.len())?,
            leader: 0,
            cluster: config.cluster(),
            next_seq: first_seq(),
            max_command_bytes: config.limits.max_command_bytes,
            timeout: timing.client_timeout(),
            resend_after: timing.suspect_leader() / 4,
            waiting: None,
        };
        let bind = (config.address(node)).unwrap_or_else(|| ([127, 0, 0, 1], 0).into());
        Ok((core, bind))
    }

    /// Numbers its commands from `seq` on (a simulation's are numbered alike in every run).
    pub fn numbered_from(mut self, seq: u64) -> Self {
        self.next_seq = seq;
        self
    }

    /// Signs `op` as the next command and gives its datagrams, to the leader the last reply
    /// named. A command waiting for its answer is given up.
    pub fn start(&mut self, op: Op, now: T) -> Result<Vec<Outgoing>, ClientError> {
        self.waiting = None;
        let seq = self.next_seq;
        self.next_seq += 1;
        let command = Command::signed(self.client, seq, op, &self.key);
        let size = command.encoded_len() as u64;
        if size > self.max_command_bytes {
            return Err(ClientError::TooLarge {
                size,
                max: self.max_command_bytes,
            });
        }
        let request = ServiceMsg::Request(command);
        let leader = self.proposers.get(self.leader..=self.leader).unwrap_or(&[]);
        let out = self.datagrams(leader, &request);
        self.waiting = Some(Waiting {
            seq,
            request,
            start: now,
            others_at: Some(now + self.resend_after / 4),
            resend_at: now + self.resend_after,
        });
        Ok(out)
    }

    /// When [`ClientCore::on_time`] next has something to do; `None` when no command waits.
    pub fn deadline(&self) -> Option<T> {
        let w = self.waiting.as_ref()?;
        let at = (w.others_at.unwrap_or(w.resend_at)).min(w.resend_at);
        Some(at.min(w.start + self.timeout))
    }

    /// What is due at `now`: the resends of the waiting command, or, once the timeout has
    /// passed, the error that ends it.
    pub fn on_time(&mut self, now: T) -> Result<Vec<Outgoing>, ClientError> {
        let Some(w) = &mut self.waiting else {
            return Ok(Vec::new());
        };
        if now >= w.start + self.timeout {
            let waited = now - w.start;
            self.waiting = None;
            return Err(ClientError::NoAnswer { waited });
        }
        let mut to: Vec<(Id, SocketAddr)> = Vec::new();
        if now >= w.resend_at {
            to.extend(&self.proposers);
            to.extend(&self.acceptors);
            w.resend_at = now + self.resend_after;
            w.others_at = None;
        }
        if w.others_at.is_some_and(|at| now >= at) {
            let leader = self.leader;
            to.extend(
                (self.proposers.iter().enumerate())
                    .filter_map(|(i, p)| (i != leader).then_some(*p)),
            );
            w.others_at = None;
        }
        if to.is_empty() {
            return Ok(Vec::new());
        }
        let request = w.request.clone();
        Ok(self.datagrams(&to, &request))
    }

    /// The answer to the waiting command in a datagram, if it is one from an acceptor
    /// (acceptors only crash, so one answer is the cluster's); the command then waits no more.
    pub fn on_datagram(&mut self, datagram: &[u8]) -> Option<Result<Reply, ClientError>> {
        let seq = self.waiting.as_ref()?.seq;
        let (src, msg): (Id, ServiceMsg) = self.codec.decode(self.me, datagram).ok()??;
        if !self.acceptors.iter().any(|(id, _)| *id == src) {
            return None;
        }
        let answer = match msg {
            ServiceMsg::Reply {
                seq: s,
                reply,
                round,
            } if s == seq => {
                if !self.proposers.is_empty() {
                    self.leader = usize::from(self.cluster.leader(round).0);
                }
                Ok(reply)
            }
            ServiceMsg::TooLarge { seq: s, size, max } if s == seq => {
                Err(ClientError::TooLarge { size, max })
            }
            _ => return None,
        };
        self.waiting = None;
        Some(answer)
    }

    fn datagrams(&self, servers: &[(Id, SocketAddr)], msg: &ServiceMsg) -> Vec<Outgoing> {
        let mut out = Vec::new();
        // Serialized once, framed for each server.
        let Ok(serialized) = Codec::<ServiceMsg>::serialize(&self.codec, msg) else {
            // A request that cannot be encoded is lost like a dropped one: resent, then
            // given up at the timeout.
            return out;
        };
        for &(to, addr) in servers {
            if let Ok(datagrams) = Codec::<ServiceMsg>::frame(&self.codec, self.me, to, &serialized)
            {
                out.extend(
                    datagrams
                        .into_iter()
                        .map(|bytes| Outgoing { to, addr, bytes }),
                );
            }
        }
        out
    }
}

/// A client over its own blocking UDP socket, one command at a time.
pub struct Client {
    core: ClientCore,
    socket: UdpSocket,
    /// Where answers are read: one datagram of the largest size, allocated once (zeroing 64 KB
    /// for every command cost the servers beside a busy client a core's tenth).
    buf: Vec<u8>,
}

impl Client {
    /// Client `id` of `config`, on its address if the config gives one, else any free port.
    pub fn connect(config: &ClusterConfig, id: u16) -> Result<Self, ClientError> {
        let (core, bind) = ClientCore::from_config(config, id)?;
        let socket = UdpSocket::bind(bind).map_err(ClientError::Socket)?;
        Ok(Client {
            core,
            socket,
            buf: vec![0u8; crate::runtime::wire::MAX_DATAGRAM + 1],
        })
    }

    /// How long a command waits for its answer in all.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.core.timeout = timeout;
    }

    /// How long a command waits before it is resent to every server.
    pub fn set_resend_after(&mut self, resend_after: Duration) {
        self.core.resend_after = resend_after;
    }

    /// Runs `op` and returns the store's answer.
    pub fn execute(&mut self, op: Op) -> Result<Reply, ClientError> {
        let mut out = self.core.start(op, Instant::now())?;
        loop {
            for datagram in &out {
                // A lost request is resent; nothing else to do about a failed send.
                let _ = self.socket.send_to(&datagram.bytes, datagram.addr);
            }
            let now = Instant::now();
            out = self.core.on_time(now)?;
            if !out.is_empty() {
                continue;
            }
            let wait = (self.core.deadline())
                .map_or(Duration::ZERO, |at| at.saturating_duration_since(now));
            self.socket
                .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
                .map_err(ClientError::Socket)?;
            let len = match self.socket.recv_from(&mut self.buf) {
                Ok((len, _)) => len,
                Err(e) if is_transient(&e) => continue,
                Err(e) => return Err(ClientError::Socket(e)),
            };
            if let Some(answer) = self.core.on_datagram(&self.buf[..len]) {
                return answer;
            }
        }
    }
}

/// Commands are numbered from the clock in microseconds, so that a client that runs again
/// under the same id numbers above every command it ran before (the store treats a lower
/// number as a duplicate).
fn first_seq() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_micros() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::server::loopback_config;
    use crate::types::Round;

    /// Servers that only read what the client sends, and one acceptor that answers.
    struct FakeServers {
        config: ClusterConfig,
        sockets: Vec<UdpSocket>,
    }

    impl FakeServers {
        fn new() -> Self {
            let (config, sockets) = loopback_config(1, 2, 1).unwrap();
            for s in &sockets {
                s.set_nonblocking(true).unwrap();
            }
            FakeServers { config, sockets }
        }

        fn node(&self, position: usize) -> NodeId {
            self.config.nodes().nth(position).unwrap()
        }

        /// The request `position` (in `Id` order: acceptors, then proposers) holds, if any.
        fn request_at(&self, position: usize) -> Option<(Command, SocketAddr)> {
            let mut buf = vec![0u8; crate::runtime::wire::MAX_DATAGRAM + 1];
            let (len, from) = self.sockets[position].recv_from(&mut buf).ok()?;
            let mut codec = WireCodec::from_config(&self.config, self.node(position)).unwrap();
            let me = self.config.stateright_id(self.node(position));
            match codec.decode(me, &buf[..len]).unwrap() {
                Some((_, ServiceMsg::Request(command))) => Some((command, from)),
                _ => None,
            }
        }

        /// Acceptor 0 answers `seq`, naming `round`.
        fn reply(&self, to: SocketAddr, seq: u64, round: Round) {
            let codec = WireCodec::from_config(&self.config, self.node(0)).unwrap();
            let client = self.config.stateright_id(NodeId::new(Role::Client, 0));
            let msg = ServiceMsg::Reply {
                seq,
                reply: Reply::Stored,
                round,
            };
            let me = self.config.stateright_id(self.node(0));
            for datagram in codec.encode(me, client, &msg).unwrap() {
                self.sockets[0].send_to(&datagram, to).unwrap();
            }
        }

        /// Waits for the request of the command in flight at the proposer at `position`, and
        /// answers it naming `round`; says which other servers got it too.
        fn answer_from(&self, position: usize, round: Round) -> Vec<usize> {
            let deadline = Instant::now() + Duration::from_secs(5);
            let (command, from) = loop {
                if let Some(got) = self.request_at(position) {
                    break got;
                }
                assert!(Instant::now() < deadline, "no request at {position}");
                std::thread::sleep(Duration::from_millis(1));
            };
            let others = (0..self.sockets.len())
                .filter(|&p| p != position && self.request_at(p).is_some())
                .collect();
            self.reply(from, command.seq, round);
            others
        }
    }

    fn put() -> Op {
        Op::Put {
            key: "k".into(),
            value: "v".into(),
        }
    }

    #[test]
    fn a_command_goes_to_the_leader_of_the_round_the_last_reply_named() {
        let servers = FakeServers::new();
        let mut client = Client::connect(&servers.config, 0).unwrap();
        client.set_resend_after(Duration::from_secs(60));
        let (p0, p1) = (4, 5);
        std::thread::scope(|s| {
            let answers = s.spawn(|| {
                // Round 0 is led by p0; a reply in round 1 moves the client to p1, one in
                // round 2 back to p0.
                let mut seen = Vec::new();
                for (leader, round) in [(p0, 1), (p1, 2), (p0, 2)] {
                    let others = servers.answer_from(leader, round);
                    seen.push(others);
                }
                seen
            });
            for _ in 0..3 {
                assert_eq!(client.execute(put()).unwrap(), Reply::Stored);
            }
            // Only the leader got each command: nobody else was asked.
            let empty: Vec<usize> = Vec::new();
            assert_eq!(
                answers.join().unwrap(),
                vec![empty.clone(), empty.clone(), empty]
            );
        });
    }

    #[test]
    fn a_command_unanswered_goes_to_the_other_proposers_then_to_every_server() {
        let servers = FakeServers::new();
        let mut client = Client::connect(&servers.config, 0).unwrap();
        client.set_resend_after(Duration::from_millis(400));
        let wait_at = |position: usize| {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                if let Some(got) = servers.request_at(position) {
                    return (got, Instant::now());
                }
                assert!(Instant::now() < deadline, "nothing reached {position}");
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        let sent = Instant::now();
        std::thread::scope(|s| {
            let answer = s.spawn(|| {
                // The leader of round 0 (p0, at position 4) is silent. After a quarter of
                // `resend_after` the command reaches p1 as well, and no acceptor yet.
                let (_, at_p1) = wait_at(5);
                let acceptors_early = (0..4).filter(|&p| servers.request_at(p).is_some()).count();
                // After `resend_after`, every acceptor, which p1 answers through.
                let ((command, from), at_acceptor) = wait_at(0);
                let acceptors_late = 1 + (1..4).filter(|&p| wait_at(p).0.1 == from).count();
                servers.reply(from, command.seq, 1);
                (at_p1, acceptors_early, at_acceptor, acceptors_late)
            });
            assert_eq!(client.execute(put()).unwrap(), Reply::Stored);
            let (at_p1, early, at_acceptor, late) = answer.join().unwrap();
            assert_eq!((early, late), (0, 4));
            assert!(
                at_p1 - sent >= Duration::from_millis(100),
                "{:?}",
                at_p1 - sent
            );
            assert!(at_acceptor - sent >= Duration::from_millis(400));
        });
    }

    /// The request a datagram from the client carries, read as the server at `position`.
    fn request_in(config: &ClusterConfig, position: usize, datagram: &[u8]) -> Command {
        let node = config.nodes().nth(position).unwrap();
        let mut codec = WireCodec::from_config(config, node).unwrap();
        match codec.decode(config.stateright_id(node), datagram).unwrap() {
            Some((_, ServiceMsg::Request(command))) => command,
            other => panic!("not a request: {other:?}"),
        }
    }

    /// `msg` from the server at `position` to client 0.
    fn from_server(config: &ClusterConfig, position: usize, msg: &ServiceMsg) -> Vec<u8> {
        let node = config.nodes().nth(position).unwrap();
        let codec = WireCodec::from_config(config, node).unwrap();
        let client = config.stateright_id(NodeId::new(Role::Client, 0));
        let me = config.stateright_id(node);
        codec.encode(me, client, msg).unwrap().remove(0)
    }

    /// The core alone, with made-up times: who each send goes to, when, and which datagrams
    /// answer the command.
    #[test]
    fn the_core_resends_by_its_clock_and_takes_only_an_acceptors_answer() {
        let (config, _sockets) = loopback_config(1, 2, 1).unwrap();
        let address = |position: usize| config.address(config.nodes().nth(position).unwrap());
        let (mut core, _) = ClientCore::from_config(&config, 0).unwrap();
        core.resend_after = Duration::from_millis(400);
        core.timeout = Duration::from_secs(2);
        let t0 = Instant::now();
        assert_eq!(core.deadline(), None);
        let to = |out: &[Outgoing]| out.iter().map(|o| Some(o.addr)).collect::<Vec<_>>();
        let first = core.start(put(), t0).unwrap();
        assert_eq!(to(&first), vec![address(4)], "the leader of round 0 only");
        let seq = request_in(&config, 4, &first[0].bytes).seq;
        assert_eq!(core.deadline(), Some(t0 + Duration::from_millis(100)));
        assert!(
            core.on_time(t0 + Duration::from_millis(99))
                .unwrap()
                .is_empty()
        );
        let others = core.on_time(t0 + Duration::from_millis(100)).unwrap();
        assert_eq!(to(&others), vec![address(5)], "then the other proposer");
        assert_eq!(core.deadline(), Some(t0 + Duration::from_millis(400)));
        let everyone = core.on_time(t0 + Duration::from_millis(400)).unwrap();
        let all: Vec<_> = [4, 5, 0, 1, 2, 3].map(address).to_vec();
        assert_eq!(to(&everyone), all, "then every proposer and acceptor");
        assert_eq!(request_in(&config, 2, &everyone[4].bytes).seq, seq);
        // Not answers: a reply from a proposer, a reply to another command, garbage.
        let reply = |seq: u64| ServiceMsg::Reply {
            seq,
            reply: Reply::Stored,
            round: 1,
        };
        assert!(
            core.on_datagram(&from_server(&config, 4, &reply(seq)))
                .is_none()
        );
        assert!(
            core.on_datagram(&from_server(&config, 1, &reply(seq - 1)))
                .is_none()
        );
        assert!(core.on_datagram(b"BP garbage").is_none());
        let answer = core.on_datagram(&from_server(&config, 1, &reply(seq)));
        assert_eq!(answer.unwrap().unwrap(), Reply::Stored);
        assert_eq!(core.deadline(), None);
        // The reply named round 1: the next command goes to its leader, and times out.
        let next = core.start(put(), t0).unwrap();
        assert_eq!(to(&next), vec![address(5)]);
        let late = core.on_time(t0 + Duration::from_secs(2));
        assert!(
            matches!(late, Err(ClientError::NoAnswer { .. })),
            "{late:?}"
        );
        assert_eq!(core.deadline(), None);
    }
}
