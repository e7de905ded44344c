//! How long an acceptor waits for a decision before it suspects its leader. The configured
//! period doubles for each round the acceptor entered since the highest round it saw a
//! decision in, up to [`MAX_DOUBLINGS`] times, so that a leader that needs longer than the
//! period to gather its PROMISEs and bring its NEWROUND to a quorum (a loaded machine, large
//! PROMISEs, a slow network) gets a round long enough after a few failed ones, instead of
//! rounds that change faster than any of them can finish. A decision brings it back to the
//! configured period, so that a crashed leader is still found quickly while the log moves.
//!
//! Only when the acceptor suspects changes, never what it does then: any schedule of
//! suspicions is one the protocol tolerates (PROTOCOL.md §2), so this cannot break safety.

use crate::log::acceptor::LogAcceptorState;
use crate::types::{Round, Value};
use std::ops::Range;
use std::time::Duration;

/// The period grows to at most `2^MAX_DOUBLINGS` (32) times the configured one.
pub const MAX_DOUBLINGS: u32 = 5;

/// What an acceptor's suspicion period depends on besides its round.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Suspicion {
    /// The highest round in which it saw a slot decided (after a restart, which forgets
    /// decisions, the highest round it voted in).
    decided_round: Round,
}

impl Suspicion {
    /// After a restart from the durable state `log` was recovered from. A restarted learner
    /// knows no decision, only the acceptor's votes: the highest round it voted in is the
    /// latest round whose leader it saw at work, decided or not. So an acceptor restarted in
    /// a high round above its votes keeps a long period (it does not start at the configured
    /// one, as if the log moved), and one whose last round decided starts short. With every
    /// vote dropped behind a snapshot, every vote it cast was decided and nothing waits: it
    /// counts from its round, so that after a restart of the whole cluster the leader of that
    /// round (which lost its PROMISEs if it restarted too) is suspected within the configured
    /// period, not up to 32 times that. With no vote ever cast it counts from round 0:
    /// nothing it kept shows a decision at all, so it errs towards the longer period.
    pub fn recovered<V: Value>(log: &LogAcceptorState<V>) -> Self {
        let voted = log.votes().values().map(|v| v.round).max();
        let decided_round = match voted {
            Some(round) => round.min(log.rnd()),
            None if log.decided_base() > 0 => log.rnd(),
            None => 0,
        };
        Suspicion { decided_round }
    }

    /// A slot was decided in `round`. Whether that shortened the period in round `rnd`.
    pub fn decided(&mut self, round: Round, rnd: Round) -> bool {
        if round <= self.decided_round {
            return false;
        }
        let before = self.doublings(rnd);
        self.decided_round = round;
        self.doublings(rnd) < before
    }

    /// How many rounds it entered, up to `rnd`, since the last one it saw a decision in.
    pub fn rounds_without_decision(&self, rnd: Round) -> Round {
        rnd.saturating_sub(self.decided_round)
    }

    /// How many times the configured period is doubled in round `rnd`.
    pub fn doublings(&self, rnd: Round) -> u32 {
        self.rounds_without_decision(rnd).min(MAX_DOUBLINGS)
    }

