//! The engine: one tree-path patch applied to one object exactly as Istio's operator does it
//! (`tpath.GetPathContext` with `createMissing` then `tpath.WritePathContext`, called by
//! `patch.applyPatches`), and the RFC 6902 operations it amounts to.
//!
//! Istio holds the object as Go `map[interface{}]interface{}` (decoded by yaml.v2) while maps
//! that patches insert are `map[string]interface{}`; the two are written differently. The
//! [`Patcher`] remembers which maps its earlier patches inserted, so a sequence of patches
//! behaves as Istio's `applyPatches` loop over one object.
//!
//! A patch takes one of two paths with the same results: [`Patcher::apply_direct`] walks the
//! object once for the usual patch (every node above the written one in the object, none in an
//! inserted subtree), and declines anything else to the general path, which resolves every
//! level ([`Patcher::resolve_into`]) then writes as Istio does ([`Writer`]). Long because the
//! marks of inserted subtrees, both paths and the writer share the position types; the marks
//! could move to a file of their own.

use std::rc::Rc;

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
use serde_json::{Map, Value};

use crate::error::{Error, Errors, Result};
use crate::overlay::Patch;
use crate::path::{Segment, TreePath};
use crate::prepared::{
    Matcher, Prepared, key_hash, map_at_mut, map_find, map_find_mut, map_get, map_get_mut,
    prepared, same_bytes,
};
use crate::value::{contains_map, go_sprint, sprint_eq, string_to_map_in_place, structpb_in_place};

/// Applies one patch to `object` (a fresh [`Patcher`]).
///
/// `value: None` (or null) deletes. On error the object is left as Istio would leave it
/// (almost always unchanged).
pub fn apply_patch(object: &mut Value, patch: &Patch) -> Result<()> {
    Patcher::new().apply(object, patch)
}

/// Applies patches in order and stops at the first error, which is returned (the object then
/// holds the patches before it).
pub fn apply_patches(object: &mut Value, patches: &[Patch]) -> Result<()> {
    let mut p = Patcher::new();
    patches.iter().try_for_each(|patch| p.apply(object, patch))
}

/// Applies every patch it can, in order, as Istio does, and returns every error.
pub fn apply_patches_keep_going(object: &mut Value, patches: &[Patch]) -> Result<(), Errors> {
    let mut p = Patcher::new();
    let errors: Vec<Error> = patches
        .iter()
        .filter_map(|patch| p.apply(object, patch).err())
        .collect();
    Errors(errors).into_result()
}

/// What one patch resolves to against the object as the previous patches left it.
#[derive(Debug)]
pub struct Explained {
    /// Index of the patch in its list.
    pub index: usize,
    /// The patch path as written.
    pub path: String,
    /// The RFC 6902 operations that have the same effect as the patch (empty: no change).
    pub operations: Vec<PatchOperation>,
    /// Why the patch fails, if it does (operations then holds what Istio still changes).
    pub error: Option<Error>,
}

/// Resolves each patch into RFC 6902 operations, applying them in turn to a copy of `object`
/// (keep-going, as Istio), so each explanation holds against the state the patch really meets.
pub fn explain(object: &Value, patches: &[Patch]) -> Vec<Explained> {
    let mut doc = object.clone();
    let mut p = Patcher::new();
    patches
        .iter()
        .enumerate()
        .map(|(index, patch)| {
            let mut ops = Vec::new();
            let error = p.apply_with_ops(&mut doc, patch, Some(&mut ops)).err();
            Explained {
                index,
                path: patch.path.clone(),
                operations: ops,
                error,
            }
        })
        .collect()
}

/// What the caller of [`Patcher::apply_prepared`] knows of the patches after this one on
/// the same object, which decides whether a subtree it inserts must be marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Later {
    /// A later patch may reach into what this one writes (or nothing is known of them).
    MayReach,
    /// No later patch can reach into what this one writes ([`may_reach_under`] said so for
    /// each), so its mark would never be read.
    CannotReach,
}

/// Whether a patch at `later` may reach the node a patch at `path` writes, or a node under it,
/// once `path`'s patch succeeded. It cannot when `later` is shorter, or when at some level
/// `path` has a plain key (the node there was a map, and a map is looked up by the text) and
/// `later` another text: a node has one path from the root. Anything else may (a selector or
/// an index can lead to any element).
pub(crate) fn may_reach_under(path: &TreePath, later: &TreePath) -> bool {
    let (ours, theirs) = (path.segments(), later.segments());
    theirs.len() >= ours.len()
        && ours
            .iter()
            .zip(theirs)
            .all(|(a, b)| a.is_bracketed() || (a.hash() == b.hash() && a.as_str() == b.as_str()))
}

/// How many leading segments of `next` the walk of the patch at `prev`, applied just before it
/// to the same object by the direct path, still leads through: the segments both share above
/// either's last, up to a list selector whose answer `prev`'s write may have changed.
///
/// `prev`'s write is below every node of that walk, so it changed no map's keys and no list's
/// elements on the way; what it can change is what a selector read: the field `key` of the
/// element a `[key:value]` picked, when `prev` writes under that field (any other bracketed
/// segment that leads into an element is not reused).
pub(crate) fn reusable_walk(prev: &TreePath, next: &TreePath) -> usize {
    let (ps, ns) = (prev.segments(), next.segments());
    let limit = ps.len().min(ns.len()).saturating_sub(1);
    let mut shared = 0;
    for (k, (a, b)) in ps.iter().zip(ns).enumerate().take(limit) {
        if a != b {
            break;
        }
        if b.is_bracketed() && b.index().is_none() {
            let written = ps.get(k + 1).map(Segment::as_str);
            match b.key_value() {
                Some((key, _)) if written != Some(key) => {}
                _ => break,
            }
        }
        shared = k + 1;
    }
    shared
}

/// Applies a sequence of patches to one object as one Istio `applyPatches` call does,
/// remembering which maps earlier patches inserted (Istio writes into those differently).
#[derive(Debug, Default, Clone)]
pub struct Patcher {
    /// Positions whose whole subtree was inserted by a patch (Go `map[string]interface{}`).
    marks: Marks,
    /// The levels buffer, reused from patch to patch.
    scratch: Vec<Level>,
    /// The buffer of the containers a patch makes up, reused from patch to patch.
    locals: Vec<Value>,
    /// The buffer of the per-level flags of a write, reused from patch to patch.
    flags: Vec<bool>,
    /// `Some(hashed)` when the last patch was written by the direct path, below every node of
    /// its walk, whose levels are still in `scratch` (`hashed`: with their prefix hashes).
    walked: Option<bool>,
}

/// The marks of a [`Patcher`] (owned: marks outlive the patch that made them), held in
/// buffers that are reused from object to object.
#[derive(Debug, Default, Clone)]
struct Marks {
    /// The keys of every mark (UTF-8), one after the other.
    keys: Vec<u8>,
    /// The steps of every mark, one after the other.
    steps: Vec<MarkStep>,
    /// For each step, the [`prefix_hash`] of the mark's steps up to it.
    hashes: Vec<u64>,
    /// Each live mark.
    spans: Vec<Span>,
    /// Bit `n` set when a mark has `n` steps (bit 63 for 63 steps and more): most positions on
    /// a path have a depth no mark has.
    lens: u64,
}

/// A live mark: its range of `steps`, and the path that made it (its key steps are segments
/// of that path, which the mark keeps alive instead of copying the keys).
#[derive(Debug, Clone)]
struct Span {
    a: usize,
    b: usize,
    path: Rc<Prepared>,
}

impl Span {
    fn len(&self) -> usize {
        self.b - self.a
    }
}

/// The bit of [`Marks::lens`] for marks of `len` steps.
fn len_bit(len: usize) -> u64 {
    1u64 << len.min(63)
}

/// A position whose subtree a patch inserted: a view into [`Marks`].
#[derive(Debug, Clone, Copy)]
struct Mark<'m> {
    keys: &'m [u8],
    path: &'m TreePath,
    steps: &'m [MarkStep],
    hashes: &'m [u64],
}

