//! The command mix both systems of `bpfp bench` are driven with, so that their figures compare:
//! each closed-loop client alternates a put and a get on a few shared keys, with values of one
//! fixed size.

/// How many keys the clients share.
pub const KEYS: u64 = 8;

/// One command of the mix, independent of the system that serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Put { key: String, value: String },
    Get { key: String },
}

/// The mix: puts of `value_size`-byte values and gets, in turn, on [`KEYS`] keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workload {
    pub value_size: usize,
}

impl Workload {
    /// The `n`th command of client `client`: a put when `n` is even, else a get; clients start
    /// on different keys so that they do not all write the same one.
    pub fn command(&self, client: usize, n: u64) -> Command {
        let key = format!("k{}", (client as u64).wrapping_add(n) % KEYS);
        if n.is_multiple_of(2) {
            Command::Put {
                key,
                value: self.value(client, n),
            }
        } else {
            Command::Get { key }
        }
    }

    /// Exactly `value_size` bytes: who wrote it and when (so that values differ), padded with
    /// dots, or cut when the size is smaller than that tag.
    fn value(&self, client: usize, n: u64) -> String {
        let mut value = format!("{client}-{n}");
        value.truncate(self.value_size);
        let pad = self.value_size - value.len();
        value.extend(std::iter::repeat_n('.', pad));
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn puts_and_gets_alternate_on_the_shared_keys() {
        let mix = Workload { value_size: 16 };
        let commands: Vec<Command> = (0..4).map(|n| mix.command(3, n)).collect();
        assert_eq!(
            commands,
            vec![
                Command::Put {
                    key: "k3".into(),
                    value: "3-0.............".into()
                },
                Command::Get { key: "k4".into() },
                Command::Put {
                    key: "k5".into(),
                    value: "3-2.............".into()
                },
                Command::Get { key: "k6".into() },
            ]
        );
        assert_eq!(
            mix.command(7, 1),
            Command::Get {
                key: format!("k{}", 8 % KEYS)
            }
        );
    }

    #[test]
    fn every_value_has_the_asked_size() {
        for value_size in [0, 1, 3, 16, 1000] {
            let mix = Workload { value_size };
            for (client, n) in [(0, 0), (255, 123_456), (usize::MAX, u64::MAX - 1)] {
                match mix.command(client, n) {
                    Command::Put { value, .. } => assert_eq!(value.len(), value_size),
                    other => panic!("expected a put, got {other:?}"),
                }
            }
        }
    }
}
