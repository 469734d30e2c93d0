//! [`Fleet`]: a fleet as a value, each cluster's run a [`RunConfig`]. Built from a checked
//! [`FleetFile`] ([`Fleet::from_file`]) or by hand ([`Fleet::new`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use vault_pki::{PkiSetup, RootCa, SecretString};

use super::file::{ClusterNames, ClusterSection, FleetFile, FleetFileError};
use crate::config::{
    ClusterTarget, DEFAULT_TRUST_DOMAIN, IstioCaTarget, RootInput, RunConfig, TsbSettings,
    VaultSpec,
};

/// A fleet: one root, then one [`RunConfig`] per cluster, all against one Vault.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Fleet {
    /// `fleet plan`: report what `fleet run` would change, writing nothing anywhere.
    pub dry_run: bool,
    /// Where Vault is (a throwaway OpenBao dev server is shared by all clusters).
    pub vault: VaultSpec,
    /// The root every cluster's intermediate is signed by.
    pub root: FleetRoot,
    /// The clusters, in the file's order.
    pub clusters: Vec<FleetCluster>,
    /// The output folder: `ca.crt`, `report.json`, and a folder per cluster.
    pub out: PathBuf,
    /// How many clusters are set up at once.
    pub concurrency: usize,
    /// Remove what clusters no longer in the fleet left in Vault (else only report it).
    pub prune: bool,
}

/// The fleet's root.
#[derive(Debug, Clone)]
pub struct FleetRoot {
    /// Import this one, or (`Default`) keep the one generated earlier into the output folder,
    /// else Vault's, else generate one.
    pub input: RootInput,
    /// The root PKI mount.
    pub mount: String,
}

/// One cluster of a fleet.
#[derive(Debug, Clone)]
pub struct FleetCluster {
    /// Its name (its folder under the fleet's output folder).
    pub name: String,
    /// Its Vault names and cluster ID.
    pub names: ClusterNames,
    /// Its run: `out` is `<fleet out>/<name>`; `vault` and `root` are set by the fleet run.
    pub config: RunConfig,
}

/// What every cluster with a kubeconfig is applied with (the CLI's `--helm`,
/// `--istio-csr-chart`, `--wait-timeout`).
#[derive(Debug, Clone)]
pub struct ClusterTools {
    /// The helm binary; `None`: `helm` on PATH.
    pub helm: Option<PathBuf>,
    /// istio-csr's chart: a repository reference or the chart's folder.
    pub istio_csr_chart: String,
    /// Bound on each wait.
    pub wait_timeout: Duration,
}

impl Default for ClusterTools {
    fn default() -> Self {
        ClusterTools {
            helm: None,
            istio_csr_chart: crate::kube::ISTIO_CSR_CHART.into(),
            wait_timeout: Duration::from_secs(120),
        }
    }
}

/// The default number of clusters set up at once.
pub const DEFAULT_CONCURRENCY: usize = 8;

