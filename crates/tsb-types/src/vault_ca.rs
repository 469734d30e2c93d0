//! The flow's ControlPlane: istiod gets its certificates from istio-csr (and so from Vault).
//!
//! TSB applies `spec.components.istio.kubeSpec.overlays` to the `IstioOperator` it generates
//! (`tsb-istiocontrolplane`); that IstioOperator's pilot `k8s.overlays` are then applied by
//! Istio to the istiod Deployment it renders. The overlays built here:
//!
//! 1. set `spec.values.global.caAddress` to istio-csr's address;
//! 2. give istiod `ENABLE_CA_SERVER=false` (istiod stops being a CA);
//! 3. add a Deployment overlay that passes istiod the `istiod-tls` key pair and the root CA
//!    (`--tlsCertFile`, `--tlsKeyFile`, `--caCertFile`), mounting the `istiod-tls` Secret and
//!    the `istio-ca-root-cert` ConfigMap.
//!
//! [`PatchStyle::Robust`] (the default) appends with `[-1]` and selects the container by name,
//! so it holds whatever istiod's chart already has; [`PatchStyle::SeedExact`] reproduces the
//! seed's fixed indices (`args[7..9]`, `volumeMounts[6..7]`, `volumes[6..7]`) and its
//! whole-list replacement of `env` and `overlays`, which overwrite whatever sits there.

use istio_overlay::{K8sObjectOverlay, Patch};
use serde_json::{Value, json};

use crate::control_plane::{
    ControlPlane, ControlPlaneSpec, ManagementPlaneSettings, TelemetryStore,
};
use crate::error::{Error, Result};

/// Names and paths the seed flow uses.
pub mod seed {
    /// Namespace of the ControlPlane (and of istiod).
    pub const NAMESPACE: &str = "istio-system";
    /// Name of the ControlPlane.
    pub const CONTROL_PLANE_NAME: &str = "controlplane";
    /// Name of the IstioOperator TSB generates.
    pub const ISTIO_OPERATOR_NAME: &str = "tsb-istiocontrolplane";
    /// istio-csr's address, as `global.caAddress`.
    pub const CA_ADDRESS: &str = "cert-manager-istio-csr.cert-manager.svc:443";
    /// Secret with istiod's serving key pair (made by istio-csr's `istiod` Certificate).
    pub const ISTIOD_TLS_SECRET: &str = "istiod-tls";
    /// ConfigMap istio-csr publishes with the root CA (key `root-cert.pem`).
    pub const ROOT_CA_CONFIGMAP: &str = "istio-ca-root-cert";
    /// Where the key pair is mounted in istiod.
    pub const TLS_MOUNT_PATH: &str = "/etc/cert-manager/tls";
    /// Where the root CA is mounted in istiod.
    pub const CA_MOUNT_PATH: &str = "/etc/cert-manager/ca";
    /// Volume name of the key pair.
    pub const TLS_VOLUME: &str = "cert-manager";
    /// Volume name of the root CA.
    pub const CA_VOLUME: &str = "ca-root-cert";
    /// Name of istiod's Deployment and of its container.
    pub const ISTIOD_DEPLOYMENT: &str = "istiod";
    /// Name of istiod's container.
    pub const DISCOVERY_CONTAINER: &str = "discovery";
    /// The seed's first free discovery arg index (istiod had 7 args).
    pub const FIRST_ARG_INDEX: usize = 7;
    /// The seed's first free volume / volumeMount index (istiod had 6 of each).
    pub const FIRST_VOLUME_INDEX: usize = 6;
}

/// How the overlays address list entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PatchStyle {
    /// Append with `[-1]`, select the container by `[name:discovery]`: correct whatever the
    /// chart already has. Passes `istio-overlay lint` with no finding.
    #[default]
    Robust,
    /// The seed's patches: fixed indices fitted to one chart version, and whole-list
    /// replacement of the pilot `env` and `overlays`. Flagged by `istio-overlay lint`.
    SeedExact,
}

