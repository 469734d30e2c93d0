//! Which overlays match which objects: overlays indexed by kind and name, in buffers kept per
//! thread, so that matching thousands of overlays allocates nothing after the first call and
//! stays linear in the number of objects.

use std::cell::RefCell;
use std::hash::BuildHasher;

use serde_json::Value;

use crate::overlay::{K8sObjectOverlay, object_id};
use crate::prepared::FxBuild;

/// The matches of one call: every `(object, overlay)` pair, in object order (and overlay order
/// for one object), and how many objects each overlay matches.
#[derive(Debug, Default)]
pub(crate) struct Matches {
    /// `(object, overlay)` pairs.
    pub(crate) hits: Vec<(usize, usize)>,
    /// For each overlay, how many objects it matches.
    pub(crate) uses: Vec<usize>,
    /// For each overlay, how many of its objects are still to be patched (set to `uses`).
    pub(crate) left: Vec<usize>,
    /// Open-addressing table of the first overlay of each (kind, name): `(hash, overlay)`,
    /// `usize::MAX` when free.
    slots: Vec<(u64, usize)>,
    /// For each overlay, the next one with the same kind and name (`usize::MAX`: none).
    next: Vec<usize>,
    /// For the first overlay of each kind and name, the last one.
    tail: Vec<usize>,
}

thread_local! {
    static BUFFERS: RefCell<Matches> = RefCell::new(Matches::default());
}

impl Matches {
    /// The matches of `overlays` in `manifests` (each overlay matching as
    /// [`K8sObjectOverlay::matches`] says), in this thread's buffers; give them back with
    /// [`Matches::recycle`].
    pub(crate) fn find(manifests: &[Value], overlays: &[K8sObjectOverlay]) -> Matches {
        let mut m = BUFFERS.with(|b| b.take());
        m.fill(manifests, overlays);
        m
    }

    /// Keeps the buffers for the next call on this thread.
    pub(crate) fn recycle(self) {
        BUFFERS.with(|b| *b.borrow_mut() = self);
    }

    fn fill(&mut self, manifests: &[Value], overlays: &[K8sObjectOverlay]) {
        let n = overlays.len();
        let size = (2 * n).next_power_of_two().max(8);
        let mask = size - 1;
        self.hits.clear();
        self.uses.clear();
        self.uses.resize(n, 0);
        self.slots.clear();
        self.slots.resize(size, (0, usize::MAX));
        self.next.clear();
        self.next.resize(n, usize::MAX);
        self.tail.clear();
        self.tail.resize(n, usize::MAX);
        let same = |vi: usize, kind: &str, name: &str| {
            overlays
                .get(vi)
                .is_some_and(|o| o.kind == kind && o.name == name)
        };
        for (vi, o) in overlays.iter().enumerate() {
            let h = hash(&o.kind, &o.name);
            let mut i = slot_of(h, mask);
            loop {
                let (sh, head) = self.slots[i];
                if head == usize::MAX {
                    self.slots[i] = (h, vi);
                    self.tail[vi] = vi;
                    break;
                }
                if sh == h && same(head, &o.kind, &o.name) {
                    let last = self.tail[head];
                    self.next[last] = vi;
                    self.tail[head] = vi;
                    break;
                }
                i = (i + 1) & mask;
            }
        }
        for (oi, object) in manifests.iter().enumerate() {
            let id = object_id(object);
            let (kind, _, name) = id;
            let h = hash(kind, name);
            let mut i = slot_of(h, mask);
            let first = loop {
                let (sh, head) = self.slots[i];
                if head == usize::MAX {
                    break None;
                }
                if sh == h && same(head, kind, name) {
                    break Some(head);
                }
                i = (i + 1) & mask;
            };
            let mut vi = first.unwrap_or(usize::MAX);
            while let Some(o) = overlays.get(vi) {
                if o.matches_id(id) {
                    self.hits.push((oi, vi));
                    self.uses[vi] += 1;
                }
                vi = self.next[vi];
            }
        }
        self.left.clear();
        self.left.extend_from_slice(&self.uses);
    }
}

/// FxHash of a kind and a name.
fn hash(kind: &str, name: &str) -> u64 {
    FxBuild::default().hash_one((kind, name))
}

/// The first slot to probe for hash `h` in a table of `mask + 1` slots (the high bits: FxHash
/// mixes them best).
fn slot_of(h: u64, mask: usize) -> usize {
    // Truncation intended: only the bits under the mask count.
    #[allow(clippy::cast_possible_truncation)]
    let top = (h >> 32) as usize ^ (h as usize);
    top & mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_as_matches_says() {
        let objects = vec![
            json!({"kind": "Deployment", "metadata": {"name": "a", "namespace": "x"}}),
            json!({"kind": "Deployment", "metadata": {"name": "a", "namespace": "y"}}),
            json!({"kind": "Service", "metadata": {"name": "a"}}),
            json!({"kind": "Deployment", "metadata": {"name": "b"}}),
        ];
        let mut overlays: Vec<K8sObjectOverlay> = (0..40)
            .map(|i| K8sObjectOverlay::new("Deployment", format!("n{i}")))
            .collect();
        overlays.push(K8sObjectOverlay::new("Deployment", "a"));
        overlays.push(K8sObjectOverlay {
            namespace: Some("y".into()),
            ..K8sObjectOverlay::new("Deployment", "a")
        });
        overlays.push(K8sObjectOverlay::new("Service", "a"));
        overlays.push(K8sObjectOverlay::new("Deployment", "a"));
        for round in 0..2 {
            let m = Matches::find(&objects, &overlays);
            let want: Vec<(usize, usize)> = objects
                .iter()
                .enumerate()
                .flat_map(|(oi, o)| {
                    let overlays = &overlays;
                    (0..overlays.len())
                        .filter(move |vi| overlays[*vi].matches(o))
                        .map(move |vi| (oi, vi))
                })
                .collect();
            assert_eq!(m.hits, want, "round {round}");
            assert_eq!(m.uses[40], 2);
            assert_eq!(m.uses[41], 1);
            assert_eq!(m.uses[0], 0);
            assert_eq!(m.left, m.uses);
            m.recycle();
        }
    }
}
