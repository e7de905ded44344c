//! Linearizability of a history, key by key.
//!
//! Keys are independent registers (absent at first), so a history is linearizable iff each
//! key's sub-history is (linearizability is compositional): each key is searched on its own.
//! The search is Wing & Gong's as improved by Lowe (memoising the set of operations linearized
//! and the register's value), over [`CasRegister`], a stateright [`SequentialSpec`].
//! stateright's own `LinearizabilityTester` gives the same verdicts (the tests compare them)
//! but searches without memo or budget, exponential in the length of a history.
//!
//! What each outcome means to the search: an `ok` operation took effect somewhere between its
//! invoke and its completion, with its result; a `fail` cas took effect too, as a comparison
//! that failed (the register held another value than it expected, and it wrote nothing); a
//! `fail` write or read did not take effect, so it is dropped; an `info`
//! one (or one never completed) may have taken effect at any point after its invoke, or never.
//! An `info` read constrains nothing and is dropped, and so is an `info` write or cas whose new
//! value nobody could observe (no `ok` read returns it, no cas expects it): omitting it never
//! changes the verdict, and keeping it would double the search for each. An `info` write that
//! is the only writer of a value an `ok` operation saw surely took effect, before that one
//! completed, so it is searched as if `ok` until then: with unique values (as a torture run
//! writes them) unknown operations cost little. Identical unknown operations are tried in
//! invoke order only, as any one of them can stand for another; a read that may go now and
//! returns the current value is taken at once, without alternatives.
//!
//! A violation is reported with a witness: the operation whose completion the search could
//! not get past (the culprit), and as few others as keep it violated because of the culprit,
//! each value read still with its writer, found by delta debugging.
//!
//! The search is capped by a step budget per key: when it runs out the verdict is
//! [`Verdict::Unknown`], never a guess.

use super::events::{Event, EventType, Func, HistoryError};
use serde_json::Value;
use stateright::semantics::SequentialSpec;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::hash::{Hash, Hasher};

/// Steps of the search allowed per key by [`check`]: a few seconds at most.
pub const DEFAULT_STEP_BUDGET: u64 = 20_000_000;

/// The memo is dropped (the search stays correct, only slower) when it grows past this.
const MEMO_BYTES: usize = 512 << 20;

/// Minimising a witness takes at most this many times the budget of a search.
const MINIMISE_BUDGET_FACTOR: u64 = 5;

/// One key of the store: a register with compare-and-set, absent (`None`) at first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CasRegister<V>(pub Option<V>);

/// An operation on a [`CasRegister`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOp<V> {
    Read,
    Write(V),
    /// Sets the register to `new` iff it holds `expected`.
    Cas {
        expected: Option<V>,
        new: V,
    },
}

/// What a [`RegisterOp`] returns.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterRet<V> {
    Read(Option<V>),
    Written,
    /// Whether the cas swapped.
    Cas(bool),
}

impl<V: Clone + PartialEq> SequentialSpec for CasRegister<V> {
    type Op = RegisterOp<V>;
    type Ret = RegisterRet<V>;

    fn invoke(&mut self, op: &Self::Op) -> Self::Ret {
        match op {
            RegisterOp::Read => RegisterRet::Read(self.0.clone()),
            RegisterOp::Write(v) => {
                self.0 = Some(v.clone());
                RegisterRet::Written
            }
            RegisterOp::Cas { expected, new } => {
                let swap = self.0 == *expected;
                if swap {
                    self.0 = Some(new.clone());
                }
                RegisterRet::Cas(swap)
            }
        }
    }

    fn is_valid_step(&mut self, op: &Self::Op, ret: &Self::Ret) -> bool {
        match (op, ret) {
            // Spares the clone of `invoke`.
            (RegisterOp::Read, RegisterRet::Read(v)) => self.0 == *v,
            _ => self.invoke(op) == *ret,
        }
    }
}

/// The judgement of a history.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Every key's operations have an order that explains every result. `ops` counts every
    /// invoked operation, of `keys` distinct keys.
    Linearizable { keys: usize, ops: usize },
    /// No order explains the results of `key`'s operations: `witness` is a small part of them
    /// (a sub-history, by time) that is already not linearizable on its own.
    NotLinearizable { key: String, witness: Vec<Event> },
    /// The search of `key` ran out of budget; no key was found not linearizable.
    Unknown { key: String, why: String },
}

