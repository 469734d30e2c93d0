//! [`PkiClient`]: a vaultrs client with this crate's connection settings, error mapping,
//! per-request timeout and bounded retry.

use std::future::Future;

use vaultrs::api::EndpointMiddleware;
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;

use crate::config::VaultConfig;
use crate::error::{Error, Result};
use crate::secret::SecretString;

/// A typed Vault/OpenBao client for the PKI and AppRole operations of this crate.
///
/// Cheap to clone (the HTTP connection pool is shared). Every call has a timeout and retries
/// transient failures per [`VaultConfig::retry`].
#[derive(Clone)]
pub struct PkiClient {
    pub(crate) cfg: VaultConfig,
    http: reqwest::Client,
    inner: std::sync::Arc<VaultClient>,
}

impl std::fmt::Debug for PkiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PkiClient")
            .field("address", &self.cfg.address)
            .field("namespace", &self.cfg.namespace)
            .finish_non_exhaustive()
    }
}

impl PkiClient {
    /// Builds a client (no request is sent).
    pub fn new(cfg: VaultConfig) -> Result<Self> {
        let http = cfg.http_client()?;
        Self::with_http(cfg, http)
    }

    /// Builds a client from `VAULT_ADDR`, `VAULT_TOKEN`, `VAULT_CACERT`, `VAULT_NAMESPACE`, ….
    pub fn from_env() -> Result<Self> {
        Self::new(VaultConfig::from_env()?)
    }

    fn with_http(cfg: VaultConfig, http: reqwest::Client) -> Result<Self> {
        let url = reqwest::Url::parse(&cfg.address)
            .map_err(|e| Error::Config(format!("address {:?} is not a URL: {e}", cfg.address)))?;
        let mut sb = VaultClientSettingsBuilder::default();
        sb.address(url.as_str())
            .token(cfg.token.expose_secret())
            .ca_certs(Vec::new())
            .identity(None)
            .verify(!cfg.insecure_skip_verify)
            .timeout(Some(cfg.request_timeout));
        if let Some(ns) = &cfg.namespace {
            sb.set_namespace(ns.clone());
        }
        let settings = sb.build().map_err(|e| Error::Config(e.to_string()))?;
        let middle = EndpointMiddleware {
            token: cfg.token.expose_secret().to_string(),
            version: "v1".to_string(),
            wrap: None,
            namespace: cfg.namespace.clone(),
        };
        let rest = rustify::clients::reqwest::Client::new(&cfg.address, http.clone());
        let inner = VaultClient {
            http: rest,
            middle,
            settings,
        };
        Ok(Self {
            cfg,
            http,
            inner: std::sync::Arc::new(inner),
        })
    }

    /// The same connection (and connection pool) with another token, e.g. an AppRole login's.
    pub fn with_token(&self, token: &SecretString) -> Result<Self> {
        let cfg = self.cfg.clone().with_token(token.clone());
        Self::with_http(cfg, self.http.clone())
    }

    /// The connection settings.
    pub fn config(&self) -> &VaultConfig {
        &self.cfg
    }

    /// The server address.
    pub fn address(&self) -> &str {
        &self.cfg.address
    }

    /// The underlying HTTP client (shared pool, ring TLS).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Runs one Vault call with timeout, retry and error mapping; `path` names the Vault path
    /// for messages.
    pub(crate) async fn call<'a, T, F, Fut>(&'a self, path: &str, mut op: F) -> Result<T>
    where
        F: FnMut(&'a VaultClient) -> Fut,
        Fut: Future<Output = std::result::Result<T, ClientError>>,
    {
        let timeout = self.cfg.request_timeout + std::time::Duration::from_secs(1);
        let inner: &'a VaultClient = &self.inner;
        self.cfg
            .retry
            .run(path, || {
                let fut = op(inner);
                async move {
                    match tokio::time::timeout(timeout, fut).await {
                        Ok(Ok(v)) => Ok(v),
                        Ok(Err(e)) => Err(self.map_error(path, e)),
                        Err(_) => Err(Error::Timeout {
                            path: path.to_string(),
                            timeout: self.cfg.request_timeout,
                        }),
                    }
                }
            })
            .await
    }

    /// Maps a vaultrs error of a call to `path` to this crate's error.
    fn map_error(&self, path: &str, e: ClientError) -> Error {
        map_error(&self.cfg.address, path, self.cfg.request_timeout, e)
    }
}

