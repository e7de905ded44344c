//! The service's limits and who may ask what of it: a Byzantine proposer cannot make an
//! acceptor hold votes without bound, a client cannot stall the log with a large command, a
//! replayed datagram does not redirect replies, and acceptors take ACCEPTs only from proposers.

mod common;
use common::{TempDir, get, put};

use bp_fast_paxos::auth::Mac;
use bp_fast_paxos::cluster_config::{ClusterConfig, NodeId, Role};
use bp_fast_paxos::log::message::{LogMsg, LogPromise, LogProof};
use bp_fast_paxos::log::value::LogValue;
use bp_fast_paxos::runtime::codec::WireCodec;
use bp_fast_paxos::runtime::event_loop::{Codec, Counters};
use bp_fast_paxos::service::client::Client;
use bp_fast_paxos::service::msg::{ServiceMsg, SlotValue};
use bp_fast_paxos::service::node::ServiceState;
use bp_fast_paxos::service::server::{LocalCluster, ServerOptions, loopback_config, service_node};
use bp_fast_paxos::service::{Batch, Command, Op, Reply};
use bp_fast_paxos::types::{AcceptorId, ClientId, Value};
use stateright::actor::{Actor, Command as OutCommand, Id, Out};
use std::borrow::Cow;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

fn acceptor(i: u16) -> NodeId {
    NodeId::new(Role::Acceptor, i)
}

fn proposer(i: u16) -> NodeId {
    NodeId::new(Role::Proposer, i)
}

fn client(i: u16) -> NodeId {
    NodeId::new(Role::Client, i)
}

/// A cluster of 4 acceptors and 2 proposers whose acceptors suspect a leader quickly, its
/// stores in `dir`.
fn cluster_with(
    dir: &TempDir,
    clients: usize,
    tune: impl FnOnce(&mut ClusterConfig),
) -> LocalCluster {
    let (mut config, sockets) = loopback_config(1, 2, clients).expect("loopback ports");
    config.timing.suspect_leader_ms = 300;
    config.timing.client_timeout_ms = 10_000;
    tune(&mut config);
    LocalCluster::start_with(config, dir.path(), sockets, ServerOptions::default())
        .expect("the cluster starts")
}

/// A put of `len` bytes of value by client `c`, with a mac nobody checks before voting.
fn unsigned_put(c: u16, seq: u64, len: usize) -> Command {
    Command {
        client: ClientId(c),
        seq,
        op: Op::Put {
            key: "k".into(),
            value: "x".repeat(len),
        },
        mac: Mac([7; 32]),
    }
}

/// Proposer 0, the leader of round 0, stopped and replaced by a Byzantine one that holds its
/// socket and keys and speaks to the acceptors.
struct Impostor {
    socket: UdpSocket,
    codec: WireCodec,
    me: Id,
    config: ClusterConfig,
}

impl Impostor {
    fn of_round_0_leader(cluster: &mut LocalCluster) -> Impostor {
        assert!(cluster.kill(proposer(0)));
        let config = &cluster.config;
        Impostor {
            socket: UdpSocket::bind(config.address(proposer(0)).unwrap()).unwrap(),
            codec: WireCodec::from_config(config, proposer(0)).unwrap(),
            me: config.stateright_id(proposer(0)),
            config: config.clone(),
        }
    }

    /// The datagrams to acceptor 0 of its round-0 ACCEPT of a put of `len` bytes in `slot`.
    fn accept(&self, slot: u64, len: usize) -> Vec<Vec<u8>> {
        self.accept_to(0, slot, len, slot + 1)
    }

    /// The datagrams to acceptor `a` of its round-0 ACCEPT in `slot` of a put of `len` bytes
    /// numbered `seq` (so that two acceptors can be given two values).
    fn accept_to(&self, a: u16, slot: u64, len: usize, seq: u64) -> Vec<Vec<u8>> {
        let value = LogValue::Batch(Batch::from(vec![unsigned_put(0, seq, len)]));
        let msg = ServiceMsg::Log(LogMsg::Accept {
            round: 0,
            slot,
            value,
            proof: LogProof::none(),
        });
        let to = self.config.stateright_id(acceptor(a));
        self.codec.encode(self.me, to, &msg).unwrap()
    }

