//! Messages larger than one datagram on a running cluster: catch-up of a restarted acceptor
//! when the store and the decisions it lacks are several datagrams long, and a Byzantine
//! round-0 leader whose open votes make every later PROMISE and NEWROUND that large. Then the
//! store's transfer in parts, step by step.

mod common;
use common::{TempDir, put};

use bp_fast_paxos::cluster_config::{ClusterConfig, NodeId, Role};
use bp_fast_paxos::log::message::{LogMsg, LogProof};
use bp_fast_paxos::log::value::LogValue;
use bp_fast_paxos::runtime::codec::WireCodec;
use bp_fast_paxos::runtime::event_loop::Codec;
use bp_fast_paxos::service::client::Client;
use bp_fast_paxos::service::kv::{KvStore, Reply};
use bp_fast_paxos::service::msg::ServiceMsg;
use bp_fast_paxos::service::node::ServiceNode;
use bp_fast_paxos::service::node::Tuning;
use bp_fast_paxos::service::proposer_store::ServerDurable;
use bp_fast_paxos::service::server::{LocalCluster, ServerOptions, loopback_config};
use bp_fast_paxos::service::transfer::{Part, Received, SNAPSHOT_PART_BYTES, Transfer};
use bp_fast_paxos::service::{Batch, Command, CommandKeys};
use bp_fast_paxos::types::ClientId;
use stateright::actor::{Command as OutCommand, Id};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

fn acceptor(i: u16) -> NodeId {
    NodeId::new(Role::Acceptor, i)
}

/// A cluster whose stores are in `dir`, which the caller keeps until the cluster has stopped.
fn cluster(dir: &TempDir, options: ServerOptions) -> LocalCluster {
    let (mut config, sockets) = loopback_config(1, 2, 2).expect("loopback ports");
    fast(&mut config);
    LocalCluster::start_with(config, dir.path(), sockets, options).expect("the cluster starts")
}

fn fast(config: &mut ClusterConfig) {
    config.timing.suspect_leader_ms = 300;
    config.timing.client_timeout_ms = 20_000;
}

/// A value of `len` bytes, different for each `i`.
fn big(i: usize, len: usize) -> String {
    let digits = format!("{i:08}-");
    digits.repeat(len / digits.len() + 1)[..len].to_string()
}