/// Where istiod finds its TLS material; the seed's values are [`IstiodTlsMounts::seed_flow`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IstiodTlsMounts {
    /// Secret with `tls.crt`/`tls.key` for istiod.
    pub tls_secret: String,
    /// ConfigMap with `root-cert.pem`.
    pub root_ca_configmap: String,
    /// Mount directory of the key pair.
    pub tls_mount_path: String,
    /// Mount directory of the root CA.
    pub ca_mount_path: String,
    /// Volume name of the key pair.
    pub tls_volume: String,
    /// Volume name of the root CA.
    pub ca_volume: String,
}

impl IstiodTlsMounts {
    /// The seed's mounts: Secret `istiod-tls` at `/etc/cert-manager/tls` (volume
    /// `cert-manager`), ConfigMap `istio-ca-root-cert` at `/etc/cert-manager/ca` (volume
    /// `ca-root-cert`).
    pub fn seed_flow() -> Self {
        Self {
            tls_secret: seed::ISTIOD_TLS_SECRET.into(),
            root_ca_configmap: seed::ROOT_CA_CONFIGMAP.into(),
            tls_mount_path: seed::TLS_MOUNT_PATH.into(),
            ca_mount_path: seed::CA_MOUNT_PATH.into(),
            tls_volume: seed::TLS_VOLUME.into(),
            ca_volume: seed::CA_VOLUME.into(),
        }
    }

    /// The three discovery args: `--tlsCertFile`, `--tlsKeyFile`, `--caCertFile`.
    pub fn args(&self) -> [String; 3] {
        [
            format!("--tlsCertFile={}/tls.crt", self.tls_mount_path),
            format!("--tlsKeyFile={}/tls.key", self.tls_mount_path),
            format!("--caCertFile={}/root-cert.pem", self.ca_mount_path),
        ]
    }

    /// The two volume mounts, as JSON.
    pub fn volume_mounts(&self) -> [Value; 2] {
        [
            json!({"name": self.tls_volume, "mountPath": self.tls_mount_path, "readOnly": true}),
            json!({"name": self.ca_volume, "mountPath": self.ca_mount_path, "readOnly": true}),
        ]
    }

    /// The two volumes, as JSON.
    pub fn volumes(&self) -> [Value; 2] {
        [
            json!({"name": self.tls_volume, "secret": {"secretName": self.tls_secret}}),
            json!({"name": self.ca_volume, "configMap": {"defaultMode": 420, "name": self.root_ca_configmap}}),
        ]
    }
}

fn patch(path: impl Into<String>, value: Value) -> Patch {
    Patch {
        path: path.into(),
        value: Some(value),
    }
}

/// The overlay Istio applies to istiod's Deployment: args, mounts and volumes.
pub fn istiod_deployment_overlay(mounts: &IstiodTlsMounts, style: PatchStyle) -> K8sObjectOverlay {
    let container = format!(
        "spec.template.spec.containers.[name:{}]",
        seed::DISCOVERY_CONTAINER
    );
    // The list position a patch writes: `[-1]` (append), or the seed's fixed index.
    let at = |first: usize, i: usize| match style {
        PatchStyle::SeedExact => format!("[{}]", first + i),
        PatchStyle::Robust => "[-1]".to_owned(),
    };
    let arg = |i| at(seed::FIRST_ARG_INDEX, i);
    let mount = |i| at(seed::FIRST_VOLUME_INDEX, i);
    let volume = |i| at(seed::FIRST_VOLUME_INDEX, i);
    let mut patches = Vec::new();
    for (i, a) in mounts.args().into_iter().enumerate() {
        patches.push(patch(
            format!("{container}.args{}", arg(i)),
            Value::String(a),
        ));
    }
    for (i, m) in mounts.volume_mounts().into_iter().enumerate() {
        patches.push(patch(format!("{container}.volumeMounts{}", mount(i)), m));
    }
    for (i, v) in mounts.volumes().into_iter().enumerate() {
        patches.push(patch(format!("spec.template.spec.volumes{}", volume(i)), v));
    }
    K8sObjectOverlay {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: seed::ISTIOD_DEPLOYMENT.into(),
        namespace: None,
        patches,
    }
}

