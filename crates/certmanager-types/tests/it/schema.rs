//! Our schemas (kube `CustomResourceExt::crd()`) against cert-manager v1.21.1's own CRDs.
//!
//! The CRDs in `crds/` (embedded as `certmanager_types::crds`) are `deploy/crds/` of cert-manager v1.21.1, unchanged.

use std::collections::BTreeMap;

use certmanager_types::*;
use kube::CustomResourceExt;
use serde_json::Value;

/// The JSON type a schema node declares, in a comparable form.
fn json_type(schema: &Value) -> String {
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        return "int-or-string".into();
    }
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        return t.into();
    }
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return "any (preserve-unknown-fields)".into();
    }
    // schemars may wrap a nullable reference in anyOf/allOf of one schema.
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(subs)) = schema.get(key) {
            let types: Vec<String> = subs
                .iter()
                .map(json_type)
                .filter(|t| t != "null" && t != "<none>")
                .collect();
            if types.len() == 1 {
                return types[0].clone();
            }
        }
    }
    "<none>".into()
}

fn properties(schema: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    if let Some(Value::Object(props)) = schema.get("properties") {
        out.extend(props.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(subs)) = schema.get(key) {
            for sub in subs {
                out.extend(properties(sub));
            }
        }
    }
    out
}

fn sub(schema: &Value, key: &str) -> Option<Value> {
    if let Some(v) = schema.get(key).filter(|v| v.is_object()) {
        return Some(v.clone());
    }
    for comb in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(subs)) = schema.get(comb) {
            for s in subs {
                if let Some(v) = sub(s, key) {
                    return Some(v);
                }
            }
        }
    }
    None
}

#[derive(Default)]
struct Report {
    lines: Vec<String>,
    compared: usize,
    missing_in_ours: Vec<String>,
    extra_in_ours: Vec<String>,
    type_mismatch: Vec<String>,
}

fn compare(real: &Value, ours: &Value, path: &str, report: &mut Report) {
    report.compared += 1;
    let (rt, ot) = (json_type(real), json_type(ours));
    let ok = rt == ot;
    report.lines.push(format!(
        "{:<6} {path:<100} real={rt:<14} ours={ot}",
        if ok { "ok" } else { "TYPE" }
    ));
    if !ok {
        report
            .type_mismatch
            .push(format!("{path}: real {rt}, ours {ot}"));
    }
    if path == ".metadata" {
        return;
    }
    let (rp, op) = (properties(real), properties(ours));
    for (name, rs) in &rp {
        match op.get(name) {
            Some(os) => compare(rs, os, &format!("{path}.{name}"), report),
            // kube's derive leaves these to the API server's own schema, but always
            // serializes them (TypeMeta and ObjectMeta); `check` asserts that separately.
            None if path.is_empty()
                && ["apiVersion", "kind", "metadata"].contains(&name.as_str()) =>
            {
                report.lines.push(format!(
                    "ok     .{name:<99} real={:<14} ours=(kube TypeMeta/ObjectMeta)",
                    json_type(rs)
                ));
            }
            None => {
                report
                    .lines
                    .push(format!("MISSING {path}.{name} (real {})", json_type(rs)));
                report.missing_in_ours.push(format!("{path}.{name}"));
            }
        }
    }
    for name in op.keys().filter(|k| !rp.contains_key(*k)) {
        report
            .lines
            .push(format!("EXTRA  {path}.{name} (not in the real schema)"));
        report.extra_in_ours.push(format!("{path}.{name}"));
    }
    for key in ["items", "additionalProperties"] {
        match (sub(real, key), sub(ours, key)) {
            (Some(r), Some(o)) => {
                let suffix = if key == "items" { "[]" } else { "{}" };
                compare(&r, &o, &format!("{path}{suffix}"), report)
            }
            (Some(_), None) => report.missing_in_ours.push(format!("{path} ({key})")),
            (None, Some(o)) if !o.as_object().is_some_and(|m| m.is_empty()) => {
                report.extra_in_ours.push(format!("{path} ({key})"))
            }
            _ => {}
        }
    }
}