/// Waits until every running acceptor has applied the same log to the same store, and
/// returns that store; panics with what each holds after `within`.
fn converged(cluster: &LocalCluster, within: Duration) -> KvStore {
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
        if replicas.len() == 4 && replicas.windows(2).all(|w| w[0] == w[1]) {
            return replicas[0].0.clone();
        }
        assert!(
            start.elapsed() < within,
            "the replicas did not converge: applied {:?}",
            replicas.iter().map(|(_, a)| a).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Puts `count` values of `len` bytes under keys `k0`, `k1`, … with a restarted acceptor 3
/// away, then restarts it and checks it catches up to the same store.
fn restarted_acceptor_catches_up(options: ServerOptions, count: usize, len: usize) {
    let dir = TempDir::new("catch-up");
    let mut cluster = cluster(&dir, options);
    let mut alice = Client::connect(&cluster.config, 0).unwrap();
    assert_eq!(alice.execute(put("first", "1")).unwrap(), Reply::Stored);
    assert!(cluster.kill(acceptor(3)));
    for i in 0..count {
        let reply = alice.execute(put(&format!("k{i}"), &big(i, len))).unwrap();
        assert_eq!(reply, Reply::Stored);
    }
    cluster.restart(acceptor(3)).unwrap();
    // A new slot, so that the restarted acceptor sees it lags.
    assert_eq!(alice.execute(put("last", "1")).unwrap(), Reply::Stored);
    let store = converged(&cluster, Duration::from_secs(20));
    for i in 0..count {
        assert_eq!(store.get(&format!("k{i}")), Some(big(i, len).as_str()));
    }
}

/// The store is about 300 KB and the peers kept only a few slots: the restarted acceptor can
/// only catch up by a copy of the store, several datagrams long.
#[test]
fn a_restarted_acceptor_catches_up_by_a_snapshot_past_one_datagram() {
    let options = ServerOptions {
        tuning: Tuning {
            retain: 2,
            ..Tuning::default()
        },
        ..ServerOptions::default()
    };
    restarted_acceptor_catches_up(options, 30, 10_000);
}

/// The peers kept every slot, and the decisions it lacks hold about 150 KB of commands (far
/// fewer than the 256 commands that bounded one `Decisions` message).
#[test]
fn a_restarted_acceptor_catches_up_by_decisions_past_one_datagram() {
    restarted_acceptor_catches_up(ServerOptions::default(), 15, 10_000);
}

/// Failure 3 of the issue: the leader of round 0, Byzantine, gets acceptors 0 and 1 to vote
/// a value of about 25 KB in slot 0 and acceptors 2 and 3 another in slot 1. Neither closes;
/// every PROMISE of a later round carries one of them and every NEWROUND three PROMISEs and
/// both values, more than a datagram. The honest leader of round 1 must still get the log
/// going again.
#[test]
fn open_votes_larger_than_a_datagram_do_not_stop_the_log() {
    let dir = TempDir::new("large-open-votes");
    let cluster = cluster(&dir, ServerOptions::default());
    let mut cluster = cluster;
    let proposer0 = NodeId::new(Role::Proposer, 0);
    assert!(cluster.kill(proposer0));
    let config = cluster.config.clone();
    // The Byzantine proposer 0 holds its socket and its own keys, and answers nothing.
    let socket = UdpSocket::bind(config.address(proposer0).unwrap()).unwrap();
    let codec = WireCodec::from_config(&config, proposer0).unwrap();
    let me = config.stateright_id(proposer0);
    let key = config.command_key(ClientId(1)).unwrap().to_bytes().unwrap();
    // Three authentic commands of client 1 of 8 KB each: about 25 KB per value.
    let value = |tag: usize| {
        let commands = (0..3)
            .map(|i| {
                let seq = (tag * 10 + i + 1) as u64;
                Command::signed(ClientId(1), seq, put("x", &big(seq as usize, 8_000)), &key)
            })
            .collect::<Vec<_>>();
        LogValue::Batch(Batch::from(commands))
    };
    for a in 0..4u16 {
        let (slot, value) = if a < 2 { (0, value(0)) } else { (1, value(1)) };
        let msg = ServiceMsg::Log(LogMsg::Accept {
            round: 0,
            slot,
            value,
            proof: LogProof::none(),
        });
        let to = config.stateright_id(acceptor(a));
        let address = config.address(acceptor(a)).unwrap();
        for datagram in codec.encode(me, to, &msg).unwrap() {
            socket.send_to(&datagram, address).unwrap();
        }
    }
    // Every acceptor voted; no slot is decided.
    let start = Instant::now();
    for a in 0..4u16 {
        let server = cluster.server(acceptor(a)).unwrap();
        while server.state().acceptor().unwrap().0.votes().is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "a{a} did not vote"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let mut alice = Client::connect(&config, 0).unwrap();
    alice.set_timeout(Duration::from_secs(20));
    let reply = alice.execute(put("k", "v"));
    assert_eq!(reply.ok(), Some(Reply::Stored), "the log decides again");
    let store = converged(&cluster, Duration::from_secs(20));
    assert_eq!(store.get("k"), Some("v"));
    drop(socket);
}

// ---------------------------------------------------------------------------------------------
// The store in parts (src/service/transfer.rs), step by step.
// ---------------------------------------------------------------------------------------------

/// A store of `keys` keys with values of 1000 bytes: about `keys` KB encoded.
fn store_of(keys: usize) -> KvStore {
    let key = vec![9u8; 32];
    let mut command_keys = CommandKeys::default();
    command_keys.insert(ClientId(0), key.clone());
    let mut store = KvStore::default();
    for i in 0..keys {
        let op = put(&format!("k{i}"), &big(i, 1000));
        let command = Command::signed(ClientId(0), i as u64 + 1, op, &key);
        store.apply(&command, &command_keys);
    }
    store
}

fn part_of(msg: &ServiceMsg) -> Part {
    match msg.clone() {
        ServiceMsg::Snapshot(part) => part,
        other => panic!("not a part: {other:?}"),
    }
}

/// The sender's answer to each request, until the receiver has the whole copy.
fn transfer_all(sender: &mut Transfer, receiver: &mut Transfer, first: ServiceMsg) -> Received {
    let a1 = Id::from(1);
    let mut next = first;
    loop {
        match receiver.receive(a1, 0, part_of(&next)) {
            Received::Fetch(to, ServiceMsg::SnapshotFetch { applied, offset }) => {
                assert_eq!(to, a1);
                next = sender
                    .fetch(applied, offset)
                    .expect("the sender holds the copy");
            }
            other => return other,
        }
    }
}

#[test]
fn a_store_goes_in_parts_and_is_installed_only_whole_and_matching() {
    let store = store_of(150);
    let mut sender = Transfer::default();
    let first = sender
        .offer_from(20, &store, [3; 32], 0)
        .expect("applied past the slot asked for");
    let part = part_of(&first);
    assert!(part.total > 3 * SNAPSHOT_PART_BYTES as u64, "several parts");
    assert_eq!(part.bytes.len(), SNAPSHOT_PART_BYTES);
    // Nothing for a peer that asks from a slot not below what the sender applied.
    assert_eq!(
        Transfer::default().offer_from(20, &store, [3; 32], 20),
        None
    );

    let mut receiver = Transfer::default();
    let done = transfer_all(&mut sender, &mut receiver, first.clone());
    assert_eq!(
        done,
        Received::Complete {
            applied: 20,
            log_digest: [3; 32],
            store: store.clone()
        }
    );
    assert!(!receiver.receiving());

    // Not newer than what the receiver applied: ignored.
    assert_eq!(
        receiver.receive(Id::from(1), 20, part.clone()),
        Received::Ignored
    );
    // A later part first, a repeated part, a part of another copy: ignored.
    let mut receiver = Transfer::default();
    let second = sender.fetch(20, SNAPSHOT_PART_BYTES as u64).unwrap();
    assert_eq!(
        receiver.receive(Id::from(1), 0, part_of(&second)),
        Received::Ignored
    );
    assert!(matches!(
        receiver.receive(Id::from(1), 0, part.clone()),
        Received::Fetch(..)
    ));
    assert_eq!(
        receiver.receive(Id::from(1), 0, part.clone()),
        Received::Ignored
    );
    let other = Part {
        store_digest: [0; 32],
        ..part_of(&second)
    };
    assert_eq!(receiver.receive(Id::from(1), 0, other), Received::Ignored);

    // Every byte, but not the copy the digest names: not installed.
    let mut receiver = Transfer::default();
    let mut sender_bad = sender.clone();
    let mut lying = part.clone();
    lying.bytes[0] ^= 1;
    let Received::Fetch(_, ServiceMsg::SnapshotFetch { applied, offset }) =
        receiver.receive(Id::from(1), 0, lying)
    else {
        panic!("the first part starts a copy");
    };
    let rest = sender_bad.fetch(applied, offset).unwrap();
    assert_eq!(
        transfer_all(&mut sender_bad, &mut receiver, rest),
        Received::Ignored,
        "a copy whose digest does not match is dropped"
    );
    assert!(!receiver.receiving());
}

#[test]
fn a_transfer_that_stalls_is_asked_again_then_forgotten() {
    let store = store_of(100);
    let mut sender = Transfer::default();
    let first = sender.offer_from(5, &store, [0; 32], 0).unwrap();
    let mut receiver = Transfer::default();
    let Received::Fetch(to, fetch) = receiver.receive(Id::from(2), 0, part_of(&first)) else {
        panic!("the first part starts a copy");
    };
    // The request is lost: the receiver's tick asks the same peer again, for the same part.
    assert_eq!(receiver.tick(), Some((to, fetch.clone())));
    let ServiceMsg::SnapshotFetch { applied, offset } = fetch else {
        unreachable!()
    };
    assert!(sender.fetch(applied, offset).is_some());
    // A copy the sender no longer holds is not served; the receiver gives up in time.
    assert_eq!(sender.fetch(applied + 1, offset), None);
    let mut ticks = 0;
    while receiver.tick().is_some() {
        ticks += 1;
        assert!(ticks < 1000, "the receiver never gives up");
    }
    assert!(!receiver.receiving());
    // And the sender drops its copy once nobody asks for it.
    let mut ticks = 0;
    while sender.offer.is_some() {
        sender.tick();
        ticks += 1;
        assert!(ticks < 1000, "the sender holds its copy for ever");
    }
}

/// The PROMISEs `out` sends, with their destinations.
fn promises(out: stateright::actor::Out<ServiceNode>) -> Vec<(Id, ServiceMsg)> {
    out.into_iter()
        .filter_map(|c| match c {
            OutCommand::Send(to, msg @ ServiceMsg::Log(LogMsg::Promise(_))) => Some((to, msg)),
            _ => None,
        })
        .collect()
}

/// Issue 12, a stall under loss: a PROMISE of many fragments arrives only if every fragment
/// does, and nothing sent it again, so under 20 % loss a round change almost never gathered a
/// quorum. An acceptor now sends its PROMISE again on each tick until its round begins; the
/// copies are the same bytes, whose fragments the leader's reassembly puts together.
#[test]
fn an_acceptor_sends_its_promise_again_until_its_round_begins() {
    use bp_fast_paxos::service::node::ServiceTimer;
    use bp_fast_paxos::service::server::service_node;
    use stateright::actor::{Actor, Out};
    use std::borrow::Cow;
    let config = ClusterConfig::generate(4, 2, 1, 1, [127, 0, 0, 1].into()).unwrap();
    let node = service_node(&config, acceptor(0), &ServerOptions::default()).unwrap();
    let me = config.stateright_id(acceptor(0));
    let mut out = Out::new();
    let mut state = Cow::Owned(node.on_start(me, &None, &mut out));
    // Round 0 has no PROMISE: a tick sends none.
    let mut out = Out::new();
    node.on_timeout(me, &mut state, &ServiceTimer::Tick, &mut out);
    assert!(promises(out).is_empty());
    // Acceptor 1 moved to round 1: acceptor 0 joins it and promises its leader.
    let peer = config.stateright_id(acceptor(1));
    let mut out = Out::new();
    let trust_change = ServiceMsg::Log(LogMsg::TrustChange { round: 1 });
    node.on_msg(me, &mut state, peer, trust_change, &mut out);
    let sent = promises(out);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let leader = config.stateright_id(NodeId::new(Role::Proposer, 1));
    assert_eq!(sent[0].0, leader);
    // No NEWROUND of round 1 came: every tick sends the same PROMISE again.
    for _ in 0..3 {
        let mut out = Out::new();
        node.on_timeout(me, &mut state, &ServiceTimer::Tick, &mut out);
        assert_eq!(promises(out), sent);
    }
}

/// Issue 12's stall of the 10-minute torture: an acceptor armed its suspicion of the leader
/// only when the timer fired, so an acceptor that joined a round on a peer's TRUSTCHANGE (or
/// moved on after an invalid proof) suspected the new leader when what was left of the old
/// timer ran out, 47 ms after joining in one run (the torture's period is 400 to 600 ms). With four acceptors' timers out of step a
/// round lasted a fraction of the suspicion period, too short for a leader whose PROMISEs and
/// NEWROUND are many fragments; rounds went on changing (about 9 a second) and nothing was
/// decided again. Joining a round now gives its leader the whole period (doubled per round
/// without a decision).
#[test]
fn an_acceptor_that_joins_a_round_gives_its_leader_the_whole_suspicion_period() {
    use bp_fast_paxos::node::NodeTimer;
    use bp_fast_paxos::service::node::ServiceTimer;
    use bp_fast_paxos::service::server::service_node;
    use stateright::actor::{Actor, Out};
    use std::borrow::Cow;
    let config = ClusterConfig::generate(4, 2, 1, 1, [127, 0, 0, 1].into()).unwrap();
    let node = service_node(&config, acceptor(0), &ServerOptions::default()).unwrap();
    let me = config.stateright_id(acceptor(0));
    let mut out = Out::new();
    let mut state = Cow::Owned(node.on_start(me, &None, &mut out));
    let suspect = config.topology().suspect_after;
    let suspicion = |out: Out<ServiceNode>| {
        out.into_iter()
            .filter_map(|c| match c {
                OutCommand::SetTimer(ServiceTimer::Log(NodeTimer::SuspectLeader), range) => {
                    Some(range)
                }
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let peer = config.stateright_id(acceptor(1));
    for round in 1..4 {
        let mut out = Out::new();
        let trust_change = ServiceMsg::Log(LogMsg::TrustChange { round });
        node.on_msg(me, &mut state, peer, trust_change, &mut out);
        // The whole period, doubled for each round entered with no decision since round 0
        // (the back-off of src/service/suspicion.rs).
        let doubled = 1u32 << round;
        let whole = suspect.start * doubled..suspect.end * doubled;
        assert_eq!(suspicion(out), vec![whole], "joining round {round}");
    }
    // A TRUSTCHANGE to a round it is in already changes nothing, and leaves the timer be.
    let mut out = Out::new();
    let again = ServiceMsg::Log(LogMsg::TrustChange { round: 3 });
    node.on_msg(me, &mut state, peer, again, &mut out);
    assert!(suspicion(out).is_empty());
}

/// What acceptor 0 saved over its steps, as its store holds it after a crash: the last log
/// state and the last snapshot.
#[derive(Default)]
struct Saved {
    log: Option<
        bp_fast_paxos::log::acceptor::LogDurableState<bp_fast_paxos::service::msg::SlotValue>,
    >,
    snapshot: Option<bp_fast_paxos::service::store::ReplicaSnapshot>,
}

impl Saved {
    fn take(&mut self, out: stateright::actor::Out<ServiceNode>) {
        for command in out {
            if let OutCommand::Save(ServerDurable::Acceptor(durable)) = command {
                self.log = Some(durable.log);
                if durable.snapshot.is_some() {
                    self.snapshot = durable.snapshot;
                }
            }
        }
    }

    fn durable(&self) -> bp_fast_paxos::service::store::ServiceDurable {
        bp_fast_paxos::service::store::ServiceDurable {
            log: self.log.clone().expect("it saved"),
            snapshot: self.snapshot.clone(),
        }
    }
}

/// Issue 12, the rest of the restart gap: a restarted acceptor's learner starts at its
/// snapshot, so its PROMISE reports again the votes it kept in slots decided since then. With
/// a snapshot every 256 slots of up to 48 KiB, that was up to 12 MiB: a PROMISE over the
/// largest message, which no leader could receive. The replica now snapshots once its votes
/// from its snapshot on reach twice the open-vote bound, so the PROMISE stays within twice
/// the bound plus one value, as `Limits::largest_new_round_bytes` counts.
#[test]
fn a_restarted_acceptor_reports_no_more_decided_votes_than_the_open_bound() {
    use bp_fast_paxos::log::message::SlotVote;
    use bp_fast_paxos::service::server::service_node;
    use bp_fast_paxos::types::Value;
    use stateright::actor::{Actor, Out};
    use std::borrow::Cow;
    let config = ClusterConfig::generate(4, 2, 1, 1, [127, 0, 0, 1].into()).unwrap();
    let limits = config.limits.clone();
    let node = service_node(&config, acceptor(0), &ServerOptions::default()).unwrap();
    let me = config.stateright_id(acceptor(0));
    let leader = config.stateright_id(NodeId::new(Role::Proposer, 0));
    let mut saved = Saved::default();
    let mut out = Out::new();
    let mut state = Cow::Owned(node.on_start(me, &None, &mut out));
    saved.take(out);
    // Forty slots of about 40 KB decided in round 0: 1.6 MB of votes, under the snapshot
    // interval of slots.
    let slots = 40u64;
    assert!(slots < node.tuning.snapshot_every);
    for slot in 0..slots {
        let command = Command {
            client: ClientId(0),
            seq: slot + 1,
            op: bp_fast_paxos::service::Op::Put {
                key: format!("k{slot}"),
                value: "v".repeat(40_000),
            },
            mac: bp_fast_paxos::auth::Mac([7; 32]),
        };
        let value = LogValue::Batch(Batch::from(vec![command]));
        let accept = LogMsg::Accept {
            round: 0,
            slot,
            value: value.clone(),
            proof: LogProof::none(),
        };
        let mut out = Out::new();
        node.on_msg(me, &mut state, leader, ServiceMsg::Log(accept), &mut out);
        saved.take(out);
        for peer in 0..4 {
            let learn = LogMsg::Learn {
                round: 0,
                slot,
                value: value.clone(),
            };
            let from = config.stateright_id(acceptor(peer));
            let mut out = Out::new();
            node.on_msg(me, &mut state, from, ServiceMsg::Log(learn), &mut out);
            saved.take(out);
        }
    }
    // It crashes and restarts from what it saved, then joins round 1 and promises.
    let mut out = Out::new();
    let mut state = Cow::Owned(node.on_start(me, &Some(saved.durable().into()), &mut out));
    let mut out = Out::new();
    let peer = config.stateright_id(acceptor(1));
    let trust_change = ServiceMsg::Log(LogMsg::TrustChange { round: 1 });
    node.on_msg(me, &mut state, peer, trust_change, &mut out);
    let reported: usize = promises(out)
        .iter()
        .map(|(_, msg)| match msg {
            ServiceMsg::Log(LogMsg::Promise(promise)) => promise
                .votes
                .iter()
                .map(|SlotVote { vote, .. }| vote.value.encoded_len())
                .sum(),
            _ => 0,
        })
        .sum();
    let bound = 2 * limits.max_open_vote_bytes + limits.max_batch_bytes;
    assert!(reported > 0, "it reports its votes above the snapshot");
    assert!(
        reported as u64 <= bound,
        "a restarted acceptor reports {reported} bytes of votes, over {bound}"
    );
}
