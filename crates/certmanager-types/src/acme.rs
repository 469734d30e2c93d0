//! The ACME issuer and its HTTP-01 / DNS-01 solvers.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{
    Affinity, LocalObjectReference as CoreLocalObjectReference, SELinuxOptions, SeccompProfile,
    Sysctl, Toleration,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{SecretKeySelector, ServiceAccountRef};
use crate::open_enum::open_enum;

/// Configures an issuer to obtain certificates from an RFC 8555 (ACME) server.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeIssuer {
    /// The ACME directory URL, e.g. `https://acme-v02.api.letsencrypt.org/directory`.
    pub server: String,
    /// The Secret key that holds (or will hold) the ACME account private key.
    pub private_key_secret_ref: SecretKeySelector,
    /// Email registered with the ACME account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// PEM CA bundle for the ACME server; serialized as base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::byte_string")]
    pub ca_bundle: Option<ByteString>,
    /// Skip TLS verification of the ACME server (insecure).
    #[serde(
        default,
        rename = "skipTLSVerify",
        skip_serializing_if = "Option::is_none"
    )]
    pub skip_tls_verify: Option<bool>,
    /// External account binding, for ACME servers that require one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_account_binding: Option<AcmeExternalAccountBinding>,
    /// Do not generate an account key; the Secret must already exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_account_key_generation: Option<bool>,
    /// Send the Certificate's duration to the ACME server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_duration_feature: Option<bool>,
    /// Preferred chain, by the common name of its top certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_chain: Option<String>,
    /// ACME certificate profile to request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Challenge solvers, chosen by selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solvers: Option<Vec<AcmeChallengeSolver>>,
}

open_enum! {
    /// MAC algorithm of an external account binding key.
    HmacKeyAlgorithm {
        /// HMAC-SHA256.
        Hs256 => "HS256",
        /// HMAC-SHA384.
        Hs384 => "HS384",
        /// HMAC-SHA512.
        Hs512 => "HS512",
    }
}

/// ACME external account binding.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeExternalAccountBinding {
    /// Key id given by the ACME server.
    #[serde(rename = "keyID")]
    pub key_id: String,
    /// The Secret key holding the base64url MAC key.
    pub key_secret_ref: SecretKeySelector,
    /// Deprecated MAC algorithm field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_algorithm: Option<HmacKeyAlgorithm>,
}

/// One solver and the domains it applies to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeChallengeSolver {
    /// Which certificates this solver applies to; empty means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<CertificateDnsNameSelector>,
    /// HTTP-01 solver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http01: Option<AcmeChallengeSolverHttp01>,
    /// DNS-01 solver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns01: Option<AcmeChallengeSolverDns01>,
    /// Skip the self check and wait this long instead (a Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_instead_of_self_check: Option<String>,
}

/// Selects the certificates a solver applies to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateDnsNameSelector {
    /// Labels the Certificate must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// Exact DNS names this solver handles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_names: Option<Vec<String>>,
    /// DNS zones (and their subdomains) this solver handles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_zones: Option<Vec<String>>,
}

/// HTTP-01 solver: through an Ingress or a Gateway API HTTPRoute.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeChallengeSolverHttp01 {
    /// Solve through an Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<AcmeChallengeSolverHttp01Ingress>,
    /// Solve through a Gateway API HTTPRoute.
    #[serde(
        default,
        rename = "gatewayHTTPRoute",
        skip_serializing_if = "Option::is_none"
    )]
    pub gateway_http_route: Option<AcmeChallengeSolverHttp01GatewayHttpRoute>,
}

/// HTTP-01 through an Ingress.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeChallengeSolverHttp01Ingress {
    /// Service type of the solver Service (`NodePort` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    /// IngressClass to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_class_name: Option<String>,
    /// Legacy `kubernetes.io/ingress.class` annotation value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Edit this existing Ingress instead of creating one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Overrides for the solver pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_template: Option<AcmeChallengeSolverHttp01PodTemplate>,
    /// Overrides for the solver Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_template: Option<AcmeChallengeSolverHttp01IngressTemplate>,
}

/// HTTP-01 through a Gateway API HTTPRoute.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeChallengeSolverHttp01GatewayHttpRoute {
    /// Service type of the solver Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    /// Labels on the HTTPRoute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Gateways the HTTPRoute attaches to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_refs: Option<Vec<GatewayParentReference>>,
    /// Overrides for the solver pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_template: Option<AcmeChallengeSolverHttp01PodTemplate>,
}