impl Marks {
    fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn clear(&mut self) {
        self.keys.clear();
        self.steps.clear();
        self.hashes.clear();
        self.spans.clear();
        self.lens = 0;
    }

    /// Drops the marks at or under `pos` (the subtree there is replaced or removed).
    #[inline]
    fn clear_under(&mut self, pos: Pos<'_>) {
        // Looking costs less than `retain`, and most positions have no mark under them.
        if !self.is_empty() && self.iter().any(|m| mark_under(m, pos)) {
            self.retain(|m| !mark_under(m, pos));
        }
    }

    /// Marks `pos` (a position on `prep`'s path) as inserted by a patch, unless a mark already
    /// covers it.
    fn mark(&mut self, pos: Pos<'_>, prep: &Rc<Prepared>) {
        if !self.covers(pos) {
            self.clear_under(pos);
            self.push(pos, prep);
        }
    }

    /// After element `idx` of the list at `list` was removed: drops the marks under it and
    /// moves those under the elements after it down by one.
    fn shift(&mut self, list: Pos<'_>, idx: usize) {
        self.remove_index(list.len(), idx, |m| mark_under(m, list));
    }

    /// Whether `pos` lies in a subtree a patch inserted.
    fn covers(&self, pos: Pos<'_>) -> bool {
        self.iter().any(|m| under(pos, m))
    }

    /// Whether the position of `levels[1..]` followed by `hop` lies in an inserted subtree,
    /// given that the position of `levels[1..]` does not (so only a mark of exactly this
    /// depth can cover it).
    #[inline]
    fn covers_at(&self, path: &TreePath, levels: &[Level], hop: Hop) -> bool {
        // Most positions have a depth no mark has.
        self.lens & len_bit(levels.len()) != 0 && self.covers_at_depth(path, levels, hop)
    }

    /// [`Marks::covers_at`] once a mark of this depth exists.
    #[inline(never)]
    fn covers_at_depth(&self, path: &TreePath, levels: &[Level], hop: Hop) -> bool {
        let depth = levels.len();
        let pos = Pos {
            path,
            levels: levels.get(1..).unwrap_or(&[]),
            extra: Some(step_of(path, hop)),
        };
        self.of_len(depth).any(|m| under(pos, m))
    }

    /// The marks of `len` steps.
    fn of_len(&self, len: usize) -> impl Iterator<Item = Mark<'_>> {
        let none = self.lens & len_bit(len) == 0;
        self.spans
            .iter()
            .take(if none { 0 } else { usize::MAX })
            .filter(move |span| span.len() == len)
            .map(|span| Mark::of(&self.keys, &self.steps, &self.hashes, span))
    }

    fn iter(&self) -> impl Iterator<Item = Mark<'_>> {
        self.spans
            .iter()
            .map(|span| Mark::of(&self.keys, &self.steps, &self.hashes, span))
    }

    /// Adds the mark of `pos`, a position on `prep`'s path.
    fn push(&mut self, pos: Pos<'_>, prep: &Rc<Prepared>) {
        debug_assert!(std::ptr::eq(pos.path, &prep.path));
        let start = self.steps.len();
        self.steps.reserve(pos.len());
        self.hashes.reserve(pos.len());
        // The levels carry their prefix hashes: only an extra step is hashed here.
        let segs = prep.path.segments();
        for l in pos.levels {
            self.hashes.push(l.hash);
            self.steps.push(match l.hop {
                Hop::Key(i) => MarkStep::Seg(i, segs.get(i).map_or(0, Segment::hash)),
                Hop::Idx(i) => MarkStep::Idx(i),
                Hop::Root => MarkStep::Idx(0),
            });
        }
        if let Some(step) = pos.extra {
            self.hashes.push(pos.hash(pos.len()));
            self.steps.push(match step {
                StepRef::Key(k, h) => {
                    // A key not on the path: copied.
                    let a = self.keys.len();
                    self.keys.extend_from_slice(k);
                    MarkStep::Key(a, self.keys.len(), h)
                }
                StepRef::Idx(i) => MarkStep::Idx(i),
            });
        }
        self.spans.push(Span {
            a: start,
            b: self.steps.len(),
            path: Rc::clone(prep),
        });
        self.lens |= len_bit(self.steps.len() - start);
    }

    /// Keeps the marks for which `keep` holds.
    fn retain(&mut self, mut keep: impl FnMut(Mark<'_>) -> bool) {
        let Marks {
            keys,
            steps,
            hashes,
            spans,
            lens,
        } = self;
        spans.retain(|span| keep(Mark::of(keys, steps, hashes, span)));
        *lens = spans.iter().fold(0, |m, span| m | len_bit(span.len()));
        if spans.is_empty() {
            // Nothing refers to the buffers any more.
            keys.clear();
            steps.clear();
            hashes.clear();
        }
    }

    /// After element `idx` of a list was removed: of the marks for which `select` holds (those
    /// under the list, whose step at `depth` indexes it), drops those under the element and
    /// moves those under the elements after it down by one.
    fn remove_index(&mut self, depth: usize, idx: usize, mut select: impl FnMut(Mark<'_>) -> bool) {
        let Marks {
            keys,
            steps,
            hashes,
            spans,
            lens,
        } = self;
        spans.retain(|span| {
            if !select(Mark::of(keys, steps, hashes, span)) {
                return true;
            }
            let (a, b) = (span.a, span.b);
            match steps.get_mut(a + depth).filter(|_| a + depth < b) {
                Some(MarkStep::Idx(i)) if *i == idx => return false,
                Some(MarkStep::Idx(i)) if *i > idx => *i -= 1,
                _ => return true,
            }
            // The prefix hashes from the shifted step on change.
            let mut h = match depth.checked_sub(1) {
                Some(d) => hashes.get(a + d).copied().unwrap_or(0),
                None => 0,
            };
            for at in a + depth..b {
                if let Some(step) = steps.get(at) {
                    h = prefix_hash(h, step.as_ref(keys, &span.path.path));
                }
                if let Some(slot) = hashes.get_mut(at) {
                    *slot = h;
                }
            }
            true
        });
        *lens = spans.iter().fold(0, |m, span| m | len_bit(span.len()));
        if spans.is_empty() {
            keys.clear();
            steps.clear();
            hashes.clear();
        }
    }
}

/// A step of a [`Mark`]: a segment of the mark's path (its index and hash), a key of the
/// mark's own (a range of `keys`, and its hash), or a list index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MarkStep {
    Seg(usize, u64),
    Key(usize, usize, u64),
    Idx(usize),
}

impl MarkStep {
    /// The step, its key read from `keys` (the buffer of [`Marks`]) or `path` (the mark's).
    fn as_ref<'k>(self, keys: &'k [u8], path: &'k TreePath) -> StepRef<'k> {
        match self {
            MarkStep::Seg(i, h) => StepRef::Key(
                path.segments()
                    .get(i)
                    .map_or(&[][..], |s| s.as_str().as_bytes()),
                h,
            ),
            MarkStep::Key(a, b, h) => StepRef::Key(keys.get(a..b).unwrap_or(&[]), h),
            MarkStep::Idx(i) => StepRef::Idx(i),
        }
    }
}

/// A step of a position on the path being applied (keys borrowed from the path, with their
/// [`key_hash`]).
#[derive(Debug, Clone, Copy)]
enum StepRef<'a> {
    Key(&'a [u8], u64),
    Idx(usize),
}

impl StepRef<'_> {
    fn key(k: &str) -> StepRef<'_> {
        StepRef::Key(k.as_bytes(), key_hash(k))
    }
}

impl PartialEq for StepRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (StepRef::Key(a, ha), StepRef::Key(b, hb)) => ha == hb && same_bytes(a, b),
            (StepRef::Idx(a), StepRef::Idx(b)) => a == b,
            _ => false,
        }
    }
}

impl<'m> Mark<'m> {
    /// The mark of `span` in the buffers of [`Marks`].
    fn of(keys: &'m [u8], steps: &'m [MarkStep], hashes: &'m [u64], span: &'m Span) -> Self {
        Mark {
            keys,
            path: &span.path.path,
            steps: steps.get(span.a..span.b).unwrap_or(&[]),
            hashes: hashes.get(span.a..span.b).unwrap_or(&[]),
        }
    }

