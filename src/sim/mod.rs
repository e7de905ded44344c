//! Deterministic simulation of the whole service (`bpfp simulate`): the real server actors,
//! the real durable store and the event loop's own carrying-out of effects, on one thread with
//! a simulated clock, network and disk, all driven by one seed. The same seed replays the same
//! run, byte for byte; a run ends with the checks of [`run`].
//!
//! - [`world`]: the clock, the event queue, the servers, clients and Byzantine nodes.
//! - [`net`], [`disk`]: the network's and the disk's faults.
//! - [`moves`], [`nemesis`]: the fault schedule's moves, and the schedule that makes them.
//! - [`client`]: honest clients (the service client's logic on the simulated clock) and a
//!   Byzantine client.
//! - [`checks`]: the checks made as the run goes; [`liveness`]: the bound checked at the end.
//! - [`run`]: options, the fault schedule, the phases of a run, the final checks and report.

pub mod attack;
pub mod checks;
pub mod client;
pub mod disk;
pub mod liveness;
pub mod moves;
pub mod nemesis;
pub mod net;
pub mod run;
pub mod rx;
pub mod world;

pub use run::{SimBroken, SimOptions, SimReport, first_failing_step, simulate};
