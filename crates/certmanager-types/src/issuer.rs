//! `Issuer` (namespaced) and `ClusterIssuer` (cluster-scoped), sharing [`IssuerConfig`].

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::acme::{AcmeIssuer, AcmeIssuerStatus};
use crate::condition::{Condition, ready_helpers};
use crate::vault::VaultIssuer;
use crate::venafi::VenafiIssuer;

/// Which signer an issuer uses; exactly one field should be set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuerConfig {
    /// An ACME server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme: Option<AcmeIssuer>,
    /// A CA key pair stored in a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<CaIssuer>,
    /// Vault (or OpenBao) PKI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<VaultIssuer>,
    /// Self-signed certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_signed: Option<SelfSignedIssuer>,
    /// Venafi TPP, Cloud or NGTS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venafi: Option<VenafiIssuer>,
}

/// Signs with a CA key pair from a Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaIssuer {
    /// Secret with `tls.crt` and `tls.key` of the CA.
    pub secret_name: String,
    /// CRL distribution points written into issued certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl_distribution_points: Option<Vec<String>>,
    /// OCSP servers written into issued certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp_servers: Option<Vec<String>>,
    /// Issuing-certificate URLs (AIA) written into issued certificates.
    #[serde(
        default,
        rename = "issuingCertificateURLs",
        skip_serializing_if = "Option::is_none"
    )]
    pub issuing_certificate_urls: Option<Vec<String>>,
}

/// Signs each certificate with its own key.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SelfSignedIssuer {
    /// CRL distribution points written into issued certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl_distribution_points: Option<Vec<String>>,
}

/// Status of an Issuer or ClusterIssuer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuerStatus {
    /// Conditions, e.g. `Ready` with reason `VaultVerified`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// ACME account status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme: Option<AcmeIssuerStatus>,
}

/// Spec of a namespaced [`Issuer`]: the [`IssuerConfig`] inline.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[kube(
    derive = "PartialEq",
    group = "cert-manager.io",
    version = "v1",
    kind = "Issuer",
    plural = "issuers",
    namespaced,
    status = "IssuerStatus",
    shortname = "iss",
    category = "cert-manager",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type == \"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","priority":1,"jsonPath":".status.conditions[?(@.type == \"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp","description":"CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC."}"#
)]
pub struct IssuerSpec {
    /// The signer configuration.
    #[serde(flatten)]
    pub config: IssuerConfig,
}

/// Spec of a cluster-scoped [`ClusterIssuer`]: the [`IssuerConfig`] inline.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[kube(
    derive = "PartialEq",
    group = "cert-manager.io",
    version = "v1",
    kind = "ClusterIssuer",
    plural = "clusterissuers",
    status = "IssuerStatus",
    shortname = "ciss",
    category = "cert-manager",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type == \"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","priority":1,"jsonPath":".status.conditions[?(@.type == \"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp","description":"CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC."}"#
)]
pub struct ClusterIssuerSpec {
    /// The signer configuration.
    #[serde(flatten)]
    pub config: IssuerConfig,
}

impl From<IssuerConfig> for IssuerSpec {
    fn from(config: IssuerConfig) -> Self {
        Self { config }
    }
}

impl From<IssuerConfig> for ClusterIssuerSpec {
    fn from(config: IssuerConfig) -> Self {
        Self { config }
    }
}

impl std::ops::Deref for IssuerSpec {
    type Target = IssuerConfig;
    fn deref(&self) -> &IssuerConfig {
        &self.config
    }
}

impl std::ops::DerefMut for IssuerSpec {
    fn deref_mut(&mut self) -> &mut IssuerConfig {
        &mut self.config
    }
}

impl std::ops::Deref for ClusterIssuerSpec {
    type Target = IssuerConfig;
    fn deref(&self) -> &IssuerConfig {
        &self.config
    }
}

impl std::ops::DerefMut for ClusterIssuerSpec {
    fn deref_mut(&mut self) -> &mut IssuerConfig {
        &mut self.config
    }
}

ready_helpers!(Issuer, Condition);
ready_helpers!(ClusterIssuer, Condition);

impl IssuerStatus {
    /// The `Ready` condition, if any.
    pub fn ready_condition(&self) -> Option<&Condition> {
        crate::condition::find_condition(&self.conditions, &crate::ConditionType::Ready)
    }
}
