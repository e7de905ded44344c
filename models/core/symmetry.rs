//! Symmetry reduction: acceptors are interchangeable. Renaming them consistently everywhere
//! (states, messages, PROMISE authenticators, the ghost history) maps a behaviour to a
//! behaviour with the same verdict on every property, because no rule, property or
//! Byzantine menu item singles out an acceptor by name. The representative renames them so
//! that their states come out sorted; the checker fingerprints it instead of the state.
//!
//! Each protocol renames its own types ([`Rename`]); the core renames the network, the
//! actors' places and the learner, and builds the representative.
//!
//! The representative also forgets the network's record of the last delivered message
//! (`last_msg`), which no actor or property reads, and puts every proof in acceptor order
//! (acceptors read a proof as a set: one PROMISE per acceptor, order irrelevant).

use super::mixed::MixedState;
use super::protocol::{AgentState, Msg, Protocol, State, Storage};
use crate::learner::LearnerState;
use crate::log::Slot;
use crate::log::message::ProofDigest;
use crate::message::Proof;
use crate::models::value::ModelValue;
use crate::protocol::node::NodeState;
use crate::types::{AcceptorId, Round};
use stateright::actor::{Actor, ActorModelState, Envelope, Id, Network};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A renaming of acceptors: acceptor `i` becomes `new_index[i]`.
pub struct Renaming {
    new_index: Vec<usize>,
    /// Its inverse: the acceptor that becomes `i` is `old_index[i]`.
    old_index: Vec<usize>,
    /// Proof digests (log model), old to new: a digest names a proof, which names acceptors.
    pub digests: BTreeMap<ProofDigest, ProofDigest>,
    /// The renaming as one word, 4 bits an acceptor, for [`RENAMED_PROOFS`]; `None` when
    /// there are more than 16 acceptors.
    code: Option<u64>,
}

thread_local! {
    /// Single-decree proofs renamed before on this thread, by proof and then by renaming
    /// code: the same few proofs are renamed by the same few renamings in state after state,
    /// and renaming one re-signs each of its PROMISEs, sorts them and digests the result.
    /// `None` stands for a proof that the renaming leaves as it is.
    static RENAMED_PROOFS: RefCell<RenamedProofs> = RefCell::new(RenamedProofs::default());
}

/// A proof renamed by each renaming code met (`None`: left as it is).
type ByRenaming = Vec<(u64, Option<Proof<ModelValue>>)>;

#[derive(Default)]
struct RenamedProofs {
    by_proof: HashMap<Proof<ModelValue>, ByRenaming, BuildHasherDefault<WordHasher>>,
    /// Renamed proofs kept, over every proof and renaming.
    kept: usize,
}

impl RenamedProofs {
    /// `proof` as renaming `code` renamed it before, if it did.
    fn find(&self, proof: &Proof<ModelValue>, code: u64) -> Option<Option<Proof<ModelValue>>> {
        let by_code = self.by_proof.get(proof)?;
        by_code
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, renamed)| renamed.clone())
    }

    /// Keeps what renaming `code` made of `proof`, starting again empty first when `limit`
    /// renamed proofs are kept already.
    fn keep(
        &mut self,
        proof: &Proof<ModelValue>,
        code: u64,
        renamed: Option<Proof<ModelValue>>,
        limit: usize,
    ) {
        if self.kept >= limit {
            *self = RenamedProofs::default();
        }
        self.kept += 1;
        self.by_proof
            .entry(proof.clone())
            .or_default()
            .push((code, renamed));
    }
}

/// Forgets the proofs renamed on this thread, as if none had been.
#[cfg(test)]
pub(crate) fn forget_renamed_proofs() {
    RENAMED_PROOFS.with_borrow_mut(|cache| *cache = RenamedProofs::default());
}

/// Renamed proofs kept at most in [`RENAMED_PROOFS`], over every proof and renaming (a proof
/// may meet as many renamings as there are orders of the acceptors); past that it starts
/// again empty, so that a long random walk through a large configuration holds a bounded
/// cache.
const RENAMED_PROOFS_LIMIT: usize = 1 << 16;

/// Hashes words that are hashes already (a proof's digest) by one multiplication each:
/// SipHash showed where the proofs' cache is looked up once per ACCEPT in flight.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(u64::from(*byte));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        // The high bits mix every bit of the words; fold them into the low ones too.
        self.0 ^ (self.0 >> 29)
    }
}

