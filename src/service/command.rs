//! Client commands and their authenticators: a proposer carries them but can neither invent
//! nor alter one, only drop, delay or reorder it.

use crate::auth::Mac;
use crate::types::{ClientId, Value};
use hmac::{Hmac, Mac as _};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::fmt::{self, Display};
use std::sync::Arc;

/// What a client asks of the store.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Op {
    Put {
        key: String,
        value: String,
    },
    Get {
        key: String,
    },
    /// Sets `key` to `new` if its value is `expected` (`None`: the key is absent).
    Cas {
        key: String,
        expected: Option<String>,
        new: String,
    },
}

/// The `seq`-th command of `client`, with its authenticator.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Command {
    pub client: ClientId,
    pub seq: u64,
    pub op: Op,
    pub mac: Mac,
}

/// Domain separation from every other authenticated encoding of the project.
const COMMAND_TAG: &[u8] = b"BPFP/COMMAND/1";

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_be_bytes());
    out.extend(s.as_bytes());
}

/// The canonical encoding of a command's authenticated fields: the tag, the client (u16 BE),
/// `seq` (u64 BE), an operation tag, then each string length-prefixed (u64 BE).
pub fn encode_command(client: ClientId, seq: u64, op: &Op) -> Vec<u8> {
    let mut out = Vec::with_capacity(COMMAND_TAG.len() + 32);
    out.extend(COMMAND_TAG);
    out.extend(client.0.to_be_bytes());
    out.extend(seq.to_be_bytes());
    match op {
        Op::Put { key, value } => {
            out.push(0);
            put_str(&mut out, key);
            put_str(&mut out, value);
        }
        Op::Get { key } => {
            out.push(1);
            put_str(&mut out, key);
        }
        Op::Cas { key, expected, new } => {
            out.push(2);
            put_str(&mut out, key);
            match expected {
                None => out.push(0),
                Some(e) => {
                    out.push(1);
                    put_str(&mut out, e);
                }
            }
            put_str(&mut out, new);
        }
    }
    out
}

/// The length of [`encode_command`]'s bytes, computed without encoding.
pub fn encoded_command_len(op: &Op) -> usize {
    let string = |s: &str| 8 + s.len();
    let fields = match op {
        Op::Put { key, value } => string(key) + string(value),
        Op::Get { key } => string(key),
        Op::Cas { key, expected, new } => {
            string(key) + 1 + expected.as_deref().map_or(0, string) + string(new)
        }
    };
    COMMAND_TAG.len() + 2 + 8 + 1 + fields
}

fn hmac_of(key: &[u8], bytes: &[u8]) -> Mac {
    // HMAC takes keys of any length; key length is checked where keys are loaded.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(bytes);
    Mac(mac.finalize().into_bytes().into())
}

impl Command {
    /// A command signed with the client's key.
    pub fn signed(client: ClientId, seq: u64, op: Op, key: &[u8]) -> Self {
        let mac = hmac_of(key, &encode_command(client, seq, &op));
        Command {
            client,
            seq,
            op,
            mac,
        }
    }

    /// The command's size as a batch holds it (see [`Batch`]'s encoding): what the command
    /// size limit measures.
    pub fn encoded_len(&self) -> usize {
        8 + encoded_command_len(&self.op) + self.mac.0.len()
    }

    /// Whether the authenticator is the client's, under `keys`.
    pub fn is_authentic(&self, keys: &CommandKeys) -> bool {
        let Some(keyed) = keys.0.get(&self.client) else {
            return false;
        };
        let mut mac = keyed.clone();
        mac.update(&encode_command(self.client, self.seq, &self.op));
        mac.verify_slice(&self.mac.0).is_ok()
    }
}

/// Each client's command key, as the servers hold them: keyed once, since HMAC hashes its key
/// into two blocks before the message, and every replica checks every command it applies.
#[derive(Clone, Default)]
pub struct CommandKeys(BTreeMap<ClientId, Hmac<Sha256>>);

impl CommandKeys {
    pub fn insert(&mut self, client: ClientId, key: Vec<u8>) {
        // HMAC takes keys of any length; key length is checked where keys are loaded.
        let keyed = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC accepts any key length");
        self.0.insert(client, keyed);
    }
}

impl fmt::Debug for CommandKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommandKeys({} clients, keys hidden)", self.0.len())
    }
}

/// The value of one log slot: commands in the order they are applied. An empty batch is the
/// no-op a leader fills holes with.
#[derive(Clone, Debug, Default, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Batch(pub Arc<[Command]>);

/// Batches are compared often (a saved vote against the state's, a LEARN against a vote), and
/// mostly with a copy of the same shared batch: the pointer answers without comparing every
/// command.
impl PartialEq for Batch {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0[..] == other.0[..]
    }
}

impl Eq for Batch {}

impl std::hash::Hash for Batch {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0[..].hash(state);
    }
}

impl Batch {
    pub fn noop() -> Self {
        Batch(Arc::from(Vec::new()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Shared, because every LEARN and vote of a slot holds its batch.
impl From<Vec<Command>> for Batch {
    fn from(commands: Vec<Command>) -> Self {
        Batch(Arc::from(commands))
    }
}

impl Display for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            [] => write!(f, "no-op"),
            [one] => write!(f, "{}#{}", one.client, one.seq),
            many => write!(f, "{} commands", many.len()),
        }
    }
}

/// The count, then each command's authenticated encoding and its mac: injective, and
/// prefix-free inside a longer encoding (a PROMISE's).
impl Value for Batch {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend((self.0.len() as u64).to_be_bytes());
        for command in self.0.iter() {
            let fields = encode_command(command.client, command.seq, &command.op);
            out.extend((fields.len() as u64).to_be_bytes());
            out.extend(fields);
            out.extend(command.mac.0);
        }
    }

    fn encoded_len(&self) -> usize {
        8 + self.0.iter().map(Command::encoded_len).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};

    fn batch(values: &[&str]) -> Batch {
        let commands = values
            .iter()
            .enumerate()
            .map(|(seq, value)| {
                let op = Op::Put {
                    key: "k".into(),
                    value: (*value).into(),
                };
                Command::signed(ClientId(1), seq as u64, op, b"key")
            })
            .collect::<Vec<_>>();
        Batch::from(commands)
    }

    fn hash_of(b: &Batch) -> u64 {
        let mut h = DefaultHasher::new();
        b.hash(&mut h);
        h.finish()
    }

    #[test]
    fn batches_are_equal_by_their_commands_whether_shared_or_not() {
        let a = batch(&["x", "y"]);
        let shared = a.clone();
        let copy = batch(&["x", "y"]);
        assert!(Arc::ptr_eq(&a.0, &shared.0) && !Arc::ptr_eq(&a.0, &copy.0));
        assert_eq!(a, shared);
        assert_eq!(a, copy);
        assert_eq!(hash_of(&a), hash_of(&copy));
        assert_ne!(a, batch(&["x", "z"]));
        assert_ne!(a, batch(&["x"]));
        assert_eq!(a.cmp(&copy), std::cmp::Ordering::Equal);
    }
}
