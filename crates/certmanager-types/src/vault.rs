//! The Vault issuer: signs through a Vault (or OpenBao) PKI `sign` endpoint.

use k8s_openapi::ByteString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{SecretKeySelector, ServiceAccountRef};

/// Configures an issuer to sign through Vault: `POST /v1/<path>` with the CSR.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultIssuer {
    /// How cert-manager logs in to Vault.
    pub auth: VaultAuth,
    /// Vault's address, e.g. `https://vault.example.com:8200`.
    pub server: String,
    /// The signing endpoint, e.g. `istioca/sign/cluster-local` (no `/v1/` prefix).
    pub path: String,
    /// TLS server name (SNI) to verify Vault's certificate against (cert-manager 1.18+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// Vault Enterprise namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// PEM CA bundle that verifies Vault's TLS certificate; serialized as base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::byte_string")]
    pub ca_bundle: Option<ByteString>,
    /// A Secret key holding the CA bundle (mutually exclusive with `caBundle`); key defaults
    /// to `ca.crt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle_secret_ref: Option<SecretKeySelector>,
    /// A Secret key holding a client certificate for mTLS with Vault (1.15+); key defaults to
    /// `tls.crt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert_secret_ref: Option<SecretKeySelector>,
    /// A Secret key holding the client key for mTLS with Vault (1.15+); key defaults to
    /// `tls.key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_secret_ref: Option<SecretKeySelector>,
}

/// How cert-manager authenticates to Vault; exactly one field should be set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultAuth {
    /// A Secret key holding a Vault token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_ref: Option<SecretKeySelector>,
    /// AppRole login: `POST /v1/auth/<path>/login` with role id and secret id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_role: Option<VaultAppRole>,
    /// TLS certificate login (1.16+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<VaultClientCertificateAuth>,
    /// Kubernetes service-account login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<VaultKubernetesAuth>,
    /// AWS IAM login (1.21+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<VaultAwsAuth>,
}

/// AppRole login parameters.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultAppRole {
    /// Mount path of the AppRole backend, e.g. `approle` (not `auth/approle`).
    pub path: String,
    /// The role id (not a secret).
    pub role_id: String,
    /// The Secret key holding the secret id.
    pub secret_ref: SecretKeySelector,
}

/// TLS certificate login parameters.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultClientCertificateAuth {
    /// Login mount path; default [`VaultClientCertificateAuth::DEFAULT_MOUNT_PATH`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    /// Name of the `kubernetes.io/tls` Secret with the client certificate and key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// Name of the certificate role to log in against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl VaultClientCertificateAuth {
    /// The mount path cert-manager uses when `mountPath` is absent.
    pub const DEFAULT_MOUNT_PATH: &'static str = "/v1/auth/cert";
}

/// Kubernetes service-account login parameters.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultKubernetesAuth {
    /// Login mount path; default [`VaultKubernetesAuth::DEFAULT_MOUNT_PATH`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    /// A Secret key holding a service-account token (legacy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeySelector>,
    /// A service account for which cert-manager requests a bound token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountRef>,
    /// The Vault role to log in as.
    pub role: String,
}

impl VaultKubernetesAuth {
    /// The mount path cert-manager uses when `mountPath` is absent.
    pub const DEFAULT_MOUNT_PATH: &'static str = "/v1/auth/kubernetes";

    /// Secretless login: cert-manager requests a bound token (TokenRequest, 10 minutes) for
    /// the service account `service_account` of the Issuer's namespace and logs in at
    /// `/v1/auth/<mount>/login` as Vault role `role`. The token's audiences are cert-manager's
    /// own (see [`VaultKubernetesAuth::issuer_audience`]): no extra `audiences` are set.
    pub fn service_account(
        mount: &str,
        role: impl Into<String>,
        service_account: impl Into<String>,
    ) -> Self {
        Self {
            mount_path: Some(format!("/v1/auth/{}", mount.trim_matches('/'))),
            secret_ref: None,
            service_account_ref: Some(ServiceAccountRef {
                name: service_account.into(),
                audiences: None,
            }),
            role: role.into(),
        }
    }

    /// The audience cert-manager always puts in the token it requests for an Issuer
    /// `namespace/name` (`vault://<namespace>/<name>`; cert-manager v1.21's
    /// `internal/vault/vault.go`); a Vault role bound to it accepts that Issuer's tokens only.
    pub fn issuer_audience(namespace: &str, name: &str) -> String {
        format!("vault://{namespace}/{name}")
    }

    /// The same for a ClusterIssuer `name` (`vault://<name>`).
    pub fn cluster_issuer_audience(name: &str) -> String {
        format!("vault://{name}")
    }
}

/// AWS IAM login parameters (cert-manager 1.21+).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultAwsAuth {
    /// Login mount path; default [`VaultAwsAuth::DEFAULT_MOUNT_PATH`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    /// AWS region for the STS call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The Vault role to log in as.
    pub role: String,
    /// IAM role ARN to assume first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_role_arn: Option<String>,
    /// A service account whose token is exchanged for AWS credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountRef>,
    /// Value of the `X-Vault-AWS-IAM-Server-ID` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_header_value: Option<String>,
}

impl VaultAwsAuth {
    /// The mount path cert-manager uses when `mountPath` is absent.
    pub const DEFAULT_MOUNT_PATH: &'static str = "/v1/auth/aws";
}
