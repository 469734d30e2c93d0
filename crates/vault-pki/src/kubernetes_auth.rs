//! Vault's Kubernetes auth method: its mount, its `config` (the API server Vault calls
//! TokenReview on, and the reviewer's token), roles bound to a service account, namespace and
//! audience, and login with a service-account token. [`PkiClient::ensure_kubernetes_auth`]
//! brings the three to a [`KubernetesAuthSetup`], writing only what differs.
//!
//! Long because each of the six Vault endpoints is a documented `Endpoint` struct, and the
//! read-back types and their comparisons sit beside them; the ensure is one sequence.

use std::time::{Duration, Instant};

use rustify_derive::Endpoint;
use serde::Deserialize;

use crate::approle::LoginToken;
use crate::client::PkiClient;
use crate::error::{Error, Result, found};
use crate::mount::{check_kind, ttl_str};
use crate::secret::SecretString;
use crate::setup::{Outcome, SetupObserver, Step, StepReport};

/// ## Configure the Kubernetes auth method
///
/// * Path: `auth/{self.mount}/config`
/// * Method: POST
/// * Reference: <https://openbao.org/api-docs/auth/kubernetes/#configure-method>
///   (Vault: <https://developer.hashicorp.com/vault/api-docs/auth/kubernetes#configure-method>)
#[derive(Endpoint)]
#[endpoint(path = "auth/{self.mount}/config", method = "POST")]
pub struct WriteKubernetesConfigRequest {
    /// The auth mount.
    #[endpoint(skip)]
    pub mount: String,
    /// `kubernetes_host`: the API server's URL.
    pub kubernetes_host: String,
    /// `kubernetes_ca_cert`: the PEM CA of the API server's serving certificate.
    pub kubernetes_ca_cert: String,
    /// `token_reviewer_jwt`: the token Vault calls TokenReview with (a secret).
    pub token_reviewer_jwt: String,
    /// `disable_local_ca_jwt`: do not use the pod's own CA and token (Vault outside the
    /// cluster, or a dedicated reviewer).
    pub disable_local_ca_jwt: bool,
}

impl std::fmt::Debug for WriteKubernetesConfigRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteKubernetesConfigRequest")
            .field("mount", &self.mount)
            .field("kubernetes_host", &self.kubernetes_host)
            .finish_non_exhaustive()
    }
}

/// ## Read the Kubernetes auth method's configuration
///
/// * Path: `auth/{self.mount}/config`
/// * Method: GET
/// * Reference: <https://openbao.org/api-docs/auth/kubernetes/#read-config>
///   (Vault: <https://developer.hashicorp.com/vault/api-docs/auth/kubernetes#read-config>)
#[derive(Debug, Default, Endpoint)]
#[endpoint(
    path = "auth/{self.mount}/config",
    method = "GET",
    response = "KubernetesConfigState"
)]
pub struct ReadKubernetesConfigRequest {
    /// The auth mount.
    #[endpoint(skip)]
    pub mount: String,
}

/// The configuration as Vault returns it (never the reviewer token, only whether one is set).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct KubernetesConfigState {
    /// `kubernetes_host`.
    #[serde(default)]
    pub kubernetes_host: String,
    /// `kubernetes_ca_cert`.
    #[serde(default)]
    pub kubernetes_ca_cert: String,
    /// `disable_local_ca_jwt`.
    #[serde(default)]
    pub disable_local_ca_jwt: bool,
    /// `token_reviewer_jwt_set`: whether a reviewer token is stored.
    #[serde(default)]
    pub token_reviewer_jwt_set: bool,
}

