//! How long acceptors wait before they suspect a leader, on a running cluster whose links are
//! slow: a round that takes longer than the configured suspicion period must still get a
//! decision, because each round entered without a decision doubles the period.

mod common;
use common::{get, put};

use bp_fast_paxos::cluster_config::{NodeId, Role};
use bp_fast_paxos::runtime::faults::{FaultRates, Faults};
use bp_fast_paxos::service::client::Client;
use bp_fast_paxos::service::kv::Reply;
use bp_fast_paxos::service::server::{LocalCluster, ServerOptions, loopback_config};
use std::time::Duration;

/// The configured suspicion period: 100 to 150 ms.
const SUSPECT_LEADER_MS: u64 = 100;

/// One way on every link between servers: a trust change and the round after it
/// (TRUSTCHANGE, PROMISE, NEWROUND, LEARN) take four of these, several suspicion periods.
const LATENCY: Duration = Duration::from_millis(150);

#[test]
fn a_round_slower_than_the_suspicion_period_still_decides() {
    let (mut config, sockets) = loopback_config(1, 2, 1).expect("loopback ports");
    config.timing.suspect_leader_ms = SUSPECT_LEADER_MS;
    config.timing.client_timeout_ms = 30_000;
    let faults = Faults::new(FaultRates::none(), 1);
    let options = ServerOptions {
        faults: Some(faults.clone()),
        ..ServerOptions::default()
    };
    let dir = common::TempDir::new("suspicion");
    let mut cluster =
        LocalCluster::start_with(config, dir.path(), sockets, options).expect("the cluster starts");
    let mut client = Client::connect(&cluster.config, 0).expect("a client");
    assert_eq!(client.execute(put("k", "before")).unwrap(), Reply::Stored);

    // The leader of round 0 goes, and every link slows down: only a new round, led by
    // proposer 1 over the slow links, can decide the next command.
    assert!(cluster.kill(NodeId::new(Role::Proposer, 0)));
    faults.set_latency(LATENCY);
    let answer = client.execute(put("k", "after"));
    let rounds: Vec<u32> = cluster
        .servers
        .iter()
        .filter_map(|(_, s)| Some(s.state().acceptor()?.0.rnd()))
        .collect();
    assert_eq!(
        answer.as_ref().ok(),
        Some(&Reply::Stored),
        "no decision over slow links ({answer:?}); the acceptors' rounds: {rounds:?}"
    );
    assert_eq!(
        client.execute(get("k")).unwrap(),
        Reply::Value(Some("after".into()))
    );
}
