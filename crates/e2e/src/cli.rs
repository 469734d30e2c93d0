//! The command line: `e2e run`, `e2e plan` and `e2e stack`, with every flag and its
//! environment variable. Names are a stable interface: scripts depend on them.
//!
//! Long because it is the whole command-line surface: every flag with its help text and
//! environment variable (clap derive), which is what `--help` prints. No logic lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use vault_pki::{PkiSetup, SecretString};

/// The reference runner for the Vault PKI -> cert-manager -> istio-csr -> TSB flow.
#[derive(Debug, Parser)]
#[command(
    name = "e2e",
    version,
    about = "Run the whole Vault PKI -> cert-manager -> istio-csr -> TSB flow, idempotently",
    long_about = "Run the whole Vault PKI -> cert-manager -> istio-csr -> TSB flow as one \
        command: configure Vault's PKI and AppRole, write the files an operator needs, \
        optionally apply them to a cluster, and verify that a workload certificate chains to \
        the root. Running it again with the same arguments changes nothing.\n\n\
        Exit codes: 0 done, 1 a step failed, 2 bad usage."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Do the flow: Vault, files, (cluster), verification; a second run changes nothing.
    Run(RunArgs),
    /// Show what `run` would change, writing nothing (neither to Vault, nor to --out, nor to
    /// the cluster). With --kubeconfig every object is sent with the API server's dry run
    /// (`dryRun=All`), so the server itself says what would be created, updated or pruned,
    /// and the Issuer's current state is reported in cert-manager's words (e.g. a
    /// `VaultError` after a bad secret-id); a failing check there does not change the exit code.
    Plan(RunArgs),
    /// Check the whole trust chain, read-only: Vault (server, root, intermediate, role, policy,
    /// AppRole, the recorded secret-id, one test signature with cert-manager's credentials)
    /// and, with --kubeconfig, the cluster (Issuer, istio-root-ca, istio-ca-root-cert in every
    /// namespace, istiod's certificate). With --auth kubernetes, the Kubernetes auth config and
    /// role instead of the AppRole, and a login with a fresh token of the Issuer's service
    /// account (its Vault token revoked after the test signature). Exit 1 when any error is
    /// found. Writes nothing.
    Doctor(DoctorArgs),
    /// Many clusters under one root: `fleet run` and `fleet plan` of a fleet file.
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// Rotate without breaking a handshake: the intermediate, the root (through a trust
    /// overlap, resumable), or cert-manager's AppRole secret-id. Same Vault, naming, --out and
    /// cluster flags as `run`; each ends with an `e2e run`, so a later `run` changes nothing.
    #[command(subcommand)]
    Rotate(RotateCommand),
    /// Start, stop and inspect the local cluster stack (etcd, kube-apiserver, cert-manager,
    /// OpenBao, istio-csr) built from Go sources.
    #[command(subcommand)]
    Stack(stack::StackCommand),
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// One line per step on stderr, with its outcome and time.
    #[default]
    Text,
    /// The content of report.json on stdout (no progress lines).
    Json,
    /// `doctor` only: gauges (days left per CA, findings per severity) in Prometheus' text
    /// format, for a node-exporter textfile collector.
    Prometheus,
}

/// The Vault connection.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Vault")]
pub struct VaultArgs {
    /// Vault/OpenBao address, e.g. `https://vault.example:8200`. Without it, a throwaway local
    /// OpenBao dev server is started (`bao` from BAO_BIN or PATH; scripts/install-openbao.sh
    /// installs it), the flow runs against it, and it is stopped at the end.
    #[arg(long, env = "VAULT_ADDR", value_name = "URL")]
    pub vault_addr: Option<String>,
    /// Token with rights to enable mounts, auth methods and policies (e.g. a root or admin
    /// token). Prefer the environment variable: arguments are visible to other users.
    #[arg(
        long,
        env = "VAULT_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub vault_token: Option<TokenArg>,
    /// PEM file of the CA that signed Vault's TLS certificate (default: the system's roots).
    #[arg(long, env = "VAULT_CACERT", value_name = "FILE")]
    pub vault_cacert: Option<PathBuf>,
    /// Vault Enterprise / OpenBao namespace, sent as X-Vault-Namespace and written to the
    /// Issuer's spec.vault.namespace.
    #[arg(long, env = "VAULT_NAMESPACE", value_name = "NS")]
    pub vault_namespace: Option<String>,
    /// The Vault address cert-manager uses, written to the Issuer's spec.vault.server
    /// (default: --vault-addr). Set it when the cluster reaches Vault by another name.
    #[arg(long, value_name = "URL")]
    pub issuer_vault_server: Option<String>,
}

