//! The TSB ControlPlane `<ns>/controlplane` (seed step 8), built with `tsb-types`: the
//! IstioOperator overlays that point Istio at istio-csr and give istiod the
//! cert-manager-issued serving certificate (robust overlays, by container name), fitted to
//! TSB's IstioOperator when it is given.

use tsb_types::{
    ControlPlaneBuilder, ElasticSettings, ManagementPlaneSettings, TelemetryStore,
    VaultCaOverlayBuilder,
};

use crate::config::TsbSettings;

/// What the ControlPlane is built from.
#[derive(Debug, Clone, Copy)]
pub struct ControlPlaneInput<'a> {
    /// Istio's namespace.
    pub namespace: &'a str,
    /// The trust domain.
    pub trust_domain: &'a str,
    /// The Istio cluster ID (the ControlPlane's cluster name).
    pub cluster_id: &'a str,
    /// TSB's settings.
    pub tsb: &'a TsbSettings,
    /// TSB's IstioOperator, to fit the overlays to, if known.
    pub istio_operator: Option<&'a serde_json::Value>,
}

/// The ControlPlane as an object.
pub fn build(input: &ControlPlaneInput<'_>) -> Result<tsb_types::ControlPlane, tsb_types::Error> {
    let mut overlay = VaultCaOverlayBuilder::seed_flow();
    if let Some(iop) = input.istio_operator {
        overlay = overlay.fit_to(iop);
    }
    ControlPlaneBuilder::seed_flow()
        .vault_ca(overlay)
        .namespace(input.namespace)
        .hub(&input.tsb.hub)
        .trust_domain(input.trust_domain)
        .management_plane(ManagementPlaneSettings {
            host: Some(input.tsb.host.clone()),
            port: Some(i32::from(input.tsb.port)),
            cluster_name: Some(input.cluster_id.to_string()),
            ..Default::default()
        })
        .telemetry_store(TelemetryStore {
            elastic: Some(ElasticSettings {
                host: Some(input.tsb.host.clone()),
                port: Some(i32::from(input.tsb.port)),
                version: Some(7),
                self_signed: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        })
        .build()
}