/// Builds the overlay TSB applies to its generated `IstioOperator`, pointing istiod at
/// istio-csr.
///
/// Required: [`ca_address`](Self::ca_address) (or use [`VaultCaOverlayBuilder::seed_flow`]).
/// Optional: [`fit_to`](Self::fit_to) the IstioOperator it will patch, when known.
#[derive(Clone, Debug)]
pub struct VaultCaOverlayBuilder {
    istio_operator_name: String,
    ca_address: Option<String>,
    mounts: IstiodTlsMounts,
    style: PatchStyle,
    target: Option<Value>,
}

impl Default for VaultCaOverlayBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl VaultCaOverlayBuilder {
    /// A builder targeting `IstioOperator tsb-istiocontrolplane` with the seed's mounts and
    /// [`PatchStyle::Robust`]; the CA address must be given.
    pub fn new() -> Self {
        Self {
            istio_operator_name: seed::ISTIO_OPERATOR_NAME.into(),
            ca_address: None,
            mounts: IstiodTlsMounts::seed_flow(),
            style: PatchStyle::Robust,
            target: None,
        }
    }

    /// The seed flow's overlay: CA address `cert-manager-istio-csr.cert-manager.svc:443`.
    pub fn seed_flow() -> Self {
        Self::new().ca_address(seed::CA_ADDRESS)
    }

    /// Name of the IstioOperator TSB generates.
    pub fn istio_operator_name(mut self, name: impl Into<String>) -> Self {
        self.istio_operator_name = name.into();
        self
    }

    /// istio-csr's address (`host:port`), written to `values.global.caAddress`.
    pub fn ca_address(mut self, address: impl Into<String>) -> Self {
        self.ca_address = Some(address.into());
        self
    }

    /// Where istiod's TLS material is mounted.
    pub fn mounts(mut self, mounts: IstiodTlsMounts) -> Self {
        self.mounts = mounts;
        self
    }

    /// Robust (default) or seed-exact patches.
    pub fn patch_style(mut self, style: PatchStyle) -> Self {
        self.style = style;
        self
    }

    /// Fits the robust patches to the IstioOperator TSB generates (as JSON), when it is known:
    ///
    /// - no pilot `k8s.env` list: the whole list is written (`[-1]` would create a key named
    ///   `[-1]` in a map); an `ENABLE_CA_SERVER` entry already there: its value is set by
    ///   `[name:ENABLE_CA_SERVER]`; otherwise the entry is appended with `[-1]`;
    /// - no pilot `k8s.overlays` list: the whole list is written; one overlay already targets
    ///   `Deployment istiod`: the patches are appended to *its* patches (Istio keeps only the
    ///   last overlay for an object, so a second overlay would undo the first); otherwise the
    ///   overlay is appended with `[-1]`.
    ///
    /// Without a target, the robust style assumes both lists exist (TSB's generated
    /// IstioOperator sets pilot env) and appends. No effect on [`PatchStyle::SeedExact`].
    pub fn fit_to(mut self, istio_operator: &Value) -> Self {
        self.target = Some(istio_operator.clone());
        self
    }

    /// [`fit_to`](Self::fit_to) with a typed IstioOperator.
    pub fn fit_to_operator(self, istio_operator: &crate::IstioOperator) -> Result<Self> {
        let value = serde_json::to_value(istio_operator).map_err(|source| Error::Json {
            what: "IstioOperator",
            source,
        })?;
        Ok(self.fit_to(&value))
    }

