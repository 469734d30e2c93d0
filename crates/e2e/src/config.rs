//! [`RunConfig`]: a run as a value. [`RunConfig::new`] gives the seed's run; the CLI builds one
//! from its arguments (`RunConfig::from_args`), validated before any change is made. Below the CLI
//! nothing sees clap types.

use std::path::PathBuf;
use std::time::Duration;

use vault_pki::{PkiSetup, SecretString, VaultConfig};

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunConfig {
    /// `plan`: report what `run` would change, writing nothing anywhere.
    pub dry_run: bool,
    /// Where Vault is.
    pub vault: VaultSpec,
    /// The Vault address cert-manager uses (the Issuer's `spec.vault.server`), when it is not
    /// the one this run talks to.
    pub issuer_vault_server: Option<String>,
    /// Where the root CA comes from.
    pub root: RootInput,
    /// Whether a given root may replace a different root already in Vault (`--replace-root`).
    pub replace_root: bool,
    /// How long a run waits for another run's lock on the same mounts in Vault.
    pub lock_wait: Duration,
    /// Vault's side: mounts, role, AppRole and policy names, trust domain, role key type (the
    /// root and the recorded secret-id are added by the run).
    pub setup: PkiSetup,
    /// The SPIFFE trust domain.
    pub trust_domain: String,
    /// Istio's namespace: the AppRole Secret, the Issuer, istiod's Certificate.
    pub namespace: String,
    /// Istio's cluster ID (istio-csr's `clusterID`, the ControlPlane's cluster name).
    pub cluster_id: String,
    /// The TSB ControlPlane's settings.
    pub tsb: TsbSettings,
    /// `--istio-operator`: TSB's IstioOperator, to fit the ControlPlane's overlays to.
    pub istio_operator: Option<serde_json::Value>,
    /// The output folder.
    pub out: PathBuf,
    /// The cluster to apply to and check, if any.
    pub cluster: Option<ClusterTarget>,
    /// How cert-manager logs in to Vault.
    pub auth: Auth,
}

/// How cert-manager logs in to Vault (`--auth`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Auth {
    /// AppRole: a role-id in the Issuer and a secret-id in a Secret (the seed's).
    #[default]
    AppRole,
    /// Vault's Kubernetes auth method: cert-manager logs in with a bound token of the Issuer's
    /// service account, which Vault checks with TokenReview; no Secret. Needs a cluster.
    Kubernetes(KubernetesAuth),
}

impl Auth {
    /// `approle` or `kubernetes`, as `--auth` and the report say it.
    pub fn name(&self) -> &'static str {
        match self {
            Auth::AppRole => "approle",
            Auth::Kubernetes(_) => "kubernetes",
        }
    }
}

/// Vault's Kubernetes auth method for one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KubernetesAuth {
    /// The auth mount (one per cluster: its config names that cluster's API server).
    pub mount: String,
    /// The Vault role bound to the Issuer's service account.
    pub role: String,
    /// The API server's URL as Vault reaches it; `None`: the kubeconfig's.
    pub kubernetes_host: Option<String>,
}

impl KubernetesAuth {
    /// The defaults: mount `kubernetes`, role `cert-manager`, the kubeconfig's API server.
    pub fn new() -> Self {
        Self {
            mount: certmanager_types::seed::KUBERNETES_MOUNT.into(),
            role: DEFAULT_KUBERNETES_ROLE.into(),
            kubernetes_host: None,
        }
    }
}

impl Default for KubernetesAuth {
    fn default() -> Self {
        Self::new()
    }
}

/// The Vault Kubernetes auth role's default name.
pub const DEFAULT_KUBERNETES_ROLE: &str = "cert-manager";

/// The Vault server of a run.
#[derive(Debug, Clone)]
// One value per run: boxing the connection settings would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum VaultSpec {
    /// A throwaway OpenBao dev server, started for the run and stopped at its end.
    DevServer,
    /// A given server.
    Server {
        /// Address, token, namespace and TLS trust.
        config: VaultConfig,
        /// The PEM CA for its TLS certificate, also written to the Issuer's `caBundle`.
        ca_pem: Option<String>,
    },
}

