//! A leader's short wait for the clients it just answered, before it proposes a small batch.
//!
//! With one slot in flight, a decision reaches the leader and the clients it answers at
//! about the same time. The leader proposes at once what is queued, and the clients' next
//! commands arrive one hop later, to wait a whole slot for the one after. Closed-loop
//! clients then split into two groups that take turns, each command waiting two slots: 4
//! clients gave 2 commands per slot. So, after a decision that leaves fewer than
//! `Tuning::linger_below` commands queued, the leader waits for the next command of every
//! client of the decided batch, or for `Tuning::linger` to pass, and proposes them all in
//! one slot. A larger queue is proposed at once: its slot is already full enough that
//! waiting would cost more than it saves.
//!
//! When the clients are farther than `linger` (a network slower than this machine's
//! loopback) the wait runs out and only delays the slot: so a wait that runs out is followed
//! by 1, 2, 4, … up to 64 decisions with no wait (of those that leave fewer than
//! `linger_below` queued), until one ends before its timer. A client that does not come back
//! (it stopped, or it lies) thus costs at most one `linger` per decision of one of its
//! commands, and far fewer when it does it again. Only liveness depends on any of this.
//!
//! The set it waits for holds at most one batch's clients, and it is built only when fewer
//! than `linger_below` commands are queued, so a decision costs it little.

use super::command::{Batch, Command};
use crate::types::ClientId;
use std::collections::BTreeSet;

/// The clients a leader waits for before it proposes again.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Linger {
    /// The clients of the decided batch whose next command it has not yet queued.
    awaited: BTreeSet<ClientId>,
    /// Its timer is set: from the decision on, until it fires or is cancelled.
    armed: bool,
    /// Decisions after which it will not wait: a wait the timer ended is followed by
    /// `backoff` decisions without one.
    skip: u32,
    /// Doubles with every wait the timer ends, back to none when all the clients come back
    /// in time.
    backoff: u32,
}

/// The most decisions a leader lets pass without waiting, after waits that ran out.
const MOST_SKIPPED: u32 = 64;

impl Linger {
    /// `batch` was decided, with `pending` queued: waits for the batch's clients that have
    /// not already sent their next command, if fewer than `below` commands are queued.
    /// Returns whether the timer is to be set (it is set once per wait, at its beginning).
    pub fn after_decision(&mut self, batch: &Batch, pending: &[Command], below: usize) -> bool {
        if pending.len() >= below {
            return false;
        }
        if self.skip > 0 && !self.armed {
            self.skip -= 1;
            return false;
        }
        let back = |c: &Command| {
            pending
                .iter()
                .any(|p| p.client == c.client && p.seq > c.seq)
        };
        self.awaited
            .extend(batch.0.iter().filter(|c| !back(c)).map(|c| c.client));
        let start = !self.awaited.is_empty() && !self.armed;
        self.armed |= start;
        start
    }

    /// `client`'s next command was queued.
    pub fn arrived(&mut self, client: ClientId) {
        self.awaited.remove(&client);
    }

    /// Whether the next proposal waits, with `pending` commands queued: while a client is
    /// awaited and fewer than `below` are queued (a queue that filled up during the wait goes).
    pub fn holds(&self, pending: usize, below: usize) -> bool {
        !self.awaited.is_empty() && pending < below
    }

    /// The wait ended before its timer: every awaited client came back, or the queue filled
    /// up. Returns whether its timer is still set, to be cancelled.
    pub fn end(&mut self) -> bool {
        self.awaited.clear();
        if self.armed {
            self.backoff = 0;
        }
        std::mem::take(&mut self.armed)
    }

    /// The timer fired: if clients were still awaited, the next waits are skipped, more of
    /// them each time this happens again.
    pub fn ran_out(&mut self) {
        self.armed = false;
        if self.awaited.is_empty() {
            return;
        }
        self.awaited.clear();
        self.backoff = (self.backoff * 2).clamp(1, MOST_SKIPPED);
        self.skip = self.backoff;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Mac;
    use crate::service::Op;

    fn command(client: u16, seq: u64) -> Command {
        Command {
            client: ClientId(client),
            seq,
            op: Op::Get { key: "k".into() },
            mac: Mac([0; 32]),
        }
    }

    #[test]
    fn it_waits_for_the_decided_batchs_clients_that_are_not_back_yet() {
        let mut linger = Linger::default();
        let decided = Batch::from(vec![command(0, 1), command(1, 1), command(2, 1)]);
        // Client 1 is back already; client 3's command was not in the batch.
        let pending = [command(1, 2), command(3, 1)];
        assert!(linger.after_decision(&decided, &pending, 8));
        assert!(linger.holds(2, 8));
        linger.arrived(ClientId(0));
        assert!(linger.holds(3, 8), "client 2 is still awaited");
        assert!(!linger.holds(8, 8), "a queue that filled up goes");
        linger.arrived(ClientId(2));
        assert!(!linger.holds(4, 8));
        assert!(linger.end(), "its timer is still set");
        assert!(!linger.end());
    }

    #[test]
    fn a_queue_as_long_as_the_bound_is_proposed_at_once() {
        let mut linger = Linger::default();
        let decided = Batch::from(vec![command(0, 1)]);
        let pending = [command(1, 1), command(2, 1)];
        assert!(!linger.after_decision(&decided, &pending, 2));
        assert!(!linger.holds(0, 8));
    }

    #[test]
    fn a_batch_whose_clients_are_all_back_is_not_waited_for() {
        let mut linger = Linger::default();
        let decided = Batch::from(vec![command(0, 1)]);
        assert!(!linger.after_decision(&decided, &[command(0, 2)], 8));
        assert!(!linger.holds(0, 8));
    }

    #[test]
    fn waits_that_run_out_are_followed_by_more_and_more_decisions_without_one() {
        let mut linger = Linger::default();
        let decided = Batch::from(vec![command(0, 1)]);
        let mut waited = Vec::new();
        for _ in 0..12 {
            let waits = linger.after_decision(&decided, &[], 8);
            waited.push(waits);
            if waits {
                linger.ran_out();
            }
        }
        let t = true;
        let f = false;
        assert_eq!(waited, [t, f, t, f, f, t, f, f, f, f, t, f]);
        // Seven more skipped (of 8 after the fourth wait ran out), then a wait that ends
        // with its client back in time ends the back-off.
        for _ in 0..7 {
            assert!(!linger.after_decision(&decided, &[], 8));
        }
        assert!(linger.after_decision(&decided, &[], 8));
        linger.arrived(ClientId(0));
        assert!(linger.end());
        assert!(linger.after_decision(&decided, &[], 8));
    }

    #[test]
    fn a_second_decision_while_waiting_adds_its_clients_and_keeps_the_timer() {
        let mut linger = Linger::default();
        assert!(linger.after_decision(&Batch::from(vec![command(0, 1)]), &[], 8));
        assert!(!linger.after_decision(&Batch::from(vec![command(1, 1)]), &[], 8));
        linger.arrived(ClientId(0));
        assert!(linger.holds(0, 8), "client 1 is awaited too");
    }
}
