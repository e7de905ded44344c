//! Test vectors that other implementations of BP Fast Paxos are held against (the reference
//! kit): `Allowed` and `ValidProof` verdicts, acceptor steps, canonical encodings and
//! authenticators, and the counterexamples of the known-bad variants. `check vectors --out DIR`
//! writes them; `tests/vectors/README.md` documents the format.
//!
//! Everything here is deterministic: the model is walked with a seeded generator over
//! actions in a canonical order, selections are made from ordered sets, and JSON objects
//! have sorted keys. Running the generator twice gives byte-identical files.
//!
//! - [`json`]: how values, PROMISEs, messages, states and verdicts are written.
//! - [`parse`]: reading them back, for [`verify`].
//! - [`convert`]: the model's values and symbolic authenticators turned into the vectors'
//!   strings and HMAC-SHA256.
//! - [`select`]: which of the states sampled by [`crate::models::walk`] a file keeps.
//! - [`allowed`], [`acceptor_steps`], [`encoding`], [`counterexamples`]: one file each;
//!   [`log_allowed`]: the replicated log's part of `allowed.json`.
//! - [`verify`]: runs this implementation against stored vector files; [`findings`]: what
//!   each file's checker reports.

pub mod acceptor_steps;
pub mod allowed;
pub mod convert;
pub mod counterexamples;
pub mod encoding;
pub mod findings;
pub mod json;
pub mod log_allowed;
pub mod parse;
pub mod select;
pub mod verify;

use crate::auth::HmacSha256;
use std::io;
use std::path::Path;

/// The version of the vector formats; bumped on any incompatible change to a file's schema.
pub const FORMAT_VERSION: u32 = 1;

/// The published domain key `K` of the vectors: the 32 bytes `0x41, 0x42, …, 0x60`, as in
/// WIRE.md's examples. A test key, never a deployment's.
pub fn domain_key() -> Vec<u8> {
    (0x41..=0x60).collect()
}

/// The `format` of the vector file `name` (`allowed`, `acceptor-steps`, …).
pub fn format_of(name: &str) -> String {
    format!("bpfp-test-vectors/{name}")
}

/// Adds the header every vector file starts with to `doc`: its format and version, the
/// domain key and the value encoding.
pub fn with_header(mut doc: serde_json::Value, name: &str) -> serde_json::Value {
    doc["format"] = format_of(name).into();
    doc["version"] = FORMAT_VERSION.into();
    doc["domain_key"] = hex::encode(domain_key()).into();
    doc["value_encoding"] = "string".into();
    doc
}

/// The authenticator of every PROMISE in the vectors.
pub fn domain_auth() -> HmacSha256 {
    HmacSha256::new(&domain_key()).expect("the test key is long enough")
}

/// One generated file: its name in the vectors directory and its contents.
pub struct VectorFile {
    pub name: &'static str,
    pub contents: String,
}

/// The names of the files, in the order they are generated.
pub const FILE_NAMES: [&str; 4] = [
    "allowed.json",
    "acceptor-steps.json",
    "encoding.json",
    "counterexamples.json",
];

/// Every vector file, generated afresh.
pub fn generate() -> Vec<VectorFile> {
    let documents = [
        allowed::document(),
        acceptor_steps::document(),
        encoding::document(),
        counterexamples::document(),
    ];
    FILE_NAMES
        .into_iter()
        .zip(documents)
        .map(|(name, doc)| VectorFile {
            name,
            contents: json::pretty(&doc),
        })
        .collect()
}

/// Writes every vector file into `dir` (created if missing).
pub fn write_all(dir: &Path) -> io::Result<Vec<VectorFile>> {
    std::fs::create_dir_all(dir)?;
    let files = generate();
    for file in &files {
        std::fs::write(dir.join(file.name), &file.contents)?;
    }
    Ok(files)
}
