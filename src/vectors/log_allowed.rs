//! The replicated log's cases of `allowed.json` (PROTOCOL.md §8): a proof of log PROMISEs, a
//! slot and a value; what the proof allows in that slot (closed below the largest decided
//! prefix, else `Allowed` over the votes reported for the slot) and `ValidProof(r, s, v, Q)`.

use super::domain_auth;
use super::findings::{Findings, compare};
use super::json;
use super::parse::{self, Parsed};
use crate::auth::{HmacSha256, Mac};
use crate::log::Slot;
use crate::log::message::{LogPromise, SlotVote};
use crate::log::rules::{SlotRule, distinct_acceptors, slot_rule, valid_log_proof};
use crate::message::Vote;
use crate::rules::Rules;
use crate::types::{AcceptorId, Cluster, Round};
use serde_json::{Value as Json, json};

struct Case {
    description: &'static str,
    round: Round,
    slot: Slot,
    value: &'static str,
    proof: Vec<LogPromise<String>>,
}

fn cluster() -> Cluster {
    Cluster::new(1, 2)
}

pub fn log_promise(p: &LogPromise<String>) -> Json {
    json::log_promise(p, json::value)
}

fn parse_log_promise(j: &Json) -> Parsed<LogPromise<String>> {
    let mac: [u8; 32] = parse::hex_field(j, "mac")?
        .try_into()
        .map_err(|_| format!("a mac is 32 bytes, in {j}"))?;
    let votes = parse::array_field(j, "votes")?
        .iter()
        .map(|v| {
            Ok(SlotVote {
                slot: parse::u64_field(v, "slot")?,
                vote: Vote {
                    round: parse::round_field(v, "round")?,
                    value: parse::value(v, "value")?,
                },
            })
        })
        .collect::<Parsed<Vec<_>>>()?;
    Ok(LogPromise {
        round: parse::round_field(j, "round")?,
        acceptor: AcceptorId(parse::u16_field(j, "acceptor")?),
        decided_prefix: parse::u64_field(j, "decided_prefix")?,
        votes: votes.into(),
        mac: Mac(mac),
    })
}

/// What Q allows in the slot, as the vectors write it.
fn rule_json(rule: &SlotRule<String>) -> Json {
    match rule {
        SlotRule::Closed { decided_prefix } => {
            json!({"closed": true, "decided_prefix": decided_prefix, "allowed": null})
        }
        SlotRule::Open(allowed) => {
            json!({"closed": false, "decided_prefix": null, "allowed": json::allowed(allowed)})
        }
    }
}

fn outcome(
    rules: &Rules,
    auth: &HmacSha256,
    round: Round,
    slot: Slot,
    value: &String,
    proof: &[LogPromise<String>],
) -> (Json, Json) {
    let rule = slot_rule(rules, &distinct_acceptors(proof), slot);
    let verdict = valid_log_proof(rules, auth, round, slot, value, proof);
    (rule_json(&rule), json::verdict(&verdict))
}

fn vote(slot: Slot, round: Round, value: &str) -> SlotVote<String> {
    SlotVote {
        slot,
        vote: Vote {
            round,
            value: value.to_string(),
        },
    }
}

fn signed(round: Round, a: u16, d: Slot, votes: Vec<SlotVote<String>>) -> LogPromise<String> {
    LogPromise::signed(&domain_auth(), round, AcceptorId(a), d, votes)
}

fn cases() -> Vec<Case> {
    // A proof for round 2: acceptor 0 learned slots 0 and 1 decided; slot 2 holds A twice in
    // round 1, slot 3 a single B in round 0, slot 4 A and B in round 1.
    let proof = || {
        vec![
            signed(2, 0, 2, vec![vote(2, 1, "A"), vote(4, 1, "A")]),
            signed(
                2,
                1,
                0,
                vec![vote(0, 0, "A"), vote(2, 1, "A"), vote(3, 0, "B")],
            ),
            signed(2, 3, 1, vec![vote(4, 1, "B")]),
        ]
    };
    let case = |description, slot, value, proof| Case {
        description,
        round: 2,
        slot,
        value,
        proof,
    };
    let mut altered = proof();
    altered[1].votes = vec![vote(0, 0, "A"), vote(3, 0, "B")].into();
    let mut forged = proof();
    forged[2].mac = Mac::FORGED;
    vec![
        case(
            "slot 0 is below the largest decided prefix (2): closed",
            0,
            "A",
            proof(),
        ),
        case("slot 1 is closed too, whatever the votes", 1, "B", proof()),
        case(
            "slot 2: A voted twice in round 1, possibly chosen",
            2,
            "A",
            proof(),
        ),
        case("slot 2: B is not allowed", 2, "B", proof()),
        case("slot 3: a single B in round 0", 3, "Z", proof()),
        case("slot 4: A and B in round 1, every value", 4, "Z", proof()),
        case("slot 9: no votes, a free slot", 9, "Z", proof()),
        case(
            "a log PROMISE whose votes were altered after signing",
            9,
            "Z",
            altered,
        ),
        case("a forged mac", 9, "Z", forged),
        case(
            "a log PROMISE for round 1 in a proof for round 2",
            9,
            "Z",
            vec![
                proof()[0].clone(),
                proof()[1].clone(),
                signed(1, 3, 0, Vec::new()),
            ],
        ),
        case(
            "a log PROMISE reporting a vote in round 2",
            9,
            "Z",
            vec![
                proof()[0].clone(),
                proof()[1].clone(),
                signed(2, 3, 0, vec![vote(5, 2, "A")]),
            ],
        ),
        case(
            "two acceptors only",
            9,
            "Z",
            proof().into_iter().take(2).collect(),
        ),
    ]
}

/// The `log` section of `allowed.json`.
pub fn section() -> Json {
    let c = cluster();
    let rules = Rules::standard(c.f);
    let auth = domain_auth();
    let cases: Vec<Json> = cases()
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let value = case.value.to_string();
            let (rule, verdict) =
                outcome(&rules, &auth, case.round, case.slot, &value, &case.proof);
            json!({
                "id": format!("log-{:03}", i + 1),
                "source": "edge",
                "description": case.description,
                "round": case.round,
                "slot": case.slot,
                "value": value,
                "proof": case.proof.iter().map(log_promise).collect::<Vec<_>>(),
                "slot_rule": rule,
                "valid_proof": verdict,
            })
        })
        .collect();
    let mut out = json::cluster_params(&c);
    out["cases"] = Json::Array(cases);
    out
}

/// Checks the `log` section of a stored `allowed.json`.
pub fn verify(section: &Json, auth: &HmacSha256, findings: &mut Findings) -> Parsed<()> {
    let f = parse::u64_field(section, "f")?;
    let rules = Rules::standard(f as usize);
    for case in parse::array_field(section, "cases")? {
        let id = parse::str_field(case, "id")?;
        let proof = parse::array_field(case, "proof")?
            .iter()
            .map(parse_log_promise)
            .collect::<Parsed<Vec<_>>>()?;
        let (rule, verdict) = outcome(
            &rules,
            auth,
            parse::round_field(case, "round")?,
            parse::u64_field(case, "slot")?,
            &parse::value(case, "value")?,
            &proof,
        );
        compare(
            findings,
            id,
            "slot rule",
            case.get("slot_rule").unwrap_or(&Json::Null),
            &rule,
        );
        compare(
            findings,
            id,
            "ValidProof",
            case.get("valid_proof").unwrap_or(&Json::Null),
            &verdict,
        );
    }
    Ok(())
}
