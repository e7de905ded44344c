//! Torture testing of the replicated store: a cluster under injected faults and a Byzantine
//! proposer and a Byzantine client ([`run`], [`byzantine`], [`byzantine_client`]); the clients' operations are recorded as a history
//! ([`history`]) and judged afterwards ([`linearizable`]), so a run needs no oracle of its own.

pub mod byzantine;
pub mod byzantine_client;
pub mod run;

// The history and its checker are general: they live in `crate::history`, and are here too
// under the names the torture runs have always used.
pub use crate::history::events as history;
pub use crate::history::linearizable;

pub use history::{Event, EventType, Func, HistoryError, Recorder, read_jsonl, write_jsonl};
pub use linearizable::{Verdict, check, check_with_budget};