    fn len(&self) -> usize {
        self.steps.len()
    }

    /// The [`prefix_hash`] of the first `len` steps (0 for none).
    fn hash(&self, len: usize) -> u64 {
        len.checked_sub(1)
            .and_then(|d| self.hashes.get(d))
            .copied()
            .unwrap_or(0)
    }
}

/// A position on the path being applied: the steps of some of its levels (from the root's
/// child on), and possibly one more step. Never allocated.
#[derive(Debug, Clone, Copy)]
struct Pos<'a> {
    path: &'a TreePath,
    levels: &'a [Level],
    extra: Option<StepRef<'a>>,
}

impl<'a> Pos<'a> {
    fn len(&self) -> usize {
        self.levels.len() + usize::from(self.extra.is_some())
    }

    fn iter(self) -> impl Iterator<Item = StepRef<'a>> {
        self.levels
            .iter()
            .map(move |l| step_of(self.path, l.hop))
            .chain(self.extra)
    }

    /// The [`prefix_hash`] of the first `len` steps (0 for none).
    fn hash(&self, len: usize) -> u64 {
        let Some(d) = len.checked_sub(1) else {
            return 0;
        };
        match (self.levels.get(d), self.extra) {
            (Some(l), _) => l.hash,
            (None, Some(step)) if d == self.levels.len() => {
                prefix_hash(self.levels.last().map_or(0, |l| l.hash), step)
            }
            _ => 0,
        }
    }

    /// The same position with one more step.
    fn with(self, step: StepRef<'a>) -> Pos<'a> {
        debug_assert!(self.extra.is_none());
        Pos {
            extra: Some(step),
            ..self
        }
    }
}

/// Whether the first `depth` steps of `pos` and `mark` agree (compared deepest first, where
/// positions usually differ).
fn same_prefix(pos: Pos<'_>, mark: Mark<'_>, depth: usize) -> bool {
    let Some(steps) = mark.steps.get(..depth) else {
        return false;
    };
    let segs = pos.path.segments();
    steps.iter().enumerate().rev().all(|(d, step)| {
        let here = match pos.levels.get(d) {
            Some(l) => l.hop,
            None => {
                return d == pos.levels.len()
                    && pos
                        .extra
                        .is_some_and(|e| e == step.as_ref(mark.keys, mark.path));
            }
        };
        match (here, *step) {
            (Hop::Key(i), MarkStep::Seg(j, h)) => match segs.get(i) {
                // The same segment of the same path is the same key.
                Some(s) if std::ptr::eq(pos.path, mark.path) && i == j => s.hash() == h,
                Some(s) => {
                    s.hash() == h
                        && mark.path.segments().get(j).is_some_and(|k| {
                            same_bytes(s.as_str().as_bytes(), k.as_str().as_bytes())
                        })
                }
                None => step_of(pos.path, here) == step.as_ref(mark.keys, mark.path),
            },
            (Hop::Key(i), MarkStep::Key(a, b, h)) => match segs.get(i) {
                Some(s) => {
                    s.hash() == h
                        && mark
                            .keys
                            .get(a..b)
                            .is_some_and(|k| same_bytes(s.as_str().as_bytes(), k))
                }
                None => step_of(pos.path, here) == step.as_ref(mark.keys, mark.path),
            },
            (Hop::Idx(i), MarkStep::Idx(j)) => i == j,
            (Hop::Root, MarkStep::Idx(j)) => j == 0,
            _ => false,
        }
    })
}

/// Whether position `pos` lies under (or at) `mark` (the prefix hashes first: they tell most
/// positions apart at once).
fn under(pos: Pos<'_>, mark: Mark<'_>) -> bool {
    let n = mark.len();
    n <= pos.len() && pos.hash(n) == mark.hash(n) && same_prefix(pos, mark, n)
}

/// Whether `mark` lies under (or at) position `pos`.
fn mark_under(mark: Mark<'_>, pos: Pos<'_>) -> bool {
    let n = pos.len();
    n <= mark.len() && pos.hash(n) == mark.hash(n) && same_prefix(pos, mark, n)
}

/// The hash of a position's steps up to and including `step`, from the hash `parent` of
/// those before it (0 at the root): compared before the steps themselves.
fn prefix_hash(parent: u64, step: StepRef<'_>) -> u64 {
    let word = match step {
        StepRef::Key(_, h) => h,
        StepRef::Idx(i) => index_word(i),
    };
    mix(parent, word)
}

/// What an index step adds to a [`prefix_hash`]: it hashes apart from the keys' FxHash values
/// (odd multiplier, then a tag).
#[inline]
fn index_word(i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x1d
}

/// [`prefix_hash`] from the word of the step.
#[inline]
fn mix(parent: u64, word: u64) -> u64 {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    (parent.rotate_left(5) ^ word).wrapping_mul(SEED)
}

/// The step a hop of `path` takes.
fn step_of(path: &TreePath, hop: Hop) -> StepRef<'_> {
    match hop {
        Hop::Key(i) => match path.segments().get(i) {
            Some(s) => StepRef::Key(s.as_str().as_bytes(), s.hash()),
            None => StepRef::key(""),
        },
        Hop::Idx(i) => StepRef::Idx(i),
        Hop::Root => StepRef::Idx(0),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// In the object.
    Existing,
    /// A map key Istio creates: a map (`smap` tells which Go map type) or, in an inserted
    /// map before an index segment, an empty list.
    Created { list: bool },
    /// A `null` node Istio replaces, in its traversal only, by a map.
    NilMap,
    /// A `null` node Istio replaces, in its traversal only, by a list it cannot write to.
    NilList,
    /// A new element appended at the end of a list (`[-1]`, `[N >= len]`).
    Fresh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Map,
    List,
    Scalar,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hop {
    Root,
    Key(usize),
    Idx(usize),
}

/// One node on a resolved path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Level {
    pub hop: Hop,
    /// For an existing map entry: its position in the map (as `map_find` gives it).
    pub pos: usize,
    pub state: State,
    pub kind: Kind,
    /// Inside a subtree inserted by a patch (maps there are Go `map[string]interface{}`).
    pub inserted: bool,
    /// The [`prefix_hash`] of the steps from the root to this level (0 at the root).
    pub hash: u64,
}

impl Patcher {
    /// A patcher for one object, as at the start of Istio's `applyPatches`.
    pub fn new() -> Patcher {
        Patcher::default()
    }

    /// Starts over for another object (as [`Patcher::new`], keeping the buffers).
    pub(crate) fn reset(&mut self) {
        self.marks.clear();
        self.walked = None;
    }

    /// Applies one patch (typed as Istio's structpb types it).
    pub fn apply(&mut self, object: &mut Value, patch: &Patch) -> Result<()> {
        self.apply_with_ops(object, patch, None)
    }

    /// [`Patcher::apply`] consuming the patch: its value is moved into the object, not copied.
    pub fn apply_owned(&mut self, object: &mut Value, patch: Patch) -> Result<()> {
        self.apply_value(object, &patch.path, patch.value, None)
    }

