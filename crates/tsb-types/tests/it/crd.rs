//! `ControlPlane::crd()` is a structural schema the API server accepts, and keeps unknown
//! fields (no pruning) wherever the Rust types keep them.

use kube::CustomResourceExt;
use serde_json::Value;
use tsb_types::*;

/// Checks the rules of Kubernetes structural schemas that schemars output can break, and
/// returns one line per violation.
fn structural_violations(schema: &Value, path: &str, out: &mut Vec<String>) {
    let Some(obj) = schema.as_object() else {
        out.push(format!("{path}: schema is not an object"));
        return;
    };
    let preserve = obj.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let int_or_string = obj.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    if !obj.contains_key("type") && !preserve && !int_or_string {
        out.push(format!(
            "{path}: no type (and neither preserve-unknown-fields nor int-or-string)"
        ));
    }
    for banned in [
        "$ref",
        "definitions",
        "$defs",
        "$schema",
        "oneOf",
        "allOf",
        "const",
        "additionalItems",
        "patternProperties",
        "dependencies",
    ] {
        if obj.contains_key(banned) {
            out.push(format!("{path}: `{banned}` is not allowed"));
        }
    }
    if obj.contains_key("additionalProperties") && obj.contains_key("properties") {
        out.push(format!(
            "{path}: additionalProperties together with properties"
        ));
    }
    if let (Some(Value::Bool(_)), false) = (obj.get("additionalProperties"), preserve) {
        out.push(format!("{path}: boolean additionalProperties"));
    }
    if let Some(Value::Array(any_of)) = obj.get("anyOf") {
        // Only allowed as value validation without types (int-or-string pattern).
        for (i, s) in any_of.iter().enumerate() {
            if s.get("properties").is_some() || s.get("items").is_some() {
                out.push(format!(
                    "{path}.anyOf[{i}]: declares structure inside anyOf"
                ));
            }
        }
    }
    if obj.get("type") == Some(&Value::String("array".into())) && !obj.contains_key("items") {
        out.push(format!("{path}: array without items"));
    }
    if let Some(Value::Object(props)) = obj.get("properties") {
        for (k, v) in props {
            structural_violations(v, &format!("{path}.{k}"), out);
        }
    }
    if let Some(items) = obj.get("items") {
        structural_violations(items, &format!("{path}[]"), out);
    }
    if let Some(ap @ Value::Object(_)) = obj.get("additionalProperties") {
        structural_violations(ap, &format!("{path}{{}}"), out);
    }
}

fn schema_of(crd: &Value) -> &Value {
    &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
}

#[test]
fn control_plane_crd_is_structural() {
    let crd = serde_json::to_value(ControlPlane::crd()).expect("serializes");
    assert_eq!(crd["metadata"]["name"], "controlplanes.install.tetrate.io");
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    assert_eq!(crd["spec"]["versions"][0]["name"], "v1alpha1");
    assert_eq!(
        crd["spec"]["versions"][0]["subresources"]["status"],
        serde_json::json!({})
    );
    let mut violations = Vec::new();
    structural_violations(schema_of(&crd), "", &mut violations);
    println!("{}", serde_yaml::to_string(&crd).unwrap_or_default());
    assert!(
        violations.is_empty(),
        "not structural:\n{}",
        violations.join("\n")
    );
}

#[test]
fn istio_operator_crd_is_structural() {
    let crd = serde_json::to_value(IstioOperator::crd()).expect("serializes");
    let mut violations = Vec::new();
    structural_violations(schema_of(&crd), "", &mut violations);
    assert!(
        violations.is_empty(),
        "not structural:\n{}",
        violations.join("\n")
    );
}

/// Every object that keeps unknown fields in Rust is marked preserve-unknown-fields in the
/// CRD, so the API server does not prune what the types would keep.
#[test]
fn open_objects_preserve_unknown_fields() {
    let crd = serde_json::to_value(ControlPlane::crd()).expect("serializes");
    let spec = &schema_of(&crd)["properties"]["spec"];
    let preserved = |s: &Value| s["x-kubernetes-preserve-unknown-fields"] == Value::Bool(true);
    assert!(preserved(spec), "spec");
    for path in [
        &["managementPlane"][..],
        &["telemetryStore"],
        &["telemetryStore", "elastic"],
        &["components"],
        &["components", "istio"],
        &["components", "istio", "kubeSpec"],
        &["components", "xcp"],
        &["components", "xcp", "kubeSpec"],
        &["meshExpansion"],
        &["meshObservability"],
    ] {
        let mut node = spec;
        for key in path {
            node = &node["properties"][*key];
        }
        assert!(
            preserved(node),
            "{path:?} does not preserve unknown fields: {node}"
        );
    }
    let patch_value = &spec["properties"]["components"]["properties"]["istio"]["properties"]["kubeSpec"]
        ["properties"]["overlays"]["items"]["properties"]["patches"]["items"]["properties"]["value"];
    assert!(preserved(patch_value), "overlay patch value: {patch_value}");
}
