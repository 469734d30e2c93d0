//! The seed's overlays (control-plane.example.yaml: IstioOperator level and Deployment level)
//! applied to the istiod Deployment Istio's operator renders (pilot_default.golden.yaml).

use istio_overlay::{
    K8sObjectOverlay, apply_nested, apply_overlays, component_overlays, explain, parse_documents,
};
use serde_json::{Value, json};

use crate::{data, yaml};

pub fn golden() -> Vec<Value> {
    parse_documents("golden", &data("pilot_default.golden.yaml")).expect("golden parses")
}

pub fn cp_overlays() -> Vec<K8sObjectOverlay> {
    let cp = yaml(&data("control-plane.example.yaml"));
    K8sObjectOverlay::list_from_value("control-plane.example.yaml", &cp).expect("overlays")
}

pub fn istiod(manifests: &[Value]) -> &Value {
    manifests
        .iter()
        .find(|m| m["kind"] == "Deployment" && m["metadata"]["name"] == "istiod")
        .expect("istiod Deployment")
}

fn discovery(d: &Value) -> &Value {
    &d["spec"]["template"]["spec"]["containers"][0]
}

const ARGS: [&str; 7] = [
    "discovery",
    "--monitoringAddr=:15014",
    "--log_output_level=default:info",
    "--domain",
    "cluster.local",
    "--keepaliveMaxServerConnectionAge",
    "30m",
];

fn expected_args() -> Value {
    let mut a: Vec<Value> = ARGS.iter().map(|s| json!(s)).collect();
    a.extend([
        json!("--tlsCertFile=/etc/cert-manager/tls/tls.crt"),
        json!("--tlsKeyFile=/etc/cert-manager/tls/tls.key"),
        json!("--caCertFile=/etc/cert-manager/ca/root-cert.pem"),
    ]);
    Value::Array(a)
}

