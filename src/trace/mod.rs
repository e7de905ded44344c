//! Trace validation (as etcd and CCF do for their TLA+ specs): the runtime records what each
//! acceptor does, and the records are checked against the model and against the TLA+ spec.
//!
//! - [`event`]: the trace's records, one JSON line each.
//! - [`record`]: the recorder, an observer of a running acceptor's steps.
//! - [`read`]: reading trace files and merging them into one history.
//! - [`replay`]: `check trace`: the history replayed through the model's step functions and
//!   properties.
//! - [`tla`]: `check trace --tla`: a TLA+ module that drives `spec/BPFastPaxos.tla` through the
//!   same history, slot by slot.
//!
//! Values appear in traces by digest: what a slot holds matters to the protocol only through
//! equality, and a batch of commands would make every record long.

pub mod event;
pub mod read;
pub mod record;
pub mod replay;
pub mod tla;
