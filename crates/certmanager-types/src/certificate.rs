//! `Certificate`: a desired X.509 certificate kept up to date in a Secret.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::condition::{Condition, ready_helpers};
use crate::meta::{IssuerReference, SecretKeySelector};
use crate::open_enum::open_enum;

open_enum! {
    /// A key usage or extended key usage (cert-manager's `KeyUsage`, 23 values in v1.21).
    KeyUsage {
        /// Signing.
        Signing => "signing",
        /// Digital signature.
        DigitalSignature => "digital signature",
        /// Content commitment (non-repudiation).
        ContentCommitment => "content commitment",
        /// Key encipherment.
        KeyEncipherment => "key encipherment",
        /// Key agreement.
        KeyAgreement => "key agreement",
        /// Data encipherment.
        DataEncipherment => "data encipherment",
        /// Certificate signing.
        CertSign => "cert sign",
        /// CRL signing.
        CrlSign => "crl sign",
        /// Encipher only.
        EncipherOnly => "encipher only",
        /// Decipher only.
        DecipherOnly => "decipher only",
        /// Any extended usage.
        Any => "any",
        /// TLS server authentication.
        ServerAuth => "server auth",
        /// TLS client authentication.
        ClientAuth => "client auth",
        /// Code signing.
        CodeSigning => "code signing",
        /// Email protection.
        EmailProtection => "email protection",
        /// S/MIME.
        Smime => "s/mime",
        /// IPsec end system.
        IpsecEndSystem => "ipsec end system",
        /// IPsec tunnel.
        IpsecTunnel => "ipsec tunnel",
        /// IPsec user.
        IpsecUser => "ipsec user",
        /// Timestamping.
        Timestamping => "timestamping",
        /// OCSP signing.
        OcspSigning => "ocsp signing",
        /// Microsoft server gated crypto.
        MicrosoftSgc => "microsoft sgc",
        /// Netscape server gated crypto.
        NetscapeSgc => "netscape sgc",
    }
}

impl KeyUsage {
    /// The usages cert-manager requests when `usages` is absent.
    pub const DEFAULT: [KeyUsage; 2] = [KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment];
}

open_enum! {
    /// Private key algorithm.
    PrivateKeyAlgorithm {
        /// RSA (cert-manager's default).
        Rsa => "RSA",
        /// ECDSA.
        Ecdsa => "ECDSA",
        /// Ed25519.
        Ed25519 => "Ed25519",
    }
}

impl PrivateKeyAlgorithm {
    /// The algorithm cert-manager uses when `algorithm` is absent.
    pub const DEFAULT: PrivateKeyAlgorithm = PrivateKeyAlgorithm::Rsa;
}

open_enum! {
    /// Private key encoding.
    PrivateKeyEncoding {
        /// PKCS#1 (cert-manager's default).
        Pkcs1 => "PKCS1",
        /// PKCS#8.
        Pkcs8 => "PKCS8",
    }
}

impl PrivateKeyEncoding {
    /// The encoding cert-manager uses when `encoding` is absent.
    pub const DEFAULT: PrivateKeyEncoding = PrivateKeyEncoding::Pkcs1;
}

open_enum! {
    /// When a private key is regenerated.
    PrivateKeyRotationPolicy {
        /// Keep the existing key.
        Never => "Never",
        /// Generate a new key at every issuance (the default since cert-manager 1.18).
        Always => "Always",
    }
}

impl PrivateKeyRotationPolicy {
    /// The policy cert-manager uses when `rotationPolicy` is absent (since v1.18).
    pub const DEFAULT: PrivateKeyRotationPolicy = PrivateKeyRotationPolicy::Always;
}

open_enum! {
    /// Signature algorithm of the issued certificate.
    SignatureAlgorithm {
        /// SHA-256 with RSA.
        Sha256WithRsa => "SHA256WithRSA",
        /// SHA-384 with RSA.
        Sha384WithRsa => "SHA384WithRSA",
        /// SHA-512 with RSA.
        Sha512WithRsa => "SHA512WithRSA",
        /// ECDSA with SHA-256.
        EcdsaWithSha256 => "ECDSAWithSHA256",
        /// ECDSA with SHA-384.
        EcdsaWithSha384 => "ECDSAWithSHA384",
        /// ECDSA with SHA-512.
        EcdsaWithSha512 => "ECDSAWithSHA512",
        /// Ed25519.
        PureEd25519 => "PureEd25519",
    }
}

open_enum! {
    /// Extra formats written into the certificate's Secret.
    AdditionalOutputFormatType {
        /// `key.der`: the private key in DER.
        Der => "DER",
        /// `tls-combined.pem`: key and chain in one PEM.
        CombinedPem => "CombinedPEM",
    }
}

