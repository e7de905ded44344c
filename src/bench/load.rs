//! Closed-loop load: each client sends the workload's next command only once the last one is
//! answered, timing each; and the figures of what they timed (throughput, percentiles, latency
//! over time). The same driver runs against every system the bench compares.
//!
//! A few loader threads drive all the clients, each waiting on its clients' sockets at once
//! (epoll, through mio). A thread per client would cost every command a thread switch on the
//! cores the measured servers run on: at 128 clients that was a quarter of the machine.

use super::percentile;
use super::workload::{Command, Workload};
use mio::{Events, Poll, Registry, Token};
use serde::Serialize;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where a client's command stands: `None` while it waits, else answered (`Ok`) or failed.
pub type Progress = Option<Result<(), String>>;

/// One closed-loop client of a measured system, without a thread of its own: it starts a
/// command, then is told when its socket is readable and when its deadline has come, until the
/// command is answered or has failed.
pub trait Session: Send + 'static {
    /// Registers its socket with `registry` under `token`, readable, edge-triggered (it may
    /// keep a clone of `registry` to register a socket it opens later).
    fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()>;
    /// Sends `command`; an error when it cannot be sent at all.
    fn start(&mut self, command: &Command, now: Instant) -> Progress;
    /// Its socket became readable: reads all there is (the poller is edge-triggered).
    fn on_readable(&mut self, now: Instant) -> Progress;
    /// Its deadline has come: resends, or gives the command up.
    fn on_time(&mut self, now: Instant) -> Progress;
    /// When [`Session::on_time`] next has something to do.
    fn deadline(&self) -> Option<Instant>;
}

/// One answered command: when it was answered (since the load started) and how long it took.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Completion {
    pub at: Duration,
    pub latency: Duration,
}

/// What a load measured.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    pub completions: Vec<Completion>,
    /// Commands that got no answer (or an error).
    pub failed: u64,
    pub seconds: f64,
}

/// The summary of [`Samples`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figures {
    pub commands: u64,
    pub failed: u64,
    pub seconds: f64,
    pub throughput: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

/// The commands answered in one interval of a load's run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bucket {
    /// The interval's start, in seconds since the load started.
    pub start_s: f64,
    pub commands: u64,
    pub p50_us: f64,
    pub max_us: f64,
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

impl Samples {
    pub fn figures(&self) -> Figures {
        let mut latencies: Vec<Duration> = self.completions.iter().map(|c| c.latency).collect();
        latencies.sort_unstable();
        let commands = latencies.len() as u64;
        Figures {
            commands,
            failed: self.failed,
            seconds: self.seconds,
            throughput: if self.seconds > 0.0 {
                commands as f64 / self.seconds
            } else {
                0.0
            },
            p50_us: micros(percentile(&latencies, 0.50)),
            p99_us: micros(percentile(&latencies, 0.99)),
            max_us: latencies.last().copied().map_or(0.0, micros),
        }
    }

    /// The samples of the commands sent after `warm_up` (a system's first commands may wait
    /// for connections and caches), timed from its end; failures are those of the whole run.
    pub fn after_warm_up(self, warm_up: Duration) -> Samples {
        Samples {
            completions: self
                .completions
                .into_iter()
                .filter(|c| c.at.saturating_sub(c.latency) >= warm_up)
                .map(|c| Completion {
                    at: c.at - warm_up,
                    latency: c.latency,
                })
                .collect(),
            failed: self.failed,
            seconds: (self.seconds - warm_up.as_secs_f64()).max(0.0),
        }
    }

    /// Latency over time: the commands answered in each `width` of the run, by the time they
    /// were answered (so a command stalled by a failure shows where it ends, with its wait).
    /// Intervals in which nothing was answered are there too, with zero commands.
    pub fn timeline(&self, width: Duration) -> Vec<Bucket> {
        if width.is_zero() {
            return Vec::new();
        }
        let index = |at: Duration| (at.as_nanos() / width.as_nanos()) as usize;
        let last = self.completions.iter().map(|c| index(c.at)).max();
        let mut buckets: Vec<Vec<Duration>> = vec![Vec::new(); last.map_or(0, |l| l + 1)];
        for c in &self.completions {
            buckets[index(c.at)].push(c.latency);
        }
        buckets
            .into_iter()
            .enumerate()
            .map(|(i, mut latencies)| {
                latencies.sort_unstable();
                Bucket {
                    start_s: (width * i as u32).as_secs_f64(),
                    commands: latencies.len() as u64,
                    p50_us: micros(percentile(&latencies, 0.50)),
                    max_us: latencies.last().copied().map_or(0.0, micros),
                }
            })
            .collect()
    }
}

/// What one loader thread measured.
type Tally = (Vec<Completion>, u64);

/// Closed-loop clients at work until [`Load::finish`].
pub struct Load {
    start: Instant,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    loaders: Vec<JoinHandle<Result<Tally, String>>>,
}

/// The completions a client has room for before its record grows: over 4 s of the fast path
/// at the throughputs measured here, per client.
const COMPLETIONS_RESERVED: usize = 16_384;