/// A token given on the command line or in `VAULT_TOKEN`: never shown by `Debug`.
#[derive(Clone)]
pub struct TokenArg(pub SecretString);

impl std::str::FromStr for TokenArg {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(TokenArg(SecretString::new(s)))
    }
}

impl std::fmt::Debug for TokenArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenArg(<redacted>)")
    }
}

/// The key type of the CSRs the signing role accepts (Vault's `key_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyTypeArg {
    /// RSA or ECDSA: Istio's agent makes RSA 2048 keys by default and ECDSA P-256 with
    /// `ECC_SIGNATURE_ALGORITHM=ECDSA`.
    Any,
    /// RSA only: what the seed's role gets, setting no `key_type` (Vault's default).
    Rsa,
    /// ECDSA only.
    Ec,
}

impl KeyTypeArg {
    /// The value Vault takes.
    pub fn vault_name(self) -> &'static str {
        match self {
            KeyTypeArg::Any => "any",
            KeyTypeArg::Rsa => "rsa",
            KeyTypeArg::Ec => "ec",
        }
    }
}

/// Arguments of `e2e run` and `e2e plan`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The Vault connection.
    #[command(flatten)]
    pub vault: VaultArgs,

    /// Existing root CA certificate (PEM) to import into the root mount. Needs --root-ca-key.
    /// Without both, a root is generated (rcgen, ECDSA P-256) and written to --out as
    /// ca.crt and ca.key.
    #[arg(
        long,
        value_name = "FILE",
        requires = "root_ca_key",
        help_heading = "Root CA"
    )]
    pub root_ca_cert: Option<PathBuf>,
    /// Private key (PEM) of --root-ca-cert.
    #[arg(
        long,
        value_name = "FILE",
        requires = "root_ca_cert",
        help_heading = "Root CA"
    )]
    pub root_ca_key: Option<PathBuf>,
    /// Replace the root already in the root mount with --root-ca-cert (and sign a new
    /// intermediate under it). Without it, a run refuses to replace a working root.
    #[arg(long, requires = "root_ca_cert", help_heading = "Root CA")]
    pub replace_root: bool,

    /// PKI mount holding the root CA (seed: `secrets enable pki`).
    #[arg(
        long,
        default_value_t = PkiSetup::default().root_mount,
        value_name = "PATH",
        help_heading = "Names"
    )]
    pub root_mount: String,
    /// PKI mount holding the intermediate CA that signs workload and istiod certificates.
    #[arg(
        long,
        default_value_t = PkiSetup::default().intermediate_mount,
        value_name = "PATH",
        help_heading = "Names"
    )]
    pub intermediate_mount: String,
    /// Signing role on the intermediate mount; cert-manager signs at `<intermediate>/sign/<role>`.
    #[arg(
        long,
        default_value_t = PkiSetup::default().role.name,
        value_name = "NAME",
        help_heading = "Names"
    )]
    pub role: String,
    /// Path of the AppRole auth method (cert-manager's spec.vault.auth.appRole.path).
    #[arg(
        long,
        default_value_t = PkiSetup::default().approle_mount,
        value_name = "PATH",
        help_heading = "Names"
    )]
    pub approle_mount: String,
    /// AppRole role cert-manager logs in with.
    #[arg(
        long,
        default_value_t = PkiSetup::default().approle_role,
        value_name = "NAME",
        help_heading = "Names"
    )]
    pub approle_role: String,
    /// ACL policy granting `update` on `<intermediate>/sign/<role>` and nothing else.
    #[arg(
        long,
        default_value_t = PkiSetup::default().policy_name,
        value_name = "NAME",
        help_heading = "Names"
    )]
    pub policy: String,
    /// How long each new AppRole secret-id is valid (the role's `secret_id_ttl`, e.g. `720h`;
    /// `0` for no expiry). Unset: the role's is left as it is (Vault's default: no expiry).
    /// A run replaces an expired recorded secret-id; `e2e rotate secret-id` replaces it
    /// before. Existing secret-ids keep the lifetime they were made with.
    #[arg(long, value_name = "DURATION", help_heading = "Names")]
    pub secret_id_ttl: Option<crate::fleet::FleetDuration>,
    /// Key type of the CSRs the signing role accepts. `any` lets workloads use RSA or ECDSA
    /// keys; `rsa` is what the seed's role gets (it sets none, so Vault's default applies).
    #[arg(long, value_enum, default_value_t = KeyTypeArg::Any, help_heading = "Names")]
    pub key_type: KeyTypeArg,
    /// SPIFFE trust domain: the role allows URI SANs `spiffe://<trust-domain>/*`.
    #[arg(
        long,
        default_value = crate::config::DEFAULT_TRUST_DOMAIN,
        value_name = "DOMAIN",
        help_heading = "Names"
    )]
    pub trust_domain: String,
    /// Istio cluster ID, written to istio-csr's app.server.clusterID and the ControlPlane
    /// (Istio's default is `Kubernetes`).
    #[arg(
        long,
        default_value = crate::config::DEFAULT_CLUSTER_ID,
        value_name = "ID",
        help_heading = "Names"
    )]
    pub cluster_id: String,
    /// Istio's namespace: holds the AppRole Secret, the Issuer and istiod's Certificate.
    #[arg(
        long,
        default_value = certmanager_types::seed::NAMESPACE,
        value_name = "NS",
        help_heading = "Names"
    )]
    pub namespace: String,

    /// TSB image registry, written to the ControlPlane's spec.hub (replace the placeholder).
    #[arg(
        long,
        default_value = crate::config::DEFAULT_TSB_HUB,
        value_name = "REGISTRY",
        help_heading = "TSB"
    )]
    pub tsb_hub: String,
    /// TSB management plane host (and telemetry store host) for the ControlPlane (replace the
    /// placeholder).
    #[arg(
        long,
        default_value = crate::config::DEFAULT_TSB_HOST,
        value_name = "HOST",
        help_heading = "TSB"
    )]
    pub tsb_host: String,
    /// TSB management plane port.
    #[arg(
        long,
        default_value_t = crate::config::DEFAULT_TSB_PORT,
        value_name = "PORT",
        help_heading = "TSB"
    )]
    pub tsb_port: u16,
    /// The IstioOperator TSB generates (`kubectl get istiooperator -n istio-system
    /// tsb-istiocontrolplane -o yaml`), YAML. The ControlPlane's overlays are then fitted to it:
    /// where it has no pilot `k8s.env` or `k8s.overlays` list the whole list is written (a
    /// `[-1]` append there would make Istio create a map key named `[-1]`), and istiod patches
    /// join an existing istiod overlay. Without it, with --kubeconfig, that IstioOperator is
    /// read from the cluster when it exists; otherwise the overlays append to both lists.
    #[arg(long, value_name = "FILE", help_heading = "TSB")]
    pub istio_operator: Option<PathBuf>,

    /// Output folder for ca.crt, istioca.*, the manifests, report.json and the run's state
    /// (keys and secret-bearing files are mode 0600). Re-use it to re-run idempotently.
    #[arg(
        long,
        default_value = "./out",
        value_name = "DIR",
        help_heading = "Output"
    )]
    pub out: PathBuf,
    /// `text`: one line per step on stderr; `json`: print report.json to stdout instead.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, help_heading = "Output")]
    pub output: OutputFormat,

    /// Also apply to this cluster (server-side apply, field manager `e2e`): namespaces, the
    /// AppRole Secret, the Issuer (waits for Ready), istio-root-ca, istio-csr (helm) and the
    /// ControlPlane (when its CRD exists).
    #[arg(
        long,
        env = "KUBECONFIG",
        value_name = "FILE",
        help_heading = "Cluster"
    )]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context); helm gets it as
    /// `--kube-context`.
    #[arg(
        long,
        value_name = "NAME",
        requires = "kubeconfig",
        help_heading = "Cluster"
    )]
    pub context: Option<String>,
    /// Also ask the mesh's CA for the workload certificate, as the Istio agent does: gRPC
    /// `CreateCertificate` at this address (istio-csr's, e.g. a port-forward to
    /// `cert-manager-istio-csr.cert-manager.svc:443`, or istiod's 15012) with a TokenRequest
    /// token for `foo/sleep` (audience `istio-ca`; the account is created if missing). Checks
    /// that the certificate chains to istioca.crt and ca.crt and that the chain ends with
    /// ca.crt (the seed's ROOTCA check). Needs --kubeconfig.
    #[arg(long, value_name = "HOST:PORT", help_heading = "Cluster")]
    pub istio_ca_addr: Option<String>,
    /// The name in the Istio CA's serving certificate.
    #[arg(
        long,
        default_value = certmanager_types::chart_defaults::ISTIO_CSR_DNS_NAME,
        value_name = "NAME",
        help_heading = "Cluster"
    )]
    pub istio_ca_server_name: String,
    /// PEM bundle the Istio CA's serving certificate chains to (default: ca.crt).
    #[arg(long, value_name = "FILE", help_heading = "Cluster")]
    pub istio_ca_cacert: Option<PathBuf>,
    /// helm, istio-csr's chart, and the bound on waits.
    #[command(flatten)]
    pub tools: ToolArgs,
    /// How cert-manager logs in to Vault.
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// How cert-manager logs in to Vault: `--auth` and the Kubernetes auth method's names.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Auth")]
pub struct AuthArgs {
    /// `approle`: a role-id in the Issuer and the secret-id in Secret
    /// `<ns>/cert-manager-vault-approle` (the seed's). `kubernetes`: Vault's Kubernetes auth
    /// method against the cluster (its API server and CA from the kubeconfig; TokenReview with
    /// the token of service account `<ns>/vault-token-reviewer`, bound to
    /// `system:auth-delegator`), a Vault role bound to service account `<ns>/vault-issuer`, the
    /// Issuer's namespace and audience `vault://<ns>/vault-issuer`, carrying the same policy;
    /// the RBAC that lets cert-manager request that account's tokens; the Issuer with
    /// `auth.kubernetes` and no Secret. Needs --kubeconfig. On a cluster set up with AppRole
    /// the Issuer is switched once the new login works, and the AppRole Secret is deleted
    /// after the Issuer is Ready again.
    #[arg(long, value_enum, env = "E2E_AUTH", default_value_t = AuthArg::Approle)]
    pub auth: AuthArg,
    /// Path of the Kubernetes auth method in Vault (the Issuer's mountPath is
    /// `/v1/auth/<path>`); one per cluster, since its config names that cluster's API server.
    #[arg(long, default_value = certmanager_types::seed::KUBERNETES_MOUNT, value_name = "PATH")]
    pub kubernetes_mount: String,
    /// The Vault role of the Kubernetes auth method cert-manager logs in as.
    #[arg(long, default_value = crate::config::DEFAULT_KUBERNETES_ROLE, value_name = "NAME")]
    pub kubernetes_role: String,
    /// The API server's URL as Vault reaches it, written to the auth method's
    /// `kubernetes_host` (default: the kubeconfig's server). Set it when Vault reaches the
    /// cluster by another name than you do.
    #[arg(long, value_name = "URL")]
    pub kubernetes_host: Option<String>,
}

