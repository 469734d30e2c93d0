//! Builders for the Vault AppRole flow: the secret-id Secret and the Vault `Issuer`.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::error::{Error, Result};
use crate::issuer::{ClusterIssuer, ClusterIssuerSpec, Issuer, IssuerConfig, IssuerSpec};
use crate::meta::SecretKeySelector;
use crate::vault::{VaultAppRole, VaultAuth, VaultIssuer, VaultKubernetesAuth};

/// The Secret key the flow stores the AppRole secret id under.
pub const APPROLE_SECRET_KEY: &str = "secretId";

/// Names the seed flow uses (`seed-vault-pki-integration`, steps 5-6).
pub mod seed {
    /// Namespace of the Issuer and the AppRole Secret.
    pub const NAMESPACE: &str = "istio-system";
    /// Name of the Vault Issuer.
    pub const ISSUER_NAME: &str = "vault-issuer";
    /// Name of the Secret holding the AppRole secret id.
    pub const APPROLE_SECRET_NAME: &str = "cert-manager-vault-approle";
    /// Vault signing path of the issuer.
    pub const VAULT_SIGN_PATH: &str = "istioca/sign/cluster-local";
    /// Mount path of the AppRole auth method.
    pub const APPROLE_MOUNT: &str = "approle";
    /// Mount path of the Kubernetes auth method (cert-manager's `mountPath` is
    /// `/v1/auth/kubernetes`).
    pub const KUBERNETES_MOUNT: &str = "kubernetes";
    /// The service account cert-manager requests tokens for, with Kubernetes auth (the name
    /// cert-manager's Vault documentation uses, in the Issuer's namespace).
    pub const ISSUER_SERVICE_ACCOUNT: &str = "vault-issuer";
    /// cert-manager's own service account (`cert-manager/cert-manager`), which requests those
    /// tokens.
    pub const CERT_MANAGER_SERVICE_ACCOUNT: &str = "cert-manager";
    /// cert-manager's namespace.
    pub const CERT_MANAGER_NAMESPACE: &str = "cert-manager";
}

/// An AppRole secret id: a credential, so its `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretId(String);

impl SecretId {
    /// Wraps a secret id.
    pub fn new(secret_id: impl Into<String>) -> Self {
        Self(secret_id.into())
    }

    /// The secret id itself; handle with care.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretId(<redacted>)")
    }
}

impl From<String> for SecretId {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretId {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// Builds the Opaque Secret that holds the AppRole secret id for cert-manager.
///
/// Required: [`name`](Self::name), [`namespace`](Self::namespace),
/// [`secret_id`](Self::secret_id). The data key is [`APPROLE_SECRET_KEY`] unless
/// [`key`](Self::key) says otherwise. `Debug` never shows the secret id.
#[derive(Clone, Debug, Default)]
pub struct AppRoleSecretBuilder {
    name: Option<String>,
    namespace: Option<String>,
    key: Option<String>,
    secret_id: Option<SecretId>,
}

impl AppRoleSecretBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder preset with the seed flow's names: `istio-system/cert-manager-vault-approle`,
    /// key `secretId`. The secret id must still be given.
    pub fn seed_flow() -> Self {
        Self::new()
            .name(seed::APPROLE_SECRET_NAME)
            .namespace(seed::NAMESPACE)
            .key(APPROLE_SECRET_KEY)
    }

    /// Name of the Secret.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Namespace of the Secret (the Issuer's namespace).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Data key of the secret id (default [`APPROLE_SECRET_KEY`]).
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The AppRole secret id.
    pub fn secret_id(mut self, secret_id: impl Into<SecretId>) -> Self {
        self.secret_id = Some(secret_id.into());
        self
    }

    /// The selector an Issuer uses to point at this Secret's key.
    pub fn secret_key_selector(&self) -> Result<SecretKeySelector> {
        let name = required(&self.name, "Secret", "name")?;
        Ok(SecretKeySelector::new(name, self.key_or_default()))
    }

    fn key_or_default(&self) -> &str {
        self.key.as_deref().unwrap_or(APPROLE_SECRET_KEY)
    }

    /// Builds the Secret (`type: Opaque`, the secret id base64-encoded under `data`).
    pub fn build(&self) -> Result<Secret> {
        let name = required(&self.name, "Secret", "name")?;
        let namespace = required(&self.namespace, "Secret", "namespace")?;
        let secret_id = self.secret_id.as_ref().ok_or(Error::MissingField {
            object: "Secret",
            field: "secret_id",
        })?;
        if secret_id.expose().is_empty() {
            return Err(Error::InvalidField {
                object: "Secret",
                field: "secret_id",
                reason: "the secret id is empty".into(),
            });
        }
        let key = self.key_or_default();
        if key.is_empty() {
            return Err(Error::InvalidField {
                object: "Secret",
                field: "key",
                reason: "the data key is empty".into(),
            });
        }
        Ok(Secret {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(namespace.to_owned()),
                ..ObjectMeta::default()
            },
            type_: Some("Opaque".into()),
            data: Some(BTreeMap::from([(
                key.to_owned(),
                ByteString(secret_id.expose().as_bytes().to_vec()),
            )])),
            ..Secret::default()
        })
    }
}