/// ## Create or update a Kubernetes auth role
///
/// * Path: `auth/{self.mount}/role/{self.role}`
/// * Method: POST
/// * Reference: <https://openbao.org/api-docs/auth/kubernetes/#create-role>
///   (Vault: <https://developer.hashicorp.com/vault/api-docs/auth/kubernetes#create-role>)
#[derive(Debug, Default, Endpoint)]
#[endpoint(path = "auth/{self.mount}/role/{self.role}", method = "POST")]
pub struct WriteKubernetesRoleRequest {
    /// The auth mount.
    #[endpoint(skip)]
    pub mount: String,
    /// The role.
    #[endpoint(skip)]
    pub role: String,
    /// `bound_service_account_names`.
    pub bound_service_account_names: Vec<String>,
    /// `bound_service_account_namespaces`.
    pub bound_service_account_namespaces: Vec<String>,
    /// `audience`: the one audience the login token must carry (empty: none checked).
    pub audience: String,
    /// `token_policies`.
    pub token_policies: Vec<String>,
    /// `token_ttl`, e.g. `"3600s"`.
    pub token_ttl: String,
    /// `token_max_ttl`, e.g. `"14400s"`.
    pub token_max_ttl: String,
}

/// ## Read a Kubernetes auth role
///
/// * Path: `auth/{self.mount}/role/{self.role}`
/// * Method: GET
/// * Reference: <https://openbao.org/api-docs/auth/kubernetes/#read-role>
///   (Vault: <https://developer.hashicorp.com/vault/api-docs/auth/kubernetes#read-role>)
#[derive(Debug, Default, Endpoint)]
#[endpoint(
    path = "auth/{self.mount}/role/{self.role}",
    method = "GET",
    response = "KubernetesRoleState"
)]
pub struct ReadKubernetesRoleRequest {
    /// The auth mount.
    #[endpoint(skip)]
    pub mount: String,
    /// The role.
    #[endpoint(skip)]
    pub role: String,
}

/// ## Delete a Kubernetes auth role
///
/// * Path: `auth/{self.mount}/role/{self.role}`
/// * Method: DELETE
/// * Reference: <https://openbao.org/api-docs/auth/kubernetes/#delete-role>
///   (Vault: <https://developer.hashicorp.com/vault/api-docs/auth/kubernetes#delete-role>)
#[derive(Debug, Default, Endpoint)]
#[endpoint(path = "auth/{self.mount}/role/{self.role}", method = "DELETE")]
pub struct DeleteKubernetesRoleRequest {
    /// The auth mount.
    #[endpoint(skip)]
    pub mount: String,
    /// The role.
    #[endpoint(skip)]
    pub role: String,
}

/// A Kubernetes auth role as read (the fields this crate manages).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct KubernetesRoleState {
    /// `bound_service_account_names`.
    #[serde(default)]
    pub bound_service_account_names: Vec<String>,
    /// `bound_service_account_namespaces`.
    #[serde(default)]
    pub bound_service_account_namespaces: Vec<String>,
    /// `audience` (empty: none).
    #[serde(default)]
    pub audience: String,
    /// `token_policies`.
    #[serde(default)]
    pub token_policies: Vec<String>,
    /// `token_ttl` in seconds.
    #[serde(default)]
    pub token_ttl: u64,
    /// `token_max_ttl` in seconds.
    #[serde(default)]
    pub token_max_ttl: u64,
}

/// A Kubernetes auth role: who may log in (one service account in one namespace, with one
/// audience) and what the token gets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KubernetesRole {
    /// The service account's name.
    pub service_account: String,
    /// Its namespace.
    pub namespace: String,
    /// The audience the login token must carry (cert-manager's `vault://<ns>/<issuer>`).
    pub audience: String,
    /// `token_policies`.
    pub token_policies: Vec<String>,
    /// `token_ttl`.
    pub token_ttl: Duration,
    /// `token_max_ttl`.
    pub token_max_ttl: Duration,
}

impl KubernetesRole {
    /// A role for `namespace/service_account` with `audience`, carrying `policies`.
    pub fn new(
        service_account: impl Into<String>,
        namespace: impl Into<String>,
        audience: impl Into<String>,
        policies: Vec<String>,
        token_ttl: Duration,
        token_max_ttl: Duration,
    ) -> Self {
        Self {
            service_account: service_account.into(),
            namespace: namespace.into(),
            audience: audience.into(),
            token_policies: policies,
            token_ttl,
            token_max_ttl,
        }
    }

