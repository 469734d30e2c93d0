//! Connection settings: address, token, TLS trust, client certificate, namespace, timeouts.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::secret::SecretString;

/// Where the CA bundle that verifies the server's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaBundle {
    /// A PEM file (what `VAULT_CACERT` names).
    File(PathBuf),
    /// PEM text in memory.
    Pem(String),
}

/// A client certificate and key for mutual TLS.
#[derive(Clone)]
pub struct ClientIdentity {
    /// The certificate chain, PEM.
    pub cert_pem: String,
    /// The private key, PEM.
    pub key_pem: SecretString,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("key_pem", &self.key_pem)
            .finish_non_exhaustive()
    }
}

/// How to reach and authenticate to Vault.
///
/// ```
/// use vault_pki::VaultConfig;
/// let cfg = VaultConfig::new("https://vault.example:8200")
///     .with_token("s.xxxx")
///     .with_ca_pem("-----BEGIN CERTIFICATE-----\n...")
///     .with_namespace("team-a");
/// assert_eq!(cfg.address, "https://vault.example:8200");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VaultConfig {
    /// Server address, e.g. `https://127.0.0.1:8200`.
    pub address: String,
    /// The token sent as `X-Vault-Token` (empty for none, e.g. before an AppRole login).
    pub token: SecretString,
    /// Trust only this CA bundle for the server's certificate; `None`: the system's roots.
    pub ca_bundle: Option<CaBundle>,
    /// Skip server certificate verification. Explicit opt-in, for tests only.
    pub insecure_skip_verify: bool,
    /// Client certificate for mutual TLS.
    pub client_identity: Option<ClientIdentity>,
    /// Vault Enterprise / OpenBao namespace (`X-Vault-Namespace`).
    pub namespace: Option<String>,
    /// Timeout for each request (default 30 s).
    pub request_timeout: Duration,
    /// Timeout for establishing a connection (default 5 s).
    pub connect_timeout: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
}