    /// The range the suspicion timer is drawn from in round `rnd`: the configured range
    /// `base` (its jitter kept, so that acceptors do not all suspect at once), doubled.
    pub fn period(&self, base: &Range<Duration>, rnd: Round) -> Range<Duration> {
        let factor = 1u32 << self.doublings(rnd);
        base.start * factor..base.end * factor
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::acceptor::LogDurableState;
    use crate::message::Vote;
    use std::collections::BTreeMap;

    const BASE: Range<Duration> = Duration::from_millis(400)..Duration::from_millis(600);

    fn ms(a: u64, b: u64) -> Range<Duration> {
        Duration::from_millis(a)..Duration::from_millis(b)
    }

    #[test]
    fn each_round_without_a_decision_doubles_the_period() {
        let s = Suspicion::default();
        assert_eq!(s.period(&BASE, 0), BASE);
        assert_eq!(s.period(&BASE, 1), ms(800, 1200));
        assert_eq!(s.period(&BASE, 2), ms(1600, 2400));
        assert_eq!(s.period(&BASE, 3), ms(3200, 4800));
    }

    #[test]
    fn the_period_stops_growing_at_32_times_the_configured_one() {
        let s = Suspicion::default();
        assert_eq!(s.period(&BASE, 5), ms(12_800, 19_200));
        assert_eq!(s.period(&BASE, 6), ms(12_800, 19_200));
        assert_eq!(s.period(&BASE, Round::MAX), ms(12_800, 19_200));
        assert_eq!(s.rounds_without_decision(Round::MAX), Round::MAX);
    }

    #[test]
    fn a_decision_in_the_current_round_resets_the_period() {
        let mut s = Suspicion::default();
        assert_eq!(s.period(&BASE, 4), ms(6400, 9600));
        assert!(s.decided(4, 4), "the period shrank");
        assert_eq!(s.period(&BASE, 4), BASE);
        assert!(
            !s.decided(4, 4),
            "a second decision in the round changes nothing"
        );
        // The next round, entered without a decision, doubles it again.
        assert_eq!(s.period(&BASE, 5), ms(800, 1200));
    }

    #[test]
    fn a_decision_of_an_earlier_round_counts_from_that_round() {
        let mut s = Suspicion::default();
        // Slot decided in round 3, learned while the acceptor is in round 6.
        assert!(s.decided(3, 6));
        assert_eq!(s.rounds_without_decision(6), 3);
        assert_eq!(s.period(&BASE, 6), ms(3200, 4800));
        // An older decision, caught up later, does not undo that.
        assert!(!s.decided(1, 6));
        assert_eq!(s.rounds_without_decision(6), 3);
    }

    fn recovered(rnd: Round, vote_rounds: &[Round]) -> Suspicion {
        recovered_from(rnd, 0, vote_rounds)
    }

    fn recovered_from(rnd: Round, base: u64, vote_rounds: &[Round]) -> Suspicion {
        let votes: BTreeMap<u64, Vote<String>> = vote_rounds
            .iter()
            .enumerate()
            .map(|(slot, round)| {
                let vote = Vote {
                    round: *round,
                    value: String::new(),
                };
                (slot as u64, vote)
            })
            .collect();
        let durable = LogDurableState { rnd, base, votes };
        Suspicion::recovered(&LogAcceptorState::recover(&durable))
    }

    #[test]
    fn a_restart_counts_the_rounds_above_its_latest_vote() {
        let s = recovered(9, &[2, 7, 5]);
        assert_eq!(s.rounds_without_decision(9), 2);
        assert_eq!(s.period(&BASE, 9), ms(1600, 2400));
        // Voted in its current round: its leader was at work, the period is the configured one.
        assert_eq!(recovered(7, &[7]).period(&BASE, 7), BASE);
    }

    #[test]
    fn a_restart_with_every_vote_dropped_behind_a_snapshot_counts_from_its_round() {
        // Slots 0 to 99 decided and their votes dropped: whatever round it is in, the leader
        // of that round gets the configured period first (seed 313 of `bpfp simulate` waited
        // 8 and then 16 times it after a restart of the whole cluster).
        assert_eq!(recovered_from(3, 100, &[]).period(&BASE, 3), BASE);
        assert_eq!(recovered_from(12, 100, &[]).rounds_without_decision(13), 1);
        // A kept vote still says more: its round is the latest whose leader it saw at work.
        assert_eq!(recovered_from(9, 100, &[7]).rounds_without_decision(9), 2);
    }

    #[test]
    fn a_restart_without_votes_counts_from_round_zero() {
        assert_eq!(recovered(0, &[]).period(&BASE, 0), BASE);
        assert_eq!(recovered(12, &[]).rounds_without_decision(12), 12);
        assert_eq!(recovered(12, &[]).period(&BASE, 12), ms(12_800, 19_200));
    }
}
