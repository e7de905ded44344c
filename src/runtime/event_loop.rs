//! One node's event loop: a UDP socket, the node's timers and its durable storage around an
//! unchanged stateright [`Actor`]. Every datagram goes through a [`Codec`], which
//! authenticates its sender; a datagram that fails to decode is counted and dropped.

use super::effects::{Burst, Timers, Transport};
use super::faults::{Fate, FaultRng, Faults};
use super::floors::AddressFloors;
use super::pacing::Pacer;
use super::socket::{receive_waiting, wait_readable};
use super::storage::Storage;
use super::wire::DropCounts;
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::fmt::{self, Display};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

pub use super::datagram::Codec;
pub use super::freshness::Freshness;
pub use super::observer::{Input, Observer};

/// How often a node with no timer due wakes up to see whether it was asked to stop.
const STOP_POLL: Duration = Duration::from_millis(50);
/// The most datagrams one sync covers: enough to absorb a burst of ACCEPTs, few enough that
/// the first of them is not kept waiting long.
pub const MAX_BURST: usize = 64;

/// What a node has seen, for tests and operators.
#[derive(Debug, Default)]
pub struct Counters {
    pub received: AtomicU64,
    /// Datagrams that failed to decode or authenticate.
    pub dropped: AtomicU64,
    /// The same, by reason.
    pub dropped_by: Mutex<DropCounts>,
    pub sent: AtomicU64,
    pub send_errors: AtomicU64,
    pub timeouts: AtomicU64,
    /// Syncs of the node's storage: one per burst of inputs that wrote to it.
    pub syncs: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// The datagrams dropped so far, by reason.
    pub fn drops(&self) -> DropCounts {
        *self.dropped_by.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why a node stopped other than by request.
#[derive(Debug)]
pub enum RuntimeError {
    /// The socket failed.
    Socket(io::Error),
    /// Durable storage failed: the node stops rather than send what it could not persist.
    Storage(io::Error),
    /// The node's thread panicked (a bug: no input should make it).
    Panicked,
}

impl Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuntimeError::Socket(e) => write!(f, "socket error: {e}"),
            RuntimeError::Storage(e) => {
                write!(
                    f,
                    "durable storage failed, the node stops before sending: {e}"
                )
            }
            RuntimeError::Panicked => write!(f, "the node's thread panicked"),
        }
    }
}

impl std::error::Error for RuntimeError {}

/// Where every node of the cluster listens, indexed by [`Id`].
pub type Addresses = Arc<Vec<SocketAddr>>;

/// A node to run.
pub struct NodeSpec<A: Actor, C, S> {
    pub actor: A,
    pub id: Id,
    pub socket: UdpSocket,
    pub addresses: Addresses,
    pub codec: C,
    pub storage: S,
    /// The stable state recovered from storage, if any.
    pub recovered: Option<A::Storage>,
    /// Faults to inject into its outgoing datagrams (torture runs only).
    pub faults: Option<Arc<Faults>>,
    /// Sees every step of the node (a trace recorder), if any.
    pub observer: Option<Box<dyn Observer<A>>>,
}

/// The node's state, shared with [`RunningNode::state`]. The loop holds the lock for one step
/// and moves the state in and out of it, so that a step never copies the whole state.
type SharedState<S> = Arc<Mutex<Option<S>>>;

/// A running node: its latest state, its counters, and a way to stop it.
pub struct RunningNode<A: Actor> {
    stop: Arc<AtomicBool>,
    state: SharedState<A::State>,
    pub counters: Arc<Counters>,
    thread: Option<JoinHandle<Result<(), RuntimeError>>>,
}

impl<A: Actor> RunningNode<A> {
    /// A copy of the node's current state.
    pub fn state(&self) -> A::State {
        let guard = match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard
            .clone()
            .expect("the state is back in place whenever the lock is free")
    }

    /// Whether the node stopped on its own (an error: it runs until stopped otherwise).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops the node and waits for its thread (a crash, as far as the protocol can tell:
    /// only what it stored survives).
    pub fn stop(mut self) -> Result<(), RuntimeError> {
        self.stop.store(true, Ordering::Relaxed);
        self.join()
    }

