//! A Jepsen-style history of client operations: what each client asked and what it was told,
//! recorded as it happens, so that a checker can decide afterwards whether some atomic order of
//! the operations explains every result.
//!
//! Rules a history follows (checked by [`crate::history::linearizable::check`]):
//!
//! - Events are in the order they happened: the order of the list is real time (`time` is the
//!   same order in nanoseconds, for people; the [`Recorder`] takes both under one lock).
//! - A process has at most one operation in flight: an `invoke` is followed, for that process,
//!   by exactly one completion with the same `f` and `key` before its next `invoke`.
//! - `ok`: the operation took effect, with this result. `fail`: for a cas, its comparison failed
//!   (as in Jepsen): it found another value than it expected and wrote nothing; for a write or a
//!   read, it certainly did not take effect. `info`: unknown (a timeout); it may
//!   take effect at any time after its invoke, even after the `info` event, or never.
//! - After an `info` a process may invoke again: the checker keeps the unknown operation in
//!   flight forever on its own, so reusing the process id is harmless (unlike Jepsen, no fresh
//!   process id is needed). An invoke with no completion at the end of the history counts as
//!   `info`.
//!
//! Values: a read has `null` on invoke and the value read (a string, or `null` for an absent
//! key) on `ok`; a write has the string written; a cas has `[expected-or-null, new]`, on its
//! invoke and on its completion alike. Reads that fail or are `info` carry `null` (a string is
//! accepted too, and ignored).

use crate::service::command::Op;
use crate::service::kv::Reply;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::io::{self, BufRead, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// Whether an event starts an operation or says how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// The operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Func {
    Read,
    Write,
    Cas,
}

/// One line of a history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub process: u64,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub f: Func,
    pub key: String,
    /// See the module documentation for its shape per `f` and `kind`.
    pub value: Value,
    /// Nanoseconds since the start of the run.
    pub time: u64,
}

/// A history that cannot be read or is not well formed.
#[derive(Debug)]
pub enum HistoryError {
    Io(io::Error),
    /// A line of a JSON-lines history that is not an event (lines count from 1).
    Parse {
        line: usize,
        message: String,
    },
    /// An event that breaks the rules of a history (events count from 0).
    Malformed {
        index: usize,
        process: u64,
        why: String,
    },
    /// A reply that cannot answer the operation it is recorded for.
    MismatchedReply {
        op: Op,
        reply: Reply,
    },
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HistoryError::Io(e) => write!(f, "reading the history: {e}"),
            HistoryError::Parse { line, message } => write!(f, "line {line}: {message}"),
            HistoryError::Malformed {
                index,
                process,
                why,
            } => write!(f, "event {index} (process {process}): {why}"),
            HistoryError::MismatchedReply { op, reply } => {
                write!(f, "reply {reply:?} does not answer {op:?}")
            }
        }
    }
}

impl std::error::Error for HistoryError {}

impl From<io::Error> for HistoryError {
    fn from(e: io::Error) -> Self {
        HistoryError::Io(e)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            EventType::Invoke => "invoke",
            EventType::Ok => "ok",
            EventType::Fail => "fail",
            EventType::Info => "info",
        })
    }
}

impl fmt::Display for Func {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Func::Read => "read",
            Func::Write => "write",
            Func::Cas => "cas",
        })
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>15}ns p{:<4} {:<6} {:<5} {:?} {}",
            self.time, self.process, self.kind, self.f, self.key, self.value
        )
    }
}

/// The `f`, key and invoke value of a store operation.
pub fn op_event(op: &Op) -> (Func, String, Value) {
    match op {
        Op::Get { key } => (Func::Read, key.clone(), Value::Null),
        Op::Put { key, value } => (Func::Write, key.clone(), Value::from(value.as_str())),
        Op::Cas { key, expected, new } => (
            Func::Cas,
            key.clone(),
            Value::from(vec![
                expected.as_deref().map_or(Value::Null, Value::from),
                Value::from(new.as_str()),
            ]),
        ),
    }
}

