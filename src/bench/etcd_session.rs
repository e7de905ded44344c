//! etcd as the bench drives it: one kept-alive, non-blocking connection to a member's gateway
//! per closed-loop client, waited on by the loader's poller like the service's sockets.

use super::etcd::{REQUEST_TIMEOUT, check_answer, request_of};
use super::http::{parse_response, request_bytes};
use super::load::{Progress, Session};
use super::workload::Command;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

/// One client of one member.
pub struct EtcdSession {
    member: SocketAddr,
    /// The poller's registry and this client's token, to register a new connection.
    registry: Option<(Registry, Token)>,
    connection: Option<TcpStream>,
    /// The request waiting for its answer: its path and when it fails.
    waiting: Option<(&'static str, Instant)>,
    /// What the connection received of the answer so far.
    received: Vec<u8>,
}

impl EtcdSession {
    pub fn new(member: SocketAddr) -> Self {
        EtcdSession {
            member,
            registry: None,
            connection: None,
            waiting: None,
            received: Vec::new(),
        }
    }

    /// The kept connection, or a new one: connected (blocking, as a closed-loop client has
    /// nothing else to do meanwhile), then non-blocking and registered.
    fn connection(&mut self) -> Result<&mut TcpStream, String> {
        if self.connection.is_none() {
            let member = self.member;
            let stream = std::net::TcpStream::connect_timeout(&member, REQUEST_TIMEOUT)
                .map_err(|e| format!("cannot connect to {member}: {e}"))?;
            let setup = |stream: std::net::TcpStream| -> io::Result<TcpStream> {
                // Small requests, one at a time: Nagle's algorithm would only delay them.
                stream.set_nodelay(true)?;
                stream.set_nonblocking(true)?;
                let mut stream = TcpStream::from_std(stream);
                if let Some((registry, token)) = &self.registry {
                    registry.register(&mut stream, *token, Interest::READABLE)?;
                }
                Ok(stream)
            };
            let stream = setup(stream)
                .map_err(|e| format!("cannot set up a connection to {member}: {e}"))?;
            self.connection = Some(stream);
        }
        self.connection
            .as_mut()
            .ok_or_else(|| "no connection".to_owned())
    }

    /// Ends the waiting request with `result`; the connection goes too unless it may be kept.
    fn end(&mut self, result: Result<(), String>, keep: bool) -> Progress {
        self.waiting = None;
        if !keep {
            self.close();
        }
        Some(result)
    }

    fn close(&mut self) {
        self.received.clear();
        if let Some(mut stream) = self.connection.take()
            && let Some((registry, _)) = &self.registry
        {
            let _ = registry.deregister(&mut stream);
        }
    }
}

impl Session for EtcdSession {
    fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        self.registry = Some((registry.try_clone()?, token));
        Ok(())
    }

    fn start(&mut self, command: &Command, now: Instant) -> Progress {
        let (path, body) = request_of(command);
        let request = request_bytes(self.member, "POST", path, &body);
        self.received.clear();
        let sent = self.connection().and_then(|stream| {
            // The request is small and the connection idle: its send buffer takes it whole.
            match stream.write(&request) {
                Ok(n) if n == request.len() => Ok(()),
                Ok(n) => Err(format!("only {n} bytes of the request were sent")),
                Err(e) => Err(format!("cannot send the request: {e}")),
            }
        });
        match sent {
            Ok(()) => {
                self.waiting = Some((path, now + REQUEST_TIMEOUT));
                None
            }
            Err(why) => self.end(Err(why), false),
        }
    }

    fn on_readable(&mut self, _now: Instant) -> Progress {
        let stream = self.connection.as_mut()?;
        let mut closed = false;
        let mut chunk = [0u8; 4096];
        let failed = loop {
            match stream.read(&mut chunk) {
                Ok(0) => {
                    closed = true;
                    break None;
                }
                Ok(n) => self.received.extend_from_slice(&chunk[..n]),
                // Drained: the poller is edge-triggered.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Some(format!("cannot read the answer: {e}")),
            }
        };
        let Some((path, _)) = self.waiting else {
            // Nothing was asked: after an answer to nothing, or the end of the connection,
            // the next request goes on a new one.
            if closed || failed.is_some() || !self.received.is_empty() {
                self.close();
            }
            return None;
        };
        if let Some(why) = failed {
            return self.end(Err(why), false);
        }
        match parse_response(&self.received, closed) {
            Ok(Some((response, keep))) => {
                let answer = check_answer(path, &response);
                self.received.clear();
                self.end(answer, keep && !closed)
            }
            Ok(None) => None,
            Err(why) => self.end(Err(format!("{}: {why}", self.member)), false),
        }
    }

    fn on_time(&mut self, now: Instant) -> Progress {
        match self.waiting {
            Some((path, fails_at)) if now >= fails_at => self.end(
                Err(format!("{path} not answered within {REQUEST_TIMEOUT:?}")),
                false,
            ),
            _ => None,
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.waiting.map(|(_, at)| at)
    }
}
