//! Durability of the service: every acceptor stopped at once (a crash of the whole cluster)
//! and restarted from its store loses no acknowledged write, also after the acceptors dropped
//! the votes of decided slots and their learners forgot them.

mod common;
use common::{TempDir, get, put};

use bp_fast_paxos::cluster_config::{NodeId, Role};
use bp_fast_paxos::durable::{DurableLog, DurableOptions};
use bp_fast_paxos::log::acceptor::LogDurableState;
use bp_fast_paxos::log::message::LogMsg;
use bp_fast_paxos::log::value::LogValue;
use bp_fast_paxos::message::Vote;
use bp_fast_paxos::service::client::Client;
use bp_fast_paxos::service::kv::Reply;
use bp_fast_paxos::service::msg::{ServiceMsg, SlotValue};
use bp_fast_paxos::service::node::{ServiceNode, ServiceState, ServiceTimer, Tuning};
use bp_fast_paxos::service::proposer_store::ServerDurable;
use bp_fast_paxos::service::server::{
    LocalCluster, ServerOptions, loopback_config, proposer_path, service_node,
};
use bp_fast_paxos::service::store::{ServiceDurable, ServiceStore};
use bp_fast_paxos::service::{Batch, Command};
use bp_fast_paxos::types::{ClientId, Round};
use stateright::actor::{Actor, Command as OutCommand, Id, Out};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

fn acceptor(i: u16) -> NodeId {
    NodeId::new(Role::Acceptor, i)
}

/// Compacts early, so that a short run drops decided votes and forgets decided slots.
fn compacting() -> Tuning {
    Tuning {
        retain: 4,
        snapshot_every: 16,
        ..Tuning::default()
    }
}

#[test]
fn a_restart_of_every_acceptor_loses_no_acknowledged_write() {
    let dir = TempDir::new("whole-cluster-restart");
    let (mut config, sockets) = loopback_config(1, 2, 1).expect("loopback ports");
    config.timing.suspect_leader_ms = 300;
    config.timing.client_timeout_ms = 8_000;
    let options = ServerOptions {
        tuning: compacting(),
        ..ServerOptions::default()
    };
    let mut cluster =
        LocalCluster::start_with(config, dir.path(), sockets, options).expect("the cluster starts");
    let mut alice = Client::connect(&cluster.config, 0).unwrap();
    let keys = 100;
    for i in 0..keys {
        let reply = alice.execute(put(&format!("k{i}"), &format!("v{i}")));
        assert_eq!(reply.unwrap(), Reply::Stored, "put k{i}");
    }
    // The acceptors did drop decided votes: what made the writes vanish before.
    let state = cluster.server(acceptor(0)).unwrap().state();
    let (log, _) = state.acceptor().unwrap();
    assert!(log.decided_base() > 0, "no vote was dropped: {log:?}");

    for a in 0..4 {
        assert!(cluster.kill(acceptor(a)));
    }
    for a in 0..4 {
        cluster
            .restart(acceptor(a))
            .expect("restarts from its store");
    }
    for i in 0..keys {
        let reply = alice.execute(get(&format!("k{i}")));
        assert_eq!(
            reply.map_err(|e| e.to_string()),
            Ok(Reply::Value(Some(format!("v{i}")))),
            "get k{i} after the restart"
        );
    }
    // The service goes on deciding and applying.
    assert_eq!(alice.execute(put("after", "yes")).unwrap(), Reply::Stored);
    assert_eq!(
        alice.execute(get("after")).unwrap(),
        Reply::Value(Some("yes".into()))
    );
    drop(cluster);
    std::thread::sleep(Duration::from_millis(10));
}