impl VaultConfig {
    /// Settings for `address` with no token, the system's roots and default timeouts.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into().trim_end_matches('/').to_string(),
            token: SecretString::new(""),
            ca_bundle: None,
            insecure_skip_verify: false,
            client_identity: None,
            namespace: None,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        }
    }

    /// Settings from the environment a Vault user expects: `VAULT_ADDR` (default
    /// `https://127.0.0.1:8200`, like the CLI), `VAULT_TOKEN`, `VAULT_CACERT`,
    /// `VAULT_NAMESPACE`, `VAULT_CLIENT_CERT` + `VAULT_CLIENT_KEY`, and
    /// `VAULT_SKIP_VERIFY` (`1`/`true` opts in to skipping verification).
    pub fn from_env() -> Result<Self> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// [`VaultConfig::from_env`] with the variables looked up by `get` (for tests, or a
    /// configuration map that mirrors the environment).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |k: &str| get(k).filter(|v| !v.is_empty());
        let mut cfg =
            Self::new(var("VAULT_ADDR").unwrap_or_else(|| "https://127.0.0.1:8200".into()));
        if let Some(t) = var("VAULT_TOKEN") {
            cfg.token = SecretString::new(t);
        }
        if let Some(ca) = var("VAULT_CACERT") {
            cfg.ca_bundle = Some(CaBundle::File(ca.into()));
        }
        cfg.namespace = var("VAULT_NAMESPACE");
        if let Some(v) = var("VAULT_SKIP_VERIFY") {
            cfg.insecure_skip_verify =
                matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "t");
        }
        match (var("VAULT_CLIENT_CERT"), var("VAULT_CLIENT_KEY")) {
            (Some(c), Some(k)) => {
                let read = |p: &str| {
                    std::fs::read_to_string(p).map_err(|e| {
                        Error::Config(format!("reading {p} (VAULT_CLIENT_CERT/KEY): {e}"))
                    })
                };
                cfg.client_identity = Some(ClientIdentity {
                    cert_pem: read(&c)?,
                    key_pem: SecretString::new(read(&k)?),
                });
            }
            (None, None) => {}
            _ => {
                return Err(Error::Config(
                    "set both VAULT_CLIENT_CERT and VAULT_CLIENT_KEY, or neither".into(),
                ));
            }
        }
        Ok(cfg)
    }

    /// Sets the token.
    pub fn with_token(mut self, token: impl Into<SecretString>) -> Self {
        self.token = token.into();
        self
    }

    /// Trusts only the CA bundle in this PEM file.
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_bundle = Some(CaBundle::File(path.into()));
        self
    }

    /// Trusts only the CA bundle in this PEM text.
    pub fn with_ca_pem(mut self, pem: impl Into<String>) -> Self {
        self.ca_bundle = Some(CaBundle::Pem(pem.into()));
        self
    }

    /// Opts in to skipping server certificate verification (tests only).
    pub fn danger_insecure_skip_verify(mut self) -> Self {
        self.insecure_skip_verify = true;
        self
    }

    /// Presents this client certificate (mutual TLS).
    pub fn with_client_identity(
        mut self,
        cert_pem: impl Into<String>,
        key_pem: impl Into<SecretString>,
    ) -> Self {
        self.client_identity = Some(ClientIdentity {
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
        });
        self
    }

    /// Sends `X-Vault-Namespace`.
    pub fn with_namespace(mut self, ns: impl Into<String>) -> Self {
        self.namespace = Some(ns.into());
        self
    }

    /// Sets the per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Builds the HTTP client: rustls with the ring provider selected explicitly (so no
    /// "could not automatically determine the process-level CryptoProvider" panic).
    pub(crate) fn http_client(&self) -> Result<reqwest::Client> {
        crate::tls::install_ring_provider();
        let mut b = reqwest::Client::builder()
            .tls_backend_rustls()
            .timeout(self.request_timeout)
            .connect_timeout(self.connect_timeout)
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true);
        if self.address.starts_with("http://") {
            // reqwest would still build a verifier for plain HTTP; an empty store avoids
            // loading the platform's roots for nothing.
            b = b.tls_certs_only(Vec::new());
        } else if !self.address.starts_with("https://") {
            return Err(Error::Config(format!(
                "address {:?} must start with http:// or https://",
                self.address
            )));
        }
        if let Some(ca) = &self.ca_bundle {
            let (pem, from) = match ca {
                CaBundle::File(p) => (
                    std::fs::read(p).map_err(|e| {
                        Error::Config(format!("reading the CA bundle {}: {e}", p.display()))
                    })?,
                    p.display().to_string(),
                ),
                CaBundle::Pem(s) => (s.clone().into_bytes(), "memory".to_string()),
            };
            let parsed = crate::pem::parse_certificates(&pem, &format!("CA bundle ({from})"))?;
            let mut certs = Vec::new();
            for der in parsed {
                certs.push(
                    reqwest::Certificate::from_der(&der)
                        .map_err(|e| Error::pem(format!("CA bundle ({from})"), e))?,
                );
            }
            b = b.tls_certs_only(certs);
        }
        if self.insecure_skip_verify {
            tracing::warn!(address = %self.address, "TLS certificate verification is disabled");
            b = b.tls_danger_accept_invalid_certs(true);
        }
        if let Some(id) = &self.client_identity {
            let mut pem = id.cert_pem.clone().into_bytes();
            pem.push(b'\n');
            pem.extend_from_slice(id.key_pem.expose_secret().as_bytes());
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|e| Error::pem("client certificate and key", e))?;
            b = b.identity(identity);
        }
        b.build()
            .map_err(|e| Error::Config(format!("building the HTTP client: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_token_or_key() {
        let cfg = VaultConfig::new("http://x:1/")
            .with_token("tok-secret")
            .with_client_identity("CERT", "KEY-secret");
        let d = format!("{cfg:?}");
        assert!(
            !d.contains("tok-secret") && !d.contains("KEY-secret"),
            "{d}"
        );
        assert_eq!(cfg.address, "http://x:1");
    }

    #[test]
    fn reads_the_vault_variables() {
        let vars = |k: &str| {
            let v = match k {
                "VAULT_ADDR" => "https://vault.internal:8200/",
                "VAULT_TOKEN" => "s.tok",
                "VAULT_CACERT" => "/etc/vault/ca.pem",
                "VAULT_NAMESPACE" => "team-a",
                _ => return None,
            };
            Some(v.to_string())
        };
        let cfg = VaultConfig::from_vars(vars).expect("config");
        assert_eq!(cfg.address, "https://vault.internal:8200");
        assert_eq!(cfg.token.expose_secret(), "s.tok");
        assert_eq!(
            cfg.ca_bundle,
            Some(CaBundle::File("/etc/vault/ca.pem".into()))
        );
        assert_eq!(cfg.namespace.as_deref(), Some("team-a"));
        assert!(!cfg.insecure_skip_verify);
        let none = VaultConfig::from_vars(|_| None).expect("defaults");
        assert_eq!(none.address, "https://127.0.0.1:8200");
        let half = VaultConfig::from_vars(|k| (k == "VAULT_CLIENT_CERT").then(|| "/x".to_string()));
        assert!(matches!(half, Err(Error::Config(_))));
        let skip =
            VaultConfig::from_vars(|k| (k == "VAULT_SKIP_VERIFY").then(|| "true".to_string()));
        assert!(skip.expect("skip").insecure_skip_verify);
    }

    #[test]
    fn rejects_bad_scheme_and_bad_ca_pem() {
        assert!(matches!(
            VaultConfig::new("ftp://x").http_client(),
            Err(Error::Config(_))
        ));
        let err = VaultConfig::new("https://x")
            .with_ca_pem("not a pem")
            .http_client();
        assert!(matches!(err, Err(Error::InvalidPem { .. })), "{err:?}");
    }
}
