//! A real local Kubernetes control plane for the end-to-end flow, run as local processes on
//! 127.0.0.1: etcd, kube-apiserver (own serving certificates, a service-account signing key, an
//! admin kubeconfig), cert-manager's CRDs and controller (out of cluster, no leader election),
//! an OpenBao dev server, and on demand istio-csr.
//!
//! The Go binaries come from `crates/stack/build-stack.sh` (built from the Go module proxy into
//! `~/.cache/vault-mesh-ca/stack/bin`); OpenBao's `bao` from `scripts/install-openbao.sh`.
//! Every component logs to `<dir>/<component>.log`; start-up waits on each component's
//! readiness with a bound, and a failure names the component and its log.
//!
//! ```no_run
//! # async fn demo() -> Result<(), stack::StackError> {
//! use stack::{Stack, StackConfig};
//!
//! let stack = Stack::up(StackConfig::new("out/stack")).await?;
//! println!("KUBECONFIG={} VAULT_ADDR={}", stack.kubeconfig_path().display(), stack.vault_addr());
//! let client = stack.client(); // a kube::Client with cluster-admin rights
//! # let _ = client;
//! stack.down().await;
//! # Ok(()) }
//! ```

mod agent;
mod cli;
mod crds;
mod deployment;
mod error;
mod files;
mod istio_csr;
mod istiod;
mod kubeconfig;
mod kubelet;
mod pki;
mod process;
mod state;
mod up;

use std::path::{Path, PathBuf};
use std::time::Duration;

use vault_pki::SecretString;

pub use agent::{AgentCerts, AgentOptions, PILOT_AGENT_BIN};
pub use cli::{StackArgs, StackCommand, cli};
pub use crds::{CERT_MANAGER_CRDS, cert_manager_crds};
pub use error::{Result, StackError};
pub use istio_csr::{IstioCsrEndpoint, IstioCsrOptions, istio_csr_chart_dir};
pub use istiod::{ISTIOD_BIN, IstiodEndpoint, IstiodOptions};
pub use kubeconfig::{client_for, ensure_namespace};
pub use kubelet::{ISTIO_CSR_DEPLOYMENT, ISTIO_CSR_NAMESPACE, KUBELET_PERIOD, fingerprint};
pub use process::ProcessRecord;
pub use state::{STATE_FILE, StackState};

use process::Proc;

/// The binaries `build-stack.sh` links into its bin dir.
pub const ETCD_BIN: &str = "etcd";
/// kube-apiserver's binary name.
pub const KUBE_APISERVER_BIN: &str = "kube-apiserver";
/// cert-manager's controller binary name.
pub const CERT_MANAGER_BIN: &str = "cert-manager-controller";
/// istio-csr's binary name.
pub const ISTIO_CSR_BIN: &str = "istio-csr";

/// The default bin dir: `$VMC_STACK_BIN_DIR`, else `$VMC_CACHE/stack/bin`, else
/// `~/.cache/vault-mesh-ca/stack/bin` (where `build-stack.sh` links the binaries).
pub fn default_bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("VMC_STACK_BIN_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    cache_dir().join("stack/bin")
}

fn cache_dir() -> PathBuf {
    std::env::var_os("VMC_CACHE")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/vault-mesh-ca")))
        .unwrap_or_else(|| PathBuf::from(".cache/vault-mesh-ca"))
}

/// How to start a [`Stack`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StackConfig {
    /// The stack dir: state file, logs, PKI, etcd data, kubeconfig (created if missing).
    pub dir: PathBuf,
    /// Where the Go-built binaries are (default [`default_bin_dir`]).
    pub bin_dir: PathBuf,
    /// An explicit `bao`; default [`vault_pki::dev_server::find_bao`].
    pub bao_bin: Option<PathBuf>,
    /// The bound on each component's readiness (default 120 s: kube-apiserver's first start
    /// on a loaded 2-core machine takes tens of seconds).
    pub ready_timeout: Duration,
    /// The namespace for ClusterIssuer secrets (`--cluster-resource-namespace`), created by
    /// the stack (default `cert-manager`).
    pub cluster_resource_namespace: String,
    /// Extra arguments for cert-manager's controller (e.g. a shorter
    /// `--certificate-request-minimum-backoff-duration`).
    pub cert_manager_args: Vec<String>,
    /// Start OpenBao (default true).
    pub openbao: bool,
}

