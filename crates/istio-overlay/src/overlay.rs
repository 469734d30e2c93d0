//! The overlay types: `{apiVersion, kind, name, patches: [{path, value}]}`, as Istio's
//! `K8sObjectOverlay` and TSB's `kubeSpec.overlays` carry them.

use serde::{Deserialize, Serialize};

/// One overlay: the object it targets (by kind and name, namespace optional) and the patches
/// applied to it, in order.
///
/// `apiVersion` is carried for the reader but, as in Istio, not used to match objects.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct K8sObjectOverlay {
    /// API version of the target object (informational; Istio ignores it when matching).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Kind of the target object, e.g. `Deployment`.
    #[serde(default)]
    pub kind: String,
    /// Name of the target object, e.g. `istiod`.
    #[serde(default)]
    pub name: String,
    /// Namespace of the target object; when absent any namespace matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Patches applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Patch>,
}

/// One tree-path patch: set `path` to `value`, or delete it when `value` is absent or null.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Patch {
    /// Istio tree path, e.g. `spec.template.spec.containers.[name:discovery].args[-1]`.
    pub path: String,
    /// The new value; `None` (absent or `null`) deletes the node at `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

use std::rc::Rc;

use serde_json::Value;

use crate::error::{Error, Errors, Result};
use crate::matching::Matches;
use crate::patch::{Later, Patcher, may_reach_under, reusable_walk};
use crate::prepared::{Prepared, map_get, prepared};

