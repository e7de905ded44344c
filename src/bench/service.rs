//! The service as the bench drives it: a [`ClientCore`] over a non-blocking UDP socket, one
//! per closed-loop client, all waited on by the loader's poller.

use super::load::{Progress, Session};
use super::workload::Command;
use crate::cluster_config::ClusterConfig;
use crate::service::Op;
use crate::service::client::{ClientCore, ClientError, Outgoing};
use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};
use std::io;
use std::time::Instant;

/// The service's operation for a command of the workload.
pub fn op_of(command: &Command) -> Op {
    match command {
        Command::Put { key, value } => Op::Put {
            key: key.clone(),
            value: value.clone(),
        },
        Command::Get { key } => Op::Get { key: key.clone() },
    }
}

/// Errors one readable event reads past before it stops (and waits for the next event or
/// the deadline).
const MAX_READ_ERRORS: usize = 8;

/// One client of the service.
pub struct ServiceSession {
    core: ClientCore,
    socket: UdpSocket,
    /// One datagram of the largest size, allocated once.
    buf: Vec<u8>,
}

impl ServiceSession {
    /// Client `id` of `config`, on its address if the config gives one, else any free port.
    pub fn connect(config: &ClusterConfig, id: u16) -> Result<Self, ClientError> {
        let (core, bind) = ClientCore::from_config(config, id)?;
        let socket = UdpSocket::bind(bind).map_err(ClientError::Socket)?;
        Ok(ServiceSession {
            core,
            socket,
            buf: vec![0u8; crate::runtime::wire::MAX_DATAGRAM + 1],
        })
    }

    fn send(&self, out: Vec<Outgoing>) {
        for datagram in out {
            // A request lost here (a full send buffer) is resent like one lost on the way.
            let _ = self.socket.send_to(&datagram.bytes, datagram.addr);
        }
    }

    fn sent(&self, out: Result<Vec<Outgoing>, ClientError>) -> Progress {
        match out {
            Ok(out) => {
                self.send(out);
                None
            }
            Err(e) => Some(Err(e.to_string())),
        }
    }
}

impl Session for ServiceSession {
    fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(&mut self.socket, token, Interest::READABLE)
    }

    fn start(&mut self, command: &Command, now: Instant) -> Progress {
        let out = self.core.start(op_of(command), now);
        self.sent(out)
    }

    fn on_readable(&mut self, _now: Instant) -> Progress {
        let (mut answer, mut errors) = (None, 0);
        loop {
            match self.socket.recv_from(&mut self.buf) {
                Ok((len, _)) => {
                    if let Some(a) = self.core.on_datagram(&self.buf[..len]) {
                        answer = Some(a.map(|_| ()).map_err(|e| e.to_string()));
                    }
                }
                // Drained: the poller is edge-triggered.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // A refused port (an ICMP error) is told once, then the reads go on; the
                // command is resent in time whatever happened.
                Err(_) if errors < MAX_READ_ERRORS => errors += 1,
                Err(_) => break,
            }
        }
        answer
    }

    fn on_time(&mut self, now: Instant) -> Progress {
        let out = self.core.on_time(now);
        self.sent(out)
    }

    fn deadline(&self) -> Option<Instant> {
        self.core.deadline()
    }
}
