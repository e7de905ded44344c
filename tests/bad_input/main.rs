//! Bad input: arbitrary bytes never panic and never allocate without bound where bytes from
//! outside become values, checked with property tests, one subject a file:
//!
//! - [`datagrams`]: the datagram decoder (src/runtime/wire.rs) and what it may allocate;
//! - [`durable`]: the durable store's recovery (src/durable);
//! - [`proofs`]: the proof verifiers (src/rules.rs, src/log/rules.rs) against an independent
//!   re-implementation of `ValidProof`.
//!
//! One test binary, so that the properties of all three run in parallel. Each property prints
//! its number of cases and its time (`-- --nocapture` shows them). The seed is fixed;
//! `PROPTEST_RNG_SEED` and `PROPTEST_CASES` override the seed and the counts.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod datagrams;
mod durable;
mod proofs;