impl Verdict {
    pub fn is_linearizable(&self) -> bool {
        matches!(self, Verdict::Linearizable { .. })
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Linearizable { keys, ops } => {
                write!(f, "linearizable: {ops} operations on {keys} keys")
            }
            Verdict::NotLinearizable { key, witness } => {
                writeln!(
                    f,
                    "NOT linearizable: key {key:?}: no order of these {} operations explains \
                     their results:",
                    witness
                        .iter()
                        .filter(|e| e.kind == EventType::Invoke)
                        .count()
                )?;
                for event in witness {
                    writeln!(f, "  {event}")?;
                }
                Ok(())
            }
            Verdict::Unknown { key, why } => write!(f, "unknown: key {key:?}: {why}"),
        }
    }
}

/// One operation of a well-formed history.
#[derive(Clone, Debug)]
struct Operation {
    key: String,
    /// Indices of its events in the history.
    invoke: usize,
    complete: Option<usize>,
    kind: Option<EventType>,
    op: RegisterOp<String>,
    /// Its result, when `ok`.
    ret: Option<RegisterRet<String>>,
}

impl Operation {
    /// The value it writes, if it took effect (a cas whose comparison failed writes nothing).
    fn written(&self) -> Option<&str> {
        match (&self.op, &self.ret) {
            (_, Some(RegisterRet::Cas(false))) => None,
            (RegisterOp::Write(v) | RegisterOp::Cas { new: v, .. }, _) => Some(v),
            (RegisterOp::Read, _) => None,
        }
    }

    /// The value it says the register held, if `ok`: what a read returned, what a cas that
    /// swapped expected.
    fn observed(&self) -> Option<&str> {
        match (&self.op, &self.ret) {
            (RegisterOp::Cas { expected, .. }, Some(RegisterRet::Cas(true))) => expected.as_deref(),
            (_, Some(RegisterRet::Read(v))) => v.as_deref(),
            _ => None,
        }
    }
}

fn string_or_null(v: &Value) -> Option<Option<String>> {
    match v {
        Value::Null => Some(None),
        Value::String(s) => Some(Some(s.clone())),
        _ => None,
    }
}

fn parse_op(f: Func, v: &Value) -> Result<RegisterOp<String>, String> {
    match f {
        Func::Read if v.is_null() => Ok(RegisterOp::Read),
        Func::Read => Err(format!("a read is invoked with null, not {v}")),
        Func::Write => match v {
            Value::String(s) => Ok(RegisterOp::Write(s.clone())),
            _ => Err(format!("a write's value is a string, not {v}")),
        },
        Func::Cas => match v.as_array().map(|a| a.as_slice()) {
            Some([e, Value::String(new)]) if string_or_null(e).is_some() => Ok(RegisterOp::Cas {
                expected: string_or_null(e).flatten(),
                new: new.clone(),
            }),
            _ => Err(format!(
                "a cas's value is [expected-or-null, new] of strings, not {v}"
            )),
        },
    }
}

/// The operations of a history, checked to be well formed.
fn operations(events: &[Event]) -> Result<Vec<Operation>, HistoryError> {
    let mut ops: Vec<Operation> = Vec::new();
    let mut in_flight: HashMap<u64, usize> = HashMap::new();
    for (index, e) in events.iter().enumerate() {
        let malformed = |why: String| HistoryError::Malformed {
            index,
            process: e.process,
            why,
        };
        if e.kind == EventType::Invoke {
            if let Some(&i) = in_flight.get(&e.process) {
                return Err(malformed(format!(
                    "invoked while its operation invoked at event {} is in flight",
                    ops[i].invoke
                )));
            }
            let op = parse_op(e.f, &e.value).map_err(malformed)?;
            in_flight.insert(e.process, ops.len());
            ops.push(Operation {
                key: e.key.clone(),
                invoke: index,
                complete: None,
                kind: None,
                op,
                ret: None,
            });
            continue;
        }
        let Some(i) = in_flight.remove(&e.process) else {
            return Err(malformed(format!(
                "{} without an operation in flight",
                e.kind
            )));
        };
        let invoked = &events[ops[i].invoke];
        if e.f != invoked.f || e.key != invoked.key {
            return Err(malformed(format!(
                "{} {} {:?} completes {} {:?} (event {})",
                e.kind, e.f, e.key, invoked.f, invoked.key, ops[i].invoke
            )));
        }
        let ret = match e.f {
            Func::Read => RegisterRet::Read(string_or_null(&e.value).ok_or_else(|| {
                malformed(format!(
                    "a read completes with a string or null, not {}",
                    e.value
                ))
            })?),
            _ if e.value != invoked.value => {
                return Err(malformed(format!(
                    "completes with {}, invoked with {}",
                    e.value, invoked.value
                )));
            }
            Func::Write => RegisterRet::Written,
            Func::Cas => RegisterRet::Cas(true),
        };
        let op = &mut ops[i];
        op.complete = Some(index);
        op.kind = Some(e.kind);
        match (e.kind, e.f) {
            (EventType::Ok, _) => op.ret = Some(ret),
            // The comparison failed: it took effect, as a read of another value.
            (EventType::Fail, Func::Cas) => op.ret = Some(RegisterRet::Cas(false)),
            _ => {}
        }
    }
    Ok(ops)
}

