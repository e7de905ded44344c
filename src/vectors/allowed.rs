//! `allowed.json`: proofs (sets of PROMISEs) with a round and a value, and the verdicts of
//! `Allowed(Q)` and `ValidProof(r, v, Q)` (PROTOCOL.md §4). The proofs are the ones proposers
//! hold in states the default model configuration reaches, plus hand-made edge cases.

use super::json;
use super::select::{Keep, select};
use super::{convert, domain_auth, with_header};
use crate::auth::{HmacSha256, Mac};
use crate::message::{Promise, Vote};
use crate::models::ModelConfig;
use crate::models::Shape;
use crate::models::actor::ModelNodeState;
use crate::models::byzantine::subsets;
use crate::models::model::State;
use crate::models::value::ModelValue;
use crate::models::walk::{self, WalkPlan};
use crate::node::NodeState;
use crate::rules::{Rules, allowed, distinct_acceptors, valid_proof};
use crate::types::{AcceptorId, Cluster, Round};
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};

/// The walks over the default configuration whose proofs become cases.
pub const PLAN: WalkPlan = WalkPlan {
    walks: 300,
    depth: 40,
    seed: 0x0b0f_a570_0001,
};

/// Cases kept per (rule, verdict) bucket.
const KEEP: Keep = Keep {
    first: 6,
    every: 7,
    at_most: 14,
};

/// A proof as the model holds it, without authenticators: `(acceptor, last vote)` in order.
type ProofContent = Vec<(AcceptorId, Option<Vote<ModelValue>>)>;

/// One case: a proof, a round and a value.
pub struct Case {
    pub source: &'static str,
    pub description: String,
    pub round: Round,
    pub value: String,
    pub proof: Vec<Promise<String>>,
}

pub fn document() -> Json {
    let cfg = ModelConfig::default();
    let model = cfg.clone().into_model();
    let states = walk::sample(&model, PLAN);
    let mut f1 = model_cases(&cfg, &states);
    f1.extend(edge_cases_f1());
    let groups = vec![
        group(cfg.cluster(), f1),
        group(Cluster::new(2, 2), edge_cases_f2()),
    ];
    let doc = json!({
        "groups": groups,
        "log": super::log_allowed::section(),
    });
    with_header(doc, "allowed")
}

fn group(cluster: Cluster, cases: Vec<Case>) -> Json {
    let rules = Rules::standard(cluster.f);
    let auth = domain_auth();
    let cases: Vec<Json> = cases
        .iter()
        .enumerate()
        .map(|(i, case)| render(&rules, &auth, &format!("f{}-{:03}", cluster.f, i + 1), case))
        .collect();
    let mut out = json::cluster_params(&cluster);
    out["cases"] = Json::Array(cases);
    out
}

/// A case and its verdicts, as the implementation computes them.
pub fn render(rules: &Rules, auth: &HmacSha256, id: &str, case: &Case) -> Json {
    let q = distinct_acceptors(&case.proof);
    let verdict = valid_proof(rules, auth, case.round, &case.value, &case.proof);
    json!({
        "id": id,
        "source": case.source,
        "description": case.description,
        "round": case.round,
        "value": case.value,
        "proof": json::proof(&case.proof),
        "allowed": json::allowed(&allowed(rules, &q)),
        "valid_proof": json::verdict(&verdict),
    })
}

/// Every proof a proposer holds (or can build: any `2f` or more of its PROMISEs of one
/// round) in the sampled states, with each value of the domain; a selection of them.
fn model_cases(cfg: &ModelConfig, states: &[State]) -> Vec<Case> {
    let min_size = 2 * cfg.f;
    let mut candidates: BTreeSet<(Round, ProofContent, ModelValue, String)> = BTreeSet::new();
    for state in states {
        for (holder, by_round) in held_promises(cfg, state) {
            for (round, promises) in by_round {
                for size in min_size..=promises.len() {
                    for subset in subsets(&promises, size) {
                        for value in cfg.values() {
                            candidates.insert((round, subset.clone(), value, holder.clone()));
                        }
                    }
                }
            }
        }
    }
    // One case per (round, proof, value), whoever held it.
    let mut distinct: BTreeMap<(Round, ProofContent, ModelValue), String> = BTreeMap::new();
    for (round, proof, value, holder) in candidates {
        distinct.entry((round, proof, value)).or_insert(holder);
    }
    let rules = cfg.rules();
    let auth = domain_auth();
    let mut buckets: BTreeMap<(u8, String), Vec<Case>> = BTreeMap::new();
    for ((round, content, value), holder) in distinct {
        let proof: Vec<Promise<String>> = content
            .iter()
            .map(|(a, v)| Promise::signed(&auth, round, *a, v.as_ref().map(convert::vote)))
            .collect();
        let case = Case {
            source: "model",
            description: format!("PROMISEs held by {holder} for round {round}"),
            round,
            value: convert::value(&value),
            proof,
        };
        let q = distinct_acceptors(&case.proof);
        let rule = json::case_rule(allowed(&rules, &q).case);
        let verdict = match valid_proof(&rules, &auth, round, &case.value, &case.proof) {
            Ok(()) => "ok".to_string(),
            Err(e) => json::proof_error(&e)["kind"].to_string(),
        };
        buckets.entry((rule, verdict)).or_default().push(case);
    }
    select(buckets, KEEP)
}

