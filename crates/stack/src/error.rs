//! Why the local stack could not be built, started or stopped.

use std::path::PathBuf;
use std::time::Duration;

/// Errors of the local stack.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StackError {
    /// A server binary is not where `crates/stack/build-stack.sh` puts it.
    #[error(
        "{component}: binary not found at {path}: run crates/stack/build-stack.sh (it builds etcd, kube-apiserver, cert-manager's controller, istiod and istio-csr from the Go module proxy into ~/.cache/vault-mesh-ca/stack/bin){hint}"
    )]
    MissingBinary {
        /// The component (`etcd`, `kube-apiserver`, …).
        component: String,
        /// Where it was looked for.
        path: PathBuf,
        /// Extra advice (empty or starting with `; `).
        hint: String,
    },
    /// A component did not become ready in time, or exited while starting.
    #[error(
        "{component} was not ready within {timeout:?} ({why}); its log is {log}; last lines:\n{tail}"
    )]
    NotReady {
        /// The component.
        component: String,
        /// How long was waited.
        timeout: Duration,
        /// What was observed last.
        why: String,
        /// Its log file.
        log: PathBuf,
        /// The log's last lines.
        tail: String,
    },
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, to what.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Making a key or certificate failed.
    #[error("making {what}: {source}")]
    Pki {
        /// Which key or certificate.
        what: String,
        /// The cause.
        #[source]
        source: rcgen::Error,
    },
    /// A Kubernetes API call failed.
    #[error("{what}: {source}")]
    Kube {
        /// What was being done, to which object.
        what: String,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// The kubeconfig could not be loaded.
    #[error("loading kubeconfig {path}: {message}")]
    Kubeconfig {
        /// Its path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The state file is missing or unreadable.
    #[error("stack state {path}: {message}")]
    State {
        /// The state file.
        path: PathBuf,
        /// What went wrong, and what to do.
        message: String,
    },
    /// An embedded manifest did not parse.
    #[error("parsing {what}: {message}")]
    Manifest {
        /// Which manifest.
        what: String,
        /// The parser's message.
        message: String,
    },
    /// OpenBao's binary, ports or token could not be had (`vault-pki`'s dev-server helpers).
    #[error("OpenBao: {0}")]
    OpenBao(#[source] vault_pki::dev_server::DevServerError),
    /// No free port was found on 127.0.0.1.
    #[error("no free port on 127.0.0.1 for {0}")]
    NoFreePort(String),
}

/// Result of stack operations.
pub type Result<T, E = StackError> = std::result::Result<T, E>;

impl StackError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        StackError::Io {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn kube(what: impl Into<String>, source: kube::Error) -> Self {
        StackError::Kube {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn pki(what: impl Into<String>, source: rcgen::Error) -> Self {
        StackError::Pki {
            what: what.into(),
            source,
        }
    }
}