/// What one search found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Search {
    Linearizable,
    Violated,
    Exhausted,
}

/// An operation as the search sees it.
struct Kept<'a> {
    op: &'a Operation,
    /// The result it must have had, if it took effect for sure.
    ret: Option<RegisterRet<&'a str>>,
    /// The event by which it took effect, if it did for sure.
    by: Option<usize>,
}

/// The operations of one key that the search needs.
fn relevant<'a>(ops: &[&'a Operation]) -> Vec<Kept<'a>> {
    let mut kept: Vec<Kept> = ops
        .iter()
        .filter_map(|&op| match (op.kind, &op.ret) {
            (Some(EventType::Ok | EventType::Fail), Some(ret)) => Some(Kept {
                op,
                ret: Some(match ret {
                    RegisterRet::Read(v) => RegisterRet::Read(v.as_deref()),
                    RegisterRet::Written => RegisterRet::Written,
                    RegisterRet::Cas(b) => RegisterRet::Cas(*b),
                }),
                by: op.complete,
            }),
            (Some(EventType::Fail), None) => None,
            _ if op.op == RegisterOp::Read => None,
            _ => Some(Kept {
                op,
                ret: None,
                by: None,
            }),
        })
        .collect();
    // A cas whose comparison failed saw some other value than it expected: an unknown write
    // invoked before it completed may have been that value.
    let failed_cas: Vec<(Option<&str>, usize)> = kept
        .iter()
        .filter(|k| k.ret == Some(RegisterRet::Cas(false)))
        .filter_map(|k| match &k.op.op {
            RegisterOp::Cas { expected, .. } => Some((expected.as_deref(), k.by?)),
            _ => None,
        })
        .collect();
    let seen_by_failed_cas = |k: &Kept| {
        let v = k.op.written();
        failed_cas
            .iter()
            .any(|(expected, done)| k.op.invoke < *done && v != *expected)
    };
    // Drop unknown writes nobody can observe, until none is left: each drop keeps the verdict.
    loop {
        let observed: HashSet<&str> = kept.iter().filter_map(|k| k.observed(true)).collect();
        let before = kept.len();
        kept.retain(|k| {
            k.ret.is_some()
                || k.op.written().is_some_and(|v| observed.contains(v))
                || seen_by_failed_cas(k)
        });
        if kept.len() == before {
            break;
        }
    }
    // An unknown write that is the only writer of a value some operation surely saw surely
    // took effect, before the first of those completed: then it is no longer in flight forever,
    // which keeps the search small when values are unique.
    let mut writers: HashMap<&str, usize> = HashMap::new();
    for v in kept.iter().filter_map(|k| k.op.written()) {
        *writers.entry(v).or_default() += 1;
    }
    loop {
        let mut first_seen: HashMap<&str, usize> = HashMap::new();
        for k in &kept {
            if let (Some(v), Some(by)) = (k.observed(false), k.by) {
                let t = first_seen.entry(v).or_insert(by);
                *t = by.min(*t);
            }
        }
        let mut changed = false;
        for k in kept.iter_mut().filter(|k| k.ret.is_none()) {
            let v = k.op.written().unwrap_or_default();
            if let (Some(1), Some(&by)) = (writers.get(v), first_seen.get(v)) {
                k.ret = Some(match k.op.op {
                    RegisterOp::Cas { .. } => RegisterRet::Cas(true),
                    _ => RegisterRet::Written,
                });
                k.by = Some(by);
                changed = true;
            }
        }
        if !changed {
            return kept;
        }
    }
}

