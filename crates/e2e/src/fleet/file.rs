//! The fleet file: its YAML shape ([`FleetFile`]), read strictly (unknown fields are errors),
//! and the checks that need the whole file (names unique across clusters, valid Vault paths).
//! Errors name the file, the cluster and the field ([`FleetFileError`]).
//!
//! Long because it is the fleet file's whole schema (documented field by field for users) and the
//! cross-cluster checks with their rule-by-rule unit tests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::duration::FleetDuration;

/// A fleet file as written. Every field but `root` and `clusters` has a default; see the
/// crate README for a commented example.
///
/// ```
/// let file = e2e::fleet::FleetFile::parse(
///     "root: {}\nclusters: [{name: east}, {name: west}]\n",
///     std::path::Path::new("fleet.yaml"),
/// )?;
/// assert_eq!(file.clusters[1].name, "west");
/// # Ok::<(), e2e::fleet::FleetFileError>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FleetFile {
    /// The one root every cluster's intermediate is signed by.
    pub root: RootSection,
    /// Where Vault is (flags and `VAULT_*` variables win over these).
    #[serde(default)]
    pub vault: VaultSection,
    /// Settings every cluster gets unless it sets its own.
    #[serde(default)]
    pub defaults: Defaults,
    /// The clusters, each with its own intermediate, role, policy and AppRole.
    pub clusters: Vec<ClusterSection>,
}

/// `root`: import `cert` and `key` (paths relative to the fleet file), or, with neither,
/// keep Vault's root or generate one into the output folder.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RootSection {
    /// The root certificate, PEM.
    pub cert: Option<PathBuf>,
    /// Its private key, PEM.
    pub key: Option<PathBuf>,
    /// The root PKI mount (default `pki`).
    pub mount: Option<String>,
    /// A generated root's common name (default `Mesh Root CA`).
    pub common_name: Option<String>,
    /// A generated root's validity, e.g. `87600h` (the default).
    pub ttl: Option<FleetDuration>,
}

/// `vault`: the server, as `--vault-addr`, `--vault-namespace` and `--vault-cacert` give it.
/// The token is never in the file: `--vault-token` or `VAULT_TOKEN`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultSection {
    /// The server's address.
    pub address: Option<String>,
    /// The Enterprise namespace.
    pub namespace: Option<String>,
    /// The CA file for its TLS certificate (relative to the fleet file).
    pub ca_cert: Option<PathBuf>,
    /// The address cert-manager uses, when it differs (the Issuer's `spec.vault.server`).
    pub issuer_server: Option<String>,
}

/// How cert-manager logs in to Vault.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AuthMethod {
    /// An AppRole role-id and secret-id in a Kubernetes Secret.
    #[default]
    Approle,
    /// Vault's Kubernetes auth method against the cluster (needs its `kubeconfig`): a bound
    /// token of the Issuer's service account, checked by TokenReview; no Secret.
    Kubernetes,
}

/// The role's key type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum KeyType {
    /// Any key type (the default; Istio's workloads use RSA 2048).
    #[default]
    Any,
    /// RSA only.
    Rsa,
    /// ECDSA only.
    Ec,
}

impl KeyType {
    /// Vault's word for it.
    pub fn vault_name(self) -> &'static str {
        match self {
            KeyType::Any => "any",
            KeyType::Rsa => "rsa",
            KeyType::Ec => "ec",
        }
    }
}

/// `defaults`: what each cluster gets unless it sets its own.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Defaults {
    /// The SPIFFE trust domain (default `cluster.local`).
    pub trust_domain: Option<String>,
    /// Istio's namespace (default `istio-system`).
    pub namespace: Option<String>,
    /// The signing role's key type.
    pub key_type: Option<KeyType>,
    /// The AppRole auth mount every cluster's role is in (default `approle`).
    pub approle_mount: Option<String>,
    /// How cert-manager logs in: `approle` (the default) or `kubernetes`.
    pub auth: Option<AuthMethod>,
    /// The intermediates' validity (default `43800h`).
    pub intermediate_ttl: Option<FleetDuration>,
    /// The signing role's `max_ttl` (default `720h`).
    pub role_max_ttl: Option<FleetDuration>,
    /// Each new AppRole secret-id's lifetime (the role's `secret_id_ttl`; `0`: no expiry);
    /// unset: the role's is left as it is.
    pub secret_id_ttl: Option<FleetDuration>,
    /// The TSB ControlPlane's settings.
    pub tsb: Option<TsbSection>,
}

