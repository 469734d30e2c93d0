//! The verification, like the seed's last step: a workload certificate for
//! `spiffe://<td>/ns/foo/sa/sleep`, requested with cert-manager's credentials exactly as
//! cert-manager uses them (AppRole login with role-id and secret-id, or Kubernetes login with
//! a bound token of the Issuer's service account; then `POST /v1/<intermediate>/sign/<role>`),
//! must chain to the intermediate and to `ca.crt` under an independent verifier
//! (rustls-webpki), and the token must be refused (403) outside its role; with Kubernetes
//! auth, another service account's token must be refused at login.
//!
//! This module talks HTTP itself (reqwest), not through `vault-pki`, so the check does not
//! share code with what it checks.
//!
//! Long because that independence has a price: the login, the signing request and the
//! refusals are spelled out here instead of borrowed from the client under test.

use std::time::Duration;

use rustls_pki_types::UnixTime;
use serde_json::{Value, json};
use vault_pki::SecretString;

use crate::report::Check;

pub use crate::certs::{
    CertError, chains_to, chains_to_for_server, same_cert, uri_sans, workload_csr,
};

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
    /// The login was refused.
    #[error("login at {path} failed (HTTP {status}): {errors}")]
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
    /// How cert-manager logs in.
    pub login: VaultLogin,
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

/// cert-manager's login, with the credentials it would use.
#[derive(Debug, Clone)]
pub enum VaultLogin {
    /// `POST /v1/auth/<mount>/login` with role-id and secret-id.
    AppRole {
        /// The AppRole auth mount (cert-manager's `appRole.path`).
        mount: String,
        /// The role-id.
        role_id: String,
        /// The secret-id.
        secret_id: SecretString,
    },
    /// `POST /v1/auth/<mount>/login` with role and a bound service-account token.
    Kubernetes {
        /// The Kubernetes auth mount.
        mount: String,
        /// The Vault role.
        role: String,
        /// A token of the Issuer's service account, as cert-manager requests it.
        jwt: SecretString,
        /// A token of another service account with the same audiences: must be refused.
        other_jwt: SecretString,
    },
}

impl VaultLogin {
    /// The login path and body.
    fn request(&self) -> (String, Value) {
        match self {
            VaultLogin::AppRole {
                mount,
                role_id,
                secret_id,
            } => (
                format!("auth/{mount}/login"),
                json!({"role_id": role_id, "secret_id": secret_id.expose_secret()}),
            ),
            VaultLogin::Kubernetes {
                mount, role, jwt, ..
            } => (
                format!("auth/{mount}/login"),
                json!({"role": role, "jwt": jwt.expose_secret()}),
            ),
        }
    }

    /// `approle` or `kubernetes`.
    fn name(&self) -> &'static str {
        match self {
            VaultLogin::AppRole { .. } => "approle",
            VaultLogin::Kubernetes { .. } => "kubernetes",
        }
    }
}

/// The workload identity the verification asks for.
pub fn workload_identity(trust_domain: &str) -> String {
    format!("spiffe://{trust_domain}/ns/foo/sa/sleep")
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

    // 1. Log in like cert-manager: POST /v1/auth/<mount>/login.
    let (login_path, login_body) = input.login.request();
    let (status, body) = http.post(&login_path, None, &login_body).await?;
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
        &format!("{} login", input.login.name()),
        true,
        format!("{login_path}: token policies {policies:?}"),
    ));
    if let VaultLogin::Kubernetes {
        role, other_jwt, ..
    } = &input.login
    {
        // Vault asked the API server (TokenReview) who the token is; another account's
        // token, with the same audiences, is not the role's.
        let (status, resp) = http
            .post(
                &login_path,
                None,
                &json!({"role": role, "jwt": other_jwt.expose_secret()}),
            )
            .await?;
        if let Some(t) = resp.pointer("/auth/client_token").and_then(|t| t.as_str()) {
            let stray = SecretString::new(t);
            let _ = http
                .post("auth/token/revoke-self", Some(&stray), &json!({}))
                .await;
        }
        checks.push(check(
            "refused: login as foo/sleep",
            status == 403,
            format!("HTTP {status} (want 403) {}", vault_errors(&resp))
                .trim_end()
                .to_string(),
        ));
    }

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
                "POST {sign_path} with cert-manager's token: HTTP {status}: {}",
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