/// `--auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    /// AppRole: role-id and secret-id (a Secret in the cluster).
    Approle,
    /// Vault's Kubernetes auth method: a bound service-account token, checked by TokenReview.
    Kubernetes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_reaches_debug() {
        let cli = Cli::parse_from(["e2e", "run", "--vault-token", "s.very-secret"]);
        let shown = format!("{cli:?}");
        assert!(!shown.contains("s.very-secret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}

/// `e2e fleet`: a fleet file's clusters, one root, each cluster its own intermediate.
#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Set up the root once, then every cluster (Vault side, files, and the cluster itself
    /// when the file gives its kubeconfig), at most --concurrency at once. Each cluster's files
    /// go to `<out>/<name>/`, exactly as `e2e run` writes one cluster; `<out>/ca.crt` is the
    /// shared root, `<out>/report.json` the fleet's report. A failed cluster does not stop the
    /// others; the exit code is then 1. A second run changes nothing; a cluster removed from
    /// the file is reported as orphaned, and removed from Vault only with --prune.
    Run(FleetArgs),
    /// Show what `fleet run` would change, writing nothing anywhere.
    Plan(FleetArgs),
}

/// The arguments of `e2e fleet run` and `e2e fleet plan`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
The smallest fleet file:

  root: {}            # or {cert: ca.crt, key: ca.key} to import a root
  clusters: [{name: east}, {name: west}]

Each cluster gets intermediate mount istioca-<name>, AppRole role and policy
cert-manager-<name>, and cluster ID <name>; see the README for every field.

Exit codes: 0 done, 1 a cluster or the root failed, 2 bad usage or a bad fleet file.")]
pub struct FleetArgs {
    /// The fleet file (YAML); paths in it are relative to its folder.
    #[arg(long, value_name = "FILE")]
    pub fleet: PathBuf,

    /// Where Vault is; with no address, a throwaway OpenBao dev server shared by the clusters.
    #[command(flatten)]
    pub vault: VaultArgs,

    /// The output folder: ca.crt, report.json, and a folder per cluster.
    #[arg(
        long,
        default_value = "./out",
        value_name = "DIR",
        help_heading = "Output"
    )]
    pub out: PathBuf,
    /// `text`: a line per cluster and step on stderr, then a table; `json`: the fleet report
    /// on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, help_heading = "Output")]
    pub output: OutputFormat,

    /// How many clusters are set up at once.
    #[arg(long, default_value_t = crate::fleet::spec::DEFAULT_CONCURRENCY, value_name = "N")]
    pub concurrency: usize,
    /// Remove from Vault what clusters no longer in the file left there (their intermediate
    /// mount, policy and AppRole role); without it they are only reported.
    #[arg(long)]
    pub prune: bool,

    /// helm, istio-csr's chart, and the bound on waits (for clusters with a kubeconfig).
    #[command(flatten)]
    pub tools: ToolArgs,
}