    fn robust_patches(
        &self,
        ca_address: &str,
        deployment: &K8sObjectOverlay,
    ) -> Result<Vec<Patch>> {
        let env = json!({"name": "ENABLE_CA_SERVER", "value": "false"});
        let deployment_json = serde_json::to_value(deployment).map_err(|source| Error::Json {
            what: "istiod Deployment overlay",
            source,
        })?;
        let pilot_k8s = self
            .target
            .as_ref()
            .map(|t| t.pointer("/spec/components/pilot/k8s"));
        let mut patches = vec![patch("spec.values.global.caAddress", json!(ca_address))];
        // env
        match pilot_k8s.map(|k| k.and_then(|k| k.get("env"))) {
            Some(Some(Value::Array(list))) => {
                if list
                    .iter()
                    .any(|e| e.get("name").and_then(Value::as_str) == Some("ENABLE_CA_SERVER"))
                {
                    patches.push(patch(
                        "spec.components.pilot.k8s.env.[name:ENABLE_CA_SERVER].value",
                        json!("false"),
                    ));
                } else {
                    patches.push(patch("spec.components.pilot.k8s.env[-1]", env));
                }
            }
            Some(_) => patches.push(patch("spec.components.pilot.k8s.env", json!([env]))),
            None => patches.push(patch("spec.components.pilot.k8s.env[-1]", env)),
        }
        // overlays
        match pilot_k8s.map(|k| k.and_then(|k| k.get("overlays"))) {
            Some(Some(Value::Array(list))) => {
                let istiod: Vec<&Value> = list
                    .iter()
                    .filter(|o| {
                        o.get("kind").and_then(Value::as_str) == Some("Deployment")
                            && o.get("name").and_then(Value::as_str)
                                == Some(seed::ISTIOD_DEPLOYMENT)
                    })
                    .collect();
                let named_istiod = list
                    .iter()
                    .filter(|o| {
                        o.get("name").and_then(Value::as_str) == Some(seed::ISTIOD_DEPLOYMENT)
                    })
                    .count();
                if istiod.len() == 1 && named_istiod == 1 {
                    let has_patches = istiod[0].get("patches").is_some_and(Value::is_array);
                    if has_patches {
                        for p in &deployment.patches {
                            let value = serde_json::to_value(p).map_err(|source| Error::Json {
                                what: "overlay patch",
                                source,
                            })?;
                            patches.push(patch(
                                format!(
                                    "spec.components.pilot.k8s.overlays.[name:{}].patches[-1]",
                                    seed::ISTIOD_DEPLOYMENT
                                ),
                                value,
                            ));
                        }
                    } else {
                        patches.push(patch(
                            format!(
                                "spec.components.pilot.k8s.overlays.[name:{}].patches",
                                seed::ISTIOD_DEPLOYMENT
                            ),
                            deployment_json
                                .get("patches")
                                .cloned()
                                .unwrap_or(Value::Array(Vec::new())),
                        ));
                    }
                } else {
                    patches.push(patch(
                        "spec.components.pilot.k8s.overlays[-1]",
                        deployment_json,
                    ));
                }
            }
            Some(_) => patches.push(patch(
                "spec.components.pilot.k8s.overlays",
                json!([deployment_json]),
            )),
            None => patches.push(patch(
                "spec.components.pilot.k8s.overlays[-1]",
                deployment_json,
            )),
        }
        Ok(patches)
    }

    /// Builds the IstioOperator overlay.
    pub fn build(&self) -> Result<K8sObjectOverlay> {
        let ca_address = match self.ca_address.as_deref() {
            Some(a) if !a.is_empty() => a,
            _ => {
                return Err(Error::MissingField {
                    object: "IstioOperator overlay",
                    field: "ca_address",
                });
            }
        };
        let deployment = istiod_deployment_overlay(&self.mounts, self.style);
        let patches = match self.style {
            PatchStyle::SeedExact => {
                let deployment =
                    serde_json::to_value(&deployment).map_err(|source| Error::Json {
                        what: "istiod Deployment overlay",
                        source,
                    })?;
                vec![
                    patch("spec.values.global.caAddress", json!(ca_address)),
                    patch(
                        "spec.components.pilot.k8s.env",
                        json!([{"name": "ENABLE_CA_SERVER", "value": "false"}]),
                    ),
                    patch("spec.components.pilot.k8s.overlays", json!([deployment])),
                ]
            }
            PatchStyle::Robust => self.robust_patches(ca_address, &deployment)?,
        };
        Ok(K8sObjectOverlay {
            api_version: "install.istio.io/v1alpha1".into(),
            kind: "IstioOperator".into(),
            name: self.istio_operator_name.clone(),
            namespace: None,
            patches,
        })
    }

