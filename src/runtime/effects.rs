//! Carrying out what an actor's step asked for, in the order it asked: a save is synced before
//! the sends that follow it leave the node (an acceptor's PROMISE or LEARN depends on its synced
//! state), and timers are set or cancelled. [`Burst`] carries out the steps of several inputs
//! with one sync (group commit). One implementation for every driver — the UDP event loop and
//! the simulator — behind three small traits, so both run the same ordering.

use super::storage::Storage;
use stateright::actor::{Actor, Command, Id, Out};
use std::io;
use std::ops::Range;
use std::time::Duration;

/// Where a node's messages go (a socket, a simulated network).
pub trait Transport<M> {
    fn send(&mut self, to: Id, msg: M);
}

/// A node's timers (a clock's, a simulated clock's).
pub trait Timers<T> {
    /// Sets `timer` to fire once, after a duration within `range`; a set timer is replaced.
    fn set(&mut self, timer: T, range: Range<Duration>);
    fn cancel(&mut self, timer: &T);
}

/// The steps of one burst of inputs, carried out with one sync: their saves are written at
/// once and synced together by [`Burst::finish`], and every message to another node sent after
/// the burst's first write is held until then, since it may depend on a write of the burst.
/// What the steps sent before that write depends only on synced state, and leaves when the
/// write comes: an acceptor's answers to the clients of one slot do not wait for its vote in
/// the next. Messages a node sends itself go at once: they never leave it, so they reveal
/// nothing a crash could take back.
pub struct Burst<M> {
    held: Vec<(Id, M)>,
    written: bool,
    /// A deliberately broken burst, which the simulator must catch: it sends what it held
    /// at every write, not only at the first.
    releases_at_every_write: bool,
}

impl<M> Default for Burst<M> {
    fn default() -> Self {
        Burst {
            held: Vec::new(),
            written: false,
            releases_at_every_write: false,
        }
    }
}

impl<M> Burst<M> {
    /// The broken burst of `bpfp simulate --broken release-at-every-write`: what a step sent
    /// after an unsynced write leaves at the next write, before any sync.
    pub fn broken_releasing_at_every_write() -> Self {
        Burst {
            releases_at_every_write: true,
            ..Burst::default()
        }
    }

    /// Carries out `out`, a step of node `me`, in order, but writes without syncing and holds
    /// the sends to other nodes until the burst's first write, or after it until
    /// [`Burst::finish`]. A failed write stops it there and is returned.
    pub fn carry_out<A: Actor<Msg = M>>(
        &mut self,
        me: Id,
        out: Out<A>,
        storage: &mut impl Storage<A::Storage>,
        transport: &mut impl Transport<M>,
        timers: &mut impl Timers<A::Timer>,
    ) -> io::Result<()> {
        for command in out {
            match command {
                Command::Save(stable) => {
                    if !self.written || self.releases_at_every_write {
                        // Nothing is written but unsynced: what is held depends on none of it.
                        for (dst, msg) in self.held.drain(..) {
                            transport.send(dst, msg);
                        }
                    }
                    storage.write(&stable)?;
                    self.written = true;
                }
                Command::Send(dst, msg) if dst == me => transport.send(dst, msg),
                Command::Send(dst, msg) => self.held.push((dst, msg)),
                Command::SetTimer(timer, range) => timers.set(timer, range),
                Command::CancelTimer(timer) => timers.cancel(&timer),
                Command::ChooseRandom(..) => {}
            }
        }
        Ok(())
    }