impl Renaming {
    /// The digest of the renamed proof that `digest` named (unchanged if unknown).
    pub fn digest(&self, digest: ProofDigest) -> ProofDigest {
        self.digests.get(&digest).copied().unwrap_or(digest)
    }

    /// `proof` renamed by `rename` (`None` when the renaming leaves it as it is), or as it
    /// was renamed before by the same renaming.
    pub fn proof(
        &self,
        proof: &Proof<ModelValue>,
        rename: impl FnOnce(&Proof<ModelValue>) -> Option<Proof<ModelValue>>,
    ) -> Proof<ModelValue> {
        let Some(code) = self.code else {
            return rename(proof).unwrap_or_else(|| proof.clone());
        };
        let cached = RENAMED_PROOFS.with_borrow(|cache| cache.find(proof, code));
        let renamed = match cached {
            Some(renamed) => renamed,
            None => {
                let renamed = rename(proof);
                RENAMED_PROOFS.with_borrow_mut(|cache| {
                    cache.keep(proof, code, renamed.clone(), RENAMED_PROOFS_LIMIT)
                });
                renamed
            }
        };
        renamed.unwrap_or_else(|| proof.clone())
    }

    pub fn acceptor(&self, a: AcceptorId) -> AcceptorId {
        match self.new_index.get(usize::from(a.0)) {
            Some(i) => AcceptorId(*i as u16),
            None => a,
        }
    }

    pub fn id(&self, id: Id) -> Id {
        match self.new_index.get(usize::from(id)) {
            Some(i) => Id::from(*i),
            None => id,
        }
    }

    /// Moves per-actor entries to their new places (the acceptors come first).
    /// Each entry is cloned once.
    fn positions<T: Clone>(&self, items: &[T]) -> Vec<T> {
        let moved = self.old_index.len().min(items.len());
        let mut out = Vec::with_capacity(items.len());
        out.extend(
            self.old_index[..moved]
                .iter()
                .map(|old| items[*old].clone()),
        );
        out.extend_from_slice(&items[moved..]);
        out
    }
}

/// Things that name acceptors.
pub trait Rename {
    fn rename(&self, r: &Renaming) -> Self;

    /// Whether `rename(r)` would return a value equal to this one, found without building
    /// it (a cheap check; `false` when unsure).
    fn fixed_by(&self, _r: &Renaming) -> bool {
        false
    }
}

impl<H: Rename, B: Rename> Rename for MixedState<H, B> {
    fn rename(&self, r: &Renaming) -> Self {
        match self {
            MixedState::Honest(h) => MixedState::Honest(h.rename(r)),
            MixedState::Byzantine(b) => MixedState::Byzantine(b.rename(r)),
        }
    }

    fn fixed_by(&self, r: &Renaming) -> bool {
        match self {
            MixedState::Honest(h) => h.fixed_by(r),
            MixedState::Byzantine(b) => b.fixed_by(r),
        }
    }
}

impl Rename for AcceptorId {
    fn rename(&self, r: &Renaming) -> Self {
        r.acceptor(*self)
    }

    fn fixed_by(&self, r: &Renaming) -> bool {
        r.acceptor(*self) == *self
    }
}

/// Implements [`Rename`] as the identity for types that name no acceptor, so that the
/// records holding them rename element by element.
macro_rules! names_no_acceptor {
    ($($t:ty),+ $(,)?) => {$(
        impl $crate::models::core::symmetry::Rename for $t {
            fn rename(&self, _: &$crate::models::core::symmetry::Renaming) -> Self {
                self.clone()
            }

            fn fixed_by(&self, _: &$crate::models::core::symmetry::Renaming) -> bool {
                true
            }
        }
    )+};
}
pub(crate) use names_no_acceptor;

names_no_acceptor!(Round, Slot, ModelValue);

/// A record of a ghost history (a vote, a PROMISE's content), renamed element by element.
impl<A: Rename, B: Rename, C: Rename> Rename for (A, B, C) {
    fn rename(&self, r: &Renaming) -> Self {
        let (a, b, c) = self;
        (a.rename(r), b.rename(r), c.rename(r))
    }

    fn fixed_by(&self, r: &Renaming) -> bool {
        let (a, b, c) = self;
        a.fixed_by(r) && b.fixed_by(r) && c.fixed_by(r)
    }
}