/// TSB's management plane, as `--tsb-hub`, `--tsb-host` and `--tsb-port` give it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TsbSection {
    /// Image registry.
    pub hub: Option<String>,
    /// Management plane host.
    pub host: Option<String>,
    /// Management plane port.
    pub port: Option<u16>,
}

/// One cluster. Only `name` is required; the Vault names default to ones derived from it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterSection {
    /// The cluster's name: a folder under `--out` and part of its Vault names.
    pub name: String,
    /// Istio's cluster ID (istio-csr's `clusterID`, the ControlPlane's cluster); default `name`.
    #[serde(rename = "clusterID")]
    pub cluster_id: Option<String>,
    /// The kubeconfig to apply with (relative to the fleet file); none: Vault and files only.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig's context to use (default: its current one).
    pub context: Option<String>,
    /// The SPIFFE trust domain.
    pub trust_domain: Option<String>,
    /// Istio's namespace.
    pub namespace: Option<String>,
    /// The intermediate PKI mount (default `istioca-<name>`).
    pub intermediate_mount: Option<String>,
    /// The signing role on it (default `cluster-local`).
    pub role: Option<String>,
    /// The AppRole role (default `cert-manager-<name>`).
    pub approle_role: Option<String>,
    /// The ACL policy (default `cert-manager-<name>`).
    pub policy: Option<String>,
    /// The signing role's key type.
    pub key_type: Option<KeyType>,
    /// The intermediate's validity.
    pub intermediate_ttl: Option<FleetDuration>,
    /// The signing role's `max_ttl`.
    pub role_max_ttl: Option<FleetDuration>,
    /// Its AppRole secret-ids' lifetime.
    pub secret_id_ttl: Option<FleetDuration>,
    /// Also ask this cluster's Istio CA (`host:port`) for a workload certificate.
    pub istio_ca_addr: Option<String>,
    /// The name in its serving certificate.
    pub istio_ca_server_name: Option<String>,
    /// How this cluster's cert-manager logs in (default: `defaults.auth`, else `approle`).
    pub auth: Option<AuthMethod>,
    /// With `auth: kubernetes`: the Kubernetes auth mount in Vault (default
    /// `kubernetes-<name>`; one per cluster, since its config names the cluster's API server).
    pub kubernetes_mount: Option<String>,
    /// With `auth: kubernetes`: the API server's URL as Vault reaches it (default: the
    /// kubeconfig's).
    pub kubernetes_host: Option<String>,
}

/// Why a fleet file cannot be used. Each names the file; the field and cluster where there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetFileError {
    /// The file (or one it names) cannot be read.
    #[error("cannot read {what} {}: {source}", .path.display())]
    Read {
        /// What the file is (`fleet file`, `root.cert of fleet file f.yaml`).
        what: String,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not YAML of the fleet file's shape (an unknown field, a wrong type, a missing field).
    #[error("fleet file {}: {}{source}", .path.display(), cluster_prefix(.cluster))]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cluster whose entry is wrong, when the error is in one.
        cluster: Option<String>,
        /// The parser's error (it names the field and the line).
        #[source]
        source: serde_yaml::Error,
    },
    /// A value is not allowed.
    #[error("fleet file {}: {}{field}: {problem}", .path.display(), cluster_prefix(.cluster))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The cluster, when the field is in one.
        cluster: Option<String>,
        /// The field, e.g. `clusters[1].intermediateMount`.
        field: String,
        /// What is wrong and what to do.
        problem: String,
    },
}