open_enum! {
    /// PKCS#12 keystore encryption profile.
    Pkcs12Profile {
        /// Legacy RC2 (the default, for compatibility).
        LegacyRc2 => "LegacyRC2",
        /// Legacy DES.
        LegacyDes => "LegacyDES",
        /// Modern 2023 (AES-256, PBKDF2).
        Modern2023 => "Modern2023",
        /// Modern 2026.
        Modern2026 => "Modern2026",
    }
}

impl Pkcs12Profile {
    /// The profile cert-manager uses when `profile` is absent.
    pub const DEFAULT: Pkcs12Profile = Pkcs12Profile::LegacyRc2;
}

open_enum! {
    /// Whether a certificate renews automatically.
    RenewalPolicy {
        /// Renew before expiry (the default).
        RenewBefore => "RenewBefore",
        /// Never renew automatically.
        Disabled => "Disabled",
    }
}

/// Spec of a [`Certificate`].
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[kube(
    derive = "PartialEq",
    group = "cert-manager.io",
    version = "v1",
    kind = "Certificate",
    plural = "certificates",
    namespaced,
    status = "CertificateStatus",
    shortname = "cert",
    shortname = "certs",
    category = "cert-manager",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type == \"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Secret","type":"string","jsonPath":".spec.secretName"}"#,
    printcolumn = r#"{"name":"Issuer","type":"string","priority":1,"jsonPath":".spec.issuerRef.name"}"#,
    printcolumn = r#"{"name":"Status","type":"string","priority":1,"jsonPath":".status.conditions[?(@.type == \"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp","description":"CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC."}"#
)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSpec {
    /// Subject fields other than the common name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<X509Subject>,
    /// A literal RFC 4514 subject, instead of `subject` and `commonName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub literal_subject: Option<String>,
    /// The common name (discouraged; at most 64 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    /// Requested lifetime (Go duration); cert-manager's default is [`CertificateSpec::DEFAULT_DURATION`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Renew this long before expiry; default one third of the lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_before: Option<String>,
    /// Renew when this percentage of the lifetime remains (instead of `renewBefore`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_before_percentage: Option<i32>,
    /// Renewal policy and windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal: Option<CertificateRenewal>,
    /// DNS subject alternative names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_names: Option<Vec<String>>,
    /// IP address subject alternative names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_addresses: Option<Vec<String>>,
    /// URI subject alternative names, e.g. SPIFFE ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uris: Option<Vec<String>>,
    /// `otherName` subject alternative names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_names: Option<Vec<OtherName>>,
    /// Email subject alternative names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_addresses: Option<Vec<String>>,
    /// Secret the key pair is stored in.
    pub secret_name: String,
    /// Labels and annotations copied onto the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_template: Option<CertificateSecretTemplate>,
    /// Extra keystores written into the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keystores: Option<CertificateKeystores>,
    /// The issuer that signs.
    pub issuer_ref: IssuerReference,
    /// Request a CA certificate.
    #[serde(default, rename = "isCA", skip_serializing_if = "Option::is_none")]
    pub is_ca: Option<bool>,
    /// Requested usages; default [`KeyUsage::DEFAULT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usages: Option<Vec<KeyUsage>>,
    /// Private key options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<CertificatePrivateKey>,
    /// Signature algorithm to request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_algorithm: Option<SignatureAlgorithm>,
    /// Encode usages into the CSR (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encode_usages_in_request: Option<bool>,
    /// CertificateRequests kept in history; default [`CertificateSpec::DEFAULT_REVISION_HISTORY_LIMIT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i32>,
    /// Extra output formats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_output_formats: Option<Vec<CertificateAdditionalOutputFormat>>,
    /// Name constraints (for CA certificates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_constraints: Option<NameConstraints>,
}

impl CertificateSpec {
    /// The lifetime cert-manager requests when `duration` is absent (90 days).
    pub const DEFAULT_DURATION: &'static str = "2160h";
    /// The history limit cert-manager applies when `revisionHistoryLimit` is absent.
    pub const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 1;

    /// A spec with only the two required fields set.
    pub fn new(secret_name: impl Into<String>, issuer_ref: IssuerReference) -> Self {
        Self {
            secret_name: secret_name.into(),
            issuer_ref,
            ..Self::default()
        }
    }
}