/// A record of the log's ghost history, which also names a slot.
impl<A: Rename, B: Rename, C: Rename, D: Rename> Rename for (A, B, C, D) {
    fn rename(&self, r: &Renaming) -> Self {
        let (a, b, c, d) = self;
        (a.rename(r), b.rename(r), c.rename(r), d.rename(r))
    }

    fn fixed_by(&self, r: &Renaming) -> bool {
        let (a, b, c, d) = self;
        a.fixed_by(r) && b.fixed_by(r) && c.fixed_by(r) && d.fixed_by(r)
    }
}

/// A set of a ghost history, renamed record by record (and sorted anew).
impl<T: Rename + Ord> Rename for BTreeSet<T> {
    fn rename(&self, r: &Renaming) -> Self {
        self.iter().map(|record| record.rename(r)).collect()
    }

    fn fixed_by(&self, r: &Renaming) -> bool {
        self.iter().all(|record| record.fixed_by(r))
    }
}

/// A proposer's PROMISEs by round and by acceptor, renamed, each filed under its renamed
/// `sender`.
pub fn rename_promises<P: Rename>(
    promises: &BTreeMap<Round, BTreeMap<AcceptorId, P>>,
    r: &Renaming,
    sender: impl Fn(&P) -> AcceptorId,
) -> BTreeMap<Round, BTreeMap<AcceptorId, P>> {
    promises
        .iter()
        .map(|(round, by)| {
            let by = by.values().map(|p| (r.acceptor(sender(p)), p.rename(r)));
            (*round, by.collect())
        })
        .collect()
}

/// An honest agent's state of either protocol: its acceptor, proposer or learner renamed.
impl<A: Rename, P: Rename, L: Rename> Rename for NodeState<A, P, L> {
    fn rename(&self, r: &Renaming) -> Self {
        match self {
            NodeState::Acceptor(s) => NodeState::Acceptor(s.rename(r)),
            NodeState::Proposer(s) => NodeState::Proposer(s.rename(r)),
            NodeState::Learner(s) => NodeState::Learner(s.rename(r)),
        }
    }

    fn fixed_by(&self, r: &Renaming) -> bool {
        match self {
            NodeState::Acceptor(s) => s.fixed_by(r),
            NodeState::Proposer(s) => s.fixed_by(r),
            NodeState::Learner(s) => s.fixed_by(r),
        }
    }
}

impl<M: Rename> Rename for Envelope<M> {
    fn rename(&self, r: &Renaming) -> Self {
        Envelope {
            src: r.id(self.src),
            dst: r.id(self.dst),
            msg: self.msg.rename(r),
        }
    }

    fn fixed_by(&self, r: &Renaming) -> bool {
        r.id(self.src) == self.src && r.id(self.dst) == self.dst && self.msg.fixed_by(r)
    }
}

impl<V: Clone + Ord> Rename for LearnerState<V> {
    fn rename(&self, r: &Renaming) -> Self {
        LearnerState {
            learned: self
                .learned
                .iter()
                .map(|(round, seen)| {
                    let seen = seen
                        .iter()
                        .map(|(a, v)| (r.acceptor(*a), v.clone()))
                        .collect();
                    (*round, seen)
                })
                .collect(),
            decided: self.decided.clone(),
        }
    }

    fn fixed_by(&self, r: &Renaming) -> bool {
        self.learned
            .values()
            .all(|seen| seen.iter().all(|(a, _)| r.acceptor(*a) == *a))
    }
}

impl<M: Rename + Clone + Eq + Hash> Rename for Network<M> {
    fn rename(&self, r: &Renaming) -> Self {
        match self {
            Network::UnorderedDuplicating(envelopes, _last_msg) => {
                // Most renamings leave every envelope as it is (the acceptors' states are
                // often in order already): a copy of the set then hashes nothing again.
                if envelopes.iter().all(|e| e.fixed_by(r)) {
                    return Network::UnorderedDuplicating(envelopes.clone(), None);
                }
                // Sized once: growing the set envelope by envelope rehashed it several times.
                let mut renamed = Network::new_unordered_duplicating([]);
                if let Network::UnorderedDuplicating(set, _) = &mut renamed {
                    set.reserve(envelopes.len());
                    set.extend(envelopes.iter().map(|e| e.rename(r)));
                }
                renamed
            }
            Network::UnorderedNonDuplicating(counts) => Network::UnorderedNonDuplicating(
                counts.iter().map(|(e, n)| (e.rename(r), *n)).collect(),
            ),
            Network::Ordered(flows) => Network::Ordered(
                flows
                    .iter()
                    .map(|((src, dst), msgs)| {
                        let msgs = msgs.iter().map(|m| m.rename(r)).collect();
                        ((r.id(*src), r.id(*dst)), msgs)
                    })
                    .collect(),
            ),
        }
    }
}

