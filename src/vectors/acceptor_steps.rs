//! `acceptor-steps.json`: (acceptor state, sender, message) → (next state, effects) or
//! "ignored", through `Acceptor::on_message` and `Acceptor::timeout`. The inputs are the
//! deliveries and timeouts the model offers acceptors in sampled states (the full Byzantine
//! menu, so bad proofs, forged LEARNs and TRUSTCHANGEs from proposers are among them), plus
//! hand-made inputs for the branches a walk rarely meets.

use super::findings::{Findings, compare, domain_auth_of};
use super::json;
use super::parse::{self, Parsed};
use super::select::{Keep, select};
use super::{convert, domain_auth, with_header};
use crate::acceptor::{Acceptor, AcceptorState};
use crate::auth::{Authenticator, HmacSha256, Mac};
use crate::learner;
use crate::message::{Msg, Promise, Vote};
use crate::models::Shape;
use crate::models::actor::ModelNodeState;
use crate::models::model::State;
use crate::models::value::ModelValue;
use crate::models::walk::{self, WalkPlan};
use crate::models::{LearnerMode, Menu, ModelConfig};
use crate::node::{NodeState, peer_of};
use crate::rules::{Rules, valid_proof};
use crate::step::{Effect, Peer, Step, TrustCause};
use crate::types::{AcceptorId, Cluster, ProposerId, Round};
use serde_json::{Value as Json, json};
use stateright::actor::ActorModelAction;
use std::collections::{BTreeMap, BTreeSet};

/// Walks of the default configuration with the full Byzantine menu.
const DEFAULT_PLAN: WalkPlan = WalkPlan {
    walks: 200,
    depth: 40,
    seed: 0x0b0f_a570_0002,
};

/// Walks of a configuration whose acceptors learn from LEARNs (decisions, equivocation seen
/// in LEARNs, forged LEARNs).
const LEARNERS_PLAN: WalkPlan = WalkPlan {
    walks: 200,
    depth: 40,
    seed: 0x0b0f_a570_0003,
};

/// Cases kept per branch.
const KEEP: Keep = Keep {
    first: 4,
    every: 9,
    at_most: 12,
};

/// What an acceptor is given.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Input<V> {
    Message(Peer, Msg<V>),
    Timeout,
}

/// One case before it is run.
pub struct Case {
    pub source: &'static str,
    pub acceptor: AcceptorId,
    pub state: AcceptorState<String>,
    pub input: Input<String>,
}

fn cluster() -> Cluster {
    Cluster::new(1, 2)
}

fn acceptor(id: AcceptorId, auth: HmacSha256) -> Acceptor<HmacSha256> {
    let cluster = cluster();
    Acceptor {
        id,
        cluster,
        rules: Rules::standard(cluster.f),
        auth,
    }
}

pub fn document() -> Json {
    let mut cases = model_cases();
    cases.extend(edge_cases());
    let auth = domain_auth();
    let rendered: Vec<Json> = cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let a = acceptor(case.acceptor, auth.clone());
            json!({
                "id": format!("step-{:03}", i + 1),
                "source": case.source,
                "branch": branch(&a, &case.state, &case.input),
                "acceptor": case.acceptor.0,
                "state": json::acceptor_state(&case.state),
                "input": input_json(&case.input),
                "outcome": outcome(&a, &case.state, &case.input),
            })
        })
        .collect();
    let mut doc = with_header(json::cluster_params(&cluster()), "acceptor-steps");
    doc["cases"] = Json::Array(rendered);
    doc
}

fn input_json(input: &Input<String>) -> Json {
    match input {
        Input::Message(from, msg) => {
            json!({"kind": "message", "from": json::peer(*from), "message": json::message(msg)})
        }
        Input::Timeout => json!({"kind": "timeout"}),
    }
}

/// What the acceptor does with `input`, as the vectors write it.
pub fn outcome(a: &Acceptor<HmacSha256>, s: &AcceptorState<String>, input: &Input<String>) -> Json {
    let step = match input {
        Input::Message(from, msg) => a.on_message(s, *from, msg),
        Input::Timeout => a.timeout(s),
    };
    match step {
        None => json!({"kind": "ignored"}),
        Some(step) => step_json(&step),
    }
}

