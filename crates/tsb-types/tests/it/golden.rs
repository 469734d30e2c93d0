//! Golden tests: each builder's JSON against a literal or the seed's reconstructed file.

use serde_json::{Value, json};
use tsb_types::*;

fn robust_deployment_patches() -> Value {
    json!([
        {"path": "spec.template.spec.containers.[name:discovery].args[-1]", "value": "--tlsCertFile=/etc/cert-manager/tls/tls.crt"},
        {"path": "spec.template.spec.containers.[name:discovery].args[-1]", "value": "--tlsKeyFile=/etc/cert-manager/tls/tls.key"},
        {"path": "spec.template.spec.containers.[name:discovery].args[-1]", "value": "--caCertFile=/etc/cert-manager/ca/root-cert.pem"},
        {"path": "spec.template.spec.containers.[name:discovery].volumeMounts[-1]", "value": {"name": "cert-manager", "mountPath": "/etc/cert-manager/tls", "readOnly": true}},
        {"path": "spec.template.spec.containers.[name:discovery].volumeMounts[-1]", "value": {"name": "ca-root-cert", "mountPath": "/etc/cert-manager/ca", "readOnly": true}},
        {"path": "spec.template.spec.volumes[-1]", "value": {"name": "cert-manager", "secret": {"secretName": "istiod-tls"}}},
        {"path": "spec.template.spec.volumes[-1]", "value": {"name": "ca-root-cert", "configMap": {"defaultMode": 420, "name": "istio-ca-root-cert"}}}
    ])
}

#[test]
fn robust_control_plane_golden() {
    let cp = crate::tsb_required(ControlPlaneBuilder::seed_flow())
        .build()
        .expect("builds");
    assert_eq!(
        serde_json::to_value(&cp).expect("serializes"),
        json!({
            "apiVersion": "install.tetrate.io/v1alpha1",
            "kind": "ControlPlane",
            "metadata": {"name": "controlplane", "namespace": "istio-system"},
            "spec": {
                "hub": "<registry>",
                "managementPlane": {"host": "<tsb-host>", "port": 8443, "clusterName": "<cluster>"},
                "telemetryStore": {"elastic": {"host": "<tsb-host>", "port": 8443, "version": 7, "selfSigned": true}},
                "components": {"istio": {"kubeSpec": {"overlays": [{
                    "apiVersion": "install.istio.io/v1alpha1",
                    "kind": "IstioOperator",
                    "name": "tsb-istiocontrolplane",
                    "patches": [
                        {"path": "spec.values.global.caAddress", "value": "cert-manager-istio-csr.cert-manager.svc:443"},
                        {"path": "spec.components.pilot.k8s.env[-1]", "value": {"name": "ENABLE_CA_SERVER", "value": "false"}},
                        {"path": "spec.components.pilot.k8s.overlays[-1]", "value": {
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "name": "istiod",
                            "patches": robust_deployment_patches()
                        }}
                    ]
                }]}}}
            }
        })
    );
}

/// The seed-exact variant reproduces the seed's reconstructed ControlPlane exactly.
#[test]
fn seed_exact_control_plane_equals_the_seed_file() {
    let cp = crate::tsb_required(ControlPlaneBuilder::seed_flow())
        .patch_style(PatchStyle::SeedExact)
        .build()
        .expect("builds");
    assert_eq!(
        serde_json::to_value(&cp).expect("serializes"),
        crate::yaml("control-plane.example.yaml")
    );
}

#[test]
fn overlay_builder_requires_a_ca_address() {
    let err = VaultCaOverlayBuilder::new()
        .build()
        .expect_err("must be refused");
    assert!(
        matches!(
            err,
            Error::MissingField {
                field: "ca_address",
                ..
            }
        ),
        "{err}"
    );
    let err = ControlPlaneBuilder::seed_flow()
        .build()
        .expect_err("must be refused");
    assert!(
        matches!(err, Error::MissingField { field: "hub", .. }),
        "{err}"
    );
    let err = crate::tsb_required(ControlPlaneBuilder::new().namespace("istio-system"))
        .build()
        .expect_err("must be refused");
    assert!(
        matches!(err, Error::MissingField { field: "name", .. }),
        "{err}"
    );
}

