//! The model-checked actors over real UDP sockets on loopback: single-decree BP Fast Paxos
//! decides on the fast path, recovers through a trust change when the round-0 leader is
//! silent, survives an acceptor restarted from its durable state, and drops junk, misrouted
//! and forged datagrams. Datagrams use the wire format under the keys of a cluster config.

mod common;
use common::TempDir;

use bp_fast_paxos::acceptor::{Acceptor, AcceptorState, DurableState};
use bp_fast_paxos::auth::HmacSha256;
use bp_fast_paxos::cluster_config::ClusterConfig;
use bp_fast_paxos::durable::DurableLog;
use bp_fast_paxos::learner::Decision;
use bp_fast_paxos::message::{Msg, Proof};
use bp_fast_paxos::node::{Node, NodeState, Role, Topology};
use bp_fast_paxos::proposer::Proposer;
use bp_fast_paxos::rules::Rules;
use bp_fast_paxos::runtime::codec::WireCodec;
use bp_fast_paxos::runtime::event_loop::{
    Addresses, Codec, Counters, NodeSpec, RunningNode, spawn,
};
use bp_fast_paxos::runtime::storage::{Storage, Volatile};
use bp_fast_paxos::types::{AcceptorId, Cluster, ProposerId};
use stateright::actor::Id;
use std::net::UdpSocket;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

type TextNode = Node<String, HmacSha256>;

const F: usize = 1;
const ACCEPTORS: usize = 3 * F + 1;
const PROPOSERS: usize = 2;
const CLIENT: usize = ACCEPTORS + PROPOSERS;

struct LoopbackCluster {
    sockets: Vec<Option<UdpSocket>>,
    addresses: Addresses,
    topology: Topology,
    /// Where acceptors keep their durable state; removed after the test's nodes stop (they
    /// are declared after the cluster, so dropped before it).
    data_dir: TempDir,
    config: ClusterConfig,
}

impl LoopbackCluster {
    /// A cluster whose acceptors suspect the leader after `suspect_after`.
    fn new(suspect_after: Range<Duration>) -> Self {
        let sockets: Vec<UdpSocket> = (0..=CLIENT)
            .map(|_| UdpSocket::bind("127.0.0.1:0").expect("a loopback port"))
            .collect();
        let addresses = Arc::new(sockets.iter().map(|s| s.local_addr().unwrap()).collect());
        let mut learners: Vec<Id> = (0..ACCEPTORS).map(Id::from).collect();
        learners.push(Id::from(CLIENT));
        LoopbackCluster {
            sockets: sockets.into_iter().map(Some).collect(),
            addresses,
            topology: Topology {
                cluster: Cluster::new(F, PROPOSERS),
                learners,
                suspect_after,
            },
            data_dir: TempDir::new("udp-cluster"),
            config: config(),
        }
    }

    fn socket(&mut self, index: usize) -> UdpSocket {
        match self.sockets[index].take() {
            Some(socket) => socket,
            // A restarted node binds its old address again.
            None => UdpSocket::bind(self.addresses[index]).expect("the node's address is free"),
        }
    }

    fn acceptor(&mut self, a: usize) -> RunningNode<TextNode> {
        let cluster = self.topology.cluster;
        let actor = Node {
            role: Role::Acceptor(Acceptor {
                id: AcceptorId(a as u16),
                cluster,
                rules: Rules::standard(F),
                auth: HmacSha256::new(b"the acceptors' domain key, 32 by").unwrap(),
            }),
            topology: self.topology.clone(),
        };
        let (storage, recovered) = DurableLog::open(self.durable_path(a)).expect("the store opens");
        self.start(a, actor, storage, recovered.state)
    }

    /// The codec of the node at `index`: only the keys of its own channels.
    fn codec(&self, index: usize) -> WireCodec {
        let node = self
            .config
            .node_of(Id::from(index))
            .expect("a node of the config");
        WireCodec::from_config(&self.config, node).expect("the generated keys are good")
    }

    fn durable_path(&self, a: usize) -> PathBuf {
        self.data_dir.path().join(format!("acceptor-{a}.log"))
    }

