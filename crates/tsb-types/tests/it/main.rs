//! tsb-types tests: golden builders, lossless round trips, the CRD's structural schema, and
//! the builder's overlays applied by `istio-overlay` to Istio's rendered istiod. No network.

mod crd;
mod golden;
mod overlays;
mod roundtrip;

/// Reads a file under the workspace's `testdata/`.
pub fn data(name: &str) -> String {
    let path = format!("{}/../../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// Parses a YAML file under the workspace's `testdata/` to JSON.
pub fn yaml(name: &str) -> serde_json::Value {
    serde_yaml::from_str(&data(name)).unwrap_or_else(|e| panic!("parsing {name}: {e}"))
}

/// Test inputs TSB requires on every ControlPlane.
pub fn tsb_required(builder: tsb_types::ControlPlaneBuilder) -> tsb_types::ControlPlaneBuilder {
    use tsb_types::*;
    builder
        .hub("<registry>")
        .management_plane(ManagementPlaneSettings {
            host: Some("<tsb-host>".into()),
            port: Some(8443),
            cluster_name: Some("<cluster>".into()),
            ..Default::default()
        })
        .telemetry_store(TelemetryStore {
            elastic: Some(ElasticSettings {
                host: Some("<tsb-host>".into()),
                port: Some(8443),
                version: Some(7),
                self_signed: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        })
}