    /// Applies one patch and records the RFC 6902 operations with the same effect.
    pub fn apply_with_ops(
        &mut self,
        object: &mut Value,
        patch: &Patch,
        ops: Option<&mut Vec<PatchOperation>>,
    ) -> Result<()> {
        let value = match &patch.value {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.clone()),
        };
        self.apply_value(object, &patch.path, value, ops)
    }

    /// The patch at `path` with `value` (as written: typed here; `None` or null deletes).
    pub(crate) fn apply_value(
        &mut self,
        object: &mut Value,
        path: &str,
        value: Option<Value>,
        ops: Option<&mut Vec<PatchOperation>>,
    ) -> Result<()> {
        self.apply_prepared(object, &prepared(path), value, ops, Later::MayReach, 0)
    }

    /// [`Patcher::apply_value`] with the path already prepared, and what is known of the
    /// patches around it on this object: whether a later one may reach into what it writes,
    /// and how many of its leading segments the walk of the patch just before it still leads
    /// through ([`reusable_walk`]; 0 when the caller does not know that the previous call
    /// patched this object, unchanged since).
    pub(crate) fn apply_prepared(
        &mut self,
        object: &mut Value,
        prep: &Rc<Prepared>,
        mut value: Option<Value>,
        ops: Option<&mut Vec<PatchOperation>>,
        later: Later,
        reuse: usize,
    ) -> Result<()> {
        // The previous walk serves this patch only if it was the previous call's.
        let walked = self.walked.take();
        let path = prep.path.as_written();
        // `trim().is_empty()`, without scanning a path that starts with a non-space.
        if path.is_empty() || (path.starts_with(char::is_whitespace) && path.trim().is_empty()) {
            // Istio skips a patch with an empty path (with a warning).
            return Ok(());
        }
        if !object.is_object() {
            return Err(Error::NotAnObject {
                what: "the patched object".into(),
                found: describe(object),
            });
        }
        // The value as Istio writes it: structpb numbers, a `key: value` string as its map.
        let mut from_string = false;
        if let Some(v) = &mut value {
            if v.is_null() {
                value = None;
            } else {
                structpb_in_place(v);
                from_string = string_to_map_in_place(v);
            }
        }
        let has_map = value.as_ref().is_some_and(contains_map);
        let mut levels = std::mem::take(&mut self.scratch);
        // A subtree no later patch can reach needs no mark (the direct path skips it).
        let marking = has_map && later == Later::MayReach;
        let reuse = walked.map(|hashed| (reuse, hashed));
        if ops.is_none() && self.apply_direct(object, prep, &mut value, marking, &mut levels, reuse)
        {
            self.scratch = levels;
            return Ok(());
        }
        self.walked = None;
        let result = self.resolve_into(object, prep, &mut levels).and_then(|()| {
            let mut w = Writer {
                patcher: self,
                root: object,
                prep,
                path: &prep.path,
                levels: &levels,
                ops,
            };
            match value {
                None => w.delete(),
                Some(v) => w.set(v, from_string, has_map),
            }
        });
        self.scratch = levels;
        result
    }

    /// The usual patch in one walk down the object, with what the general path
    /// ([`Patcher::resolve_into`] then [`Writer`]) would do: every node above the written one
    /// exists (no null on the way, none in a subtree an earlier patch inserted, no list held
    /// directly by a list), and the patch sets a map key, sets or appends a list element of a
    /// list held by a map, or deletes an existing one. Returns false, having changed nothing
    /// and left `value` as it was, for any other patch (errors included), which the general
    /// path then applies.
    fn apply_direct(
        &mut self,
        object: &mut Value,
        prep: &Rc<Prepared>,
        value: &mut Option<Value>,
        marking: bool,
        levels: &mut Vec<Level>,
        reuse: Option<(usize, bool)>,
    ) -> bool {
        let path = &prep.path;
        let segs = path.segments();
        let Some(leaf_seg) = segs.last() else {
            return false;
        };
        // The levels' prefix hashes serve the marks only: none are looked at or made when there
        // are none and the value holds no map.
        let hashing = marking || !self.marks.is_empty();
        // The first levels of the previous patch's walk when they lead this one's way (their
        // hashes computed if that walk did not need them), else the root's.
        let from = match reuse {
            Some((shared, hashed)) if shared > 0 && levels.len() > shared => {
                levels.truncate(shared + 1);
                if hashing && !hashed {
                    rehash(path, levels);
                }
                shared
            }
            _ => {
                levels.clear();
                levels.push(Level {
                    hop: Hop::Root,
                    pos: 0,
                    state: State::Existing,
                    kind: Kind::Map,
                    inserted: false,
                    hash: 0,
                });
                0
            }
        };
        let cur = match walk_direct(object, prep, &self.marks, hashing, levels, from) {
            Walk::Parent(cur) => {
                // Set back by the caller unless the write below succeeds.
                self.walked = Some(hashing);
                cur
            }
            Walk::Missing(i) => {
                return self.create_direct(object, prep, value, marking, levels, i);
            }
            Walk::Declined => return false,
        };
        let n = segs.len();
        let parent_hash = levels.last().map_or(0, |l| l.hash);
        let deleting = value.is_none();
        match cur {
            Value::Object(m) => {
                let key = leaf_seg.as_str();
                levels.push(Level {
                    hop: Hop::Key(n - 1),
                    pos: 0,
                    state: State::Existing,
                    kind: Kind::Scalar,
                    inserted: false,
                    hash: mix(parent_hash, leaf_seg.hash()),
                });
                let leaf = Pos {
                    path,
                    levels: levels.get(1..).unwrap_or(&[]),
                    extra: None,
                };
                if deleting {
                    if m.shift_remove(key).is_some() {
                        self.marks.clear_under(leaf);
                    }
                    return true;
                }
                let Some(vv) = value.take() else {
                    return false;
                };
                put(m, key, vv);
                self.marks.clear_under(leaf);
                if marking {
                    self.marks.mark(leaf, prep);
                }
                true
            }
            Value::Array(items) => {
                if !levels.last().is_some_and(|l| matches!(l.hop, Hop::Key(_))) {
                    // Istio can only change a list it reached through a map key.
                    return false;
                }
                let idx = match leaf_seg.index() {
                    // `[-1]` and any index past the end append.
                    Some(k) => usize::try_from(k)
                        .ok()
                        .filter(|k| *k < items.len())
                        .unwrap_or(items.len()),
                    None => match select(prep, n - 1, items) {
                        Ok(k) => k,
                        Err(_) => return false,
                    },
                };
                let append = idx >= items.len();
                if deleting && append {
                    // Deleting past the end: the general path's error.
                    return false;
                }
                levels.push(Level {
                    hop: Hop::Idx(idx),
                    pos: 0,
                    state: State::Existing,
                    kind: Kind::Scalar,
                    inserted: false,
                    hash: mix(parent_hash, index_word(idx)),
                });
                if deleting {
                    items.remove(idx);
                    if !self.marks.is_empty() {
                        let list = Pos {
                            path,
                            levels: levels.get(1..n).unwrap_or(&[]),
                            extra: None,
                        };
                        self.marks.shift(list, idx);
                    }
                    return true;
                }
                let Some(vv) = value.take() else {
                    return false;
                };
                if append {
                    items.push(vv);
                } else if let Some(slot) = items.get_mut(idx) {
                    *slot = vv;
                }
                let leaf = Pos {
                    path,
                    levels: levels.get(1..).unwrap_or(&[]),
                    extra: None,
                };
                self.marks.clear_under(leaf);
                if marking {
                    self.marks.mark(leaf, prep);
                }
                true
            }
            _ => false,
        }
    }

    /// [`Patcher::apply_direct`] for a set whose segment `i` (not the last) is missing from a
    /// map of the object that `levels` lead to: Istio creates a map for it and for each
    /// segment after it (yaml.v2 maps get map children, even for an index segment), the value
    /// at the last one.
    fn create_direct(
        &mut self,
        object: &mut Value,
        prep: &Rc<Prepared>,
        value: &mut Option<Value>,
        marking: bool,
        levels: &mut Vec<Level>,
        i: usize,
    ) -> bool {
        let path = &prep.path;
        let segs = path.segments();
        if value.is_none() {
            // A delete through a missing key: the general path (which creates the maps too).
            return false;
        }
        // The map holding the missing key, found again by the steps taken to it.
        let mut cur: &mut Value = object;
        for l in levels.iter().skip(1) {
            let next = match (l.hop, cur) {
                (Hop::Key(k), Value::Object(m)) => {
                    segs.get(k).and_then(|s| map_get_mut(m, s.as_str()))
                }
                (Hop::Idx(k), Value::Array(a)) => a.get_mut(k),
                _ => None,
            };
            let Some(next) = next else {
                return false;
            };
            cur = next;
        }
        let (Value::Object(holder), Some(first)) = (cur, segs.get(i)) else {
            return false;
        };
        for (k, seg) in segs.iter().enumerate().skip(i) {
            let hash = mix(levels.last().map_or(0, |l| l.hash), seg.hash());
            levels.push(Level {
                hop: Hop::Key(k),
                pos: 0,
                state: State::Created { list: false },
                kind: Kind::Map,
                inserted: false,
                hash,
            });
        }
        let Some(mut node) = value.take() else {
            return false;
        };
        for seg in segs.iter().skip(i + 1).rev() {
            let mut m = Map::with_capacity(1);
            m.insert(seg.as_str().to_owned(), node);
            node = Value::Object(m);
        }
        put(holder, first.as_str(), node);
        let pos = |upto: usize| Pos {
            path,
            levels: levels.get(1..=upto).unwrap_or(&[]),
            extra: None,
        };
        // The first created map replaces whatever was marked under its position, then the
        // value's position is marked if it holds a map (as the general path's fold does).
        self.marks.clear_under(pos(i + 1));
        if marking {
            self.marks.mark(pos(segs.len()), prep);
        }
        true
    }

    /// Istio's `getPathContext` (createMissing = true), read-only: where each segment leads.
    pub(crate) fn resolve(&self, root: &Value, path: &Prepared) -> Result<Vec<Level>> {
        let mut levels = Vec::new();
        self.resolve_into(root, path, &mut levels)?;
        Ok(levels)
    }

    /// [`Patcher::resolve`] into a buffer (cleared first).
    fn resolve_into(&self, root: &Value, prep: &Prepared, levels: &mut Vec<Level>) -> Result<()> {
        let path = &prep.path;
        let segs = path.segments();
        levels.clear();
        levels.reserve(segs.len() + 1);
        levels.push(Level {
            hop: Hop::Root,
            pos: 0,
            state: State::Existing,
            kind: kind_of(root),
            inserted: false,
            hash: 0,
        });
        let track = !self.marks.is_empty();
        let mut cur: Option<&Value> = Some(root);
        // The level last pushed, carried along (it is also `levels.last()`).
        let mut parent = levels[0];
        for (i, seg) in segs.iter().enumerate() {
            let pe = seg.as_str();
            if parent.kind == Kind::Null {
                if seg.index().is_some() || seg.key_value().is_some() {
                    parent.state = State::NilList;
                    parent.kind = Kind::List;
                } else {
                    parent.state = State::NilMap;
                    parent.kind = Kind::Map;
                }
                parent.inserted = true;
                if let Some(lv) = levels.last_mut() {
                    *lv = parent;
                }
                cur = None;
            }
            let mut next = match parent.kind {
                Kind::List => {
                    let items: &[Value] = match cur {
                        Some(Value::Array(a)) => a,
                        _ => &[],
                    };
                    let idx = match seg.index() {
                        Some(n) => usize::try_from(n).ok().filter(|n| *n < items.len()),
                        None => Some(select(prep, i, items)?),
                    };
                    match idx.and_then(|idx| Some((idx, items.get(idx)?))) {
                        Some((idx, child)) => {
                            cur = Some(child);
                            let hop = Hop::Idx(idx);
                            Level {
                                hop,
                                pos: 0,
                                state: State::Existing,
                                kind: kind_of(child),
                                inserted: parent.inserted
                                    || (track && self.marks.covers_at(path, levels, hop)),
                                hash: 0,
                            }
                        }
                        None => {
                            cur = None;
                            Level {
                                hop: Hop::Idx(items.len()),
                                pos: 0,
                                state: State::Fresh,
                                kind: Kind::Map,
                                inserted: true,
                                hash: 0,
                            }
                        }
                    }
                }
                Kind::Map => {
                    let child = match cur {
                        Some(Value::Object(m)) => map_find(m, pe),
                        _ => None,
                    };
                    match child {
                        Some((pos, child)) => {
                            cur = Some(child);
                            let hop = Hop::Key(i);
                            Level {
                                hop,
                                pos,
                                state: State::Existing,
                                kind: kind_of(child),
                                inserted: parent.inserted
                                    || (track && self.marks.covers_at(path, levels, hop)),
                                hash: 0,
                            }
                        }
                        None => {
                            cur = None;
                            // yaml.v2 maps get a map child; inserted maps get a list child
                            // when the next segment is an index.
                            let list = parent.inserted
                                && segs.get(i + 1).is_some_and(|s| s.index().is_some());
                            Level {
                                hop: Hop::Key(i),
                                pos: 0,
                                state: State::Created { list },
                                kind: if list { Kind::List } else { Kind::Map },
                                inserted: parent.inserted,
                                hash: 0,
                            }
                        }
                    }
                }
                Kind::Scalar | Kind::Null => {
                    let found = cur.map_or_else(|| "null".to_owned(), describe);
                    return Err(Error::NotAContainer {
                        path: path.as_written().to_owned(),
                        segment: pe.to_owned(),
                        istio: format!(
                            "leaf type {} in non-leaf Node {}",
                            cur.map_or("<nil>", go_type),
                            crate::path::join_istio(&segs[i..])
                        ),
                        found,
                    });
                }
            };
            // The step's word: this segment's hash for a key (as `step_of` gives it).
            let word = match next.hop {
                Hop::Key(_) => seg.hash(),
                Hop::Idx(i) => index_word(i),
                Hop::Root => index_word(0),
            };
            next.hash = mix(parent.hash, word);
            levels.push(next);
            parent = next;
        }
        Ok(())
    }
}

