//! What a slot of the log holds (PROTOCOL.md §8): a batch of client commands, or a no-op with
//! which a leader fills a hole below its highest slot.

use crate::types::Value;
use serde::{Deserialize, Serialize};
use std::fmt::{self, Display};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LogValue<B> {
    /// A hole filled by a leader: the state machine skips it.
    Noop,
    Batch(B),
}

impl<B: Display> Display for LogValue<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogValue::Noop => write!(f, "noop"),
            LogValue::Batch(b) => write!(f, "{b}"),
        }
    }
}

impl<B: Value> Value for LogValue<B> {
    /// A tag, then the batch's own (injective) encoding.
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            LogValue::Noop => out.push(0),
            LogValue::Batch(b) => {
                out.push(1);
                b.encode(out);
            }
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            LogValue::Noop => 1,
            LogValue::Batch(b) => 1 + b.encoded_len(),
        }
    }
}
