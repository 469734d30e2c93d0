//! `CertificateRequest`: one CSR to be signed by an issuer.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::certificate::KeyUsage;
use crate::condition::{CertificateRequestCondition, ready_helpers};
use crate::meta::IssuerReference;

/// Spec of a [`CertificateRequest`]; immutable after creation.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[kube(
    derive = "PartialEq",
    group = "cert-manager.io",
    version = "v1",
    kind = "CertificateRequest",
    plural = "certificaterequests",
    namespaced,
    status = "CertificateRequestStatus",
    shortname = "cr",
    shortname = "crs",
    category = "cert-manager",
    printcolumn = r#"{"name":"Approved","type":"string","jsonPath":".status.conditions[?(@.type == \"Approved\")].status"}"#,
    printcolumn = r#"{"name":"Denied","type":"string","jsonPath":".status.conditions[?(@.type == \"Denied\")].status"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type == \"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Issuer","type":"string","jsonPath":".spec.issuerRef.name"}"#,
    printcolumn = r#"{"name":"Requester","type":"string","jsonPath":".spec.username"}"#,
    printcolumn = r#"{"name":"Status","type":"string","priority":1,"jsonPath":".status.conditions[?(@.type == \"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp","description":"CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC."}"#
)]
#[serde(rename_all = "camelCase")]
pub struct CertificateRequestSpec {
    /// Requested lifetime (Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// The issuer that signs.
    pub issuer_ref: IssuerReference,
    /// The PEM CSR; serialized as base64.
    #[schemars(schema_with = "crate::schema::byte_string")]
    pub request: ByteString,
    /// Request a CA certificate.
    #[serde(default, rename = "isCA", skip_serializing_if = "Option::is_none")]
    pub is_ca: Option<bool>,
    /// Requested usages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usages: Option<Vec<KeyUsage>>,
    /// Creator's user name (set by the API server webhook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Creator's UID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Creator's groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Creator's extra attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<BTreeMap<String, Vec<String>>>,
}

/// Status of a [`CertificateRequest`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateRequestStatus {
    /// Conditions: `Ready`, `Approved`, `Denied`, `InvalidRequest`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<CertificateRequestCondition>,
    /// The signed certificate, PEM; serialized as base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::byte_string")]
    pub certificate: Option<ByteString>,
    /// The CA that signed, PEM, if the issuer returned one; serialized as base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::byte_string")]
    pub ca: Option<ByteString>,
    /// When signing failed for good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_time: Option<Time>,
}

ready_helpers!(CertificateRequest, CertificateRequestCondition);

impl CertificateRequest {
    /// Whether an `Approved` condition is `True`.
    pub fn is_approved(&self) -> bool {
        self.status.as_ref().is_some_and(|s| {
            crate::condition::find_condition(&s.conditions, &crate::ConditionType::Approved)
                .is_some_and(|c| c.status == crate::ConditionStatus::True)
        })
    }
}
