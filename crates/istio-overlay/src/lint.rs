//! `lint`: fragile overlays found before they bite, each finding with a robust rewrite.
//!
//! Without manifests the checks are about the overlays alone (any numeric index that is
//! written through is fragile, strings that Istio turns into maps, numbers it turns into
//! floats, selectors split by an unescaped dot, overlays sharing a target). With manifests each
//! patch is resolved against its target object, as it stands after the earlier patches, so a
//! finding says exactly which element an index overwrites, how many elements a selector
//! matches, and which overlays match nothing.
//!
//! Codes (severity): `fragile-index` (warning: a numeric index written through),
//! `index-overwrites` (warning: it lands on an existing element, named in the message),
//! `append-duplicate-name` (warning), `ambiguous-selector` (warning: several elements match),
//! `string-becomes-map`, `number-becomes-float`, `split-selector`, `delete-missing`,
//! `empty-path` (warnings); `selector-on-map` (a bracket segment meets a map: Istio creates a
//! literal key), `patch-fails`, `overlay-matches-nothing`, `overlay-matches-several`,
//! `overlays-same-target` (Istio keeps only the last overlay's result),
//! `invalid-nested-overlays` (errors). [`lint_yaml`], on the overlay file's text:
//! `yaml-1-1-differs` (warning: a plain scalar that YAML 1.1 and 1.2 read differently).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::overlay::{K8sObjectOverlay, Patch, object_label};
use crate::patch::{Hop, Kind, Level, Patcher, State, describe, select_all};
use crate::path::{SegmentKind, TreePath};
use crate::value::{number_changes_type, string_to_map, structpb_value};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The overlay fails or does something it surely does not mean (lint exits 1).
    Error,
    /// The overlay works today but depends on the object's current shape, or surprises.
    Warning,
}

/// A robust replacement for the patch a finding is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rewrite {
    /// The path to use instead.
    pub path: String,
    /// The value to use (when it changes too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// A stable identifier of the check, e.g. `index-overwrites`.
    pub code: &'static str,
    /// What is wrong and why.
    pub message: String,
    /// Where: `overlays[0].patches[2]`, or for nested overlays
    /// `overlays[0].patches[2].value[0].patches[1]`.
    pub location: String,
    /// The object the overlay targets, e.g. `Deployment istiod`.
    pub target: String,
    /// The patch path as written, when the finding is about one patch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The robust rewrite, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<Rewrite>,
}

/// Lints overlays, against the manifests they will be applied to when given.
///
/// Patches whose path ends in `k8s.overlays` (an IstioOperator component's overlays) are
/// linted as nested overlays, against the same manifests.
pub fn lint(overlays: &[K8sObjectOverlay], manifests: Option<&[Value]>) -> Vec<Finding> {
    let mut out = Vec::new();
    lint_list(overlays, manifests, "overlays", &mut out);
    out
}

/// Lints an overlay file's text: every plain scalar that reads differently under YAML 1.1
/// (kubectl, Istio) and YAML 1.2, directly or inside a string Istio re-parses as YAML, with the
/// quoted rewrite that keeps it a string.
///
/// ```
/// let findings = istio_overlay::lint_yaml("o.yaml", "- path: a.b\n  value: on\n")?;
/// assert_eq!(findings[0].code, "yaml-1-1-differs");
/// assert_eq!(findings[0].location, "o.yaml:2:10");
/// # Ok::<(), istio_overlay::Error>(())
/// ```
pub fn lint_yaml(what: &str, text: &str) -> crate::Result<Vec<Finding>> {
    Ok(crate::yaml::ambiguous_scalars(what, text)?
        .into_iter()
        .map(|a| {
            let quoted = serde_json::to_string(&a.text).unwrap_or_default();
            let inside = a
                .within
                .as_ref()
                .map(|w| format!(" inside the string {w:?}, which Istio re-parses as YAML,"))
                .unwrap_or_default();
            Finding {
                severity: Severity::Warning,
                code: "yaml-1-1-differs",
                message: format!(
                    "plain `{}`{inside} is {} to kubectl and Istio (YAML 1.1) but {} in YAML 1.2: \
                     write {quoted} for the string, or {} for the YAML 1.1 value",
                    a.text, a.v1_1, a.v1_2, a.v1_1
                ),
                location: format!("{what}:{}:{}", a.line, a.column),
                target: String::new(),
                path: None,
                rewrite: None,
            }
        })
        .collect())
}

struct Ctx<'a> {
    location: String,
    target: String,
    out: &'a mut Vec<Finding>,
}