/// X.509 subject fields.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct X509Subject {
    /// Organizations (O).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizations: Option<Vec<String>>,
    /// Countries (C).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub countries: Option<Vec<String>>,
    /// Organizational units (OU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizational_units: Option<Vec<String>>,
    /// Localities (L).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localities: Option<Vec<String>>,
    /// Provinces (ST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provinces: Option<Vec<String>>,
    /// Street addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_addresses: Option<Vec<String>>,
    /// Postal codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_codes: Option<Vec<String>>,
    /// Serial number attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
}

/// An `otherName` SAN.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OtherName {
    /// The OID, dotted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    /// The UTF-8 value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utf8_value: Option<String>,
}

/// Labels and annotations for the certificate's Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSecretTemplate {
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// Keystores written beside the PEM files.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateKeystores {
    /// A Java keystore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jks: Option<JksKeystore>,
    /// A PKCS#12 keystore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs12: Option<Pkcs12Keystore>,
}

/// JKS keystore settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JksKeystore {
    /// Write `keystore.jks`.
    pub create: bool,
    /// Keystore password, from a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret_ref: Option<SecretKeySelector>,
    /// Keystore password, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Alias of the key entry (default `certificate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// PKCS#12 keystore settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pkcs12Keystore {
    /// Write `keystore.p12`.
    pub create: bool,
    /// Keystore password, from a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret_ref: Option<SecretKeySelector>,
    /// Keystore password, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Encryption profile; default [`Pkcs12Profile::DEFAULT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Pkcs12Profile>,
}

/// Private key options.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificatePrivateKey {
    /// Rotation policy; default [`PrivateKeyRotationPolicy::DEFAULT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_policy: Option<PrivateKeyRotationPolicy>,
    /// Encoding; default [`PrivateKeyEncoding::DEFAULT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<PrivateKeyEncoding>,
    /// Algorithm; default [`PrivateKeyAlgorithm::DEFAULT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<PrivateKeyAlgorithm>,
    /// Key size in bits (RSA default 2048, ECDSA default 256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
}

/// One extra output format.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateAdditionalOutputFormat {
    /// The format.
    #[serde(rename = "type")]
    pub type_: AdditionalOutputFormatType,
}

/// Renewal settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateRenewal {
    /// Renewal policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<RenewalPolicy>,
    /// Windows in which renewal may happen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows: Option<Vec<RenewalWindow>>,
}

/// A cron-defined renewal window.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenewalWindow {
    /// Cron expression for the window's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// Time zone of the cron expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Length of the window (Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_duration: Option<String>,
}

/// X.509 name constraints.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameConstraints {
    /// Mark the extension critical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical: Option<bool>,
    /// Permitted subtrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permitted: Option<NameConstraintItem>,
    /// Excluded subtrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<NameConstraintItem>,
}

/// Name constraint subtrees.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameConstraintItem {
    /// DNS domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_domains: Option<Vec<String>>,
    /// IP ranges (CIDR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_ranges: Option<Vec<String>>,
    /// Email addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_addresses: Option<Vec<String>>,
    /// URI domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri_domains: Option<Vec<String>>,
}

/// Status of a [`Certificate`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStatus {
    /// Conditions: `Ready`, `Issuing`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// When issuance last failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure_time: Option<Time>,
    /// Start of the current certificate's validity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<Time>,
    /// End of the current certificate's validity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<Time>,
    /// When cert-manager will renew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_time: Option<Time>,
    /// Current revision (the CertificateRequest's `cert-manager.io/certificate-revision`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// Secret holding the next private key during issuance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_private_key_secret_name: Option<String>,
    /// Consecutive failed issuance attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_issuance_attempts: Option<i64>,
    /// ACME renewal information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme: Option<CertificateAcmeStatus>,
}

/// ACME-specific Certificate status.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateAcmeStatus {
    /// ACME Renewal Information (RFC 9773).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ari: Option<AcmeRenewalInfo>,
}

/// ACME Renewal Information.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeRenewalInfo {
    /// Explanation URL given by the server.
    #[serde(
        default,
        rename = "explanationURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub explanation_url: Option<String>,
    /// When the server was last asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked: Option<Time>,
    /// The last error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When to ask next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_check: Option<Time>,
    /// The window the server suggests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_window: Option<SuggestedWindow>,
}

/// A renewal window suggested by an ACME server.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuggestedWindow {
    /// Window start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Time>,
    /// Window end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Time>,
}

ready_helpers!(Certificate, Condition);

impl Certificate {
    /// The `Issuing` condition, if any.
    pub fn issuing_condition(&self) -> Option<&Condition> {
        let status = self.status.as_ref()?;
        crate::condition::find_condition(&status.conditions, &crate::ConditionType::Issuing)
    }
}