    fn join(&mut self) -> Result<(), RuntimeError> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(RuntimeError::Socket(io::Error::other(
                "node thread panicked",
            ))),
            None => Ok(()),
        }
    }
}

impl<A: Actor> Drop for RunningNode<A> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.join();
    }
}

/// An actor the event loop can run on a thread of its own: it and what it holds and sends
/// move to that thread.
pub trait Spawnable:
    Actor<State: Send + 'static, Timer: Send, Msg: Send + Freshness, Storage: Send, Random: Send>
    + Send
    + 'static
{
}

impl<A> Spawnable for A where
    A: Actor<
            State: Send + 'static,
            Timer: Send,
            Msg: Send + Freshness,
            Storage: Send,
            Random: Send,
        > + Send
        + 'static
{
}

/// Starts the node on a thread of its own, with floors of client addresses that a restart
/// forgets.
pub fn spawn<A, C, S>(spec: NodeSpec<A, C, S>) -> io::Result<RunningNode<A>>
where
    A: Spawnable,
    C: Codec<A::Msg>,
    S: Storage<A::Storage>,
{
    spawn_with_floors(spec, AddressFloors::volatile())
}

/// Starts the node on a thread of its own; it moves a client's address only above `floors`.
pub fn spawn_with_floors<A, C, S>(
    spec: NodeSpec<A, C, S>,
    floors: AddressFloors,
) -> io::Result<RunningNode<A>>
where
    A: Spawnable,
    C: Codec<A::Msg>,
    S: Storage<A::Storage>,
{
    let stop = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(Counters::default());
    let mut out = Out::new();
    let mut spec = spec;
    let initial = spec.actor.on_start(spec.id, &spec.recovered, &mut out);
    if let Some(observer) = &mut spec.observer {
        observer.started(&initial);
    }
    let state = Arc::new(Mutex::new(Some(initial)));
    // Room for a burst of fragments that arrives while the node syncs or waits for a core.
    super::socket::enlarge_receive_buffer(&spec.socket);
    let fault_rng = spec.faults.as_ref().map(|f| f.rng_for(spec.id));
    let NodeSpec {
        actor,
        id,
        socket,
        addresses,
        codec,
        storage,
        recovered: _,
        faults,
        observer,
    } = spec;
    let mut node = EventLoop {
        actor,
        id,
        observer,
        storage,
        burst: Burst::default(),
        state: Arc::clone(&state),
        timers: LoopTimers {
            deadlines: HashMap::new(),
            jitter: Jitter::seeded(),
        },
        net: Net {
            id,
            socket,
            addresses,
            codec,
            faults,
            counters: Arc::clone(&counters),
            learned: HashMap::new(),
            floors,
            moving: Vec::new(),
            to_self: VecDeque::new(),
            fault_rng,
            delayed: Vec::new(),
            pacer: Pacer::default(),
            epoch: Instant::now(),
            last_sent: None,
        },
    };
    let thread = {
        let stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name(format!("node-{}", usize::from(node.id)))
            .spawn(move || {
                node.carry_out(out)?;
                node.deliver_to_self()?;
                node.end_burst()?;
                node.run(&stop)
            })?
    };
    Ok(RunningNode {
        stop,
        state,
        counters,
        thread: Some(thread),
    })
}

struct EventLoop<A: Actor, C: Codec<A::Msg>, S> {
    actor: A,
    id: Id,
    observer: Option<Box<dyn Observer<A>>>,
    storage: S,
    /// What the inputs since the last sync wrote and would send.
    burst: Burst<A::Msg>,
    state: SharedState<A::State>,
    timers: LoopTimers<A::Timer>,
    net: Net<A::Msg, C>,
}

/// The node's timers on the wall clock.
struct LoopTimers<T> {
    deadlines: HashMap<T, Instant>,
    jitter: Jitter,
}

impl<T: Eq + std::hash::Hash> Timers<T> for LoopTimers<T> {
    fn set(&mut self, timer: T, range: Range<Duration>) {
        let deadline = Instant::now() + self.jitter.within(&range);
        self.deadlines.insert(timer, deadline);
    }

    fn cancel(&mut self, timer: &T) {
        self.deadlines.remove(timer);
    }
}