/// A protocol whose states, messages and history can be renamed.
pub trait Symmetric: Protocol {
    /// Completes the renaming of `state` with what names acceptors indirectly (the log's
    /// proof digests); nothing by default.
    fn complete_renaming(_state: &State<Self>, _r: &mut Renaming) {}
}

/// The representative of a state's class: acceptors renamed so that their (state, crashed,
/// stored state) come out sorted.
pub fn representative<P>(state: &State<P>) -> State<P>
where
    P: Symmetric,
    AgentState<P>: Rename + Ord,
    Msg<P>: Rename,
    Storage<P>: Ord,
    P::Ghost: Rename,
{
    let acceptors = state
        .actor_states
        .iter()
        .take_while(|s| matches!(&***s, MixedState::Honest(h) if P::acceptor(h).is_some()))
        .count();
    let mut r = canonical_renaming(state, acceptors);
    P::complete_renaming(state, &mut r);
    apply_renaming(state, &r)
}

/// The renaming that sorts the acceptors by (state, crashed, stored state).
pub fn canonical_renaming<A, H>(state: &ActorModelState<A, H>, acceptors: usize) -> Renaming
where
    A: Actor,
    A::State: Ord,
    A::Storage: Ord,
{
    let mut order: Vec<usize> = (0..acceptors).collect();
    order.sort_by(|&i, &j| {
        let key = |k: usize| {
            (
                &state.actor_states[k],
                state.crashed[k],
                &state.actor_storages[k],
            )
        };
        key(i).cmp(&key(j))
    });
    let mut new_index = vec![0; acceptors];
    for (new, old) in order.iter().enumerate() {
        new_index[*old] = new;
    }
    let code = (acceptors <= 16).then(|| {
        new_index
            .iter()
            .enumerate()
            .fold(0, |code, (i, new)| code | ((*new as u64) << (4 * i)))
    });
    Renaming {
        new_index,
        old_index: order,
        digests: BTreeMap::new(),
        code,
    }
}

/// `state` with its acceptors renamed by `r`.
pub fn apply_renaming<A, H>(state: &ActorModelState<A, H>, r: &Renaming) -> ActorModelState<A, H>
where
    A: Actor,
    A::State: Rename,
    A::Msg: Rename,
    H: Rename + Clone,
{
    // What renaming leaves as it is is shared, not rebuilt.
    let actor_states = r
        .positions(&state.actor_states)
        .into_iter()
        .map(|s| {
            if s.fixed_by(r) {
                s
            } else {
                std::sync::Arc::new(s.rename(r))
            }
        })
        .collect();
    let history = if state.history.fixed_by(r) {
        state.history.clone()
    } else {
        state.history.rename(r)
    };
    ActorModelState {
        actor_states,
        network: state.network.rename(r),
        timers_set: r.positions(&state.timers_set),
        random_choices: r.positions(&state.random_choices),
        crashed: r.positions(&state.crashed),
        history,
        actor_storages: r.positions(&state.actor_storages),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renamed proofs kept, counted entry by entry.
    fn entries(cache: &RenamedProofs) -> usize {
        cache.by_proof.values().map(Vec::len).sum()
    }

    #[test]
    fn the_renamed_proofs_cache_starts_again_empty_past_its_bound() {
        let limit = 4;
        let proof = Proof::none();
        let mut cache = RenamedProofs::default();
        for code in 0..limit as u64 {
            cache.keep(&proof, code, None, limit);
            assert_eq!(
                (cache.kept, entries(&cache)),
                (code as usize + 1, code as usize + 1)
            );
        }
        assert!((0..limit as u64).all(|code| cache.find(&proof, code).is_some()));

        let renamed = Some(Proof::from(Vec::new()));
        cache.keep(&proof, 9, renamed.clone(), limit);
        assert_eq!((cache.kept, entries(&cache)), (1, 1));
        assert_eq!(cache.find(&proof, 0), None, "kept past its bound");
        assert_eq!(cache.find(&proof, 9), Some(renamed));
    }
}