/// After a failed command, a client waits this long: a refused connection fails at once, and
/// a client must not spin on it.
const AFTER_FAILURE: Duration = Duration::from_millis(10);

/// The longest a loader waits without looking at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(20);

/// The loader threads for `clients` clients: one per core, as the servers measured beside
/// them need the rest of each core's time.
pub fn loader_threads(clients: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    clients.clamp(1, cores)
}

impl Load {
    /// Starts the clients on `threads` loader threads; client `i` runs `sessions[i]` on the
    /// workload's commands for client `i`.
    pub fn start<S: Session>(sessions: Vec<S>, threads: usize, workload: Workload) -> Load {
        let start = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let threads = threads.max(1);
        let mut groups: Vec<Vec<(usize, S)>> = (0..threads).map(|_| Vec::new()).collect();
        for (i, session) in sessions.into_iter().enumerate() {
            groups[i % threads].push((i, session));
        }
        let loaders = groups
            .into_iter()
            .filter(|group| !group.is_empty())
            .map(|group| {
                let loader = Loader {
                    workload,
                    start,
                    stop: Arc::clone(&stop),
                    answered: Arc::clone(&answered),
                };
                std::thread::spawn(move || loader.run(group))
            })
            .collect();
        Load {
            start,
            stop,
            answered,
            loaders,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Commands answered so far.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// Stops the clients (each finishes the command it is waiting for) and gathers their
    /// samples, in the order they were answered.
    pub fn finish(self) -> Result<Samples, String> {
        self.stop.store(true, Ordering::Relaxed);
        let mut samples = Samples::default();
        for loader in self.loaders {
            let (completions, failed) = loader
                .join()
                .map_err(|_| "a loader thread panicked".to_owned())??;
            samples.completions.extend(completions);
            samples.failed += failed;
        }
        samples.seconds = self.start.elapsed().as_secs_f64();
        samples.completions.sort_by_key(|c| c.at);
        Ok(samples)
    }
}

/// One loader thread's share of the run.
struct Loader {
    workload: Workload,
    start: Instant,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
}

/// A client of a loader: its session, and its command in flight or its wait after a failure.
struct Client<S> {
    index: usize,
    session: S,
    /// The number of its next command.
    next: u64,
    sent: Instant,
    /// When it sends its next command: at once after an answer, a while after a failure;
    /// `None` while one is in flight.
    send_at: Option<Instant>,
}

impl Loader {
    fn run<S: Session>(self, group: Vec<(usize, S)>) -> Result<Tally, String> {
        let mut poll = Poll::new().map_err(|e| format!("cannot make a poller: {e}"))?;
        let now = Instant::now();
        let mut clients = Vec::with_capacity(group.len());
        for (token, (index, mut session)) in group.into_iter().enumerate() {
            (session.register(poll.registry(), Token(token)))
                .map_err(|e| format!("cannot poll client {index}'s socket: {e}"))?;
            clients.push(Client {
                index,
                session,
                next: 0,
                sent: now,
                send_at: Some(now),
            });
        }
        // Reserved up front: growing it by copies into fresh pages took a few percent of the
        // CPU the measured servers share with the clients.
        let mut tally: Tally = (Vec::with_capacity(COMPLETIONS_RESERVED * clients.len()), 0);
        let mut events = Events::with_capacity(clients.len().max(1));
        loop {
            // Once stopped, no new command starts, and the loader ends when none is in flight.
            let stopping = self.stop.load(Ordering::Relaxed);
            if stopping && clients.iter().all(|c| c.send_at.is_some()) {
                break;
            }
            let now = Instant::now();
            for client in &mut clients {
                self.on_time(client, now, stopping, &mut tally);
            }
            let next = (clients.iter())
                .filter_map(|c| c.send_at.or(c.session.deadline()))
                .min();
            let wait = next.map_or(STOP_POLL, |at| at.saturating_duration_since(now));
            match poll.poll(&mut events, Some(wait.min(STOP_POLL))) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("the loader's poller failed: {e}")),
            }
            let now = Instant::now();
            for event in events.iter() {
                if let Some(client) = clients.get_mut(event.token().0) {
                    let progress = client.session.on_readable(now);
                    self.progress(client, progress, now, &mut tally);
                }
            }
        }
        Ok(tally)
    }

    /// What is due for `client` at `now`: its next command (unless `stopping`), or its
    /// session's resend or time-out.
    fn on_time<S: Session>(
        &self,
        client: &mut Client<S>,
        now: Instant,
        stopping: bool,
        tally: &mut Tally,
    ) {
        let progress = match client.send_at {
            Some(at) if now >= at && !stopping => {
                client.send_at = None;
                let command = self.workload.command(client.index, client.next);
                client.next += 1;
                client.sent = now;
                client.session.start(&command, now)
            }
            Some(_) => None,
            None if client.session.deadline().is_some_and(|at| now >= at) => {
                client.session.on_time(now)
            }
            None => None,
        };
        self.progress(client, progress, now, tally);
    }