/// A Gateway API `ParentReference`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayParentReference {
    /// Group of the parent (default `gateway.networking.k8s.io`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind of the parent (default `Gateway`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name of the parent.
    pub name: String,
    /// Namespace of the parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Listener port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// Listener name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
}

/// Labels and annotations for a generated object.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMetaTemplate {
    /// Extra labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Extra annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Overrides for the generated solver Ingress.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeChallengeSolverHttp01IngressTemplate {
    /// Labels and annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMetaTemplate>,
}

/// Overrides for the HTTP-01 solver pod.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeChallengeSolverHttp01PodTemplate {
    /// Labels and annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMetaTemplate>,
    /// The pod spec fields that may be overridden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<AcmeChallengeSolverHttp01PodSpec>,
}

/// The subset of a pod spec the HTTP-01 solver pod accepts.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeChallengeSolverHttp01PodSpec {
    /// Node selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Affinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Tolerations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Priority class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Service account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Image pull secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<CoreLocalObjectReference>>,
    /// Pod security context (a subset of Kubernetes').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<AcmeChallengeSolverHttp01PodSecurityContext>,
    /// Resource requests and limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<AcmeChallengeSolverHttp01Resources>,
}

/// The subset of a pod security context the solver pod accepts.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeChallengeSolverHttp01PodSecurityContext {
    /// SELinux context.
    #[serde(
        default,
        rename = "seLinuxOptions",
        skip_serializing_if = "Option::is_none"
    )]
    pub se_linux_options: Option<SELinuxOptions>,
    /// UID to run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
    /// GID to run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_group: Option<i64>,
    /// Refuse to run as root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_non_root: Option<bool>,
    /// Supplemental groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplemental_groups: Option<Vec<i64>>,
    /// Volume ownership group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_group: Option<i64>,
    /// Sysctls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysctls: Option<Vec<Sysctl>>,
    /// When to change volume ownership.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_group_change_policy: Option<String>,
    /// Seccomp profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp_profile: Option<SeccompProfile>,
}

/// Resource requests and limits of the solver pod.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeChallengeSolverHttp01Resources {
    /// Maximum resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<BTreeMap<String, Quantity>>,
    /// Minimum resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<BTreeMap<String, Quantity>>,
}

open_enum! {
    /// How a DNS-01 solver follows CNAMEs.
    CnameStrategy {
        /// Do not follow CNAMEs.
        None => "None",
        /// Follow CNAMEs to the final zone.
        Follow => "Follow",
    }
}

/// DNS-01 solver: one provider should be set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeChallengeSolverDns01 {
    /// CNAME handling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cname_strategy: Option<CnameStrategy>,
    /// Akamai Edge DNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub akamai: Option<AcmeIssuerDns01ProviderAkamai>,
    /// Google Cloud DNS.
    #[serde(default, rename = "cloudDNS", skip_serializing_if = "Option::is_none")]
    pub cloud_dns: Option<AcmeIssuerDns01ProviderCloudDns>,
    /// Cloudflare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudflare: Option<AcmeIssuerDns01ProviderCloudflare>,
    /// AWS Route 53.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route53: Option<AcmeIssuerDns01ProviderRoute53>,
    /// Azure DNS.
    #[serde(default, rename = "azureDNS", skip_serializing_if = "Option::is_none")]
    pub azure_dns: Option<AcmeIssuerDns01ProviderAzureDns>,
    /// DigitalOcean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digitalocean: Option<AcmeIssuerDns01ProviderDigitalOcean>,
    /// acme-dns.
    #[serde(default, rename = "acmeDNS", skip_serializing_if = "Option::is_none")]
    pub acme_dns: Option<AcmeIssuerDns01ProviderAcmeDns>,
    /// RFC 2136 dynamic updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rfc2136: Option<AcmeIssuerDns01ProviderRfc2136>,
    /// An external webhook solver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<AcmeIssuerDns01ProviderWebhook>,
}

/// Akamai Edge DNS credentials.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeIssuerDns01ProviderAkamai {
    /// Akamai service consumer domain.
    pub service_consumer_domain: String,
    /// Client token.
    pub client_token_secret_ref: SecretKeySelector,
    /// Client secret.
    pub client_secret_secret_ref: SecretKeySelector,
    /// Access token.
    pub access_token_secret_ref: SecretKeySelector,
}

/// Google Cloud DNS settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeIssuerDns01ProviderCloudDns {
    /// Service account key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_secret_ref: Option<SecretKeySelector>,
    /// Google Cloud project.
    pub project: String,
    /// Hosted zone name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_zone_name: Option<String>,
}