impl StackConfig {
    /// Defaults, with the stack in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StackConfig {
            dir: dir.into(),
            bin_dir: default_bin_dir(),
            bao_bin: None,
            ready_timeout: Duration::from_secs(120),
            cluster_resource_namespace: "cert-manager".to_string(),
            cert_manager_args: Vec::new(),
            openbao: true,
        }
    }
}

/// A running stack. Dropping it kills what it started; [`Stack::down`] stops it gracefully,
/// and [`Stack::detach`] leaves it running for `e2e stack down`.
pub struct Stack {
    cfg: StackConfig,
    state: StackState,
    procs: Vec<Proc>,
    client: kube::Client,
    vault_token: SecretString,
    istio_csr: Option<IstioCsrEndpoint>,
    /// Made by [`Stack::attach`]: the processes before it are not ours to stop.
    attached: bool,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("dir", &self.state.dir)
            .field("api_server", &self.state.api_server)
            .field("vault_addr", &self.state.vault_addr)
            .field("vault_token", &"<redacted>")
            .field("processes", &self.state.processes)
            .finish()
    }
}

fn need_bin(bin_dir: &Path, name: &str, hint: &str) -> Result<PathBuf> {
    let p = bin_dir.join(name);
    if p.is_file() {
        Ok(p)
    } else {
        Err(StackError::MissingBinary {
            component: name.to_string(),
            path: p,
            hint: hint.to_string(),
        })
    }
}

