//! The TSB ControlPlane `<ns>/controlplane` (seed step 8): the IstioOperator overlays that
//! point Istio at istio-csr and give istiod the cert-manager-issued serving certificate.

use crate::manifests::ManifestInput;

/// The ControlPlane as YAML.
pub fn yaml(input: &ManifestInput) -> Result<String, String> {
    let cp = serde_json::json!({
        "apiVersion": "install.tetrate.io/v1alpha1",
        "kind": "ControlPlane",
        "metadata": {"name": "controlplane", "namespace": input.namespace},
        "spec": {
            "components": {"istio": {
                "kubeSpec": {"overlays": [{
                    "apiVersion": "install.istio.io/v1alpha1",
                    "kind": "IstioOperator",
                    "name": "tsb-istiocontrolplane",
                    "patches": [
                        {"path": "spec.values.global.caAddress",
                         "value": "cert-manager-istio-csr.cert-manager.svc:443"},
                        {"path": "spec.components.pilot.k8s.env",
                         "value": [{"name": "ENABLE_CA_SERVER", "value": "false"}]},
                    ],
                }]},
            }},
        },
    });
    crate::manifests::to_yaml("ControlPlane", &cp)
}