#[test]
fn fit_to_an_operator_without_pilot_lists_writes_whole_lists() {
    let iop = json!({"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator",
        "metadata": {"name": "tsb-istiocontrolplane"}, "spec": {"components": {"pilot": {"enabled": true}}}});
    let overlay = VaultCaOverlayBuilder::seed_flow()
        .fit_to(&iop)
        .build()
        .expect("builds");
    let paths: Vec<&str> = overlay.patches.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spec.values.global.caAddress",
            "spec.components.pilot.k8s.env",
            "spec.components.pilot.k8s.overlays"
        ]
    );
    assert_eq!(
        overlay.patches[1].value,
        Some(json!([{"name": "ENABLE_CA_SERVER", "value": "false"}]))
    );
    assert_eq!(
        overlay.patches[2]
            .value
            .as_ref()
            .map(|v| v[0]["patches"].clone()),
        Some(robust_deployment_patches())
    );
}

#[test]
fn fit_to_an_operator_with_an_istiod_overlay_extends_its_patches() {
    let iop = json!({"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator",
    "metadata": {"name": "tsb-istiocontrolplane"},
    "spec": {"components": {"pilot": {"k8s": {
        "env": [{"name": "ENABLE_CA_SERVER", "value": "true"}],
        "overlays": [{"kind": "Deployment", "name": "istiod", "patches": [{"path": "spec.replicas", "value": 2}]}]
    }}}}});
    let overlay = VaultCaOverlayBuilder::seed_flow()
        .fit_to(&iop)
        .build()
        .expect("builds");
    assert_eq!(
        overlay.patches[1].path,
        "spec.components.pilot.k8s.env.[name:ENABLE_CA_SERVER].value"
    );
    assert_eq!(overlay.patches[1].value, Some(json!("false")));
    assert_eq!(overlay.patches.len(), 2 + 7);
    for (p, expected) in overlay.patches[2..]
        .iter()
        .zip(robust_deployment_patches().as_array().into_iter().flatten())
    {
        assert_eq!(
            p.path,
            "spec.components.pilot.k8s.overlays.[name:istiod].patches[-1]"
        );
        assert_eq!(p.value.as_ref(), Some(expected));
    }
}

#[test]
fn values_accessors_read_and_write_dotted_paths() {
    let mut values = Values::new();
    assert_eq!(values.ca_address(), None);
    values
        .set_ca_address("cert-manager-istio-csr.cert-manager.svc:443")
        .expect("sets");
    values
        .set_path("global.multiCluster.clusterName", json!("demo"))
        .expect("sets");
    assert_eq!(
        serde_json::to_value(&values).expect("serializes"),
        json!({"global": {"caAddress": "cert-manager-istio-csr.cert-manager.svc:443", "multiCluster": {"clusterName": "demo"}}})
    );
    assert_eq!(
        values.ca_address(),
        Some("cert-manager-istio-csr.cert-manager.svc:443")
    );
    assert_eq!(values.cluster_name(), Some("demo"));
    assert_eq!(
        values.remove_path("global.multiCluster.clusterName"),
        Some(json!("demo"))
    );
    assert_eq!(values.cluster_name(), None);
    values
        .set_path("global.proxy", json!("not-a-map"))
        .expect("sets");
    let before = values.clone();
    let err = values
        .set_path("global.proxy.image", json!("x"))
        .expect_err("must be refused");
    assert!(matches!(err, Error::NotAMap { .. }), "{err}");
    assert!(err.to_string().contains("global.proxy.image"), "{err}");
    assert_eq!(values, before, "a failed set changes nothing");
    assert!(matches!(
        values.set_path("a..b", json!(1)),
        Err(Error::EmptyPathSegment { .. })
    ));
}