fn cluster_prefix(cluster: &Option<String>) -> String {
    cluster
        .as_ref()
        .map(|c| format!("cluster {c:?}: "))
        .unwrap_or_default()
}

impl FleetFile {
    /// Reads and checks the fleet file at `path`.
    pub fn read(path: &Path) -> Result<FleetFile, FleetFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| FleetFileError::Read {
            what: "fleet file".into(),
            path: path.to_path_buf(),
            source,
        })?;
        FleetFile::parse(&text, path)
    }

    /// Parses and checks `text`, the fleet file at `path` (named in errors).
    pub fn parse(text: &str, path: &Path) -> Result<FleetFile, FleetFileError> {
        let file: FleetFile = serde_yaml::from_str(text).map_err(|source| {
            let cluster = cluster_of_error(text, &source.to_string());
            FleetFileError::Parse {
                path: path.to_path_buf(),
                cluster,
                source,
            }
        })?;
        file.check(path)?;
        Ok(file)
    }

    /// The checks across fields and clusters ([`FleetFile::parse`] makes them).
    pub fn check(&self, path: &Path) -> Result<(), FleetFileError> {
        let invalid =
            |cluster: Option<&str>, field: String, problem: String| FleetFileError::Invalid {
                path: path.to_path_buf(),
                cluster: cluster.map(str::to_string),
                field,
                problem,
            };
        if self.clusters.is_empty() {
            return Err(invalid(
                None,
                "clusters".into(),
                "lists no cluster; add at least one `{name: ...}`".into(),
            ));
        }
        if self.root.cert.is_some() != self.root.key.is_some() {
            return Err(invalid(
                None,
                "root".into(),
                "`cert` and `key` go together (give both to import a root, neither to generate one)"
                    .into(),
            ));
        }
        if self.root.cert.is_some() && (self.root.common_name.is_some() || self.root.ttl.is_some())
        {
            return Err(invalid(
                None,
                "root".into(),
                "`commonName` and `ttl` are for a generated root; an imported root has its own"
                    .into(),
            ));
        }
        let root_mount = self.root_mount();
        vault_path(&root_mount).map_err(|p| invalid(None, "root.mount".into(), p))?;
        vault_path(&self.approle_mount())
            .map_err(|p| invalid(None, "defaults.approleMount".into(), p))?;
        if let Some(td) = &self.defaults.trust_domain {
            trust_domain(td).map_err(|p| invalid(None, "defaults.trustDomain".into(), p))?;
        }

        // Per cluster, then what must differ between clusters.
        let mut seen: [HashMap<String, usize>; 6] = Default::default();
        let kinds = [
            ("name", "two clusters with one name"),
            (
                "intermediateMount",
                "two clusters would share one intermediate",
            ),
            ("policy", "two clusters would share one policy"),
            ("approleRole", "two clusters would share one credential"),
            (
                "clusterID",
                "Istio needs every cluster of a mesh to have its own cluster ID",
            ),
            (
                "kubernetesMount",
                "two clusters would share one Kubernetes auth config (one API server)",
            ),
        ];
        for (i, c) in self.clusters.iter().enumerate() {
            let at = |f: &str| format!("clusters[{i}].{f}");
            let name = Some(c.name.as_str());
            segment(&c.name).map_err(|p| invalid(None, at("name"), p))?;
            let names = self.names(c);
            vault_path(&names.intermediate_mount)
                .map_err(|p| invalid(name, at("intermediateMount"), p))?;
            if names.intermediate_mount == root_mount {
                return Err(invalid(
                    name,
                    at("intermediateMount"),
                    format!("is the root mount {root_mount:?}; an intermediate needs its own"),
                ));
            }
            segment(&names.role).map_err(|p| invalid(name, at("role"), p))?;
            segment(&names.policy).map_err(|p| invalid(name, at("policy"), p))?;
            segment(&names.approle_role).map_err(|p| invalid(name, at("approleRole"), p))?;
            if names.cluster_id.is_empty() {
                return Err(invalid(name, at("clusterID"), "is empty".into()));
            }
            if let Some(td) = &c.trust_domain {
                trust_domain(td).map_err(|p| invalid(name, at("trustDomain"), p))?;
            }
            if c.context.is_some() && c.kubeconfig.is_none() {
                return Err(invalid(
                    name,
                    at("context"),
                    "needs `kubeconfig`: the file the context is in".into(),
                ));
            }
            if self.auth(c) == AuthMethod::Kubernetes {
                if c.kubeconfig.is_none() {
                    return Err(invalid(
                        name,
                        at("auth"),
                        "`kubernetes` needs `kubeconfig`: Vault's Kubernetes auth method is configured against that cluster".into(),
                    ));
                }
                let mount = self.kubernetes_mount(c);
                segment(&mount).map_err(|p| invalid(name, at("kubernetesMount"), p))?;
                if mount == self.approle_mount() {
                    return Err(invalid(
                        name,
                        at("kubernetesMount"),
                        format!("is the AppRole mount {mount:?}"),
                    ));
                }
                if let Some(h) = &c.kubernetes_host
                    && !(h.starts_with("https://") || h.starts_with("http://"))
                {
                    return Err(invalid(
                        name,
                        at("kubernetesHost"),
                        format!("{h:?} is not a URL (e.g. https://kube.example:6443)"),
                    ));
                }
            } else if c.kubernetes_mount.is_some() || c.kubernetes_host.is_some() {
                return Err(invalid(
                    name,
                    at(if c.kubernetes_mount.is_some() {
                        "kubernetesMount"
                    } else {
                        "kubernetesHost"
                    }),
                    "is only for `auth: kubernetes`".into(),
                ));
            }
            if c.istio_ca_addr.is_some() && c.kubeconfig.is_none() {
                return Err(invalid(
                    name,
                    at("istioCaAddr"),
                    "needs `kubeconfig`: the workload's token comes from the cluster".into(),
                ));
            }
            let values = [
                c.name.clone(),
                names.intermediate_mount.clone(),
                names.policy.clone(),
                names.approle_role.clone(),
                names.cluster_id.clone(),
                // Only clusters with Kubernetes auth have one (a name no mount can have else).
                if self.auth(c) == AuthMethod::Kubernetes {
                    self.kubernetes_mount(c)
                } else {
                    format!("/{i}")
                },
            ];
            for (k, v) in values.into_iter().enumerate() {
                if let Some(&j) = seen[k].get(&v) {
                    let (field, why) = kinds[k];
                    return Err(invalid(
                        name,
                        at(field),
                        format!(
                            "{v:?} is also cluster {:?}'s (clusters[{j}]): {why}",
                            self.clusters[j].name
                        ),
                    ));
                }
                seen[k].insert(v, i);
            }
        }
        Ok(())
    }

    /// The root mount.
    pub fn root_mount(&self) -> String {
        self.root
            .mount
            .clone()
            .unwrap_or_else(|| vault_pki::PkiSetup::default().root_mount)
    }

    /// The AppRole auth mount.
    pub fn approle_mount(&self) -> String {
        self.defaults
            .approle_mount
            .clone()
            .unwrap_or_else(|| vault_pki::PkiSetup::default().approle_mount)
    }

    /// How a cluster's cert-manager logs in: its own `auth`, else `defaults.auth`.
    pub fn auth(&self, c: &ClusterSection) -> AuthMethod {
        c.auth.or(self.defaults.auth).unwrap_or_default()
    }

    /// A cluster's Kubernetes auth mount: its own, else `kubernetes-<name>`.
    pub fn kubernetes_mount(&self, c: &ClusterSection) -> String {
        c.kubernetes_mount
            .clone()
            .unwrap_or_else(|| format!("{}-{}", certmanager_types::seed::KUBERNETES_MOUNT, c.name))
    }

    /// A cluster's Vault names and cluster ID: its own, else the derived defaults.
    pub fn names(&self, c: &ClusterSection) -> ClusterNames {
        ClusterNames {
            intermediate_mount: c.intermediate_mount.clone().unwrap_or_else(|| {
                format!(
                    "{}-{}",
                    vault_pki::PkiSetup::default().intermediate_mount,
                    c.name
                )
            }),
            role: c
                .role
                .clone()
                .unwrap_or_else(|| vault_pki::PkiSetup::default().role.name),
            policy: c.policy.clone().unwrap_or_else(|| {
                format!("{}-{}", vault_pki::PkiSetup::default().policy_name, c.name)
            }),
            approle_role: c.approle_role.clone().unwrap_or_else(|| {
                format!("{}-{}", vault_pki::PkiSetup::default().approle_role, c.name)
            }),
            cluster_id: c.cluster_id.clone().unwrap_or_else(|| c.name.clone()),
        }
    }
}