/// The node's side of the network: its socket, whom it can reach, and injected faults.
struct Net<M, C: Codec<M>> {
    id: Id,
    socket: UdpSocket,
    addresses: Addresses,
    codec: C,
    faults: Option<Arc<Faults>>,
    counters: Arc<Counters>,
    /// The addresses of nodes with none in [`NodeSpec::addresses`] (clients), taken from
    /// their fresh authenticated datagrams.
    learned: HashMap<Id, SocketAddr>,
    /// The freshness each of those addresses was last taken at.
    floors: AddressFloors,
    /// Addresses whose floors the current burst raised: they move once the floors are synced,
    /// at the burst's end (what the burst released at its first write went to the addresses
    /// as they were).
    moving: Vec<(Id, SocketAddr)>,
    /// Messages the node sent to itself (an acceptor's LEARN reaches its own learner). They
    /// never touch the socket: there is no channel key of a node with itself.
    to_self: VecDeque<M>,
    fault_rng: Option<FaultRng>,
    /// Datagrams held back by pacing or injected delays: when to send them, where, and the
    /// bytes.
    delayed: Vec<(Instant, SocketAddr, Vec<u8>)>,
    /// Spaces the fragments of large messages on each link.
    pacer: Pacer,
    /// The origin of the pacer's clock.
    epoch: Instant,
    /// The last message sent over the socket, serialized: a message to several receivers
    /// (a LEARN to every acceptor and proposer) is sent as equal messages in a row, and is
    /// serialized once for all of them, then framed and authenticated for each.
    last_sent: Option<(M, C::Serialized)>,
}

