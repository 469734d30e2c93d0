//! Errors by cause, each naming the Vault path and what to do about it.

use std::time::Duration;

/// Everything that can go wrong talking to Vault/OpenBao.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server could not be reached (connection refused, DNS, TLS handshake, reset).
    #[error(
        "cannot reach Vault at {addr} ({path}): {}; check VAULT_ADDR, that the server runs, and its TLS CA (VAULT_CACERT)",
        crate::client::error_chain(.source.as_ref())
    )]
    Unreachable {
        /// The server address.
        addr: String,
        /// The Vault path being called.
        path: String,
        /// What failed (the HTTP client's error, with its causes).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No answer within the request timeout.
    #[error(
        "Vault did not answer {path} within {timeout:?}; check the server's load or raise the timeout"
    )]
    Timeout {
        /// The Vault path being called.
        path: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The server is sealed.
    #[error(
        "Vault is sealed ({path}): unseal it (`bao operator unseal` / `vault operator unseal`) and retry"
    )]
    Sealed {
        /// The Vault path being called.
        path: String,
    },
    /// The server is not initialized.
    #[error("Vault is not initialized ({path}): run `vault operator init` first")]
    NotInitialized {
        /// The Vault path being called.
        path: String,
    },
    /// The token may not do this (HTTP 403).
    #[error(
        "permission denied at {path}: the token's policies do not allow this operation (or the token is invalid/expired); use a token whose policy grants it. Vault said: {}",
        .errors.join("; ")
    )]
    PermissionDenied {
        /// The Vault path being called.
        path: String,
        /// Vault's own messages.
        errors: Vec<String>,
    },
    /// Nothing at this path (HTTP 404).
    #[error("not found at {path}: check the mount/role name, or run the setup first. Vault said: {}", .errors.join("; "))]
    NotFound {
        /// The Vault path being called.
        path: String,
        /// Vault's own messages (often empty).
        errors: Vec<String>,
    },
    /// Vault rejected the request (4xx/5xx with its own messages).
    #[error("Vault rejected the request to {path} (HTTP {status}): {}; fix the request parameters", .errors.join("; "))]
    Rejected {
        /// The Vault path being called.
        path: String,
        /// The HTTP status.
        status: u16,
        /// Vault's own messages.
        errors: Vec<String>,
    },
    /// The server answered something this client could not understand.
    #[error("unexpected answer from Vault at {path}: {reason}")]
    UnexpectedResponse {
        /// The Vault path being called.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// A PEM input (certificate, key, CSR, CA bundle) is not valid.
    #[error("invalid PEM for {what}: {reason}; pass a PEM-encoded {what}")]
    InvalidPem {
        /// What the PEM was supposed to hold.
        what: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The connection configuration is invalid.
    #[error("invalid Vault connection configuration: {0}")]
    Config(String),
    /// A certificate could not be generated (rcgen) or checked.
    #[error("certificate {what} failed: {reason}")]
    Certificate {
        /// What was being done.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// The caller's [`on_secret`](crate::SetupObserver::on_secret) could not keep a secret
    /// Vault handed out once; the setup stopped before its next request.
    #[error("keeping the {what} Vault returned failed: {}; fix it and re-run", crate::client::error_chain(.source.as_ref()))]
    SecretNotKept {
        /// Which secret (`exported intermediate key`, `secret-id`).
        what: &'static str,
        /// The caller's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Another run holds the lock on the same mounts.
    #[error(
        "another run is changing the same mounts: it holds the lock {path} (owner {owner}, since {since} s after the epoch); wait for it to end, or if it died, remove the lock with `bao secrets disable {path}`"
    )]
    Locked {
        /// The lock's mount path.
        path: String,
        /// Its holder.
        owner: String,
        /// When the holder took it (seconds since the epoch).
        since: u64,
    },
    /// The setup cannot proceed as described.
    #[error("setup step {step} cannot proceed: {reason}")]
    Setup {
        /// The step.
        step: crate::setup::Step,
        /// Why, and what to do.
        reason: String,
    },
    /// A step of [`PkiClient::ensure`](crate::PkiClient::ensure) or
    /// [`plan`](crate::PkiClient::plan) failed; `source` says why.
    #[error("setup step `{step}` failed: {source}")]
    InStep {
        /// The step that failed.
        step: crate::setup::Step,
        /// What failed.
        #[source]
        source: Box<Error>,
    },
    /// [`PkiClient::ensure`](crate::PkiClient::ensure) failed after this run had made
    /// secrets Vault never returns again (a generated root key, an exported intermediate key,
    /// a new secret-id). They are in `partial`, with the steps done so far: persist them, fix
    /// the cause, and re-run (the completed steps then report `unchanged`).
    #[error(
        "{source} (after {} completed steps; this run's new secrets are in the partial report: persist them before retrying)",
        .partial.steps.len()
    )]
    Incomplete {
        /// What stopped the setup.
        #[source]
        source: Box<Error>,
        /// The report up to the failed step, with the secrets made so far.
        partial: Box<crate::setup::SetupReport>,
    },
}

/// Result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether retrying may help (connection failures, timeouts, 429, 5xx other than sealed).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Incomplete { source, .. } | Error::InStep { source, .. } => {
                source.is_transient()
            }
            Error::Unreachable { .. } | Error::Timeout { .. } => true,
            Error::Rejected { status, .. } => *status == 429 || (*status >= 500 && *status != 501),
            _ => false,
        }
    }

    /// The Vault path the error is about, where there is one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Error::Incomplete { source, .. } | Error::InStep { source, .. } => source.path(),
            Error::Unreachable { path, .. }
            | Error::Timeout { path, .. }
            | Error::Sealed { path }
            | Error::NotInitialized { path }
            | Error::PermissionDenied { path, .. }
            | Error::NotFound { path, .. }
            | Error::Rejected { path, .. }
            | Error::UnexpectedResponse { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The error that stopped the work: itself, or what an [`Error::Incomplete`] wraps.
    pub fn cause(&self) -> &Error {
        match self {
            Error::Incomplete { source, .. } | Error::InStep { source, .. } => source.cause(),
            other => other,
        }
    }

    /// The setup step that failed, for errors of [`PkiClient::ensure`](crate::PkiClient::ensure)
    /// and [`plan`](crate::PkiClient::plan).
    pub fn step(&self) -> Option<crate::setup::Step> {
        match self {
            Error::Incomplete { source, .. } => source.step(),
            Error::InStep { step, .. } | Error::Setup { step, .. } => Some(*step),
            _ => None,
        }
    }

    /// The partial report of an [`Error::Incomplete`]: the secrets this run made before it
    /// failed, which must not be dropped.
    pub fn partial_report(&self) -> Option<&crate::setup::SetupReport> {
        match self {
            Error::Incomplete { partial, .. } => Some(partial),
            _ => None,
        }
    }

    pub(crate) fn pem(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Error::InvalidPem {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// A read's result with "not found" turned into `None`, for the `read_*` calls that answer
/// `Option` (Vault answers 404 for a role, policy or issuer that does not exist).
pub(crate) fn found<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
