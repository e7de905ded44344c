//! A deterministic sample of the states the single-decree model reaches: random walks driven
//! by a fixed seed over the actions in their canonical order. Breadth-first search would stay
//! shallow within any useful bound, while the interesting states (PROMISEs that report votes
//! of an earlier proof round) lie a dozen steps deep; seeded walks reach them and stay
//! reproducible. The test vectors are cut from it, and tests of the model core check their
//! shortcuts on it.

use super::model::{Action, BpfpModel, State, canonical_order};
use stateright::Model;
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

/// How the model is walked.
#[derive(Clone, Copy, Debug)]
pub struct WalkPlan {
    pub walks: usize,
    pub depth: usize,
    pub seed: u64,
}

/// SplitMix64: a tiny generator whose sequence is fixed by its seed.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `bound` (> 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }
}

/// The actions of `state`, in the canonical order (the network's own order is not stable).
pub fn sorted_actions(model: &BpfpModel, state: &State) -> Vec<Action> {
    let mut actions = Vec::new();
    model.actions(state, &mut actions);
    actions.sort_by(canonical_order);
    actions
}

/// A fingerprint for "seen before" tests only; never for ordering output.
fn fingerprint(state: &State) -> u64 {
    let mut hasher = DefaultHasher::new();
    state.hash(&mut hasher);
    hasher.finish()
}

/// The distinct states visited by the walks, in the order first visited (the initial states
/// first).
pub fn sample(model: &BpfpModel, plan: WalkPlan) -> Vec<State> {
    let mut rng = SplitMix64::new(plan.seed);
    let mut seen = HashSet::new();
    let mut visited = Vec::new();
    let init = model.init_states();
    for state in &init {
        if seen.insert(fingerprint(state)) {
            visited.push(state.clone());
        }
    }
    for walk in 0..plan.walks {
        let mut state = init[walk % init.len()].clone();
        for _ in 0..plan.depth {
            let mut actions = sorted_actions(model, &state);
            let next = loop {
                if actions.is_empty() {
                    break None;
                }
                let action = actions.remove(rng.below(actions.len()));
                match model.next_state(&state, action) {
                    Some(next) if model.within_boundary(&next) => break Some(next),
                    _ => continue,
                }
            };
            let Some(next) = next else { break };
            if seen.insert(fingerprint(&next)) {
                visited.push(next.clone());
            }
            state = next;
        }
    }
    visited
}