    /// The differences from what Vault has, as words (empty: as wanted).
    pub fn diff(&self, have: &KubernetesRoleState) -> Vec<String> {
        let mut d = Vec::new();
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        let mut field = |name: &str, got: Vec<String>, want: Vec<String>| {
            if got != want {
                d.push(format!("{name} {got:?} -> {want:?}"));
            }
        };
        field(
            "bound_service_account_names",
            sorted(&have.bound_service_account_names),
            vec![self.service_account.clone()],
        );
        field(
            "bound_service_account_namespaces",
            sorted(&have.bound_service_account_namespaces),
            vec![self.namespace.clone()],
        );
        field(
            "token_policies",
            sorted(&have.token_policies),
            sorted(&self.token_policies),
        );
        if have.audience != self.audience {
            d.push(format!(
                "audience {:?} -> {:?}",
                have.audience, self.audience
            ));
        }
        if have.token_ttl != self.token_ttl.as_secs() {
            d.push(format!(
                "token_ttl {}s -> {}s",
                have.token_ttl,
                self.token_ttl.as_secs()
            ));
        }
        if have.token_max_ttl != self.token_max_ttl.as_secs() {
            d.push(format!(
                "token_max_ttl {}s -> {}s",
                have.token_max_ttl,
                self.token_max_ttl.as_secs()
            ));
        }
        d
    }
}

/// The API server Vault reviews tokens with, and the reviewer's token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KubernetesConfig {
    /// The API server's URL as Vault reaches it.
    pub kubernetes_host: String,
    /// The PEM CA of its serving certificate.
    pub kubernetes_ca_cert: String,
    /// A token of a service account allowed to call TokenReview (`system:auth-delegator`).
    pub token_reviewer_jwt: SecretString,
}

impl KubernetesConfig {
    /// The API server at `host` with CA `ca_pem`, reviewed with `reviewer_jwt`.
    pub fn new(
        host: impl Into<String>,
        ca_pem: impl Into<String>,
        reviewer_jwt: SecretString,
    ) -> Self {
        Self {
            kubernetes_host: host.into(),
            kubernetes_ca_cert: ca_pem.into(),
            token_reviewer_jwt: reviewer_jwt,
        }
    }

    /// The differences from what Vault has (empty: as wanted); the reviewer token cannot be
    /// read back, only whether one is set.
    pub fn diff(&self, have: &KubernetesConfigState) -> Vec<String> {
        let mut d = Vec::new();
        if have.kubernetes_host != self.kubernetes_host {
            d.push(format!(
                "kubernetes_host {:?} -> {:?}",
                have.kubernetes_host, self.kubernetes_host
            ));
        }
        let norm = |s: &str| s.split_whitespace().collect::<String>();
        if norm(&have.kubernetes_ca_cert) != norm(&self.kubernetes_ca_cert) {
            d.push("kubernetes_ca_cert replaced".into());
        }
        if !have.disable_local_ca_jwt {
            d.push("disable_local_ca_jwt false -> true".into());
        }
        if !have.token_reviewer_jwt_set {
            d.push("no token_reviewer_jwt -> set".into());
        }
        d
    }
}

/// The whole Kubernetes-auth side of one cluster: the mount, its config, and the role.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KubernetesAuthSetup {
    /// The auth mount (cert-manager's `mountPath` is `/v1/auth/<mount>`).
    pub mount: String,
    /// The API server and the reviewer's token.
    pub config: KubernetesConfig,
    /// Write the config even when it reads back as wanted: the reviewer token is renewed
    /// (Vault never returns it, so only the caller knows when it expires).
    pub renew_reviewer_token: bool,
    /// The role's name.
    pub role_name: String,
    /// The role.
    pub role: KubernetesRole,
}

impl KubernetesAuthSetup {
    /// The mount `mount` with `config` and the role `role_name`.
    pub fn new(
        mount: impl Into<String>,
        config: KubernetesConfig,
        role_name: impl Into<String>,
        role: KubernetesRole,
    ) -> Self {
        Self {
            mount: mount.into(),
            config,
            renew_reviewer_token: false,
            role_name: role_name.into(),
            role,
        }
    }
}