/// Where [`walk_direct`] ended.
enum Walk<'v> {
    /// At the node holding the last segment (its levels pushed).
    Parent(&'v mut Value),
    /// Segment `.0` (not the last) is missing from a map of the object (the levels to that
    /// map pushed).
    Missing(usize),
    /// Not a patch for [`Patcher::apply_direct`].
    Declined,
}

/// The walk of [`Patcher::apply_direct`] down `object` along every segment but the last,
/// pushing a level for each node passed (after the root's, already in `levels`).
fn walk_direct<'v>(
    object: &'v mut Value,
    prep: &Prepared,
    marks: &Marks,
    hashing: bool,
    levels: &mut Vec<Level>,
    from: usize,
) -> Walk<'v> {
    let path = &prep.path;
    let Some((_, above)) = path.segments().split_last() else {
        return Walk::Declined;
    };
    let track = !marks.is_empty();
    let mut cur: &'v mut Value = object;
    // The first `from` segments: followed along the levels already there, not searched for.
    for l in levels.get(1..).unwrap_or(&[]) {
        let next = match (l.hop, cur) {
            (Hop::Key(i), Value::Object(m)) => above
                .get(i)
                .and_then(|seg| map_at_mut(m, l.pos, seg.as_str())),
            (Hop::Idx(idx), Value::Array(items)) => items.get_mut(idx),
            _ => None,
        };
        let Some(next) = next else {
            // Not the object that walk was made on: the general path.
            return Walk::Declined;
        };
        cur = next;
    }
    for (i, seg) in above.iter().enumerate().skip(from) {
        let (hop, pos, child) = match cur {
            Value::Object(m) => match map_find_mut(m, seg.as_str()) {
                Some((pos, child)) => (Hop::Key(i), pos, child),
                None => return Walk::Missing(i),
            },
            Value::Array(items) => {
                if !levels.last().is_some_and(|l| matches!(l.hop, Hop::Key(_))) {
                    // A list held directly by a list: Istio fails the write-back.
                    return Walk::Declined;
                }
                let idx = match seg.index() {
                    Some(k) => match usize::try_from(k) {
                        Ok(k) if k < items.len() => k,
                        _ => return Walk::Declined,
                    },
                    None => match select(prep, i, items) {
                        Ok(k) => k,
                        Err(_) => return Walk::Declined,
                    },
                };
                match items.get_mut(idx) {
                    Some(child) => (Hop::Idx(idx), 0, child),
                    None => return Walk::Declined,
                }
            }
            _ => return Walk::Declined,
        };
        if child.is_null() || (track && marks.covers_at(path, levels, hop)) {
            return Walk::Declined;
        }
        let hash = if hashing {
            let word = match hop {
                Hop::Idx(idx) => index_word(idx),
                Hop::Key(_) | Hop::Root => seg.hash(),
            };
            mix(levels.last().map_or(0, |l| l.hash), word)
        } else {
            0
        };
        levels.push(Level {
            hop,
            pos,
            state: State::Existing,
            // Not read on this path (the node itself is at hand).
            kind: Kind::Map,
            inserted: false,
            hash,
        });
        cur = child;
    }
    Walk::Parent(cur)
}

