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
mod istiod;
mod kubelet;
mod pki;
mod process;
mod state;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use vault_pki::SecretString;
use vault_pki::dev_server;

pub use agent::{AgentCerts, AgentOptions, PILOT_AGENT_BIN};
pub use cli::{StackArgs, StackCommand, cli};
pub use crds::{CERT_MANAGER_CRDS, cert_manager_crds};
pub use error::{Result, StackError};
pub use istiod::{ISTIOD_BIN, IstiodEndpoint, IstiodOptions};
pub use kubelet::{ISTIO_CSR_DEPLOYMENT, ISTIO_CSR_NAMESPACE, KUBELET_PERIOD, fingerprint};
pub use process::ProcessRecord;
pub use state::{STATE_FILE, StackState};

use process::{Proc, free_port, http_get, http_ok, wait_ready};

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

/// istio-csr's Helm chart folder at v0.17.0, if it is here: `$ISTIO_CSR_SRC/deploy/charts/istio-csr`,
/// else the project's shared copy beside this workspace (`shared/third_party/istio-csr-v0.17.0`).
pub fn istio_csr_chart_dir() -> Option<PathBuf> {
    let src = std::env::var_os("ISTIO_CSR_SRC")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/third_party/istio-csr-v0.17.0")
        });
    let chart = src.join("deploy/charts/istio-csr");
    chart.join("Chart.yaml").is_file().then_some(chart)
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

/// How to start istio-csr (see [`Stack::start_istio_csr`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IstioCsrOptions {
    /// The root CA istio-csr trusts and hands to workloads (`--root-ca-file`).
    pub root_ca_file: PathBuf,
    /// The issuer it requests certificates from (`--issuer-name`).
    pub issuer_name: String,
    /// Its kind (`--issuer-kind`, default `Issuer`).
    pub issuer_kind: String,
    /// Its group (`--issuer-group`, default `cert-manager.io`).
    pub issuer_group: String,
    /// Where its CertificateRequests go, and the Issuer's namespace (`--certificate-namespace`,
    /// default `istio-system`; created if missing).
    pub certificate_namespace: String,
    /// The trust domain (`--trust-domain`, default `cluster.local`).
    pub trust_domain: String,
    /// The cluster id (`--cluster-id`, default `Kubernetes`).
    pub cluster_id: String,
    /// More arguments, appended last.
    pub extra_args: Vec<String>,
}

impl IstioCsrOptions {
    /// Defaults for an issuer and root file.
    pub fn new(root_ca_file: impl Into<PathBuf>, issuer_name: impl Into<String>) -> Self {
        IstioCsrOptions {
            root_ca_file: root_ca_file.into(),
            issuer_name: issuer_name.into(),
            issuer_kind: "Issuer".into(),
            issuer_group: "cert-manager.io".into(),
            certificate_namespace: "istio-system".into(),
            trust_domain: "cluster.local".into(),
            cluster_id: "Kubernetes".into(),
            extra_args: Vec::new(),
        }
    }
}

/// Where a started istio-csr serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IstioCsrEndpoint {
    /// The gRPC (TLS) address, `127.0.0.1:<port>`.
    pub grpc_addr: String,
    /// The DNS name in its serving certificate (use it as the TLS server name).
    pub serving_dns_name: String,
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

fn write_secret(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(contents.as_bytes()))
        .map_err(|e| StackError::io(format!("writing {}", path.display()), e))
}

fn kubeconfig_yaml(server: &str, ca: &str, cert: &str, key: &str) -> String {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: stack\n  cluster:\n    server: {server}\n    certificate-authority-data: {}\nusers:\n- name: stack-admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\ncontexts:\n- name: stack\n  context:\n    cluster: stack\n    user: stack-admin\n    namespace: default\ncurrent-context: stack\n",
        b64(ca),
        b64(cert),
        b64(key)
    )
}

/// Builds a client for a kubeconfig file.
pub async fn client_for(kubeconfig: &Path) -> Result<kube::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = Kubeconfig::read_from(kubeconfig).map_err(|e| StackError::Kubeconfig {
        path: kubeconfig.to_path_buf(),
        message: e.to_string(),
    })?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| StackError::Kubeconfig {
            path: kubeconfig.to_path_buf(),
            message: e.to_string(),
        })?;
    kube::Client::try_from(config).map_err(|e| StackError::kube("building a Kubernetes client", e))
}

