//! Status conditions and the helpers that read them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::open_enum::open_enum;

open_enum! {
    /// The status of a condition.
    ConditionStatus {
        /// The condition holds.
        True => "True",
        /// The condition does not hold.
        False => "False",
        /// The controller cannot tell yet.
        Unknown => "Unknown",
    }
}

open_enum! {
    /// The type of a condition on an issuer, Certificate or CertificateRequest.
    ConditionType {
        /// The object is ready: an issuer can sign, a Certificate is up to date.
        Ready => "Ready",
        /// A Certificate is being issued (or re-issued).
        Issuing => "Issuing",
        /// A CertificateRequest is invalid and will not be signed.
        InvalidRequest => "InvalidRequest",
        /// A CertificateRequest was approved.
        Approved => "Approved",
        /// A CertificateRequest was denied.
        Denied => "Denied",
    }
}

/// Reasons and messages cert-manager writes on conditions.
pub mod reasons {
    /// Vault issuer: login and `sys/health` succeeded.
    pub const VAULT_VERIFIED: &str = "VaultVerified";
    /// Vault issuer: the message that goes with [`VAULT_VERIFIED`].
    pub const VAULT_VERIFIED_MESSAGE: &str = "Vault verified";
    /// Vault issuer: the client could not be built or Vault refused it.
    pub const VAULT_ERROR: &str = "VaultError";
    /// Certificate: the Secret holds an up-to-date certificate.
    pub const READY: &str = "Ready";
    /// CertificateRequest: the request was signed.
    pub const ISSUED: &str = "Issued";
    /// CertificateRequest: signing is in progress.
    pub const PENDING: &str = "Pending";
    /// CertificateRequest: signing failed for good.
    pub const FAILED: &str = "Failed";
}

/// A condition on an Issuer, ClusterIssuer or Certificate.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition's type, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: ConditionType,
    /// Whether it holds.
    pub status: ConditionStatus,
    /// A machine-readable reason, e.g. `VaultVerified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A human-readable message, e.g. `Vault verified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// The `metadata.generation` the condition was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// A condition on a CertificateRequest (it has no `observedGeneration`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateRequestCondition {
    /// The condition's type, e.g. `Ready` or `Approved`.
    #[serde(rename = "type")]
    pub type_: ConditionType,
    /// Whether it holds.
    pub status: ConditionStatus,
    /// A machine-readable reason, e.g. `Issued`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

/// Read access to a condition, whatever the kind it sits on.
pub trait ConditionLike {
    /// The condition's type.
    fn condition_type(&self) -> &ConditionType;
    /// The condition's status.
    fn condition_status(&self) -> &ConditionStatus;
    /// The condition's reason, if any.
    fn condition_reason(&self) -> Option<&str>;
    /// The condition's message, if any.
    fn condition_message(&self) -> Option<&str>;
}

macro_rules! impl_condition_like {
    ($($t:ty),+) => {$(
        impl ConditionLike for $t {
            fn condition_type(&self) -> &ConditionType { &self.type_ }
            fn condition_status(&self) -> &ConditionStatus { &self.status }
            fn condition_reason(&self) -> Option<&str> { self.reason.as_deref() }
            fn condition_message(&self) -> Option<&str> { self.message.as_deref() }
        }
    )+};
}
impl_condition_like!(Condition, CertificateRequestCondition);

/// Finds the condition of type `wanted` in `conditions`.
pub fn find_condition<'a, C: ConditionLike>(
    conditions: &'a [C],
    wanted: &ConditionType,
) -> Option<&'a C> {
    conditions.iter().find(|c| c.condition_type() == wanted)
}

/// Adds `ready_condition()`, `is_ready()`, `ready_reason()` and `ready_message()` to a
/// resource whose `status` has `conditions`.
macro_rules! ready_helpers {
    ($resource:ty, $condition:ty) => {
        impl $resource {
            /// The `Ready` condition, if the controller has written one.
            pub fn ready_condition(&self) -> Option<&$condition> {
                let status = self.status.as_ref()?;
                $crate::condition::find_condition(&status.conditions, &$crate::ConditionType::Ready)
            }

            /// Whether the `Ready` condition is `True`.
            pub fn is_ready(&self) -> bool {
                self.ready_condition()
                    .is_some_and(|c| c.status == $crate::ConditionStatus::True)
            }

            /// The reason on the `Ready` condition, e.g. `VaultVerified`.
            pub fn ready_reason(&self) -> Option<&str> {
                self.ready_condition()?.reason.as_deref()
            }

            /// The message on the `Ready` condition, e.g. `Vault verified`.
            pub fn ready_message(&self) -> Option<&str> {
                self.ready_condition()?.message.as_deref()
            }
        }
    };
}
pub(crate) use ready_helpers;