/// After every acceptor restarts, the slots above their snapshots are decided only in their
/// votes: no learner remembers them. A command issued then must not wait for a suspicion of
/// the leader (a trust change) before those slots are learned again and it is answered.
#[test]
fn after_a_restart_of_every_acceptor_a_command_is_answered_without_a_trust_change() {
    let dir = TempDir::new("relearn-after-restart");
    let (mut config, sockets) = loopback_config(1, 2, 1).expect("loopback ports");
    // A trust change takes at least this long: far longer than relearning needs.
    config.timing.suspect_leader_ms = 10_000;
    config.timing.client_timeout_ms = 30_000;
    let options = ServerOptions {
        tuning: compacting(),
        ..ServerOptions::default()
    };
    let mut cluster =
        LocalCluster::start_with(config, dir.path(), sockets, options).expect("the cluster starts");
    let mut alice = Client::connect(&cluster.config, 0).unwrap();
    // 40 slots: snapshots at 16 and 32, so slots 32.. live only in the votes.
    let keys = 40;
    for i in 0..keys {
        let reply = alice.execute(put(&format!("k{i}"), &format!("v{i}")));
        assert_eq!(reply.unwrap(), Reply::Stored, "put k{i}");
    }
    for a in 0..4 {
        assert!(cluster.kill(acceptor(a)));
    }
    for a in 0..4 {
        cluster
            .restart(acceptor(a))
            .expect("restarts from its store");
    }
    let start = std::time::Instant::now();
    let last = keys - 1;
    let reply = alice.execute(get(&format!("k{last}")));
    let waited = start.elapsed();
    assert_eq!(
        reply.map_err(|e| e.to_string()),
        Ok(Reply::Value(Some(format!("v{last}")))),
        "get k{last} after the restart"
    );
    assert!(
        waited < Duration::from_secs(3),
        "the first command after the restart waited {waited:?}"
    );
    for a in 0..4 {
        let state = cluster.server(acceptor(a)).unwrap().state();
        let (log, replica) = state.acceptor().unwrap();
        assert_eq!(log.rnd(), 0, "acceptor {a} changed trust");
        assert!(
            replica.applied > 32,
            "acceptor {a} applied {}",
            replica.applied
        );
    }
    drop(cluster);
    std::thread::sleep(Duration::from_millis(10));
}

/// A PROMISE sent: to whom, for which round, reporting which votes as (slot, round).
type Sent = (Id, Round, Vec<(u64, Round)>);

/// The PROMISEs among `out`'s sends.
fn promises(out: &Out<ServiceNode>) -> Vec<Sent> {
    out.iter()
        .filter_map(|c| match c {
            OutCommand::Send(to, ServiceMsg::Log(LogMsg::Promise(p))) => {
                let votes = p.votes.iter().map(|v| (v.slot, v.vote.round)).collect();
                Some((*to, p.round, votes))
            }
            _ => None,
        })
        .collect()
}

/// A restart of the whole cluster loses the PROMISEs a leader gathered for its round and the
/// acceptors' copies kept to send again: an acceptor restarted in a round it has not voted in
/// sends its leader a PROMISE again (as true as the first: it reports the votes it stored, all
/// below its stored round), and keeps sending it until the round begins. Before, such a round
/// could not begin and ended only when the acceptors suspected its (honest, running) leader.
#[test]
fn an_acceptor_restarted_in_a_round_not_begun_promises_its_leader_again() {
    let (config, _sockets) = loopback_config(1, 2, 1).expect("loopback ports");
    let node = service_node(&config, acceptor(0), &ServerOptions::default()).unwrap();
    let id = config.stateright_id(acceptor(0));
    let stored = |rnd: Round, votes: &[(u64, Round)]| ServiceDurable {
        log: LogDurableState {
            rnd,
            base: 0,
            votes: votes
                .iter()
                .map(|(slot, round)| {
                    let vote = Vote {
                        round: *round,
                        value: SlotValue::Noop,
                    };
                    (*slot, vote)
                })
                .collect(),
        },
        snapshot: None,
    };
    // Round 7 (led by proposer 1), last votes in rounds 5 and 6.
    let mut out = Out::new();
    let mut state =
        Cow::Owned(node.on_start(id, &Some(stored(7, &[(0, 5), (1, 6)]).into()), &mut out));
    let leader = config.stateright_id(NodeId::new(Role::Proposer, 1));
    let expected = vec![(leader, 7, vec![(0, 5), (1, 6)])];
    assert_eq!(promises(&out), expected, "at the restart");
    let mut out = Out::new();
    node.on_timeout(id, &mut state, &ServiceTimer::Tick, &mut out);
    assert_eq!(promises(&out), expected, "again on the next tick");
    // A vote in its round: the round began, its leader had its PROMISE.
    let mut out = Out::new();
    node.on_start(id, &Some(stored(7, &[(0, 5), (1, 7)]).into()), &mut out);
    assert_eq!(promises(&out), vec![], "after a vote in its round");
    // Round 0 has no PROMISEs.
    let mut out = Out::new();
    node.on_start(id, &Some(stored(0, &[(0, 0)]).into()), &mut out);
    assert_eq!(promises(&out), vec![], "in round 0");
}