/// Creates a namespace unless it exists.
pub async fn ensure_namespace(client: &kube::Client, name: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        ..Default::default()
    };
    match api.create(&PostParams::default(), &ns).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(StackError::kube(format!("creating namespace {name}"), e)),
    }
}

impl Stack {
    /// Starts etcd, kube-apiserver, cert-manager's CRDs and controller, and OpenBao, waiting on
    /// each; on failure everything started so far is stopped.
    pub async fn up(cfg: StackConfig) -> Result<Stack> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let etcd_bin = need_bin(&cfg.bin_dir, ETCD_BIN, "")?;
        let apiserver_bin = need_bin(&cfg.bin_dir, KUBE_APISERVER_BIN, "")?;
        let cm_bin = need_bin(&cfg.bin_dir, CERT_MANAGER_BIN, "")?;
        let bao_bin = if cfg.openbao {
            let bao = match cfg.bao_bin.clone() {
                Some(b) => Ok(b),
                None => dev_server::find_bao(),
            };
            Some(bao.map_err(|e| StackError::MissingBinary {
                component: "openbao (bao)".into(),
                path: cache_dir().join("openbao-2.7.2/bao"),
                hint: format!("; {e}"),
            })?)
        } else {
            None
        };

        std::fs::create_dir_all(&cfg.dir)
            .map_err(|e| StackError::io(format!("creating {}", cfg.dir.display()), e))?;
        let dir = std::fs::canonicalize(&cfg.dir)
            .map_err(|e| StackError::io(format!("resolving {}", cfg.dir.display()), e))?;
        if let Ok(old) = StackState::load(&dir)
            && old.processes.iter().any(ProcessRecord::is_running)
        {
            return Err(StackError::State {
                path: StackState::path(&dir),
                message:
                    "a stack started from this dir is still running: run `e2e stack down` first"
                        .into(),
            });
        }
        for stale in ["etcd-data", "openbao-home"] {
            let _ = std::fs::remove_dir_all(dir.join(stale));
        }

        let pki = pki::generate(&dir)?;
        let mut ports = BTreeMap::new();
        for what in [
            "etcd-client",
            "etcd-peer",
            "kube-apiserver",
            "cert-manager-healthz",
        ] {
            ports.insert(what.to_string(), free_port(what)?);
        }
        let vault_port = if cfg.openbao {
            dev_server::free_port_pair().map_err(StackError::OpenBao)?
        } else {
            0
        };
        ports.insert("openbao".into(), vault_port);
        let api_server = format!("https://127.0.0.1:{}", ports["kube-apiserver"]);
        let token = dev_server::random_hex(16).map_err(StackError::OpenBao)?;
        let vault_token_file = dir.join("vault-token");
        // The admin kubeconfig and its client exist before the API server does (a client
        // connects on its first request).
        let kubeconfig_path = dir.join("kubeconfig");
        let read = |p: &Path| {
            std::fs::read_to_string(p)
                .map_err(|e| StackError::io(format!("reading {}", p.display()), e))
        };
        let kubeconfig = kubeconfig_yaml(
            &api_server,
            &read(&pki.ca_crt)?,
            &read(&pki.admin_crt)?,
            &read(&pki.admin_key)?,
        );
        write_secret(&kubeconfig_path, &kubeconfig)?;
        let client = client_for(&kubeconfig_path).await?;
        let mut stack = Stack {
            state: StackState {
                dir: dir.clone(),
                kubeconfig: kubeconfig_path,
                api_server: api_server.clone(),
                vault_addr: if cfg.openbao {
                    format!("http://127.0.0.1:{vault_port}")
                } else {
                    String::new()
                },
                vault_token_file: vault_token_file.clone(),
                ports: ports.clone(),
                processes: Vec::new(),
            },
            cfg,
            procs: Vec::new(),
            client: client.clone(),
            vault_token: SecretString::new(format!("root-{token}")),
            istio_csr: None,
            attached: false,
        };
        let timeout = stack.cfg.ready_timeout;
        let log = |name: &str| dir.join(format!("{name}.log"));