impl PkiClient {
    /// Enables the Kubernetes auth method at `path`.
    ///
    /// * Path: `sys/auth/{path}`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/auth#enable-auth-method>
    pub async fn enable_kubernetes_auth(&self, path: &str) -> Result<()> {
        self.enable_auth(path, "kubernetes").await
    }

    /// Writes the Kubernetes auth method's configuration (replacing it whole).
    ///
    /// * Path: `auth/{mount}/config`
    /// * Method: POST
    /// * Reference: <https://openbao.org/api-docs/auth/kubernetes/#configure-method>
    pub async fn write_kubernetes_config(&self, mount: &str, cfg: &KubernetesConfig) -> Result<()> {
        let p = format!("auth/{mount}/config");
        self.call(&p, |c| {
            let ep = WriteKubernetesConfigRequest {
                mount: mount.into(),
                kubernetes_host: cfg.kubernetes_host.clone(),
                kubernetes_ca_cert: cfg.kubernetes_ca_cert.clone(),
                token_reviewer_jwt: cfg.token_reviewer_jwt.expose_secret().to_string(),
                disable_local_ca_jwt: true,
            };
            async move { vaultrs::api::exec_with_empty(c, ep).await }
        })
        .await
    }

    /// Reads the Kubernetes auth method's configuration; `None` when it has none yet.
    ///
    /// * Path: `auth/{mount}/config`
    /// * Method: GET
    /// * Reference: <https://openbao.org/api-docs/auth/kubernetes/#read-config>
    pub async fn read_kubernetes_config(
        &self,
        mount: &str,
    ) -> Result<Option<KubernetesConfigState>> {
        let p = format!("auth/{mount}/config");
        let r = self
            .call(&p, |c| {
                let ep = ReadKubernetesConfigRequest {
                    mount: mount.into(),
                };
                async move { vaultrs::api::exec_with_result(c, ep).await }
            })
            .await;
        match found(r) {
            // An unconfigured mount answers 404 (`found`: none); an answer without data is
            // none too.
            Err(Error::UnexpectedResponse { .. }) => Ok(None),
            other => other,
        }
    }

    /// Writes (creates or replaces) a Kubernetes auth role.
    ///
    /// * Path: `auth/{mount}/role/{role}`
    /// * Method: POST
    /// * Reference: <https://openbao.org/api-docs/auth/kubernetes/#create-role>
    pub async fn write_kubernetes_role(
        &self,
        mount: &str,
        role: &str,
        spec: &KubernetesRole,
    ) -> Result<()> {
        let p = format!("auth/{mount}/role/{role}");
        self.call(&p, |c| {
            let ep = WriteKubernetesRoleRequest {
                mount: mount.into(),
                role: role.into(),
                bound_service_account_names: vec![spec.service_account.clone()],
                bound_service_account_namespaces: vec![spec.namespace.clone()],
                audience: spec.audience.clone(),
                token_policies: spec.token_policies.clone(),
                token_ttl: ttl_str(spec.token_ttl),
                token_max_ttl: ttl_str(spec.token_max_ttl),
            };
            async move { vaultrs::api::exec_with_empty(c, ep).await }
        })
        .await
    }

    /// Reads a Kubernetes auth role; `None` when there is none.
    ///
    /// * Path: `auth/{mount}/role/{role}`
    /// * Method: GET
    /// * Reference: <https://openbao.org/api-docs/auth/kubernetes/#read-role>
    pub async fn read_kubernetes_role(
        &self,
        mount: &str,
        role: &str,
    ) -> Result<Option<KubernetesRoleState>> {
        let p = format!("auth/{mount}/role/{role}");
        let r = self
            .call(&p, |c| {
                let ep = ReadKubernetesRoleRequest {
                    mount: mount.into(),
                    role: role.into(),
                };
                async move { vaultrs::api::exec_with_result(c, ep).await }
            })
            .await;
        found(r)
    }

