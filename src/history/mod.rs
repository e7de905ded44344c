//! Histories of a key-value service's operations and their judge: the operations clients
//! invoked and what became of them ([`events`], Jepsen's format), and whether a history is
//! linearizable ([`linearizable`]). Torture runs and the simulator record them; the checker
//! needs no oracle of its own.

pub mod events;
pub mod linearizable;