    fn proposer(&mut self, p: usize, value: &str) -> RunningNode<TextNode> {
        let actor = Node {
            role: Role::Proposer(Proposer {
                id: ProposerId(p as u16),
                cluster: self.topology.cluster,
                rules: Rules::standard(F),
                client_value: value.to_string(),
            }),
            topology: self.topology.clone(),
        };
        self.start(ACCEPTORS + p, actor, Volatile, None)
    }

    fn client(&mut self) -> RunningNode<TextNode> {
        let actor = Node {
            role: Role::Learner(Rules::standard(F)),
            topology: self.topology.clone(),
        };
        self.start(CLIENT, actor, Volatile, None)
    }

    fn start<S: Storage<DurableState<String>>>(
        &mut self,
        index: usize,
        actor: TextNode,
        storage: S,
        recovered: Option<DurableState<String>>,
    ) -> RunningNode<TextNode> {
        spawn(NodeSpec {
            actor,
            id: Id::from(index),
            socket: self.socket(index),
            addresses: Arc::clone(&self.addresses),
            codec: self.codec(index),
            storage,
            recovered,
            faults: None,
            observer: None,
        })
        .expect("the node starts")
    }
}

/// A cluster config with fresh keys; only its keys are used (the sockets pick free ports).
fn config() -> ClusterConfig {
    ClusterConfig::generate(ACCEPTORS, PROPOSERS, 1, 7000, "127.0.0.1".parse().unwrap())
        .expect("a valid shape")
}

fn trust_change() -> Msg<String> {
    Msg::TrustChange { round: 1 }
}

fn decision(node: &RunningNode<TextNode>) -> Option<Decision<String>> {
    match node.state() {
        NodeState::Learner(learner) => learner.decided,
        NodeState::Acceptor(acceptor) => acceptor.learner.decided,
        NodeState::Proposer(_) => None,
    }
}

