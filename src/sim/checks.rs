//! Checks the simulator makes as the run goes, from the outside of the nodes: every replica
//! applied the same log (digests of equally long applied prefixes agree), an acceptor never
//! votes two values in one slot and round, every PROMISE, TRUSTCHANGE and LEARN an acceptor
//! sends is covered by what its disk had synced when it left, and an acceptor that restarts
//! recovers at least what it had already announced (its round, its votes).

use crate::log::Slot;
use crate::log::acceptor::LogDurableState;
use crate::log::message::LogMsg;
use crate::service::msg::SlotValue;
use crate::types::Round;
use std::collections::BTreeMap;
use std::fmt;

/// The property a violation breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Property {
    /// Replicas applied the same log, and acceptors decided the same values.
    Agreement,
    /// An acceptor votes at most one value in a slot and round.
    VoteOnce,
    /// An acceptor's PROMISE, TRUSTCHANGE or LEARN leaves only once its disk synced the
    /// round or vote it announces.
    SyncedBeforeSend,
    /// A store drops the votes of a slot only once its synced snapshot covers the slot.
    SnapshotBeforeCompaction,
    /// A restarted acceptor recovers every round and vote it announced.
    Recovery,
    /// A store fails only when its disk does.
    Store,
    /// Per key, the history is linearizable.
    Linearizable,
    /// After the faults heal, every operation completes within the bound.
    Liveness,
    /// Every reply answers the command it names.
    Replies,
}

impl Property {
    pub fn name(self) -> &'static str {
        match self {
            Property::Agreement => "agreement",
            Property::VoteOnce => "vote once",
            Property::SyncedBeforeSend => "synced before send",
            Property::SnapshotBeforeCompaction => "snapshot before compaction",
            Property::Recovery => "recovery",
            Property::Store => "store",
            Property::Linearizable => "linearizable",
            Property::Liveness => "liveness",
            Property::Replies => "replies",
        }
    }

    /// Checked as the run goes (so a run cut short still shows it), not only at its end.
    pub fn online(self) -> bool {
        !matches!(
            self,
            Property::Linearizable | Property::Liveness | Property::Replies
        )
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A violation, with the step at which it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub step: u64,
    pub property: Property,
    pub what: String,
}

/// Why `msg`, sent by acceptor `a`, is not covered by `synced`, the round and votes its disk
/// had synced when the message left: a PROMISE or TRUSTCHANGE of a round above the synced
/// one, a PROMISE that reports a vote not synced (unless a vote of its round or later has
/// replaced it since), or a LEARN of a vote not synced (a slot below the synced base is
/// decided, and its vote rightly dropped).
pub fn unsynced(
    a: usize,
    synced: &LogDurableState<SlotValue>,
    msg: &LogMsg<SlotValue>,
) -> Option<String> {
    let has_vote = |slot: Slot, round: Round, value: &SlotValue| {
        slot < synced.base
            || synced
                .votes
                .get(&slot)
                .is_some_and(|v| v.round == round && v.value == *value)
    };
    match msg {
        LogMsg::Promise(p) if p.round > synced.rnd => Some(format!(
            "acceptor {a} sent a PROMISE of round {} with round {} synced",
            p.round, synced.rnd
        )),
        // A vote of the promised round or a later one, in the slot of a reported vote, was
        // cast after the PROMISE (in the same burst, whose sync made both durable before the
        // PROMISE left): the reported vote was written before it.
        LogMsg::Promise(p) => p
            .votes
            .iter()
            .filter(|v| synced.votes.get(&v.slot).is_none_or(|s| s.round < p.round))
            .find(|v| !has_vote(v.slot, v.vote.round, &v.vote.value))
            .map(|v| {
                format!(
                    "acceptor {a} sent a PROMISE that reports its vote of round {} in slot {}, \
                     not synced",
                    v.vote.round, v.slot
                )
            }),
        LogMsg::TrustChange { round } if *round > synced.rnd => Some(format!(
            "acceptor {a} sent a TRUSTCHANGE of round {round} with round {} synced",
            synced.rnd
        )),
        LogMsg::Learn { round, slot, value } if !has_vote(*slot, *round, value) => Some(format!(
            "acceptor {a} sent a LEARN of round {round} in slot {slot} before its vote was synced"
        )),
        _ => None,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Mac;
    use crate::log::message::{LogPromise, SlotVote};
    use crate::message::Vote;
    use crate::types::AcceptorId;

    fn vote(round: Round, value: SlotValue) -> Vote<SlotValue> {
        Vote { round, value }
    }

    /// A disk that synced round `rnd` and, in slot 42, `in_42`.
    fn synced(rnd: Round, in_42: Vote<SlotValue>) -> LogDurableState<SlotValue> {
        LogDurableState {
            rnd,
            base: 0,
            votes: BTreeMap::from([(42, in_42)]),
        }
    }

    /// Acceptor 3's PROMISE of `round`, reporting `reported` as its last vote in slot 42.
    fn promise(round: Round, reported: Vote<SlotValue>) -> LogMsg<SlotValue> {
        LogMsg::Promise(LogPromise {
            round,
            acceptor: AcceptorId(3),
            decided_prefix: 0,
            votes: vec![SlotVote {
                slot: 42,
                vote: reported,
            }]
            .into(),
            mac: Mac([0; 32]),
        })
    }

    #[test]
    fn a_promise_reporting_the_synced_vote_is_covered() {
        let disk = synced(7, vote(6, SlotValue::Noop));
        assert_eq!(
            unsynced(3, &disk, &promise(7, vote(6, SlotValue::Noop))),
            None
        );
    }

    /// Seed 50 of `bpfp simulate --large-values --loss 0.2 --rcvbuf 212992`: in one burst the
    /// acceptor moved to round 7, promised it with its vote of round 6 in slot 42, then voted in
    /// round 7 there. The burst's sync made all three durable before the PROMISE left, but the
    /// disk's last state holds the newer vote. A vote of the promised round (or a later one)
    /// can only follow the PROMISE, so the vote it reports was there before it, in the log.
    #[test]
    fn a_promise_whose_vote_a_vote_of_its_round_replaced_is_covered() {
        let disk = synced(7, vote(7, SlotValue::Noop));
        let reported = vote(6, SlotValue::Batch(Default::default()));
        assert_eq!(unsynced(3, &disk, &promise(7, reported)), None);
    }

    #[test]
    fn a_promise_reporting_a_vote_the_disk_never_held_is_caught() {
        // An older vote than the disk's, which a vote below the promised round replaced.
        let disk = synced(7, vote(6, SlotValue::Noop));
        let stale = promise(7, vote(5, SlotValue::Noop));
        assert!(unsynced(3, &disk, &stale).is_some());
        // A PROMISE of a round the disk has not synced.
        let ahead = promise(8, vote(6, SlotValue::Noop));
        assert!(unsynced(3, &disk, &ahead).is_some());
    }
}
