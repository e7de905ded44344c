//! The freshness floors of the clients whose addresses a node learns ([`Freshness`]): for each
//! client, the highest number its address moved for. On an acceptor they are durable, and a
//! floor is synced before the address moves, so that after a restart a replay of a request the
//! node saw before does not move the address either (a reflection).
//!
//! [`Freshness`]: super::event_loop::Freshness

use super::storage::{Storage, Volatile};
use stateright::actor::Id;
use std::collections::BTreeMap;
use std::io;

/// The floors, by the client's node id (`usize::from(Id)`, WIRE.md section 2).
pub type FreshnessFloors = BTreeMap<u64, u64>;

/// The floors `floors` with the one of `client` raised to `fresh`, or `None` if `fresh` is not
/// above it (then the address must not move).
pub fn raised(floors: &FreshnessFloors, client: Id, fresh: u64) -> Option<FreshnessFloors> {
    let key = usize::from(client) as u64;
    if floors.get(&key).is_some_and(|floor| *floor >= fresh) {
        return None;
    }
    let mut next = floors.clone();
    next.insert(key, fresh);
    Some(next)
}

/// A node's floors and where it keeps them.
pub struct AddressFloors {
    floors: FreshnessFloors,
    store: Box<dyn Storage<FreshnessFloors>>,
}

impl AddressFloors {
    /// Floors that a restart forgets (a node that keeps nothing, or a test).
    pub fn volatile() -> Self {
        Self::durable(FreshnessFloors::new(), Volatile)
    }

    /// Floors recovered as `floors`, each raise saved to `store` (and synced) first.
    pub fn durable(floors: FreshnessFloors, store: impl Storage<FreshnessFloors>) -> Self {
        AddressFloors {
            floors,
            store: Box::new(store),
        }
    }

    /// Raises the floor of `client` to `fresh` if it is above it, durably: `Ok(true)` once it
    /// is saved, and only then may the client's address move.
    pub fn raise(&mut self, client: Id, fresh: u64) -> io::Result<bool> {
        let Some(next) = raised(&self.floors, client, fresh) else {
            return Ok(false);
        };
        self.store.save(&next)?;
        self.floors = next;
        Ok(true)
    }

    pub fn floors(&self) -> &FreshnessFloors {
        &self.floors
    }
}