        // etcd
        let (ec, ep) = (ports["etcd-client"], ports["etcd-peer"]);
        let args = vec![
            "--name=stack".to_string(),
            format!("--data-dir={}", dir.join("etcd-data").display()),
            format!("--listen-client-urls=http://127.0.0.1:{ec}"),
            format!("--advertise-client-urls=http://127.0.0.1:{ec}"),
            format!("--listen-peer-urls=http://127.0.0.1:{ep}"),
            format!("--initial-advertise-peer-urls=http://127.0.0.1:{ep}"),
            format!("--initial-cluster=stack=http://127.0.0.1:{ep}"),
            "--unsafe-no-fsync=true".to_string(),
        ];
        let mut p = Proc::spawn("etcd", &etcd_bin, &args, &[], &log("etcd"))?;
        let res = wait_ready(&mut p, timeout, || async move {
            match http_get(ec, "/health").await? {
                (200, body) if body.contains("\"health\":\"true\"") => Ok(()),
                (code, body) => Err(format!("GET /health answered {code}: {}", body.trim())),
            }
        })
        .await;
        stack.track(p)?;
        res?;

        // kube-apiserver
        let sa_issuer = "https://kubernetes.default.svc.cluster.local";
        let args = vec![
            format!("--etcd-servers=http://127.0.0.1:{ec}"),
            "--bind-address=127.0.0.1".to_string(),
            "--advertise-address=127.0.0.1".to_string(),
            format!("--secure-port={}", ports["kube-apiserver"]),
            format!("--tls-cert-file={}", pki.apiserver_crt.display()),
            format!("--tls-private-key-file={}", pki.apiserver_key.display()),
            format!("--client-ca-file={}", pki.ca_crt.display()),
            format!("--service-account-key-file={}", pki.sa_pub.display()),
            format!(
                "--service-account-signing-key-file={}",
                pki.sa_key.display()
            ),
            format!("--service-account-issuer={sa_issuer}"),
            format!("--api-audiences={sa_issuer}"),
            "--authorization-mode=RBAC".to_string(),
            "--service-cluster-ip-range=10.0.0.0/24".to_string(),
            // The `kubernetes` Service's endpoints would be 127.0.0.1, which Endpoints forbid.
            "--endpoint-reconciler-type=none".to_string(),
            format!("--cert-dir={}", dir.join("kube-apiserver-certs").display()),
            "--profiling=false".to_string(),
        ];
        let p = Proc::spawn(
            "kube-apiserver",
            &apiserver_bin,
            &args,
            &[],
            &log("kube-apiserver"),
        )?;
        stack.track(p)?;
        {
            let c = client.clone();
            let idx = stack.procs.len() - 1;
            wait_ready(&mut stack.procs[idx], timeout, || {
                let c = c.clone();
                async move {
                    let req = http::Request::get("/readyz")
                        .body(Vec::new())
                        .map_err(|e| e.to_string())?;
                    match c.request_text(req).await {
                        Ok(t) if t.trim() == "ok" => Ok(()),
                        Ok(t) => Err(format!("GET /readyz answered {}", t.trim())),
                        Err(e) => Err(format!("GET /readyz: {e}")),
                    }
                }
            })
            .await?;
        }

        // Namespaces (no controller-manager is needed for them) and cert-manager's CRDs.
        let crn = stack.cfg.cluster_resource_namespace.clone();
        ensure_namespace(&client, &crn).await?;
        crds::install(&client, timeout).await?;

        // cert-manager's controller, out of cluster.
        let hz = ports["cert-manager-healthz"];
        let mut args = vec![
            format!("--kubeconfig={}", stack.state.kubeconfig.display()),
            format!("--cluster-resource-namespace={crn}"),
            format!("--healthz-listen-address=127.0.0.1:{hz}"),
            "--v=2".to_string(),
        ];
        args.extend(stack.cfg.cert_manager_args.iter().cloned());
        let mut p = Proc::spawn("cert-manager", &cm_bin, &args, &[], &log("cert-manager"))?;
        let res = wait_ready(&mut p, timeout, || http_ok(hz, "/readyz")).await;
        stack.track(p)?;
        res?;

        // OpenBao dev server, with its own HOME (it writes ~/.vault-token).
        if let Some(bao) = bao_bin {
            write_secret(&vault_token_file, stack.vault_token.expose_secret())?;
            let home = dir.join("openbao-home");
            std::fs::create_dir_all(&home)
                .map_err(|e| StackError::io(format!("creating {}", home.display()), e))?;
            let args = vec![
                "server".to_string(),
                "-dev".to_string(),
                format!("-dev-listen-address=127.0.0.1:{vault_port}"),
            ];
            // The root token goes through the environment: a flag would be visible in `ps`.
            let envs = [
                ("HOME", home.display().to_string()),
                (
                    dev_server::DEV_ROOT_TOKEN_ENV,
                    stack.vault_token.expose_secret().to_string(),
                ),
            ];
            let mut p = Proc::spawn("openbao", &bao, &args, &envs, &log("openbao"))?;
            let res = wait_ready(&mut p, timeout, || http_ok(vault_port, "/v1/sys/health")).await;
            stack.track(p)?;
            res?;
        }

