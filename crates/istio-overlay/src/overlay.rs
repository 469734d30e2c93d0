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

use std::collections::HashMap;

use serde_json::Value;

use crate::error::{Error, Errors, Result};
use crate::patch::Patcher;
use crate::prepared::map_get;

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
        let (kind, ns, name) = object_id(object);
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
pub fn apply_overlays(
    manifests: &mut [Value],
    overlays: &[K8sObjectOverlay],
) -> Result<(), Errors> {
    apply_overlays_at(manifests, overlays, "overlays")
}

pub(crate) fn apply_overlays_at(
    manifests: &mut [Value],
    overlays: &[K8sObjectOverlay],
    prefix: &str,
) -> Result<(), Errors> {
    let mut errors = Vec::new();
    let mut matches: Vec<Vec<usize>> = vec![Vec::new(); overlays.len()];
    // Overlays by (kind, name), in order: matching stays linear in the number of objects.
    let mut index: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (vi, o) in overlays.iter().enumerate() {
        index
            .entry((o.kind.as_str(), o.name.as_str()))
            .or_default()
            .push(vi);
    }
    // One patcher, reset for each object (its buffers are reused).
    let mut patcher = Patcher::new();
    for (oi, object) in manifests.iter_mut().enumerate() {
        let (kind, _, name) = object_id(object);
        let Some(candidates) = index.get(&(kind, name)) else {
            continue;
        };
        let hits: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|vi| overlays[*vi].matches(object))
            .collect();
        let mut apply = |vi: usize, target: &mut Value, errors: &mut Vec<Error>| {
            let overlay = &overlays[vi];
            patcher.reset();
            for (pi, patch) in overlay.patches.iter().enumerate() {
                if let Err(e) = patcher.apply(target, patch) {
                    errors.push(Error::InOverlay {
                        overlay: format!("{prefix}[{vi}]"),
                        target: overlay.target(),
                        patch: pi,
                        source: Box::new(e),
                    });
                }
            }
        };
        match hits.as_slice() {
            [] => {}
            [vi] => {
                matches[*vi].push(oi);
                apply(*vi, object, &mut errors);
            }
            several => {
                // Istio applies each overlay to the object as rendered and keeps the last.
                let mut last = None;
                for vi in several {
                    matches[*vi].push(oi);
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
    for (vi, overlay) in overlays.iter().enumerate() {
        match matches[vi].len() {
            1 => {}
            0 => errors.push(Error::OverlayMatchesNothing {
                overlay: format!("{prefix}[{vi}]"),
                target: overlay.target(),
                available: manifests.iter().map(object_label).collect(),
            }),
            _ => errors.push(Error::OverlayMatchesSeveral {
                overlay: format!("{prefix}[{vi}]"),
                target: overlay.target(),
                matches: matches[vi]
                    .iter()
                    .map(|i| object_label(&manifests[*i]))
                    .collect(),
            }),
        }
    }
    Errors(errors).into_result()
}
