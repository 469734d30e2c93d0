//! [`RunConfig`]: a run as a validated value, built once from the arguments before any change
//! is made (usage errors first; every input file read once). Below the CLI nothing sees clap
//! types.

use std::path::{Path, PathBuf};
use std::time::Duration;

use vault_pki::{PkiSetup, SecretString, VaultConfig};

use crate::cli::RunArgs;
use crate::error::{Error, Result};

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
}

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
    /// Bound on each wait (e.g. the Issuer becoming Ready).
    pub wait_timeout: Duration,
    /// `--istio-ca-addr`: also ask the mesh's CA for a workload certificate.
    pub istio_ca: Option<IstioCaTarget>,
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
        }
    }

    /// Validates `args` for `run` (`dry_run = false`) or `plan`; reads the input files named
    /// there. Nothing is changed anywhere.
    pub fn from_args(args: &RunArgs, dry_run: bool) -> Result<RunConfig> {
        let usage = |m: String| Error::Usage(m);
        if args.trust_domain.is_empty() || args.trust_domain.contains('/') {
            return Err(usage(format!(
                "--trust-domain {:?} is not a trust domain",
                args.trust_domain
            )));
        }
        if args.istio_ca_addr.is_some() && args.kubeconfig.is_none() {
            return Err(usage(
                "--istio-ca-addr needs --kubeconfig: the workload's token comes from the cluster's TokenRequest API".into(),
            ));
        }
        let root = match (&args.root_ca_cert, &args.root_ca_key) {
            (Some(c), Some(k)) => RootInput::Given {
                cert_pem: read(c, "--root-ca-cert")?,
                key_pem: SecretString::new(read(k, "--root-ca-key")?),
            },
            (None, None) => RootInput::Default,
            _ => {
                return Err(usage("--root-ca-cert and --root-ca-key go together".into()));
            }
        };
        let istio_operator = args
            .istio_operator
            .as_deref()
            .map(istio_operator)
            .transpose()?;
        let v = &args.vault;
        let ca_pem = v
            .vault_cacert
            .as_deref()
            .map(|p| read(p, "--vault-cacert/VAULT_CACERT"))
            .transpose()?;
        let vault = match v.vault_addr.clone().filter(|a| !a.is_empty()) {
            None => VaultSpec::DevServer,
            Some(addr) => {
                let Some(token) = v
                    .vault_token
                    .as_ref()
                    .filter(|t| !t.0.expose_secret().is_empty())
                else {
                    return Err(usage(
                        "--vault-addr needs a token: pass --vault-token or set VAULT_TOKEN".into(),
                    ));
                };
                let mut config = VaultConfig::new(addr).with_token(token.0.clone());
                if let Some(ca) = &ca_pem {
                    config = config.with_ca_pem(ca.clone());
                }
                if let Some(ns) = v.vault_namespace.clone().filter(|n| !n.is_empty()) {
                    config = config.with_namespace(ns);
                }
                VaultSpec::Server { config, ca_pem }
            }
        };
        let cluster = match &args.kubeconfig {
            None => None,
            Some(kubeconfig) => Some(ClusterTarget {
                kubeconfig: kubeconfig.clone(),
                wait_timeout: Duration::from_secs(args.wait_timeout.max(1)),
                istio_ca: match &args.istio_ca_addr {
                    None => None,
                    Some(addr) => Some(IstioCaTarget {
                        addr: addr.clone(),
                        server_name: args.istio_ca_server_name.clone(),
                        ca_pem: args
                            .istio_ca_cacert
                            .as_deref()
                            .map(|p| read(p, "--istio-ca-cacert"))
                            .transpose()?,
                    }),
                },
            }),
        };
        let mut setup = PkiSetup::default().with_trust_domain(&args.trust_domain);
        setup.root_mount = args.root_mount.clone();
        setup.intermediate_mount = args.intermediate_mount.clone();
        setup.role.name = args.role.clone();
        setup.role.key_type = args.key_type.vault_name().to_string();
        setup.approle_mount = args.approle_mount.clone();
        setup.policy_name = args.policy.clone();
        setup.approle_role = args.approle_role.clone();
        Ok(RunConfig {
            dry_run,
            vault,
            issuer_vault_server: v.issuer_vault_server.clone(),
            root,
            setup,
            trust_domain: args.trust_domain.clone(),
            namespace: args.namespace.clone(),
            cluster_id: args.cluster_id.clone(),
            tsb: TsbSettings {
                hub: args.tsb_hub.clone(),
                host: args.tsb_host.clone(),
                port: args.tsb_port,
            },
            istio_operator,
            out: args.out.clone(),
            cluster,
        })
    }

    /// The path cert-manager signs at: `<intermediate>/sign/<role>`.
    pub fn sign_path(&self) -> String {
        self.setup.sign_path()
    }
}

fn read(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("cannot read {what} {}: {e}", path.display())))
}

/// `--istio-operator`: an IstioOperator, as YAML.
fn istio_operator(path: &Path) -> Result<serde_json::Value> {
    let bad = |what: String| Error::Usage(format!("--istio-operator {}: {what}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let value: serde_json::Value =
        serde_yaml::from_str(&text).map_err(|e| bad(format!("not YAML: {e}")))?;
    if value["kind"] != "IstioOperator" {
        return Err(bad(format!(
            "kind is {}, not IstioOperator",
            value["kind"].as_str().unwrap_or("missing")
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> RunArgs {
        let cli = crate::cli::Cli::parse_from(["e2e", "run"].iter().chain(extra));
        match cli.command {
            crate::cli::Command::Run(a) => a,
            _ => unreachable!("parsed `run`"),
        }
    }

    #[test]
    fn defaults_are_the_seed_names() -> Result<()> {
        let c = RunConfig::from_args(&args(&[]), false)?;
        assert!(matches!(c.vault, VaultSpec::DevServer));
        assert_eq!(c.sign_path(), "istioca/sign/cluster-local");
        assert_eq!(
            c.setup.approle_mount,
            certmanager_types::seed::APPROLE_MOUNT
        );
        assert_eq!(c.namespace, certmanager_types::seed::NAMESPACE);
        assert_eq!(c.setup.role.key_type, "any");
        Ok(())
    }

    #[test]
    fn new_is_what_the_cli_defaults_to() -> Result<()> {
        let from_cli = RunConfig::from_args(&args(&["--out", "o"]), false)?;
        let new = RunConfig::new("o");
        assert_eq!(format!("{from_cli:?}"), format!("{new:?}"));
        Ok(())
    }

    #[test]
    fn usage_errors_come_before_anything_else() {
        for (extra, want) in [
            (&["--trust-domain", "a/b"][..], "--trust-domain"),
            (
                &["--istio-ca-addr", "127.0.0.1:1"][..],
                "needs --kubeconfig",
            ),
            (&["--vault-addr", "http://127.0.0.1:1"][..], "needs a token"),
            (
                &["--istio-operator", "/nonexistent/iop.yaml"][..],
                "--istio-operator",
            ),
        ] {
            let e = RunConfig::from_args(&args(extra), false).expect_err("usage error");
            assert_eq!(e.exit_code(), 2, "{e}");
            assert!(e.to_string().contains(want), "{e}");
        }
    }
}
