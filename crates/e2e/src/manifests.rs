//! The Kubernetes objects and Helm values of seed steps 6 to 8, built with
//! `certmanager-types` and `tsb-types`, and their YAML files.

use std::collections::BTreeMap;

use certmanager_types::{
    AppRoleSecretBuilder, Issuer, IssuerReference, IstioCsrValues, IstioCsrValuesBuilder,
    RootCaMount, VaultAppRoleIssuerBuilder, VaultKubernetesAuth, seed,
};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::config::{Auth, RunConfig};
use crate::control_plane::ControlPlaneInput;
use crate::error::Cause;

/// Names and values the objects are built from.
#[derive(Debug, Clone)]
pub struct ManifestInput<'a> {
    /// The run's configuration (namespace, trust domain, cluster ID, TSB settings,
    /// IstioOperator, AppRole mount, sign path).
    pub config: &'a RunConfig,
    /// The IstioOperator to fit the ControlPlane to: `--istio-operator`, else the cluster's.
    pub istio_operator: Option<&'a serde_json::Value>,
    /// The Vault address cert-manager uses.
    pub vault_server: String,
    /// The Vault namespace, if any.
    pub vault_namespace: Option<String>,
    /// PEM of the CA for Vault's TLS certificate (the Issuer's `caBundle`), if any.
    pub vault_ca_pem: Option<String>,
    /// With AppRole, the role-id and the secret-id; `None` with Kubernetes auth.
    pub approle: Option<(String, vault_pki::SecretString)>,
    /// The root CA, PEM.
    pub root_pem: String,
    /// What `istio-root-ca` holds instead of the root alone: during a root rotation's overlap,
    /// the old and the new root.
    pub trust_bundle_pem: Option<String>,
}

/// The namespace istio-csr and the `istio-root-ca` Secret live in.
pub const CERT_MANAGER_NAMESPACE: &str = "cert-manager";
/// The namespace of the verification workload (`foo/sleep`).
pub const WORKLOAD_NAMESPACE: &str = "foo";
/// The built objects.
#[derive(Clone)]
pub struct Manifests {
    /// Secret `<ns>/cert-manager-vault-approle` with `secretId` (AppRole only).
    pub approle_secret: Option<Secret>,
    /// Kubernetes auth only: the service accounts and RBAC, in order, each with its step name
    /// ([`crate::kubernetes_auth::objects`]).
    pub kubernetes_auth: Vec<(&'static str, serde_json::Value)>,
    /// Issuer `<ns>/vault-issuer`.
    pub issuer: Issuer,
    /// Secret `cert-manager/istio-root-ca`, key `ca.cert.pem` = the ROOT (see FACTS.md: the
    /// seed's step 7 puts the intermediate there, but istio-csr hands `rootCAFile` to workloads
    /// as their trust anchor, and step 9 expects the root).
    pub root_ca_secret: Secret,
    /// istio-csr's Helm values.
    pub istio_csr_values: IstioCsrValues,
    /// ControlPlane `<ns>/controlplane`.
    pub control_plane: tsb_types::ControlPlane,
    /// The same, as YAML.
    pub control_plane_yaml: String,
}

impl std::fmt::Debug for Manifests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manifests")
            .field("issuer", &self.issuer.metadata.name)
            .finish_non_exhaustive()
    }
}

/// Builds every object. Errors name the object and field.
pub fn build(input: &ManifestInput<'_>) -> Result<Manifests, Cause> {
    let cfg = input.config;
    let mut ib = VaultAppRoleIssuerBuilder::seed_flow()
        .namespace(&cfg.namespace)
        .server(&input.vault_server)
        .path(cfg.sign_path());
    let (approle_secret, kubernetes_auth) = match (&cfg.auth, &input.approle) {
        (Auth::Kubernetes(k), _) => {
            ib = ib.kubernetes_auth(VaultKubernetesAuth::service_account(
                &k.mount,
                &k.role,
                seed::ISSUER_SERVICE_ACCOUNT,
            ));
            (None, crate::kubernetes_auth::objects(&cfg.namespace)?)
        }
        (_, Some((role_id, secret_id))) => {
            let secret = AppRoleSecretBuilder::seed_flow()
                .namespace(&cfg.namespace)
                .secret_id(secret_id.expose_secret())
                .build()
                .map_err(|e| Cause::build("AppRole Secret", e))?;
            ib = ib.approle_path(&cfg.setup.approle_mount).role_id(role_id);
            (Some(secret), Vec::new())
        }
        (_, None) => {
            return Err(Cause::build(
                "the Issuer",
                crate::error::Missing("the AppRole role-id and secret-id"),
            ));
        }
    };
    if let Some(ca) = &input.vault_ca_pem {
        ib = ib.ca_bundle(ca.as_bytes().to_vec());
    }
    if let Some(ns) = &input.vault_namespace {
        ib = ib.vault_namespace(ns);
    }
    let issuer = ib.build().map_err(|e| Cause::build("Issuer", e))?;
    // The Secret istio-csr's values mount as its root file: one description for both.
    let root_mount = RootCaMount::seed_flow();
    let root_ca_secret = Secret {
        metadata: ObjectMeta {
            name: Some(root_mount.secret_name.clone()),
            namespace: Some(CERT_MANAGER_NAMESPACE.into()),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(
            root_mount.key.clone(),
            ByteString(
                input
                    .trust_bundle_pem
                    .as_deref()
                    .unwrap_or(&input.root_pem)
                    .as_bytes()
                    .to_vec(),
            ),
        )])),
        ..Secret::default()
    };
    let istio_csr_values = IstioCsrValuesBuilder::new()
        .issuer(IssuerReference::issuer(seed::ISSUER_NAME))
        .certificate_namespace(&cfg.namespace)
        .istio_namespace(&cfg.namespace)
        .cluster_id(&cfg.cluster_id)
        .trust_domain(&cfg.trust_domain)
        .root_ca(root_mount)
        .build()
        .map_err(|e| Cause::build("istio-csr values", e))?;
    let control_plane = crate::control_plane::build(&ControlPlaneInput {
        namespace: &cfg.namespace,
        trust_domain: &cfg.trust_domain,
        cluster_id: &cfg.cluster_id,
        tsb: &cfg.tsb,
        istio_operator: input.istio_operator,
    })
    .map_err(|e| Cause::build("ControlPlane", e))?;
    let control_plane_yaml = to_yaml("ControlPlane", &control_plane)?;
    Ok(Manifests {
        control_plane,
        approle_secret,
        kubernetes_auth,
        issuer,
        root_ca_secret,
        istio_csr_values,
        control_plane_yaml,
    })
}

/// YAML of any serializable object.
pub fn to_yaml<T: serde::Serialize>(what: &str, v: &T) -> Result<String, Cause> {
    serde_yaml::to_string(v).map_err(|e| Cause::build(format!("serializing {what}"), e))
}

/// JSON of any serializable object (what is applied to the cluster).
pub fn to_value<T: serde::Serialize>(what: &str, v: &T) -> Result<serde_json::Value, Cause> {
    serde_json::to_value(v).map_err(|e| Cause::build(format!("serializing {what}"), e))
}
