//! The Venafi issuer (TPP, Cloud, NGTS).

use k8s_openapi::ByteString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{LocalObjectReference, SecretKeySelector};

/// Configures an issuer to sign through Venafi; exactly one of `tpp`, `cloud`, `ngts`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VenafiIssuer {
    /// The Venafi policy zone requests are made in.
    pub zone: String,
    /// Trust Protection Platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpp: Option<VenafiTpp>,
    /// Venafi Cloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<VenafiCloud>,
    /// Next-Gen Trust Security.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ngts: Option<VenafiNgts>,
}

/// Venafi TPP connection.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VenafiTpp {
    /// TPP URL, e.g. `https://tpp.example.com/vedsdk`.
    pub url: String,
    /// Secret holding the credentials.
    pub credentials_ref: LocalObjectReference,
    /// PEM CA bundle for the TPP server; serialized as base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::byte_string")]
    pub ca_bundle: Option<ByteString>,
    /// A Secret key holding the CA bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle_secret_ref: Option<SecretKeySelector>,
}

/// Venafi Cloud connection.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VenafiCloud {
    /// API URL; default [`VenafiCloud::DEFAULT_URL`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A Secret key holding the API token.
    pub api_token_secret_ref: SecretKeySelector,
}

impl VenafiCloud {
    /// The URL cert-manager uses when `url` is absent.
    pub const DEFAULT_URL: &'static str = "https://api.venafi.cloud/";
}

/// Venafi NGTS connection.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VenafiNgts {
    /// The tenant service group id.
    #[serde(rename = "tsgID")]
    pub tsg_id: String,
    /// Secret holding the client credentials.
    pub credentials_ref: LocalObjectReference,
    /// API URL, when not the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Token endpoint, when not the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
}
