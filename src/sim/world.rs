//! The simulated world: a clock, a queue of timed events, the nodes, the network and the
//! disks. One thread, one seeded generator: the same seed gives the same run, event by event.
//! The servers are the real [`ServiceNode`] actors, and their effects are carried out in
//! bursts by the same [`Burst`] as the UDP event loop's: a burst is one datagram (with the
//! steps of what the server sends itself), a timer, or, with receive buffers, what waits in
//! the buffer when the server reads, up to the event loop's [`MAX_BURST`].

use super::attack::Attack;
use super::checks::{Announced, Prefixes, Property, Violation, unsynced};
use super::client::{ByzantineClient, Datagram, SimClient};
use super::disk::{DiskFault, DiskStop, SimDisk, SimRecord, Synced};
use super::moves::Move;
use super::net::Network;
use super::rx::{RxBuffer, RxProfile, WIRE_US_PER_FRAGMENT};
use crate::runtime::codec::WireCodec;
use crate::runtime::effects::{Burst, Timers, Transport};
use crate::runtime::event_loop::{Codec, MAX_BURST};
use crate::runtime::faults::FaultRng;
use crate::runtime::pacing::Pacer;
use crate::runtime::parsed::Parsed;
use crate::runtime::wire::Serialized;
use crate::service::client::Outgoing;
use crate::service::kv::Reply;
use crate::service::msg::ServiceMsg;
use crate::service::node::{ServiceNode, ServiceState, ServiceTimer};
use crate::service::proposer_store::ServerDurable;
use crate::service::store::ServiceDurable;
use crate::torture::byzantine::Byzantine;
use crate::torture::history::{Event, EventType, op_event, reply_event};
use stateright::actor::{Actor, Command as OutCommand, Id, Out};
use std::borrow::Cow;
use std::cmp::Ordering as CmpOrdering;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How many payloads the simulator keeps read, for all servers: enough to span the
/// deliveries of one broadcast.
const PARSED_KEPT: usize = 32;

/// What a server keeps across a crash.
pub type Stable = <ServiceNode as Actor>::Storage;

/// Something that happens at a time.
#[derive(Clone, Debug)]
pub enum Happening {
    /// A datagram arrives.
    Deliver {
        to: Id,
        datagram: Vec<u8>,
    },
    Timer {
        node: usize,
        timer: ServiceTimer,
        generation: u64,
    },
    /// A client's next step: start an operation, resend, or give up (by generation).
    Client {
        client: usize,
        generation: u64,
    },
    /// A server reads the next datagram waiting in its receive buffer.
    Drain {
        node: usize,
    },
    Byzantine,
    ByzantineClient,
    /// The fault schedule's next move.
    Nemesis(Move),
}

struct Scheduled {
    at: u64,
    seq: u64,
    what: Happening,
}

impl PartialEq for Scheduled {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scheduled {
    /// Earliest first in a max-heap; ties in the order they were scheduled.
    fn cmp(&self, o: &Self) -> CmpOrdering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

/// A deliberately broken build the simulator runs (besides the broken rules of
/// [`crate::service::server::Broken`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokenDriver {
    /// An acceptor's sends go out before the save that precedes them completes.
    SendBeforeSync,
    /// A replica (acceptor 0's) applies the last slot it applied a second time.
    ApplyTwice,
    /// Replicas drop the votes of every slot they applied, before a snapshot covers it.
    CompactBeforeSnapshot,
    /// A replica (acceptor 0's) answers a compare-and-set that swapped as not swapped.
    CasMisreported,
    /// A burst sends what it held at each of its writes, before the sync of the writes
    /// before (the runtime's burst sends it at the first write only).
    ReleaseAtEveryWrite,
}

/// Why a server is down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Down {
    Crashed,
    DiskFull,
    /// Its store failed on its own: a violation.
    StoreFailed,
}

/// One server.
pub struct SimNode {
    pub actor: ServiceNode,
    pub id: Id,
    pub acceptor: bool,
    /// A `Cow`, as the actor's steps take one: it stays owned, and in place.
    pub state: Option<Cow<'static, ServiceState>>,
    pub down: Option<Down>,
    timers: BTreeMap<ServiceTimer, u64>,
    generation: u64,
    pub disk: Option<SimDisk>,
    /// A proposer's record, kept across its lives.
    pub record: SimRecord,
    /// The directory of an acceptor's files, and its index there.
    pub store_at: Option<(PathBuf, u16)>,
    /// The disk's fault, kept across lives until cleared.
    pub disk_fault: DiskFault,
    clock: Arc<AtomicU64>,
    codec: WireCodec,
    /// Its socket's receive buffer (with [`World::rx`]).
    pub rx: RxBuffer,
    /// Spaces the fragments it sends on each link.
    pacer: Pacer,
    /// The steps since its last sync, carried out as the UDP runtime carries out a burst.
    burst: Burst<ServiceMsg>,
}

