//! What a check of a vector file reports: one line per disagreement between a stored
//! expectation and what this implementation computes. The checkers of each file import it
//! from here, below [`super::verify`], which runs them.

use super::parse::{self, Parsed};
use crate::auth::HmacSha256;
use serde_json::Value as Json;

/// Disagreements found in one file.
pub type Findings = Vec<String>;

/// Compares one expected field with what the implementation computed.
pub fn compare(findings: &mut Findings, id: &str, what: &str, expected: &Json, actual: &Json) {
    if expected != actual {
        findings.push(format!("{id}: {what}: expected {expected}, got {actual}"));
    }
}

/// The domain key of a file.
pub fn domain_auth_of(doc: &Json) -> Parsed<HmacSha256> {
    HmacSha256::new(&parse::hex_field(doc, "domain_key")?).map_err(|e| e.to_string())
}
