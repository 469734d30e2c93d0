//! A client for Istio's CA API, the gRPC service a workload's Istio agent calls to have its
//! CSR signed: `istio.v1.auth.IstioCertificateService/CreateCertificate`. istio-csr serves it
//! (through cert-manager), and so does istiod (its own CA, or its Kubernetes RA mode which
//! signs through a Kubernetes CertificateSigningRequest).
//!
//! The call is what the agent sends: the CSR in PEM, a requested lifetime in seconds, and the
//! workload's service-account token (audience `istio-ca`) as `authorization: Bearer ...`. The
//! answer is the certificate chain, leaf first and the root last (the seed's `ROOTCA` check
//! compares that last one with `ca.crt`).
//!
//! ```no_run
//! # async fn demo(kube: kube::Client, csr_pem: &str, ca_pem: &str) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use e2e::istio_ca::{IstioCaClient, service_account_token};
//!
//! let token = service_account_token(&kube, "foo", "sleep", "istio-ca", Duration::from_secs(600)).await?;
//! let mut ca = IstioCaClient::connect("127.0.0.1:15012", ca_pem, "istiod.istio-system.svc").await?;
//! let chain = ca.create_certificate(csr_pem, &token, Duration::from_secs(3600)).await?;
//! println!("{} certificates, root last", chain.len());
//! # Ok(()) }
//! ```

use std::time::Duration;

use http::uri::PathAndQuery;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Api;
use kube::api::PostParams;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use vault_pki::SecretString;

/// The gRPC method's path.
pub const CREATE_CERTIFICATE: &str = "/istio.v1.auth.IstioCertificateService/CreateCertificate";

/// `istio.v1.auth.IstioCertificateRequest` (istio.io/api `security/v1alpha1/ca.proto`). Field 4,
/// `metadata` (used for impersonation between istiod instances), is not sent.
#[derive(Clone, PartialEq, prost::Message)]
pub struct IstioCertificateRequest {
    /// The PEM-encoded CSR.
    #[prost(string, tag = "1")]
    pub csr: String,
    /// Requested lifetime, in seconds.
    #[prost(int64, tag = "3")]
    pub validity_duration: i64,
}

/// `istio.v1.auth.IstioCertificateResponse`: PEM certificates, leaf first, root last.
#[derive(Clone, PartialEq, prost::Message)]
pub struct IstioCertificateResponse {
    /// The chain.
    #[prost(string, repeated, tag = "1")]
    pub cert_chain: Vec<String>,
}

/// Why a call to the Istio CA failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IstioCaError {
    /// The address or the CA bundle is not usable.
    #[error("Istio CA {addr}: {what}; give host:port and a PEM CA bundle")]
    Config {
        /// The address given.
        addr: String,
        /// What was wrong.
        what: String,
    },
    /// No TLS connection could be made.
    #[error(
        "Istio CA {addr}: cannot connect as {server_name}: {detail}; check that it listens there and that its serving certificate names {server_name} and chains to the CA bundle"
    )]
    Connect {
        /// The address.
        addr: String,
        /// The name its certificate is checked against.
        server_name: String,
        /// The transport's error chain.
        detail: String,
    },
    /// The server answered with a gRPC error status.
    #[error("Istio CA {addr} refused CreateCertificate: {code}: {message}")]
    Refused {
        /// The address.
        addr: String,
        /// The gRPC status code, e.g. `Unauthenticated`.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The service-account token could not be had.
    #[error("TokenRequest for service account {namespace}/{name}: {detail}")]
    Token {
        /// The service account's namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API server's answer.
        detail: String,
    },
}

/// A connection to an Istio CA (istio-csr or istiod) over TLS.
#[derive(Debug, Clone)]
pub struct IstioCaClient {
    addr: String,
    server_name: String,
    grpc: tonic::client::Grpc<Channel>,
}