/// `e2e rotate …`.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum RotateCommand {
    /// A new intermediate in the same mount, signed by the current root, made the default
    /// issuer; the old one stays for verification. istioca.* and the report are updated and
    /// istiod's certificate is re-issued (as `cmctl renew` does). For cron:
    /// `--if-expiring-within 720h` does nothing unless needed.
    Intermediate(RotateIntermediateArgs),
    /// A new root through a trust overlap, one phase at a time, each recorded in
    /// `<out>/rotation.json` (a killed rotation resumes): 1 new-root (R2 beside R1),
    /// 2 trust-both (bundle R1+R2 in istio-root-ca, waited for in every namespace's
    /// istio-ca-root-cert), 3 new-intermediate (signed by R2, default; istiod re-issued),
    /// 4 wait-workloads (until --workload-cert-bound has passed since 3), 5 retire (bundle R2
    /// only; R1's issuers removed). Run it again to continue; `--plan` shows what is left.
    Root(RotateRootArgs),
    /// A new AppRole secret-id: recorded (0600) first, written to the Kubernetes Secret, the
    /// Issuer Ready again, then the old one destroyed (and shown to no longer log in).
    /// Schedule it with cron or a Kubernetes CronJob (see the README).
    SecretId(RotateSecretIdArgs),
}

