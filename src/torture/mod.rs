//! Torture testing of the replicated store: a cluster under injected faults and a Byzantine
//! proposer and a Byzantine client ([`run`], [`byzantine`], [`byzantine_client`]); the clients' operations are recorded as a history
//! ([`history`]) and judged afterwards ([`linearizable`]), so a run needs no oracle of its own.

pub mod byzantine;
pub mod byzantine_client;
pub mod history;
pub mod linearizable;
pub mod run;

pub use history::{Event, EventType, Func, HistoryError, Recorder, read_jsonl, write_jsonl};
pub use linearizable::{Verdict, check, check_with_budget};