/// Builds a namespaced Vault `Issuer` that logs in with AppRole, or, given
/// [`kubernetes_auth`](Self::kubernetes_auth), with Kubernetes auth (and no Secret).
///
/// Required: [`name`](Self::name), [`namespace`](Self::namespace), [`server`](Self::server),
/// [`path`](Self::path), and for AppRole [`approle_path`](Self::approle_path),
/// [`role_id`](Self::role_id), [`secret_name`](Self::secret_name). The secret key is
/// [`APPROLE_SECRET_KEY`] unless [`secret_key`](Self::secret_key) says otherwise.
#[derive(Clone, Debug, Default)]
pub struct VaultAppRoleIssuerBuilder {
    name: Option<String>,
    namespace: Option<String>,
    server: Option<String>,
    path: Option<String>,
    approle_path: Option<String>,
    role_id: Option<String>,
    secret_name: Option<String>,
    secret_key: Option<String>,
    ca_bundle: Option<Vec<u8>>,
    server_name: Option<String>,
    vault_namespace: Option<String>,
    kubernetes: Option<VaultKubernetesAuth>,
}

impl VaultAppRoleIssuerBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder preset with the seed flow's names: Issuer `istio-system/vault-issuer`, path
    /// `istioca/sign/cluster-local`, AppRole mount `approle`, secret
    /// `cert-manager-vault-approle` key `secretId`. Server and role id must still be given.
    pub fn seed_flow() -> Self {
        Self::new()
            .name(seed::ISSUER_NAME)
            .namespace(seed::NAMESPACE)
            .path(seed::VAULT_SIGN_PATH)
            .approle_path(seed::APPROLE_MOUNT)
            .secret_name(seed::APPROLE_SECRET_NAME)
            .secret_key(APPROLE_SECRET_KEY)
    }

    /// Name of the Issuer.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Namespace of the Issuer.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Vault address, e.g. `https://vault.vault.svc:8200`.
    pub fn server(mut self, server: impl Into<String>) -> Self {
        self.server = Some(server.into());
        self
    }

    /// Signing path, e.g. `istioca/sign/cluster-local`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// AppRole mount path, e.g. `approle`.
    pub fn approle_path(mut self, approle_path: impl Into<String>) -> Self {
        self.approle_path = Some(approle_path.into());
        self
    }

    /// The AppRole role id.
    pub fn role_id(mut self, role_id: impl Into<String>) -> Self {
        self.role_id = Some(role_id.into());
        self
    }

    /// Name of the Secret holding the secret id.
    pub fn secret_name(mut self, secret_name: impl Into<String>) -> Self {
        self.secret_name = Some(secret_name.into());
        self
    }

    /// Key of the secret id in that Secret (default [`APPROLE_SECRET_KEY`]).
    pub fn secret_key(mut self, secret_key: impl Into<String>) -> Self {
        self.secret_key = Some(secret_key.into());
        self
    }

    /// PEM CA bundle that verifies Vault's TLS certificate (written base64 into `caBundle`).
    pub fn ca_bundle(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_bundle = Some(pem.into());
        self
    }

    /// TLS server name to verify Vault's certificate against.
    pub fn server_name(mut self, server_name: impl Into<String>) -> Self {
        self.server_name = Some(server_name.into());
        self
    }

    /// Vault Enterprise namespace.
    pub fn vault_namespace(mut self, vault_namespace: impl Into<String>) -> Self {
        self.vault_namespace = Some(vault_namespace.into());
        self
    }

    /// Log in with Kubernetes auth instead of AppRole (see
    /// [`VaultKubernetesAuth::service_account`]); the AppRole fields are then not used.
    pub fn kubernetes_auth(mut self, auth: VaultKubernetesAuth) -> Self {
        self.kubernetes = Some(auth);
        self
    }

    /// Builds the `VaultIssuer` configuration alone (for a ClusterIssuer, say).
    pub fn build_vault(&self) -> Result<VaultIssuer> {
        const OBJECT: &str = "Issuer";
        let server = required(&self.server, OBJECT, "server")?;
        let path = required(&self.path, OBJECT, "path")?;
        check_sign_path(path)?;
        if let Some(k) = &self.kubernetes {
            check_kubernetes_auth(k)?;
            return Ok(VaultIssuer {
                auth: VaultAuth {
                    kubernetes: Some(k.clone()),
                    ..VaultAuth::default()
                },
                server: server.to_owned(),
                path: path.to_owned(),
                server_name: self.server_name.clone(),
                namespace: self.vault_namespace.clone(),
                ca_bundle: self.ca_bundle.clone().map(ByteString),
                ..VaultIssuer::default()
            });
        }
        let approle_path = required(&self.approle_path, OBJECT, "approle_path")?;
        let role_id = required(&self.role_id, OBJECT, "role_id")?;
        let secret_name = required(&self.secret_name, OBJECT, "secret_name")?;
        if approle_path.starts_with("auth/") || approle_path.starts_with('/') {
            return Err(Error::InvalidField {
                object: OBJECT,
                field: "approle_path",
                reason: format!(
                    "`{approle_path}` must be the mount path alone, e.g. `approle`: cert-manager \
                     logs in at /v1/auth/<path>/login"
                ),
            });
        }
        Ok(VaultIssuer {
            auth: VaultAuth {
                app_role: Some(VaultAppRole {
                    path: approle_path.to_owned(),
                    role_id: role_id.to_owned(),
                    secret_ref: SecretKeySelector::new(
                        secret_name,
                        self.secret_key.as_deref().unwrap_or(APPROLE_SECRET_KEY),
                    ),
                }),
                ..VaultAuth::default()
            },
            server: server.to_owned(),
            path: path.to_owned(),
            server_name: self.server_name.clone(),
            namespace: self.vault_namespace.clone(),
            ca_bundle: self.ca_bundle.clone().map(ByteString),
            ..VaultIssuer::default()
        })
    }

    /// Builds a cluster-scoped `ClusterIssuer` with the same Vault settings (the namespace is
    /// not used; cert-manager then reads the AppRole Secret from its cluster resource
    /// namespace, `cert-manager` by default).
    pub fn build_cluster_issuer(&self) -> Result<ClusterIssuer> {
        let name = required(&self.name, "ClusterIssuer", "name")?;
        let vault = self.build_vault()?;
        Ok(ClusterIssuer::new(
            name,
            ClusterIssuerSpec::from(IssuerConfig {
                vault: Some(vault),
                ..IssuerConfig::default()
            }),
        ))
    }

    /// Builds the Issuer.
    pub fn build(&self) -> Result<Issuer> {
        let name = required(&self.name, "Issuer", "name")?;
        let namespace = required(&self.namespace, "Issuer", "namespace")?;
        let vault = self.build_vault()?;
        let mut issuer = Issuer::new(
            name,
            IssuerSpec::from(IssuerConfig {
                vault: Some(vault),
                ..IssuerConfig::default()
            }),
        );
        issuer.metadata.namespace = Some(namespace.to_owned());
        Ok(issuer)
    }
}

