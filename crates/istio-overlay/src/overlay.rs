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