/// Arguments of `e2e rotate intermediate`.
#[derive(Debug, Clone, Args)]
pub struct RotateIntermediateArgs {
    /// The same flags as `e2e run`.
    #[command(flatten)]
    pub run: RunArgs,
    /// Rotate only when the current intermediate expires within this window (e.g. `720h`);
    /// otherwise change nothing and exit 0 (status `not_needed`).
    #[arg(long, value_name = "DURATION", help_heading = "Rotation")]
    pub if_expiring_within: Option<crate::fleet::FleetDuration>,
    /// Remove the mount's older issuers once no stored, unexpired, unrevoked certificate
    /// chains to them (the others are named, with the date their last certificate expires).
    #[arg(long, help_heading = "Rotation")]
    pub retire_old: bool,
    /// Every cluster of this fleet file instead (`--out` is the fleet's folder, as for
    /// `e2e fleet run`; the fleet file names the clusters and their kubeconfigs).
    #[arg(long, value_name = "FILE", help_heading = "Rotation")]
    pub fleet: Option<PathBuf>,
}

/// Arguments of `e2e rotate root`.
#[derive(Debug, Clone, Args)]
pub struct RotateRootArgs {
    /// The same flags as `e2e run`.
    #[command(flatten)]
    pub run: RunArgs,
    /// The new root (PEM) to import as R2. Needs --new-root-ca-key. Without both, R2 is
    /// generated (rcgen, ECDSA P-256) into <out>/ca-next.crt and ca-next.key.
    #[arg(
        long,
        value_name = "FILE",
        requires = "new_root_ca_key",
        help_heading = "Rotation"
    )]
    pub new_root_ca_cert: Option<PathBuf>,
    /// The private key (PEM) of --new-root-ca-cert.
    #[arg(
        long,
        value_name = "FILE",
        requires = "new_root_ca_cert",
        help_heading = "Rotation"
    )]
    pub new_root_ca_key: Option<PathBuf>,
    /// Stop after this phase; running the command again continues from there.
    #[arg(long, value_enum, value_name = "PHASE", help_heading = "Rotation")]
    pub until: Option<crate::rotate::RootPhase>,
    /// Show the phases done and left (from <out>/rotation.json); change nothing.
    #[arg(long, help_heading = "Rotation")]
    pub plan: bool,
    /// The longest a workload certificate lives (Istio's default is 24h; istio-csr caps it at
    /// its --max-client-certificate-duration): phase 4 ends this long after phase 3.
    #[arg(
        long,
        default_value = "24h",
        value_name = "DURATION",
        help_heading = "Rotation"
    )]
    pub workload_cert_bound: crate::fleet::FleetDuration,
    /// In phase 4, sleep until the bound has passed instead of stopping there.
    #[arg(long, help_heading = "Rotation")]
    pub wait: bool,
    /// Every cluster of this fleet file instead (`--out` is the fleet's folder, as for
    /// `e2e fleet run`; the fleet file names the clusters and their kubeconfigs).
    #[arg(long, value_name = "FILE", help_heading = "Rotation")]
    pub fleet: Option<PathBuf>,
}

