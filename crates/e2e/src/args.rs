//! The CLI's arguments made into a [`RunConfig`], once, at the edge: usage errors first, every
//! input file read once, nothing changed anywhere.

use std::path::Path;
use std::time::Duration;

use vault_pki::{PkiSetup, SecretString, VaultConfig};

use crate::cli::{AuthArg, AuthArgs};
use crate::cli::{RunArgs, VaultArgs};
use crate::config::{
    Auth, ClusterTarget, IstioCaTarget, KubernetesAuth, RootInput, RunConfig, TsbSettings,
    VaultSpec,
};
use crate::error::{Error, Result};

impl RunConfig {
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
        let auth = auth(&args.auth, args.kubeconfig.is_some())?;
        let root = match (&args.root_ca_cert, &args.root_ca_key) {
            (Some(c), Some(k)) => given_root(c, k, PkiSetup::default().intermediate_ttl)?,
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
        let vault = vault_spec(v, VaultDefaults::default())?;
        let cluster = match &args.kubeconfig {
            None => None,
            Some(kubeconfig) => Some(ClusterTarget {
                kubeconfig: kubeconfig.clone(),
                context: args.context.clone(),
                wait_timeout: Duration::from_secs(args.tools.wait_timeout.max(1)),
                helm: args.tools.helm.clone(),
                istio_csr_chart: args.tools.istio_csr_chart.clone(),
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
        setup.secret_id_ttl = args.secret_id_ttl.map(|d| d.0);
        setup.approle = auth == Auth::AppRole;
        Ok(RunConfig {
            dry_run,
            vault,
            issuer_vault_server: v.issuer_vault_server.clone(),
            root,
            replace_root: args.replace_root,
            lock_wait: crate::config::DEFAULT_LOCK_WAIT,
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
            auth,
        })
    }
}

/// `--auth` and its names; Kubernetes auth needs the cluster it reviews tokens with.
pub(crate) fn auth(a: &AuthArgs, has_cluster: bool) -> Result<Auth> {
    match a.auth {
        AuthArg::Approle => Ok(Auth::AppRole),
        AuthArg::Kubernetes if !has_cluster => Err(Error::Usage(
            "--auth kubernetes needs --kubeconfig: Vault's Kubernetes auth method is configured against that cluster's API server, and the service accounts and RBAC are applied there".into(),
        )),
        AuthArg::Kubernetes => {
            let segment = |what: &str, v: &str| {
                if v.is_empty() || v.contains(|c: char| c.is_whitespace()) || v.starts_with('/') || v.ends_with('/') {
                    Err(Error::Usage(format!("{what} {v:?} is not a Vault path (no leading or trailing /, no spaces)")))
                } else {
                    Ok(())
                }
            };
            segment("--kubernetes-mount", &a.kubernetes_mount)?;
            segment("--kubernetes-role", &a.kubernetes_role)?;
            if a.kubernetes_role.contains('/') {
                return Err(Error::Usage(format!(
                    "--kubernetes-role {:?} is not a role name",
                    a.kubernetes_role
                )));
            }
            if let Some(h) = &a.kubernetes_host
                && !(h.starts_with("https://") || h.starts_with("http://"))
            {
                return Err(Error::Usage(format!(
                    "--kubernetes-host {h:?} is not a URL (e.g. https://kube.example:6443)"
                )));
            }
            let mut k = KubernetesAuth::new();
            k.mount = a.kubernetes_mount.clone();
            k.role = a.kubernetes_role.clone();
            k.kubernetes_host = a.kubernetes_host.clone();
            Ok(Auth::Kubernetes(k))
        }
    }
}

/// Vault settings a flag (or its environment variable) overrides: a fleet file's `vault`.
#[derive(Debug, Clone, Default)]
pub(crate) struct VaultDefaults {
    /// The server's address.
    pub address: Option<String>,
    /// The Enterprise namespace.
    pub namespace: Option<String>,
    /// The CA file for its TLS certificate, and the name to say it by in errors.
    pub ca_file: Option<(std::path::PathBuf, String)>,
}

/// The Vault server the flags name (else `defaults`'), or a throwaway dev server when none
/// does; a server needs a token from `--vault-token`/`VAULT_TOKEN`.
pub(crate) fn vault_spec(v: &VaultArgs, defaults: VaultDefaults) -> Result<VaultSpec> {
    let ca_pem = match (&v.vault_cacert, &defaults.ca_file) {
        (Some(p), _) => Some(read(p, "--vault-cacert/VAULT_CACERT")?),
        (None, Some((p, what))) => Some(read(p, what)?),
        (None, None) => None,
    };
    let addr = v
        .vault_addr
        .clone()
        .filter(|a| !a.is_empty())
        .or(defaults.address);
    let Some(addr) = addr else {
        return Ok(VaultSpec::DevServer);
    };
    let Some(token) = v
        .vault_token
        .as_ref()
        .filter(|t| !t.0.expose_secret().is_empty())
    else {
        return Err(Error::Usage(format!(
            "Vault at {addr} needs a token: pass --vault-token or set VAULT_TOKEN"
        )));
    };
    let mut config = VaultConfig::new(addr).with_token(token.0.clone());
    if let Some(ca) = &ca_pem {
        config = config.with_ca_pem(ca.clone());
    }
    let namespace = v
        .vault_namespace
        .clone()
        .filter(|n| !n.is_empty())
        .or(defaults.namespace);
    if let Some(ns) = namespace {
        config = config.with_namespace(ns);
    }
    Ok(VaultSpec::Server { config, ca_pem })
}

/// `--root-ca-cert` and `--root-ca-key`, read once and preflighted (PEM, a CA, valid now and
/// for `intermediate_ttl`, the key matching), each failure a usage error naming the file.
fn given_root(cert: &Path, key: &Path, intermediate_ttl: Duration) -> Result<RootInput> {
    let cert_what = format!("--root-ca-cert {}", cert.display());
    let key_what = format!("--root-ca-key {}", key.display());
    let cert_bytes =
        std::fs::read(cert).map_err(|e| Error::Usage(format!("cannot read {cert_what}: {e}")))?;
    let key_pem = read(key, "--root-ca-key")?;
    crate::preflight::check_root(
        &cert_bytes,
        &cert_what,
        &key_pem,
        &key_what,
        intermediate_ttl,
        std::time::SystemTime::now(),
    )
    .map_err(|e| Error::Usage(e.to_string()))?;
    Ok(RootInput::Given {
        cert_pem: String::from_utf8_lossy(&cert_bytes).into_owned(),
        key_pem: SecretString::new(key_pem),
    })
}

pub(crate) fn read(path: &Path, what: &str) -> Result<String> {
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
    fn kubernetes_auth_is_validated_once_and_leaves_the_approle_steps_out() -> Result<()> {
        let c = RunConfig::from_args(&args(&["--kubeconfig", "k", "--auth", "kubernetes"]), false)?;
        assert_eq!(c.auth, Auth::Kubernetes(KubernetesAuth::new()));
        assert_eq!(c.auth.name(), "kubernetes");
        assert!(!c.setup.approle);
        let c = RunConfig::from_args(
            &args(&[
                "--kubeconfig",
                "k",
                "--auth",
                "kubernetes",
                "--kubernetes-mount",
                "kubernetes-east",
                "--kubernetes-role",
                "issuer",
                "--kubernetes-host",
                "https://kube.internal:6443",
            ]),
            false,
        )?;
        let Auth::Kubernetes(k) = &c.auth else {
            panic!("kubernetes auth: {:?}", c.auth);
        };
        assert_eq!(
            (
                k.mount.as_str(),
                k.role.as_str(),
                k.kubernetes_host.as_deref()
            ),
            (
                "kubernetes-east",
                "issuer",
                Some("https://kube.internal:6443")
            )
        );
        let c = RunConfig::from_args(&args(&[]), false)?;
        assert_eq!(c.auth, Auth::AppRole);
        assert!(c.setup.approle);
        Ok(())
    }

    #[test]
    fn new_is_what_the_cli_defaults_to() -> Result<()> {
        let from_cli = RunConfig::from_args(&args(&["--out", "o"]), false)?;
        let new = RunConfig::new("o");
        assert_eq!(format!("{from_cli:?}"), format!("{new:?}"));
        Ok(())
    }

    proptest::proptest! {
        /// Arbitrary bytes as `--istio-operator`: a config or a usage error naming the file,
        /// never a panic.
        #[test]
        fn any_istio_operator_bytes_parse_or_name_the_file(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        ) {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("iop.yaml");
            std::fs::write(&path, &bytes).expect("write");
            let p = path.display().to_string();
            if let Err(e) = RunConfig::from_args(&args(&["--istio-operator", &p]), true) {
                proptest::prop_assert!(e.to_string().contains(&p), "{}", e);
            }
        }
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
            (&["--auth", "kubernetes"][..], "needs --kubeconfig"),
            (
                &[
                    "--auth",
                    "kubernetes",
                    "--kubeconfig",
                    "k",
                    "--kubernetes-mount",
                    "/k8s",
                ][..],
                "--kubernetes-mount",
            ),
            (
                &[
                    "--auth",
                    "kubernetes",
                    "--kubeconfig",
                    "k",
                    "--kubernetes-host",
                    "10.0.0.1",
                ][..],
                "--kubernetes-host",
            ),
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
