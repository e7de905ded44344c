//! The values of the model: the clients' values `A, B, …` and `Z`, which no client proposed.

use crate::types::Value;
use serde::{Deserialize, Serialize};
use std::fmt::{self, Display};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ModelValue {
    /// The value of the `i`-th client: `A`, `B`, …
    Client(u8),
    /// `Z`: a value no client proposed (only a Byzantine proposer can send it).
    Unproposed,
}

impl Display for ModelValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelValue::Client(i) => write!(f, "{}", (b'A' + i) as char),
            ModelValue::Unproposed => write!(f, "Z"),
        }
    }
}

impl Value for ModelValue {
    /// A tag, then the client's index: injective, so no two values share an encoding.
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ModelValue::Client(i) => out.extend([0, *i]),
            ModelValue::Unproposed => out.push(1),
        }
    }
}