/// Arguments of `e2e rotate secret-id`.
#[derive(Debug, Clone, Args)]
pub struct RotateSecretIdArgs {
    /// The same flags as `e2e run`.
    #[command(flatten)]
    pub run: RunArgs,
    /// Every cluster of this fleet file instead (`--out` is the fleet's folder, as for
    /// `e2e fleet run`; the fleet file names the clusters and their kubeconfigs).
    #[arg(long, value_name = "FILE", help_heading = "Rotation")]
    pub fleet: Option<PathBuf>,
}

/// The arguments of `e2e doctor`: those of `e2e run` (which Vault, which names, which cluster,
/// which output folder holds the recorded credentials), and the expiry margin.
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// What to check, named as for `e2e run`.
    #[command(flatten)]
    pub run: RunArgs,
    /// Warn when a CA or the secret-id expires within this (Go-style: 720h, 90m; or seconds).
    #[arg(long, default_value = "720h", value_name = "DURATION")]
    pub margin: crate::fleet::FleetDuration,
    /// Check every cluster of this fleet file instead (each cluster's recorded credentials in
    /// `<out>/<name>/`); the names flags are then the file's.
    #[arg(long, value_name = "FILE")]
    pub fleet: Option<PathBuf>,
}

/// What a cluster is applied with: helm, istio-csr's chart, and the bound on each wait.
#[derive(Debug, Clone, Args)]
pub struct ToolArgs {
    /// The helm binary that installs istio-csr (default: `helm` on PATH; without one the exact
    /// command is printed instead).
    #[arg(long, env = "E2E_HELM", value_name = "FILE", help_heading = "Cluster")]
    pub helm: Option<PathBuf>,
    /// istio-csr's Helm chart: a repository reference (after `helm repo add jetstack
    /// https://charts.jetstack.io`) or the chart's folder. After the install the run waits for
    /// the istiod Certificate the chart creates to be Ready (issued through the Vault Issuer).
    #[arg(
        long,
        env = "E2E_ISTIO_CSR_CHART",
        default_value = crate::kube::ISTIO_CSR_CHART,
        value_name = "CHART",
        help_heading = "Cluster"
    )]
    pub istio_csr_chart: String,
    /// Bound, in seconds, on each wait in the cluster (e.g. the Issuer becoming Ready).
    #[arg(
        long,
        default_value_t = 120,
        value_name = "SECS",
        help_heading = "Cluster"
    )]
    pub wait_timeout: u64,
}
