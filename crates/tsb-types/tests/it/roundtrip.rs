//! Realistic manifests parse and serialize back unchanged, unknown fields included.

use serde_json::{Value, json};
use tsb_types::*;

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(original: &Value) -> T {
    let typed: T = serde_json::from_value(original.clone()).expect("typed parse");
    assert_eq!(
        &serde_json::to_value(&typed).expect("serializes"),
        original,
        "round trip changed the manifest"
    );
    typed
}

#[test]
fn seed_control_plane_round_trips() {
    let cp: ControlPlane = round_trip(&crate::yaml("control-plane.example.yaml"));
    assert_eq!(cp.spec.hub.as_deref(), Some("<registry>"));
    let overlays = cp.spec.istio_overlays();
    assert_eq!(overlays.len(), 1);
    assert_eq!(overlays[0].kind, "IstioOperator");
    assert_eq!(overlays[0].patches.len(), 3);
}

#[test]
fn control_plane_with_fields_we_do_not_model_round_trips() {
    let original = json!({
        "apiVersion": "install.tetrate.io/v1alpha1",
        "kind": "ControlPlane",
        "metadata": {"name": "controlplane", "namespace": "istio-system"},
        "spec": {
            "hub": "registry.example.com/tetrate",
            "imagePullSecrets": [{"name": "regcred"}],
            "managementPlane": {"host": "tsb.example.com", "port": 8443, "clusterName": "demo", "selfSigned": true, "tenant": "t1"},
            "telemetryStore": {"elastic": {"host": "es", "port": 9200, "version": 7, "protocol": "https", "indexPrefix": "tsb"}, "postgres": {"host": "pg"}},
            "meshExpansion": {"onboarding": {"endpoint": {"hosts": ["vm.example.com"]}}},
            "meshObservability": {"settings": {"apiEndpointMetricsEnabled": true}},
            "tier1Cluster": false,
            "components": {
                "istio": {
                    "traceSamplingRate": 100,
                    "trustDomain": "cluster.local",
                    "defaultWorkloadCertTTL": "24h",
                    "maxWorkloadCertTTL": "48h",
                    "kubeSpec": {
                        "deployment": {"replicaCount": 2, "hpaSpec": {"maxReplicas": 3}},
                        "service": {"type": "ClusterIP"},
                        "CNI": {"chained": true, "binaryDirectory": "/opt/cni/bin"},
                        "overlays": [],
                        "job": {"podAnnotations": {"a": "b"}}
                    },
                    "pilotOverlays": [{"kind": "Deployment", "name": "istiod", "patches": [{"path": "spec.replicas", "value": 3}]}],
                    "isolationBoundaries": [{"name": "global"}]
                },
                "xcp": {"kubeSpec": {"overlays": [{"apiVersion": "install.xcp.tetrate.io/v1alpha1", "kind": "EdgeXcp", "name": "edge-xcp", "patches": [{"path": "spec.logLevels", "value": {"all": "debug"}}]}]}, "centralAuthMode": "JWT"},
                "oap": {"kubeSpec": {"deployment": {"resources": {"limits": {"memory": "4Gi"}}}}, "streamingLogEnabled": true},
                "collector": {"kubeSpec": {"service": {"annotations": {"x": "y"}}}},
                "gitops": {"enabled": true, "reconcileInterval": "600s"}
            }
        },
        "status": {"phase": "READY", "components": {"istio": {"status": "READY"}}}
    });
    let cp: ControlPlane = round_trip(&original);
    let istio = cp
        .spec
        .components
        .as_ref()
        .and_then(|c| c.istio.as_ref())
        .expect("istio");
    assert_eq!(
        istio
            .trace_sampling_rate
            .as_ref()
            .and_then(serde_json::Number::as_f64),
        Some(100.0)
    );
    assert_eq!(istio.default_workload_cert_ttl.as_deref(), Some("24h"));
    assert!(istio.extra.contains_key("isolationBoundaries"));
    assert!(cp.spec.extra.contains_key("tier1Cluster"));
}

#[test]
fn tsb_istio_operator_round_trips_with_typed_access() {
    let original = crate::yaml("tsb-istiocontrolplane.full.yaml");
    let iop: IstioOperator = round_trip(&original);
    let spec = &iop.spec;
    assert_eq!(spec.profile.as_deref(), Some("default"));
    assert_eq!(spec.ca_address(), None);
    let values = spec.values.as_ref().expect("values");
    assert_eq!(values.mesh_id(), Some("tsb"));
    assert_eq!(values.cluster_name(), Some("demo"));
    assert_eq!(values.network(), Some("demo-net"));
    assert_eq!(values.pilot_cert_provider(), Some("istiod"));
    let pilot = spec.pilot_k8s().expect("pilot k8s");
    assert_eq!(
        pilot.env_value("PILOT_ENABLE_WORKLOAD_ENTRY_AUTOREGISTRATION"),
        Some("true")
    );
    assert_eq!(pilot.replica_count, Some(1));
    assert!(pilot.extra.contains_key("futureField"));
    assert!(spec.extra.contains_key("installPackagePath"));
    let components = spec.components.as_ref().expect("components");
    assert!(components.extra.contains_key("futureComponent"));
    assert_eq!(components.ingress_gateways.as_ref().map(Vec::len), Some(1));
    assert!(
        iop.status
            .as_ref()
            .is_some_and(|s| s.fields.contains_key("componentStatus"))
    );

    // Typed edits keep everything else.
    let mut edited = iop.clone();
    edited
        .spec
        .values_mut()
        .set_ca_address("cert-manager-istio-csr.cert-manager.svc:443")
        .expect("sets");
    let mut expected = original.clone();
    expected["spec"]["values"]["global"]["caAddress"] =
        json!("cert-manager-istio-csr.cert-manager.svc:443");
    assert_eq!(serde_json::to_value(&edited).expect("serializes"), expected);
}

#[test]
fn istio_operator_tag_may_be_a_number() {
    let original = json!({"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator",
        "metadata": {"name": "x"}, "spec": {"tag": 1.9, "components": {"pilot": {"tag": "1.9.0"}}}});
    let _: IstioOperator = round_trip(&original);
}