fn json<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).expect("serializes")
}

fn real_schema(file: &str) -> Value {
    let crd: Value = serde_yaml::from_str(&crate::data(file)).expect("CRD parses");
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

fn our_schema(
    crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
) -> Value {
    let crd = serde_json::to_value(crd).expect("CRD serializes");
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

fn check(kind: &str, file: &str, ours: Value, serialized: Value) {
    for key in ["apiVersion", "kind", "metadata"] {
        assert!(
            serialized.get(key).is_some(),
            "{kind} does not serialize {key}"
        );
    }
    let real = real_schema(file);
    let mut report = Report::default();
    compare(&real, &ours, "", &mut report);
    println!(
        "== {kind}: {} nodes compared against {file}",
        report.compared
    );
    for line in &report.lines {
        println!("{line}");
    }
    println!(
        "== {kind}: missing in ours {}, extra in ours {}, type mismatches {}",
        report.missing_in_ours.len(),
        report.extra_in_ours.len(),
        report.type_mismatch.len()
    );
    assert!(
        report.missing_in_ours.is_empty()
            && report.extra_in_ours.is_empty()
            && report.type_mismatch.is_empty(),
        "{kind} schema differs from cert-manager's:\n missing: {:#?}\n extra: {:#?}\n types: {:#?}",
        report.missing_in_ours,
        report.extra_in_ours,
        report.type_mismatch
    );
}

#[test]
fn issuer_schema_matches_cert_manager() {
    check(
        "Issuer",
        "cert-manager.io_issuers.yaml",
        our_schema(Issuer::crd()),
        json(Issuer::new("x", IssuerSpec::default())),
    );
}

#[test]
fn cluster_issuer_schema_matches_cert_manager() {
    check(
        "ClusterIssuer",
        "cert-manager.io_clusterissuers.yaml",
        our_schema(ClusterIssuer::crd()),
        json(ClusterIssuer::new("x", ClusterIssuerSpec::default())),
    );
}

#[test]
fn certificate_schema_matches_cert_manager() {
    check(
        "Certificate",
        "cert-manager.io_certificates.yaml",
        our_schema(Certificate::crd()),
        json(Certificate::new("x", CertificateSpec::default())),
    );
}

#[test]
fn certificate_request_schema_matches_cert_manager() {
    check(
        "CertificateRequest",
        "cert-manager.io_certificaterequests.yaml",
        our_schema(CertificateRequest::crd()),
        json(CertificateRequest::new(
            "x",
            CertificateRequestSpec::default(),
        )),
    );
}

/// Every `enum` in the real schemas is one of our open enums, with the same known values.
#[test]
fn every_real_enumeration_is_typed_with_the_same_values() {
    fn collect(schema: &Value, path: &str, out: &mut Vec<(String, Vec<String>)>) {
        if let Some(Value::Array(values)) = schema.get("enum") {
            let values = values
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            out.push((path.to_owned(), values));
        }
        for (name, s) in properties(schema) {
            collect(&s, &format!("{path}.{name}"), out);
        }
        if let Some(items) = schema.get("items") {
            collect(items, &format!("{path}[]"), out);
        }
    }
    let known: Vec<(&str, &[&str])> = vec![
        (".spec.usages[]", KeyUsage::KNOWN),
        (".spec.privateKey.algorithm", PrivateKeyAlgorithm::KNOWN),
        (".spec.privateKey.encoding", PrivateKeyEncoding::KNOWN),
        (
            ".spec.privateKey.rotationPolicy",
            PrivateKeyRotationPolicy::KNOWN,
        ),
        (".spec.signatureAlgorithm", SignatureAlgorithm::KNOWN),
        (
            ".spec.additionalOutputFormats[].type",
            AdditionalOutputFormatType::KNOWN,
        ),
        (".spec.keystores.pkcs12.profile", Pkcs12Profile::KNOWN),
        (".spec.renewal.policy", RenewalPolicy::KNOWN),
        (".status.conditions[].status", ConditionStatus::KNOWN),
        (
            ".spec.acme.externalAccountBinding.keyAlgorithm",
            HmacKeyAlgorithm::KNOWN,
        ),
        (
            ".spec.acme.solvers[].dns01.cnameStrategy",
            CnameStrategy::KNOWN,
        ),
        (
            ".spec.acme.solvers[].dns01.azureDNS.environment",
            AzureDnsEnvironment::KNOWN,
        ),
        (
            ".spec.acme.solvers[].dns01.azureDNS.zoneType",
            AzureZoneType::KNOWN,
        ),
        (
            ".spec.acme.solvers[].dns01.rfc2136.protocol",
            Rfc2136Protocol::KNOWN,
        ),
    ];
    let mut checked = 0;
    for file in [
        "cert-manager.io_issuers.yaml",
        "cert-manager.io_clusterissuers.yaml",
        "cert-manager.io_certificates.yaml",
        "cert-manager.io_certificaterequests.yaml",
    ] {
        let mut enums = Vec::new();
        collect(&real_schema(file), "", &mut enums);
        for (path, values) in enums {
            // Kubernetes' own types inside the ACME pod template are not ours to type.
            if path.contains("podTemplate") {
                continue;
            }
            let Some((_, ours)) = known.iter().find(|(p, _)| *p == path) else {
                panic!("{file}: enumeration at {path} ({values:?}) has no open enum");
            };
            let ours: Vec<String> = ours.iter().map(|s| s.to_string()).collect();
            assert_eq!(ours, values, "{file}: {path}");
            println!("enum ok  {file} {path}: {} values", values.len());
            checked += 1;
        }
    }
    assert!(checked >= 14, "only {checked} enumerations checked");
}

/// Short names, scope, categories and printer columns as cert-manager declares them.
#[test]
fn names_scope_and_printer_columns_match_cert_manager() {
    let cases = [
        (
            "cert-manager.io_issuers.yaml",
            serde_json::to_value(Issuer::crd()),
        ),
        (
            "cert-manager.io_clusterissuers.yaml",
            serde_json::to_value(ClusterIssuer::crd()),
        ),
        (
            "cert-manager.io_certificates.yaml",
            serde_json::to_value(Certificate::crd()),
        ),
        (
            "cert-manager.io_certificaterequests.yaml",
            serde_json::to_value(CertificateRequest::crd()),
        ),
    ];
    for (file, ours) in cases {
        let ours = ours.expect("CRD serializes");
        let real: Value = serde_yaml::from_str(&crate::data(file)).expect("CRD parses");
        assert_eq!(ours["metadata"]["name"], real["metadata"]["name"], "{file}");
        assert_eq!(ours["spec"]["scope"], real["spec"]["scope"], "{file}");
        // (kube's derive does not write `listKind`; the API server fills it in.)
        for key in ["kind", "plural", "singular", "shortNames", "categories"] {
            assert_eq!(
                ours["spec"]["names"][key], real["spec"]["names"][key],
                "{file} names.{key}"
            );
        }
        let columns = |crd: &Value| -> Vec<(Value, Value, Value, Value)> {
            crd["spec"]["versions"][0]["additionalPrinterColumns"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|c| {
                    (
                        c["name"].clone(),
                        c["type"].clone(),
                        c["jsonPath"].clone(),
                        c["priority"].clone(),
                    )
                })
                .collect()
        };
        assert_eq!(columns(&ours), columns(&real), "{file} printer columns");
        assert_eq!(
            ours["spec"]["versions"][0]["subresources"],
            real["spec"]["versions"][0]["subresources"],
            "{file} subresources"
        );
    }
}