/// An input of a server's step.
enum Input {
    Msg(Id, ServiceMsg),
    Timeout(ServiceTimer),
}

/// The sends of one step, stamped with the node's clock (which a sync moves on). An
/// acceptor's messages are checked against what its disk has synced as they leave: a crash
/// could strike right after any send.
struct Outbox {
    me: Id,
    clock: Arc<AtomicU64>,
    synced: Option<Synced>,
    acceptor: usize,
    sends: Vec<(Id, ServiceMsg, u64)>,
    unsynced: Vec<String>,
}

impl Outbox {
    /// The outbox of server `i`, `node`.
    fn of(node: &SimNode, i: usize) -> Self {
        Outbox {
            me: node.id,
            clock: Arc::clone(&node.clock),
            synced: node.disk.as_ref().map(|d| Arc::clone(&d.synced)),
            acceptor: i,
            sends: Vec::new(),
            unsynced: Vec::new(),
        }
    }
}

impl Transport<ServiceMsg> for Outbox {
    fn send(&mut self, to: Id, msg: ServiceMsg) {
        // What a node sends itself never leaves it: a crash takes it back with the write.
        if to != self.me
            && let (Some(synced), ServiceMsg::Log(m)) = (&self.synced, &msg)
            && let Ok(synced) = synced.lock()
            && let Some(what) = unsynced(self.acceptor, &synced, m)
        {
            self.unsynced.push(what);
        }
        self.sends
            .push((to, msg, self.clock.load(Ordering::Relaxed)));
    }
}

/// The timer commands of one step, carried out by the world (it owns the clock).
#[derive(Default)]
struct TimerCommands(Vec<(ServiceTimer, Option<Range<Duration>>)>);

impl Timers<ServiceTimer> for TimerCommands {
    fn set(&mut self, timer: ServiceTimer, range: Range<Duration>) {
        self.0.push((timer, Some(range)));
    }
    fn cancel(&mut self, timer: &ServiceTimer) {
        self.0.push((timer.clone(), None));
    }
}

/// Counts of what happened, for the summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub steps: u64,
    pub dropped_datagrams: u64,
    pub acceptor_crashes: u64,
    pub crashes_during_write: u64,
    pub torn_tails_cut: u64,
    pub proposer_crashes: u64,
    pub disk_full: u64,
    pub partitions: u64,
    pub whole_cluster_restarts: u64,
    pub saves: u64,
    pub syncs: u64,
    /// Crashes that lost a snapshot still being written (the one before it is back).
    pub snapshots_lost: u64,
}

pub struct World {
    pub now: u64,
    queue: BinaryHeap<Scheduled>,
    seq: u64,
    pub rng: FaultRng,
    pub nodes: Vec<SimNode>,
    pub acceptors: usize,
    pub clients: Vec<SimClient>,
    client_generation: Vec<u64>,
    pub byzantine: Option<(usize, Byzantine)>,
    /// The Byzantine proposer's aimed attacks (with `byzantine`).
    pub attack: Option<Attack>,
    /// The server the Byzantine proposer took over, for the whole run (never started).
    pub byzantine_slot: Option<usize>,
    pub byzantine_client: Option<ByzantineClient>,
    pub net: Network,
    /// Bounded receive buffers and the servers' time to read and step; without, a server
    /// reads every datagram the instant it arrives.
    pub rx: Option<RxProfile>,
    pub history: Vec<Event>,
    pub counts: Counts,
    pub violations: Vec<Violation>,
    prefixes: Prefixes,
    pub announced: Announced,
    parsed: Parsed<ServiceMsg>,
    pub broken: Option<BrokenDriver>,
    pub sync_latency_us: (u64, u64),
    /// Clients start no new operation once this is set.
    pub workload_over: bool,
    /// The processes of the final reads, and the keys left to read.
    pub final_reads: Option<VecDeque<usize>>,
    pub mismatched_replies: u64,
    pub until_step: Option<u64>,
    /// Stop at the first step that found a violation.
    pub stop_at_violation: bool,
}