impl<A, C, S> EventLoop<A, C, S>
where
    A: Actor,
    A::Msg: Freshness,
    C: Codec<A::Msg>,
    S: Storage<A::Storage>,
{
    fn run(&mut self, stop: &AtomicBool) -> Result<(), RuntimeError> {
        // One byte more than the wire allows, so that a longer datagram is seen as too long.
        let mut buf = vec![0u8; super::wire::MAX_DATAGRAM + 1];
        while !stop.load(Ordering::Relaxed) {
            // Waits for the socket with the next timer's deadline, then reads what waits.
            let wait = self.until_next_timer().min(STOP_POLL);
            if wait_readable(&self.net.socket, wait).map_err(RuntimeError::Socket)? {
                self.deliver_queued(&mut buf)?;
            }
            self.fire_due_timers()?;
            self.end_burst()?;
            self.net.release_delayed();
        }
        Ok(())
    }

    /// Takes the datagrams already waiting, up to [`MAX_BURST`], into the current burst: what
    /// arrived while the node synced shares the next sync.
    fn deliver_queued(&mut self, buf: &mut [u8]) -> Result<(), RuntimeError> {
        for _ in 0..MAX_BURST {
            match receive_waiting(&self.net.socket, buf) {
                Ok(Some((len, source))) => {
                    Counters::bump(&self.net.counters.received);
                    self.deliver(&buf[..len], source)?;
                }
                Ok(None) => break,
                Err(e) if is_transient(&e) => break,
                Err(e) => return Err(RuntimeError::Socket(e)),
            }
        }
        Ok(())
    }

    /// Syncs what the burst wrote, moves the addresses whose floors it raised, then sends
    /// what it held.
    fn end_burst(&mut self) -> Result<(), RuntimeError> {
        let moving = std::mem::take(&mut self.net.moving);
        if !moving.is_empty() {
            match self.net.floors.sync() {
                Ok(()) => self.net.learned.extend(moving),
                // Not moving the addresses is safe: each client's next command tries again.
                Err(e) => tracing::warn!(%e, "cannot sync the clients' floors"),
            }
        }
        let synced = self
            .burst
            .finish(&mut self.storage, &mut self.net)
            .map_err(RuntimeError::Storage)?;
        if synced {
            Counters::bump(&self.net.counters.syncs);
        }
        Ok(())
    }

    fn deliver(&mut self, datagram: &[u8], source: SocketAddr) -> Result<(), RuntimeError> {
        let (src, msg) = match self.net.codec.decode(self.id, datagram) {
            Ok(Some(decoded)) => decoded,
            Ok(None) => return Ok(()),
            Err(e) => {
                let mut by_reason = self
                    .net
                    .counters
                    .dropped_by
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                self.net.codec.count_drop(&e, &mut by_reason);
                Counters::bump(&self.net.counters.dropped);
                return Ok(());
            }
        };
        if self.net.addresses.get(usize::from(src)).is_none() {
            self.learn_address(src, source, &msg);
        }
        self.receive(src, msg)?;
        self.deliver_to_self()
    }

    /// Authenticated and fresher than any before, so only that client could have sent it,
    /// and from there: a replay is no fresher than the original.
    fn learn_address(&mut self, src: Id, source: SocketAddr, msg: &A::Msg) {
        let Some(fresh) = msg.freshness() else {
            return;
        };
        match self.net.floors.raise(src, fresh) {
            // The address moves when the burst's sync has made the floor durable.
            Ok(true) => self.net.moving.push((src, source)),
            Ok(false) => {}
            // Not moving the address is safe: the client's next command tries again.
            Err(e) => tracing::warn!(client = usize::from(src), %e, "cannot save a client's floor"),
        }
    }

    fn receive(&mut self, src: Id, msg: A::Msg) -> Result<(), RuntimeError> {
        let id = self.id;
        // The observer needs the message after the handler consumed it.
        let kept = self.observer.is_some().then(|| msg.clone());
        let out = self.step(
            |actor, state, out| actor.on_msg(id, state, src, msg, out),
            |observer, state, out| {
                if let Some(msg) = &kept {
                    observer.after(Input::Msg { src, msg }, state, out);
                }
            },
        );
        self.carry_out(out)
    }

    /// Runs one handler on the state, in place, and shows the step to the observer.
    fn step(
        &mut self,
        handler: impl FnOnce(&A, &mut Cow<A::State>, &mut Out<A>),
        observe: impl FnOnce(&mut dyn Observer<A>, &A::State, &Out<A>),
    ) -> Out<A> {
        let mut out = Out::new();
        let mut guard = match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(current) = guard.take() {
            if let Some(observer) = &mut self.observer {
                observer.before(&current);
            }
            let mut state = Cow::Owned(current);
            handler(&self.actor, &mut state, &mut out);
            let next = state.into_owned();
            if let Some(observer) = &mut self.observer {
                observe(observer.as_mut(), &next, &out);
            }
            *guard = Some(next);
        }
        out
    }

    /// Delivers what the node sent itself, after the step that sent it took effect.
    fn deliver_to_self(&mut self) -> Result<(), RuntimeError> {
        while let Some(msg) = self.net.to_self.pop_front() {
            self.receive(self.id, msg)?;
        }
        Ok(())
    }

    fn fire_due_timers(&mut self) -> Result<(), RuntimeError> {
        let now = Instant::now();
        let due: Vec<A::Timer> = self
            .timers
            .deadlines
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(timer, _)| timer.clone())
            .collect();
        for timer in due {
            // An earlier handler may have cancelled or re-set it.
            match self.timers.deadlines.get(&timer) {
                Some(deadline) if *deadline <= now => {}
                _ => continue,
            }
            self.timers.deadlines.remove(&timer);
            Counters::bump(&self.net.counters.timeouts);
            let id = self.id;
            let out = self.step(
                |actor, state, out| actor.on_timeout(id, state, &timer, out),
                |observer, state, out| observer.after(Input::Timeout(&timer), state, out),
            );
            self.carry_out(out)?;
            self.deliver_to_self()?;
        }
        Ok(())
    }

    /// The commands in the order the actor gave them, as part of the burst: its saves are
    /// synced, at the latest, before any of the sends that follow them leave the node.
    fn carry_out(&mut self, out: Out<A>) -> Result<(), RuntimeError> {
        self.burst
            .carry_out(
                self.id,
                out,
                &mut self.storage,
                &mut self.net,
                &mut self.timers,
            )
            .map_err(RuntimeError::Storage)
    }

    fn until_next_timer(&self) -> Duration {
        let now = Instant::now();
        self.timers
            .deadlines
            .values()
            .chain(self.net.delayed.iter().map(|(at, _, _)| at))
            .map(|deadline| deadline.saturating_duration_since(now))
            .min()
            .unwrap_or(STOP_POLL)
    }
}