    /// Adds the overlay to a ControlPlane's `components.istio.kubeSpec.overlays`, keeping
    /// every other overlay.
    pub fn apply_to(&self, control_plane: &mut ControlPlane) -> Result<()> {
        let overlay = self.build()?;
        control_plane.spec.istio_overlays_mut().push(overlay);
        Ok(())
    }
}

/// Builds the flow's `ControlPlane`: TSB's required settings plus the Vault-CA overlay.
///
/// Required: [`name`](Self::name), [`namespace`](Self::namespace), [`hub`](Self::hub),
/// [`management_plane`](Self::management_plane), [`telemetry_store`](Self::telemetry_store),
/// and the overlay's CA address.
#[derive(Clone, Debug, Default)]
pub struct ControlPlaneBuilder {
    name: Option<String>,
    namespace: Option<String>,
    hub: Option<String>,
    management_plane: Option<ManagementPlaneSettings>,
    telemetry_store: Option<TelemetryStore>,
    trust_domain: Option<String>,
    overlay: Option<VaultCaOverlayBuilder>,
}

impl ControlPlaneBuilder {
    /// An empty builder (no overlay until [`vault_ca`](Self::vault_ca) is called).
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder preset with the seed's `istio-system/controlplane` and the seed's Vault-CA
    /// overlay in [`PatchStyle::Robust`]; hub, management plane and telemetry store must
    /// still be given.
    pub fn seed_flow() -> Self {
        Self::new()
            .name(seed::CONTROL_PLANE_NAME)
            .namespace(seed::NAMESPACE)
            .vault_ca(VaultCaOverlayBuilder::seed_flow())
    }

    /// Name of the ControlPlane.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Namespace of the ControlPlane.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Image registry.
    pub fn hub(mut self, hub: impl Into<String>) -> Self {
        self.hub = Some(hub.into());
        self
    }

    /// Management plane connection.
    pub fn management_plane(mut self, management_plane: ManagementPlaneSettings) -> Self {
        self.management_plane = Some(management_plane);
        self
    }

    /// Telemetry store.
    pub fn telemetry_store(mut self, telemetry_store: TelemetryStore) -> Self {
        self.telemetry_store = Some(telemetry_store);
        self
    }

    /// Mesh trust domain (`components.istio.trustDomain`).
    pub fn trust_domain(mut self, trust_domain: impl Into<String>) -> Self {
        self.trust_domain = Some(trust_domain.into());
        self
    }

    /// The Vault-CA overlay to add.
    pub fn vault_ca(mut self, overlay: VaultCaOverlayBuilder) -> Self {
        self.overlay = Some(overlay);
        self
    }

    /// Switches the Vault-CA overlay's patch style (no effect without an overlay).
    pub fn patch_style(mut self, style: PatchStyle) -> Self {
        self.overlay = self.overlay.map(|o| o.patch_style(style));
        self
    }

    /// Builds the ControlPlane.
    pub fn build(&self) -> Result<ControlPlane> {
        const OBJECT: &str = "ControlPlane";
        let missing = |field| Error::MissingField {
            object: OBJECT,
            field,
        };
        let name = self
            .name
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("name"))?;
        let namespace = self
            .namespace
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("namespace"))?;
        let hub = self
            .hub
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("hub"))?;
        let management_plane = self
            .management_plane
            .clone()
            .ok_or_else(|| missing("management_plane"))?;
        let telemetry_store = self
            .telemetry_store
            .clone()
            .ok_or_else(|| missing("telemetry_store"))?;
        let mut control_plane = ControlPlane::new(
            &name,
            ControlPlaneSpec {
                hub: Some(hub),
                management_plane: Some(management_plane),
                telemetry_store: Some(telemetry_store),
                ..ControlPlaneSpec::default()
            },
        );
        control_plane.metadata.namespace = Some(namespace);
        if let Some(trust_domain) = &self.trust_domain {
            control_plane
                .spec
                .components
                .get_or_insert_with(Default::default)
                .istio
                .get_or_insert_with(Default::default)
                .trust_domain = Some(trust_domain.clone());
        }
        if let Some(overlay) = &self.overlay {
            overlay.apply_to(&mut control_plane)?;
        }
        Ok(control_plane)
    }
}