impl World {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        nodes: Vec<SimNode>,
        acceptors: usize,
        clients: Vec<SimClient>,
        byzantine: Option<(usize, Byzantine)>,
        byzantine_client: Option<ByzantineClient>,
        net: Network,
        seed: u64,
        broken: Option<BrokenDriver>,
    ) -> Self {
        let n = clients.len();
        let mut world = World {
            now: 0,
            queue: BinaryHeap::new(),
            seq: 0,
            rng: FaultRng::new(seed ^ 0x5157_0000),
            nodes,
            acceptors,
            clients,
            client_generation: vec![0; n],
            byzantine_slot: byzantine.as_ref().map(|(b, _)| *b),
            byzantine,
            attack: None,
            byzantine_client,
            net,
            rx: None,
            history: Vec::new(),
            counts: Counts::default(),
            violations: Vec::new(),
            prefixes: Prefixes::default(),
            parsed: Parsed::new(PARSED_KEPT, 0..=usize::MAX),
            announced: Announced::default(),
            broken,
            sync_latency_us: (20, 400),
            workload_over: false,
            final_reads: None,
            mismatched_replies: 0,
            until_step: None,
            stop_at_violation: false,
        };
        for i in 0..world.nodes.len() {
            world.nodes[i].burst = world.new_burst();
        }
        world
    }

    pub fn schedule(&mut self, after_us: u64, what: Happening) {
        self.seq += 1;
        self.queue.push(Scheduled {
            at: self.now + after_us,
            seq: self.seq,
            what,
        });
    }

    fn violation(&mut self, property: Property, what: String) {
        self.violations.push(Violation {
            step: self.counts.steps,
            property,
            what,
        });
    }

    /// Runs events until the clock reaches `until` (µs), the queue empties or the step limit
    /// is reached (or a violation is found, with `stop_at_violation`); false if it stopped
    /// short.
    pub fn run_until(&mut self, until: u64, on_move: &mut dyn FnMut(&mut World, Move)) -> bool {
        while let Some(next) = self.queue.peek() {
            if next.at > until {
                break;
            }
            if self.until_step.is_some_and(|n| self.counts.steps >= n)
                || (self.stop_at_violation && !self.violations.is_empty())
            {
                return false;
            }
            let Some(event) = self.queue.pop() else { break };
            self.now = event.at;
            self.counts.steps += 1;
            match event.what {
                Happening::Deliver { to, datagram } => self.deliver(to, datagram),
                Happening::Timer {
                    node,
                    timer,
                    generation,
                } => {
                    if self.nodes[node].timers.get(&timer) == Some(&generation) {
                        self.nodes[node].timers.remove(&timer);
                        self.step(node, Input::Timeout(timer));
                        self.finish_burst(node);
                    }
                }
                Happening::Client { client, generation } => {
                    if self.client_generation[client] == generation {
                        self.client_wake(client);
                    }
                }
                Happening::Drain { node } => self.drain(node),
                Happening::Byzantine => self.byzantine_acts(),
                Happening::ByzantineClient => self.byzantine_client_acts(),
                Happening::Nemesis(m) => on_move(self, m),
            }
        }
        self.now = self.now.max(until);
        true
    }

    // --- servers -------------------------------------------------------------------------

    /// Starts server `i` from its store (or afresh): recovery, then its first effects.
    pub fn start_node(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        node.timers.clear();
        node.down = None;
        let mut recovered = None;
        if let Some((dir, index)) = node.store_at.clone() {
            match SimDisk::open(&dir, index, Arc::clone(&node.clock)) {
                Ok(reopened) => {
                    if reopened.torn_bytes.is_some() {
                        self.counts.torn_tails_cut += 1;
                    }
                    let node = &mut self.nodes[i];
                    let mut disk = reopened.disk;
                    disk.fault = node.disk_fault;
                    node.disk = Some(disk);
                    recovered = reopened.state.map(ServerDurable::from);
                    let lost = self.announced.restarted(
                        i,
                        recovered
                            .as_ref()
                            .and_then(Stable::acceptor)
                            .map(|r| &r.log),
                    );
                    for what in lost {
                        self.violation(Property::Recovery, what);
                    }
                }
                Err(e) => {
                    self.nodes[i].down = Some(Down::StoreFailed);
                    self.violation(
                        Property::Store,
                        format!("acceptor {i} cannot recover its store: {e}"),
                    );
                    return;
                }
            }
        }
        let node = &mut self.nodes[i];
        if let Some(record) = &node.record.0 {
            recovered = Some(ServerDurable::Proposer(record.clone()));
        }
        let mut out = Out::new();
        let state = node.actor.on_start(node.id, &recovered, &mut out);
        node.state = Some(Cow::Owned(state));
        self.carry_out(i, out);
        self.finish_burst(i);
    }

    /// Crashes server `i`: it loses everything but what its disk synced, and a snapshot
    /// still being written half the time.
    pub fn crash(&mut self, i: usize, why: Down) {
        if let Some(disk) = self.nodes[i].disk.take() {
            // The coin only when there is a snapshot to lose, so that other runs draw as before.
            let lose = disk.writing_snapshot() && self.rng.below(2) == 0;
            if disk.crash(lose) {
                self.counts.snapshots_lost += 1;
            }
        }
        let burst = self.new_burst();
        let node = &mut self.nodes[i];
        node.state = None;
        node.down = Some(why);
        node.timers.clear();
        node.rx.clear();
        node.pacer = Pacer::default();
        node.burst = burst;
    }

    /// A server's burst, as the build carries out bursts.
    fn new_burst(&self) -> Burst<ServiceMsg> {
        if self.broken == Some(BrokenDriver::ReleaseAtEveryWrite) {
            Burst::broken_releasing_at_every_write()
        } else {
            Burst::default()
        }
    }

    pub fn is_up(&self, i: usize) -> bool {
        self.nodes[i].state.is_some()
    }

    /// Starts every server that is down (but the one the Byzantine proposer took over).
    pub fn start_all_down(&mut self) {
        for i in 0..self.nodes.len() {
            if !self.is_up(i) && self.byzantine_slot != Some(i) {
                self.start_node(i);
            }
        }
    }

    fn step(&mut self, i: usize, input: Input) {
        // The input, then what the node sends itself, in order; allocated only for those.
        let mut first = Some(input);
        let mut inputs = VecDeque::new();
        while let Some(input) = first.take().or_else(|| inputs.pop_front()) {
            let node = &mut self.nodes[i];
            let Some(state) = node.state.as_mut() else {
                return;
            };
            let applied_before = applied(state);
            let mut out = Out::new();
            match input {
                Input::Msg(src, msg) => node.actor.on_msg(node.id, state, src, msg, &mut out),
                Input::Timeout(timer) => node.actor.on_timeout(node.id, state, &timer, &mut out),
            }
            match self.broken {
                // One replica is broken: the others show what it should have applied.
                Some(BrokenDriver::ApplyTwice) if i == 0 && applied(state) > applied_before => {
                    apply_last_twice(&node.actor, node.id, state.to_mut());
                }
                Some(BrokenDriver::CompactBeforeSnapshot) => {
                    out = compact_applied(state.to_mut(), out);
                }
                Some(BrokenDriver::CasMisreported) if i == 0 => out = misreport_swaps(out),
                _ => {}
            }
            self.observe(i);
            for (to, msg) in self.carry_out(i, out) {
                inputs.push_back(Input::Msg(to, msg));
            }
        }
    }

    /// Checks what a step of acceptor `i` applied.
    fn observe(&mut self, i: usize) {
        let Some((_, replica)) = self.nodes[i].state.as_deref().and_then(|s| s.acceptor()) else {
            return;
        };
        let (applied, digest) = (replica.applied, replica.log_digest);
        if let Some(what) = self.prefixes.record(i, applied, digest) {
            self.violation(Property::Agreement, what);
        }
    }

    /// Carries out a step's commands as part of the node's burst, with the runtime's code:
    /// written, not synced, and the sends held from the burst's first write on. Returns what
    /// the node sent itself.
    fn carry_out(&mut self, i: usize, out: Out<ServiceNode>) -> Vec<(Id, ServiceMsg)> {
        let out = if self.broken == Some(BrokenDriver::SendBeforeSync) {
            sends_first(out)
        } else {
            out
        };
        let node = &mut self.nodes[i];
        node.clock.store(self.now, Ordering::Relaxed);
        let mut outbox = Outbox::of(node, i);
        let mut timers = TimerCommands::default();
        let result = match &mut node.disk {
            Some(disk) => {
                let saves = disk.saves;
                let r = node
                    .burst
                    .carry_out(node.id, out, disk, &mut outbox, &mut timers);
                self.counts.saves += disk.saves - saves;
                r.map_err(|_| disk.stopped.unwrap_or(DiskStop::Failed))
            }
            None => node
                .burst
                .carry_out(node.id, out, &mut node.record, &mut outbox, &mut timers)
                .map_err(|_| DiskStop::Failed),
        };
        self.dispatch(i, outbox, timers, result)
    }

    /// Ends the burst of server `i`: one sync for its writes, then the sends it held. The
    /// server reads nothing while it syncs.
    fn finish_burst(&mut self, i: usize) {
        let (lo, hi) = self.sync_latency_us;
        let latency = lo + self.rng.below(hi - lo + 1);
        let node = &mut self.nodes[i];
        if node.state.is_none() {
            return; // crashed during the burst: its writes were not synced
        }
        node.clock.store(self.now, Ordering::Relaxed);
        let mut outbox = Outbox::of(node, i);
        let result = match &mut node.disk {
            Some(disk) => {
                disk.sync_latency = latency;
                let syncs = disk.syncs;
                let r = node.burst.finish::<ServerDurable>(disk, &mut outbox);
                self.counts.syncs += disk.syncs - syncs;
                r.map(|_| ())
                    .map_err(|_| disk.stopped.unwrap_or(DiskStop::Failed))
            }
            None => node
                .burst
                .finish::<ServerDurable>(&mut node.record, &mut outbox)
                .map(|_| ())
                .map_err(|_| DiskStop::Failed),
        };
        let to_self = self.dispatch(i, outbox, TimerCommands::default(), result);
        debug_assert!(to_self.is_empty(), "a burst sends to itself at once");
        let node = &mut self.nodes[i];
        node.rx.busy_until = node.rx.busy_until.max(node.clock.load(Ordering::Relaxed));
    }

    /// Checks and puts on the network what server `i` sent, sets its timers, and stops it if
    /// its disk did; returns what it sent itself.
    fn dispatch(
        &mut self,
        i: usize,
        outbox: Outbox,
        timers: TimerCommands,
        result: Result<(), DiskStop>,
    ) -> Vec<(Id, ServiceMsg)> {
        let Outbox {
            sends, unsynced, ..
        } = outbox;
        let node = &mut self.nodes[i];
        let uncovered = node.disk.as_mut().and_then(|d| d.uncovered_drop.take());
        let (id, acceptor) = (node.id, node.acceptor);
        for what in unsynced {
            self.violation(Property::SyncedBeforeSend, what);
        }
        if let Some((covered, base)) = uncovered {
            self.violation(
                Property::SnapshotBeforeCompaction,
                format!(
                    "acceptor {i}'s store dropped the votes below slot {base}, but its snapshot \
                     covers only the slots below {covered}"
                ),
            );
        }
        let mut to_self = Vec::new();
        // A broadcast is the same message to each receiver in turn: serialized once, and
        // announced once unless that found a violation (announcing it again changes nothing).
        let mut last: Option<(ServiceMsg, Option<Serialized>)> = None;
        let mut last_clean = false;
        for (to, msg, at) in sends {
            let repeat = last.as_ref().is_some_and(|(m, _)| *m == msg);
            let mut clean = true;
            if acceptor
                && !(repeat && last_clean)
                && let ServiceMsg::Log(m) = &msg
                && let Some(what) = self.announced.sent(i, m)
            {
                self.violation(Property::VoteOnce, what);
                clean = false;
            }
            if to == id {
                to_self.push((id, msg));
                continue;
            }
            let codec = &self.nodes[i].codec;
            if !repeat {
                let serialized = codec.serialize(&msg).ok();
                last = Some((msg, serialized));
                last_clean = clean;
            }
            // A message larger than a datagram travels as fragments, each on its own.
            let serialized = last.as_ref().and_then(|(_, s)| s.as_ref());
            match serialized.map(|s| Codec::<ServiceMsg>::frame(codec, id, to, s)) {
                Some(Ok(datagrams)) => self.transmit_message(i, to, datagrams, at),
                _ => self.counts.dropped_datagrams += 1,
            }
        }
        for (timer, range) in timers.0 {
            self.set_timer(i, timer, range);
        }
        if let Err(stop) = result {
            let down = match stop {
                DiskStop::Crashed => {
                    self.counts.crashes_during_write += 1;
                    Down::Crashed
                }
                DiskStop::Full => Down::DiskFull,
                DiskStop::Failed => {
                    self.violation(
                        Property::Store,
                        format!("server {i} stopped on its own: its store failed"),
                    );
                    Down::StoreFailed
                }
            };
            self.crash(i, down);
            return Vec::new();
        }
        to_self
    }

    fn set_timer(&mut self, i: usize, timer: ServiceTimer, range: Option<Range<Duration>>) {
        let node = &mut self.nodes[i];
        let Some(range) = range else {
            node.timers.remove(&timer);
            return;
        };
        node.generation += 1;
        let generation = node.generation;
        node.timers.insert(timer.clone(), generation);
        let start = range.start.as_micros() as u64;
        let span = (range.end.as_micros() as u64).saturating_sub(start);
        let after = start + if span == 0 { 0 } else { self.rng.below(span) };
        self.schedule(
            after,
            Happening::Timer {
                node: i,
                timer,
                generation,
            },
        );
    }

    /// Puts the datagrams of one message from server `i` on the network, from time `at` on,
    /// spaced by the same [`Pacer`] as the UDP runtime's. With receive buffers modelled, the
    /// fragments of one message travel together, as on loopback, each
    /// [`WIRE_US_PER_FRAGMENT`] after the one before (each may still be lost or duplicated).
    fn transmit_message(&mut self, i: usize, to: Id, datagrams: Vec<Vec<u8>>, at: u64) {
        let from = self.nodes[i].id;
        let Some(times) = self.nodes[i].pacer.schedule(to, at, datagrams.len()) else {
            self.counts.dropped_datagrams += datagrams.len() as u64;
            return;
        };
        if self.rx.is_none() {
            for (bytes, at) in datagrams.into_iter().zip(times) {
                self.transmit(from, to, bytes, at.saturating_sub(self.now));
            }
            return;
        }
        let mut first = None;
        for (k, (bytes, at)) in datagrams.into_iter().zip(times).enumerate() {
            let fates = self.net.fate(from, to, bytes.len(), &mut self.rng);
            for after in fates {
                let flight = *first.get_or_insert(after) + k as u64 * WIRE_US_PER_FRAGMENT;
                let delay = at.saturating_sub(self.now) + flight;
                self.schedule(
                    delay,
                    Happening::Deliver {
                        to,
                        datagram: bytes.clone(),
                    },
                );
            }
        }
    }

    /// Puts a datagram on the simulated network, `delay` µs from now at the earliest.
    pub fn transmit(&mut self, from: Id, to: Id, datagram: Vec<u8>, delay: u64) {
        let fates = self.net.fate(from, to, datagram.len(), &mut self.rng);
        let n = fates.len();
        let mut datagram = Some(datagram);
        for (k, after) in fates.into_iter().enumerate() {
            let bytes = if k + 1 == n {
                datagram.take().unwrap_or_default()
            } else {
                datagram.clone().unwrap_or_default()
            };
            self.schedule(
                delay + after,
                Happening::Deliver {
                    to,
                    datagram: bytes,
                },
            );
        }
    }

    fn deliver(&mut self, to: Id, datagram: Vec<u8>) {
        let index = usize::from(to);
        if let Some((b, byzantine)) = &mut self.byzantine
            && *b == index
        {
            byzantine.observe(&datagram);
            if let Some(attack) = &mut self.attack {
                attack.observe(&datagram);
            }
            return;
        }
        if index < self.nodes.len() {
            if self.nodes[index].state.is_none() {
                return;
            }
            let Some(profile) = self.rx else {
                self.read(index, datagram);
                self.finish_burst(index);
                return;
            };
            let now = self.now;
            let rx = &mut self.nodes[index].rx;
            if rx.idle(now) {
                self.read_timed(index, datagram, &profile);
                self.finish_burst(index);
            } else if rx.offer(&profile, datagram) && !rx.draining {
                rx.draining = true;
                let after = rx.busy_until.saturating_sub(now);
                self.schedule(after, Happening::Drain { node: index });
            }
            return;
        }
        let Some(c) = self.clients.iter().position(|c| c.id == to) else {
            return; // the Byzantine client ignores what it receives
        };
        if let Some(reply) = self.clients[c].reply_in(&datagram) {
            self.client_done(c, reply);
        }
    }

    /// Server `i` decodes a datagram and, once it completes a message, steps on it, in its
    /// current burst.
    fn read(&mut self, i: usize, datagram: Vec<u8>) {
        let node = &mut self.nodes[i];
        let parsed = &mut self.parsed;
        match node
            .codec
            .decode_with(node.id, &datagram, |p| parsed.parse(p))
        {
            Ok(Some((src, msg))) => self.step(i, Input::Msg(src, msg)),
            // A fragment of a message still incomplete.
            Ok(None) => {}
            Err(_) => self.counts.dropped_datagrams += 1,
        }
    }

    /// [`World::read`], keeping the server busy for the time it takes.
    fn read_timed(&mut self, i: usize, datagram: Vec<u8>, profile: &RxProfile) {
        let reading = profile.read_us(datagram.len());
        self.read(i, datagram);
        let rx = &mut self.nodes[i].rx;
        rx.busy_until = rx.busy_until.max(self.now) + reading;
    }

    /// Server `i`, once it is free, reads the datagrams waiting in its buffer, as many as the
    /// UDP runtime takes into one burst, and syncs once for all of them.
    fn drain(&mut self, i: usize) {
        let Some(profile) = self.rx else { return };
        let now = self.now;
        let rx = &mut self.nodes[i].rx;
        rx.draining = false;
        if rx.busy_until > now {
            rx.draining = true;
            let after = rx.busy_until - now;
            self.schedule(after, Happening::Drain { node: i });
            return;
        }
        for _ in 0..MAX_BURST {
            if self.nodes[i].state.is_none() {
                break;
            }
            let Some(datagram) = self.nodes[i].rx.take() else {
                break;
            };
            self.read_timed(i, datagram, &profile);
        }
        self.finish_burst(i);
        let rx = &mut self.nodes[i].rx;
        if !rx.idle(self.now) && !rx.draining {
            rx.draining = true;
            let after = rx.busy_until.saturating_sub(self.now);
            self.schedule(after, Happening::Drain { node: i });
        }
    }

    /// Datagrams the servers' receive buffers dropped, over the run.
    pub fn rx_overflowed(&self) -> u64 {
        self.nodes.iter().map(|n| n.rx.overflowed).sum()
    }

    // --- clients -------------------------------------------------------------------------

    fn servers(&self, acceptors: bool) -> Vec<Id> {
        self.nodes
            .iter()
            .filter(|n| n.acceptor == acceptors)
            .map(|n| n.id)
            .collect()
    }

    /// Client `c` sends `out`, then wakes when its core next has something to do.
    fn client_send(&mut self, c: usize, out: Vec<Outgoing>) {
        let id = self.clients[c].id;
        for datagram in out {
            self.transmit(id, datagram.to, datagram.bytes, 0);
        }
        if let Some(at) = self.clients[c].deadline() {
            self.wake_client(c, at.saturating_sub(self.now));
        }
    }

    fn wake_client(&mut self, c: usize, after: u64) {
        self.client_generation[c] += 1;
        let generation = self.client_generation[c];
        self.schedule(
            after,
            Happening::Client {
                client: c,
                generation,
            },
        );
    }

    /// Starts a client's first operation after a short pause.
    pub fn start_client(&mut self, c: usize) {
        let pause = self.rng.below(2_000);
        self.wake_client(c, pause);
    }

    fn client_wake(&mut self, c: usize) {
        let now = self.now;
        if self.clients[c].current.is_some() {
            // Resend, or give up once the client timeout has passed.
            match self.clients[c].on_time(now) {
                Some(out) => self.client_send(c, out),
                None => self.client_done(c, None),
            }
            return;
        }
        let read_key = match &mut self.final_reads {
            Some(keys) if c == 0 => match keys.pop_front() {
                Some(k) => Some(k),
                None => return,
            },
            _ if self.workload_over => return,
            _ => None,
        };
        let client = &mut self.clients[c];
        let process = client.process;
        let (flight, sent) = client.invoke(now, read_key);
        let (f, key, value) = op_event(&flight.op);
        self.history.push(Event {
            process,
            kind: EventType::Invoke,
            f,
            key,
            value,
            time: now * 1_000,
        });
        match sent {
            Some(out) => self.client_send(c, out),
            None => self.client_done(c, None),
        }
    }

    fn client_done(&mut self, c: usize, reply: Option<Reply>) {
        let clients = self.clients.len() as u64;
        let process = self.clients[c].process;
        let Some(done) = self.clients[c].complete(reply.as_ref(), clients) else {
            return;
        };
        let (f, key, invoked) = op_event(&done.op);
        let unknown = if f == crate::torture::history::Func::Read {
            serde_json::Value::Null
        } else {
            invoked
        };
        let (kind, value) = match &reply {
            None => (EventType::Info, unknown),
            Some(r) => match reply_event(&done.op, r) {
                Some(done) => done,
                None => {
                    self.mismatched_replies += 1;
                    (EventType::Info, unknown)
                }
            },
        };
        self.history.push(Event {
            process,
            kind,
            f,
            key,
            value,
            time: self.now * 1_000,
        });
        // A short think time before the next operation.
        let pause = 100 + self.rng.below(1_000);
        self.wake_client(c, pause);
    }

    // --- Byzantine nodes -----------------------------------------------------------------

    fn byzantine_acts(&mut self) {
        let Some((b, byzantine)) = &mut self.byzantine else {
            return;
        };
        let from = Id::from(*b);
        // Past the random proposer's own opening: the aimed attacks make a sharper one.
        let elapsed = Duration::from_micros(self.now) + OPENING;
        let mut datagrams = Vec::new();
        if let Some(attack) = &mut self.attack {
            datagrams.extend(attack.act());
        }
        // Its random mischief starts once the opening is over, not to spoil it.
        if self.attack.as_ref().is_none_or(Attack::opened) {
            datagrams.extend(byzantine.misbehave(elapsed));
        }
        for (to, bytes) in datagrams {
            self.transmit(from, to, bytes, 0);
        }
        if !self.workload_over {
            self.schedule(5_000, Happening::Byzantine);
        }
    }

    fn byzantine_client_acts(&mut self) {
        let mut servers = self.servers(true);
        servers.extend(self.servers(false));
        let Some(client) = &mut self.byzantine_client else {
            return;
        };
        let from = client.id;
        let mut out = Vec::new();
        for datagram in client.act(&servers) {
            match datagram {
                Datagram::Msg(to, msg) => {
                    if let Ok(datagrams) = client.codec.encode(from, to, &msg) {
                        out.extend(datagrams.into_iter().map(|bytes| (to, bytes)));
                    }
                }
                Datagram::Raw(to, bytes) => out.push((to, bytes)),
            }
        }
        for (to, bytes) in out {
            self.transmit(from, to, bytes, 0);
        }
        if !self.workload_over {
            self.schedule(10_000, Happening::ByzantineClient);
        }
    }

    /// The highest round any live acceptor is in, and the proposer that leads it.
    pub fn leader(&self) -> (u32, usize) {
        let rnd = self
            .nodes
            .iter()
            .filter_map(|n| n.state.as_deref()?.acceptor().map(|(log, _)| log.rnd))
            .max()
            .unwrap_or(0);
        (rnd, self.acceptors + self.leader_index(rnd))
    }

    /// The index among the proposers of the one that leads `round` ([`Cluster::leader`]).
    fn leader_index(&self, round: u32) -> usize {
        let cluster = crate::types::Cluster {
            f: (self.acceptors - 1) / 3,
            proposers: self.nodes.len() - self.acceptors,
        };
        usize::from(cluster.leader(round).0)
    }

    /// The smallest slot every live acceptor has decided below, to bound the checks' memory.
    pub fn decided_everywhere(&self) -> u64 {
        self.nodes
            .iter()
            .filter_map(|n| match n.state.as_deref()? {
                ServiceState::Acceptor { log, .. } => Some(log.decided_base()),
                _ => None,
            })
            .min()
            .unwrap_or(0)
    }

    pub fn new_node(
        actor: ServiceNode,
        id: Id,
        acceptor: bool,
        store_at: Option<(PathBuf, u16)>,
        codec: WireCodec,
    ) -> SimNode {
        SimNode {
            actor,
            id,
            acceptor,
            state: None,
            down: None,
            timers: BTreeMap::new(),
            generation: 0,
            disk: None,
            record: SimRecord::default(),
            store_at,
            disk_fault: DiskFault::None,
            clock: Arc::new(AtomicU64::new(0)),
            codec,
            rx: RxBuffer::default(),
            pacer: Pacer::default(),
            burst: Burst::default(),
        }
    }

    pub fn set_disk_fault(&mut self, i: usize, fault: DiskFault) {
        let node = &mut self.nodes[i];
        node.disk_fault = fault;
        if let Some(disk) = &mut node.disk {
            disk.fault = fault;
        }
    }
}

