//! Runs this implementation against stored vector files: every case's input goes through the
//! project's own functions, and what they return is compared with the expected result. Each
//! checker returns one line per disagreement (empty: the file holds).

use super::findings::{Findings, compare, domain_auth_of};
use super::parse::{self, Parsed};
use super::{
    FORMAT_VERSION, acceptor_steps, counterexamples, encoding, format_of, json, log_allowed,
};
use crate::rules::{Rules, allowed, distinct_acceptors, valid_proof};
use serde_json::Value as Json;

fn check_header(doc: &Json, format: &str) -> Parsed<()> {
    let found = parse::str_field(doc, "format")?;
    if found != format {
        return Err(format!("format {found:?}, expected {format:?}"));
    }
    let version = parse::u64_field(doc, "version")?;
    if version != u64::from(FORMAT_VERSION) {
        return Err(format!("version {version}, expected {FORMAT_VERSION}"));
    }
    Ok(())
}

/// Checks a file's header, then its cases with `check`.
fn check_file(
    doc: &Json,
    name: &str,
    check: impl FnOnce(&Json, &mut Findings) -> Parsed<()>,
) -> Findings {
    let mut findings = Vec::new();
    if let Err(e) = check_header(doc, &format_of(name)).and_then(|()| check(doc, &mut findings)) {
        findings.push(e);
    }
    findings
}

/// `allowed.json`: `Allowed(Q)` and `ValidProof(r, v, Q)` of every case.
pub fn allowed_file(doc: &Json) -> Findings {
    check_file(doc, "allowed", allowed_cases)
}

fn allowed_cases(doc: &Json, findings: &mut Findings) -> Parsed<()> {
    let auth = domain_auth_of(doc)?;
    for group in parse::array_field(doc, "groups")? {
        let f = usize::try_from(parse::u64_field(group, "f")?).map_err(|e| e.to_string())?;
        let rules = Rules::standard(f);
        for case in parse::array_field(group, "cases")? {
            let id = parse::str_field(case, "id")?;
            let round = parse::round_field(case, "round")?;
            let value = parse::value(case, "value")?;
            let proof = parse::proof(case.get("proof").unwrap_or(&Json::Null))?;
            let q = distinct_acceptors(&proof);
            let got_allowed = json::allowed(&allowed(&rules, &q));
            let got_verdict = json::verdict(&valid_proof(&rules, &auth, round, &value, &proof));
            let expected_allowed = case.get("allowed").unwrap_or(&Json::Null);
            let expected_verdict = case.get("valid_proof").unwrap_or(&Json::Null);
            compare(findings, id, "Allowed", expected_allowed, &got_allowed);
            compare(findings, id, "ValidProof", expected_verdict, &got_verdict);
        }
    }
    let log = doc.get("log").ok_or("no log section")?;
    log_allowed::verify(log, &auth, findings)
}

/// `acceptor-steps.json`: every step through `Acceptor::on_message` or `Acceptor::timeout`.
pub fn acceptor_steps_file(doc: &Json) -> Findings {
    check_file(doc, "acceptor-steps", acceptor_steps::verify)
}

/// `encoding.json`: encodings, authenticators and datagrams.
pub fn encoding_file(doc: &Json) -> Findings {
    check_file(doc, "encoding", encoding::verify)
}

/// `counterexamples.json`: every trace replayed in the model of its variant.
pub fn counterexamples_file(doc: &Json) -> Findings {
    check_file(doc, "counterexamples", counterexamples::verify)
}