impl K8sObjectOverlay {
    /// An overlay for the object of this kind and name.
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> K8sObjectOverlay {
        K8sObjectOverlay {
            kind: kind.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    /// Adds a patch (builder style).
    #[must_use]
    pub fn patch(
        mut self,
        path: impl Into<String>,
        value: impl Into<Option<Value>>,
    ) -> K8sObjectOverlay {
        self.patches.push(Patch {
            path: path.into(),
            value: value.into(),
        });
        self
    }

    /// The target as people say it: `Deployment istiod` or `Deployment istio-system/istiod`.
    pub fn target(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    /// Whether this overlay applies to `object`: same kind and name, and, when the overlay
    /// names a namespace, an object in that namespace or a cluster-scoped one (as Istio matches
    /// the component namespace or none). `apiVersion` is ignored, as in Istio.
    pub fn matches(&self, object: &Value) -> bool {
        self.matches_id(object_id(object))
    }

    /// [`K8sObjectOverlay::matches`] on an [`object_id`].
    pub(crate) fn matches_id(&self, (kind, ns, name): (&str, &str, &str)) -> bool {
        kind == self.kind
            && name == self.name
            && self
                .namespace
                .as_deref()
                .is_none_or(|want| ns.is_empty() || ns == want)
    }

    /// Reads overlays from a YAML/JSON value: a list of overlays, a map with an `overlays`
    /// list (Istio's `k8s` block), or a TSB `ControlPlane` (its
    /// `spec.components.istio.kubeSpec.overlays`).
    pub fn list_from_value(what: &str, v: &Value) -> Result<Vec<K8sObjectOverlay>> {
        let list = if v.is_array() {
            v
        } else if let Some(o) = v.get("overlays") {
            o
        } else if v.get("kind").and_then(Value::as_str) == Some("ControlPlane") {
            v.pointer("/spec/components/istio/kubeSpec/overlays")
                .unwrap_or(&Value::Null)
        } else {
            v
        };
        if list.is_null() {
            return Ok(Vec::new());
        }
        serde_json::from_value(list.clone()).map_err(|source| Error::InvalidOverlays {
            what: what.into(),
            source,
        })
    }
}

impl Patch {
    /// A patch setting `path` to `value`.
    pub fn set(path: impl Into<String>, value: Value) -> Patch {
        Patch {
            path: path.into(),
            value: Some(value),
        }
    }

    /// A patch deleting `path`.
    pub fn delete(path: impl Into<String>) -> Patch {
        Patch {
            path: path.into(),
            value: None,
        }
    }
}

/// `(kind, namespace, name)` of a manifest, empty strings when absent.
pub fn object_id(object: &Value) -> (&str, &str, &str) {
    fn s(v: Option<&Value>) -> &str {
        v.and_then(Value::as_str).unwrap_or("")
    }
    // `get` chains rather than `pointer`, which parses (and allocates for) its path each time.
    fn field<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
        match v {
            Value::Object(m) => map_get(m, key),
            _ => None,
        }
    }
    let metadata = field(object, "metadata");
    (
        s(field(object, "kind")),
        s(metadata.and_then(|m| field(m, "namespace"))),
        s(metadata.and_then(|m| field(m, "name"))),
    )
}

/// `Kind namespace/name` (or `Kind name` when cluster-scoped), for messages.
pub fn object_label(object: &Value) -> String {
    match object_id(object) {
        (k, "", n) => format!("{k} {n}"),
        (k, ns, n) => format!("{k} {ns}/{n}"),
    }
}

/// Applies overlays to manifests as Istio's `patch.YAMLManifestPatch` does, and returns every
/// error (Istio's operator fails the render on any of them).
///
/// - Each overlay must match exactly one object (kind, name, and namespace when given);
///   otherwise the error lists the objects available (or matched).
/// - An overlay's patches run in order; a failing patch does not stop the later ones.
/// - As in Istio, every overlay matching an object is applied to the object *as rendered*, and
///   the last one's result is kept: two overlays for one object do not add up (lint flags it).
///
/// Each patch value is copied into the object; [`apply_overlays_moving`] moves them instead.
pub fn apply_overlays(
    manifests: &mut [Value],
    overlays: &[K8sObjectOverlay],
) -> Result<(), Errors> {
    apply_overlays_at(manifests, overlays, "overlays")
}

/// [`apply_overlays`] moving each patch value into the object it patches instead of copying it
/// (as Istio's own loop inserts its decoded values): every patch of an overlay that matched is
/// left with `value: None`. A value is copied only for an overlay that matches several objects
/// (moved on the last). The results and errors are those of [`apply_overlays`].
///
/// ```
/// use istio_overlay::{K8sObjectOverlay, apply_overlays_moving};
/// use serde_json::json;
///
/// let mut manifests = vec![json!({
///     "kind": "Deployment", "metadata": {"name": "istiod"},
///     "spec": {"template": {"spec": {"containers": [{"name": "discovery", "args": ["a"]}]}}}
/// })];
/// let mut overlays = vec![K8sObjectOverlay::new("Deployment", "istiod")
///     .patch("spec.template.spec.containers.[name:discovery].args[-1]", json!("b"))];
/// apply_overlays_moving(&mut manifests, &mut overlays)?;
/// assert_eq!(
///     manifests[0]["spec"]["template"]["spec"]["containers"][0]["args"],
///     json!(["a", "b"])
/// );
/// assert_eq!(overlays[0].patches[0].value, None);
/// # Ok::<(), istio_overlay::Errors>(())
/// ```
pub fn apply_overlays_moving(
    manifests: &mut [Value],
    overlays: &mut [K8sObjectOverlay],
) -> Result<(), Errors> {
    apply_with(manifests, Source::Moving(overlays), "overlays")
}

pub(crate) fn apply_overlays_at(
    manifests: &mut [Value],
    overlays: &[K8sObjectOverlay],
    prefix: &str,
) -> Result<(), Errors> {
    apply_with(manifests, Source::Borrowed(overlays), prefix)
}

/// [`apply_overlays_moving`] with the prefix of the overlays' location in messages.
pub(crate) fn apply_overlays_moving_at(
    manifests: &mut [Value],
    overlays: &mut [K8sObjectOverlay],
    prefix: &str,
) -> Result<(), Errors> {
    apply_with(manifests, Source::Moving(overlays), prefix)
}

/// Where patch values come from: copied from the overlays, or moved out of them.
enum Source<'o> {
    Borrowed(&'o [K8sObjectOverlay]),
    Moving(&'o mut [K8sObjectOverlay]),
}

impl Source<'_> {
    fn overlays(&self) -> &[K8sObjectOverlay] {
        match self {
            Source::Borrowed(o) => o,
            Source::Moving(o) => o,
        }
    }

    /// The value of patch `pi` of overlay `vi`, moved out when `last` (its last use) and the
    /// values are moved.
    fn value(&mut self, vi: usize, pi: usize, last: bool) -> Option<Value> {
        match self {
            Source::Borrowed(o) => o.get(vi)?.patches.get(pi)?.value.clone(),
            Source::Moving(o) => {
                let v = &mut o.get_mut(vi)?.patches.get_mut(pi)?.value;
                if last { v.take() } else { v.clone() }
            }
        }
    }
}

fn apply_with(manifests: &mut [Value], mut source: Source<'_>, prefix: &str) -> Result<(), Errors> {
    let mut errors = Vec::new();
    let mut m = Matches::find(manifests, source.overlays());
    // One patcher, reset for each object (its buffers are reused).
    let mut patcher = Patcher::new();
    // The prepared path of the previous overlay's patch at each position: overlays for many
    // objects repeat their paths, and comparing the text costs less than the cache's lookup.
    let mut recent: Vec<Rc<Prepared>> = Vec::new();
    // For each of those, whether a later patch may reach into what it writes, and how many of
    // its leading segments the previous patch's walk leads through (computed again only when
    // the paths change), and how many of them they were computed for.
    let mut reach: Vec<(Later, usize)> = Vec::new();
    let mut counted = usize::MAX;
    let mut apply = |vi: usize, target: &mut Value, errors: &mut Vec<Error>| {
        m.left[vi] -= 1;
        let last = m.left[vi] == 0;
        patcher.reset();
        // The prepared path of each patch first (then borrowed while the patches run).
        let count = source.overlays()[vi].patches.len();
        let mut changed = count != counted;
        for (pi, patch) in source.overlays()[vi].patches.iter().enumerate() {
            match recent.get_mut(pi) {
                Some(p) if p.path.as_written() == patch.path => {}
                Some(p) => {
                    *p = prepared(&patch.path);
                    changed = true;
                }
                None => {
                    recent.push(prepared(&patch.path));
                    changed = true;
                }
            }
        }
        if changed {
            // Whether a later patch of the overlay may reach into what each one writes.
            let paths = recent.get(..count).unwrap_or(&[]);
            reach.clear();
            reach.extend(paths.iter().enumerate().map(|(pi, p)| {
                let after = paths.get(pi + 1..).unwrap_or(&[]);
                let later = if after.iter().any(|q| may_reach_under(&p.path, &q.path)) {
                    Later::MayReach
                } else {
                    Later::CannotReach
                };
                let before = pi.checked_sub(1).and_then(|b| paths.get(b));
                (later, before.map_or(0, |b| reusable_walk(&b.path, &p.path)))
            }));
            counted = count;
        }
        for (pi, (prep, &(later, reuse))) in recent.iter().zip(&reach).enumerate().take(count) {
            let value = source.value(vi, pi, last);
            let overlay = &source.overlays()[vi];
            // The patcher, reset for this object, has patched only it since.
            if let Err(e) = patcher.apply_prepared(target, prep, value, None, later, reuse) {
                errors.push(Error::InOverlay {
                    overlay: format!("{prefix}[{vi}]"),
                    target: overlay.target(),
                    patch: pi,
                    source: Box::new(e),
                });
            }
        }
    };
    let mut rest = m.hits.as_slice();
    while let Some(&(oi, _)) = rest.first() {
        let end = rest
            .iter()
            .position(|&(o, _)| o != oi)
            .unwrap_or(rest.len());
        let (these, after) = rest.split_at(end);
        rest = after;
        let object = &mut manifests[oi];
        match these {
            [(_, vi)] => apply(*vi, object, &mut errors),
            several => {
                // Istio applies each overlay to the object as rendered and keeps the last.
                let mut last = None;
                for (_, vi) in several {
                    let mut patched = object.clone();
                    apply(*vi, &mut patched, &mut errors);
                    last = Some(patched);
                }
                if let Some(r) = last {
                    *object = r;
                }
            }
        }
    }
    let overlays = source.overlays();
    for (vi, overlay) in overlays.iter().enumerate() {
        match m.uses[vi] {
            1 => {}
            0 => errors.push(Error::OverlayMatchesNothing {
                overlay: format!("{prefix}[{vi}]"),
                target: overlay.target(),
                available: manifests.iter().map(object_label).collect(),
            }),
            _ => errors.push(Error::OverlayMatchesSeveral {
                overlay: format!("{prefix}[{vi}]"),
                target: overlay.target(),
                matches: m
                    .hits
                    .iter()
                    .filter(|&&(_, v)| v == vi)
                    .map(|&(oi, _)| object_label(&manifests[oi]))
                    .collect(),
            }),
        }
    }
    m.recycle();
    Errors(errors).into_result()
}