fn step_json(step: &Step<AcceptorState<String>, String>) -> Json {
    let effects: Vec<Json> = step
        .effects
        .iter()
        .map(|effect| match effect {
            Effect::Persist => json!({"kind": "persist"}),
            Effect::Send(to, msg) => {
                json!({"kind": "send", "to": json::destination(*to), "message": json::message(msg)})
            }
            Effect::TrustChanged { round, cause } => json!({
                "kind": "trust-change",
                "round": round,
                "cause": json::trust_cause(cause),
            }),
            Effect::Decided(d) => {
                json!({"kind": "decided", "round": d.round, "value": json::value(&d.value)})
            }
        })
        .collect();
    json!({"kind": "step", "state": json::acceptor_state(&step.state), "effects": effects})
}

/// Which branch of the acceptor's step functions the input takes: a label for readers and
/// for the selection. What the step does (vote, trust change, ignore) is read off the step
/// itself; only the reason for ignoring an input is told apart here.
pub fn branch<A: Authenticator>(
    a: &Acceptor<A>,
    s: &AcceptorState<String>,
    input: &Input<String>,
) -> &'static str {
    let Input::Message(from, msg) = input else {
        return if s.learner.decided.is_some() {
            "timeout after a decision: ignored"
        } else {
            "timeout: trust change"
        };
    };
    match (from, msg) {
        (Peer::Proposer(p), Msg::Accept { round, value, .. }) => {
            let voted = s.last_vote.as_ref().filter(|v| v.round == *round);
            if *p != a.cluster.leader(*round) {
                return "ACCEPT from a proposer that does not lead its round: ignored";
            } else if *round < s.rnd {
                return "ACCEPT of a round below rnd: ignored";
            } else if round.checked_add(1).is_none() {
                return "ACCEPT of the last round there is: ignored";
            } else if voted.is_some_and(|v| v.value == *value) {
                return "ACCEPT already voted for (duplicate): ignored";
            }
            let cause = a.on_message(s, *from, msg).map(|step| {
                step.effects.into_iter().find_map(|e| match e {
                    Effect::TrustChanged { cause, .. } => Some(cause),
                    _ => None,
                })
            });
            match cause {
                None => "ACCEPT with an invalid proof from a later round's leader: ignored",
                Some(None) if *round == 0 => "ACCEPT of round 0: vote",
                Some(None) => "ACCEPT with a valid proof: vote",
                Some(Some(TrustCause::Equivocation)) => {
                    "ACCEPT of a second value in a round voted in (equivocation): trust change"
                }
                Some(Some(_)) => {
                    "ACCEPT with an invalid proof from the trusted leader: trust change"
                }
            }
        }
        (Peer::Acceptor(_), Msg::TrustChange { round }) if *round > s.rnd => {
            "TRUSTCHANGE above rnd: join the round"
        }
        (Peer::Acceptor(_), Msg::TrustChange { .. }) => "TRUSTCHANGE not above rnd: ignored",
        (Peer::Acceptor(b), Msg::Learn { round, value }) => learn_branch(a, s, *b, *round, value),
        (Peer::Proposer(_), Msg::TrustChange { .. }) => "TRUSTCHANGE from a proposer: ignored",
        (Peer::Proposer(_), Msg::Learn { .. }) => "LEARN from a proposer: ignored",
        (_, Msg::Promise(_)) => "PROMISE sent to an acceptor: ignored",
        (Peer::Client, _) => "message from a client: ignored",
        (Peer::Acceptor(_), Msg::Accept { .. }) => "ACCEPT from an acceptor: ignored",
    }
}

fn learn_branch<A: Authenticator>(
    a: &Acceptor<A>,
    s: &AcceptorState<String>,
    b: AcceptorId,
    round: Round,
    value: &String,
) -> &'static str {
    let Some(learned) = learner::learn(a.rules.quorum, &s.learner, b, round, value) else {
        return if s.learner.decided.is_some() {
            "LEARN after a decision: ignored"
        } else {
            "LEARN already received: ignored"
        };
    };
    let equivocation = learned.equivocation;
    if learned.decided.is_some() {
        "LEARN completing a quorum: decide"
    } else if equivocation && round == s.rnd {
        "LEARN of a second value in the current round (equivocation): trust change"
    } else if equivocation {
        "LEARN of a second value in another round: recorded"
    } else {
        "LEARN: recorded"
    }
}

