//! The verification, like the seed's last step: a workload certificate for
//! `spiffe://<td>/ns/foo/sa/sleep`, requested with the AppRole credentials exactly as
//! cert-manager uses them (login with role-id and secret-id, then `POST /v1/<intermediate>/
//! sign/<role>`), must chain to the intermediate and to `ca.crt` under an independent
//! verifier (rustls-webpki), and the AppRole token must be refused (403) outside its role.
//!
//! This module talks HTTP itself (reqwest), not through `vault-pki`, so the check does not
//! share code with what it checks.

use std::time::Duration;

use rustls_pki_types::{CertificateDer, UnixTime};
use serde_json::{Value, json};
use vault_pki::SecretString;

use crate::report::Check;

/// A certificate, key or CSR could not be read, made or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The input is not the PEM it should be.
    #[error("{what}: not a PEM {want}: {reason}")]
    Pem {
        /// Which input.
        what: String,
        /// The PEM block wanted.
        want: &'static str,
        /// Why.
        reason: String,
    },
    /// The DER inside could not be parsed, or a key or CSR could not be made.
    #[error("{what}: {reason}")]
    Invalid {
        /// What was being read or made.
        what: String,
        /// The parser's or builder's words.
        reason: String,
    },
    /// No valid path from the leaf to the trust anchor (rustls-webpki's verdict).
    #[error("{0}")]
    NoPath(String),
}

fn invalid(what: impl Into<String>, reason: impl std::fmt::Display) -> CertError {
    CertError::Invalid {
        what: what.into(),
        reason: reason.to_string(),
    }
}

/// Why the verification could not run at all (a check that ran and failed is a [`Check`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Vault's TLS CA bundle is unusable, or the HTTP client could not be built.
    #[error("the verification's HTTP client: {what}")]
    Client {
        /// What failed.
        what: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A request got no answer.
    #[error("POST {path}: {}", vault_pki::error_chain(.source))]
    Request {
        /// The Vault path.
        path: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The AppRole login was refused.
    #[error("AppRole login at {path} failed (HTTP {status}): {errors}")]
    Login {
        /// The login path.
        path: String,
        /// The status Vault answered.
        status: u16,
        /// Vault's messages.
        errors: String,
    },
    /// The workload certificate could not be read.
    #[error(transparent)]
    Certificate(#[from] CertError),
}

/// What the verification needs.
#[derive(Debug, Clone)]
pub struct VerifyInput {
    /// Vault's address.
    pub vault_addr: String,
    /// Vault namespace, if any.
    pub namespace: Option<String>,
    /// PEM of the CA for Vault's TLS certificate, if not the system's roots.
    pub vault_ca_pem: Option<String>,
    /// The AppRole auth mount (cert-manager's `appRole.path`).
    pub approle_mount: String,
    /// The role-id.
    pub role_id: String,
    /// The secret-id.
    pub secret_id: SecretString,
    /// The root mount (to check the token is refused there).
    pub root_mount: String,
    /// The intermediate mount.
    pub intermediate_mount: String,
    /// The signing role.
    pub role: String,
    /// The SPIFFE trust domain.
    pub trust_domain: String,
    /// The root, `ca.crt`, PEM.
    pub root_pem: String,
    /// The intermediate, `istioca.crt`, PEM.
    pub intermediate_pem: String,
}

/// The workload identity the verification asks for.
pub fn workload_identity(trust_domain: &str) -> String {
    format!("spiffe://{trust_domain}/ns/foo/sa/sleep")
}

/// A workload CSR as Istio's agent makes it by default: an RSA 2048 key, no subject, one URI
/// SAN (the seed's role keeps Vault's default `key_type=rsa`). Returns the CSR PEM; the key
/// stays in memory and is dropped.
pub fn workload_csr(identity: &str) -> Result<String, CertError> {
    use rsa::pkcs8::EncodePrivateKey;
    let mut rng = rsa::rand_core::OsRng;
    let rsa_key =
        rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(|e| invalid("generating an RSA key", e))?;
    let der = rsa_key
        .to_pkcs8_der()
        .map_err(|e| invalid("encoding the RSA key", e))?;
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(der.as_bytes().to_vec());
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_RSA_SHA256)
        .map_err(|e| invalid("loading the RSA key", e))?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    let uri = rcgen::string::Ia5String::try_from(identity.to_string())
        .map_err(|e| invalid(format!("URI SAN {identity}"), e))?;
    params.subject_alt_names = vec![rcgen::SanType::URI(uri)];
    let csr = params
        .serialize_request(&key)
        .map_err(|e| invalid("building the CSR", e))?;
    csr.pem().map_err(|e| invalid("encoding the CSR", e))
}

/// Verifies that `leaf_pem` chains to `anchor_pem` through `intermediates_pem`, at `now`, for
/// client authentication (what a workload certificate is used for in mTLS).
pub fn chains_to(
    leaf_pem: &str,
    intermediates_pem: &[&str],
    anchor_pem: &str,
    now: UnixTime,
) -> Result<(), CertError> {
    chains_for_usage(
        leaf_pem,
        intermediates_pem,
        anchor_pem,
        now,
        webpki::KeyUsage::client_auth(),
    )
}

/// Like [`chains_to`], for a server certificate (server-auth usage), e.g. istiod's.
pub fn chains_to_for_server(
    leaf_pem: &str,
    intermediates_pem: &[&str],
    anchor_pem: &str,
    now: UnixTime,
) -> Result<(), CertError> {
    chains_for_usage(
        leaf_pem,
        intermediates_pem,
        anchor_pem,
        now,
        webpki::KeyUsage::server_auth(),
    )
}

/// The path check behind [`chains_to`] and [`chains_to_for_server`], for one extended key usage.
fn chains_for_usage(
    leaf_pem: &str,
    intermediates_pem: &[&str],
    anchor_pem: &str,
    now: UnixTime,
    usage: webpki::KeyUsage,
) -> Result<(), CertError> {
    let leaf = der_of(leaf_pem, "leaf")?;
    let anchor_der = der_of(anchor_pem, "trust anchor")?;
    let anchor = webpki::anchor_from_trusted_cert(&anchor_der)
        .map_err(|e| invalid("trust anchor", format!("{e:?}")))?;
    let mut inter = Vec::new();
    for (i, p) in intermediates_pem.iter().enumerate() {
        inter.push(der_of(p, &format!("intermediate {i}"))?);
    }
    let ee = webpki::EndEntityCert::try_from(&leaf)
        .map_err(|e| invalid("parsing the leaf", format!("{e:?}")))?;
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        &inter,
        now,
        usage,
        None,
        None,
    )
    .map(|_| ())
    .map_err(|e| CertError::NoPath(format!("{e:?}")))
}