/// The PROMISEs of acceptors `from` for round 1, sent to its leader, proposer 1 (`leader`):
/// each acceptor moves to round 1 on a TRUSTCHANGE.
fn promises_for_round_1(
    config: &bp_fast_paxos::cluster_config::ClusterConfig,
    leader: Id,
    from: std::ops::Range<u16>,
) -> Vec<(Id, ServiceMsg)> {
    let mut promised = Vec::new();
    for a in from {
        let node = service_node(config, acceptor(a), &ServerOptions::default()).unwrap();
        let id = config.stateright_id(acceptor(a));
        let mut out = Out::new();
        let mut acceptor_state = Cow::Owned(node.on_start(id, &None, &mut out));
        let peer = config.stateright_id(acceptor((a + 1) % 4));
        let mut out = Out::new();
        let trust_change = ServiceMsg::Log(LogMsg::TrustChange { round: 1 });
        node.on_msg(id, &mut acceptor_state, peer, trust_change, &mut out);
        let promise = out.into_iter().find_map(|c| match c {
            OutCommand::Send(to, msg @ ServiceMsg::Log(LogMsg::Promise(_))) if to == leader => {
                Some(msg)
            }
            _ => None,
        });
        promised.push((id, promise.expect("a PROMISE to the leader of round 1")));
    }
    promised
}

/// Proposer 1, the leader of round 1, started afresh: the actor, its id and its state.
fn leader_of_round_1(
    config: &bp_fast_paxos::cluster_config::ClusterConfig,
) -> (ServiceNode, Id, Cow<'static, ServiceState>) {
    let leader_id = NodeId::new(Role::Proposer, 1);
    let leader = service_node(config, leader_id, &ServerOptions::default()).unwrap();
    let me = config.stateright_id(leader_id);
    let mut out = Out::new();
    let state = Cow::Owned(leader.on_start(me, &None, &mut out));
    (leader, me, state)
}

/// The NEWROUNDs of round 1 among `out`'s sends, with their receivers.
fn new_rounds(out: &Out<ServiceNode>) -> Vec<(Id, LogMsg<SlotValue>)> {
    out.iter()
        .filter_map(|c| match c {
            OutCommand::Send(to, ServiceMsg::Log(m @ LogMsg::NewRound { round: 1, .. })) => {
                Some((*to, m.clone()))
            }
            _ => None,
        })
        .collect()
}

/// An acceptor restarted in a round that had begun cannot tell (the proof it verified is not
/// stored), so it sends its leader its PROMISE again on every tick. In an idle cluster no
/// resend of the leader carries the NEWROUND to it, and it went on for good. The leader now
/// answers a PROMISE of the round it began with the round's NEWROUND, to that acceptor alone.
#[test]
fn a_leader_answers_a_promise_of_its_begun_round_with_its_new_round() {
    let (config, _sockets) = loopback_config(1, 2, 1).expect("loopback ports");
    let (leader, me, mut state) = leader_of_round_1(&config);
    let promised = promises_for_round_1(&config, me, 0..3);
    let mut sent = Vec::new();
    for (from, promise) in &promised {
        let mut out = Out::new();
        leader.on_msg(me, &mut state, *from, promise.clone(), &mut out);
        sent.extend(new_rounds(&out));
    }
    assert_eq!(
        sent.len(),
        4,
        "the NEWROUND of round 1 to every acceptor: {sent:?}"
    );
    // Acceptor 0 restarted and promises again: only it gets the NEWROUND again.
    let (from, promise) = &promised[0];
    let mut out = Out::new();
    leader.on_msg(me, &mut state, *from, promise.clone(), &mut out);
    let again: Vec<Id> = new_rounds(&out).into_iter().map(|(to, _)| to).collect();
    assert_eq!(again, vec![*from]);
}