/// The genuine PROMISEs each proposer holds in `state`, by round, as contents.
fn held_promises(cfg: &ModelConfig, state: &State) -> Vec<(String, BTreeMap<Round, ProofContent>)> {
    let mut out = Vec::new();
    for (index, actor) in state.actor_states.iter().enumerate() {
        let Some(p) = index
            .checked_sub(cfg.acceptors())
            .filter(|p| *p < cfg.proposers)
        else {
            continue;
        };
        let mut by_round: BTreeMap<Round, ProofContent> = BTreeMap::new();
        match &**actor {
            ModelNodeState::Byzantine(b) => {
                for promise in &b.promises {
                    by_round
                        .entry(promise.round)
                        .or_default()
                        .push((promise.acceptor, promise.last_vote.clone()));
                }
            }
            ModelNodeState::Honest(NodeState::Proposer(honest)) => {
                for (round, promises) in &honest.promises {
                    by_round.insert(
                        *round,
                        promises
                            .values()
                            .map(|p| (p.acceptor, p.last_vote.clone()))
                            .collect(),
                    );
                }
            }
            _ => continue,
        }
        let kind = if matches!(&**actor, ModelNodeState::Byzantine(_)) {
            "Byzantine "
        } else {
            "honest "
        };
        for promises in by_round.values_mut() {
            promises.sort();
        }
        out.push((format!("{kind}p{p}"), by_round));
    }
    out
}

fn vote(round: Round, value: &str) -> Option<Vote<String>> {
    Some(Vote {
        round,
        value: value.to_string(),
    })
}

fn signed(round: Round, acceptor: u16, last_vote: Option<Vote<String>>) -> Promise<String> {
    Promise::signed(&domain_auth(), round, AcceptorId(acceptor), last_vote)
}

fn edge(description: &str, round: Round, value: &str, proof: Vec<Promise<String>>) -> Case {
    Case {
        source: "edge",
        description: description.to_string(),
        round,
        value: value.to_string(),
        proof,
    }
}