fn await_decision(node: &RunningNode<TextNode>, within: Duration) -> Option<Decision<String>> {
    let start = Instant::now();
    while start.elapsed() < within {
        if let Some(d) = decision(node) {
            return Some(d);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Long enough that no acceptor suspects a live leader on a loaded machine.
fn patient() -> Range<Duration> {
    Duration::from_secs(3)..Duration::from_secs(4)
}

/// Short, for tests that need a trust change.
fn impatient() -> Range<Duration> {
    Duration::from_millis(300)..Duration::from_millis(600)
}

fn acceptor_state(node: &RunningNode<TextNode>) -> AcceptorState<String> {
    match node.state() {
        NodeState::Acceptor(state) => state,
        other => panic!("an acceptor, not {other:?}"),
    }
}

fn eventually(what: &str, within: Duration, mut holds: impl FnMut() -> bool) {
    let start = Instant::now();
    while !holds() {
        assert!(start.elapsed() < within, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `msg` to `to` as the node at `from` would: under `from`'s channel key.
fn send_as(c: &LoopbackCluster, from: usize, to: usize, msg: &Msg<String>) {
    let datagrams = Codec::<Msg<String>>::encode(&c.codec(from), Id::from(from), Id::from(to), msg)
        .expect("the pair has a key");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for datagram in datagrams {
        socket.send_to(&datagram, c.addresses[to]).unwrap();
    }
}

#[test]
fn honest_cluster_decides_on_the_fast_path() {
    let mut c = LoopbackCluster::new(patient());
    let client = c.client();
    let acceptors: Vec<_> = (0..ACCEPTORS).map(|a| c.acceptor(a)).collect();
    let _p1 = c.proposer(1, "B");
    let _p0 = c.proposer(0, "A");
    let decided = await_decision(&client, Duration::from_secs(10)).expect("a decision");
    assert_eq!(decided.value, "A");
    assert_eq!(decided.round, 0, "the fast path decides in round 0");
    for a in &acceptors {
        let d = await_decision(a, Duration::from_secs(10)).expect("every acceptor learns");
        assert_eq!(d.value, "A");
    }
}

#[test]
fn with_one_acceptor_down_every_live_acceptor_decides() {
    // Three live acceptors are a quorum only if each counts its own LEARN.
    let mut c = LoopbackCluster::new(patient());
    let client = c.client();
    let live: Vec<_> = (1..ACCEPTORS).map(|a| c.acceptor(a)).collect();
    let _p0 = c.proposer(0, "A");
    assert_eq!(
        await_decision(&client, Duration::from_secs(10)).map(|d| d.value),
        Some("A".to_string())
    );
    for a in &live {
        let d = await_decision(a, Duration::from_secs(10)).expect("a live acceptor decides");
        assert_eq!(d.value, "A");
    }
}

#[test]
fn a_silent_round_0_leader_is_replaced_and_the_next_decides() {
    let mut c = LoopbackCluster::new(impatient());
    let client = c.client();
    let _acceptors: Vec<_> = (0..ACCEPTORS).map(|a| c.acceptor(a)).collect();
    // p0, the leader of round 0, never starts: acceptors time out and trust p1.
    let _p1 = c.proposer(1, "B");
    let decided = await_decision(&client, Duration::from_secs(20)).expect("a decision");
    assert_eq!(decided.value, "B");
    assert!(decided.round >= 1);
}

#[test]
fn an_acceptor_restarted_from_its_storage_keeps_its_vote() {
    let mut c = LoopbackCluster::new(patient());
    let mut acceptors: Vec<_> = (0..ACCEPTORS).map(|a| c.acceptor(a)).collect();
    let _p0 = c.proposer(0, "A");
    eventually("acceptor 0 voted", Duration::from_secs(10), || {
        acceptor_state(&acceptors[0]).last_vote.is_some()
    });
    acceptors.remove(0).stop().expect("a clean stop");
    let restarted = c.acceptor(0);
    let state = acceptor_state(&restarted);
    assert_eq!(state.rnd, 0);
    assert_eq!(
        state.last_vote.map(|v| (v.round, v.value)),
        Some((0, "A".to_string()))
    );
    // p0 now asks it to vote B in round 0: an acceptor that forgot its vote would; this one
    // sees equivocation and moves on to round 1, keeping its vote.
    let equivocation = Msg::Accept {
        round: 0,
        value: "B".to_string(),
        proof: Proof::none(),
    };
    send_as(&c, ACCEPTORS, 0, &equivocation);
    eventually("acceptor 0 changed trust", Duration::from_secs(10), || {
        acceptor_state(&restarted).rnd == 1
    });
    let state = acceptor_state(&restarted);
    assert_eq!(state.last_vote.map(|v| v.value), Some("A".to_string()));
}

#[test]
fn junk_datagrams_are_dropped_and_counted() {
    let mut c = LoopbackCluster::new(patient());
    let client = c.client();
    let acceptors: Vec<_> = (0..ACCEPTORS).map(|a| c.acceptor(a)).collect();
    let junk = UdpSocket::bind("127.0.0.1:0").unwrap();
    for datagram in [
        &b""[..],
        b"\xff\x00garbage",
        b"[9,0,{\"Learn\":{}}]",
        &[0u8; 2000],
    ] {
        junk.send_to(datagram, c.addresses[0]).unwrap();
    }
    // A genuine datagram of p0 for acceptor 1, delivered to acceptor 0; and one that poses
    // as acceptor 1 under a key of another cluster.
    let misrouted = Codec::<Msg<String>>::encode(
        &c.codec(ACCEPTORS),
        Id::from(ACCEPTORS),
        Id::from(1),
        &trust_change(),
    )
    .unwrap();
    junk.send_to(&misrouted[0], c.addresses[0]).unwrap();
    let other_cluster = config();
    let impostor =
        WireCodec::from_config(&other_cluster, other_cluster.node_of(Id::from(1)).unwrap())
            .unwrap();
    let forged =
        Codec::<Msg<String>>::encode(&impostor, Id::from(1), Id::from(0), &trust_change()).unwrap();
    junk.send_to(&forged[0], c.addresses[0]).unwrap();
    let _p0 = c.proposer(0, "A");
    assert_eq!(
        await_decision(&client, Duration::from_secs(10)).map(|d| d.value),
        Some("A".to_string())
    );
    eventually("6 datagrams dropped", Duration::from_secs(5), || {
        Counters::get(&acceptors[0].counters.dropped) >= 6
    });
    assert_eq!(Counters::get(&acceptors[0].counters.dropped), 6);
    // The forged TRUSTCHANGE(1) moved nobody.
    assert_eq!(acceptor_state(&acceptors[0]).rnd, 0);
}