impl Stack {
    /// Takes over a stack `e2e stack up` left running (from its state file), to start more
    /// components on it ([`Stack::start_istiod`]); its processes stay running when this
    /// value is dropped, and [`Stack::detach`] keeps what was added running too.
    pub async fn attach(cfg: StackConfig) -> Result<Stack> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let state = StackState::load(&cfg.dir)?;
        let vault_token = match std::fs::read_to_string(&state.vault_token_file) {
            Ok(t) => SecretString::new(t.trim().to_string()),
            // A stack started without OpenBao has no token file.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && state.vault_addr.is_empty() => {
                SecretString::new(String::new())
            }
            Err(e) => {
                return Err(StackError::io(
                    format!(
                        "reading OpenBao's root token from {}",
                        state.vault_token_file.display()
                    ),
                    e,
                ));
            }
        };
        let client = client_for(&state.kubeconfig).await?;
        Ok(Stack {
            cfg,
            state,
            procs: Vec::new(),
            client,
            vault_token,
            istio_csr: None,
            attached: true,
        })
    }

    /// Records a started process and rewrites the state file, so `e2e stack down` can stop
    /// what an interrupted `up` left running.
    fn track(&mut self, p: Proc) -> Result<()> {
        if self.attached {
            // Another process of the stack (the kubelet, `stack istiod`) may have recorded
            // processes since this one read the state: keep theirs.
            self.merge_state();
        }
        self.state.processes.push(p.record.clone());
        self.procs.push(p);
        self.state.save()
    }

    /// Re-reads the state file and keeps the processes and ports recorded there that this
    /// value does not know.
    fn merge_state(&mut self) {
        if let Ok(now) = StackState::load(&self.state.dir) {
            for r in now.processes {
                if !self.state.processes.iter().any(|k| k.pid == r.pid) {
                    self.state.processes.push(r);
                }
            }
            for (k, v) in now.ports {
                self.state.ports.entry(k).or_insert(v);
            }
        }
    }

    /// Whether a process this value started under `name` still runs.
    pub fn runs(&mut self, name: &str) -> bool {
        self.procs
            .iter_mut()
            .any(|p| p.record.name == name && p.exited().is_none())
    }

    /// Stops the processes this value started under `name` and forgets them.
    pub async fn stop_process(&mut self, name: &str) {
        let mut stopped = Vec::new();
        for p in self.procs.iter_mut().filter(|p| p.record.name == name) {
            p.stop(Duration::from_secs(10)).await;
            stopped.push(p.record.pid);
        }
        self.procs.retain(|p| !stopped.contains(&p.record.pid));
        if self.attached {
            self.merge_state();
        }
        self.state.processes.retain(|r| !stopped.contains(&r.pid));
        let _ = self.state.save();
    }

    /// The admin kubeconfig (client certificate in group `system:masters`).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.state.kubeconfig
    }

    /// OpenBao's address, e.g. `http://127.0.0.1:40123` (empty when OpenBao is off).
    pub fn vault_addr(&self) -> &str {
        &self.state.vault_addr
    }

    /// OpenBao's root token (a secret: do not log it).
    pub fn vault_token(&self) -> &str {
        self.vault_token.expose_secret()
    }

    /// The API server URL.
    pub fn api_server(&self) -> &str {
        &self.state.api_server
    }

    /// The stack dir.
    pub fn dir(&self) -> &Path {
        &self.state.dir
    }

    /// What the stack runs (as in the state file).
    pub fn state(&self) -> &StackState {
        &self.state
    }

    /// The log file of a component (`etcd`, `kube-apiserver`, `cert-manager`, `openbao`,
    /// `istio-csr`).
    pub fn log_path(&self, component: &str) -> PathBuf {
        self.state.dir.join(format!("{component}.log"))
    }

    /// A cluster-admin client.
    ///
    /// # Panics
    /// Never after [`Stack::up`] returned (it sets the client before returning).
    #[allow(clippy::expect_used)]
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// istio-csr's endpoint, once started.
    pub fn istio_csr(&self) -> Option<&IstioCsrEndpoint> {
        self.istio_csr.as_ref()
    }

    /// Stops everything the stack started (last started first) and removes the state file;
    /// logs and the stack dir stay for inspection.
    pub async fn down(mut self) {
        self.stop_all().await;
    }

    /// Stops what this value started; an attached stack forgets those processes and keeps
    /// its state file for the rest.
    async fn stop_all(&mut self) {
        let mut ours = Vec::new();
        while let Some(mut p) = self.procs.pop() {
            ours.push(p.record.pid);
            p.stop(Duration::from_secs(10)).await;
        }
        self.release_state(&ours);
    }

    /// After stopping the processes `ours`: an attached stack drops their records and keeps
    /// its state file (the rest still runs); a stack of our own removes the file.
    fn release_state(&mut self, ours: &[u32]) {
        if self.attached {
            self.state.processes.retain(|r| !ours.contains(&r.pid));
            let _ = self.state.save();
        } else {
            let _ = std::fs::remove_file(StackState::path(&self.state.dir));
        }
    }

    /// Leaves the processes running (for `e2e stack down` to stop from the state file) and
    /// returns the state that was saved.
    pub fn detach(mut self) -> StackState {
        // Dropping a std Child neither kills nor waits for it; the processes outlive us.
        self.procs.clear();
        self.state.clone()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if self.procs.is_empty() {
            return;
        }
        for p in self.procs.iter_mut().rev() {
            if let Some(c) = p.child.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        let ours: Vec<u32> = self.procs.iter().map(|p| p.record.pid).collect();
        self.release_state(&ours);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binary_names_the_build_script() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = need_bin(dir.path(), ETCD_BIN, "").expect_err("missing");
        assert!(
            err.to_string().contains("crates/stack/build-stack.sh"),
            "{err}"
        );
    }

    #[test]
    fn pki_writes_every_file_with_secret_keys_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let f = pki::generate(dir.path()).expect("pki");
        for p in [&f.ca_crt, &f.apiserver_crt, &f.admin_crt, &f.sa_pub] {
            assert!(
                std::fs::read_to_string(p)
                    .expect("read")
                    .contains("-----BEGIN")
            );
        }
        for p in [&f.apiserver_key, &f.admin_key, &f.sa_key] {
            let mode = std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", p.display());
        }
    }
}
