//! The key-value service on loopback with real sockets, durable stores and the wire format:
//! put/get/cas round trips, an acceptor killed and restarted from its store, the trusted
//! proposer killed, a Byzantine proposer that equivocates, and junk datagrams ignored.

mod common;
use common::{TempDir, get, put};

use bp_fast_paxos::cluster_config::{ClusterConfig, NodeId, Role, SecretKey};
use bp_fast_paxos::log::message::{LogMsg, LogProof};
use bp_fast_paxos::log::value::LogValue;
use bp_fast_paxos::runtime::codec::WireCodec;
use bp_fast_paxos::runtime::event_loop::{Codec, Counters};
use bp_fast_paxos::service::client::{Client, ClientError};
use bp_fast_paxos::service::kv::{KvStore, Reply};
use bp_fast_paxos::service::msg::ServiceMsg;
use bp_fast_paxos::service::server::{
    LocalCluster, ServerError, ServerOptions, loopback_config, start_server, store_path,
};
use bp_fast_paxos::service::{Batch, Command, Op};
use bp_fast_paxos::types::ClientId;
use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

/// A cluster of 4 acceptors and 2 proposers whose acceptors suspect a leader quickly, its
/// stores in `dir`.
fn cluster(dir: &TempDir, clients: usize) -> LocalCluster {
    let (mut config, sockets) = loopback_config(1, 2, clients).expect("loopback ports");
    fast(&mut config);
    LocalCluster::start_with(config, dir.path(), sockets, ServerOptions::default())
        .expect("the cluster starts")
}

fn fast(config: &mut ClusterConfig) {
    config.timing.suspect_leader_ms = 300;
    config.timing.client_timeout_ms = 10_000;
}

fn value(v: &str) -> Reply {
    Reply::Value(Some(v.into()))
}

#[test]
fn put_get_and_cas_round_trips() {
    let dir = TempDir::new("round-trips");
    let cluster = cluster(&dir, 2);
    let mut alice = Client::connect(&cluster.config, 0).unwrap();
    let mut bob = Client::connect(&cluster.config, 1).unwrap();
    assert_eq!(alice.execute(get("k")).unwrap(), Reply::Value(None));
    assert_eq!(alice.execute(put("k", "a")).unwrap(), Reply::Stored);
    assert_eq!(bob.execute(get("k")).unwrap(), value("a"));
    let cas = |expected: Option<&str>, new: &str| Op::Cas {
        key: "k".into(),
        expected: expected.map(String::from),
        new: new.into(),
    };
    assert_eq!(
        bob.execute(cas(Some("x"), "b")).unwrap(),
        Reply::Cas {
            swapped: false,
            found: Some("a".into())
        }
    );
    assert_eq!(
        bob.execute(cas(Some("a"), "b")).unwrap(),
        Reply::Cas {
            swapped: true,
            found: Some("a".into())
        }
    );
    assert_eq!(alice.execute(get("k")).unwrap(), value("b"));
}