/// A cluster's names in Vault and in Istio.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClusterNames {
    /// The intermediate PKI mount (`istioca-<name>`).
    pub intermediate_mount: String,
    /// The signing role on it.
    pub role: String,
    /// The ACL policy (`cert-manager-<name>`).
    pub policy: String,
    /// The AppRole role (`cert-manager-<name>`).
    pub approle_role: String,
    /// Istio's cluster ID.
    pub cluster_id: String,
}

/// A name usable as one Vault path segment and as a folder name: letters, digits, `-` and
/// `_`, starting with a letter or digit, at most 63 characters.
fn segment(s: &str) -> Result<(), String> {
    let ok_start = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    let ok_rest = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if s.is_empty() {
        Err("is empty".into())
    } else if !ok_start || !ok_rest || s.len() > 63 {
        Err(format!(
            "{s:?} is not a valid Vault path segment: use letters, digits, `-` and `_`, starting with a letter or digit, at most 63 characters"
        ))
    } else {
        Ok(())
    }
}

/// A mount path: segments joined by `/`.
fn vault_path(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("is empty".into());
    }
    s.split('/').try_for_each(|seg| {
        segment(seg).map_err(|_| {
            format!(
                "{s:?} is not a valid Vault mount path: segments of letters, digits, `-` and `_`, separated by `/`"
            )
        })
    })
}