    /// Syncs what the burst wrote, then sends what it held, in order. Returns whether it
    /// synced. After a failed sync nothing is sent.
    pub fn finish<S>(
        &mut self,
        storage: &mut impl Storage<S>,
        transport: &mut impl Transport<M>,
    ) -> io::Result<bool> {
        let synced = std::mem::take(&mut self.written);
        if synced {
            storage.sync()?;
        }
        for (dst, msg) in self.held.drain(..) {
            transport.send(dst, msg);
        }
        Ok(synced)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// An actor only for its types: messages and stored states are bytes.
    struct Bytes;

    impl Actor for Bytes {
        type Msg = u8;
        type State = ();
        type Timer = ();
        type Random = ();
        type Storage = u8;
        fn on_start(&self, _: Id, _: &Option<u8>, _: &mut Out<Self>) {}
    }

    /// What reached the disk and the network, in order.
    type Events = Arc<Mutex<Vec<String>>>;

    struct Disk(Events, bool);
    impl Storage<u8> for Disk {
        fn save(&mut self, state: &u8) -> io::Result<()> {
            self.write(state)?;
            self.sync()
        }
        fn write(&mut self, state: &u8) -> io::Result<()> {
            self.0.lock().unwrap().push(format!("write {state}"));
            Ok(())
        }
        fn sync(&mut self) -> io::Result<()> {
            if self.1 {
                return Err(io::Error::other("disk gone"));
            }
            self.0.lock().unwrap().push("sync".into());
            Ok(())
        }
    }

    struct Wire(Events);
    impl Transport<u8> for Wire {
        fn send(&mut self, to: Id, msg: u8) {
            self.0
                .lock()
                .unwrap()
                .push(format!("send {msg} to {}", usize::from(to)));
        }
    }

    struct NoTimers;
    impl Timers<()> for NoTimers {
        fn set(&mut self, _: (), _: Range<Duration>) {}
        fn cancel(&mut self, _: &()) {}
    }

    /// Two steps, each a save then a send to another node and one to itself.
    fn two_steps(failing_disk: bool) -> (Vec<String>, io::Result<bool>) {
        let events = Events::default();
        let (mut disk, mut wire) = (Disk(events.clone(), failing_disk), Wire(events.clone()));
        let me = Id::from(9);
        let mut burst = Burst::default();
        for n in [1, 2] {
            let mut out: Out<Bytes> = Out::new();
            out.save(n);
            out.send(Id::from(1), n);
            out.send(me, n);
            burst
                .carry_out(me, out, &mut disk, &mut wire, &mut NoTimers)
                .unwrap();
        }
        let finished = burst.finish(&mut disk, &mut wire);
        let seen = events.lock().unwrap().clone();
        (seen, finished)
    }

    #[test]
    fn a_burst_syncs_once_before_any_message_leaves_the_node() {
        let (events, finished) = two_steps(false);
        assert!(finished.unwrap());
        assert_eq!(
            events,
            [
                "write 1",
                "send 1 to 9",
                "write 2",
                "send 2 to 9",
                "sync",
                "send 1 to 1",
                "send 2 to 1"
            ]
        );
    }

    #[test]
    fn what_a_burst_sent_before_its_first_write_leaves_at_that_write() {
        let events = Events::default();
        let (mut disk, mut wire) = (Disk(events.clone(), false), Wire(events.clone()));
        let me = Id::from(9);
        let mut burst = Burst::default();
        let steps: [&[Option<u8>]; 3] = [&[None], &[Some(2), None], &[None]];
        for (n, step) in steps.iter().enumerate() {
            let mut out: Out<Bytes> = Out::new();
            for save in step.iter() {
                match save {
                    Some(state) => out.save(*state),
                    None => out.send(Id::from(1), n as u8),
                }
            }
            burst
                .carry_out(me, out, &mut disk, &mut wire, &mut NoTimers)
                .unwrap();
        }
        assert!(burst.finish(&mut disk, &mut wire).unwrap());
        assert_eq!(
            *events.lock().unwrap(),
            [
                "send 0 to 1",
                "write 2",
                "sync",
                "send 1 to 1",
                "send 2 to 1"
            ]
        );
        // A burst that writes nothing sends what it held when it finishes, without a sync.
        events.lock().unwrap().clear();
        let mut out: Out<Bytes> = Out::new();
        out.send(Id::from(1), 7);
        burst
            .carry_out(me, out, &mut disk, &mut wire, &mut NoTimers)
            .unwrap();
        assert!(events.lock().unwrap().is_empty());
        assert!(!burst.finish(&mut disk, &mut wire).unwrap());
        assert_eq!(*events.lock().unwrap(), ["send 7 to 1"]);
    }

    #[test]
    fn after_a_failed_sync_nothing_leaves_the_node() {
        let (events, finished) = two_steps(true);
        assert!(finished.is_err());
        assert!(!events.iter().any(|e| e.ends_with("to 1")), "{events:?}");
    }
}
