//! The N-object workload shared by `benches/overlay.rs` and `examples/throughput.rs`: a
//! Deployment-like object per index, and an overlay of 10 patches on it (`[-1]` appends,
//! `[name:…]`, `[port:…]`, a regex selector, sets and a delete).

use istio_overlay::K8sObjectOverlay;
use serde_json::{Value, json};

/// Deployment `app-{i}` in namespace `ns`.
pub fn object(i: usize) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": format!("app-{i}"), "namespace": "ns", "labels": {"app": format!("app-{i}")}},
        "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": format!("app-{i}")}}, "spec": {
            "containers": [
                {"name": "app", "image": "app:1", "args": ["serve", "--port=8080", "--log=info", "--x", "1"],
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}],
                 "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 15010, "name": "grpc"}],
                 "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
                {"name": "sidecar", "image": "proxy:1", "args": ["proxy"]}
            ],
            "volumes": [{"name": "data", "emptyDir": {}}]
        }}}
    })
}

/// The 10 patches applied to [`object`]`(i)`.
pub fn overlay(i: usize) -> K8sObjectOverlay {
    let c = "spec.template.spec.containers.[name:app]";
    K8sObjectOverlay::new("Deployment", format!("app-{i}"))
        .patch(format!("{c}.args[-1]"), json!("--tls=true"))
        .patch(format!("{c}.args.[--log]"), json!("--log=debug"))
        .patch(format!("{c}.env.[name:B].value"), json!("20"))
        .patch(format!("{c}.env[-1]"), json!({"name": "D", "value": "4"}))
        .patch(
            format!("{c}.ports.[containerPort:15010].name"),
            json!("grpc-xds"),
        )
        .patch(
            format!("{c}.volumeMounts[-1]"),
            json!({"name": "certs", "mountPath": "/certs", "readOnly": true}),
        )
        .patch(
            "spec.template.spec.volumes[-1]",
            json!({"name": "certs", "secret": {"secretName": "tls"}}),
        )
        .patch("spec.replicas", json!(3))
        .patch(r"metadata.annotations.example\.com/patched", json!("yes"))
        .patch("spec.template.spec.containers.[name:sidecar]", None)
}
