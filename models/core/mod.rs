//! The model core that the single decree and the replicated log share. A protocol names its
//! honest actor, its Byzantine proposer, its ghost history and its acceptors' states
//! ([`protocol::Protocol`]); the core builds the stateright model around them (the network,
//! crashes, PROMISEs shown to Byzantine proposers at once, the bounds), renames acceptors for
//! symmetry, and turns what a checker found into verdicts and numbered steps.
//!
//! Its files import one another only downwards: `shape`, `menu`, `mixed` and `property` at
//! the bottom, then `protocol`, then `actor_step`, then `ghost`, `reductions`, `settle` and
//! `symmetry`, then `eager` (the Byzantine proposers' shared parts), then `model`, then
//! `report`.

pub mod actor_step;
pub mod eager;
pub mod ghost;
pub mod menu;
pub mod mixed;
pub mod model;
pub mod property;
pub mod protocol;
pub mod reductions;
pub mod report;
pub mod settle;
pub mod shape;
pub mod symmetry;
