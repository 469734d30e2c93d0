//! The TSB ControlPlane `<ns>/controlplane` (seed step 8), built with `tsb-types`: the
//! IstioOperator overlays that point Istio at istio-csr and give istiod the
//! cert-manager-issued serving certificate (robust overlays, by container name), fitted to
//! TSB's IstioOperator when it is given.

use tsb_types::{
    ControlPlaneBuilder, ElasticSettings, ManagementPlaneSettings, TelemetryStore,
    VaultCaOverlayBuilder,
};

use crate::manifests::ManifestInput;

/// The ControlPlane as an object.
pub fn build(input: &ManifestInput) -> Result<tsb_types::ControlPlane, String> {
    let mut overlay = VaultCaOverlayBuilder::seed_flow();
    if let Some(iop) = &input.istio_operator {
        overlay = overlay.fit_to(iop);
    }
    ControlPlaneBuilder::seed_flow()
        .vault_ca(overlay)
        .namespace(&input.namespace)
        .hub(&input.tsb_hub)
        .trust_domain(&input.trust_domain)
        .management_plane(ManagementPlaneSettings {
            host: Some(input.tsb_host.clone()),
            port: Some(i32::from(input.tsb_port)),
            cluster_name: Some(input.cluster_id.clone()),
            ..Default::default()
        })
        .telemetry_store(TelemetryStore {
            elastic: Some(ElasticSettings {
                host: Some(input.tsb_host.clone()),
                port: Some(i32::from(input.tsb_port)),
                version: Some(7),
                self_signed: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        })
        .build()
        .map_err(|e| format!("ControlPlane: {e}"))
}

/// The ControlPlane as YAML.
pub fn yaml(input: &ManifestInput) -> Result<String, String> {
    crate::manifests::to_yaml("ControlPlane", &build(input)?)
}
