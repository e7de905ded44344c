//! A leader waits briefly, after a decision, for the next commands of the clients it answered
//! (`src/service/linger.rs`): with one slot in flight they otherwise arrive just after the
//! next slot left, and closed-loop clients split into two groups that take turns, each
//! command waiting two slots.

use bp_fast_paxos::auth::Mac;
use bp_fast_paxos::cluster_config::{ClusterConfig, NodeId, Role};
use bp_fast_paxos::log::message::LogMsg;
use bp_fast_paxos::log::value::LogValue;
use bp_fast_paxos::service::msg::ServiceMsg;
use bp_fast_paxos::service::node::{ServiceNode, ServiceState, ServiceTimer, Tuning};
use bp_fast_paxos::service::server::{ServerOptions, service_node};
use bp_fast_paxos::service::{Batch, Command, Op};
use bp_fast_paxos::types::ClientId;
use stateright::actor::{Actor, Command as OutCommand, Id, Out};
use std::borrow::Cow;
use std::time::Duration;

/// Proposer 0, the leader of round 0, driven by hand.
struct Leader {
    config: ClusterConfig,
    node: ServiceNode,
    me: Id,
    state: Cow<'static, ServiceState>,
}

impl Leader {
    fn new(tuning: Tuning) -> Self {
        let config = ClusterConfig::generate(4, 2, 8, 1, [127, 0, 0, 1].into()).unwrap();
        let options = ServerOptions {
            tuning,
            ..ServerOptions::default()
        };
        let node = service_node(&config, NodeId::new(Role::Proposer, 0), &options).unwrap();
        let me = config.stateright_id(NodeId::new(Role::Proposer, 0));
        let state = Cow::Owned(node.on_start(me, &None, &mut Out::new()));
        Leader {
            config,
            node,
            me,
            state,
        }
    }

    /// A leader that waits only while fewer than `below` commands are queued.
    fn waiting_below(below: usize) -> Self {
        Leader::new(Tuning {
            linger_below: below,
            ..Tuning::default()
        })
    }

    fn id(&self, role: Role, i: u16) -> Id {
        self.config.stateright_id(NodeId::new(role, i))
    }

    /// Client `client`'s command number `seq` arrives; what the leader did.
    fn request(&mut self, client: u16, seq: u64) -> Out<ServiceNode> {
        let command = Command {
            client: ClientId(client),
            seq,
            op: Op::Get { key: "k".into() },
            mac: Mac([0; 32]),
        };
        let src = self.id(Role::Client, client);
        let mut out = Out::new();
        let msg = ServiceMsg::Request(command);
        self.node
            .on_msg(self.me, &mut self.state, src, msg, &mut out);
        out
    }

    /// A quorum of acceptors tell it they voted for `value` in `slot`; what the leader did.
    fn decide(&mut self, slot: u64, value: &LogValue<Batch>) -> Out<ServiceNode> {
        let mut out = Out::new();
        for a in 0..3 {
            let src = self.id(Role::Acceptor, a);
            let learn = LogMsg::Learn {
                round: 0,
                slot,
                value: value.clone(),
            };
            self.node.on_msg(
                self.me,
                &mut self.state,
                src,
                ServiceMsg::Log(learn),
                &mut out,
            );
        }
        out
    }

    fn linger_over(&mut self) -> Out<ServiceNode> {
        let mut out = Out::new();
        let timer = ServiceTimer::Linger;
        self.node
            .on_timeout(self.me, &mut self.state, &timer, &mut out);
        out
    }
}

/// The proposals among `out`'s sends, one per slot: its value and its commands' clients.
fn proposed(out: &Out<ServiceNode>) -> Vec<(u64, LogValue<Batch>, Vec<u16>)> {
    let mut slots: Vec<(u64, LogValue<Batch>, Vec<u16>)> = Vec::new();
    for command in out.iter() {
        let OutCommand::Send(_, ServiceMsg::Log(LogMsg::Accept { slot, value, .. })) = command
        else {
            continue;
        };
        if slots.iter().any(|(s, _, _)| s == slot) {
            continue;
        }
        let clients = match value {
            LogValue::Batch(batch) => batch.0.iter().map(|c| c.client.0).collect(),
            _ => Vec::new(),
        };
        slots.push((*slot, value.clone(), clients));
    }
    slots
}

/// Asserts that `out` proposed one slot, `slot`, with the commands of `clients` in that
/// order; returns its value.
fn proposed_one(out: &Out<ServiceNode>, slot: u64, clients: &[u16]) -> LogValue<Batch> {
    let slots = proposed(out);
    assert_eq!(slots.len(), 1, "{slots:?}");
    let (proposed_slot, value, proposed_clients) = slots[0].clone();
    assert_eq!((proposed_slot, &proposed_clients[..]), (slot, clients));
    value
}

fn timers(out: &Out<ServiceNode>) -> Vec<Option<Duration>> {
    out.iter()
        .filter_map(|c| match c {
            OutCommand::SetTimer(ServiceTimer::Linger, range) => Some(Some(range.start)),
            OutCommand::CancelTimer(ServiceTimer::Linger) => Some(None),
            _ => None,
        })
        .collect()
}