/// How an operation that got `reply` ended, and its completion value; `None` if the reply
/// cannot answer that operation.
pub fn reply_event(op: &Op, reply: &Reply) -> Option<(EventType, Value)> {
    let (_, _, invoked) = op_event(op);
    match (op, reply) {
        (Op::Get { .. }, Reply::Value(v)) => {
            Some((EventType::Ok, v.as_deref().map_or(Value::Null, Value::from)))
        }
        (Op::Put { .. }, Reply::Stored) => Some((EventType::Ok, invoked)),
        (Op::Cas { .. }, Reply::Cas { swapped, .. }) => Some((
            if *swapped {
                EventType::Ok
            } else {
                EventType::Fail
            },
            invoked,
        )),
        _ => None,
    }
}

/// Records the events of many client threads into one history. Clones share the history.
#[derive(Clone, Debug)]
pub struct Recorder {
    events: Arc<Mutex<Vec<Event>>>,
    start: Instant,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An empty history whose time 0 is now.
    pub fn new() -> Self {
        Recorder {
            events: Arc::default(),
            start: Instant::now(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Event>> {
        // A client thread that panicked leaves a history that is still a valid prefix.
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends one event, its time taken under the lock so that list order is time order.
    fn push(&self, process: u64, kind: EventType, f: Func, key: String, value: Value) -> u64 {
        let mut events = self.lock();
        let time = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        events.push(Event {
            process,
            kind,
            f,
            key,
            value,
            time,
        });
        time
    }

    /// Records that `process` starts an operation; returns its time.
    pub fn invoke(&self, process: u64, f: Func, key: impl Into<String>, value: Value) -> u64 {
        self.push(process, EventType::Invoke, f, key.into(), value)
    }

    /// Records how the operation in flight of `process` ended.
    pub fn complete(
        &self,
        process: u64,
        kind: EventType,
        f: Func,
        key: impl Into<String>,
        value: Value,
    ) {
        self.push(process, kind, f, key.into(), value);
    }

    /// Records that `process` starts the store operation `op`; returns its time.
    pub fn invoke_op(&self, process: u64, op: &Op) -> u64 {
        let (f, key, value) = op_event(op);
        self.invoke(process, f, key, value)
    }

    /// Records how `op` of `process` ended: `reply`, or `None` when the outcome is unknown
    /// (a timeout). A reply that cannot answer `op` is recorded as `info` (so the history stays
    /// well formed) and returned as an error: it is a bug of the store or of the client.
    pub fn complete_op(
        &self,
        process: u64,
        op: &Op,
        reply: Option<&Reply>,
    ) -> Result<(), HistoryError> {
        let (f, key, invoked) = op_event(op);
        let unknown = if f == Func::Read {
            Value::Null
        } else {
            invoked
        };
        match reply.map(|r| (r, reply_event(op, r))) {
            None => self.complete(process, EventType::Info, f, key, unknown),
            Some((_, Some((kind, value)))) => self.complete(process, kind, f, key, value),
            Some((r, None)) => {
                self.complete(process, EventType::Info, f, key, unknown);
                return Err(HistoryError::MismatchedReply {
                    op: op.clone(),
                    reply: r.clone(),
                });
            }
        }
        Ok(())
    }

    /// A copy of the history so far.
    pub fn events(&self) -> Vec<Event> {
        self.lock().clone()
    }
}

/// Writes a history as JSON lines, one event a line.
pub fn write_jsonl(events: &[Event], mut w: impl Write) -> io::Result<()> {
    for event in events {
        serde_json::to_writer(&mut w, event)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

/// Reads a history written by [`write_jsonl`]; blank lines are skipped.
pub fn read_jsonl(r: impl BufRead) -> Result<Vec<Event>, HistoryError> {
    let mut events = Vec::new();
    for (i, line) in r.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let event = serde_json::from_str(&line).map_err(|e| HistoryError::Parse {
            line: i + 1,
            message: e.to_string(),
        })?;
        events.push(event);
    }
    Ok(events)
}