/// How long the torture's Byzantine proposer keeps to equivocating in round 0 when it starts.
const OPENING: Duration = Duration::from_millis(500);

/// The broken compaction of [`BrokenDriver::CompactBeforeSnapshot`]: an acceptor drops the
/// votes of every slot its replica applied, before a snapshot covers them, and saves that
/// (first, as the actor's one save of a step is).
fn compact_applied(state: &mut ServiceState, out: Out<ServiceNode>) -> Out<ServiceNode> {
    let ServiceState::Acceptor { log, replica } = state else {
        return out;
    };
    let Some(next) = log.drop_decided_votes_below(replica.applied) else {
        return out;
    };
    *log = next;
    let mut snapshot = None;
    let mut rest: Out<ServiceNode> = Out::new();
    for command in out {
        match command {
            OutCommand::Save(ServerDurable::Acceptor(saved)) => {
                snapshot = saved.snapshot.or(snapshot)
            }
            OutCommand::Save(proposer) => rest.save(proposer),
            OutCommand::Send(to, msg) => rest.send(to, msg),
            OutCommand::SetTimer(t, r) => rest.set_timer(t, r),
            OutCommand::CancelTimer(t) => rest.cancel_timer(t),
            OutCommand::ChooseRandom(..) => {}
        }
    }
    let mut compacted = Out::new();
    compacted.save(
        ServiceDurable {
            log: log.durable(),
            snapshot,
        }
        .into(),
    );
    compacted.append(&mut rest);
    compacted
}