impl Ctx<'_> {
    fn push(
        &mut self,
        severity: Severity,
        code: &'static str,
        path: Option<&str>,
        message: String,
        rewrite: Option<Rewrite>,
    ) {
        self.out.push(Finding {
            severity,
            code,
            message,
            location: self.location.clone(),
            target: self.target.clone(),
            path: path.map(str::to_owned),
            rewrite,
        });
    }
}

fn lint_list(
    overlays: &[K8sObjectOverlay],
    manifests: Option<&[Value]>,
    prefix: &str,
    out: &mut Vec<Finding>,
) {
    // Overlays sharing a target: Istio keeps only the last one's result.
    let mut by_target: HashMap<(String, String, Option<String>), Vec<usize>> = HashMap::new();
    for (i, o) in overlays.iter().enumerate() {
        by_target
            .entry((o.kind.clone(), o.name.clone(), o.namespace.clone()))
            .or_default()
            .push(i);
    }
    for (i, o) in overlays.iter().enumerate() {
        let same = &by_target[&(o.kind.clone(), o.name.clone(), o.namespace.clone())];
        if same.len() > 1 && same.last() != Some(&i) {
            let last = same.last().copied().unwrap_or(i);
            let mut c = Ctx {
                location: format!("{prefix}[{i}]"),
                target: o.target(),
                out,
            };
            c.push(
                Severity::Error,
                "overlays-same-target",
                None,
                format!(
                    "{prefix}[{last}] targets the same object: Istio applies each overlay to the object as rendered and keeps the last result, so these {} patches are lost; merge the overlays into one",
                    o.patches.len()
                ),
                None,
            );
        }
    }

    for (i, overlay) in overlays.iter().enumerate() {
        let loc = format!("{prefix}[{i}]");
        let mut object = None;
        if let Some(manifests) = manifests {
            let matched: Vec<&Value> = manifests.iter().filter(|m| overlay.matches(m)).collect();
            let mut c = Ctx {
                location: loc.clone(),
                target: overlay.target(),
                out,
            };
            match matched.len() {
                0 => c.push(
                    Severity::Error,
                    "overlay-matches-nothing",
                    None,
                    format!(
                        "matches no object (kind and name must match exactly; apiVersion is ignored); available: {}",
                        manifests.iter().map(object_label).collect::<Vec<_>>().join(", ")
                    ),
                    None,
                ),
                1 => object = Some(matched[0].clone()),
                n => c.push(
                    Severity::Error,
                    "overlay-matches-several",
                    None,
                    format!(
                        "matches {n} objects ({}); give the overlay a namespace",
                        matched.iter().map(|m| object_label(m)).collect::<Vec<_>>().join(", ")
                    ),
                    None,
                ),
            }
        }
        let mut patcher = Patcher::new();
        for (pi, patch) in overlay.patches.iter().enumerate() {
            let location = format!("{loc}.patches[{pi}]");
            {
                let mut c = Ctx {
                    location: location.clone(),
                    target: overlay.target(),
                    out,
                };
                static_checks(&mut c, patch, object.is_none());
                if let Some(obj) = object.as_mut() {
                    resolved_checks(&mut c, &patcher, obj, patch);
                    let _ = patcher.apply(obj, patch);
                }
            }
            // Nested overlays (an IstioOperator component's k8s.overlays).
            let path = TreePath::parse(&patch.path);
            let segs = path.segments();
            let n = segs.len();
            if n >= 2
                && segs[n - 2].as_str() == "k8s"
                && segs[n - 1].as_str() == "overlays"
                && let Some(v @ Value::Array(_)) = &patch.value
            {
                match K8sObjectOverlay::list_from_value(&location, v) {
                    Ok(nested) => lint_list(&nested, manifests, &format!("{location}.value"), out),
                    Err(e) => out.push(Finding {
                        severity: Severity::Error,
                        code: "invalid-nested-overlays",
                        message: e.to_string(),
                        location: location.clone(),
                        target: overlay.target(),
                        path: Some(patch.path.clone()),
                        rewrite: None,
                    }),
                }
            }
        }
    }
}