impl PkiClient {
    /// Like [`PkiClient::call`] but never retried: for calls that are not safe to repeat (a
    /// request whose answer was lost may have been carried out: a second one would orphan an
    /// exported key, a token or a secret-id, or fail on a mount that now exists).
    pub(crate) async fn call_once<'a, T, F, Fut>(&'a self, path: &str, op: F) -> Result<T>
    where
        F: FnOnce(&'a VaultClient) -> Fut,
        Fut: Future<Output = std::result::Result<T, ClientError>>,
    {
        let timeout = self.cfg.request_timeout + std::time::Duration::from_secs(1);
        match tokio::time::timeout(timeout, op(&self.inner)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.map_error(path, e)),
            Err(_) => Err(Error::Timeout {
                path: path.to_string(),
                timeout: self.cfg.request_timeout,
            }),
        }
    }
}

/// Maps a vaultrs error to this crate's error, by cause; `timeout` is the request timeout the
/// HTTP client was given (reported when it fires).
pub(crate) fn map_error(
    addr: &str,
    path: &str,
    timeout: std::time::Duration,
    e: ClientError,
) -> Error {
    let path_s = path.to_string();
    match e {
        ClientError::APIError { code, errors } => from_status(path_s, code, errors),
        ClientError::RestClientError { source } => map_rest(addr, path_s, timeout, source),
        ClientError::ResponseEmptyError | ClientError::ResponseDataEmptyError => {
            Error::UnexpectedResponse {
                path: path_s,
                reason: "the response had no data".into(),
            }
        }
        ClientError::JsonParseError { source } => Error::UnexpectedResponse {
            path: path_s,
            reason: source.to_string(),
        },
        other => Error::UnexpectedResponse {
            path: path_s,
            reason: error_chain(&other),
        },
    }
}

fn map_rest(
    addr: &str,
    path: String,
    timeout: std::time::Duration,
    e: rustify::errors::ClientError,
) -> Error {
    use rustify::errors::ClientError as R;
    match e {
        R::ServerResponseError { code, content } => {
            let errors = content
                .as_deref()
                .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
                .and_then(|v| v.get("errors").cloned())
                .and_then(|v| serde_json::from_value::<Vec<String>>(v).ok())
                .or_else(|| content.filter(|c| !c.trim().is_empty()).map(|c| vec![c]))
                .unwrap_or_default();
            from_status(path, code, errors)
        }
        R::RequestError { ref source, .. } => {
            if let Some(re) = source.downcast_ref::<reqwest::Error>()
                && re.is_timeout()
            {
                return Error::Timeout { path, timeout };
            }
            Error::Unreachable {
                addr: addr.to_string(),
                path,
                source: Box::new(e),
            }
        }
        R::ResponseError { .. } => Error::Unreachable {
            addr: addr.to_string(),
            path,
            source: Box::new(e),
        },
        other => Error::UnexpectedResponse {
            path,
            reason: error_chain(&other),
        },
    }
}

/// Classifies an HTTP error status with Vault's messages.
pub(crate) fn from_status(path: String, status: u16, errors: Vec<String>) -> Error {
    let joined = errors.join(" ").to_ascii_lowercase();
    match status {
        503 if joined.contains("sealed") => Error::Sealed { path },
        501 => Error::NotInitialized { path },
        _ if joined.contains("not initialized") => Error::NotInitialized { path },
        // A PKI mount without a CA answers 500 "no default issuer currently configured":
        // a missing thing, not a server fault to retry.
        500 if joined.contains("no default issuer") => Error::NotFound { path, errors },
        403 => Error::PermissionDenied { path, errors },
        404 => Error::NotFound { path, errors },
        _ => Error::Rejected {
            path,
            status,
            errors,
        },
    }
}

/// `error: cause: cause …`, without secrets (errors carry URLs and messages only).
pub fn error_chain(e: &(dyn std::error::Error + '_)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_causes() {
        let p = || "pki/x".to_string();
        assert!(matches!(
            from_status(p(), 503, vec!["Vault is sealed".into()]),
            Error::Sealed { .. }
        ));
        assert!(matches!(
            from_status(p(), 503, vec!["busy".into()]),
            Error::Rejected { status: 503, .. }
        ));
        assert!(matches!(
            from_status(p(), 403, vec![]),
            Error::PermissionDenied { .. }
        ));
        assert!(matches!(
            from_status(p(), 404, vec![]),
            Error::NotFound { .. }
        ));
        assert!(matches!(
            from_status(p(), 501, vec![]),
            Error::NotInitialized { .. }
        ));
        assert!(from_status(p(), 429, vec![]).is_transient());
        assert!(from_status(p(), 502, vec![]).is_transient());
        assert!(!from_status(p(), 503, vec!["sealed".into()]).is_transient());
        assert!(!from_status(p(), 400, vec![]).is_transient());
        let e = from_status(p(), 403, vec!["permission denied".into()]);
        assert!(e.to_string().contains("pki/x") && e.to_string().contains("permission denied"));
    }
}