/// A leader that crashed after its NEWROUND reached only some acceptors, and restarted, used
/// to know no round: the acceptors that missed the NEWROUND promised it again on every tick
/// and got no answer until they suspected it, after a period doubled by every round before
/// that decided nothing. It now stores its NEWROUND before sending it, answers them with it
/// after a restart, and never begins that round again with another plan.
#[test]
fn a_restarted_leader_answers_a_promise_of_its_begun_round_with_the_new_round_it_stored() {
    let (config, _sockets) = loopback_config(1, 2, 1).expect("loopback ports");
    let (leader, me, mut state) = leader_of_round_1(&config);
    // A client's command waits at the leader: its first plan proposes it, which a plan built
    // again after a restart, with an empty queue, would not.
    let client = Id::from(4 + 2);
    let command = Command::signed(ClientId(0), 1, put("k", "v"), &[7u8; 32]);
    let mut out = Out::new();
    leader.on_msg(
        me,
        &mut state,
        client,
        ServiceMsg::Request(command),
        &mut out,
    );
    let promised = promises_for_round_1(&config, me, 0..4);
    let (mut stored, mut sent) = (None, Vec::new());
    for (from, promise) in &promised[..3] {
        let mut out = Out::new();
        leader.on_msg(me, &mut state, *from, promise.clone(), &mut out);
        let commands: Vec<_> = out.iter().collect();
        let saved = commands
            .iter()
            .position(|c| matches!(c, OutCommand::Save(ServerDurable::Proposer(_))));
        let first_new_round = commands.iter().position(|c| {
            matches!(
                c,
                OutCommand::Send(_, ServiceMsg::Log(LogMsg::NewRound { .. }))
            )
        });
        if let Some(first) = first_new_round {
            assert!(saved.is_some_and(|s| s < first), "saved before it is sent");
        }
        for command in out.iter() {
            if let OutCommand::Save(saved) = command {
                stored = Some(saved.clone());
            }
        }
        sent.extend(new_rounds(&out));
    }
    let (_, began) = sent.first().cloned().expect("the NEWROUND of round 1");
    let LogMsg::NewRound { accepts, .. } = &began else {
        unreachable!("a NEWROUND")
    };
    assert_eq!(accepts.len(), 1, "the plan proposes the client's command");
    assert_eq!(
        stored
            .as_ref()
            .and_then(|s| s.proposer())
            .map(|p| &p.new_round),
        Some(&began),
        "the NEWROUND it stored is the one it sent"
    );
    // It crashes and restarts from its store; acceptor 3, which never got the NEWROUND,
    // promises round 1 again: it gets the very NEWROUND the others voted on.
    let mut out = Out::new();
    let mut restarted = Cow::Owned(leader.on_start(me, &stored, &mut out));
    let (from, promise) = &promised[3];
    let mut out = Out::new();
    leader.on_msg(me, &mut restarted, *from, promise.clone(), &mut out);
    assert_eq!(new_rounds(&out), vec![(*from, began.clone())]);
    // However many acceptors promise round 1 again, it sends no other plan for it.
    for (from, promise) in &promised {
        let mut out = Out::new();
        leader.on_msg(me, &mut restarted, *from, promise.clone(), &mut out);
        for (_, new_round) in new_rounds(&out) {
            assert_eq!(new_round, began, "a second plan for round 1");
        }
    }
}

/// The NEWROUND a running proposer holds for the acceptors that lost it, if any.
fn held_new_round(cluster: &LocalCluster, proposer: NodeId) -> Option<LogMsg<SlotValue>> {
    match cluster.server(proposer)?.state() {
        ServiceState::Proposer { queue, .. } => queue.new_round.map(|p| p.msg),
        ServiceState::Acceptor { .. } => None,
    }
}