impl<'a> Kept<'a> {
    /// The value it saw: a read's result, a cas's expected value; `maybe`: also of those
    /// that may not have taken effect.
    fn observed(&self, maybe: bool) -> Option<&'a str> {
        match (&self.op.op, &self.ret) {
            // It found another value than it expected.
            (RegisterOp::Cas { .. }, Some(RegisterRet::Cas(false))) => None,
            (RegisterOp::Cas { expected, .. }, ret) if maybe || ret.is_some() => {
                expected.as_deref()
            }
            (_, Some(RegisterRet::Read(v))) => *v,
            _ => None,
        }
    }
}

/// A memo entry: the operations linearized (a window of the bit set: the words below `lo` are
/// all ones) and the register's value. Hashed by a Zobrist hash of the set.
struct Memo {
    hash: u64,
    state: Option<u32>,
    lo: u32,
    words: Box<[u64]>,
}

impl Hash for Memo {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
        self.state.hash(h);
    }
}

impl PartialEq for Memo {
    fn eq(&self, o: &Self) -> bool {
        self.hash == o.hash && self.state == o.state && self.lo == o.lo && self.words == o.words
    }
}

impl Eq for Memo {}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The set of operations linearized so far.
struct Linearized {
    words: Vec<u64>,
    hash: u64,
    /// Words below `lo` are all ones; words above `hi` are all zeros.
    lo: usize,
    hi: usize,
}

impl Linearized {
    fn new(n: usize) -> Self {
        Linearized {
            words: vec![0; n.div_ceil(64) + 1],
            hash: 0,
            lo: 0,
            hi: 0,
        }
    }

    fn flip(&mut self, i: usize) {
        let w = i / 64;
        self.words[w] ^= 1 << (i % 64);
        self.hash ^= splitmix64(i as u64);
        while self.words[self.lo] == u64::MAX {
            self.lo += 1;
        }
        self.lo = self.lo.min(w);
        if self.words[w] != 0 {
            self.hi = self.hi.max(w);
        }
        while self.hi > 0 && self.words[self.hi] == 0 {
            self.hi -= 1;
        }
    }

    fn memo(&self, state: Option<u32>) -> Memo {
        let words = &self.words[self.lo..=self.hi.max(self.lo)];
        Memo {
            hash: self.hash,
            state,
            lo: self.lo as u32,
            words: words.into(),
        }
    }
}

/// What one search found, and where it got stuck.
struct Outcome<'a> {
    result: Search,
    steps: u64,
    /// When violated: the operation whose completion no order got past (the latest such), and
    /// that completion's event.
    blocker: Option<(&'a Operation, usize)>,
}