#[test]
fn a_client_that_is_not_in_the_config_is_refused() {
    let (config, _sockets) = loopback_config(1, 2, 1).unwrap();
    match Client::connect(&config, 5) {
        Err(ClientError::Config(why)) => assert!(why.contains("client 5"), "{why}"),
        other => panic!("expected a config error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn the_trusted_proposer_killed_trust_moves_on_and_clients_are_served() {
    let dir = TempDir::new("trusted-proposer-killed");
    let mut cluster = cluster(&dir, 1);
    let mut alice = Client::connect(&cluster.config, 0).unwrap();
    assert_eq!(alice.execute(put("k", "before")).unwrap(), Reply::Stored);
    assert!(cluster.kill(NodeId::new(Role::Proposer, 0)));
    assert_eq!(alice.execute(put("k", "after")).unwrap(), Reply::Stored);
    assert_eq!(alice.execute(get("k")).unwrap(), value("after"));
    let acceptor = cluster.server(NodeId::new(Role::Acceptor, 0)).unwrap();
    let state = acceptor.state();
    let (log, _) = state.acceptor().unwrap();
    assert!(
        log.rnd() >= 1,
        "trust moved past round 0: rnd = {}",
        log.rnd()
    );
}

fn acceptor(i: u16) -> NodeId {
    NodeId::new(Role::Acceptor, i)
}

/// The store and applied count of every running acceptor, once they all agree, or a panic.
fn converged(cluster: &LocalCluster, within: Duration) -> (KvStore, u64) {
    let start = Instant::now();
    loop {
        let replicas: Vec<(KvStore, u64)> = cluster
            .servers
            .iter()
            .filter_map(|(_, s)| {
                let state = s.state();
                let (_, replica) = state.acceptor()?;
                Some(((*replica.store).clone(), replica.applied))
            })
            .collect();
        if replicas.windows(2).all(|w| w[0] == w[1]) {
            return replicas[0].clone();
        }
        assert!(
            start.elapsed() < within,
            "the replicas did not converge: {replicas:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// No two acceptors hold different decisions for one slot.
fn assert_one_value_per_slot(cluster: &LocalCluster) {
    let mut seen: BTreeMap<u64, String> = BTreeMap::new();
    for (node, server) in &cluster.servers {
        let state = server.state();
        let Some((log, _)) = state.acceptor() else {
            continue;
        };
        for (slot, d) in log.learner().decisions() {
            let value = format!("{:?}", d.value);
            let first = seen.entry(slot).or_insert_with(|| value.clone());
            assert_eq!(*first, value, "{node} decided another value in slot {slot}");
        }
    }
}

#[test]
fn an_acceptor_killed_and_restarted_from_its_store_rejoins_and_catches_up() {
    let dir = TempDir::new("acceptor-restarted");
    let mut cluster = cluster(&dir, 1);
    let mut alice = Client::connect(&cluster.config, 0).unwrap();
    assert_eq!(alice.execute(put("a", "1")).unwrap(), Reply::Stored);
    assert!(cluster.kill(acceptor(3)));
    for i in 0..5 {
        assert_eq!(
            alice.execute(put("a", &i.to_string())).unwrap(),
            Reply::Stored
        );
    }
    cluster.restart(acceptor(3)).unwrap();
    let restarted = cluster.server(acceptor(3)).unwrap().state();
    let (log, _) = restarted.acceptor().unwrap();
    // Slot 0 was decided before the kill: the store holds its vote, or the base above it.
    assert!(
        log.decided_base() >= 1 || log.votes().contains_key(&0),
        "the restarted acceptor recovered its votes: {log:?}"
    );
    // Without acceptor 0, no quorum forms unless the restarted one takes part.
    assert!(cluster.kill(acceptor(0)));
    assert_eq!(alice.execute(put("a", "last")).unwrap(), Reply::Stored);
    assert_eq!(alice.execute(get("a")).unwrap(), value("last"));
    let (store, _) = converged(&cluster, Duration::from_secs(10));
    assert_eq!(store.get("a"), Some("last"));
    assert_one_value_per_slot(&cluster);
}

#[test]
fn a_byzantine_leader_that_equivocates_is_replaced_and_the_service_goes_on() {
    let dir = TempDir::new("equivocating-leader");
    let mut cluster = cluster(&dir, 2);
    let proposer0 = NodeId::new(Role::Proposer, 0);
    assert!(cluster.kill(proposer0));
    let config = cluster.config.clone();
    let socket = UdpSocket::bind(config.address(proposer0).unwrap()).unwrap();
    let codec = WireCodec::from_config(&config, proposer0).unwrap();
    let me = config.stateright_id(proposer0);
    // Two commands of client 1, both authentic: the leader of round 0 proposes each to
    // half of the acceptors in slot 0.
    let key = config.command_key(ClientId(1)).unwrap().to_bytes().unwrap();
    let batch = |value: &str| {
        let command = Command::signed(ClientId(1), 7, put("x", value), &key);
        LogValue::Batch(Batch::from(vec![command]))
    };
    for a in 0..4u16 {
        let value = if a < 2 { batch("left") } else { batch("right") };
        let msg = ServiceMsg::Log(LogMsg::Accept {
            round: 0,
            slot: 0,
            value,
            proof: LogProof::none(),
        });
        let to = config.stateright_id(acceptor(a));
        for datagram in codec.encode(me, to, &msg).unwrap() {
            socket
                .send_to(&datagram, config.address(acceptor(a)).unwrap())
                .unwrap();
        }
    }
    // The acceptors see the equivocation in the LEARNs and move to round 1, whose leader is
    // honest. No command waits yet, so no timeout can be what moves them.
    let start = Instant::now();
    for a in 0..4u16 {
        let server = cluster.server(acceptor(a)).unwrap();
        while server.state().acceptor().unwrap().0.rnd() < 1 {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "a{} saw no equivocation",
                a + 1
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let mut alice = Client::connect(&config, 0).unwrap();
    assert_eq!(alice.execute(put("k", "v")).unwrap(), Reply::Stored);
    assert_eq!(alice.execute(get("k")).unwrap(), value("v"));
    converged(&cluster, Duration::from_secs(10));
    assert_one_value_per_slot(&cluster);
}

#[test]
fn junk_and_forged_datagrams_are_dropped_and_counted() {
    let dir = TempDir::new("junk");
    let cluster = cluster(&dir, 1);
    let config = cluster.config.clone();
    let target = cluster.server(acceptor(1)).unwrap();
    let before = Counters::get(&target.counters.dropped);
    let junk = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = config.address(acceptor(1)).unwrap();
    junk.send_to(b"not a datagram", addr).unwrap();
    junk.send_to(&[0u8; 70_000][..60_000], addr).unwrap();
    // A well-formed datagram that claims to come from acceptor 0 under a wrong key.
    let mut forged_config = config.clone();
    for k in &mut forged_config.channel_keys {
        k.key = SecretKey::from_hex("00".repeat(32));
    }
    let forger = WireCodec::from_config(&forged_config, acceptor(0)).unwrap();
    let msg = ServiceMsg::Log(LogMsg::TrustChange { round: 9 });
    let datagrams = forger
        .encode(
            config.stateright_id(acceptor(0)),
            config.stateright_id(acceptor(1)),
            &msg,
        )
        .unwrap();
    junk.send_to(&datagrams[0], addr).unwrap();
    let start = Instant::now();
    while Counters::get(&target.counters.dropped) < before + 3 {
        assert!(start.elapsed() < Duration::from_secs(5), "not all counted");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Each for its reason: too short, not this format, a tag that does not authenticate it.
    let drops = target.counters.drops();
    assert_eq!(drops.total(), Counters::get(&target.counters.dropped));
    assert!(
        drops.too_short >= 1 && drops.bad_version >= 1 && drops.bad_mac >= 1,
        "{drops:?}"
    );
    let state = target.state();
    assert_eq!(
        state.acceptor().unwrap().0.rnd(),
        0,
        "the forged TRUSTCHANGE was ignored"
    );
    let mut alice = Client::connect(&config, 0).unwrap();
    assert_eq!(alice.execute(put("still", "works")).unwrap(), Reply::Stored);
}

#[test]
fn an_acceptor_whose_store_is_gone_refuses_to_restart() {
    let dir = TempDir::new("store-gone");
    let mut cluster = cluster(&dir, 1);
    assert!(cluster.kill(acceptor(2)));
    std::fs::remove_file(store_path(&cluster.data_dir, 2)).expect("the store existed");
    match cluster.restart(acceptor(2)) {
        Err(e @ ServerError::NoStore(_)) => {
            let message = e.to_string();
            assert!(
                message.contains("acceptor-2.log") && message.contains("--init"),
                "{message}"
            );
        }
        Err(other) => panic!("expected NoStore, got {other}"),
        Ok(()) => panic!("an acceptor that forgot its votes must not start"),
    }
}

#[test]
fn proposers_and_clients_run_on_their_shares_of_the_config() {
    let dir = TempDir::new("shares");
    let (mut config, mut sockets) = loopback_config(1, 2, 1).unwrap();
    fast(&mut config);
    let proposers = [
        NodeId::new(Role::Proposer, 0),
        NodeId::new(Role::Proposer, 1),
    ];
    let proposer_sockets = sockets.split_off(4);
    let _acceptors = LocalCluster::start_except(
        config.clone(),
        dir.path(),
        sockets,
        ServerOptions::default(),
        &proposers,
    )
    .unwrap();
    let share = |node: NodeId| {
        // Through TOML, as a node would read its file.
        let text = config.share_for(node).to_toml().unwrap();
        ClusterConfig::from_toml(&text).expect("a share is a valid config")
    };
    let _proposers: Vec<_> = proposers
        .iter()
        .zip(proposer_sockets)
        .map(|(p, socket)| {
            let options = ServerOptions::default();
            start_server(&share(*p), *p, Path::new("."), Some(socket), &options).unwrap()
        })
        .collect();
    let mut alice = Client::connect(&share(NodeId::new(Role::Client, 0)), 0).unwrap();
    assert_eq!(alice.execute(put("k", "shared")).unwrap(), Reply::Stored);
    assert_eq!(alice.execute(get("k")).unwrap(), value("shared"));
    // A proposer's share cannot run an acceptor: it has no domain key.
    let refused = start_server(
        &share(proposers[0]),
        acceptor(0),
        &dir.path().join("refused"),
        None,
        &ServerOptions::default(),
    );
    assert!(matches!(refused, Err(ServerError::Config(_))));
}
