//! Checks the simulator makes as the run goes, from the outside of the nodes: every replica
//! applied the same log (digests of equally long applied prefixes agree), an acceptor never
//! votes two values in one slot and round, and an acceptor that restarts recovers at least
//! what it had already announced (its round, its votes).

use crate::log::Slot;
use crate::log::acceptor::LogDurableState;
use crate::log::message::LogMsg;
use crate::service::msg::SlotValue;
use crate::types::Round;
use std::collections::BTreeMap;

/// A violation, with the step at which it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub step: u64,
    pub what: String,
}

/// The applied logs seen so far, by length, with the acceptor that first applied each.
#[derive(Default)]
pub struct Prefixes {
    by_length: BTreeMap<u64, (usize, [u8; 32])>,
}

impl Prefixes {
    pub fn record(&mut self, acceptor: usize, applied: u64, digest: [u8; 32]) -> Option<String> {
        match self.by_length.get(&applied) {
            Some((other, d)) if *d != digest => Some(format!(
                "acceptors {acceptor} and {other} applied different logs of {applied} slots"
            )),
            Some(_) => None,
            None => {
                self.by_length.insert(applied, (acceptor, digest));
                None
            }
        }
    }
}

/// What each acceptor announced: its highest round and, per slot, its votes by round.
#[derive(Default)]
pub struct Announced {
    /// Per acceptor: the highest round of any PROMISE, TRUSTCHANGE or LEARN it sent.
    round: BTreeMap<usize, Round>,
    /// Per acceptor and slot: the value of each round it voted in (from its LEARNs).
    votes: BTreeMap<(usize, Slot), BTreeMap<Round, SlotValue>>,
}

impl Announced {
    /// Notes a message acceptor `a` sent; a second value for one slot and round is a violation.
    pub fn sent(&mut self, a: usize, msg: &LogMsg<SlotValue>) -> Option<String> {
        let round = match msg {
            LogMsg::Promise(p) => p.round,
            LogMsg::TrustChange { round } => *round,
            LogMsg::Learn { round, slot, value } => {
                let votes = self.votes.entry((a, *slot)).or_default();
                match votes.get(round) {
                    Some(v) if v != value => {
                        return Some(format!(
                            "acceptor {a} voted twice in slot {slot}, round {round}: {v} and {value}"
                        ));
                    }
                    Some(_) => {}
                    None => {
                        votes.insert(*round, value.clone());
                    }
                }
                *round
            }
            _ => return None,
        };
        let highest = self.round.entry(a).or_default();
        *highest = (*highest).max(round);
        None
    }

    /// Acceptor `a` restarted from `stored` (`None`: an empty store): what it had announced
    /// and lost.
    pub fn restarted(
        &mut self,
        a: usize,
        stored: Option<&LogDurableState<SlotValue>>,
    ) -> Vec<String> {
        let (rnd, base) = stored.map_or((0, 0), |s| (s.rnd, s.base));
        let mut lost = Vec::new();
        let announced = self.round.get(&a).copied().unwrap_or(0);
        if rnd < announced {
            lost.push(format!(
                "acceptor {a} restarted in round {rnd} but had announced round {announced}"
            ));
        }
        // Slots below the stored base are decided and their votes rightly dropped.
        let below: Vec<(usize, Slot)> = self
            .votes
            .range((a, 0)..(a, base))
            .map(|(k, _)| *k)
            .collect();
        for k in below {
            self.votes.remove(&k);
        }
        for ((_, slot), votes) in self.votes.range((a, base)..=(a, Slot::MAX)) {
            let Some(highest) = votes.keys().next_back() else {
                continue;
            };
            let kept = stored.and_then(|s| s.votes.get(slot)).map(|v| v.round);
            if kept.is_none_or(|r| r < *highest) {
                lost.push(format!(
                    "acceptor {a} restarted without its vote of round {highest} in slot {slot}, \
                     which it had sent"
                ));
                break;
            }
        }
        lost
    }

    /// Forgets the slots below `slot`, decided everywhere, to bound the memory of a long run.
    pub fn forget_below(&mut self, slot: Slot) {
        self.votes.retain(|(_, s), _| *s >= slot);
    }

    pub fn tracked_slots(&self) -> usize {
        self.votes.len()
    }
}