/// Lowe's WGL search over one key's operations (in invoke order).
fn search<'a>(ops: &[&'a Operation], budget: u64) -> Outcome<'a> {
    let kept = relevant(ops);
    // Values as small integers, so that states are cheap to copy, compare and hash.
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let mut id = |s: &'a str| {
        let next = ids.len() as u32;
        *ids.entry(s).or_insert(next)
    };
    let mut model: Vec<(RegisterOp<u32>, Option<RegisterRet<u32>>)> = Vec::new();
    // (event index, whether it is a deadline not a completion, operation, whether this is its
    // call): the entries of the list.
    let mut entries: Vec<(usize, bool, usize, bool)> = Vec::new();
    for (i, k) in kept.iter().enumerate() {
        let op = match &k.op.op {
            RegisterOp::Read => RegisterOp::Read,
            RegisterOp::Write(v) => RegisterOp::Write(id(v)),
            RegisterOp::Cas { expected, new } => RegisterOp::Cas {
                expected: expected.as_deref().map(&mut id),
                new: id(new),
            },
        };
        let ret = k.ret.as_ref().map(|ret| match ret {
            RegisterRet::Read(v) => RegisterRet::Read(v.map(&mut id)),
            RegisterRet::Written => RegisterRet::Written,
            RegisterRet::Cas(b) => RegisterRet::Cas(*b),
        });
        model.push((op, ret));
        entries.push((k.op.invoke, false, i, true));
        if let Some(by) = k.by {
            entries.push((by, k.op.complete != Some(by), i, false));
        }
    }
    // Operations in flight forever that are the same (same write, same cas) are
    // interchangeable: only the earliest invoked of those not yet linearized is tried.
    let mut groups: HashMap<&RegisterOp<u32>, usize> = HashMap::new();
    let mut group_of: Vec<Option<(usize, usize)>> = vec![None; model.len()];
    let mut group_size: Vec<usize> = Vec::new();
    for (i, (op, ret)) in model.iter().enumerate() {
        if ret.is_none() {
            let next = groups.len();
            let g = *groups.entry(op).or_insert(next);
            if g == group_size.len() {
                group_size.push(0);
            }
            group_of[i] = Some((g, group_size[g]));
            group_size[g] += 1;
        }
    }
    let group_next = vec![0; group_size.len()];
    entries.sort_unstable();
    // A doubly linked list of the entries in time order, between sentinels `head` and `tail`.
    let m = entries.len();
    let (head, tail) = (m, m + 1);
    let mut next: Vec<usize> = (1..=m + 2).collect();
    let mut prev: Vec<usize> = (0..m + 2).map(|e| e.wrapping_sub(1)).collect();
    let first = if m == 0 { tail } else { 0 };
    let last = if m == 0 { head } else { m - 1 };
    (next[head], prev[first]) = (first, head);
    (next[last], prev[tail]) = (tail, last);
    let mut ret_entry = vec![usize::MAX; model.len()];
    for (e, &(_, _, op, call)) in entries.iter().enumerate() {
        if !call {
            ret_entry[op] = e;
        }
    }
    let mut wgl = Wgl {
        model,
        entries,
        next,
        prev,
        ret_entry,
        group_of,
        group_next,
        memo: HashSet::new(),
        memo_bytes: 0,
        lin: Linearized::new(kept.len()),
        state: None,
        stack: Vec::new(),
    };
    let (result, steps, blocked) = wgl.run(head, tail, budget);
    Outcome {
        result,
        steps,
        blocker: blocked.map(|e| {
            let (at, _, op, _) = wgl.entries[e];
            (kept[op].op, at)
        }),
    }
}

/// The search's state: the list of entries (dancing links), the choices made, the memo.
struct Wgl {
    model: Vec<(RegisterOp<u32>, Option<RegisterRet<u32>>)>,
    /// (event index, whether a deadline rather than a completion, operation, whether a call).
    entries: Vec<(usize, bool, usize, bool)>,
    next: Vec<usize>,
    prev: Vec<usize>,
    ret_entry: Vec<usize>,
    /// An interchangeable operation's group and its rank there.
    group_of: Vec<Option<(usize, usize)>>,
    /// Per group, the rank of the next one that may be linearized.
    group_next: Vec<usize>,
    memo: HashSet<Memo>,
    memo_bytes: usize,
    lin: Linearized,
    state: Option<u32>,
    /// The call entries linearized, the state before each, and whether it was forced.
    stack: Vec<(usize, Option<u32>, bool)>,
}

impl Wgl {
    fn unlink(&mut self, x: usize) {
        let (p, n) = (self.prev[x], self.next[x]);
        self.next[p] = n;
        self.prev[n] = p;
    }

    fn relink(&mut self, x: usize) {
        let (p, n) = (self.prev[x], self.next[x]);
        self.next[p] = x;
        self.prev[n] = x;
    }

    /// The state after linearizing the call at `entry` now, if its result allows it.
    fn step(&self, entry: usize) -> Option<Option<u32>> {
        let op = self.entries[entry].2;
        if self.group_of[op].is_some_and(|(g, rank)| self.group_next[g] != rank) {
            return None;
        }
        let (o, ret) = &self.model[op];
        let mut reg = CasRegister(self.state);
        match ret {
            Some(ret) => reg.is_valid_step(o, ret).then_some(reg.0),
            None => {
                reg.invoke(o);
                Some(reg.0)
            }
        }
    }

    /// Linearizes the call at `entry`, leading to `state`, unless the memo has been there.
    fn push(&mut self, entry: usize, state: Option<u32>, forced: bool) -> bool {
        let op = self.entries[entry].2;
        self.lin.flip(op);
        let key = self.lin.memo(state);
        let bytes = 64 + 8 * key.words.len();
        if !self.memo.insert(key) {
            self.lin.flip(op);
            return false;
        }
        self.memo_bytes += bytes;
        if self.memo_bytes > MEMO_BYTES {
            self.memo.clear();
            self.memo_bytes = 0;
        }
        self.stack.push((entry, self.state, forced));
        self.state = state;
        if let Some((g, _)) = self.group_of[op] {
            self.group_next[g] += 1;
        }
        self.unlink(entry);
        if self.ret_entry[op] != usize::MAX {
            self.unlink(self.ret_entry[op]);
        }
        true
    }

