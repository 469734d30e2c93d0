//! References shared by every kind: to Secrets, to issuers, to service accounts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The API group of cert-manager's own issuers, `cert-manager.io`.
pub const CERT_MANAGER_GROUP: &str = "cert-manager.io";

/// A key of a Secret in the referring object's namespace (cert-manager's `SecretKeySelector`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeySelector {
    /// Name of the Secret.
    pub name: String,
    /// Key in the Secret's data; some fields have a default key, others require it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl SecretKeySelector {
    /// A selector for `key` of Secret `name`.
    pub fn new(name: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            key: Some(key.into()),
        }
    }
}

/// A reference to an object by name in the same namespace (cert-manager's `LocalObjectReference`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalObjectReference {
    /// Name of the referent.
    pub name: String,
}

/// A reference to the issuer that signs a Certificate or CertificateRequest.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuerReference {
    /// Name of the issuer.
    pub name: String,
    /// Kind of the issuer; cert-manager defaults it to [`IssuerReference::DEFAULT_KIND`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// API group of the issuer; cert-manager defaults it to [`IssuerReference::DEFAULT_GROUP`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl IssuerReference {
    /// The kind cert-manager assumes when `kind` is absent.
    pub const DEFAULT_KIND: &'static str = "Issuer";
    /// The group cert-manager assumes when `group` is absent.
    pub const DEFAULT_GROUP: &'static str = CERT_MANAGER_GROUP;

    /// A reference to the namespaced cert-manager `Issuer` called `name`, with kind and group
    /// written out.
    pub fn issuer(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind: Some("Issuer".into()),
            group: Some(CERT_MANAGER_GROUP.into()),
        }
    }

    /// A reference to the cert-manager `ClusterIssuer` called `name`, with kind and group
    /// written out.
    pub fn cluster_issuer(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind: Some("ClusterIssuer".into()),
            group: Some(CERT_MANAGER_GROUP.into()),
        }
    }

    /// The kind, or cert-manager's default when absent.
    pub fn kind_or_default(&self) -> &str {
        self.kind.as_deref().unwrap_or(Self::DEFAULT_KIND)
    }

    /// The group, or cert-manager's default when absent.
    pub fn group_or_default(&self) -> &str {
        self.group.as_deref().unwrap_or(Self::DEFAULT_GROUP)
    }
}

/// A service account whose token is requested for authentication.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountRef {
    /// Name of the service account.
    pub name: String,
    /// Extra audiences for the token (cert-manager always adds its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
}