/// Edge cases for f = 1 (4 acceptors, quorums of 3). Each has a single defect, so its
/// verdict does not depend on the order in which an implementation checks.
fn edge_cases_f1() -> Vec<Case> {
    let a0 = signed(2, 0, vote(1, "A"));
    let a1 = signed(2, 1, vote(1, "A"));
    let a2 = signed(2, 2, None);
    let base = || vec![a0.clone(), a1.clone(), a2.clone()];
    let mut cases = vec![
        edge(
            "a quorum, A possibly chosen in round 1: A allowed",
            2,
            "A",
            base(),
        ),
        edge(
            "a quorum, A possibly chosen in round 1: B not allowed",
            2,
            "B",
            base(),
        ),
        edge(
            "a duplicate PROMISE of one acceptor is ignored",
            2,
            "A",
            vec![a0.clone(), a0.clone(), a1.clone(), a2.clone()],
        ),
        edge(
            "two PROMISEs of one acceptor that disagree: the first counts",
            2,
            "B",
            vec![
                signed(2, 0, None),
                a0.clone(),
                signed(2, 1, None),
                a2.clone(),
            ],
        ),
        edge(
            "duplicates do not make a quorum",
            2,
            "A",
            vec![a0.clone(), a0.clone(), a1.clone()],
        ),
        edge(
            "an extra PROMISE: |Q| = 4 raises rule 2's threshold to 3, A and B in round 1",
            2,
            "Z",
            vec![
                a0.clone(),
                a1.clone(),
                signed(2, 2, vote(1, "B")),
                signed(2, 3, None),
            ],
        ),
        edge(
            "the same votes in a quorum of 3: A (2 votes) possibly chosen",
            2,
            "Z",
            vec![a0.clone(), a1.clone(), signed(2, 2, vote(1, "B"))],
        ),
        edge(
            "every PROMISE of the cluster, one vote for B in round 0 only",
            2,
            "A",
            vec![
                signed(2, 0, None),
                signed(2, 1, vote(0, "B")),
                signed(2, 2, None),
                signed(2, 3, None),
            ],
        ),
        edge(
            "the highest round decides: B in round 1 beats A twice in round 0",
            2,
            "A",
            vec![
                signed(2, 0, vote(0, "A")),
                signed(2, 1, vote(0, "A")),
                signed(2, 2, vote(1, "B")),
            ],
        ),
        edge(
            "a stale PROMISE (round 1) in a proof for round 2",
            2,
            "A",
            vec![a0.clone(), a1.clone(), signed(1, 2, None)],
        ),
        edge(
            "a proof for round 1 replayed for round 2",
            2,
            "A",
            vec![signed(1, 0, None), signed(1, 1, None), signed(1, 2, None)],
        ),
        edge(
            "a PROMISE reporting a vote in the proof's own round",
            2,
            "A",
            vec![a0.clone(), a1.clone(), signed(2, 2, vote(2, "A"))],
        ),
        edge(
            "a PROMISE reporting a vote above the proof's round",
            1,
            "A",
            vec![
                signed(1, 0, None),
                signed(1, 1, None),
                signed(1, 2, vote(2, "B")),
            ],
        ),
        edge(
            "a PROMISE of acceptor index 4, which does not exist with f = 1",
            2,
            "A",
            vec![a0.clone(), a1.clone(), signed(2, 4, None)],
        ),
        edge(
            "two PROMISEs, one short of a quorum",
            2,
            "A",
            vec![a0.clone(), a1.clone()],
        ),
        edge("no PROMISE at all", 1, "A", Vec::new()),
        edge(
            "an all-zero (forged) authenticator",
            2,
            "A",
            vec![
                a0.clone(),
                a1.clone(),
                Promise {
                    mac: Mac::FORGED,
                    ..a2.clone()
                },
            ],
        ),
        edge(
            "an altered PROMISE: the vote changed after signing",
            2,
            "B",
            vec![
                a0.clone(),
                Promise {
                    last_vote: None,
                    ..a1.clone()
                },
                a2.clone(),
            ],
        ),
        edge(
            "a PROMISE whose acceptor was changed after signing",
            2,
            "A",
            vec![
                a0.clone(),
                a1.clone(),
                Promise {
                    acceptor: AcceptorId(3),
                    ..a2.clone()
                },
            ],
        ),
        edge(
            "a PROMISE signed under another key",
            2,
            "A",
            vec![
                a0.clone(),
                a1.clone(),
                Promise::signed(
                    &HmacSha256::new(&[0x99; 32]).expect("long enough"),
                    2,
                    AcceptorId(2),
                    None,
                ),
            ],
        ),
        edge(
            "a single value voted in round 1 (one acceptor): only that value",
            2,
            "Z",
            vec![
                signed(2, 0, vote(1, "B")),
                signed(2, 1, None),
                signed(2, 2, None),
            ],
        ),
        edge(
            "an older vote for another value is no equivocation: only A, voted in round 1",
            2,
            "B",
            vec![
                signed(2, 0, vote(1, "A")),
                signed(2, 1, vote(0, "B")),
                signed(2, 2, None),
            ],
        ),
        edge(
            "round 0 saw an equivocation: every value, Z included",
            1,
            "Z",
            vec![
                signed(1, 0, vote(0, "A")),
                signed(1, 1, vote(0, "B")),
                signed(1, 3, None),
            ],
        ),
    ];
    // Values that need the String encoding's length prefix to stay apart.
    cases.push(edge(
        "values of several bytes, one the prefix of the other",
        3,
        "AB",
        vec![
            signed(3, 1, vote(2, "AB")),
            signed(3, 2, vote(2, "A")),
            signed(3, 3, None),
        ],
    ));
    cases
}

/// Edge cases for f = 2 (7 acceptors, quorums of 5, rule 2's threshold `|Q| - 2`).
fn edge_cases_f2() -> Vec<Case> {
    let p = |a: u16, v: Option<Vote<String>>| signed(3, a, v);
    vec![
        edge(
            "no votes: every value",
            3,
            "Z",
            (0..5).map(|a| p(a, None)).collect(),
        ),
        edge(
            "A voted by 3 of 5 in round 2: possibly chosen",
            3,
            "B",
            vec![
                p(0, vote(2, "A")),
                p(1, vote(2, "A")),
                p(2, vote(2, "A")),
                p(3, None),
                p(4, vote(1, "B")),
            ],
        ),
        edge(
            "A voted by 2 of 5 in round 2, nothing else there: single value",
            3,
            "A",
            vec![
                p(0, vote(2, "A")),
                p(1, vote(2, "A")),
                p(2, vote(1, "B")),
                p(3, None),
                p(6, None),
            ],
        ),
        edge(
            "A twice and B twice in round 2: equivocated, every value",
            3,
            "Z",
            vec![
                p(0, vote(2, "A")),
                p(1, vote(2, "A")),
                p(2, vote(2, "B")),
                p(3, vote(2, "B")),
                p(4, None),
            ],
        ),
        edge(
            "six PROMISEs: the threshold becomes 4, A has 3, B has 1",
            3,
            "B",
            vec![
                p(0, vote(2, "A")),
                p(1, vote(2, "A")),
                p(2, vote(2, "A")),
                p(3, vote(2, "B")),
                p(4, None),
                p(5, None),
            ],
        ),
        edge(
            "four PROMISEs: one short of a quorum of 5",
            3,
            "A",
            (0..4).map(|a| p(a, None)).collect(),
        ),
        edge(
            "acceptor index 7 does not exist with f = 2",
            3,
            "A",
            vec![p(0, None), p(1, None), p(2, None), p(3, None), p(7, None)],
        ),
    ]
}