impl Fleet {
    /// A fleet of `names` into `out` with every default: a throwaway OpenBao, a generated
    /// root, Vault names derived from each cluster's name, no cluster applied to.
    ///
    /// ```
    /// let fleet = e2e::fleet::Fleet::new("./out", ["east", "west"])?;
    /// assert_eq!(fleet.clusters[0].config.setup.intermediate_mount, "istioca-east");
    /// assert_eq!(fleet.clusters[1].config.out, std::path::Path::new("./out/west"));
    /// # Ok::<(), e2e::fleet::FleetFileError>(())
    /// ```
    pub fn new<S: Into<String>>(
        out: impl Into<PathBuf>,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Fleet, FleetFileError> {
        let file = FleetFile {
            root: Default::default(),
            vault: Default::default(),
            defaults: Default::default(),
            clusters: names
                .into_iter()
                .map(|n| ClusterSection {
                    name: n.into(),
                    ..Default::default()
                })
                .collect(),
        };
        let path = Path::new("(Fleet::new)");
        file.check(path)?;
        Fleet::from_file(
            &file,
            path,
            Path::new("."),
            out,
            VaultSpec::DevServer,
            &ClusterTools::default(),
        )
    }

    /// The fleet a checked `file` (at `path`) describes; its relative paths are relative to
    /// `base` (the file's folder). Reads the root's files; changes nothing.
    pub fn from_file(
        file: &FleetFile,
        path: &Path,
        base: &Path,
        out: impl Into<PathBuf>,
        vault: VaultSpec,
        tools: &ClusterTools,
    ) -> Result<Fleet, FleetFileError> {
        let out = out.into();
        let read = |p: &Path, what: &str| {
            let full = base.join(p);
            std::fs::read_to_string(&full).map_err(|source| FleetFileError::Read {
                what: format!("{what} of fleet file {}", path.display()),
                path: full,
                source,
            })
        };
        let input = match (&file.root.cert, &file.root.key) {
            (Some(c), Some(k)) => RootInput::Given {
                cert_pem: read(c, "root.cert")?,
                key_pem: SecretString::new(read(k, "root.key")?),
            },
            _ => RootInput::Default,
        };
        let seed = PkiSetup::default();
        let root_ca = match &file.root.cert {
            Some(_) => seed.root_ca.clone(),
            None => {
                let (seed_cn, seed_ttl) = match &seed.root_ca {
                    RootCa::Generate { common_name, ttl } => (common_name.clone(), *ttl),
                    _ => ("Mesh Root CA".into(), seed.root_max_lease_ttl),
                };
                RootCa::Generate {
                    common_name: file.root.common_name.clone().unwrap_or(seed_cn),
                    ttl: file.root.ttl.map(|d| d.0).unwrap_or(seed_ttl),
                }
            }
        };
        let d = &file.defaults;
        let tsb = d.tsb.clone().unwrap_or_default();
        let clusters = file
            .clusters
            .iter()
            .map(|c| {
                let names = file.names(c);
                let trust_domain = c
                    .trust_domain
                    .clone()
                    .or_else(|| d.trust_domain.clone())
                    .unwrap_or_else(|| DEFAULT_TRUST_DOMAIN.into());
                let mut cfg = RunConfig::new(out.join(&c.name));
                let mut setup = PkiSetup::default().with_trust_domain(&trust_domain);
                setup.root_mount = file.root_mount();
                setup.root_ca = root_ca.clone();
                setup.intermediate_mount = names.intermediate_mount.clone();
                setup.intermediate_common_name =
                    format!("{} ({})", seed.intermediate_common_name, c.name);
                if let Some(ttl) = c.intermediate_ttl.or(d.intermediate_ttl) {
                    setup.intermediate_ttl = ttl.0;
                    setup.intermediate_max_lease_ttl = setup.intermediate_max_lease_ttl.max(ttl.0);
                }
                if let Some(ttl) = c.role_max_ttl.or(d.role_max_ttl) {
                    setup.role.max_ttl = ttl.0;
                }
                setup.secret_id_ttl = c.secret_id_ttl.or(d.secret_id_ttl).map(|t| t.0);
                setup.role.name = names.role.clone();
                if let Some(k) = c.key_type.or(d.key_type) {
                    setup.role.key_type = k.vault_name().into();
                }
                setup.approle_mount = file.approle_mount();
                setup.policy_name = names.policy.clone();
                setup.approle_role = names.approle_role.clone();
                cfg.setup = setup;
                cfg.vault = vault.clone();
                cfg.issuer_vault_server = file.vault.issuer_server.clone();
                cfg.trust_domain = trust_domain;
                if let Some(ns) = c.namespace.clone().or_else(|| d.namespace.clone()) {
                    cfg.namespace = ns;
                }
                cfg.cluster_id = names.cluster_id.clone();
                cfg.tsb = TsbSettings {
                    hub: tsb.hub.clone().unwrap_or(cfg.tsb.hub),
                    host: tsb.host.clone().unwrap_or(cfg.tsb.host),
                    port: tsb.port.unwrap_or(cfg.tsb.port),
                };
                cfg.cluster = c.kubeconfig.as_ref().map(|k| ClusterTarget {
                    kubeconfig: base.join(k),
                    context: c.context.clone(),
                    wait_timeout: tools.wait_timeout,
                    helm: tools.helm.clone(),
                    istio_csr_chart: tools.istio_csr_chart.clone(),
                    istio_ca: c.istio_ca_addr.as_ref().map(|addr| IstioCaTarget {
                        addr: addr.clone(),
                        server_name: c.istio_ca_server_name.clone().unwrap_or_else(|| {
                            certmanager_types::chart_defaults::ISTIO_CSR_DNS_NAME.into()
                        }),
                        ca_pem: None,
                    }),
                });
                if file.auth(c) == super::file::AuthMethod::Kubernetes {
                    let mut k = crate::config::KubernetesAuth::new();
                    k.mount = file.kubernetes_mount(c);
                    k.kubernetes_host = c.kubernetes_host.clone();
                    cfg.auth = crate::config::Auth::Kubernetes(k);
                    cfg.setup.approle = false;
                }
                FleetCluster {
                    name: c.name.clone(),
                    names,
                    config: cfg,
                }
            })
            .collect();
        Ok(Fleet {
            dry_run: false,
            vault,
            root: FleetRoot {
                input,
                mount: file.root_mount(),
            },
            clusters,
            out,
            concurrency: DEFAULT_CONCURRENCY,
            prune: false,
        })
    }

    /// Makes this fleet a plan (or a run): every cluster's run too.
    pub fn with_dry_run(mut self, dry_run: bool) -> Fleet {
        self.dry_run = dry_run;
        for c in &mut self.clusters {
            c.config.dry_run = dry_run;
        }
        self
    }

    /// The AppRole auth mount the clusters share.
    pub fn approle_mount(&self) -> String {
        self.clusters
            .first()
            .map(|c| c.config.setup.approle_mount.clone())
            .unwrap_or_else(|| PkiSetup::default().approle_mount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::FleetFile;

    #[test]
    fn a_secret_id_ttl_is_the_clusters_own_else_the_defaults_else_left_alone() {
        let text = "root: {}\ndefaults: {secretIdTtl: 1h}\nclusters:\n- name: east\n- name: west\n  secretIdTtl: 90m\n";
        let file = FleetFile::parse(text, Path::new("fleet.yaml")).expect("valid");
        let fleet = Fleet::from_file(
            &file,
            Path::new("fleet.yaml"),
            Path::new("."),
            "out",
            VaultSpec::DevServer,
            &ClusterTools::default(),
        )
        .expect("fleet");
        let ttl = |i: usize| fleet.clusters[i].config.setup.secret_id_ttl;
        assert_eq!(ttl(0), Some(Duration::from_secs(3600)));
        assert_eq!(ttl(1), Some(Duration::from_secs(5400)));
        let file = FleetFile::parse("root: {}\nclusters: [{name: east}]\n", Path::new("f.yaml"))
            .expect("valid");
        let fleet = Fleet::from_file(
            &file,
            Path::new("f.yaml"),
            Path::new("."),
            "out",
            VaultSpec::DevServer,
            &ClusterTools::default(),
        )
        .expect("fleet");
        assert_eq!(fleet.clusters[0].config.setup.secret_id_ttl, None);
    }
}