    fn send(&self, datagrams: &[Vec<u8>]) {
        self.send_to(0, datagrams)
    }

    fn send_to(&self, a: u16, datagrams: &[Vec<u8>]) {
        let addr = self.config.address(acceptor(a)).unwrap();
        for datagram in datagrams {
            self.socket.send_to(datagram, addr).unwrap();
        }
    }
}

/// Sends `datagrams` to acceptor `a` and waits until it has received them all (at most 2 s),
/// so that the socket's buffer loses none.
fn deliver(cluster: &LocalCluster, impostor: &Impostor, a: u16, datagrams: &[Vec<u8>]) {
    let target = cluster.server(acceptor(a)).unwrap();
    let before = Counters::get(&target.counters.received);
    impostor.send_to(a, datagrams);
    let start = Instant::now();
    while Counters::get(&target.counters.received) < before + datagrams.len() as u64
        && start.elapsed() < Duration::from_secs(2)
    {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether `changed` holds within `wait`, polled every millisecond.
fn changes_within(wait: Duration, changed: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while !changed() {
        if start.elapsed() > wait {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

/// The bytes of the open votes an acceptor holds (the slots at or above its decided prefix).
fn open_vote_bytes(cluster: &LocalCluster, a: u16) -> usize {
    let state = cluster.server(acceptor(a)).expect("it runs").state();
    let (log, _) = state.acceptor().expect("an acceptor");
    let d = log.learner().decided_prefix();
    log.votes()
        .range(d..)
        .map(|(_, vote)| vote.value.encoded_len())
        .sum()
}

/// Failure 4: a Byzantine leader of round 0 sends ACCEPTs of large values in hundreds of slots
/// of the window. The acceptor refuses what would break its bounds, stays up, and the service
/// goes on.
#[test]
fn a_byzantine_leader_cannot_make_an_acceptor_hold_votes_without_bound() {
    const BOUND: usize = 1 << 20;
    let dir = TempDir::new("open-vote-bound");
    let mut cluster = cluster_with(&dir, 1, |config| {
        config.limits.max_open_vote_bytes = BOUND as u64
    });
    let impostor = Impostor::of_round_0_leader(&mut cluster);
    let target = cluster.server(acceptor(0)).unwrap();
    // Values of about 60 KB, over the batch limit, then of about 40 KB, under it.
    for slot in 0..300u64 {
        let len = if slot < 20 { 60_000 } else { 40_000 };
        // A 60 KB value travels as fragments.
        deliver(&cluster, &impostor, 0, &impostor.accept(slot, len));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(!target.is_finished(), "the acceptor stopped");
    // The vote at the decided prefix is never refused for the bound: one batch more.
    let ceiling = BOUND + cluster.config.limits.max_batch_bytes as usize;
    let held = open_vote_bytes(&cluster, 0);
    assert!(
        held <= ceiling,
        "{held} bytes of open votes, over {ceiling}"
    );
    assert!(held > BOUND / 2, "it refused votes well inside the bound");
    let state = target.state();
    let (log, _) = state.acceptor().unwrap();
    assert!(
        log.votes().values().all(|v| v.value.encoded_len() < 60_000),
        "it voted a value over the batch limit"
    );
    // The cluster moves past the Byzantine leader and serves clients.
    let mut alice = Client::connect(&cluster.config, 0).unwrap();
    assert_eq!(alice.execute(put("still", "works")).unwrap(), Reply::Stored);
    assert!(!cluster.server(acceptor(0)).unwrap().is_finished());
}

/// The stall of torture seed 7: a Byzantine leader of round 0 gets acceptors 0 and 1 to vote a
/// 10 KB value in slot 0, leaves slot 0 empty at acceptors 2 and 3, and fills every acceptor's
/// open-vote bound above it, acceptors 0 and 1 in some slots and 2 and 3 in others, so that no
/// slot is decided and no acceptor sees two values in one slot (evidence). Every later
/// NEWROUND proposes that value in slot 0 again; only the decided prefix moving frees open
/// bytes, so were acceptors 2 and 3 to refuse it for the bound, no leader could decide again.
#[test]
fn a_hole_at_the_decided_prefix_under_a_full_open_bound_does_not_stop_the_log() {
    const BOUND: usize = 200_000;
    const IN_THE_HOLE: usize = 10_000;
    let dir = TempDir::new("hole-at-prefix");
    let mut cluster = cluster_with(&dir, 1, |config| {
        config.limits.max_open_vote_bytes = BOUND as u64
    });
    let impostor = Impostor::of_round_0_leader(&mut cluster);
    for a in 0..2u16 {
        deliver(
            &cluster,
            &impostor,
            a,
            &impostor.accept_to(a, 0, IN_THE_HOLE, 1),
        );
        assert!(
            changes_within(Duration::from_secs(2), || open_vote_bytes(&cluster, a)
                > IN_THE_HOLE),
            "acceptor {a} voted in slot 0"
        );
    }
    for a in 0..4u16 {
        // Large values first, then smaller ones into the room left, until almost none is; each
        // pair of acceptors the same values in the same slots.
        let mut slot = if a < 2 { 1 } else { 101 };
        for len in [40_000, 10_000, 2_500, 600, 150, 40, 10, 1] {
            loop {
                let before = open_vote_bytes(&cluster, a);
                let seq = slot * 100 + len as u64;
                deliver(
                    &cluster,
                    &impostor,
                    a,
                    &impostor.accept_to(a, slot, len, seq),
                );
                // The datagram is read before its step is taken: a vote shows a moment later.
                // Trying another value in a slot it did vote would be an equivocation.
                if !changes_within(Duration::from_millis(500), || {
                    open_vote_bytes(&cluster, a) != before
                }) {
                    break;
                }
                slot += 1;
            }
        }
        let room = BOUND - open_vote_bytes(&cluster, a);
        assert!(room < 1_000, "acceptor {a} still has room for {room} bytes");
    }
    // The honest leader of the next round proposes the value in slot 0 again, every acceptor
    // votes it, and the log goes on.
    let mut alice = Client::connect(&cluster.config, 0).unwrap();
    assert_eq!(
        alice.execute(put("after", "the hole")).unwrap(),
        Reply::Stored
    );
    assert_eq!(
        alice.execute(get("after")).unwrap(),
        Reply::Value(Some("the hole".into()))
    );
}

/// A client (a Byzantine one, or one whose datagrams to the proposers were lost) sends its
/// command to the acceptors alone. They wait for it and suspect the leader if it is not
/// applied within a suspicion period, so each passes it on to the leader: it is applied,
/// answered, and no round changes. Before, every leader in turn was suspected for a command
/// none was given.
#[test]
fn a_command_sent_to_the_acceptors_alone_is_passed_on_to_the_leader() {
    let dir = TempDir::new("passed-on");
    let cluster = cluster_with(&dir, 1, |_| {});
    let config = cluster.config.clone();
    let mut alice = Client::connect(&config, 0).unwrap();
    assert_eq!(alice.execute(put("k", "v")).unwrap(), Reply::Stored);
    drop(alice);
    let own = get_from_the_acceptors_alone(&config);
    assert!(
        bytes_received(&own, Duration::from_secs(3)) > 0,
        "no acceptor answered the command"
    );
    let rounds = acceptor_rounds(&cluster);
    assert!(rounds.iter().all(|r| *r == 0), "rounds changed: {rounds:?}");
}

/// Client 0's signed get of "k", sent to the acceptors alone from a socket of its own.
fn get_from_the_acceptors_alone(config: &ClusterConfig) -> UdpSocket {
    let own = UdpSocket::bind("127.0.0.1:0").unwrap();
    for (n, d) in signed_gets(config, u64::MAX / 2, "k") {
        if n.role() == Role::Acceptor {
            own.send_to(&d, config.address(n).unwrap()).unwrap();
        }
    }
    own
}

/// The round each running acceptor is in.
fn acceptor_rounds(cluster: &LocalCluster) -> Vec<u32> {
    cluster
        .servers
        .iter()
        .filter_map(|(_, s)| Some(s.state().acceptor()?.0.rnd()))
        .collect()
}

/// The same command, passed on to a leader that is gone: the acceptors suspect that leader
/// and move to the next round, most of them on the TRUSTCHANGE of the first that suspected.
/// The new leader was never given the command, so none may suspect it for that command: the
/// round stays. Before, those that joined on a TRUSTCHANGE kept waiting for it and ended the
/// next round too (seed 39 of `bpfp simulate`: a Byzantine client ended an honest leader's
/// round this way, into a round of the Byzantine proposer).
#[test]
fn a_command_passed_on_to_a_gone_leader_does_not_end_the_next_round() {
    let dir = TempDir::new("passed-on-gone");
    let mut cluster = cluster_with(&dir, 1, |_| {});
    let config = cluster.config.clone();
    let mut alice = Client::connect(&config, 0).unwrap();
    assert_eq!(alice.execute(put("k", "v")).unwrap(), Reply::Stored);
    drop(alice);
    assert!(cluster.kill(NodeId::new(Role::Proposer, 0)));
    let _own = get_from_the_acceptors_alone(&config);
    let rounds = || acceptor_rounds(&cluster);
    // Suspicion periods of 300 to 450 ms, doubled in a round without a decision: the first
    // suspicion comes within about a second, a second one (if any) within two more.
    let start = Instant::now();
    while rounds().contains(&0) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(rounds().iter().all(|r| *r >= 1), "{:?}", rounds());
    std::thread::sleep(Duration::from_secs(3));
    assert!(rounds().iter().all(|r| *r == 1), "rounds: {:?}", rounds());
}

/// Persistence at the cost of the change: ACCEPTs that arrive together, each a vote, are
/// written together and synced once (group commit), not once per vote.
#[test]
fn a_burst_of_accepts_shares_its_syncs() {
    const VOTES: usize = 48;
    let dir = TempDir::new("burst-syncs");
    let mut cluster = cluster_with(&dir, 1, |_| {});
    let impostor = Impostor::of_round_0_leader(&mut cluster);
    let target = cluster.server(acceptor(0)).unwrap();
    let datagrams: Vec<Vec<u8>> = (0..VOTES as u64)
        .flat_map(|slot| impostor.accept(slot, 16))
        .collect();
    assert_eq!(datagrams.len(), VOTES, "one datagram per ACCEPT");
    let syncs_before = Counters::get(&target.counters.syncs);
    impostor.send(&datagrams);
    let voted = || target.state().acceptor().unwrap().0.votes().len();
    let start = Instant::now();
    while voted() < VOTES && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(voted(), VOTES, "it voted in every slot");
    // A vote is in its state as soon as it is stepped; the burst's sync follows. Wait until
    // the count of syncs has settled.
    let mut syncs = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(50));
        let now = Counters::get(&target.counters.syncs) - syncs_before;
        if now > 0 && now == syncs {
            break;
        }
        syncs = now;
    }
    assert!(syncs >= 1, "its votes were never synced");
    assert!(syncs <= VOTES as u64 / 4, "{syncs} syncs for {VOTES} votes");
}

/// Failure 5: a command that just fits a datagram is refused at once by the client library,
/// and with a "too large" answer by the servers when a client sends it anyway; the service
/// goes on for the other clients.
#[test]
fn a_command_too_large_is_refused_at_once_and_stalls_nothing() {
    let dir = TempDir::new("too-large");
    let cluster = cluster_with(&dir, 2, |_| {});
    let config = cluster.config.clone();
    let mut alice = Client::connect(&config, 0).unwrap();
    alice.set_timeout(Duration::from_secs(3));
    let huge = put("big", &"x".repeat(64_000));
    let start = Instant::now();
    let refused = alice.execute(huge.clone());
    let message = match refused {
        Ok(reply) => panic!("a command over the limit was answered {reply:?}"),
        Err(e) => e.to_string(),
    };
    assert!(message.contains("too large"), "{message}");
    assert!(start.elapsed() < Duration::from_millis(500), "not at once");

    // A client that sends it anyway, past the library: the acceptors answer "too large".
    let me = config.stateright_id(client(0));
    let mut codec = WireCodec::from_config(&config, client(0)).unwrap();
    let key = config.command_key(ClientId(0)).unwrap().to_bytes().unwrap();
    let seq = u64::MAX / 2;
    let request = ServiceMsg::Request(Command::signed(ClientId(0), seq, huge, &key));
    let raw = UdpSocket::bind("127.0.0.1:0").unwrap();
    for node in config.nodes().filter(|n| n.role() != Role::Client) {
        let datagrams = codec
            .encode(me, config.stateright_id(node), &request)
            .unwrap();
        for datagram in datagrams {
            raw.send_to(&datagram, config.address(node).unwrap())
                .unwrap();
        }
    }
    raw.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = vec![0u8; 70_000];
    let start = Instant::now();
    let mut answered = false;
    while !answered && start.elapsed() < Duration::from_secs(3) {
        let Ok((len, _)) = raw.recv_from(&mut buf) else {
            continue;
        };
        if let Ok(Some((_, msg))) = Codec::<ServiceMsg>::decode(&mut codec, me, &buf[..len]) {
            answered = format!("{msg:?}").contains("TooLarge");
        }
    }
    assert!(answered, "no server said the command is too large");

    // A command exactly at the limit is decided; one byte more is refused.
    let max = config.limits.max_command_bytes as usize;
    let sized = |len: usize| put("edge", &"e".repeat(len));
    let probe = Command::signed(ClientId(0), 1, sized(0), &key).encoded_len();
    let at_limit = sized(max - probe);
    assert_eq!(
        Command::signed(ClientId(0), 1, at_limit.clone(), &key).encoded_len(),
        max
    );
    let mut carol = Client::connect(&config, 1).unwrap();
    carol.set_timeout(Duration::from_secs(8));
    assert_eq!(carol.execute(at_limit).unwrap(), Reply::Stored);
    let over = carol.execute(sized(max - probe + 1));
    assert!(over.is_err_and(|e| e.to_string().contains("too large")));

    // Nothing waits on it: another client is served.
    let mut bob = Client::connect(&config, 1).unwrap();
    bob.set_timeout(Duration::from_secs(5));
    assert_eq!(bob.execute(put("k", "v")).unwrap(), Reply::Stored);
    assert_eq!(
        bob.execute(get("k")).unwrap(),
        Reply::Value(Some("v".into()))
    );
}

/// Failure 5: commands close to the limit from many clients at once are packed into
/// batches by bytes, so that no ACCEPT is too large to send.
#[test]
fn many_large_commands_at_once_are_packed_into_batches_that_fit() {
    let clients = 6u16;
    let dir = TempDir::new("packed-batches");
    let cluster = cluster_with(&dir, usize::from(clients), |_| {});
    let config = cluster.config.clone();
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let config = config.clone();
            std::thread::spawn(move || {
                let mut client = Client::connect(&config, c).unwrap();
                client.set_timeout(Duration::from_secs(8));
                let value = format!("{c}").repeat(15_000);
                for i in 0..3 {
                    let key = format!("k{c}-{i}");
                    let reply = client.execute(put(&key, &value));
                    assert_eq!(reply.unwrap(), Reply::Stored, "client {c}, put {i}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("every large put is decided");
    }
}

/// Receives every datagram that reaches `socket` within `wait`; their total size.
fn bytes_received(socket: &UdpSocket, wait: Duration) -> usize {
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut buf = vec![0u8; 70_000];
    let mut total = 0;
    let start = Instant::now();
    while start.elapsed() < wait {
        if let Ok((len, _)) = socket.recv_from(&mut buf) {
            total += len;
        }
    }
    total
}

/// Failure 6: a captured client datagram, replayed from another address (a victim's), does not
/// make the servers send anything there; the client's own address keeps its replies.
#[test]
fn a_replayed_client_datagram_does_not_redirect_replies() {
    let dir = TempDir::new("replayed");
    let cluster = cluster_with(&dir, 1, |_| {});
    let config = cluster.config.clone();
    let mut alice = Client::connect(&config, 0).unwrap();
    assert_eq!(
        alice
            .execute(put("big", &"v".repeat(5_000)))
            .expect("stored"),
        Reply::Stored
    );
    drop(alice);
    // The client reads the value, from its own socket, asking every server at once.
    let me = config.stateright_id(client(0));
    let codec = WireCodec::from_config(&config, client(0)).unwrap();
    let key = config.command_key(ClientId(0)).unwrap().to_bytes().unwrap();
    let servers: Vec<NodeId> = config
        .nodes()
        .filter(|n| n.role() != Role::Client)
        .collect();
    let datagrams = |seq: u64| -> Vec<(NodeId, Vec<u8>)> {
        let request = ServiceMsg::Request(Command::signed(ClientId(0), seq, get("big"), &key));
        servers
            .iter()
            .map(|n| {
                let mut d = codec
                    .encode(me, config.stateright_id(*n), &request)
                    .unwrap();
                assert_eq!(d.len(), 1, "a Get fits one datagram");
                (*n, d.remove(0))
            })
            .collect()
    };
    let seq = u64::MAX / 2;
    let captured = datagrams(seq);
    let own = UdpSocket::bind("127.0.0.1:0").unwrap();
    for (n, d) in &captured {
        own.send_to(d, config.address(*n).unwrap()).unwrap();
    }
    assert!(
        bytes_received(&own, Duration::from_secs(3)) > 5_000,
        "the client got its reply"
    );
    // An attacker replays what it captured, from the victim's address.
    let victim = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut sent = 0;
    for _ in 0..3 {
        for (n, d) in &captured {
            victim.send_to(d, config.address(*n).unwrap()).unwrap();
            sent += d.len();
        }
    }
    let reflected = bytes_received(&victim, Duration::from_millis(1500));
    assert_eq!(
        reflected, 0,
        "{reflected} bytes reflected at the victim for {sent} sent"
    );
    // The client's next command is answered at its own address.
    for (n, d) in &datagrams(seq + 1) {
        own.send_to(d, config.address(*n).unwrap()).unwrap();
    }
    assert!(bytes_received(&own, Duration::from_secs(3)) > 5_000);
}

/// The signed requests of client 0 for `get(key)` with `seq`, to every server of `config`.
fn signed_gets(config: &ClusterConfig, seq: u64, key: &str) -> Vec<(NodeId, Vec<u8>)> {
    let me = config.stateright_id(client(0));
    let codec = WireCodec::from_config(config, client(0)).unwrap();
    let mac_key = config.command_key(ClientId(0)).unwrap().to_bytes().unwrap();
    let request = ServiceMsg::Request(Command::signed(ClientId(0), seq, get(key), &mac_key));
    config
        .nodes()
        .filter(|n| n.role() != Role::Client)
        .map(|n| {
            let mut d = codec.encode(me, config.stateright_id(n), &request).unwrap();
            (n, d.remove(0))
        })
        .collect()
}

/// A replay after a restart: the servers that restarted must still know that the client's
/// address moved for this command already, so a copy from elsewhere moves nothing.
#[test]
fn a_replayed_client_datagram_does_not_redirect_replies_after_a_restart() {
    let dir = TempDir::new("replayed-after-restart");
    let mut cluster = cluster_with(&dir, 1, |_| {});
    let config = cluster.config.clone();
    let mut alice = Client::connect(&config, 0).unwrap();
    let value = "v".repeat(5_000);
    assert_eq!(alice.execute(put("big", &value)).unwrap(), Reply::Stored);
    drop(alice);
    let seq = u64::MAX / 2;
    let captured = signed_gets(&config, seq, "big");
    let own = UdpSocket::bind("127.0.0.1:0").unwrap();
    for (n, d) in &captured {
        own.send_to(d, config.address(*n).unwrap()).unwrap();
    }
    assert!(
        bytes_received(&own, Duration::from_secs(3)) > 5_000,
        "the client got its reply"
    );
    for a in 0..4 {
        assert!(cluster.kill(acceptor(a)));
    }
    for a in 0..4 {
        cluster
            .restart(acceptor(a))
            .expect("restarts from its store");
    }
    let victim = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut sent = 0;
    for _ in 0..3 {
        for (n, d) in &captured {
            victim.send_to(d, config.address(*n).unwrap()).unwrap();
            sent += d.len();
        }
    }
    let reflected = bytes_received(&victim, Duration::from_secs(3));
    assert_eq!(
        reflected, 0,
        "{reflected} bytes reflected at the victim for {sent} sent after a restart"
    );
    // The client's next command is answered at its own address.
    for (n, d) in &signed_gets(&config, seq + 1, "big") {
        own.send_to(d, config.address(*n).unwrap()).unwrap();
    }
    assert!(bytes_received(&own, Duration::from_secs(3)) > 5_000);
}

/// Failure 7: an acceptor takes an ACCEPT only from a proposer; a client's copy of one it
/// voted for gets no LEARN, no decision, nothing.
#[test]
fn an_acceptor_answers_no_accept_from_a_client() {
    let (config, _sockets) = loopback_config(1, 2, 1).unwrap();
    let node = service_node(&config, acceptor(0), &ServerOptions::default()).unwrap();
    let id = config.stateright_id(acceptor(0));
    let mut out = Out::new();
    let mut state = Cow::Owned(node.on_start(id, &None, &mut out));
    let value: SlotValue = LogValue::Batch(Batch::from(vec![unsigned_put(0, 1, 10)]));
    let accept = ServiceMsg::Log(LogMsg::Accept {
        round: 0,
        slot: 0,
        value,
        proof: LogProof::none(),
    });
    let sends = |out: &Out<_>| {
        out.iter()
            .filter(|c| matches!(c, OutCommand::Send(..)))
            .count()
    };
    let mut out = Out::new();
    let p0: Id = config.stateright_id(proposer(0));
    node.on_msg(id, &mut state, p0, accept.clone(), &mut out);
    assert!(sends(&out) > 0, "it voted for the proposer's ACCEPT");
    // The same ACCEPT from a client: a repeat that changes nothing, and is not answered.
    let mut out = Out::new();
    let c0 = config.stateright_id(client(0));
    node.on_msg(id, &mut state, c0, accept, &mut out);
    assert_eq!(sends(&out), 0, "it answered a client's ACCEPT: {out:?}");
}

/// A new round's plan carries at most `max_slots_in_flight` batches of the commands waiting
/// at its leader, so that the limits alone bound a NEWROUND's size (WIRE.md 5.1), however
/// many clients wait; the other commands stay queued for the slots that follow.
#[test]
fn a_new_round_carries_no_more_pending_batches_than_slots_in_flight() {
    const CLIENTS: u16 = 40;
    let (config, _sockets) = loopback_config(1, 2, CLIENTS as usize).unwrap();
    let node = service_node(&config, proposer(1), &ServerOptions::default()).unwrap();
    let id = config.stateright_id(proposer(1));
    let mut out = Out::new();
    let mut state = Cow::Owned(node.on_start(id, &None, &mut out));
    for c in 0..CLIENTS {
        let src = config.stateright_id(client(c));
        let request = ServiceMsg::Request(unsigned_put(c, 1, 15_000));
        node.on_msg(id, &mut state, src, request, &mut Out::new());
    }
    let mut out = Out::new();
    for a in 0..3u16 {
        let promise = LogPromise {
            round: 1,
            acceptor: AcceptorId(a),
            decided_prefix: 0,
            votes: Vec::new().into(),
            mac: Mac([0; 32]),
        };
        let src = config.stateright_id(acceptor(a));
        node.on_msg(
            id,
            &mut state,
            src,
            ServiceMsg::Log(LogMsg::Promise(promise)),
            &mut out,
        );
    }
    let plans: Vec<usize> = out
        .iter()
        .filter_map(|c| match c {
            OutCommand::Send(_, ServiceMsg::Log(LogMsg::NewRound { accepts, .. })) => {
                Some(accepts.len())
            }
            _ => None,
        })
        .collect();
    assert!(!plans.is_empty(), "no NEWROUND: {out:?}");
    let most = config.limits.max_slots_in_flight as usize;
    assert!(
        plans.iter().all(|&n| (1..=most).contains(&n)),
        "plans of {plans:?} slots, for at most {most} in flight"
    );
    let ServiceState::Proposer { queue, .. } = &*state else {
        panic!("a proposer");
    };
    // Three 15 KB commands fill a 48 KiB batch: the other 37 wait.
    assert_eq!(queue.pending.len(), CLIENTS as usize - 3);
}