    /// Undoes choices back to the latest one that has alternatives: the entry to try next,
    /// or `None` if there is none left.
    fn backtrack(&mut self) -> Option<usize> {
        loop {
            let (call, before, forced) = self.stack.pop()?;
            let op = self.entries[call].2;
            self.state = before;
            if let Some((g, _)) = self.group_of[op] {
                self.group_next[g] -= 1;
            }
            self.lin.flip(op);
            if self.ret_entry[op] != usize::MAX {
                self.relink(self.ret_entry[op]);
            }
            self.relink(call);
            if !forced {
                return Some(self.next[call]);
            }
        }
    }

    /// A read that may be linearized now and returns the current value: taking it first
    /// loses nothing (it changes no state and nothing must precede it that is not already
    /// linearized), so it needs no alternatives.
    fn free_read(&self, head: usize) -> Option<usize> {
        let mut e = self.next[head];
        while e < self.entries.len() && self.entries[e].3 {
            let (o, ret) = &self.model[self.entries[e].2];
            if let (RegisterOp::Read, Some(RegisterRet::Read(v))) = (o, ret)
                && *v == self.state
            {
                return Some(e);
            }
            e = self.next[e];
        }
        None
    }

    /// The search, from `head` to `tail` of the list, in at most `budget` steps; when violated,
    /// the latest completion entry it could not get past.
    fn run(&mut self, head: usize, tail: usize, budget: u64) -> (Search, u64, Option<usize>) {
        let mut blocked: Option<usize> = None;
        // Whether the current entry starts a fresh configuration.
        let mut fresh = true;
        let mut entry = self.next[head];
        for steps in 0..budget {
            if fresh {
                fresh = false;
                if let Some(read) = self.free_read(head) {
                    if self.push(read, self.state, true) {
                        fresh = true;
                        entry = self.next[head];
                        continue;
                    }
                    // Been there: this configuration fails as that one did.
                    match self.backtrack() {
                        Some(e) => entry = e,
                        None => return (Search::Violated, steps, blocked),
                    }
                    continue;
                }
            }
            if entry == tail {
                return (Search::Linearizable, steps, None);
            }
            let (at, _, _, call) = self.entries[entry];
            if !call {
                // An operation returned before any order could place it.
                if blocked.is_none_or(|b| self.entries[b].0 < at) {
                    blocked = Some(entry);
                }
                match self.backtrack() {
                    Some(e) => entry = e,
                    None => return (Search::Violated, steps, blocked),
                }
                continue;
            }
            if let Some(state) = self.step(entry)
                && self.push(entry, state, false)
            {
                fresh = true;
                entry = self.next[head];
                continue;
            }
            entry = self.next[entry];
        }
        (Search::Exhausted, budget, None)
    }
}

