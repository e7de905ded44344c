//! A node's timers fire on time even when they are shorter than the kernel's clock tick: the
//! event loop waits for its socket with a deadline counted in nanoseconds. A socket's receive
//! timeout is counted in ticks (4 ms on a kernel built with 250 Hz), so waiting with it made a
//! timer of 300 µs fire after 8 ms, and a proposer that holds a small batch for its clients'
//! next commands (`Tuning::linger`) would have held it 25 times as long as it meant to. The
//! node's count tells the two apart on a kernel of 250 Hz or less; the wait's own figure on
//! any kernel.

use bp_fast_paxos::cluster_config::{ClusterConfig, NodeId, Role};
use bp_fast_paxos::message::Msg;
use bp_fast_paxos::runtime::codec::WireCodec;
use bp_fast_paxos::runtime::event_loop::{NodeSpec, spawn};
use bp_fast_paxos::runtime::socket::wait_readable;
use bp_fast_paxos::runtime::storage::Volatile;
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::net::UdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counts its timeouts, each timer set again as it fires.
#[derive(Clone)]
struct Ticker {
    every: Duration,
}

impl Actor for Ticker {
    type Msg = Msg<String>;
    type State = u64;
    type Timer = ();
    type Storage = ();
    type Random = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> u64 {
        o.set_timer((), self.every..self.every);
        0
    }

    fn on_msg(&self, _: Id, _: &mut Cow<u64>, _: Id, _: Self::Msg, _: &mut Out<Self>) {}

    fn on_timeout(&self, _: Id, fired: &mut Cow<u64>, _: &(), o: &mut Out<Self>) {
        *fired.to_mut() += 1;
        o.set_timer((), self.every..self.every);
    }
}

#[test]
fn a_timer_shorter_than_a_clock_tick_fires_on_time() {
    let every = Duration::from_micros(300);
    let run = Duration::from_millis(300);
    let config = ClusterConfig::generate(4, 1, 0, 7000, "127.0.0.1".parse().unwrap()).unwrap();
    let me = NodeId::new(Role::Acceptor, 0);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addresses = Arc::new(vec![socket.local_addr().unwrap()]);
    let node = spawn(NodeSpec {
        actor: Ticker { every },
        id: Id::from(0),
        socket,
        addresses,
        codec: WireCodec::from_config(&config, me).unwrap(),
        storage: Volatile,
        recovered: None,
        faults: None,
        observer: None,
    })
    .unwrap();
    std::thread::sleep(run);
    let fired = node.state();
    node.stop().unwrap();
    // A timer every 300 µs fires up to 1,000 times in 300 ms; each firing late by a tick or
    // two gives fewer than 40. The bound leaves room for a loaded machine.
    assert!(
        fired >= 75,
        "{fired} timeouts of {every:?} in {run:?}: a mean period over 4 ms"
    );
}

/// The wait itself, on any kernel: a receive timeout is at least one tick (1 ms at 1000 Hz, the
/// finest), where this wait is its deadline and the kernel's timer slack.
#[test]
fn a_wait_for_an_idle_socket_ends_at_its_deadline() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let within = Duration::from_micros(300);
    let mut took: Vec<Duration> = (0..21)
        .map(|_| {
            let start = Instant::now();
            assert!(!wait_readable(&socket, within).unwrap());
            start.elapsed()
        })
        .collect();
    took.sort();
    let median = took[took.len() / 2];
    assert!(median >= within, "{median:?}");
    assert!(median < Duration::from_millis(1), "{took:?}");
}

#[test]
fn a_wait_ends_at_once_when_a_datagram_waits() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.send_to(b"x", socket.local_addr().unwrap()).unwrap();
    assert!(wait_readable(&socket, Duration::from_secs(5)).unwrap());
}
