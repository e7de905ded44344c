//! BP Fast Paxos (Byzantine Proposer Fast Paxos), the reference implementation.
//!
//! Acceptors fail only by crashing (`n = 3f + 1` of them tolerate `f`); proposers may be
//! Byzantine. The protocol is the one of `PROTOCOL.md`; every protocol module here is a pure
//! piece of it (no I/O, no clocks, no randomness) so that the same code runs in the stateright
//! model checker and, later, over real sockets. Only [`cluster_config`], which describes a
//! deployment, draws random bytes (for fresh keys).
//!
//! - [`types`]: rounds, agent ids, values and the shape of the cluster.
//! - [`message`]: the four messages of the protocol.
//! - [`auth`]: the canonical encoding of a PROMISE and its HMAC-SHA256 authenticator.
//! - [`rules`]: the quorum rules, `Allowed` and `ValidProof`.
//! - [`learner`], [`acceptor`], [`proposer`]: the step functions of each agent.
//! - [`node`]: those agents as stateright actors.
//! - [`models`]: the model-checking configurations: Byzantine proposers and the properties.
//! - [`cluster_config`]: the TOML cluster config of the UDP runtime: nodes, addresses, keys.

pub mod acceptor;
pub mod auth;
pub mod cluster_config;
pub mod learner;
pub mod message;
pub mod node;
pub mod proposer;
pub mod rules;
pub mod step;
pub mod types;

#[path = "../models/mod.rs"]
pub mod models;