/// Computes the prefix hash of each level after the root's, as [`walk_direct`] does when
/// hashing, for levels made without them.
fn rehash(path: &TreePath, levels: &mut [Level]) {
    let mut parent = 0;
    for l in levels.iter_mut().skip(1) {
        l.hash = prefix_hash(parent, step_of(path, l.hop));
        parent = l.hash;
    }
}

/// Istio's list selection for `[key:value]`, `[value]`, `[:value]` (segment `i` of the
/// path): the first match.
fn select(prep: &Prepared, i: usize, items: &[Value]) -> Result<usize> {
    let path = &prep.path;
    let Some(seg) = path.segments().get(i) else {
        return Err(Error::Internal {
            path: path.as_written().into(),
            detail: "segment out of range",
        });
    };
    let pe = seg.as_str();
    let kv = seg.key_value();
    for (idx, le) in items.iter().enumerate() {
        if let Value::Object(m) = le {
            let Some((k, v)) = kv else {
                return Err(Error::NotAKeyValueSelector {
                    path: path.as_written().into(),
                    segment: pe.into(),
                    found: describe_list(items),
                    istio: format!(
                        "path {}: {pe} is not a valid key:value path element",
                        path.istio_string()
                    ),
                });
            };
            if sprint_eq(map_get(m, k), v) {
                return Ok(idx);
            }
            continue;
        }
        if seg.value_selector().is_none() {
            return Err(Error::NotAValueSelector {
                path: path.as_written().into(),
                segment: pe.into(),
                found: describe_list(items),
                istio: format!(
                    "path {}: {pe} is not a valid value path element",
                    path.istio_string()
                ),
            });
        }
        // Go compiles the pattern for each element; a bad pattern matches nothing.
        if prep.value_matches(i, &go_sprint(Some(le))) {
            return Ok(idx);
        }
    }
    Err(Error::NoMatch {
        path: path.as_written().into(),
        segment: pe.into(),
        found: describe_list(items),
        istio: format!("path {}: element {pe} not found", path.istio_string()),
    })
}

/// Indices of every element a selector matches (Istio takes the first), for lint.
pub(crate) fn select_all(seg: &Segment, items: &[Value]) -> Vec<usize> {
    let pattern = seg.value_selector();
    let matcher = pattern.map(Matcher::new);
    items
        .iter()
        .enumerate()
        .filter(|(_, le)| match le {
            Value::Object(m) => seg
                .key_value()
                .is_some_and(|(k, v)| sprint_eq(map_get(m, k), v)),
            other => pattern
                .zip(matcher.as_ref())
                .is_some_and(|(p, re)| re.is_match(p, &go_sprint(Some(other)))),
        })
        .map(|(i, _)| i)
        .collect()
}

pub(crate) fn kind_of(v: &Value) -> Kind {
    match v {
        Value::Object(_) => Kind::Map,
        Value::Array(_) => Kind::List,
        Value::Null => Kind::Null,
        _ => Kind::Scalar,
    }
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::Null => "<nil>",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[interface {}]interface {}",
    }
}

/// A short description of a value for messages: `string "istiod"`, `a map with keys a, b`.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", short(s)),
        Value::Array(a) => describe_list(a),
        Value::Object(m) => {
            let keys: Vec<&str> = m.keys().map(String::as_str).take(6).collect();
            let more = if m.len() > 6 { ", …" } else { "" };
            format!("a map with keys {}{more}", keys.join(", "))
        }
    }
}

fn short(s: &str) -> String {
    let cut: String = s.chars().take(60).collect();
    if cut.len() < s.len() {
        format!("{:?}…", cut)
    } else {
        format!("{s:?}")
    }
}

/// `a list of 3 maps (name: a, b, c)`, `a list of 7 strings ("discovery", …)`, `an empty list`.
pub(crate) fn describe_list(items: &[Value]) -> String {
    if items.is_empty() {
        return "an empty list".into();
    }
    let n = items.len();
    if items.iter().all(Value::is_object) {
        let names: Vec<String> = items
            .iter()
            .map(|m| {
                m.get("name")
                    .map_or_else(|| "?".to_owned(), |v| go_sprint(Some(v)).into_owned())
            })
            .collect();
        if items.iter().any(|m| m.get("name").is_some()) {
            return format!("a list of {n} maps (name: {})", names.join(", "));
        }
        let keys: Vec<&str> = items[0]
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        return format!(
            "a list of {n} maps (the first has keys {})",
            keys.join(", ")
        );
    }
    let shown: Vec<String> = items
        .iter()
        .take(8)
        .map(|v| short(&go_sprint(Some(v))))
        .collect();
    let more = if n > 8 { ", …" } else { "" };
    let what = if items.iter().all(Value::is_string) {
        "strings"
    } else {
        "items"
    };
    format!("a list of {n} {what} ({}{more})", shown.join(", "))
}

/// Executes Istio's `WritePathContext` on a resolved path.
struct Writer<'a, 'o> {
    patcher: &'a mut Patcher,
    root: &'a mut Value,
    /// The path's prepared form (marks keep it); `path` is its tree path.
    prep: &'a Rc<Prepared>,
    path: &'a TreePath,
    levels: &'a [Level],
    ops: Option<&'o mut Vec<PatchOperation>>,
}

/// The text of segment `i` of `path`.
fn seg_text(path: &TreePath, i: usize) -> &str {
    path.segments().get(i).map_or("", Segment::as_str)
}

/// Writes `value` at key `key` of `m`: in place when the key exists (keeping its position, as
/// `insert` does), else appended. Returns whether the key existed.
fn put(m: &mut Map<String, Value>, key: &str, value: Value) -> bool {
    match map_get_mut(m, key) {
        Some(slot) => {
            *slot = value;
            true
        }
        None => {
            m.insert(key.to_owned(), value);
            false
        }
    }
}