/// Cloudflare credentials.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeIssuerDns01ProviderCloudflare {
    /// Account email (with an API key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Global API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret_ref: Option<SecretKeySelector>,
    /// API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token_secret_ref: Option<SecretKeySelector>,
}

/// AWS Route 53 settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeIssuerDns01ProviderRoute53 {
    /// Ambient-credential alternatives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Route53Auth>,
    /// Access key id, inline.
    #[serde(
        default,
        rename = "accessKeyID",
        skip_serializing_if = "Option::is_none"
    )]
    pub access_key_id: Option<String>,
    /// Access key id, from a Secret.
    #[serde(
        default,
        rename = "accessKeyIDSecretRef",
        skip_serializing_if = "Option::is_none"
    )]
    pub access_key_id_secret_ref: Option<SecretKeySelector>,
    /// Secret access key, from a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key_secret_ref: Option<SecretKeySelector>,
    /// Role to assume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Hosted zone id.
    #[serde(
        default,
        rename = "hostedZoneID",
        skip_serializing_if = "Option::is_none"
    )]
    pub hosted_zone_id: Option<String>,
    /// AWS region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Route 53 authentication through a Kubernetes service account.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Route53Auth {
    /// The service account to use.
    pub kubernetes: Route53KubernetesAuth,
}

/// The service account for Route 53 web-identity authentication.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Route53KubernetesAuth {
    /// The service account reference.
    pub service_account_ref: ServiceAccountRef,
}

open_enum! {
    /// Azure cloud environment.
    AzureDnsEnvironment {
        /// Public Azure.
        AzurePublicCloud => "AzurePublicCloud",
        /// Azure China.
        AzureChinaCloud => "AzureChinaCloud",
        /// Azure Germany.
        AzureGermanCloud => "AzureGermanCloud",
        /// Azure US Government.
        AzureUsGovernmentCloud => "AzureUSGovernmentCloud",
    }
}

open_enum! {
    /// Azure DNS zone type.
    AzureZoneType {
        /// A public zone.
        AzurePublicZone => "AzurePublicZone",
        /// A private zone.
        AzurePrivateZone => "AzurePrivateZone",
    }
}

/// Azure DNS settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeIssuerDns01ProviderAzureDns {
    /// Service principal client id.
    #[serde(default, rename = "clientID", skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Service principal client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_secret_ref: Option<SecretKeySelector>,
    /// Subscription id.
    #[serde(rename = "subscriptionID")]
    pub subscription_id: String,
    /// Tenant id.
    #[serde(default, rename = "tenantID", skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Resource group of the zone.
    pub resource_group_name: String,
    /// Zone name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_zone_name: Option<String>,
    /// Cloud environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<AzureDnsEnvironment>,
    /// Managed identity to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_identity: Option<AzureManagedIdentity>,
    /// Public or private zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_type: Option<AzureZoneType>,
}

/// An Azure managed identity.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzureManagedIdentity {
    /// Client id.
    #[serde(default, rename = "clientID", skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Resource id.
    #[serde(
        default,
        rename = "resourceID",
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_id: Option<String>,
    /// Tenant id.
    #[serde(default, rename = "tenantID", skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// DigitalOcean credentials.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeIssuerDns01ProviderDigitalOcean {
    /// API token.
    pub token_secret_ref: SecretKeySelector,
}

/// acme-dns settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeIssuerDns01ProviderAcmeDns {
    /// acme-dns server URL.
    pub host: String,
    /// Account JSON.
    pub account_secret_ref: SecretKeySelector,
}

open_enum! {
    /// Transport for RFC 2136 updates.
    Rfc2136Protocol {
        /// TCP.
        Tcp => "TCP",
        /// UDP.
        Udp => "UDP",
    }
}

/// RFC 2136 settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeIssuerDns01ProviderRfc2136 {
    /// Name server, `host[:port]`.
    pub nameserver: String,
    /// TSIG secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsig_secret_secret_ref: Option<SecretKeySelector>,
    /// TSIG key name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsig_key_name: Option<String>,
    /// TSIG algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsig_algorithm: Option<String>,
    /// Transport.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Rfc2136Protocol>,
}

/// An external DNS-01 webhook solver.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeIssuerDns01ProviderWebhook {
    /// API group of the webhook.
    pub group_name: String,
    /// Solver name within the group.
    pub solver_name: String,
    /// Free-form configuration passed to the webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub config: Option<serde_json::Value>,
}

/// Status of an ACME issuer's account.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeIssuerStatus {
    /// The account URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Email the account was registered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_registered_email: Option<String>,
    /// Hash of the account key last used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_private_key_hash: Option<String>,
}