/// The runtime gives a proposer its file: the NEWROUND of the round it began is there, and a
/// restart from the data directory has it back.
#[test]
fn a_proposer_restarted_from_its_data_directory_holds_the_new_round_it_began() {
    let (mut config, sockets) = loopback_config(1, 2, 1).expect("loopback ports");
    config.timing.suspect_leader_ms = 100;
    let dir = TempDir::new("proposer-round");
    let mut cluster =
        LocalCluster::start_with(config, dir.path(), sockets, ServerOptions::default())
            .expect("the cluster starts");
    let mut client = Client::connect(&cluster.config, 0).expect("a client");
    assert_eq!(client.execute(put("k", "a")).unwrap(), Reply::Stored);
    // Round 0's leader goes: proposer 1 begins round 1 (or a later one it leads).
    assert!(cluster.kill(NodeId::new(Role::Proposer, 0)));
    assert_eq!(client.execute(put("k", "b")).unwrap(), Reply::Stored);
    let leader = NodeId::new(Role::Proposer, 1);
    let began = held_new_round(&cluster, leader).expect("the NEWROUND of the round it began");
    assert!(proposer_path(dir.path(), 1).exists());
    assert!(cluster.kill(leader));
    cluster.restart(leader).expect("the proposer restarts");
    assert_eq!(held_new_round(&cluster, leader), Some(began));
}

/// A slot value of about `len` bytes.
fn big_value(seq: u64, len: usize) -> SlotValue {
    let command = Command::signed(ClientId(0), seq, put("k", &"x".repeat(len)), &[7u8; 32]);
    LogValue::Batch(Batch::from(vec![command]))
}

/// The bytes each of `votes` open votes (none decided, as a Byzantine leader can leave them)
/// adds to a store, saved one vote per step by `save`, which returns the file's length.
fn bytes_per_vote(
    votes: u64,
    mut save: impl FnMut(&LogDurableState<SlotValue>) -> u64,
) -> Vec<u64> {
    let mut state = LogDurableState {
        rnd: 0,
        base: 0,
        votes: BTreeMap::new(),
    };
    let mut len = save(&state);
    (0..votes)
        .map(|slot| {
            let vote = Vote {
                round: 0,
                value: big_value(slot, 2_000),
            };
            state.votes.insert(slot, vote);
            let after = save(&state);
            let appended = after - len;
            len = after;
            appended
        })
        .collect()
}

#[test]
fn a_vote_appends_about_its_own_size_not_the_whole_state() {
    let dir = TempDir::new("proportional");
    let votes = 100;
    let mut store = ServiceStore::open(dir.path(), 0).unwrap().store;
    let appended = bytes_per_vote(votes, |state| {
        let durable = ServiceDurable {
            log: state.clone(),
            snapshot: None,
        };
        store.save_durable(&durable).unwrap();
        store.votes_len()
    });
    // About the vote's 2 KB (its encoding and a frame), however many votes are open.
    for (slot, bytes) in appended.iter().enumerate() {
        assert!(
            (2_000..2_400).contains(bytes),
            "vote in slot {slot} appended {bytes} bytes"
        );
    }
    // The store it replaces wrote the whole state for each vote: by the last vote, a
    // hundred votes' worth. The same measure catches it.
    let mut whole = DurableLog::<LogDurableState<SlotValue>>::open_with(
        dir.path().join("whole-state.log"),
        DurableOptions {
            compact_above_bytes: u64::MAX,
        },
    )
    .unwrap()
    .0;
    let appended = bytes_per_vote(votes, |state| {
        whole.append(state).unwrap();
        whole.len_bytes()
    });
    assert!(appended[votes as usize - 1] > 50 * 2_000, "{appended:?}");
}

