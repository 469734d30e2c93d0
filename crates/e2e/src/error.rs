//! Errors of a run: which step failed, its cause (kept as a typed source), and what to do.

use std::path::PathBuf;

/// Why `e2e run` or `e2e plan` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The arguments are inconsistent or an input file is unusable (exit code 2); found before
    /// anything was changed.
    #[error("bad usage: {0}")]
    Usage(String),
    /// The fleet file is unusable (exit code 2); found before anything was changed.
    #[error("bad usage: {0}")]
    FleetFile(#[from] crate::fleet::FleetFileError),
    /// A step of the flow failed (exit code 1).
    #[error("step `{step}` failed: {}\n  what to do: {hint}", vault_pki::error_chain(.source.as_ref()))]
    Step {
        /// The step's name, as in the progress lines and `report.json` (e.g. `vault: root mount`).
        step: String,
        /// What failed.
        #[source]
        source: Box<Cause>,
        /// What the operator can do about it.
        hint: String,
    },
}

/// What made a step fail, by the part of the system that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Cause {
    /// Vault/OpenBao (`vault-pki`); [`vault_pki::Error::step`] names the setup step.
    #[error(transparent)]
    Vault(#[from] vault_pki::Error),
    /// The throwaway OpenBao dev server.
    #[error(transparent)]
    DevServer(#[from] vault_pki::dev_server::DevServerError),
    /// A Kubernetes API call.
    #[error("{what}: {}", kube_message(.source))]
    Kube {
        /// What was being done, to which object.
        what: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// The kubeconfig.
    #[error("{path}: {source}")]
    Kubeconfig {
        /// The file (or `KUBECONFIG` list).
        path: PathBuf,
        /// Why it could not be used.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// A file in the output folder.
    #[error("{}: {source}", .path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An object or file could not be built (a builder refused an input).
    #[error("{what}: {source}")]
    Build {
        /// What was being built.
        what: String,
        /// The builder's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The verification could not run.
    #[error(transparent)]
    Verify(#[from] crate::verify::VerifyError),
    /// The Istio CA API check.
    #[error(transparent)]
    IstioCa(#[from] crate::istio_ca::IstioCaError),
    /// A wait on the cluster ran out.
    #[error("not {what} after {}s: {last}", .after.as_secs())]
    Timeout {
        /// The state waited for.
        what: String,
        /// The bound.
        after: std::time::Duration,
        /// What was seen last.
        last: String,
    },
    /// An external command failed.
    #[error("`{command}` failed: {status}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status, or why it could not start.
        status: String,
    },
    /// Checks did not pass.
    #[error("{}", .failed.join("; "))]
    Checks {
        /// `name: detail` of each failed check.
        failed: Vec<String>,
    },
}

impl Cause {
    /// A builder's error.
    pub fn build(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Cause::Build {
            what: what.into(),
            source: Box::new(source),
        }
    }

    /// A Kubernetes API error while doing `what`.
    pub fn kube(what: impl Into<String>, source: kube::Error) -> Self {
        Cause::Kube {
            what: what.into(),
            source,
        }
    }
}

/// Something a step needs was not there (named).
#[derive(Debug, thiserror::Error)]
#[error("{0} is missing")]
pub struct Missing(pub &'static str);

/// The API server's own words for an API error, else the client's error chain.
pub fn kube_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({}, HTTP {})", s.message, s.reason, s.code),
        other => vault_pki::error_chain(other),
    }
}

impl Error {
    /// A failed step.
    pub fn step(
        step: impl Into<String>,
        source: impl Into<Cause>,
        hint: impl Into<String>,
    ) -> Self {
        Error::Step {
            step: step.into(),
            source: Box::new(source.into()),
            hint: hint.into(),
        }
    }

    /// The process exit code for this error: 2 for bad usage, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::FleetFile(_) => 2,
            Error::Step { .. } => 1,
        }
    }

    /// The failed step's name, if a step failed.
    pub fn step_name(&self) -> Option<&str> {
        match self {
            Error::Step { step, .. } => Some(step),
            Error::Usage(_) | Error::FleetFile(_) => None,
        }
    }

    /// The cause of a failed step.
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            Error::Step { source, .. } => Some(source.as_ref()),
            Error::Usage(_) | Error::FleetFile(_) => None,
        }
    }
}

/// Result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