impl IstioCaClient {
    /// Connects to `addr` (`host:port`) over TLS, trusting `ca_pem` and checking the server's
    /// certificate for `server_name` (istio-csr: `cert-manager-istio-csr.cert-manager.svc`;
    /// istiod: `istiod.istio-system.svc`), as the Istio agent does.
    pub async fn connect(
        addr: &str,
        ca_pem: &str,
        server_name: &str,
    ) -> Result<Self, IstioCaError> {
        let config = |what: String| IstioCaError::Config {
            addr: addr.to_string(),
            what,
        };
        if pem::parse_many(ca_pem)
            .map(|v| v.is_empty())
            .unwrap_or(true)
        {
            return Err(config("the CA bundle holds no PEM certificate".into()));
        }
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(ca_pem))
            .domain_name(server_name);
        let endpoint = Endpoint::from_shared(format!("https://{addr}"))
            .map_err(|e| config(format!("not a host:port ({e})")))?
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .tls_config(tls)
            .map_err(|e| config(vault_pki::error_chain(&e)))?;
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| IstioCaError::Connect {
                addr: addr.to_string(),
                server_name: server_name.to_string(),
                detail: vault_pki::error_chain(&e),
            })?;
        Ok(IstioCaClient {
            addr: addr.to_string(),
            server_name: server_name.to_string(),
            grpc: tonic::client::Grpc::new(channel),
        })
    }

    /// Asks for `csr_pem` to be signed for `validity`, authenticated by `token`; returns the
    /// PEM chain as the server sent it (leaf first, root last).
    pub async fn create_certificate(
        &mut self,
        csr_pem: &str,
        token: &SecretString,
        validity: Duration,
    ) -> Result<Vec<String>, IstioCaError> {
        let refused = |code: String, message: String| IstioCaError::Refused {
            addr: self.addr.clone(),
            code,
            message,
        };
        let mut request = tonic::Request::new(IstioCertificateRequest {
            csr: csr_pem.to_string(),
            validity_duration: i64::try_from(validity.as_secs()).unwrap_or(i64::MAX),
        });
        let bearer = format!("Bearer {}", token.expose_secret())
            .parse()
            .map_err(|_| {
                refused(
                    "InvalidArgument".into(),
                    "the token is not a header value".into(),
                )
            })?;
        request.metadata_mut().insert("authorization", bearer);
        self.grpc.ready().await.map_err(|e| IstioCaError::Connect {
            addr: self.addr.clone(),
            server_name: self.server_name.clone(),
            detail: vault_pki::error_chain(&e),
        })?;
        let codec =
            tonic_prost::ProstCodec::<IstioCertificateRequest, IstioCertificateResponse>::default();
        let response = self
            .grpc
            .unary(
                request,
                PathAndQuery::from_static(CREATE_CERTIFICATE),
                codec,
            )
            .await
            .map_err(|s| refused(format!("{:?}", s.code()), s.message().to_string()))?;
        Ok(response.into_inner().cert_chain)
    }
}

/// A token for service account `namespace/name` from the TokenRequest API, for `audience`
/// (Istio: `istio-ca`), valid for `ttl`. The account is created first if it does not exist.
pub async fn service_account_token(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    audience: &str,
    ttl: Duration,
) -> Result<SecretString, IstioCaError> {
    let err = |detail: String| IstioCaError::Token {
        namespace: namespace.to_string(),
        name: name.to_string(),
        detail,
    };
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    if accounts
        .get_opt(name)
        .await
        .map_err(|e| err(e.to_string()))?
        .is_none()
    {
        let sa = ServiceAccount {
            metadata: kube::api::ObjectMeta {
                name: Some(name.to_string()),
                ..Default::default()
            },
            ..Default::default()
        };
        accounts
            .create(&PostParams::default(), &sa)
            .await
            .map_err(|e| err(format!("creating the account: {e}")))?;
    }
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            audiences: Some(vec![audience.to_string()]),
            expiration_seconds: Some(i64::try_from(ttl.as_secs()).unwrap_or(3600)),
            ..Default::default()
        }),
        ..Default::default()
    };
    let answer = accounts
        .create_token_request(name, &PostParams::default(), &request)
        .await
        .map_err(|e| err(e.to_string()))?;
    answer
        .status
        .and_then(|s| s.token)
        .map(SecretString::new)
        .ok_or_else(|| err("the answer has no token".into()))
}

