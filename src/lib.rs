//! BP Fast Paxos (Byzantine Proposer Fast Paxos), the reference implementation.
//!
//! Acceptors fail only by crashing (`n = 3f + 1` of them tolerate `f`); proposers may be
//! Byzantine. The protocol is the one of `PROTOCOL.md`; every module here is a pure piece of
//! it (no I/O, no clocks, no randomness) so that the same code runs in the stateright model
//! checker and over real sockets. The exceptions are at the edge: [`runtime`] (sockets,
//! clocks), [`durable`] (the acceptor's store on disk) and [`cluster_config`] (a deployment,
//! with fresh random keys).
//!
//! - [`types`]: rounds, agent ids, values and the shape of the cluster.
//! - [`protocol`]: what every protocol of the crate shares: the [`protocol::Protocol`] trait,
//!   the shape of a step and its effects, and the one stateright actor that routes for any
//!   protocol.
//! - [`message`]: the four messages of the protocol, and the canonical encoding of a PROMISE.
//! - [`auth`]: HMAC-SHA256 authenticators over the canonical bytes of a message.
//! - [`bounds`]: bounds more than one layer holds to: the largest message.
//! - [`rules`]: the quorum rules, `Allowed` and `ValidProof`.
//! - [`learner`], [`acceptor`], [`proposer`]: the step functions of each agent.
//! - [`node`]: the single decree as a [`protocol::Protocol`], its agents as stateright actors.
//! - [`log`]: the replicated log of PROTOCOL.md §8, one instance per slot, same style.
//! - [`runtime`]: those same actors over UDP: the event loop and its datagrams.
//! - [`durable`]: the acceptor's durable store, an fsynced append-only file of records.
//! - [`service`]: the replicated key-value store: signed client commands, batches, the state machine.
//! - [`cluster_config`]: the TOML cluster config of the UDP runtime: nodes, addresses, keys.
//! - [`history`]: histories of the service's operations and the linearizability check.
//! - [`torture`]: fault-injection runs of the service, recorded as histories.
//! - [`trace`]: trace validation: what running acceptors did, checked against the model
//!   and the TLA+ spec.
//! - [`bench`]: the stateright paxos baseline of `bpfp bench`.
//! - [`models`]: the model-checking configurations: Byzantine proposers and the properties.
//! - [`vectors`]: the test vectors other implementations are held against (`tests/vectors/`).

pub mod acceptor;
pub mod auth;
pub mod bench;
pub mod bounds;
pub mod cluster_config;
pub mod durable;
pub mod history;
pub mod learner;
pub mod log;
pub mod message;
pub mod node;
pub mod proposer;
pub mod protocol;
pub mod rules;
pub mod runtime;
pub mod service;
pub mod sim;
pub mod step;
#[cfg(test)]
pub(crate) mod temp_dir;
pub mod torture;
pub mod trace;
pub mod types;
pub mod vectors;

#[path = "../models/mod.rs"]
pub mod models;
