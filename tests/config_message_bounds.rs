//! The config's limits keep every message a server must send under the wire's maximum
//! (`wire::MAX_MESSAGE`). The largest is a NEWROUND: a quorum of 2f + 1 PROMISEs, each with
//! every open vote of its acceptor, and a plan that proposes again one value of every slot
//! they report plus the pending batches. If the limits let it pass the maximum, a Byzantine
//! leader that fills the acceptors' open votes makes every honest NEWROUND unsendable.

use bp_fast_paxos::auth::Mac;
use bp_fast_paxos::cluster_config::{ClusterConfig, Limits};
use bp_fast_paxos::log::message::{LogMsg, LogPromise, LogProof, SlotVote};
use bp_fast_paxos::log::value::LogValue;
use bp_fast_paxos::message::Vote;
use bp_fast_paxos::runtime::wire::{MAX_MESSAGE, encoded_len};
use bp_fast_paxos::service::msg::{ServiceMsg, SlotValue};
use bp_fast_paxos::service::{Batch, Command, Op};
use bp_fast_paxos::types::{AcceptorId, ClientId, Value};
use std::net::{IpAddr, Ipv4Addr};

/// A slot value of one put, whose encoding is as large as `max_batch_bytes` allows.
fn full_batch(limits: &Limits, seq: u64) -> SlotValue {
    let with = |len: usize| {
        LogValue::Batch(Batch::from(vec![Command {
            client: ClientId(0),
            seq,
            op: Op::Put {
                key: "k".into(),
                value: "x".repeat(len),
            },
            mac: Mac([7; 32]),
        }]))
    };
    let bare = with(0).encoded_len();
    with(limits.max_batch_bytes as usize - bare)
}

/// The largest NEWROUND the limits let a leader of `f` build: each of the 2f + 1 PROMISEs
/// reports full batches up to `max_open_vote_bytes` in open slots and one more at its decided
/// prefix (which the bound never refuses), and, from an acceptor restarted from a snapshot,
/// up to `max_open_vote_bytes` more in slots decided since that snapshot; all in slots of its
/// own, so that the plan proposes every one of them again, then `max_slots_in_flight` pending
/// batches.
fn largest_new_round(f: usize, limits: &Limits) -> ServiceMsg {
    let batch_bytes = full_batch(limits, 0).encoded_len() as u64;
    let per_promise = 2 * (limits.max_open_vote_bytes / batch_bytes) + 1;
    let mut plan = Vec::new();
    let mut proof = Vec::new();
    let mut slot = 0;
    for a in 0..(2 * f + 1) as u16 {
        let mut votes = Vec::new();
        for _ in 0..per_promise {
            let value = full_batch(limits, slot);
            votes.push(SlotVote {
                slot,
                vote: Vote {
                    round: u32::MAX,
                    value: value.clone(),
                },
            });
            plan.push((slot, value));
            slot += 1;
        }
        proof.push(LogPromise {
            round: u32::MAX,
            acceptor: AcceptorId(a),
            decided_prefix: 0,
            votes: votes.into(),
            mac: Mac([9; 32]),
        });
    }
    for _ in 0..limits.max_slots_in_flight {
        plan.push((slot, full_batch(limits, slot)));
        slot += 1;
    }
    ServiceMsg::Log(LogMsg::NewRound {
        round: u32::MAX,
        proof: LogProof::from(proof),
        accepts: plan.into(),
    })
}

fn config(f: usize) -> ClusterConfig {
    let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
    ClusterConfig::generate(3 * f + 1, 2, 4, 7000, localhost).expect("a valid shape")
}

#[test]
fn the_default_limits_keep_the_largest_new_round_under_the_wires_maximum() {
    for f in 1..=3 {
        let config = config(f);
        config.validate().expect("the default limits are valid");
        let size = encoded_len(&largest_new_round(f, &config.limits));
        assert!(
            size <= MAX_MESSAGE,
            "f = {f}: a NEWROUND of {size} bytes, over the maximum of {MAX_MESSAGE}"
        );
    }
}

#[test]
fn limits_that_let_a_new_round_pass_the_wires_maximum_are_refused() {
    let mut config = config(1);
    // Three PROMISEs of 8 MiB each, with their values again in the plan: 48 MiB.
    config.limits.max_open_vote_bytes = 4 << 20;
    assert!(encoded_len(&largest_new_round(1, &config.limits)) > MAX_MESSAGE);
    let message = config.validate().expect_err("over the maximum").to_string();
    assert!(
        message.contains("limits.max_open_vote_bytes") && message.contains("NEWROUND"),
        "{message}"
    );
    // Every valid limit keeps the message under it: the largest the check admits for f = 1.
    let largest = (config.limits.max_batch_bytes..=4 << 20)
        .rev()
        .step_by(4096)
        .find(|&bytes| {
            config.limits.max_open_vote_bytes = bytes;
            config.validate().is_ok()
        })
        .expect("some open-vote bound is valid");
    config.limits.max_open_vote_bytes = largest;
    let size = encoded_len(&largest_new_round(1, &config.limits));
    assert!(size <= MAX_MESSAGE, "{largest}: {size} bytes");
}