/// Where and how `e2e run` asks an Istio CA for the workload certificate (seed step 9 done
/// through the mesh's own CA API instead of `istioctl`).
#[derive(Debug, Clone)]
pub struct WorkloadCheck {
    /// The CA's gRPC address, `host:port` (istio-csr: its Service's 443, port-forwarded).
    pub addr: String,
    /// The name in its serving certificate.
    pub server_name: String,
    /// PEM bundle its serving certificate chains to (default: the root, `ca.crt`).
    pub ca_pem: String,
    /// The workload's namespace and service account (`foo`, `sleep`).
    pub namespace: String,
    /// The service account.
    pub service_account: String,
    /// The identity the certificate must carry (`spiffe://<td>/ns/foo/sa/sleep`).
    pub identity: String,
    /// The intermediate (`istioca.crt`) and root (`ca.crt`), PEM.
    pub intermediate_pem: String,
    /// The root.
    pub root_pem: String,
}

/// Asks the Istio CA for a certificate for `csr_pem` with a TokenRequest token of the
/// workload's service account (audience `istio-ca`), and checks the answer: the leaf carries
/// the identity, chains to the root through the intermediate, and the chain's last
/// certificate is the root (`ROOTCA`). Returns one check per property; an error when no
/// answer could be had at all.
pub async fn workload_checks(
    kube: &kube::Client,
    check: &WorkloadCheck,
    csr_pem: &str,
) -> Result<Vec<crate::report::Check>, IstioCaError> {
    use crate::report::Check;
    let token = service_account_token(
        kube,
        &check.namespace,
        &check.service_account,
        "istio-ca",
        Duration::from_secs(600),
    )
    .await?;
    let mut client = IstioCaClient::connect(&check.addr, &check.ca_pem, &check.server_name).await?;
    let chain = client
        .create_certificate(csr_pem, &token, Duration::from_secs(3600))
        .await?;
    let certs: Vec<String> = chain
        .iter()
        .flat_map(|s| pem::parse_many(s).unwrap_or_default())
        .map(|p| pem::encode(&p))
        .collect();
    let who = format!("{} via {}", check.identity, check.addr);
    let Some(leaf) = certs.first() else {
        return Ok(vec![Check {
            name: "istio CA: workload certificate".into(),
            passed: false,
            detail: format!("{who}: the answer held no PEM certificate"),
        }]);
    };
    let sans = crate::verify::uri_sans(leaf).unwrap_or_default();
    let now = rustls_pki_types::UnixTime::now();
    let chained = crate::verify::chains_to(leaf, &[&check.intermediate_pem], &check.root_pem, now);
    let last_is_root = certs
        .last()
        .is_some_and(|c| crate::verify::same_cert(c, &check.root_pem));
    let last_is_intermediate = certs
        .last()
        .is_some_and(|c| crate::verify::same_cert(c, &check.intermediate_pem));
    Ok(vec![
        Check {
            name: "istio CA: identity".into(),
            passed: sans == [check.identity.clone()],
            detail: format!("{who}: URI SANs {sans:?}"),
        },
        Check {
            name: "istio CA: chains to ca.crt".into(),
            passed: chained.is_ok(),
            detail: match chained {
                Ok(()) => format!("{who}: leaf -> istioca.crt -> ca.crt"),
                Err(e) => format!("{who}: {e}"),
            },
        },
        Check {
            name: "istio CA: ROOTCA is ca.crt".into(),
            passed: last_is_root,
            detail: if last_is_intermediate {
                // The seed's text puts the intermediate into istio-csr's root file.
                format!(
                    "{who}: {} certificates, the last is istioca.crt, not ca.crt: the CA's root file holds the intermediate, not the root (istio-csr's rootCAFile, Secret istio-root-ca, must hold ca.crt), so workloads would trust the intermediate as their root",
                    certs.len()
                )
            } else {
                format!(
                    "{who}: {} certificates, the last {} ca.crt",
                    certs.len(),
                    if last_is_root { "is" } else { "is NOT" }
                )
            },
        },
    ])
}
