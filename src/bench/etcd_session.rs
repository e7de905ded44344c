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

    /// The kept connection, or a new one: connected blocking (on loopback that takes
    /// microseconds, and it happens once per client and after errors, while the loader's other
    /// clients wait), then non-blocking and registered.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::load::Load;
    use crate::bench::workload::Workload;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    /// A stand-in for the gateway: it answers every request with `status` and the gateway's
    /// JSON header, each answer in two pieces a moment apart, and closes every connection
    /// after its third answer. Counts the connections it accepted.
    fn gateway(status: u16) -> (SocketAddr, Arc<AtomicU64>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                counter.fetch_add(1, Ordering::Relaxed);
                std::thread::spawn(move || serve(stream, status));
            }
        });
        (addr, accepted)
    }

    fn serve(stream: std::net::TcpStream, status: u16) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        for n in 1.. {
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if let Some(v) = line.strip_prefix("Content-Length: ") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let close = if n % 3 == 0 {
                "Connection: close\r\n"
            } else {
                ""
            };
            let answer = r#"{"header":{"revision":"1"}}"#;
            let head = format!(
                "HTTP/1.1 {status} OK\r\n{close}Content-Length: {}\r\n\r\n{}",
                answer.len(),
                &answer[..5]
            );
            let _ = writer.write_all(head.as_bytes());
            std::thread::sleep(Duration::from_millis(1));
            let _ = writer.write_all(&answer.as_bytes()[5..]);
            if n % 3 == 0 {
                return;
            }
        }
    }

    fn run(sessions: Vec<EtcdSession>, answered: u64) -> crate::bench::load::Samples {
        let load = Load::start(sessions, 2, Workload { value_size: 8 });
        let deadline = Instant::now() + Duration::from_secs(20);
        while load.answered() < answered && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        load.finish().unwrap()
    }

    #[test]
    fn answers_in_pieces_over_kept_and_reopened_connections() {
        let (addr, accepted) = gateway(200);
        let sessions = (0..3).map(|_| EtcdSession::new(addr)).collect();
        let samples = run(sessions, 60);
        assert!(
            samples.completions.len() >= 60,
            "{}",
            samples.completions.len()
        );
        assert_eq!(samples.failed, 0);
        // Every third answer closed its connection, and the session opened another.
        assert!(accepted.load(Ordering::Relaxed) >= 60 / 3, "{accepted:?}");
    }

    #[test]
    fn an_answer_that_is_not_a_200_is_a_failure() {
        let (addr, _) = gateway(500);
        let mut session = EtcdSession::new(addr);
        let poll = mio::Poll::new().unwrap();
        session.register(poll.registry(), Token(0)).unwrap();
        let put = Command::Put {
            key: "k".into(),
            value: "v".into(),
        };
        assert_eq!(session.start(&put, Instant::now()), None);
        let deadline = Instant::now() + Duration::from_secs(5);
        let failure = loop {
            std::thread::sleep(Duration::from_millis(2));
            if let Some(result) = session.on_readable(Instant::now()) {
                break result;
            }
            assert!(Instant::now() < deadline, "no answer");
        };
        let why = failure.unwrap_err();
        assert!(why.contains("answered 500"), "{why}");
        // A refused connection fails the command at once.
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut refused = EtcdSession::new(closed.local_addr().unwrap());
        drop(closed);
        refused.register(poll.registry(), Token(1)).unwrap();
        let result = refused.start(&put, Instant::now());
        assert!(matches!(result, Some(Err(_))), "{result:?}");
    }
}