    /// Deletes a Kubernetes auth role; deleting one that does not exist succeeds.
    ///
    /// * Path: `auth/{mount}/role/{role}`
    /// * Method: DELETE
    /// * Reference: <https://openbao.org/api-docs/auth/kubernetes/#delete-role>
    pub async fn delete_kubernetes_role(&self, mount: &str, role: &str) -> Result<()> {
        let p = format!("auth/{mount}/role/{role}");
        self.call(&p, |c| {
            let ep = DeleteKubernetesRoleRequest {
                mount: mount.into(),
                role: role.into(),
            };
            async move { vaultrs::api::exec_with_empty(c, ep).await }
        })
        .await
    }

    /// Logs in with a service-account token (Vault then calls TokenReview on the API server
    /// with it); the Vault token comes back as a secret.
    ///
    /// * Path: `auth/{mount}/login`
    /// * Method: POST
    /// * Reference: <https://openbao.org/api-docs/auth/kubernetes/#login>
    pub async fn kubernetes_login(
        &self,
        mount: &str,
        role: &str,
        jwt: &SecretString,
    ) -> Result<LoginToken> {
        let p = format!("auth/{mount}/login");
        // Never retried: a retry after a lost answer would leave a live token nobody holds.
        let a = self
            .call_once(&p, |c| {
                vaultrs::auth::kubernetes::login(c, mount, role, jwt.expose_secret())
            })
            .await?;
        Ok(LoginToken::from(a))
    }

    /// Brings the Kubernetes auth method to `setup` (mount, config, role), writing only what
    /// differs, and reports each step to `observer` as it ends; `dry_run` only reads.
    ///
    /// The role's policy is [`PkiSetup`](crate::PkiSetup)'s, made by
    /// [`ensure`](PkiClient::ensure).
    pub async fn ensure_kubernetes_auth(
        &self,
        setup: &KubernetesAuthSetup,
        dry_run: bool,
        observer: &dyn SetupObserver,
    ) -> Result<Vec<StepReport>> {
        let mut steps = Vec::new();
        let mut since = Instant::now();
        let mut push = |step: Step, path: String, outcome: Outcome, detail: String| {
            let report = StepReport {
                step,
                path,
                outcome,
                detail,
                duration_ms: u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX),
            };
            tracing::debug!(%step, path = %report.path, %outcome, dry_run, "vault kubernetes auth step");
            observer.on_step(&report);
            steps.push(report);
            since = Instant::now();
        };
        let in_step = |step: Step| {
            move |e: Error| match e {
                e @ (Error::InStep { .. } | Error::Setup { .. }) => e,
                e => Error::InStep {
                    step,
                    source: Box::new(e),
                },
            }
        };
        let mount = &setup.mount;

        // The auth mount.
        let step = Step::KubernetesAuth;
        let exists = match self.read_auth_mount(mount).await.map_err(in_step(step))? {
            Some(m) => {
                check_kind(step, mount, &m, "kubernetes")?;
                push(
                    step,
                    format!("sys/auth/{mount}"),
                    Outcome::Unchanged,
                    "kubernetes".into(),
                );
                true
            }
            None => {
                if !dry_run {
                    self.enable_kubernetes_auth(mount)
                        .await
                        .map_err(in_step(step))?;
                }
                push(
                    step,
                    format!("sys/auth/{mount}"),
                    Outcome::Created,
                    "kubernetes".into(),
                );
                false
            }
        };