/// Where the root CA comes from.
#[derive(Debug, Clone)]
pub enum RootInput {
    /// `--root-ca-cert` and `--root-ca-key`, read.
    Given {
        /// The certificate, PEM.
        cert_pem: String,
        /// Its key, PEM.
        key_pem: SecretString,
    },
    /// The one an earlier run generated into the output folder, else Vault's, else a new one.
    Default,
}

/// The TSB ControlPlane's settings.
#[derive(Debug, Clone)]
pub struct TsbSettings {
    /// Image registry (`spec.hub`).
    pub hub: String,
    /// Management plane (and telemetry store) host.
    pub host: String,
    /// Management plane port.
    pub port: u16,
}

/// A cluster to apply to (`--kubeconfig`).
#[derive(Debug, Clone)]
pub struct ClusterTarget {
    /// The kubeconfig file, or a `KUBECONFIG`-style list.
    pub kubeconfig: PathBuf,
    /// The kubeconfig context to use; `None`: its current context.
    pub context: Option<String>,
    /// Bound on each wait (e.g. the Issuer becoming Ready).
    pub wait_timeout: Duration,
    /// `--istio-ca-addr`: also ask the mesh's CA for a workload certificate.
    pub istio_ca: Option<IstioCaTarget>,
    /// The helm binary (`--helm`); `None`: `helm` on PATH, else the command is given.
    pub helm: Option<PathBuf>,
    /// istio-csr's chart: a repository reference or the chart's folder.
    pub istio_csr_chart: String,
}

/// The mesh's CA API to check through.
#[derive(Debug, Clone)]
pub struct IstioCaTarget {
    /// `host:port`.
    pub addr: String,
    /// The name in its serving certificate.
    pub server_name: String,
    /// The PEM bundle its serving certificate chains to (default: the root).
    pub ca_pem: Option<String>,
}

/// How long a run waits for another run's lock on the same mounts: the Vault phase takes
/// seconds.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(120);
/// The default SPIFFE trust domain (Istio's).
pub const DEFAULT_TRUST_DOMAIN: &str = "cluster.local";
/// The default Istio cluster ID (Istio's).
pub const DEFAULT_CLUSTER_ID: &str = "Kubernetes";
/// Placeholder TSB registry: replace it.
pub const DEFAULT_TSB_HUB: &str = "registry.example.invalid/tetrate";
/// Placeholder TSB management plane host: replace it.
pub const DEFAULT_TSB_HOST: &str = "tsb.example.invalid";
/// TSB's management plane port.
pub const DEFAULT_TSB_PORT: u16 = 8443;

impl RunConfig {
    /// The seed's run into `out`: a throwaway OpenBao dev server, a generated root, the seed's
    /// names, no cluster. Change the fields to taste (e.g. [`RunConfig::vault`]).
    ///
    /// ```no_run
    /// # async fn demo() -> e2e::Result<()> {
    /// let mut cfg = e2e::RunConfig::new("./out");
    /// cfg.dry_run = true; // a plan: nothing is written
    /// let output = e2e::run(&cfg, &|ev: &e2e::Event<'_>| eprintln!("{ev:?}")).await;
    /// println!("{}", output.report.to_json());
    /// # Ok(()) }
    /// ```
    pub fn new(out: impl Into<PathBuf>) -> RunConfig {
        RunConfig {
            dry_run: false,
            vault: VaultSpec::DevServer,
            issuer_vault_server: None,
            root: RootInput::Default,
            replace_root: false,
            lock_wait: DEFAULT_LOCK_WAIT,
            setup: PkiSetup::default().with_trust_domain(DEFAULT_TRUST_DOMAIN),
            trust_domain: DEFAULT_TRUST_DOMAIN.into(),
            namespace: certmanager_types::seed::NAMESPACE.into(),
            cluster_id: DEFAULT_CLUSTER_ID.into(),
            tsb: TsbSettings {
                hub: DEFAULT_TSB_HUB.into(),
                host: DEFAULT_TSB_HOST.into(),
                port: DEFAULT_TSB_PORT,
            },
            istio_operator: None,
            out: out.into(),
            cluster: None,
            auth: Auth::AppRole,
        }
    }

    /// The path cert-manager signs at: `<intermediate>/sign/<role>`.
    pub fn sign_path(&self) -> String {
        self.setup.sign_path()
    }
}