/// The broken driver of [`BrokenDriver::SendBeforeSync`]: every send of a step before its saves.
fn sends_first(out: Out<ServiceNode>) -> Out<ServiceNode> {
    let (sends, rest): (Vec<_>, Vec<_>) = out
        .into_iter()
        .partition(|c| matches!(c, OutCommand::Send(..)));
    let mut reordered = Out::new();
    for command in sends.into_iter().chain(rest) {
        match command {
            OutCommand::Send(to, msg) => reordered.send(to, msg),
            OutCommand::Save(s) => reordered.save(s),
            OutCommand::SetTimer(t, r) => reordered.set_timer(t, r),
            OutCommand::CancelTimer(t) => reordered.cancel_timer(t),
            OutCommand::ChooseRandom(..) => {}
        }
    }
    reordered
}

/// The broken replica of [`BrokenDriver::CasMisreported`]: its replies to compare-and-sets
/// that swapped say they did not. Its state is right, so only the clients' history shows it.
fn misreport_swaps(out: Out<ServiceNode>) -> Out<ServiceNode> {
    let mut misreported = Out::new();
    for command in out {
        match command {
            OutCommand::Send(
                to,
                ServiceMsg::Reply {
                    seq,
                    reply: Reply::Cas { found, .. },
                    round,
                },
            ) => misreported.send(
                to,
                ServiceMsg::Reply {
                    seq,
                    reply: Reply::Cas {
                        swapped: false,
                        found,
                    },
                    round,
                },
            ),
            OutCommand::Send(to, msg) => misreported.send(to, msg),
            OutCommand::Save(s) => misreported.save(s),
            OutCommand::SetTimer(t, r) => misreported.set_timer(t, r),
            OutCommand::CancelTimer(t) => misreported.cancel_timer(t),
            OutCommand::ChooseRandom(..) => {}
        }
    }
    misreported
}

/// The broken replica of [`BrokenDriver::ApplyTwice`]: when a step applied slots, the last one
/// is applied once more (and so the replica's count of applied slots runs one ahead).
fn apply_last_twice(actor: &ServiceNode, id: Id, state: &mut ServiceState) {
    let ServiceState::Acceptor { log, replica } = state else {
        return;
    };
    let Some(slot) = replica.applied.checked_sub(1) else {
        return;
    };
    let Some(decision) = log.learner.decided(slot).cloned() else {
        return;
    };
    let me = crate::types::AcceptorId(usize::from(id) as u16);
    let acceptors = actor.log.topology.cluster.acceptors();
    replica.apply_next(&decision.value, me, acceptors, &actor.keys);
}

fn applied(state: &ServiceState) -> u64 {
    state.acceptor().map_or(0, |(_, replica)| replica.applied)
}