impl<'a> Writer<'a, '_> {
    fn seg(&self, level: usize) -> &'a str {
        let path: &'a TreePath = self.path;
        match self.levels[level].hop {
            Hop::Key(i) => seg_text(path, i),
            Hop::Idx(_) | Hop::Root => seg_text(path, level.wrapping_sub(1)),
        }
    }

    fn internal(&self, detail: &'static str) -> Error {
        Error::Internal {
            path: self.path.as_written().into(),
            detail,
        }
    }

    /// Absolute position of a level, as steps.
    fn steps(&self, upto: usize) -> Pos<'a> {
        let levels: &'a [Level] = self.levels;
        Pos {
            path: self.path,
            levels: levels.get(1..=upto).unwrap_or(&[]),
            extra: None,
        }
    }

    fn pointer(steps: Pos<'_>) -> PointerBuf {
        let mut p = PointerBuf::new();
        for s in steps.iter() {
            match s {
                StepRef::Key(k, _) => p.push_back(String::from_utf8_lossy(k).as_ref()),
                StepRef::Idx(i) => p.push_back(i),
            }
        }
        p
    }

    fn op_add(&mut self, steps: Pos<'_>, value: &Value) {
        if let Some(ops) = self.ops.as_deref_mut() {
            ops.push(PatchOperation::Add(AddOperation {
                path: Self::pointer(steps),
                value: value.clone(),
            }));
        }
    }

    fn op_replace(&mut self, steps: Pos<'_>, value: &Value) {
        if let Some(ops) = self.ops.as_deref_mut() {
            ops.push(PatchOperation::Replace(ReplaceOperation {
                path: Self::pointer(steps),
                value: value.clone(),
            }));
        }
    }

    fn op_remove(&mut self, steps: Pos<'_>) {
        if let Some(ops) = self.ops.as_deref_mut() {
            ops.push(PatchOperation::Remove(RemoveOperation {
                path: Self::pointer(steps),
            }));
        }
    }

    /// A list Istio reached through a map key (Go `*interface{}`): the only lists it can change.
    fn writable_list(&self, level: usize) -> bool {
        let l = self.levels[level];
        l.kind == Kind::List && matches!(l.hop, Hop::Key(_)) && l.state != State::NilList
    }

    fn list_not_in_map(&self, child: usize) -> Error {
        let holder = if self.levels[child - 1].state == State::NilList {
            "a list Istio makes up for a null value (and never stores)".to_owned()
        } else {
            "a list held directly by another list".to_owned()
        };
        Error::ListNotInMap {
            path: self.path.as_written().into(),
            segment: self.seg(child).into(),
            found: holder,
            istio: "don't know about type []interface {}".into(),
        }
    }

    fn clear_marks(&mut self, steps: Pos<'_>) {
        self.patcher.marks.clear_under(steps);
    }

    fn mark(&mut self, steps: Pos<'_>) {
        self.patcher.marks.mark(steps, self.prep);
    }

    /// After removing element `idx` of the list at `list`, shift marks below it.
    fn shift_marks(&mut self, list: Pos<'_>, idx: usize) {
        self.patcher.marks.shift(list, idx);
    }

    fn first_virtual(&self) -> usize {
        self.levels
            .iter()
            .position(|l| l.state != State::Existing)
            .unwrap_or(self.levels.len())
    }

    fn initial_local(l: &Level) -> Value {
        match l.kind {
            Kind::List => Value::Array(Vec::new()),
            _ => Value::Object(Map::new()),
        }
    }

    /// The containers Istio makes up for levels `a..n`, in the patcher's buffer.
    fn locals(&mut self, a: usize, n: usize) -> Vec<Value> {
        if a >= n {
            // Every container on the path is in the object (the usual case).
            return Vec::new();
        }
        let mut locals = std::mem::take(&mut self.patcher.locals);
        locals.clear();
        locals.extend(
            self.levels
                .get(a..n)
                .unwrap_or(&[])
                .iter()
                .map(Self::initial_local),
        );
        locals
    }

    /// Returns the buffer of [`Writer::locals`] to the patcher (emptied).
    fn give_back(&mut self, mut locals: Vec<Value>) {
        if locals.capacity() > 0 {
            locals.clear();
            self.patcher.locals = locals;
        }
    }

    /// Istio's `setPathContext`: write the leaf, then every ancestor into its parent.
    /// `vv` is typed already; `from_string` tells whether it was a `key: value` string and
    /// `has_map` whether it holds a map.
    fn set(&mut self, vv: Value, from_string: bool, has_map: bool) -> Result<()> {
        let n = self.levels.len() - 1;
        if n == 0 {
            // Istio: setValueContext on the root does nothing.
            return Ok(());
        }
        let path: &'a TreePath = self.path;
        let a = self.first_virtual();
        let mut locals = self.locals(a, n);
        // The written value, kept for the RFC 6902 operations only when they are wanted.
        let op_val = if self.ops.is_some() {
            vv.clone()
        } else {
            Value::Null
        };
        let p = n - 1;
        let parent = self.levels[p];
        let leaf = self.levels[n];
        let leaf_steps = self.steps(n);
        let parent_real = p < a;
        // Marks to add if the written node ends up in the object: (level of the container, steps).
        let mut pending: Option<(usize, Pos<'a>)> = None;
        let mut process_parent = true;

        match parent.kind {
            Kind::List => {
                if !self.writable_list(p) {
                    return Err(self.list_not_in_map(n));
                }
                let Hop::Idx(idx) = leaf.hop else {
                    return Err(self.internal("list child without index"));
                };
                let list = if parent_real {
                    real_at(self.root, path, self.levels, p).ok_or_else(|| lost(path))?
                } else {
                    &mut locals[p - a]
                };
                let Value::Array(list) = list else {
                    return Err(self.internal("list expected"));
                };
                let append = idx >= list.len();
                if append {
                    list.push(vv);
                } else {
                    list[idx] = vv;
                }
                if parent_real {
                    self.clear_marks(leaf_steps);
                    if append {
                        self.op_add(leaf_steps, &op_val)
                    } else {
                        self.op_replace(leaf_steps, &op_val)
                    }
                }
                if has_map {
                    pending = Some((p, leaf_steps));
                }
            }
            Kind::Map => {
                let key = self.seg(n);
                let leaf_list = leaf.state == State::Existing && leaf.kind == Kind::List;
                let container = if parent_real {
                    real_at(self.root, path, self.levels, p).ok_or_else(|| lost(path))?
                } else {
                    &mut locals[p - a]
                };
                let Value::Object(obj) = container else {
                    return Err(self.internal("map expected"));
                };
                if parent.inserted && leaf_list && !from_string {
                    // A Go map[string]interface{} holding a list: Istio appends the value.
                    let Some(Value::Array(list)) = map_get_mut(obj, key) else {
                        return Err(self.internal("list expected"));
                    };
                    let idx = list.len();
                    list.push(vv);
                    let s = leaf_steps.with(StepRef::Idx(idx));
                    if parent_real {
                        self.op_add(s, &op_val);
                    }
                    if has_map {
                        pending = Some((p, s));
                    }
                } else if parent.inserted && from_string {
                    // Istio deletes the key and inserts the map's (first) root key instead, and
                    // stops: the parents are not written back.
                    let existed = obj.shift_remove(key).is_some() && leaf.state == State::Existing;
                    let (rk, rv) = match &vv {
                        Value::Object(m) => m
                            .iter()
                            .next()
                            .map_or((String::new(), Value::Null), |(k, v)| {
                                (k.clone(), v.clone())
                            }),
                        _ => (String::new(), Value::Null),
                    };
                    let replaced = obj.insert(rk.clone(), rv.clone()).is_some();
                    process_parent = false;
                    if parent_real {
                        if existed {
                            self.clear_marks(leaf_steps);
                            self.op_remove(leaf_steps);
                        }
                        let s = self.steps(p).with(StepRef::key(&rk));
                        if replaced {
                            self.op_replace(s, &rv)
                        } else {
                            self.op_add(s, &rv)
                        }
                    }
                } else {
                    let replaced = put(obj, key, vv) && leaf.state == State::Existing;
                    if parent_real {
                        self.clear_marks(leaf_steps);
                        if replaced {
                            self.op_replace(leaf_steps, &op_val)
                        } else {
                            self.op_add(leaf_steps, &op_val)
                        }
                    }
                    if has_map {
                        pending = Some((p, leaf_steps));
                    }
                }
            }
            Kind::Scalar | Kind::Null => return Err(self.internal("container expected")),
        }

        // Ancestors written back into their parents (setPathContext recursion).
        // Levels >= reached_from were written back.
        let mut reached_from = n;
        let mut error = None;
        if process_parent {
            for l in (1..n).rev() {
                if self.levels[l - 1].kind == Kind::List && !self.writable_list(l - 1) {
                    error = Some(self.list_not_in_map(l));
                    break;
                }
                reached_from = l;
            }
        }
        self.fold(&mut locals, a, n, reached_from, pending)?;
        self.give_back(locals);
        error.map_or(Ok(()), Err)
    }

    /// Attaches the nodes Istio made up (created keys always; appended elements and replaced
    /// nulls when the write-back reached them) and records marks and operations.
    fn fold(
        &mut self,
        locals: &mut [Value],
        a: usize,
        n: usize,
        reached_from: usize,
        pending: Option<(usize, Pos<'_>)>,
    ) -> Result<()> {
        if a >= n {
            // Every container on the path is in the object: nothing to attach.
            if let Some((_, steps)) = pending {
                self.mark(steps);
            }
            return Ok(());
        }
        let path: &'a TreePath = self.path;
        // `attached` then `visible`, for each level below `n`, in the patcher's buffer.
        let mut flags = std::mem::take(&mut self.patcher.flags);
        flags.clear();
        flags.resize(2 * n, false);
        let (attached, visible) = flags.split_at_mut(n);
        for l in (a..n).rev() {
            let st = self.levels[l].state;
            attached[l] = matches!(st, State::Created { .. })
                || (matches!(st, State::Fresh | State::NilMap | State::NilList)
                    && l >= reached_from);
            if !attached[l] {
                continue;
            }
            let node = std::mem::take(&mut locals[l - a]);
            if l > a {
                let parent = &mut locals[l - 1 - a];
                match (self.levels[l].hop, parent) {
                    (Hop::Key(i), Value::Object(m)) => {
                        m.insert(seg_text(path, i).to_owned(), node);
                    }
                    (Hop::Idx(i), Value::Array(v)) => {
                        if i >= v.len() {
                            v.push(node)
                        } else {
                            v[i] = node
                        }
                    }
                    _ => return Err(self.internal("bad local parent")),
                }
            } else {
                let hop = self.levels[l].hop;
                // A copy for the RFC 6902 operation, only when operations are wanted.
                let op_node = self.ops.is_some().then(|| node.clone());
                let container =
                    real_at(self.root, path, self.levels, l - 1).ok_or_else(|| lost(path))?;
                let replaced = match (hop, container) {
                    (Hop::Key(i), Value::Object(m)) => put(m, seg_text(path, i), node),
                    (Hop::Idx(i), Value::Array(v)) => {
                        if i >= v.len() {
                            v.push(node);
                            false
                        } else {
                            v[i] = node;
                            true
                        }
                    }
                    _ => return Err(self.internal("bad parent")),
                };
                if !self.patcher.marks.is_empty() || op_node.is_some() {
                    let steps = self.steps(l);
                    self.clear_marks(steps);
                    if let Some(node) = &op_node {
                        if replaced {
                            self.op_replace(steps, node)
                        } else {
                            self.op_add(steps, node)
                        }
                    }
                }
            }
        }
        // Visibility of local containers, top-down.
        for l in a..n {
            visible[l] = attached[l] && (l == a || visible[l - 1]);
        }
        for (l, level) in self.levels.iter().enumerate().take(n).skip(a) {
            if visible[l] && matches!(level.state, State::Fresh | State::NilMap) {
                let s = self.steps(l);
                self.mark(s);
            }
        }
        if let Some((container, steps)) = pending
            && (container < a || visible[container])
        {
            self.mark(steps);
        }
        self.patcher.flags = flags;
        Ok(())
    }

    /// Istio's `WritePathContext` with a nil value.
    fn delete(&mut self) -> Result<()> {
        let n = self.levels.len() - 1;
        if n == 0 {
            return Err(Error::DeleteRoot {
                path: self.path.as_written().into(),
            });
        }
        let path: &'a TreePath = self.path;
        let a = self.first_virtual();
        let mut locals = self.locals(a, n);
        let p = n - 1;
        let parent = self.levels[p];
        let leaf = self.levels[n];
        match parent.kind {
            Kind::List => {
                if !self.writable_list(p) {
                    return Err(Error::ListNotInMap {
                        path: path.as_written().into(),
                        segment: self.seg(n).into(),
                        found: "a list not held by a map key".into(),
                        istio: "deleteFromSlicePtr parent type is []interface {}, must be *[]interface{}".into(),
                    });
                }
                let Hop::Idx(idx) = leaf.hop else {
                    return Err(self.internal("list child without index"));
                };
                if leaf.state == State::Fresh || p >= a {
                    return Err(Error::DeleteBeyondEnd {
                        path: path.as_written().into(),
                        segment: self.seg(n).into(),
                        len: idx,
                    });
                }
                let Value::Array(list) =
                    real_at(self.root, path, self.levels, p).ok_or_else(|| lost(path))?
                else {
                    return Err(self.internal("list expected"));
                };
                list.remove(idx);
                if !self.patcher.marks.is_empty() {
                    self.shift_marks(self.steps(p), idx);
                }
                if self.ops.is_some() {
                    self.op_remove(self.steps(n));
                }
            }
            Kind::Map => {
                let key = self.seg(n);
                if p < a {
                    let Value::Object(obj) =
                        real_at(self.root, path, self.levels, p).ok_or_else(|| lost(path))?
                    else {
                        return Err(self.internal("map expected"));
                    };
                    if obj.shift_remove(key).is_some()
                        && leaf.state == State::Existing
                        && (self.ops.is_some() || !self.patcher.marks.is_empty())
                    {
                        let s = self.steps(n);
                        self.clear_marks(s);
                        self.op_remove(s);
                    }
                } else if let Value::Object(obj) = &mut locals[p - a] {
                    obj.shift_remove(key);
                }
            }
            Kind::Scalar | Kind::Null => return Err(self.internal("container expected")),
        }
        self.fold(&mut locals, a, n, n, None)?;
        self.give_back(locals);
        Ok(())
    }
}

fn lost(path: &TreePath) -> Error {
    Error::Internal {
        path: path.as_written().into(),
        detail: "lost node",
    }
}

/// The node at `levels[..=upto]` in the object (those levels exist).
fn real_at<'r>(
    root: &'r mut Value,
    path: &TreePath,
    levels: &[Level],
    upto: usize,
) -> Option<&'r mut Value> {
    let mut cur = root;
    for l in levels.get(1..=upto)? {
        cur = match (l.hop, cur) {
            (Hop::Key(i), Value::Object(m)) => map_at_mut(m, l.pos, seg_text(path, i))?,
            (Hop::Idx(i), Value::Array(a)) => a.get_mut(i)?,
            _ => return None,
        };
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(path: &str, later: &str) -> bool {
        may_reach_under(&TreePath::parse(path), &TreePath::parse(later))
    }

    #[test]
    fn a_later_patch_reaches_under_only_through_the_same_keys() {
        let env = "spec.containers.[name:app].env[-1]";
        // The same node, or under it: selectors and indices may lead to any element.
        assert!(reach(env, env));
        assert!(reach(env, "spec.containers.[name:app].env[3].value"));
        assert!(reach(env, "spec.containers.[0].env.[name:D]"));
        // A key, or a selector text, where the map's key was: a map is looked up by the text.
        assert!(!reach(env, "spec.containers.[name:app].ports[0].name"));
        assert!(!reach(env, "metadata.containers.[name:app].env[0]"));
        assert!(!reach("spec.template", "spec.[template]"));
        // Shorter: at most an ancestor, whose replacement drops the mark anyway.
        assert!(!reach(env, "spec.containers.[name:app]"));
        // A bracketed segment met as a map key: still compared as text.
        assert!(reach("a.[b]", "a.[c].d"));
    }

    fn reusable(prev: &str, next: &str) -> usize {
        reusable_walk(&TreePath::parse(prev), &TreePath::parse(next))
    }

    #[test]
    fn a_walk_is_followed_again_only_above_both_writes_and_through_unchanged_selectors() {
        let c = "spec.containers.[name:app]";
        // The shared segments above both last ones.
        assert_eq!(
            reusable(&format!("{c}.args[-1]"), &format!("{c}.args.[--log]")),
            4
        );
        assert_eq!(
            reusable(&format!("{c}.args[-1]"), &format!("{c}.env[-1]")),
            3
        );
        assert_eq!(reusable("spec.replicas", "spec.template.spec"), 1);
        assert_eq!(reusable("spec", "spec.template"), 0);
        assert_eq!(reusable(&format!("{c}.args"), c), 2);
        assert_eq!(reusable("metadata.name", "spec.replicas"), 0);
        // A write under the field the selector compares may change its answer.
        assert_eq!(reusable(&format!("{c}.name"), &format!("{c}.args[-1]")), 2);
        assert_eq!(
            reusable(&format!("{c}.name.x"), &format!("{c}.args[-1]")),
            2
        );
        // A value selector's element is not entered again; an index is.
        assert_eq!(reusable("a.[x].b.c", "a.[x].b.d"), 1);
        assert_eq!(reusable("a.[:x].b.c", "a.[:x].b.d"), 1);
        assert_eq!(reusable("a.[0].name.c", "a.[0].name.d"), 3);
    }
}