/// Checks that need no object.
fn static_checks(c: &mut Ctx<'_>, patch: &Patch, no_object: bool) {
    let written = patch.path.as_str();
    if written.trim().is_empty() {
        c.push(
            Severity::Warning,
            "empty-path",
            Some(written),
            "the path is empty: Istio skips this patch".into(),
            None,
        );
        return;
    }
    let path = TreePath::parse(written);
    for s in path.segments() {
        let t = s.as_str();
        if t.starts_with('[') != t.ends_with(']') {
            c.push(
                Severity::Warning,
                "split-selector",
                Some(written),
                format!("segment `{t}` has an unbalanced bracket: a dot inside a selector splits it (Istio splits before reading selectors); escape it as `\\.`"),
                None,
            );
        }
    }
    if let Some(v @ Value::String(s)) = &patch.value {
        let (m, became) = string_to_map(v.clone());
        if became {
            c.push(
                Severity::Warning,
                "string-becomes-map",
                Some(written),
                format!("the string value {s:?} holds `key: value` YAML, so Istio writes the map {m} instead of the string; write the map itself, or avoid \": \" if a string is meant"),
                Some(Rewrite { path: written.to_owned(), value: Some(m) }),
            );
        }
    }
    if let Some(v) = &patch.value
        && has_big_integer(v)
    {
        c.push(
            Severity::Warning,
            "number-becomes-float",
            Some(written),
            format!("Istio reads patch values as protobuf floats and writes integers of 1e6 and more in float form (1e+06), which integer fields reject; value: {}", structpb_value(v)),
            None,
        );
    }
    if no_object {
        let segs = path.segments();
        for (i, s) in segs.iter().enumerate() {
            if let SegmentKind::Index(n) = s.kind()
                && n >= 0
            {
                let last = i + 1 == segs.len();
                let (rewrite, how) = if last {
                    let how = match value_name(patch.value.as_ref()) {
                        Some(name) => format!(
                            "`[-1]` to append, or `[name:{name}]` to replace the element named {name}"
                        ),
                        None => "`[-1]` to append".into(),
                    };
                    (
                        Some(Rewrite {
                            path: rewrite_path(&path, i, "[-1]"),
                            value: None,
                        }),
                        how,
                    )
                } else {
                    (None, "a `[key:value]` selector such as `[name:…]`".into())
                };
                c.push(
                    Severity::Warning,
                    "fragile-index",
                    Some(written),
                    format!("`{}` writes through index {n}, which depends on the list's current length and order: it overwrites whatever sits there, or appends only while the list has exactly {n} elements; use {how}", s.as_str()),
                    rewrite,
                );
            }
        }
    }
}

fn has_big_integer(v: &Value) -> bool {
    match v {
        Value::Number(n) => number_changes_type(n),
        Value::Array(a) => a.iter().any(has_big_integer),
        Value::Object(m) => m.values().any(has_big_integer),
        _ => false,
    }
}

fn value_name(v: Option<&Value>) -> Option<String> {
    v?.get("name")?.as_str().map(str::to_owned)
}

/// `[name:x]` with its dots escaped for a tree path.
fn name_selector(name: &str) -> String {
    format!("[name:{}]", name.replace('.', "\\."))
}

/// The path with segment `i` replaced, keeping the writer's text when the segment ends it.
fn rewrite_path(path: &TreePath, i: usize, new: &str) -> String {
    let segs = path.segments();
    let raw = path.as_written().trim_end();
    if i + 1 == segs.len() {
        let old = segs[i].as_str();
        if let Some(prefix) = raw.strip_suffix(old) {
            return format!("{prefix}{new}");
        }
    }
    path.with_segment(i, new)
}