impl<M: PartialEq, C: Codec<M>> Transport<M> for Net<M, C> {
    fn send(&mut self, dst: Id, msg: M) {
        if dst == self.id {
            self.to_self.push_back(msg);
            return;
        }
        let known = self.addresses.get(usize::from(dst));
        let learned = self.learned.get(&dst);
        let Some(addr) = known.or(learned).copied() else {
            Counters::bump(&self.counters.send_errors);
            return;
        };
        let serialized = match self.last_sent.take() {
            Some((last, serialized)) if last == msg => serialized,
            _ => match self.codec.serialize(&msg) {
                Ok(serialized) => serialized,
                Err(_) => {
                    Counters::bump(&self.counters.send_errors);
                    return;
                }
            },
        };
        let framed = self.codec.frame(self.id, dst, &serialized);
        self.last_sent = Some((msg, serialized));
        let Ok(datagrams) = framed else {
            Counters::bump(&self.counters.send_errors);
            return;
        };
        if datagrams.len() > 1 {
            tracing::debug!(
                from = usize::from(self.id),
                to = usize::from(dst),
                fragments = datagrams.len(),
                "fragmented message"
            );
        }
        let now = self.epoch.elapsed().as_micros() as u64;
        let Some(times) = self.pacer.schedule(dst, now, datagrams.len()) else {
            // The link's backlog is full: lost, as UDP may lose it.
            Counters::bump(&self.counters.send_errors);
            return;
        };
        // Each fragment meets its own fate, as on the network.
        for (datagram, at) in datagrams.into_iter().zip(times) {
            let paced = Duration::from_micros(at - now);
            self.send_datagram(dst, addr, datagram, paced);
        }
    }
}

impl<M, C: Codec<M>> Net<M, C> {
    fn send_datagram(&mut self, dst: Id, addr: SocketAddr, datagram: Vec<u8>, paced: Duration) {
        let fate = match (&self.faults, &mut self.fault_rng) {
            (Some(faults), Some(rng)) => faults.fate(self.id, dst, rng),
            _ => Fate::Send {
                copies: 1,
                delay: Duration::ZERO,
            },
        };
        match fate {
            // Sent, as far as the node knows; the network lost it.
            Fate::Drop => Counters::bump(&self.counters.sent),
            Fate::Send { copies, delay } if delay.is_zero() && paced.is_zero() => {
                for _ in 0..copies {
                    self.transmit(&datagram, addr);
                }
            }
            Fate::Send { copies, delay } => {
                for _ in 0..copies {
                    self.delayed
                        .push((Instant::now() + paced + delay, addr, datagram.clone()));
                }
            }
        }
    }
}

impl<M, C: Codec<M>> Net<M, C> {
    /// Sends the delayed datagrams whose time has come.
    fn release_delayed(&mut self) {
        if self.delayed.is_empty() {
            return;
        }
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delayed)
            .into_iter()
            .partition(|(at, _, _)| *at <= now);
        self.delayed = later;
        for (_, addr, datagram) in due {
            self.transmit(&datagram, addr);
        }
    }

    /// Puts a datagram on the wire. UDP may lose any datagram and the protocol copes, so a
    /// failed send is only counted.
    fn transmit(&self, datagram: &[u8], addr: SocketAddr) {
        match self.socket.send_to(datagram, addr) {
            Ok(_) => Counters::bump(&self.counters.sent),
            Err(_) => Counters::bump(&self.counters.send_errors),
        }
    }
}

/// Errors after which the socket still works: the read timed out, a signal interrupted it,
/// or an ICMP error came back from an earlier send to a node that is down.
pub fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
            | io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
    )
}

/// Picks timer durations within their range, so that acceptors do not all time out at once.
/// Not a secret: a xorshift seeded from the clock is enough.
struct Jitter(FaultRng);

impl Jitter {
    fn seeded() -> Self {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Jitter(FaultRng::new(nanos))
    }

    fn within(&mut self, range: &Range<Duration>) -> Duration {
        let span = range.end.saturating_sub(range.start).as_nanos() as u64;
        if span == 0 {
            return range.start;
        }
        range.start + Duration::from_nanos(self.0.below(span))
    }
}