fn der_of(pem_text: &str, what: &str) -> Result<CertificateDer<'static>, CertError> {
    let bad = |reason: String| CertError::Pem {
        what: what.to_string(),
        want: "certificate",
        reason,
    };
    let p = pem::parse(pem_text).map_err(|e| bad(e.to_string()))?;
    if p.tag() != "CERTIFICATE" {
        return Err(bad(format!(
            "the PEM block is {}, not CERTIFICATE",
            p.tag()
        )));
    }
    Ok(CertificateDer::from(p.into_contents()))
}

/// The URI SANs of a PEM certificate.
pub fn uri_sans(cert_pem: &str) -> Result<Vec<String>, CertError> {
    let der = der_of(cert_pem, "certificate")?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| invalid("parsing the certificate", e))?;
    let mut out = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::URI(u) = n {
                out.push(u.to_string());
            }
        }
    }
    Ok(out)
}

/// Whether two PEM certificates are the same certificate (same DER).
pub fn same_cert(a: &str, b: &str) -> bool {
    match (der_of(a, "a"), der_of(b, "b")) {
        (Ok(x), Ok(y)) => x.as_ref() == y.as_ref(),
        _ => false,
    }
}

/// A small Vault HTTP client speaking as cert-manager does.
struct Http {
    client: reqwest::Client,
    addr: String,
    namespace: Option<String>,
}

