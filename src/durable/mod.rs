//! The acceptor's durable store (PROTOCOL.md §8): each acceptor stores `rnd` and its votes
//! durably before it sends the PROMISE or LEARN that depends on them, and a restarted acceptor
//! recovers them before it answers anything. This is the one module that does I/O.
//!
//! The store is an append-only file of records of any serde type `R`; each record is a full
//! snapshot (today [`DurableState`](crate::acceptor::DurableState), later a replicated log's
//! per-slot votes), so recovery is the last valid record. The file:
//!
//! ```text
//! header:  magic "BPFPDLOG" | version u32 | generation u64 | sealed length u64 | CRC-32 u32
//! record:  length u32 | CRC-32 u32 | payload (postcard)       (repeated; integers little-endian)
//! ```
//!
//! A record's CRC-32 covers the file's generation, the record's offset, its length and its
//! payload. A crash can tear only the last append, so a bad record at the end of the file (with
//! no valid record anywhere after it) is cut off and reported; any other damage is an error
//! that names the file and the byte offset. Compaction replaces the file atomically by one
//! holding only the last record; those bytes, up to the sealed length, cannot be torn.

mod atomic;
mod error;
mod format;
mod layout;
mod log;
mod scan;
pub mod snapshot;

pub use error::{Corruption, DurableError, RecordDefect, SnapshotDefect, TornTail};
pub use format::{MAX_RECORD_LEN, VERSION};
pub use log::{DurableLog, DurableOptions, MAX_FILE_LEN, Recovered, RecoveredAll};
