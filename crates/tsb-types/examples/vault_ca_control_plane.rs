//! Prints the flow's ControlPlane (robust patches, or the seed's with `--seed-exact`) and the
//! ControlPlane CRD.
//!
//! `cargo run -p tsb-types --example vault_ca_control_plane [-- --seed-exact | --crd]`

use kube::CustomResourceExt;
use tsb_types::{
    ControlPlane, ControlPlaneBuilder, ElasticSettings, ManagementPlaneSettings, PatchStyle,
    TelemetryStore,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = std::env::args().nth(1).unwrap_or_default();
    if arg == "--crd" {
        print!("{}", serde_yaml::to_string(&ControlPlane::crd())?);
        return Ok(());
    }
    let style = if arg == "--seed-exact" {
        PatchStyle::SeedExact
    } else {
        PatchStyle::Robust
    };
    let control_plane = ControlPlaneBuilder::seed_flow()
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
        .patch_style(style)
        .build()?;
    print!("{}", serde_yaml::to_string(&control_plane)?);
    Ok(())
}
