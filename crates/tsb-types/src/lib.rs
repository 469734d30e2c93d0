//! Typed TSB `ControlPlane` and Istio `IstioOperator` models, and the ControlPlane that makes
//! istiod take its certificates from istio-csr (Vault as the mesh CA).
//!
//! ```no_run
//! use tsb_types::{ControlPlaneBuilder, ElasticSettings, ManagementPlaneSettings, TelemetryStore};
//!
//! # fn main() -> tsb_types::Result<()> {
//! let control_plane = ControlPlaneBuilder::seed_flow()
//!     .hub("registry.example.com/tetrate")
//!     .management_plane(ManagementPlaneSettings {
//!         host: Some("tsb.example.com".into()),
//!         port: Some(8443),
//!         cluster_name: Some("demo".into()),
//!         ..Default::default()
//!     })
//!     .telemetry_store(TelemetryStore {
//!         elastic: Some(ElasticSettings { host: Some("tsb.example.com".into()), port: Some(8443), ..Default::default() }),
//!         ..Default::default()
//!     })
//!     .build()?;
//! println!("{}", serde_yaml::to_string(&control_plane).unwrap_or_default());
//! # Ok(())
//! # }
//! ```
//!
//! Both kinds keep fields they do not model (`extra` on every struct), so a real manifest
//! survives a parse/serialize round trip unchanged. Overlay types are
//! [`istio_overlay::K8sObjectOverlay`] and [`istio_overlay::Patch`].
//! [`ControlPlane::crd()`](kube::CustomResourceExt::crd) yields a structural CRD schema that an
//! API server accepts, with `x-kubernetes-preserve-unknown-fields` on every open object.
#![forbid(unsafe_code)]

mod control_plane;
mod error;
mod istio_operator;
mod schema;
mod values;
mod vault_ca;

pub use control_plane::{
    ControlPlane, ControlPlaneComponentSet, ControlPlaneSpec, ControlPlaneStatus, ElasticSettings,
    GenericComponent, IstioComponent, IstioKubernetesSpec, KubernetesComponentSpec,
    ManagementPlaneSettings, TelemetryStore,
};
pub use error::{Error, Result};
pub use istio_operator::{
    ComponentSpec, GatewaySpec, IstioComponentSetSpec, IstioOperator, IstioOperatorSpec,
    IstioOperatorStatus, KubernetesResourcesSpec,
};
pub use istio_overlay::{K8sObjectOverlay, Patch};
pub use values::{CA_ADDRESS_PATH, Values};
pub use vault_ca::{
    ControlPlaneBuilder, IstiodTlsMounts, PatchStyle, VaultCaOverlayBuilder,
    istiod_deployment_overlay, seed,
};