    /// Records an answer or a failure, and when the client sends its next command: at the
    /// loader's next turn, or after [`AFTER_FAILURE`].
    fn progress<S: Session>(
        &self,
        client: &mut Client<S>,
        progress: Progress,
        now: Instant,
        tally: &mut Tally,
    ) {
        match progress {
            None => {}
            Some(Ok(())) => {
                tally.0.push(Completion {
                    at: now - self.start,
                    latency: now - client.sent,
                });
                self.answered.fetch_add(1, Ordering::Relaxed);
                client.send_at = Some(now);
            }
            Some(Err(_)) => {
                tally.1 += 1;
                client.send_at = Some(now + AFTER_FAILURE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, latency_ms: u64) -> Completion {
        Completion {
            at: Duration::from_millis(ms),
            latency: Duration::from_millis(latency_ms),
        }
    }

    #[test]
    fn figures_and_timeline_of_known_samples() {
        let samples = Samples {
            completions: vec![at(10, 1), at(20, 3), at(30, 2), at(350, 300)],
            failed: 2,
            seconds: 0.5,
        };
        let f = samples.figures();
        assert_eq!((f.commands, f.failed, f.throughput), (4, 2, 8.0));
        assert_eq!(
            (f.p50_us, f.p99_us, f.max_us),
            (2000.0, 300_000.0, 300_000.0)
        );
        let timeline = samples.timeline(Duration::from_millis(100));
        let counts: Vec<u64> = timeline.iter().map(|b| b.commands).collect();
        assert_eq!(counts, vec![3, 0, 0, 1], "{timeline:?}");
        assert_eq!(timeline[0].p50_us, 2000.0);
        assert_eq!(timeline[3].start_s, 0.3);
        assert_eq!(timeline[3].max_us, 300_000.0);
        assert_eq!(timeline[1].max_us, 0.0);
        // Sent at 9, 17, 28 and 50 ms: the first two are left out, the others timed from 20 ms.
        let warm = samples.after_warm_up(Duration::from_millis(20));
        assert_eq!(warm.completions, vec![at(10, 2), at(330, 300)]);
        assert_eq!(warm.failed, 2);
        assert!((warm.seconds - 0.48).abs() < 1e-9);
    }

    /// A client whose "server" is its own socket: a command is answered when the datagram it
    /// sent itself is read back. A put must carry the client's own value; client 2's gets fail
    /// at once; client 1 answers only on its deadline, never on its socket.
    struct Echo {
        client: usize,
        socket: mio::net::UdpSocket,
        waiting: Option<(Command, Instant)>,
        refused: Arc<AtomicU64>,
    }

    impl Echo {
        fn new(client: usize, refused: &Arc<AtomicU64>) -> Self {
            Echo {
                client,
                socket: mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap(),
                waiting: None,
                refused: Arc::clone(refused),
            }
        }

        fn answer(&mut self) -> Progress {
            let (command, _) = self.waiting.take()?;
            Some(match command {
                Command::Put { value, .. } if !value.starts_with(&format!("{}-", self.client)) => {
                    Err(format!("client {} got {value}", self.client))
                }
                _ => Ok(()),
            })
        }
    }

    impl Session for Echo {
        fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
            registry.register(&mut self.socket, token, mio::Interest::READABLE)
        }

        fn start(&mut self, command: &Command, now: Instant) -> Progress {
            if self.client == 2 && matches!(command, Command::Get { .. }) {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Some(Err("no".into()));
            }
            self.waiting = Some((command.clone(), now + Duration::from_millis(2)));
            if self.client != 1 {
                let me = self.socket.local_addr().unwrap();
                self.socket.send_to(b"x", me).unwrap();
            }
            None
        }

        fn on_readable(&mut self, _now: Instant) -> Progress {
            let mut buf = [0u8; 8];
            while self.socket.recv_from(&mut buf).is_ok() {}
            self.answer()
        }

        fn on_time(&mut self, now: Instant) -> Progress {
            match self.waiting {
                Some((_, at)) if now >= at && self.client == 1 => self.answer(),
                _ => None,
            }
        }

        fn deadline(&self) -> Option<Instant> {
            self.waiting.as_ref().map(|(_, at)| *at)
        }
    }

    #[test]
    fn a_load_runs_every_client_on_its_own_commands_until_finished() {
        let refused = Arc::new(AtomicU64::new(0));
        let sessions: Vec<Echo> = (0..5).map(|client| Echo::new(client, &refused)).collect();
        let load = Load::start(sessions, 2, Workload { value_size: 8 });
        // Long enough for client 1's deadlines to come several times.
        while load.answered() < 300
            || refused.load(Ordering::Relaxed) == 0
            || load.elapsed() < Duration::from_millis(50)
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        let samples = load.finish().unwrap();
        assert!(samples.failed >= 1);
        assert_eq!(samples.failed, refused.load(Ordering::Relaxed));
        assert!(samples.completions.len() as u64 >= 300);
        assert!(samples.completions.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(samples.figures().commands, samples.completions.len() as u64);
        // Client 1, answered on its 2 ms deadline, is timed from its send to that deadline.
        let slowest = samples.completions.iter().map(|c| c.latency).max().unwrap();
        assert!(slowest >= Duration::from_millis(2), "{slowest:?}");
    }
}
