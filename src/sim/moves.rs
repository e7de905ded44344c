//! The fault schedule's moves and faults: plain data that the world queues as happenings and
//! the nemesis ([`super::nemesis`]) carries out, so that neither imports the other's code.

/// The fault schedule's moves.
#[derive(Clone, Debug)]
pub enum Move {
    Strike,
    Recover(Fault),
    /// A crash armed for a write that did not come: crash now.
    CrashNow(usize),
    Heal,
    EndWorkload,
    FinalReads,
}

/// One fault, until it is undone.
#[derive(Clone, Debug)]
pub enum Fault {
    AcceptorCrash(usize),
    ProposerCrash(usize),
    Partition,
    DiskFull(usize),
    WholeCluster,
}
