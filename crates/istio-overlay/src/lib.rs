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
//! - [`apply_overlays`]: overlays onto manifests (Istio's `YAMLManifestPatch`);
//!   [`apply_overlays_moving`] moves the patch values into the manifests instead of copying them.
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
//! # Reading YAML (as kubectl and Istio read it)
//! Input files ([`parse_documents`], the CLI) and the strings Istio re-parses as YAML are read
//! with YAML 1.1 scalar resolution, as gopkg.in/yaml.v2's `resolve.go` does it (Istio's
//! re-parse; `sigs.k8s.io/yaml`, behind kubectl, uses the same code in `go.yaml.in/yaml/v2`).
//! Only plain scalars are resolved: quoted and block scalars, and `!!str`, are strings.
//!
//! | plain scalar | value |
//! | --- | --- |
//! | `y Y yes Yes YES true True TRUE on On ON` | `true` |
//! | `n N no No NO false False FALSE off Off OFF` | `false` |
//! | empty, `~ null Null NULL` | `null` |
//! | `0x1F`, `0o17`, `017`, `-017`, `0b101`, `+12` (Go `ParseInt(s, 0, 64)`) | integer |
//! | `1_000`, `1_0.5` (every `_` removed first) | 1000, 10.5 |
//! | `08`, `1e3`, `1.`, `.5`, `-.5` (yaml.v2's float pattern) | float |
//! | beyond int64: up to 2^64-1 unsigned, then float | number |
//! | `190:20:30` (no sexagesimal in yaml.v2), `2001-12-14` (timestamps stay text for `interface{}`), `yES`, `0x` | string |
//! | `.inf`, `.nan` (floats to yaml.v2, which JSON cannot hold) | string |
//!
//! Map keys are resolved too and written as `sigs.k8s.io/yaml` writes JSON keys (`on: 1` is
//! `{"true": 1}`). [`parse_documents_with`] and the CLI's `--yaml 1.2` read YAML 1.2 instead;
//! [`lint_yaml`] warns at each plain scalar the two read differently. Output
//! ([`to_yaml_documents`]) quotes every string either reading could take for something else.
//!
//! Known differences: regular expressions run on Rust's `regex` (RE2 syntax like Go, but
//! `\d`, `\w` are Unicode-aware); `.inf`/`.nan` are read as strings (kubectl fails on them);
//! where Istio picks a random root key of a multi-key string map, the first one is taken; where
//! Istio panics, an error is returned.
#![forbid(unsafe_code)]

mod documents;
mod emit;
mod error;
mod lint;
mod matching;
mod nested;
mod overlay;
mod patch;
mod path;
mod prepared;
mod value;
mod yaml;

pub use documents::{parse_document, parse_document_with, parse_documents, to_yaml_documents};
pub use emit::to_yaml;
pub use error::{Error, Errors, Result};
pub use json_patch;
pub use lint::{Finding, Rewrite, Severity, lint, lint_yaml};
pub use nested::{COMPONENTS, ComponentOverlays, apply_nested, component_overlays};
pub use overlay::{
    K8sObjectOverlay, Patch, apply_overlays, apply_overlays_moving, object_id, object_label,
};
pub use patch::{
    Explained, Patcher, apply_patch, apply_patches, apply_patches_keep_going, explain,
};
pub use path::{Segment, SegmentKind, TreePath};
pub use value::{string_to_map, structpb_value};
pub use yaml::{
    Ambiguous, YamlVersion, ambiguous_scalars, parse_documents_with, resolve_plain_1_1,
    resolve_plain_1_2,
};