#[test]
fn the_clients_a_decision_answers_share_the_next_slot_with_those_that_waited() {
    let tuning = Tuning::default();
    let mut leader = Leader::new(tuning.clone());
    // Client 0's command goes at once into slot 0; clients 1 and 2 come while it is in flight.
    let value = proposed_one(&leader.request(0, 1), 0, &[0]);
    assert!(proposed(&leader.request(1, 1)).is_empty());
    assert!(proposed(&leader.request(2, 1)).is_empty());

    // Slot 0 is decided: client 0 is answered and will be back within a hop. The leader
    // waits for it, with a timer, rather than propose clients 1 and 2 alone.
    let decided = leader.decide(0, &value);
    assert!(proposed(&decided).is_empty(), "{:?}", proposed(&decided));
    assert_eq!(timers(&decided), [Some(tuning.linger)]);

    // Its next command comes: all three go in slot 1, and the timer is cancelled.
    let back = leader.request(0, 2);
    proposed_one(&back, 1, &[1, 2, 0]);
    assert_eq!(timers(&back), [None]);
}

#[test]
fn when_the_answered_clients_do_not_come_back_the_timer_proposes_what_waited() {
    let mut leader = Leader::new(Tuning::default());
    let value = proposed_one(&leader.request(0, 1), 0, &[0]);
    leader.request(1, 1);
    assert!(proposed(&leader.decide(0, &value)).is_empty());
    let over = leader.linger_over();
    proposed_one(&over, 1, &[1]);
}

#[test]
fn after_a_wait_that_ran_out_the_next_decision_proposes_at_once() {
    let mut leader = Leader::new(Tuning::default());
    let value = proposed_one(&leader.request(0, 1), 0, &[0]);
    leader.request(1, 1);
    assert!(proposed(&leader.decide(0, &value)).is_empty());
    let value = proposed_one(&leader.linger_over(), 1, &[1]);
    // Client 0 never came back; client 2 comes while slot 1 is in flight. Slot 1's decision
    // is the one after a wait that ran out: no wait, no timer.
    leader.request(2, 1);
    let decided = leader.decide(1, &value);
    proposed_one(&decided, 2, &[2]);
    assert!(timers(&decided).is_empty());
}

#[test]
fn a_queue_that_reaches_the_bound_during_a_wait_is_proposed_at_once() {
    let mut leader = Leader::waiting_below(3);
    let value = proposed_one(&leader.request(0, 1), 0, &[0]);
    leader.request(1, 1);
    assert!(proposed(&leader.decide(0, &value)).is_empty());
    assert!(proposed(&leader.request(2, 1)).is_empty());
    // The third command queued: client 0 is still awaited, but the slot is full enough.
    let full = leader.request(3, 1);
    proposed_one(&full, 1, &[1, 2, 3]);
    assert_eq!(timers(&full), [None]);
}

/// Client 0's command goes into slot 0, `waiting` clients queue while it is in flight, and its
/// decision proposes them at once in slot 1, setting no timer.
fn proposes_at_the_decision(mut leader: Leader, waiting: &[u16]) {
    let value = proposed_one(&leader.request(0, 1), 0, &[0]);
    for &client in waiting {
        leader.request(client, 1);
    }
    let decided = leader.decide(0, &value);
    proposed_one(&decided, 1, waiting);
    assert!(timers(&decided).is_empty());
}

#[test]
fn a_queue_at_the_bound_is_proposed_at_once() {
    proposes_at_the_decision(Leader::waiting_below(2), &[1, 2]);
}

#[test]
fn with_no_linger_the_leader_proposes_at_each_decision() {
    let tuning = Tuning {
        linger: Duration::ZERO,
        ..Tuning::default()
    };
    proposes_at_the_decision(Leader::new(tuning), &[1]);
}

#[test]
fn a_proposer_that_does_not_lead_sets_no_timer() {
    let config = ClusterConfig::generate(4, 2, 8, 1, [127, 0, 0, 1].into()).unwrap();
    let p1 = NodeId::new(Role::Proposer, 1);
    let node = service_node(&config, p1, &ServerOptions::default()).unwrap();
    let me = config.stateright_id(p1);
    let mut state = Cow::Owned(node.on_start(me, &None, &mut Out::new()));
    let command = Command {
        client: ClientId(0),
        seq: 1,
        op: Op::Get { key: "k".into() },
        mac: Mac([0; 32]),
    };
    let value = LogValue::Batch(Batch::from(vec![command]));
    let mut out = Out::new();
    for a in 0..3 {
        let src = config.stateright_id(NodeId::new(Role::Acceptor, a));
        let learn = LogMsg::Learn {
            round: 0,
            slot: 0,
            value: value.clone(),
        };
        node.on_msg(me, &mut state, src, ServiceMsg::Log(learn), &mut out);
    }
    assert!(timers(&out).is_empty());
}