        // Its config.
        let step = Step::KubernetesConfig;
        let have = if exists {
            self.read_kubernetes_config(mount)
                .await
                .map_err(in_step(step))?
        } else {
            None
        };
        let cfg = &setup.config;
        let (outcome, detail) = match &have {
            None => (
                Outcome::Created,
                format!("TokenReview at {}", cfg.kubernetes_host),
            ),
            Some(h) => {
                let mut d = cfg.diff(h);
                if d.is_empty() && setup.renew_reviewer_token {
                    d.push("token_reviewer_jwt renewed".into());
                }
                if d.is_empty() {
                    (
                        Outcome::Unchanged,
                        format!("TokenReview at {}", cfg.kubernetes_host),
                    )
                } else {
                    (Outcome::Updated, d.join(", "))
                }
            }
        };
        if outcome != Outcome::Unchanged && !dry_run {
            if cfg.token_reviewer_jwt.is_empty() {
                return Err(Error::Setup {
                    step,
                    reason: format!(
                        "auth/{mount}/config must be written but no reviewer token was given"
                    ),
                });
            }
            self.write_kubernetes_config(mount, cfg)
                .await
                .map_err(in_step(step))?;
        }
        push(step, format!("auth/{mount}/config"), outcome, detail);

        // The role.
        let step = Step::KubernetesRole;
        let name = &setup.role_name;
        let have = if exists {
            self.read_kubernetes_role(mount, name)
                .await
                .map_err(in_step(step))?
        } else {
            None
        };
        let r = &setup.role;
        let (outcome, detail) = match have {
            None => (
                Outcome::Created,
                format!(
                    "{}/{} audience {}, policies {:?}",
                    r.namespace, r.service_account, r.audience, r.token_policies
                ),
            ),
            Some(h) => {
                let d = r.diff(&h);
                if d.is_empty() {
                    (Outcome::Unchanged, "as wanted".into())
                } else {
                    (Outcome::Updated, d.join(", "))
                }
            }
        };
        if outcome != Outcome::Unchanged && !dry_run {
            self.write_kubernetes_role(mount, name, r)
                .await
                .map_err(in_step(step))?;
        }
        push(step, format!("auth/{mount}/role/{name}"), outcome, detail);
        Ok(steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role() -> KubernetesRole {
        KubernetesRole::new(
            "vault-issuer",
            "istio-system",
            "vault://istio-system/vault-issuer",
            vec!["cert-manager".into()],
            Duration::from_secs(3600),
            Duration::from_secs(4 * 3600),
        )
    }

    #[test]
    fn a_role_as_read_back_has_no_difference() {
        let have = KubernetesRoleState {
            bound_service_account_names: vec!["vault-issuer".into()],
            bound_service_account_namespaces: vec!["istio-system".into()],
            audience: "vault://istio-system/vault-issuer".into(),
            token_policies: vec!["cert-manager".into()],
            token_ttl: 3600,
            token_max_ttl: 4 * 3600,
        };
        assert!(role().diff(&have).is_empty());
        let other = KubernetesRoleState {
            bound_service_account_names: vec!["default".into()],
            audience: String::new(),
            ..have
        };
        let d = role().diff(&other);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].starts_with("bound_service_account_names"), "{d:?}");
        assert!(d[1].starts_with("audience"), "{d:?}");
    }

    #[test]
    fn a_config_without_a_reviewer_token_differs_and_the_token_is_never_shown() {
        let cfg = KubernetesConfig::new(
            "https://127.0.0.1:6443",
            "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n",
            SecretString::new("eyJ.secret.jwt"),
        );
        let have = KubernetesConfigState {
            kubernetes_host: "https://127.0.0.1:6443".into(),
            kubernetes_ca_cert: "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----".into(),
            disable_local_ca_jwt: true,
            token_reviewer_jwt_set: true,
        };
        assert!(cfg.diff(&have).is_empty());
        let unset = KubernetesConfigState {
            token_reviewer_jwt_set: false,
            ..have
        };
        assert_eq!(cfg.diff(&unset), ["no token_reviewer_jwt -> set"]);
        assert!(!format!("{cfg:?}").contains("eyJ.secret.jwt"));
        let ep = WriteKubernetesConfigRequest {
            mount: "kubernetes".into(),
            kubernetes_host: cfg.kubernetes_host.clone(),
            kubernetes_ca_cert: cfg.kubernetes_ca_cert.clone(),
            token_reviewer_jwt: cfg.token_reviewer_jwt.expose_secret().into(),
            disable_local_ca_jwt: true,
        };
        assert!(!format!("{ep:?}").contains("eyJ.secret.jwt"));
    }
}
