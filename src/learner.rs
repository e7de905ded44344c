//! The learner (PROTOCOL.md §4, "Learning" and "Equivocation detection"). Every acceptor is
//! a learner; a client may run one too.

use crate::types::{AcceptorId, Round, Value};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A decision: `value` was chosen in `round`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Decision<V> {
    pub round: Round,
    pub value: V,
}

/// What a learner knows: the LEARNs received by round, until it decides.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de> + Ord"))]
pub struct LearnerState<V> {
    /// `(acceptor, value)` of every LEARN received, by round. Emptied once decided: a decision
    /// is final.
    pub learned: BTreeMap<Round, BTreeSet<(AcceptorId, V)>>,
    pub decided: Option<Decision<V>>,
}

impl<V> Default for LearnerState<V> {
    fn default() -> Self {
        LearnerState {
            learned: BTreeMap::new(),
            decided: None,
        }
    }
}

/// What a LEARN taught the learner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Learned<V> {
    pub state: LearnerState<V>,
    /// Set when the LEARN completed a quorum.
    pub decided: Option<Decision<V>>,
    /// Set when the round of the LEARN now holds two values: its leader equivocated.
    pub equivocation: bool,
}

/// `Learn`: the learner receives `LEARN(round, value)` from `from`. `None` when it learns
/// nothing new (a duplicate, or a decision already made).
pub fn learn<V: Value>(
    quorum: usize,
    state: &LearnerState<V>,
    from: AcceptorId,
    round: Round,
    value: &V,
) -> Option<Learned<V>> {
    if state.decided.is_some() {
        return None;
    }
    let seen = state.learned.get(&round);
    if seen.is_some_and(|s| s.contains(&(from, value.clone()))) {
        return None;
    }
    let mut next = state.clone();
    let in_round = next.learned.entry(round).or_default();
    in_round.insert((from, value.clone()));
    let equivocation = in_round.iter().any(|(_, v)| v != value);
    let voters = in_round.iter().filter(|(_, v)| v == value).count();
    let decided = (voters >= quorum).then(|| Decision {
        round,
        value: value.clone(),
    });
    if let Some(decision) = &decided {
        next.learned.clear();
        next.decided = Some(decision.clone());
    }
    Some(Learned {
        state: next,
        decided,
        equivocation,
    })
}