#[test]
fn a_damaged_snapshot_is_refused_with_the_reason_never_read() {
    use bp_fast_paxos::durable::snapshot::{read_snapshot, write_snapshot};
    use bp_fast_paxos::durable::{Corruption, DurableError, SnapshotDefect};
    use bp_fast_paxos::service::store::ReplicaSnapshot;
    let dir = TempDir::new("damaged-snapshot");
    let path = dir.path().join("acceptor-0.snapshot");
    assert_eq!(read_snapshot::<ReplicaSnapshot>(&path).unwrap(), None);
    let snapshot = ReplicaSnapshot {
        applied: 9,
        log_digest: [3; 32],
        store: Default::default(),
    };
    write_snapshot(&path, &snapshot).unwrap();
    assert_eq!(read_snapshot(&path).unwrap(), Some(snapshot));
    let good = std::fs::read(&path).unwrap();
    let defect = |bytes: &[u8]| {
        std::fs::write(&path, bytes).unwrap();
        match read_snapshot::<ReplicaSnapshot>(&path) {
            Err(DurableError::Corrupt {
                path: named,
                corruption: Corruption::Snapshot(defect),
                ..
            }) => {
                assert_eq!(named, path);
                defect
            }
            other => panic!("expected a damaged snapshot, got {other:?}"),
        }
    };
    let mut flipped = good.clone();
    flipped[30] ^= 1;
    assert!(matches!(defect(&flipped), SnapshotDefect::Checksum { .. }));
    assert!(matches!(
        defect(&good[..good.len() - 1]),
        SnapshotDefect::Length { .. }
    ));
    assert!(matches!(defect(&good[..10]), SnapshotDefect::Short { .. }));
    let mut other = good.clone();
    other[0] = b'X';
    assert!(matches!(defect(&other), SnapshotDefect::BadMagic { .. }));
}

/// Issue 12, the freshness floors on the hot path: a client command that raises its client's
/// floor appends that one entry (and syncs it), not every client's floor; recovery folds the
/// entries, and compaction keeps the file near the size of the floors.
#[test]
fn a_raised_floor_appends_its_entry_not_every_clients_floor() {
    use bp_fast_paxos::runtime::floors::FloorsLog;
    use bp_fast_paxos::runtime::storage::Storage;
    use bp_fast_paxos::service::store::{floors_path, open_floors};
    use stateright::actor::Id;
    let dir = TempDir::new("floors-append");
    let clients = 300u64;
    let mut floors = open_floors(dir.path(), 0).unwrap();
    for c in 0..clients {
        assert!(floors.raise(Id::from(6 + c as usize), 1).unwrap());
    }
    let len = || std::fs::metadata(floors_path(dir.path(), 0)).unwrap().len();
    let before = len();
    assert!(floors.raise(Id::from(7), 1_000).unwrap());
    let appended = len() - before;
    // A frame around one entry (a count, a node id, a varint floor): not 300 entries.
    assert!(appended < 48, "one raise appended {appended} bytes");
    assert!(
        !floors.raise(Id::from(7), 999).unwrap(),
        "a lower floor moves nothing"
    );
    drop(floors);
    let reopened = open_floors(dir.path(), 0).unwrap();
    let folded = reopened.floors();
    assert_eq!(folded.len(), clients as usize);
    assert_eq!(folded.get(&7), Some(&1_000));
    assert_eq!(folded.get(&8), Some(&1));
    drop(reopened);
    // Many raises of one client: compaction (here above 4 KiB) keeps the file near the size
    // of the floors (300 entries, about 1.2 KB), where 1,000 appended entries take 20 KB.
    let options = DurableOptions {
        compact_above_bytes: 4_096,
    };
    let mut store = FloorsLog::open(&floors_path(dir.path(), 0), options)
        .unwrap()
        .store;
    for seq in 2..1_002 {
        store.save(&BTreeMap::from([(8, seq)])).unwrap();
    }
    drop(store);
    assert!(len() < 10_000, "the floors' file holds {} bytes", len());
    let folded = FloorsLog::open(&floors_path(dir.path(), 0), options)
        .unwrap()
        .floors;
    assert_eq!(folded.len(), clients as usize);
    assert_eq!(folded.get(&8), Some(&1_001));
    assert_eq!(folded.get(&7), Some(&1_000));
    assert_eq!(folded.get(&9), Some(&1));
}
