//! Istio's k8s overlay engine, exact, with `explain` and `lint`.
//!
//! ```no_run
//! use istio_overlay::{apply_overlays, lint, parse_documents, K8sObjectOverlay};
//! use serde_json::json;
//!
//! let text = std::fs::read_to_string("pilot_default.golden.yaml")?;
//! let mut manifests = parse_documents("manifests", &text)?;
//! let overlays = vec![K8sObjectOverlay::new("Deployment", "istiod")
//!     .patch("spec.template.spec.containers.[name:discovery].args[-1]",
//!            json!("--tlsCertFile=/etc/cert-manager/tls/tls.crt"))
//!     .patch("spec.template.spec.volumes[-1]",
//!            json!({"name": "cert-manager", "secret": {"secretName": "istiod-tls"}}))];
//! assert!(lint(&overlays, Some(&manifests)).is_empty());
//! apply_overlays(&mut manifests, &overlays)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it does
//! - [`apply_patch`], [`apply_patches`] (fail-fast), [`apply_patches_keep_going`] and
//!   [`Patcher`]: tree-path patches on one object, exactly as Istio's operator applies them
//!   (`operator/pkg/tpath`, `operator/pkg/patch`, `operator/pkg/util/path.go`, 1.12 to 1.23).
//! - [`apply_overlays`]: overlays onto manifests (Istio's `YAMLManifestPatch`).
//! - [`apply_nested`]: a ControlPlane's overlays onto an IstioOperator, then that operator's
//!   `spec.components.*.k8s.overlays` onto the rendered manifests.
//! - [`explain`]: each patch as the RFC 6902 operations (`json_patch`) it amounts to.
//! - [`lint`]: fragile overlays found before they bite, each with a robust rewrite.
//!
//! # Grammar (as Istio reads it)
//! - The path is cleaned with Go's `filepath.Clean` (`a/b/../c` is `a/c`), one leading and one
//!   trailing `.` are trimmed, it is split on dots not preceded by `\`, empty segments (doubled
//!   dots) are dropped, and `\.` becomes `.`. `node[x]` is split into `node` and `[x]`, so
//!   `node[x]` and `node.[x]` are the same. A dot inside a selector must be escaped too.
//! - On a **map** every segment is a literal key (even `[0]` or `[name:x]`).
//! - On a **list**: `[N]` with N >= -1 is an index; `[-1]` and any N >= length append
//!   exactly once, at the end, without padding. Otherwise, for each element in order: a map
//!   element is compared with `[key:value]` (the field printed as Go prints it, so
//!   `[port:15010]` matches a number; a missing field prints `<nil>`), and any other segment
//!   is an error; a scalar element is matched by `[value]` or `[:value]`, an *unanchored* Go
//!   regular expression (`[:v2]` matches `v2` and `xv22`). The first match wins; no match is an
//!   error. `[N < -1]` is a regex, not an index. `:` in a selector can be escaped as `\:` but
//!   the backslash stays in the compared value (as in Istio).
//!
//! # Writing (as Istio writes)
//! - A missing map key is created as a map, even before an index segment
//!   (`spec.tolerations[0]` with no `tolerations` creates `tolerations: {"[0]": …}`): in a map
//!   inserted by an earlier patch of the same overlay it is a list instead.
//! - An existing node is replaced, never merged; an absent or null value deletes; selectors
//!   never create an element; a `null` node on the way is replaced by a map.
//! - Values are typed as Istio's `structpb` types them: numbers are floats (integral ones
//!   below 1e6 stay integers in the output, others become floats), and a string holding
//!   `key: value` YAML (one line with `": "`, or several lines with `:`) becomes that map,
//!   unless it is a JSON object.
//! - Inside maps inserted by an earlier patch (Go `map[string]interface{}`), writing a scalar or
//!   map to a list *appends* to it, and a `key: value` string replaces the key by its root key.
//! - Istio cannot change a list held directly by another list; deleting an index past the end
//!   crashes Istio's operator (here: [`Error::DeleteBeyondEnd`]).
//! - Overlays match objects by kind and name (and namespace when given, or cluster-scoped),
//!   ignoring apiVersion; an overlay matching no object or several is an error listing the
//!   objects. Each matching overlay is applied to the object as rendered and the last result
//!   kept, so two overlays for one object do not add up ([`lint`] flags it).
//!
//! Known differences: regular expressions run on Rust's `regex` (RE2 syntax like Go, but
//! `\d`, `\w` are Unicode-aware); YAML is parsed as YAML 1.2 (`on`/`yes` stay strings, yaml.v2
//! reads them as booleans); where Istio picks a random root key of a multi-key string map, the
//! first one is taken; where Istio panics, an error is returned.
#![forbid(unsafe_code)]

mod documents;
mod error;
mod lint;
mod nested;
mod overlay;
mod patch;
mod path;
mod prepared;
mod value;
mod yaml;

pub use documents::{parse_document, parse_document_with, parse_documents, to_yaml_documents};
pub use error::{Error, Errors, Result};
pub use json_patch;
pub use lint::{Finding, Rewrite, Severity, lint, lint_yaml};
pub use nested::{COMPONENTS, ComponentOverlays, apply_nested, component_overlays};
pub use overlay::{K8sObjectOverlay, Patch, apply_overlays, object_id, object_label};
pub use patch::{
    Explained, Patcher, apply_patch, apply_patches, apply_patches_keep_going, explain,
};
pub use path::{Segment, SegmentKind, TreePath};
pub use value::{string_to_map, structpb_value};
pub use yaml::{
    Ambiguous, YamlVersion, ambiguous_scalars, parse_documents_with, resolve_plain_1_1,
    resolve_plain_1_2,
};