fn check_istiod(before: &Value, after: &Value) {
    let (b, a) = (discovery(before), discovery(after));
    assert_eq!(b["args"].as_array().map(Vec::len), Some(7));
    assert_eq!(a["args"], expected_args());
    let mut mounts = b["volumeMounts"].as_array().cloned().unwrap_or_default();
    assert_eq!(mounts.len(), 6);
    mounts.push(
        json!({"name": "cert-manager", "mountPath": "/etc/cert-manager/tls", "readOnly": true}),
    );
    mounts.push(
        json!({"name": "ca-root-cert", "mountPath": "/etc/cert-manager/ca", "readOnly": true}),
    );
    assert_eq!(a["volumeMounts"], Value::Array(mounts));
    let mut vols = before["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(vols.len(), 6);
    vols.push(json!({"name": "cert-manager", "secret": {"secretName": "istiod-tls"}}));
    vols.push(json!({"name": "ca-root-cert", "configMap": {"defaultMode": 420, "name": "istio-ca-root-cert"}}));
    assert_eq!(
        after["spec"]["template"]["spec"]["volumes"],
        Value::Array(vols)
    );
    // Nothing else in the Deployment changed.
    let mut a2 = after.clone();
    let c = &mut a2["spec"]["template"]["spec"];
    c["volumes"] = before["spec"]["template"]["spec"]["volumes"].clone();
    c["containers"][0]["args"] = b["args"].clone();
    c["containers"][0]["volumeMounts"] = b["volumeMounts"].clone();
    assert_eq!(&a2, before);
}

#[test]
fn golden_has_the_shape_the_seed_was_written_for() {
    let g = golden();
    assert_eq!(g.len(), 17);
    let d = discovery(istiod(&g));
    assert_eq!(d["args"].as_array().map(Vec::len), Some(7));
    assert_eq!(d["volumeMounts"].as_array().map(Vec::len), Some(6));
    assert_eq!(
        istiod(&g)["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .map(Vec::len),
        Some(6)
    );
}

#[test]
fn nested_overlays_of_the_seed_give_the_expected_istiod() {
    let mut iop = yaml(&data("tsb-istiocontrolplane.bare.yaml"));
    let before = golden();
    let mut manifests = before.clone();
    apply_nested(&mut iop, &cp_overlays(), &mut manifests).expect("nested overlays apply");

    // IstioOperator level.
    assert_eq!(
        iop["spec"]["values"]["global"]["caAddress"],
        "cert-manager-istio-csr.cert-manager.svc:443"
    );
    assert_eq!(
        iop["spec"]["components"]["pilot"]["k8s"]["env"],
        json!([{"name": "ENABLE_CA_SERVER", "value": "false"}])
    );
    assert_eq!(
        iop["spec"]["components"]["pilot"]["k8s"]["resources"]["requests"]["cpu"],
        "500m"
    );
    let comps = component_overlays(&iop).expect("component overlays");
    assert_eq!(comps.len(), 1);
    assert_eq!(comps[0].component, "pilot");
    assert_eq!(comps[0].overlays[0].patches.len(), 7);

    // Deployment level.
    check_istiod(istiod(&before), istiod(&manifests));
    let changed: Vec<_> = before
        .iter()
        .zip(&manifests)
        .filter(|(b, a)| b != a)
        .collect();
    assert_eq!(changed.len(), 1, "only istiod changes");
}

#[test]
fn robust_overlays_give_the_same_istiod() {
    let before = golden();
    let mut manifests = before.clone();
    let overlays = K8sObjectOverlay::list_from_value(
        "robust",
        &yaml(&data("examples/istiod-vault-ca.overlays.yaml")),
    )
    .expect("overlays");
    apply_overlays(&mut manifests, &overlays).expect("apply");
    check_istiod(istiod(&before), istiod(&manifests));
}

#[test]
fn explain_shows_the_indices_the_seed_hits() {
    let g = golden();
    let overlays =
        K8sObjectOverlay::list_from_value("seed", &yaml(&data("seed-istiod.overlays.yaml")))
            .expect("overlays");
    let ex = explain(istiod(&g), &overlays[0].patches);
    let got: Vec<Value> = ex
        .iter()
        .map(|e| {
            assert!(e.error.is_none());
            serde_json::to_value(&e.operations).expect("ops serialize")
        })
        .collect();
    let c = "/spec/template/spec/containers/0";
    assert_eq!(
        got[0],
        json!([{"op": "add", "path": format!("{c}/args/7"), "value": "--tlsCertFile=/etc/cert-manager/tls/tls.crt"}])
    );
    assert_eq!(
        got[2],
        json!([{"op": "add", "path": format!("{c}/args/9"), "value": "--caCertFile=/etc/cert-manager/ca/root-cert.pem"}])
    );
    assert_eq!(got[3][0]["path"], format!("{c}/volumeMounts/6"));
    assert_eq!(got[6][0]["path"], "/spec/template/spec/volumes/7");
    // The operations, applied with json-patch, give what the engine gives.
    let mut via_ops = istiod(&g).clone();
    for e in &ex {
        json_patch::patch(&mut via_ops, &e.operations).expect("ops apply");
    }
    let mut direct = g.clone();
    apply_overlays(&mut direct, &overlays).expect("apply");
    assert_eq!(&via_ops, istiod(&direct));
}

#[test]
fn on_a_longer_args_list_the_seed_overwrites() {
    // If istiod gains an argument (a newer chart), args[7] lands on it.
    let mut g = golden();
    let d = g
        .iter_mut()
        .find(|m| m["kind"] == "Deployment")
        .expect("deployment");
    d["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array_mut()
        .expect("args")
        .push(json!("--newFlag=1"));
    let overlays =
        K8sObjectOverlay::list_from_value("seed", &yaml(&data("seed-istiod.overlays.yaml")))
            .expect("overlays");
    apply_overlays(&mut g, &overlays).expect("apply");
    let args = &discovery(istiod(&g))["args"];
    assert_eq!(args[7], "--tlsCertFile=/etc/cert-manager/tls/tls.crt");
    assert!(
        !args
            .as_array()
            .expect("args")
            .contains(&json!("--newFlag=1")),
        "the new flag is silently lost"
    );
}
