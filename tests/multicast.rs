//! A message the event loop sends to several receivers in a row is serialized once, and each
//! receiver still gets a datagram authenticated for it alone.

use bp_fast_paxos::cluster_config::{ClusterConfig, NodeId};
use bp_fast_paxos::message::Msg;
use bp_fast_paxos::runtime::codec::WireCodec;
use bp_fast_paxos::runtime::event_loop::{Codec, NodeSpec, spawn};
use bp_fast_paxos::runtime::storage::Volatile;
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

type M = Msg<String>;

/// The wire codec, counting the messages it serializes.
struct Counting {
    inner: WireCodec,
    serialized: Arc<AtomicUsize>,
}

impl Codec<M> for Counting {
    type Error = <WireCodec as Codec<M>>::Error;
    type Serialized = <WireCodec as Codec<M>>::Serialized;

    fn serialize(&self, msg: &M) -> Result<Self::Serialized, Self::Error> {
        self.serialized.fetch_add(1, Ordering::Relaxed);
        <WireCodec as Codec<M>>::serialize(&self.inner, msg)
    }

    fn frame(&self, from: Id, to: Id, msg: &Self::Serialized) -> Result<Vec<Vec<u8>>, Self::Error> {
        <WireCodec as Codec<M>>::frame(&self.inner, from, to, msg)
    }

    fn decode(&mut self, me: Id, datagram: &[u8]) -> Result<Option<(Id, M)>, Self::Error> {
        self.inner.decode(me, datagram)
    }
}

/// Sends one message to every peer, then another to the first only.
#[derive(Clone)]
struct Announcer {
    peers: Vec<Id>,
}

impl Actor for Announcer {
    type Msg = M;
    type State = ();
    type Timer = ();
    type Storage = ();
    type Random = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) {
        for peer in &self.peers {
            o.send(*peer, Msg::TrustChange { round: 1 });
        }
        o.send(self.peers[0], Msg::TrustChange { round: 2 });
    }

    fn on_msg(&self, _: Id, _: &mut Cow<()>, _: Id, _: M, _: &mut Out<Self>) {}
}

#[test]
fn a_message_to_several_receivers_is_serialized_once_and_authenticated_for_each() {
    let config = ClusterConfig::generate(4, 1, 0, 7000, "127.0.0.1".parse().unwrap()).unwrap();
    let nodes: Vec<NodeId> = config.nodes().collect();
    let sockets: Vec<UdpSocket> = nodes
        .iter()
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let addresses = Arc::new(sockets.iter().map(|s| s.local_addr().unwrap()).collect());
    let sender = 4; // the proposer
    let peers: Vec<usize> = vec![0, 1, 2];
    let serialized = Arc::new(AtomicUsize::new(0));
    let mut sockets: Vec<Option<UdpSocket>> = sockets.into_iter().map(Some).collect();
    let node = spawn(NodeSpec {
        actor: Announcer {
            peers: peers.iter().map(|&p| Id::from(p)).collect(),
        },
        id: Id::from(sender),
        socket: sockets[sender].take().unwrap(),
        addresses,
        codec: Counting {
            inner: WireCodec::from_config(&config, nodes[sender]).unwrap(),
            serialized: Arc::clone(&serialized),
        },
        storage: Volatile,
        recovered: None,
        faults: None,
        observer: None,
    })
    .unwrap();

    let mut received = Vec::new();
    for &p in &peers {
        let socket = sockets[p].as_ref().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut codec = WireCodec::from_config(&config, nodes[p]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut buf = vec![0u8; 65536];
        let mut got = Vec::new();
        while Instant::now() < deadline && got.len() < 1 + usize::from(p == 0) {
            if let Ok((len, _)) = socket.recv_from(&mut buf) {
                // Each datagram authenticates on its receiver's channel key.
                let (src, msg): (Id, M) = codec.decode(Id::from(p), &buf[..len]).unwrap().unwrap();
                assert_eq!(src, Id::from(sender));
                got.push(msg);
            }
        }
        received.push(got);
    }
    drop(node);
    assert_eq!(
        received,
        vec![
            vec![Msg::TrustChange { round: 1 }, Msg::TrustChange { round: 2 }],
            vec![Msg::TrustChange { round: 1 }],
            vec![Msg::TrustChange { round: 1 }],
        ]
    );
    assert_eq!(serialized.load(Ordering::Relaxed), 2);
}