/// The signing path must be bare: cert-manager adds `/v1/`.
fn check_sign_path(path: &str) -> Result<()> {
    if path.starts_with('/') || path.starts_with("v1/") {
        return Err(Error::InvalidField {
            object: "Issuer",
            field: "path",
            reason: format!(
                "`{path}` must be the bare Vault path, e.g. `istioca/sign/cluster-local` \
                 (cert-manager adds `/v1/`)"
            ),
        });
    }
    Ok(())
}

/// Kubernetes auth needs a role and a full `mountPath` (`/v1/auth/<mount>`), and
/// `serviceAccountRef` or `secretRef`.
fn check_kubernetes_auth(k: &VaultKubernetesAuth) -> Result<()> {
    let bad = |field, reason: String| Error::InvalidField {
        object: "Issuer",
        field,
        reason,
    };
    if k.role.is_empty() {
        return Err(bad("kubernetes_auth", "the Vault role is empty".into()));
    }
    if let Some(m) = &k.mount_path
        && !m.starts_with("/v1/auth/")
    {
        return Err(bad(
            "kubernetes_auth",
            format!(
                "mountPath `{m}` must be the whole login path prefix, e.g. `/v1/auth/kubernetes` \
                 (cert-manager posts to <mountPath>/login)"
            ),
        ));
    }
    match (&k.service_account_ref, &k.secret_ref) {
        (Some(sa), None) if !sa.name.is_empty() => Ok(()),
        (None, Some(s)) if !s.name.is_empty() => Ok(()),
        _ => Err(bad(
            "kubernetes_auth",
            "exactly one of serviceAccountRef and secretRef, with a name".into(),
        )),
    }
}

/// Returns the value of a required builder field, or the error naming it.
pub(crate) fn required<'a>(
    value: &'a Option<String>,
    object: &'static str,
    field: &'static str,
) -> Result<&'a str> {
    match value.as_deref() {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(Error::MissingField { object, field }),
    }
}
