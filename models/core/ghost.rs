//! What both protocols do with their ghost histories: record a new item only when it is new,
//! and read the votes the way Voting.tla does (what a quorum voted, what one still can).
//! A protocol's votes are keyed by what names a ballot (a round; for the log a round and a
//! slot), so the same helpers serve the single decree and the log.

use super::protocol::{Protocol, State, acceptor_states};
use crate::types::{AcceptorId, Round};
use std::collections::{BTreeMap, BTreeSet};

/// `$ghost` with `$item` added to its set `$field`, or `None` when the set holds it already;
/// the ghost is copied only when it changes (this runs on every message sent).
macro_rules! with_new {
    ($ghost:expr, $field:ident, $item:expr) => {{
        let item = $item;
        (!$ghost.$field.contains(&item)).then(|| {
            let mut next = $ghost.clone();
            next.$field.insert(item);
            next
        })
    }};
}
pub(crate) use with_new;

/// The keys that at least `quorum` votes carry: with one key per vote, a ballot and value
/// keyed, Voting.tla's `ChosenAt`.
pub fn quorum_voted<K: Ord>(keys: impl IntoIterator<Item = K>, quorum: usize) -> BTreeSet<K> {
    let mut count: BTreeMap<K, usize> = BTreeMap::new();
    for key in keys {
        *count.entry(key).or_default() += 1;
    }
    count
        .into_iter()
        .filter(|(_, c)| *c >= quorum)
        .map(|(key, _)| key)
        .collect()
}

/// Whether no key comes twice (one vote per acceptor and ballot).
pub fn all_distinct<K: Ord>(keys: impl IntoIterator<Item = K>) -> bool {
    let mut seen = BTreeSet::new();
    keys.into_iter().all(|key| seen.insert(key))
}

/// Whether every key comes with one value only (one value per ballot).
pub fn one_value_each<K: Ord, V: Eq + Copy>(pairs: impl IntoIterator<Item = (K, V)>) -> bool {
    let mut value_of: BTreeMap<K, V> = BTreeMap::new();
    pairs
        .into_iter()
        .all(|(key, v)| *value_of.entry(key).or_insert(v) == v)
}

/// Whether a value is or can still become chosen in round `c` of a ballot: a quorum each of
/// whose acceptors `voted_it` there, or has not `voted_there` and can still (its round is at
/// most `c`; a crashed acceptor may recover).
pub fn choosable<P: Protocol>(
    state: &State<P>,
    quorum: usize,
    c: Round,
    voted_it: impl Fn(AcceptorId) -> bool,
    voted_there: impl Fn(AcceptorId) -> bool,
) -> bool {
    let able = acceptor_states::<P>(state)
        .filter(|(a, s)| voted_it(*a) || (!voted_there(*a) && P::round_of(s) <= c))
        .count();
    able >= quorum
}
