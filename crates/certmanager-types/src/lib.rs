//! Typed cert-manager v1 resources (cert-manager v1.21) and istio-csr Helm values.
//!
//! ```no_run
//! use certmanager_types::{AppRoleSecretBuilder, VaultAppRoleIssuerBuilder};
//!
//! # fn main() -> certmanager_types::Result<()> {
//! // The seed flow's AppRole Secret and Vault Issuer (istio-system/vault-issuer).
//! let secret = AppRoleSecretBuilder::seed_flow().secret_id("s.secret-id").build()?;
//! let issuer = VaultAppRoleIssuerBuilder::seed_flow()
//!     .server("https://vault.vault.svc:8200")
//!     .role_id("8b1e6a5c-role-id")
//!     .build()?;
//! println!("{}", serde_json::to_string_pretty(&issuer).unwrap_or_default());
//! // Later, read back from the cluster:
//! if issuer.is_ready() {
//!     println!("{:?}", issuer.ready_message()); // Some("Vault verified")
//! }
//! # let _ = secret;
//! # Ok(())
//! # }
//! ```
//!
//! The kinds are kube [`CustomResource`](kube::CustomResource)s: [`Issuer`],
//! [`ClusterIssuer`], [`Certificate`], [`CertificateRequest`]. Their specs cover every field of
//! cert-manager's CRDs (checked against the v1.21.1 CRDs by this crate's tests), enumerations
//! accept values a newer cert-manager adds, and cert-manager's documented defaults are
//! constants (`DEFAULT…`), never written into objects behind the user's back.
//!
//! Builders for the Vault flow: [`AppRoleSecretBuilder`], [`VaultAppRoleIssuerBuilder`],
//! [`IstiodCertificateBuilder`], [`IstioCsrValuesBuilder`]. They return [`Result`] and fail
//! when a required field is missing.
//!
//! [`crds`] embeds cert-manager's own CRDs (v1.21.1), for schema checks and test clusters.
#![forbid(unsafe_code)]

mod acme;
mod approle;
mod certificate;
mod certificate_request;
mod condition;
pub mod crds;
mod error;
mod issuer;
mod istio_csr;
mod meta;
mod open_enum;
mod schema;
mod vault;
mod venafi;

pub use acme::{
    AcmeChallengeSolver, AcmeChallengeSolverDns01, AcmeChallengeSolverHttp01,
    AcmeChallengeSolverHttp01GatewayHttpRoute, AcmeChallengeSolverHttp01Ingress,
    AcmeChallengeSolverHttp01IngressTemplate, AcmeChallengeSolverHttp01PodSecurityContext,
    AcmeChallengeSolverHttp01PodSpec, AcmeChallengeSolverHttp01PodTemplate,
    AcmeChallengeSolverHttp01Resources, AcmeExternalAccountBinding, AcmeIssuer,
    AcmeIssuerDns01ProviderAcmeDns, AcmeIssuerDns01ProviderAkamai, AcmeIssuerDns01ProviderAzureDns,
    AcmeIssuerDns01ProviderCloudDns, AcmeIssuerDns01ProviderCloudflare,
    AcmeIssuerDns01ProviderDigitalOcean, AcmeIssuerDns01ProviderRfc2136,
    AcmeIssuerDns01ProviderRoute53, AcmeIssuerDns01ProviderWebhook, AcmeIssuerStatus,
    AzureDnsEnvironment, AzureManagedIdentity, AzureZoneType, CertificateDnsNameSelector,
    CnameStrategy, GatewayParentReference, HmacKeyAlgorithm, ObjectMetaTemplate, Rfc2136Protocol,
    Route53Auth, Route53KubernetesAuth,
};
pub use approle::{
    APPROLE_SECRET_KEY, AppRoleSecretBuilder, SecretId, VaultAppRoleIssuerBuilder, seed,
};
pub use certificate::{
    AcmeRenewalInfo, AdditionalOutputFormatType, Certificate, CertificateAcmeStatus,
    CertificateAdditionalOutputFormat, CertificateKeystores, CertificatePrivateKey,
    CertificateRenewal, CertificateSecretTemplate, CertificateSpec, CertificateStatus, JksKeystore,
    KeyUsage, NameConstraintItem, NameConstraints, OtherName, Pkcs12Keystore, Pkcs12Profile,
    PrivateKeyAlgorithm, PrivateKeyEncoding, PrivateKeyRotationPolicy, RenewalPolicy,
    RenewalWindow, SignatureAlgorithm, SuggestedWindow, X509Subject,
};
pub use certificate_request::{
    CertificateRequest, CertificateRequestSpec, CertificateRequestStatus,
};
pub use condition::{
    CertificateRequestCondition, Condition, ConditionLike, ConditionStatus, ConditionType,
    find_condition, reasons,
};
pub use error::{Error, Result};
pub use issuer::{
    CaIssuer, ClusterIssuer, ClusterIssuerSpec, Issuer, IssuerConfig, IssuerSpec, IssuerStatus,
    SelfSignedIssuer,
};
pub use istio_csr::{
    AppValues, CertManagerValues, ControllerValues, ImageValues, IssuerValues, IstioCsrValues,
    IstioCsrValuesBuilder, IstioValues, IstiodCertificateBuilder, RootCaMount, ServerValues,
    ServingValues, TlsValues, chart_defaults,
};
pub use meta::{
    CERT_MANAGER_GROUP, IssuerReference, LocalObjectReference, SecretKeySelector, ServiceAccountRef,
};
pub use vault::{
    VaultAppRole, VaultAuth, VaultAwsAuth, VaultClientCertificateAuth, VaultIssuer,
    VaultKubernetesAuth,
};
pub use venafi::{VenafiCloud, VenafiIssuer, VenafiNgts, VenafiTpp};
