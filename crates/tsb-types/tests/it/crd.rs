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

/// What the API server's pruning would drop from `value` under `schema`: keys of an object
/// that are neither declared nor under `x-kubernetes-preserve-unknown-fields`.
fn pruned(value: &Value, schema: &Value, path: &str, out: &mut Vec<String>) {
    let preserve = schema["x-kubernetes-preserve-unknown-fields"] == Value::Bool(true);
    if preserve && schema.get("properties").is_none() && schema.get("items").is_none() {
        return; // kept as is, whatever it holds
    }
    match value {
        Value::Object(map) => {
            let props = schema["properties"].as_object();
            for (k, v) in map {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => pruned(v, s, &format!("{path}.{k}"), out),
                    None if preserve => {}
                    None if schema["additionalProperties"].is_object() => pruned(
                        v,
                        &schema["additionalProperties"],
                        &format!("{path}.{k}"),
                        out,
                    ),
                    None => out.push(format!("{path}.{k}")),
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pruned(v, &schema["items"], &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Nothing of the seed's ControlPlane, of a ControlPlane full of fields we do not model, or of
/// what the builder writes, would be pruned by the API server under our CRD.
#[test]
fn nothing_would_be_pruned_by_the_api_server() {
    let crd = serde_json::to_value(ControlPlane::crd()).expect("serializes");
    let schema = schema_of(&crd);
    let built = crate::tsb_required(ControlPlaneBuilder::seed_flow())
        .build()
        .expect("builds");
    let seed_exact = crate::tsb_required(ControlPlaneBuilder::seed_flow())
        .patch_style(PatchStyle::SeedExact)
        .build()
        .expect("builds");
    let mut extended = crate::yaml("control-plane.example.yaml");
    extended["spec"]["tier1Cluster"] = Value::Bool(false);
    extended["spec"]["components"]["gitops"] = serde_json::json!({"enabled": true});
    extended["spec"]["components"]["istio"]["isolationBoundaries"] =
        serde_json::json!([{"name": "g"}]);
    extended["spec"]["telemetryStore"]["elastic"]["indexPrefix"] = serde_json::json!("tsb");
    for (what, manifest) in [
        (
            "control-plane.example.yaml",
            crate::yaml("control-plane.example.yaml"),
        ),
        ("extended", extended),
        (
            "robust builder",
            serde_json::to_value(&built).expect("serializes"),
        ),
        (
            "seed-exact builder",
            serde_json::to_value(&seed_exact).expect("serializes"),
        ),
    ] {
        let mut out = Vec::new();
        // apiVersion, kind and metadata are the API server's own.
        for key in ["spec", "status"] {
            if let Some(v) = manifest.get(key) {
                pruned(v, &schema["properties"][key], &format!(".{key}"), &mut out);
            }
        }
        assert!(out.is_empty(), "{what}: the API server would prune {out:?}");
    }
    let iop_crd = serde_json::to_value(IstioOperator::crd()).expect("serializes");
    let iop = crate::yaml("tsb-istiocontrolplane.full.yaml");
    let mut out = Vec::new();
    pruned(
        &iop["spec"],
        &schema_of(&iop_crd)["properties"]["spec"],
        ".spec",
        &mut out,
    );
    assert!(
        out.is_empty(),
        "IstioOperator: the API server would prune {out:?}"
    );
}
