//! The bytes of an acceptor's votes from its replica's last snapshot on, counted after every
//! step ([`super::acceptor`] snapshots once they reach twice the open-vote bound). Summing
//! them afresh walked every command of every kept batch at every step: a tenth of an
//! acceptor's time at 64 clients. Each vote's size is counted once instead, and kept by slot
//! with the round of the vote: an acceptor votes once per round and slot, so a slot whose
//! round is unchanged holds the same value.

use super::msg::SlotValue;
use crate::log::Slot;
use crate::log::acceptor::LogAcceptorState;
use crate::types::{Round, Value};
use std::collections::BTreeMap;

/// The sizes of the votes counted so far, by slot, with each vote's round.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct VoteBytes {
    sizes: BTreeMap<Slot, (Round, usize)>,
}

impl VoteBytes {
    /// The bytes of `log`'s votes in slots from `from` on. Forgets the sizes below `from`
    /// and those of slots that hold no vote any more.
    pub fn from(&mut self, log: &LogAcceptorState<SlotValue>, from: Slot) -> usize {
        if self
            .sizes
            .first_key_value()
            .is_some_and(|(slot, _)| *slot < from)
        {
            self.sizes = self.sizes.split_off(&from);
        }
        // One walk over both maps in slot order, not a lookup per vote: a step changes a
        // vote or two, and the walk only notes those.
        let mut total = 0usize;
        let mut counted = Vec::new();
        let mut stale = Vec::new();
        let mut sizes = self.sizes.iter().peekable();
        for (slot, vote) in log.votes().range(from..) {
            while let Some((gone, _)) = sizes.next_if(|(s, _)| *s < slot) {
                stale.push(*gone);
            }
            let size = match sizes.next_if(|(s, _)| *s == slot) {
                Some((_, (round, size))) if *round == vote.round => *size,
                _ => {
                    let size = vote.value.encoded_len();
                    counted.push((*slot, (vote.round, size)));
                    size
                }
            };
            total = total.saturating_add(size);
        }
        stale.extend(sizes.map(|(slot, _)| *slot));
        for slot in stale {
            self.sizes.remove(&slot);
        }
        self.sizes.extend(counted);
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::acceptor::LogDurableState;
    use crate::log::value::LogValue;
    use crate::message::Vote;
    use crate::service::command::{Batch, Command, Op};

    fn batch(bytes: usize) -> SlotValue {
        let command = Command {
            client: crate::types::ClientId(0),
            seq: 1,
            op: Op::Put {
                key: "k".into(),
                value: "x".repeat(bytes),
            },
            mac: crate::auth::Mac([0; 32]),
        };
        LogValue::Batch(Batch::from(vec![command]))
    }

    fn log_with(votes: &[(Slot, Round, usize)]) -> LogAcceptorState<SlotValue> {
        let votes = votes
            .iter()
            .map(|(slot, round, bytes)| {
                let value = batch(*bytes);
                (
                    *slot,
                    Vote {
                        round: *round,
                        value,
                    },
                )
            })
            .collect();
        LogAcceptorState::recover(&LogDurableState {
            rnd: 9,
            base: 0,
            votes,
        })
    }

    fn recount(log: &LogAcceptorState<SlotValue>, from: Slot) -> usize {
        let kept = log.votes().range(from..);
        kept.map(|(_, vote)| vote.value.encoded_len()).sum()
    }

    #[test]
    fn the_count_follows_votes_cast_replaced_and_dropped() {
        let mut counted = VoteBytes::default();
        let mut check = |log: &LogAcceptorState<SlotValue>, from: Slot| {
            let total = counted.from(log, from);
            assert_eq!(total, recount(log, from));
            total
        };
        let first = log_with(&[(3, 1, 100), (4, 1, 200)]);
        let before = check(&first, 0);
        // A new round's vote in slot 4 with another value, and a new slot.
        let next = log_with(&[(3, 1, 100), (4, 2, 5_000), (5, 2, 50)]);
        assert!(check(&next, 0) > before);
        // From a later snapshot on, and after the votes below it were dropped.
        assert_eq!(check(&next, 4), recount(&next, 4));
        let dropped = log_with(&[(5, 2, 50)]);
        check(&dropped, 4);
        // A slot whose vote was dropped and cast again in another round is counted afresh.
        let again = log_with(&[(4, 3, 10), (5, 2, 50)]);
        check(&again, 4);
    }
}