impl Http {
    fn new(input: &VerifyInput) -> Result<Self, VerifyError> {
        let client_error =
            |what: &str, e: Box<dyn std::error::Error + Send + Sync>| VerifyError::Client {
                what: what.to_string(),
                source: e,
            };
        vault_pki::install_ring_provider();
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5));
        if let Some(ca) = &input.vault_ca_pem {
            let mut certs = Vec::new();
            for block in
                pem::parse_many(ca).map_err(|e| client_error("Vault's CA bundle", e.into()))?
            {
                certs.push(
                    reqwest::Certificate::from_der(block.contents()).map_err(|e| {
                        client_error("a certificate of Vault's CA bundle", e.into())
                    })?,
                );
            }
            b = b.tls_certs_only(certs);
        }
        let client = b
            .build()
            .map_err(|e| client_error("building it", e.into()))?;
        Ok(Http {
            client,
            addr: input.vault_addr.trim_end_matches('/').to_string(),
            namespace: input.namespace.clone(),
        })
    }

    /// POSTs `body` to `/v1/<path>`; returns the status and the JSON body.
    async fn post(
        &self,
        path: &str,
        token: Option<&SecretString>,
        body: &Value,
    ) -> Result<(u16, Value), VerifyError> {
        let url = format!("{}/v1/{}", self.addr, path.trim_start_matches('/'));
        let mut req = self.client.post(&url).json(body);
        if let Some(t) = token {
            req = req.header("X-Vault-Token", t.expose_secret());
        }
        if let Some(ns) = &self.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        let resp = req.send().await.map_err(|source| VerifyError::Request {
            path: path.to_string(),
            source,
        })?;
        let status = resp.status().as_u16();
        let v = resp.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, v))
    }
}

