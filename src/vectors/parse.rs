//! Reading the vectors' JSON back into the protocol's types (the inverse of [`super::json`]),
//! with string values. Errors say which field is wrong.

use crate::acceptor::AcceptorState;
use crate::auth::Mac;
use crate::learner::{Decision, LearnerState};
use crate::message::{Msg, Promise, Vote};
use crate::step::Peer;
use crate::types::{AcceptorId, ProposerId, Round};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

pub type Parsed<T> = Result<T, String>;

fn field<'a>(j: &'a Json, name: &str) -> Parsed<&'a Json> {
    j.get(name)
        .ok_or_else(|| format!("no field {name:?} in {j}"))
}

pub fn u64_field(j: &Json, name: &str) -> Parsed<u64> {
    field(j, name)?
        .as_u64()
        .ok_or_else(|| format!("{name:?} is not an unsigned integer in {j}"))
}

pub fn round_field(j: &Json, name: &str) -> Parsed<Round> {
    Round::try_from(u64_field(j, name)?).map_err(|_| format!("{name:?} is not a u32 in {j}"))
}

pub fn u16_field(j: &Json, name: &str) -> Parsed<u16> {
    u16::try_from(u64_field(j, name)?).map_err(|_| format!("{name:?} is not a u16 in {j}"))
}

pub fn str_field<'a>(j: &'a Json, name: &str) -> Parsed<&'a str> {
    field(j, name)?
        .as_str()
        .ok_or_else(|| format!("{name:?} is not a string in {j}"))
}

pub fn array_field<'a>(j: &'a Json, name: &str) -> Parsed<&'a Vec<Json>> {
    field(j, name)?
        .as_array()
        .ok_or_else(|| format!("{name:?} is not an array in {j}"))
}

pub fn hex_field(j: &Json, name: &str) -> Parsed<Vec<u8>> {
    hex::decode(str_field(j, name)?).map_err(|e| format!("{name:?} is not hex ({e}) in {j}"))
}

pub fn value(j: &Json, name: &str) -> Parsed<String> {
    Ok(str_field(j, name)?.to_string())
}

pub fn vote(j: &Json) -> Parsed<Option<Vote<String>>> {
    if j.is_null() {
        return Ok(None);
    }
    Ok(Some(Vote {
        round: round_field(j, "round")?,
        value: value(j, "value")?,
    }))
}

pub fn promise(j: &Json) -> Parsed<Promise<String>> {
    let mac: [u8; 32] = hex_field(j, "mac")?
        .try_into()
        .map_err(|_| format!("a mac is 32 bytes, in {j}"))?;
    Ok(Promise {
        round: round_field(j, "round")?,
        acceptor: AcceptorId(u16_field(j, "acceptor")?),
        last_vote: vote(field(j, "last_vote")?)?,
        mac: Mac(mac),
    })
}

pub fn proof(j: &Json) -> Parsed<Vec<Promise<String>>> {
    j.as_array()
        .ok_or_else(|| format!("a proof is an array, not {j}"))?
        .iter()
        .map(promise)
        .collect()
}

pub fn message(j: &Json) -> Parsed<Msg<String>> {
    Ok(match str_field(j, "type")? {
        "ACCEPT" => Msg::Accept {
            round: round_field(j, "round")?,
            value: value(j, "value")?,
            proof: proof(field(j, "proof")?)?.into(),
        },
        "PROMISE" => Msg::Promise(promise(j)?),
        "LEARN" => Msg::Learn {
            round: round_field(j, "round")?,
            value: value(j, "value")?,
        },
        "TRUSTCHANGE" => Msg::TrustChange {
            round: round_field(j, "round")?,
        },
        other => return Err(format!("no message type {other:?}")),
    })
}

pub fn peer(j: &Json) -> Parsed<Peer> {
    Ok(match str_field(j, "role")? {
        "acceptor" => Peer::Acceptor(AcceptorId(u16_field(j, "index")?)),
        "proposer" => Peer::Proposer(ProposerId(u16_field(j, "index")?)),
        "client" => Peer::Client,
        other => return Err(format!("no role {other:?}")),
    })
}

pub fn acceptor_state(j: &Json) -> Parsed<AcceptorState<String>> {
    let mut learned: BTreeMap<Round, BTreeSet<(AcceptorId, String)>> = BTreeMap::new();
    for by_round in array_field(j, "learned")? {
        let round = round_field(by_round, "round")?;
        let learns = learned.entry(round).or_default();
        for learn in array_field(by_round, "learns")? {
            learns.insert((
                AcceptorId(u16_field(learn, "acceptor")?),
                value(learn, "value")?,
            ));
        }
    }
    let decided = field(j, "decided")?;
    let decided = if decided.is_null() {
        None
    } else {
        Some(Decision {
            round: round_field(decided, "round")?,
            value: value(decided, "value")?,
        })
    };
    Ok(AcceptorState {
        rnd: round_field(j, "rnd")?,
        last_vote: vote(field(j, "last_vote")?)?,
        learner: LearnerState { learned, decided },
    })
}