/// A small sub-history of `ops` (one key's, violated) that is still not linearizable, and
/// because of `culprit` (what the search of `ops` could not get past, completed at event
/// `at`): without it, it is linearizable. Anchoring the culprit keeps a removal from trading
/// the violation for another one that it creates (a read whose earlier writer is gone).
fn minimise<'a>(
    ops: &[&'a Operation],
    (culprit, at): (&'a Operation, usize),
    budget: u64,
) -> Vec<&'a Operation> {
    let steps = Cell::new(0);
    let total = budget.saturating_mul(MINIMISE_BUDGET_FACTOR);
    let result = |ops: &[&Operation]| {
        let o = search(ops, budget.min(total - steps.get().min(total)));
        steps.set(steps.get() + o.steps);
        o.result
    };
    let with_culprit = |others: &[&'a Operation]| {
        let mut all = others.to_vec();
        let i = all.partition_point(|o| o.invoke < culprit.invoke);
        all.insert(i, culprit);
        all
    };
    // Operations invoked after the culprit completed cannot help order those before.
    let before: Vec<&Operation> = ops
        .iter()
        .copied()
        .filter(|o| o.invoke <= at && !std::ptr::eq(*o, culprit))
        .collect();
    let written = |ops: &[&'a Operation]| -> HashSet<&'a str> {
        ops.iter().filter_map(|o| o.written()).collect()
    };
    let all_written = written(&with_culprit(&before));
    // Each value read has a writer (when the history has one), so that a witness shows why
    // a read is wrong, not merely a read of a value from nowhere.
    let explained = |ops: &[&'a Operation]| {
        let written = written(ops);
        ops.iter()
            .flat_map(|o| o.observed())
            .all(|v| written.contains(v) || !all_written.contains(v))
    };
    let acceptable = |others: &[&'a Operation]| {
        let all = with_culprit(others);
        explained(&all)
            && result(&all) == Search::Violated
            && result(others) == Search::Linearizable
    };
    // With the writers of what they read, by the latest writer invoked before the reader
    // completed.
    let close = |window: &[&'a Operation]| {
        let mut all = with_culprit(window);
        let mut i = 0;
        while i < all.len() {
            let o = all[i];
            i += 1;
            let Some(v) = o.observed().filter(|v| all_written.contains(v)) else {
                continue;
            };
            if all.iter().any(|w| w.written() == Some(v)) {
                continue;
            }
            let done = o.complete.unwrap_or(usize::MAX);
            if let Some(w) = before
                .iter()
                .rev()
                .find(|w| w.written() == Some(v) && w.invoke < done)
            {
                all.push(w);
            }
        }
        all.retain(|o| !std::ptr::eq(*o, culprit));
        all.sort_by_key(|o| o.invoke);
        all
    };
    // The shortest window of operations before the culprit that will do, then drop chunks of
    // it, halving their size down to one operation. A removal can enable another earlier in
    // the list (a read gone, its writer may go too): passes of single operations go on until
    // one removes nothing.
    let mut kept = before.clone();
    let mut n = 4;
    while n < before.len() {
        let window = close(&before[before.len() - n..]);
        if acceptable(&window) {
            kept = window;
            break;
        }
        n *= 4;
    }
    let mut size = kept.len().div_ceil(2).max(1);
    loop {
        let (mut start, len) = (0, kept.len());
        while start < kept.len() {
            let end = (start + size).min(kept.len());
            let rest: Vec<&Operation> = [&kept[..start], &kept[end..]].concat();
            if acceptable(&rest) {
                kept = rest;
            } else {
                start = end;
            }
        }
        if size == 1 && kept.len() == len {
            return with_culprit(&kept);
        }
        size = size.div_ceil(2);
    }
}

/// Checks `events` for linearizability with [`DEFAULT_STEP_BUDGET`] steps per key.
pub fn check(events: &[Event]) -> Result<Verdict, HistoryError> {
    check_with_budget(events, DEFAULT_STEP_BUDGET)
}

/// Checks `events` for linearizability, searching at most `budget` steps per key.
pub fn check_with_budget(events: &[Event], budget: u64) -> Result<Verdict, HistoryError> {
    let ops = operations(events)?;
    let mut by_key: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
    for o in &ops {
        by_key.entry(&o.key).or_default().push(o);
    }
    let mut unknown = None;
    for (key, key_ops) in &by_key {
        let outcome = search(key_ops, budget);
        match outcome.result {
            Search::Linearizable => {}
            Search::Exhausted => {
                unknown.get_or_insert_with(|| Verdict::Unknown {
                    key: key.to_string(),
                    why: format!(
                        "the search ran out of its budget of {budget} steps on {} operations",
                        key_ops.len()
                    ),
                });
            }
            Search::Violated => {
                let witness = match outcome.blocker {
                    Some(culprit) => minimise(key_ops, culprit, budget),
                    None => key_ops.clone(),
                };
                let mut witness: Vec<(u64, usize)> = witness
                    .iter()
                    .flat_map(|o| [Some(o.invoke), o.complete])
                    .flatten()
                    .map(|i| (events[i].time, i))
                    .collect();
                witness.sort_unstable();
                return Ok(Verdict::NotLinearizable {
                    key: key.to_string(),
                    witness: witness.iter().map(|&(_, i)| events[i].clone()).collect(),
                });
            }
        }
    }
    Ok(unknown.unwrap_or(Verdict::Linearizable {
        keys: by_key.len(),
        ops: ops.len(),
    }))
}