fn trust_domain(td: &str) -> Result<(), String> {
    if td.is_empty() || td.contains('/') || td.contains(char::is_whitespace) {
        Err(format!("{td:?} is not a trust domain"))
    } else {
        Ok(())
    }
}

/// The name of the cluster a parse error is in (`clusters[3]...`), read loosely.
fn cluster_of_error(text: &str, message: &str) -> Option<String> {
    let rest = message.split("clusters[").nth(1)?;
    let index: usize = rest.split(']').next()?.parse().ok()?;
    let loose: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    loose
        .get("clusters")?
        .get(index)?
        .get("name")?
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FleetFile, FleetFileError> {
        FleetFile::parse(text, Path::new("fleet.yaml"))
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("an error").to_string()
    }

    #[test]
    fn the_smallest_files_are_valid_and_derive_distinct_names() {
        for root in ["root: {cert: ca.crt, key: ca.key}", "root: {}"] {
            let f = parse(&format!(
                "{root}\nclusters: [{{name: east}}, {{name: west}}]\n"
            ))
            .expect("valid");
            let east = f.names(&f.clusters[0]);
            assert_eq!(east.intermediate_mount, "istioca-east");
            assert_eq!(east.policy, "cert-manager-east");
            assert_eq!(east.approle_role, "cert-manager-east");
            assert_eq!(east.cluster_id, "east");
            assert_eq!(east.role, "cluster-local");
            assert_ne!(east, f.names(&f.clusters[1]));
        }
    }

    #[test]
    fn an_unknown_field_names_the_file_the_cluster_and_the_field() {
        let e = error("root: {}\nclusters:\n- name: east\n- name: west\n  trustDomian: x\n");
        assert!(e.contains("fleet.yaml"), "{e}");
        assert!(e.contains("cluster \"west\""), "{e}");
        assert!(e.contains("trustDomian"), "{e}");
    }

    #[test]
    fn duplicates_name_both_clusters_and_the_field() {
        let e = error("root: {}\nclusters: [{name: east}, {name: east}]\n");
        assert!(
            e.contains("clusters[1].name") && e.contains("clusters[0]"),
            "{e}"
        );
        let e = error(
            "root: {}\nclusters: [{name: a, intermediateMount: m}, {name: b, intermediateMount: m}]\n",
        );
        assert!(
            e.contains("cluster \"b\"") && e.contains("intermediateMount") && e.contains("share"),
            "{e}"
        );
        let e = error("root: {}\nclusters: [{name: a, clusterID: x}, {name: b, clusterID: x}]\n");
        assert!(e.contains("clusterID"), "{e}");
        let e = error("root: {}\nclusters: [{name: a, policy: p}, {name: b, policy: p}]\n");
        assert!(e.contains("clusters[1].policy"), "{e}");
    }

    #[test]
    fn names_that_are_not_vault_path_segments_are_refused() {
        for bad in ["\"a/b\"", "\"-a\"", "\"a b\"", "\"\"", "\"a.b\""] {
            let e = error(&format!("root: {{}}\nclusters: [{{name: {bad}}}]\n"));
            assert!(e.contains("clusters[0].name"), "{bad}: {e}");
        }
        let e = error("root: {}\nclusters: [{name: a, intermediateMount: pki}]\n");
        assert!(e.contains("root mount"), "{e}");
    }

    #[test]
    fn root_cert_and_key_go_together_and_the_file_must_list_clusters() {
        assert!(error("root: {cert: ca.crt}\nclusters: [{name: a}]\n").contains("go together"));
        assert!(error("root: {}\nclusters: []\n").contains("lists no cluster"));
        assert!(error("clusters: [{name: a}]\n").contains("root"));
        assert!(
            error("root: {cert: c, key: k, ttl: 1h}\nclusters: [{name: a}]\n")
                .contains("generated root")
        );
    }

    #[test]
    fn kubernetes_auth_is_per_cluster_needs_a_kubeconfig_and_its_own_mount() {
        let ok = parse(
            "root: {}\ndefaults: {auth: kubernetes}\nclusters:\n- {name: east, kubeconfig: e.yaml}\n- {name: west, auth: approle}\n",
        )
        .expect("valid");
        assert_eq!(ok.auth(&ok.clusters[0]), AuthMethod::Kubernetes);
        assert_eq!(ok.auth(&ok.clusters[1]), AuthMethod::Approle);
        assert_eq!(ok.kubernetes_mount(&ok.clusters[0]), "kubernetes-east");
        let e = error("root: {}\nclusters:\n- {name: east, auth: kubernetes}\n");
        assert!(
            e.contains("cluster \"east\"")
                && e.contains("clusters[0].auth")
                && e.contains("needs `kubeconfig`"),
            "{e}"
        );
        let e = error(
            "root: {}\ndefaults: {auth: kubernetes}\nclusters:\n- {name: east, kubeconfig: e.yaml, kubernetesMount: k}\n- {name: west, kubeconfig: w.yaml, kubernetesMount: k}\n",
        );
        assert!(
            e.contains("clusters[1].kubernetesMount") && e.contains("one Kubernetes auth config"),
            "{e}"
        );
        let e = error("root: {}\nclusters:\n- {name: east, kubernetesMount: k}\n");
        assert!(
            e.contains("clusters[0].kubernetesMount") && e.contains("only for `auth: kubernetes`"),
            "{e}"
        );
        let e = error("root: {}\nclusters:\n- {name: east, auth: token}\n");
        assert!(e.contains("east") && e.contains("unknown variant"), "{e}");
        let e = error(
            "root: {}\nclusters:\n- {name: east, auth: kubernetes, kubeconfig: e.yaml, kubernetesHost: kube:6443}\n",
        );
        assert!(
            e.contains("clusters[0].kubernetesHost") && e.contains("not a URL"),
            "{e}"
        );
    }

    #[test]
    fn a_context_needs_a_kubeconfig() {
        let e = error("root: {}\nclusters: [{name: a, context: x}]\n");
        assert!(e.contains("clusters[0].context"), "{e}");
    }
}