/// Checks against the object as the earlier patches left it.
fn resolved_checks(c: &mut Ctx<'_>, patcher: &Patcher, obj: &Value, patch: &Patch) {
    let written = patch.path.as_str();
    if written.trim().is_empty() {
        return;
    }
    let prep = crate::prepared::prepared(written);
    let path = &prep.path;
    let levels: Vec<Level> = match patcher.resolve(obj, &prep) {
        Ok(l) => l,
        Err(e) => {
            c.push(
                Severity::Error,
                "patch-fails",
                Some(written),
                e.to_string(),
                None,
            );
            return;
        }
    };
    let segs = path.segments();
    let n = segs.len();
    // Walk the object alongside the levels (None once the path leaves it).
    let mut node: Option<&Value> = Some(obj);
    for l in 1..=n {
        let seg = &segs[l - 1];
        let parent = levels[l - 1];
        let last = l == n;
        if seg.is_bracketed() && parent.kind == Kind::Map {
            let missing = parent.state != State::Existing;
            let list_path = path.with_segment_prefix(l - 1);
            let rewrite = match (seg.kind(), last, &patch.value) {
                (SegmentKind::Index(_), true, Some(v)) if missing => Some(Rewrite {
                    path: list_path.clone(),
                    value: Some(Value::Array(vec![v.clone()])),
                }),
                _ => None,
            };
            c.push(
                Severity::Error,
                "selector-on-map",
                Some(written),
                format!(
                    "`{}` meets {} at `{list_path}`, not a list, so Istio creates a key literally named `{}`{}",
                    seg.as_str(),
                    if missing { "a map Istio creates because the key is missing" } else { "a map" },
                    seg.as_str(),
                    if rewrite.is_some() { "; set the whole list instead" } else { "" }
                ),
                rewrite,
            );
            return;
        }
        let items: &[Value] = match (parent.kind, node) {
            (Kind::List, Some(Value::Array(a))) => a,
            _ => &[],
        };
        match seg.kind() {
            SegmentKind::Index(k) if parent.kind == Kind::List => {
                let len = items.len();
                let name = value_name(patch.value.as_ref());
                let existing_named = name.as_ref().and_then(|nm| {
                    items
                        .iter()
                        .position(|e| e.get("name").and_then(Value::as_str) == Some(nm.as_str()))
                });
                if k == -1 {
                    if let (true, Some(pos), Some(nm)) =
                        (last && patch.value.is_some(), existing_named, &name)
                    {
                        c.push(
                            Severity::Warning,
                            "append-duplicate-name",
                            Some(written),
                            format!("appends an element named {nm}, but element {pos} already has that name; select it instead"),
                            Some(Rewrite { path: rewrite_path(path, l - 1, &name_selector(nm)), value: None }),
                        );
                    }
                } else if let Ok(k) = usize::try_from(k) {
                    let robust = match (&name, existing_named) {
                        (Some(nm), Some(_)) if last => name_selector(nm),
                        _ if last => "[-1]".to_owned(),
                        _ => items
                            .get(k)
                            .and_then(|e| e.get("name"))
                            .and_then(Value::as_str)
                            .map_or_else(|| "[-1]".to_owned(), name_selector),
                    };
                    let rewrite = Some(Rewrite {
                        path: rewrite_path(path, l - 1, &robust),
                        value: None,
                    });
                    if k < len {
                        let what = describe(&items[k]);
                        let (code, msg) = if last
                            && !matches!(patch.value, None | Some(Value::Null))
                        {
                            (
                                "index-overwrites",
                                format!(
                                    "`{}` overwrites the existing element {k} ({what}) of a list of {len}; use `{robust}`",
                                    seg.as_str()
                                ),
                            )
                        } else if last {
                            (
                                "index-overwrites",
                                format!(
                                    "`{}` deletes whatever sits at {k}, today {what}; use `{robust}`",
                                    seg.as_str()
                                ),
                            )
                        } else {
                            (
                                "fragile-index",
                                format!(
                                    "`{}` selects whatever sits at {k}, today {what}; use `{robust}`",
                                    seg.as_str()
                                ),
                            )
                        };
                        c.push(Severity::Warning, code, Some(written), msg, rewrite);
                    } else {
                        let why = if k == len {
                            format!(
                                "appends only because the list has exactly {len} elements today: once it has more, it overwrites element {k}"
                            )
                        } else {
                            format!(
                                "is beyond the end of the list of {len}: Istio appends at the end (index {len}), not at {k}"
                            )
                        };
                        c.push(
                            Severity::Warning,
                            "fragile-index",
                            Some(written),
                            format!("`{}` {why}; use `{robust}`", seg.as_str()),
                            rewrite,
                        );
                    }
                }
            }
            SegmentKind::KeyValue { .. } | SegmentKind::Value(_)
                if parent.kind == Kind::List && !items.is_empty() =>
            {
                let hits = select_all(seg, items);
                if hits.len() > 1 {
                    let first = &items[hits[0]];
                    let rewrite = match (seg.kind(), first) {
                        (SegmentKind::Value(_), Value::String(s)) => {
                            let anchored = format!("[:^{}$]", regex::escape(s).replace('.', "\\."));
                            Some(Rewrite {
                                path: rewrite_path(path, l - 1, &anchored),
                                value: None,
                            })
                        }
                        _ => None,
                    };
                    c.push(
                        Severity::Warning,
                        "ambiguous-selector",
                        Some(written),
                        format!(
                            "`{}` matches {} elements ({}); Istio takes the first, {}",
                            seg.as_str(),
                            hits.len(),
                            hits.iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", "),
                            describe(first)
                        ),
                        rewrite,
                    );
                }
            }
            _ => {}
        }
        // Advance.
        node = match (levels[l].hop, levels[l].state, node) {
            (Hop::Key(_), State::Existing, Some(Value::Object(m))) => m.get(seg.as_str()),
            (Hop::Idx(i), State::Existing, Some(Value::Array(a))) => a.get(i),
            _ => None,
        };
        if last
            && matches!(patch.value, None | Some(Value::Null))
            && levels[l].state != State::Existing
        {
            c.push(
                Severity::Warning,
                "delete-missing",
                Some(written),
                "deletes a path that does not exist: nothing to delete, and Istio leaves behind the empty maps it created on the way".into(),
                None,
            );
        }
    }
}