/// The inputs the model offers acceptors in the sampled states of both configurations,
/// deduplicated and in a fixed order, then a selection per branch.
fn model_cases() -> Vec<Case> {
    let default = ModelConfig {
        menu: Menu::Full,
        ..ModelConfig::default()
    };
    let learners = ModelConfig {
        learners: LearnerMode::Acceptors,
        max_round: 1,
        max_crashes: 0,
        menu: Menu::Full,
        ..ModelConfig::default()
    };
    type Key = (u16, AcceptorState<ModelValue>, Input<ModelValue>);
    let mut inputs: BTreeSet<Key> = BTreeSet::new();
    for (cfg, plan) in [(default, DEFAULT_PLAN), (learners, LEARNERS_PLAN)] {
        let model = cfg.clone().into_model();
        for state in walk::sample(&model, plan) {
            for action in walk::sorted_actions(&model, &state) {
                let (dst, input) = match action {
                    ActorModelAction::Deliver { src, dst, msg } => {
                        (dst, Input::Message(peer_of(&cfg.cluster(), src), msg))
                    }
                    ActorModelAction::Timeout(id, _) => (id, Input::Timeout),
                    _ => continue,
                };
                if let Some(s) = acceptor_state(&state, usize::from(dst)) {
                    inputs.insert((usize::from(dst) as u16, s.clone(), input));
                }
            }
        }
    }
    let auth = domain_auth();
    // Invalid proofs are told apart by their error, so that each kind shows up.
    let mut by_branch: BTreeMap<(&'static str, String), Vec<Case>> = BTreeMap::new();
    for (id, state, input) in inputs {
        let input = match input {
            Input::Message(from, msg) => Input::Message(from, convert::message(&auth, &msg)),
            Input::Timeout => Input::Timeout,
        };
        let case = Case {
            source: "model",
            acceptor: AcceptorId(id),
            state: convert::acceptor_state(&state),
            input,
        };
        let a = acceptor(case.acceptor, auth.clone());
        let label = branch(&a, &case.state, &case.input);
        let detail = match &case.input {
            Input::Message(
                _,
                Msg::Accept {
                    round,
                    value,
                    proof,
                },
            ) if label.contains("invalid") => valid_proof(&a.rules, &a.auth, *round, value, proof)
                .err()
                .map(|e| json::proof_error(&e)["kind"].to_string())
                .unwrap_or_default(),
            _ => String::new(),
        };
        by_branch.entry((label, detail)).or_default().push(case);
    }
    select(by_branch, KEEP)
}

fn acceptor_state(state: &State, index: usize) -> Option<&AcceptorState<ModelValue>> {
    match state.actor_states.get(index).map(|s| &**s) {
        Some(ModelNodeState::Honest(NodeState::Acceptor(s))) => Some(s),
        _ => None,
    }
}

fn vote(round: Round, value: &str) -> Option<Vote<String>> {
    Some(Vote {
        round,
        value: value.to_string(),
    })
}

fn state(rnd: Round, last_vote: Option<Vote<String>>) -> AcceptorState<String> {
    AcceptorState {
        rnd,
        last_vote,
        ..AcceptorState::initial()
    }
}

fn accept(round: Round, value: &str, proof: Vec<Promise<String>>) -> Msg<String> {
    Msg::Accept {
        round,
        value: value.to_string(),
        proof: proof.into(),
    }
}

fn edge(acceptor: u16, state: AcceptorState<String>, from: Peer, msg: Msg<String>) -> Case {
    Case {
        source: "edge",
        acceptor: AcceptorId(acceptor),
        state,
        input: Input::Message(from, msg),
    }
}

/// Inputs no model walk produces: senders and messages outside the model's menu, altered
/// and foreign authenticators, the last round, and decided acceptors.
fn edge_cases() -> Vec<Case> {
    let auth = domain_auth();
    let promise = |a: u16, v| Promise::signed(&auth, 1, AcceptorId(a), v);
    let quorum = vec![promise(0, None), promise(1, vote(0, "A")), promise(2, None)];
    let p1 = Peer::Proposer(ProposerId(1));
    let mut altered = quorum.clone();
    altered[1].last_vote = None;
    let mut foreign = quorum.clone();
    foreign[2] = Promise::signed(
        &HmacSha256::new(&[0x99; 32]).expect("long enough"),
        1,
        AcceptorId(2),
        None,
    );
    let mut forged = quorum.clone();
    forged[0].mac = Mac::FORGED;
    let mut decided = state(0, vote(0, "A"));
    decided.learner.decided = Some(crate::learner::Decision {
        round: 0,
        value: "A".to_string(),
    });
    vec![
        edge(
            0,
            state(1, vote(0, "A")),
            p1,
            accept(1, "A", quorum.clone()),
        ),
        edge(
            0,
            state(1, vote(0, "A")),
            p1,
            accept(1, "B", quorum.clone()),
        ),
        edge(3, state(1, None), p1, accept(1, "B", altered)),
        edge(3, state(1, None), p1, accept(1, "A", foreign)),
        edge(3, state(0, None), p1, accept(1, "A", forged)),
        edge(
            3,
            state(1, None),
            p1,
            accept(
                1,
                "A",
                vec![quorum[0].clone(), quorum[0].clone(), quorum[1].clone()],
            ),
        ),
        edge(
            2,
            state(0, None),
            p1,
            accept(Round::MAX, "A", quorum.clone()),
        ),
        // Round 1's proof replayed by the leader of round 3.
        edge(2, state(3, None), p1, accept(3, "A", quorum.clone())),
        edge(
            2,
            state(1, None),
            p1,
            accept(
                1,
                "A",
                vec![
                    quorum[0].clone(),
                    quorum[1].clone(),
                    promise(2, vote(1, "B")),
                ],
            ),
        ),
        edge(
            2,
            state(3, None),
            Peer::Proposer(ProposerId(0)),
            accept(2, "A", Vec::new()),
        ),
        edge(
            1,
            state(1, None),
            Peer::Acceptor(AcceptorId(0)),
            accept(1, "A", quorum.clone()),
        ),
        edge(
            1,
            state(1, None),
            Peer::Client,
            accept(1, "A", quorum.clone()),
        ),
        edge(
            1,
            state(1, None),
            Peer::Acceptor(AcceptorId(2)),
            Msg::Promise(quorum[2].clone()),
        ),
        edge(
            1,
            decided.clone(),
            Peer::Acceptor(AcceptorId(2)),
            Msg::Learn {
                round: 0,
                value: "B".to_string(),
            },
        ),
        edge(
            1,
            decided.clone(),
            Peer::Acceptor(AcceptorId(2)),
            Msg::TrustChange { round: 1 },
        ),
        Case {
            source: "edge",
            acceptor: AcceptorId(1),
            state: decided,
            input: Input::Timeout,
        },
    ]
}

/// Checks every case of a stored `acceptor-steps.json`.
pub fn verify(doc: &Json, findings: &mut Findings) -> Parsed<()> {
    let auth = domain_auth_of(doc)?;
    let f = parse::u64_field(doc, "f")?;
    let proposers = parse::u64_field(doc, "proposers")?;
    let cluster = Cluster::new(f as usize, proposers as usize);
    for case in parse::array_field(doc, "cases")? {
        let id = parse::str_field(case, "id")?;
        let a = Acceptor {
            id: AcceptorId(parse::u16_field(case, "acceptor")?),
            cluster,
            rules: Rules::standard(cluster.f),
            auth: auth.clone(),
        };
        let state = parse::acceptor_state(case.get("state").unwrap_or(&Json::Null))?;
        let input = case.get("input").unwrap_or(&Json::Null);
        let input = match parse::str_field(input, "kind")? {
            "timeout" => Input::Timeout,
            "message" => Input::Message(
                parse::peer(input.get("from").unwrap_or(&Json::Null))?,
                parse::message(input.get("message").unwrap_or(&Json::Null))?,
            ),
            other => return Err(format!("{id}: no input kind {other:?}")),
        };
        let expected = case.get("outcome").unwrap_or(&Json::Null);
        compare(
            findings,
            id,
            "outcome",
            expected,
            &outcome(&a, &state, &input),
        );
        let label = case.get("branch").unwrap_or(&Json::Null);
        compare(
            findings,
            id,
            "branch",
            label,
            &json!(branch(&a, &state, &input)),
        );
    }
    Ok(())
}