fn vault_errors(v: &Value) -> String {
    v.get("errors")
        .and_then(|e| e.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn check(name: &str, passed: bool, detail: impl Into<String>) -> Check {
    Check {
        name: name.to_string(),
        passed,
        detail: detail.into(),
    }
}

/// Runs the verification; each check is returned, passed or not. An `Err` means the checks
/// could not run at all (e.g. the login failed), with what happened.
///
/// `csr` is the workload CSR ([`workload_csr`]); made by the caller so that the RSA key can be
/// generated while Vault is being configured.
pub async fn verify(input: &VerifyInput, csr: &str) -> Result<Vec<Check>, VerifyError> {
    let http = Http::new(input)?;
    let mut checks = Vec::new();

    // 1. Log in like cert-manager: POST /v1/auth/<appRole.path>/login.
    let login_path = format!("auth/{}/login", input.approle_mount);
    let (status, body) = http
        .post(
            &login_path,
            None,
            &json!({"role_id": input.role_id, "secret_id": input.secret_id.expose_secret()}),
        )
        .await?;
    let token = body
        .pointer("/auth/client_token")
        .and_then(|t| t.as_str())
        .map(SecretString::new);
    let Some(token) = token.filter(|_| status == 200) else {
        return Err(VerifyError::Login {
            path: login_path,
            status,
            errors: vault_errors(&body),
        });
    };
    let policies: Vec<String> = body
        .pointer("/auth/token_policies")
        .and_then(|p| p.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    checks.push(check(
        "approle login",
        true,
        format!("{login_path}: token policies {policies:?}"),
    ));

    // 2. Sign a workload CSR as cert-manager does (all values are strings).
    let identity = workload_identity(&input.trust_domain);
    let sign_path = format!("{}/sign/{}", input.intermediate_mount, input.role);
    let (status, body) = http
        .post(
            &sign_path,
            Some(&token),
            &json!({
                "common_name": "",
                "alt_names": "",
                "ip_sans": "",
                "uri_sans": identity,
                "ttl": "1h0m0s",
                "csr": csr,
                "exclude_cn_from_sans": "true",
            }),
        )
        .await?;
    let leaf = body
        .pointer("/data/certificate")
        .and_then(|c| c.as_str())
        .map(str::to_string);
    let Some(leaf) = leaf.filter(|_| status == 200) else {
        checks.push(check(
            "workload signed",
            false,
            format!(
                "POST {sign_path} with the AppRole token: HTTP {status}: {}",
                vault_errors(&body)
            ),
        ));
        return Ok(checks);
    };
    checks.push(check(
        "workload signed",
        true,
        format!("{sign_path} for {identity}"),
    ));

    let sans = uri_sans(&leaf)?;
    checks.push(check(
        "workload identity",
        sans == [identity.clone()],
        format!("URI SANs {sans:?}, want [{identity}]"),
    ));

    let now = UnixTime::now();
    let r = chains_to(&leaf, &[], &input.intermediate_pem, now);
    checks.push(check(
        "chains to istioca.crt",
        r.is_ok(),
        r.err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "rustls-webpki: path to the intermediate as trust anchor".into()),
    ));
    let r = chains_to(&leaf, &[&input.intermediate_pem], &input.root_pem, now);
    checks.push(check(
        "chains to ca.crt",
        r.is_ok(),
        r.err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "rustls-webpki: leaf -> istioca.crt -> ca.crt".into()),
    ));
    let chain: Vec<String> = body
        .pointer("/data/ca_chain")
        .and_then(|c| c.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let last_is_root = chain.last().is_some_and(|l| same_cert(l, &input.root_pem));
    checks.push(check(
        "ca_chain ends at ca.crt",
        last_is_root,
        format!(
            "{} certificate(s) in ca_chain; the last must be the root (the seed's ROOTCA)",
            chain.len()
        ),
    ));

    // 3. The token is refused outside its role.
    for (path, body) in [
        (
            format!("{}/issue/{}", input.intermediate_mount, input.role),
            json!({"common_name": "x.svc"}),
        ),
        (
            format!("{}/root/sign-intermediate", input.root_mount),
            json!({"csr": csr}),
        ),
    ] {
        let (status, resp) = http.post(&path, Some(&token), &body).await?;
        checks.push(check(
            &format!("refused: {path}"),
            status == 403,
            format!("HTTP {status} (want 403) {}", vault_errors(&resp))
                .trim_end()
                .to_string(),
        ));
    }
    // Leave no live token behind (the `default` policy allows revoking oneself).
    let _ = http
        .post("auth/token/revoke-self", Some(&token), &json!({}))
        .await;
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixture: a root and an intermediate made with rcgen here (ECDSA P-256), the leaf
    /// signed by the intermediate with the URI SAN only.
    fn chain() -> Result<(String, String, String), rcgen::Error> {
        let rk = rcgen::KeyPair::generate()?;
        let mut rp = rcgen::CertificateParams::new(Vec::<String>::new())?;
        rp.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        rp.distinguished_name
            .push(rcgen::DnType::CommonName, "root");
        let root = rp.self_signed(&rk)?;
        let root_issuer = rcgen::Issuer::new(rp, &rk);
        let ik = rcgen::KeyPair::generate()?;
        let mut ip = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ip.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ip.distinguished_name
            .push(rcgen::DnType::CommonName, "istioca");
        let inter = ip.signed_by(&ik, &root_issuer)?;
        let int_issuer = rcgen::Issuer::new(ip, &ik);
        let lk = rcgen::KeyPair::generate()?;
        let mut lp = rcgen::CertificateParams::new(Vec::<String>::new())?;
        lp.distinguished_name = rcgen::DistinguishedName::new();
        lp.subject_alt_names = vec![rcgen::SanType::URI(rcgen::string::Ia5String::try_from(
            "spiffe://cluster.local/ns/foo/sa/sleep",
        )?)];
        let leaf = lp.signed_by(&lk, &int_issuer)?;
        Ok((root.pem(), inter.pem(), leaf.pem()))
    }

    #[test]
    fn verifies_chains_with_webpki() -> Result<(), Box<dyn std::error::Error>> {
        let (root, inter, leaf) = chain()?;
        let now = UnixTime::now();
        assert_eq!(chains_to(&leaf, &[], &inter, now), Ok(()));
        assert_eq!(chains_to(&leaf, &[&inter], &root, now), Ok(()));
        assert!(
            chains_to(&leaf, &[], &root, now).is_err(),
            "no path without the intermediate"
        );
        let (other_root, _, _) = chain()?;
        assert!(chains_to(&leaf, &[&inter], &other_root, now).is_err());
        assert_eq!(
            uri_sans(&leaf)?,
            vec!["spiffe://cluster.local/ns/foo/sa/sleep".to_string()]
        );
        assert!(same_cert(&root, &root) && !same_cert(&root, &inter));
        Ok(())
    }

    #[test]
    fn workload_csr_has_only_the_uri_san() -> Result<(), Box<dyn std::error::Error>> {
        let pem_text = workload_csr("spiffe://td/ns/foo/sa/sleep")?;
        let p = pem::parse(&pem_text)?;
        assert_eq!(p.tag(), "CERTIFICATE REQUEST");
        let (_, csr) =
            <x509_parser::certification_request::X509CertificationRequest as x509_parser::prelude::FromDer<'_, _>>::from_der(p.contents())?;
        assert_eq!(
            csr.certification_request_info
                .subject
                .iter_common_name()
                .count(),
            0
        );
        Ok(())
    }
}
