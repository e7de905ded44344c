//! The test vectors of `tests/vectors/` (the reference kit): they must be exactly what the
//! generator produces today, and this implementation must pass every case of them. The
//! checkers must also be able to fail: a vector altered on purpose is reported.

mod common;
use common::TempDir;

use bp_fast_paxos::vectors::{self, FILE_NAMES, verify};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

const REGENERATE: &str = "cargo run --release --bin check -- vectors --out tests/vectors";

fn stored_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn stored(name: &str) -> Json {
    let path = stored_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; regenerate with `{REGENERATE}`",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn assert_no_findings(name: &str, findings: &[String]) {
    assert!(
        findings.is_empty(),
        "{name}: {} case(s) disagree with this implementation:\n{}",
        findings.len(),
        findings.join("\n")
    );
}

#[test]
fn stored_vectors_are_what_the_generator_writes() {
    let scratch = TempDir::new("vectors");
    let dir = scratch.path();
    let files = vectors::write_all(dir).expect("the vectors are written");
    let mut stale = Vec::new();
    for file in &files {
        let written = std::fs::read_to_string(dir.join(file.name)).expect("just written");
        let path = stored_dir().join(file.name);
        let kept = std::fs::read_to_string(&path).unwrap_or_default();
        if written != kept {
            let line = written
                .lines()
                .zip(kept.lines().chain(std::iter::repeat("<end of file>")))
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| written.lines().count().min(kept.lines().count()));
            stale.push(format!(
                "tests/vectors/{} differs from the generator's output, first at line {}",
                file.name,
                line + 1
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "{}\nIf the change is intended, regenerate with `{REGENERATE}`",
        stale.join("\n")
    );
}

#[test]
fn generation_is_deterministic() {
    let first = vectors::generate();
    let second = vectors::generate();
    assert_eq!(first.len(), FILE_NAMES.len());
    for (a, b) in first.iter().zip(&second) {
        assert!(
            a.contents == b.contents,
            "{} differs between two runs",
            a.name
        );
    }
}

#[test]
fn allowed_vectors_hold() {
    let doc = stored("allowed.json");
    assert_no_findings("allowed.json", &verify::allowed_file(&doc));
}

/// The first case of the first group of a file.
fn first_case(doc: &mut Json) -> &mut Json {
    &mut doc["groups"][0]["cases"][0]
}

#[test]
fn an_altered_allowed_verdict_is_reported() {
    let mut doc = stored("allowed.json");
    let case = first_case(&mut doc);
    let ok = case["valid_proof"]["ok"].as_bool().expect("a verdict");
    case["valid_proof"]["ok"] = Json::Bool(!ok);
    let findings = verify::allowed_file(&doc);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("ValidProof"), "{findings:?}");

    let mut doc = stored("allowed.json");
    first_case(&mut doc)["allowed"]["rule"] = Json::from(9);
    assert_eq!(verify::allowed_file(&doc).len(), 1);

    let mut doc = stored("allowed.json");
    doc["domain_key"] = Json::String("00".repeat(32));
    let findings = verify::allowed_file(&doc);
    assert!(
        findings.iter().any(|f| f.contains("bad-mac")),
        "another key must turn genuine PROMISEs into bad macs: {findings:?}"
    );
}

#[test]
fn acceptor_step_vectors_hold() {
    let doc = stored("acceptor-steps.json");
    assert!(doc["cases"].as_array().is_some_and(|c| c.len() > 100));
    assert_no_findings("acceptor-steps.json", &verify::acceptor_steps_file(&doc));
}

#[test]
fn an_altered_acceptor_step_is_reported() {
    let mut doc = stored("acceptor-steps.json");
    let cases = doc["cases"].as_array_mut().expect("cases");
    let voted = cases
        .iter_mut()
        .find(|c| c["outcome"]["kind"] == "step")
        .expect("a case that steps");
    voted["outcome"]["state"]["rnd"] = Json::from(99);
    let ignored = cases
        .iter_mut()
        .find(|c| c["outcome"]["kind"] == "ignored")
        .expect("an ignored case");
    ignored["outcome"] = serde_json::json!({"kind": "step", "state": null, "effects": []});
    let findings = verify::acceptor_steps_file(&doc);
    assert_eq!(findings.len(), 2, "{findings:?}");
}

#[test]
fn encoding_vectors_hold() {
    let doc = stored("encoding.json");
    assert_no_findings("encoding.json", &verify::encoding_file(&doc));
}

#[test]
fn an_altered_encoding_is_reported() {
    let flip_first_byte = |hex_text: &Json| {
        let mut bytes = hex::decode(hex_text.as_str().expect("hex")).expect("hex");
        bytes[0] ^= 0x01;
        Json::String(hex::encode(bytes))
    };
    let mut doc = stored("encoding.json");
    let mac = &doc["promises"][1]["mac"];
    doc["promises"][1]["mac"] = flip_first_byte(mac);
    let findings = verify::encoding_file(&doc);
    assert!(
        findings.iter().any(|f| f.starts_with("promises[1]: mac")),
        "{findings:?}"
    );

    let mut doc = stored("encoding.json");
    let key = &doc["channel_keys"][0]["key"];
    doc["channel_keys"][0]["key"] = flip_first_byte(key);
    let findings = verify::encoding_file(&doc);
    assert!(
        findings.iter().any(|f| f.contains("the receiver drops it")),
        "a datagram under a changed key must be dropped: {findings:?}"
    );

    let mut doc = stored("encoding.json");
    doc["rejected_datagrams"][0]["error"] = Json::String("accepted".into());
    assert_eq!(verify::encoding_file(&doc).len(), 1);
}

#[test]
fn counterexample_vectors_replay() {
    let doc = stored("counterexamples.json");
    let variants = doc["variants"].as_array().expect("variants");
    assert_eq!(variants.len(), bp_fast_paxos::models::Variant::ALL.len());
    for v in variants {
        assert!(
            v["steps"].as_array().is_some_and(|s| !s.is_empty()),
            "{}",
            v["variant"]
        );
    }
    assert_no_findings("counterexamples.json", &verify::counterexamples_file(&doc));
}

#[test]
fn an_altered_counterexample_is_reported() {
    let mut doc = stored("counterexamples.json");
    let steps = doc["variants"][0]["steps"].as_array_mut().expect("steps");
    steps.pop();
    let findings = verify::counterexamples_file(&doc);
    assert!(
        !findings.is_empty(),
        "a trace cut short must not violate the property"
    );

    let mut doc = stored("counterexamples.json");
    doc["variants"][1]["steps"][0]["actor"]["index"] = Json::from(77);
    let findings = verify::counterexamples_file(&doc);
    assert!(
        findings.iter().any(|f| f.contains("offers no action")),
        "{findings:?}"
    );
}

#[test]
fn an_altered_log_verdict_is_reported() {
    let mut doc = stored("allowed.json");
    let case = &mut doc["log"]["cases"][0];
    assert_eq!(case["slot_rule"]["closed"], Json::Bool(true));
    case["slot_rule"]["closed"] = Json::Bool(false);
    let findings = verify::allowed_file(&doc);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("slot rule"), "{findings:?}");
}