        stack.state.save()?;
        Ok(stack)
    }

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

    /// Starts istio-csr out of cluster against the stack (serving gRPC with TLS on a free
    /// 127.0.0.1 port, trusting `root_ca_file`) and waits for its readiness probe. The issuer
    /// and the root file must exist: istio-csr gets its own serving certificate from it.
    pub async fn start_istio_csr(&mut self, opts: IstioCsrOptions) -> Result<IstioCsrEndpoint> {
        let bin = need_bin(
            &self.cfg.bin_dir,
            ISTIO_CSR_BIN,
            "; build-stack.sh builds it from the module proxy, else from ISTIO_CSR_SRC (default ../shared/third_party/istio-csr-v0.17.0)",
        )?;
        if !opts.root_ca_file.is_file() {
            return Err(StackError::io(
                format!("istio-csr: root CA file {}", opts.root_ca_file.display()),
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        ensure_namespace(&self.client(), &opts.certificate_namespace).await?;
        let serving = free_port("istio-csr")?;
        let metrics = free_port("istio-csr-metrics")?;
        let readiness = free_port("istio-csr-readiness")?;
        let dns_name = format!(
            "cert-manager-istio-csr.{}.svc",
            self.cfg.cluster_resource_namespace
        );
        let mut args = vec![
            format!("--kubeconfig={}", self.state.kubeconfig.display()),
            format!("--serving-address=127.0.0.1:{serving}"),
            format!("--serving-certificate-dns-names={dns_name}"),
            format!("--metrics-port={metrics}"),
            format!("--readiness-probe-port={readiness}"),
            "--readiness-probe-path=/readyz".to_string(),
            format!("--root-ca-file={}", opts.root_ca_file.display()),
            format!("--issuer-name={}", opts.issuer_name),
            format!("--issuer-kind={}", opts.issuer_kind),
            format!("--issuer-group={}", opts.issuer_group),
            format!("--certificate-namespace={}", opts.certificate_namespace),
            format!("--leader-election-namespace={}", opts.certificate_namespace),
            format!("--trust-domain={}", opts.trust_domain),
            format!("--cluster-id={}", opts.cluster_id),
        ];
        args.extend(opts.extra_args.iter().cloned());
        self.spawn_istio_csr(&bin, &args, [serving, metrics, readiness], dns_name)
            .await
    }

    /// Starts istio-csr with `args` (serving, metrics and readiness on the given 127.0.0.1
    /// ports), waits for its readiness endpoint, and records it and its ports.
    pub(crate) async fn spawn_istio_csr(
        &mut self,
        bin: &Path,
        args: &[String],
        [serving, metrics, readiness]: [u16; 3],
        serving_dns_name: String,
    ) -> Result<IstioCsrEndpoint> {
        let log = self.log_path("istio-csr");
        let mut p = Proc::spawn("istio-csr", bin, args, &[], &log)?;
        let res = wait_ready(&mut p, self.cfg.ready_timeout, || {
            http_ok(readiness, "/readyz")
        })
        .await;
        self.track(p)?;
        res?;
        for (k, v) in [
            ("istio-csr", serving),
            ("istio-csr-metrics", metrics),
            ("istio-csr-readiness", readiness),
        ] {
            self.state.ports.insert(k.to_string(), v);
        }
        self.state.save()?;
        let ep = IstioCsrEndpoint {
            grpc_addr: format!("127.0.0.1:{serving}"),
            serving_dns_name,
        };
        self.istio_csr = Some(ep.clone());
        Ok(ep)
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
    fn kubeconfig_parses_and_points_at_the_server() {
        let y = kubeconfig_yaml("https://127.0.0.1:1234", "CA", "CERT", "KEY");
        let kc: Kubeconfig = serde_yaml::from_str(&y).expect("kubeconfig");
        assert_eq!(kc.current_context.as_deref(), Some("stack"));
        let cluster = kc.clusters[0].cluster.as_ref().expect("cluster");
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:1234"));
    }

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
