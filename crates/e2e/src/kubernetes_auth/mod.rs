//! `--auth kubernetes`: cert-manager logs in to Vault with a bound token of the Issuer's
//! service account, which Vault checks by calling TokenReview on the cluster's API server.
//!
//! What it makes, per cluster (names from `certmanager_types::seed`):
//! - in the cluster: ServiceAccount `<ns>/vault-issuer` (the Issuer's), a Role and RoleBinding
//!   letting `cert-manager/cert-manager` `create` `serviceaccounts/token` for that account only
//!   (cert-manager's documented RBAC for `serviceAccountRef`), and ServiceAccount
//!   `<ns>/vault-token-reviewer` with a ClusterRoleBinding to `system:auth-delegator` (it may
//!   call TokenReview and SubjectAccessReview, nothing else);
//! - in Vault: the auth method (`--kubernetes-mount`), its config (the kubeconfig's API server
//!   and CA, `disable_local_ca_jwt`, the reviewer's token), and a role bound to that account,
//!   that namespace and cert-manager's audience `vault://<ns>/vault-issuer`, carrying the
//!   run's least-privilege policy.
//!
//! The reviewer's token: a TokenRequest token valid [`REVIEWER_TOKEN_LIFETIME`], not a
//! `kubernetes.io/service-account-token` Secret. A Secret-based token never expires and lives
//! in etcd (and needs the token controller, which not every cluster, nor the local stack,
//! runs); a TokenRequest token is bound to the account (deleting the account voids it) and
//! expires, at the price of renewal: Vault never returns it, so the run records when it
//! expires (`e2e-state.json`) and writes a new one when less than half its lifetime is left or
//! the account was re-created. Run `e2e run` (or `e2e doctor`, which tests the login) more
//! often than every 15 days. A Vault inside the cluster could use its own token instead; this
//! runner does not assume where Vault runs.
//!
//! The migration of a cluster set up with AppRole is [`migration`]'s.
//!
//! The objects the cluster gets are built in `objects.rs`, the API server's address and CA
//! read from the kubeconfig in `api_server.rs`.

mod api_server;
pub mod migration;
mod objects;

use api_server::api_server;
pub use migration::{remove_approle_secret, retire_secret_id};
use objects::meta;
pub use objects::objects;

use std::path::Path;
use std::time::Duration;

use certmanager_types::{VaultKubernetesAuth, seed};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::PostParams;
use kube::{Api, Client};
use vault_pki::{KubernetesAuthSetup, KubernetesConfig, KubernetesRole, PkiSetup, SecretString};

use crate::config::KubernetesAuth;
use crate::error::{Cause, Error, Result};
use crate::progress::Progress;
use crate::state::ReviewerRecord;
use crate::vault::VaultConnection;

/// The service account Vault reviews tokens as.
pub const REVIEWER_SERVICE_ACCOUNT: &str = "vault-token-reviewer";
/// The ClusterRole that may call TokenReview (Kubernetes' own).
pub const AUTH_DELEGATOR: &str = "system:auth-delegator";
/// How long the reviewer's token is valid; it is renewed when less than half is left.
pub const REVIEWER_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long cert-manager's (and the verification's) login tokens live: the minimum the API
/// server accepts, as cert-manager asks.
pub const LOGIN_TOKEN_LIFETIME: Duration = Duration::from_secs(600);

/// The audience of the Issuer's login tokens: cert-manager's own for `<ns>/vault-issuer`.
pub fn audience(namespace: &str) -> String {
    VaultKubernetesAuth::issuer_audience(namespace, seed::ISSUER_NAME)
}

/// The Vault role for the Issuer in `namespace`: its service account, that namespace,
/// cert-manager's audience, the setup's policy and token TTLs.
pub fn role(namespace: &str, setup: &PkiSetup) -> KubernetesRole {
    KubernetesRole::new(
        seed::ISSUER_SERVICE_ACCOUNT,
        namespace,
        audience(namespace),
        vec![setup.policy_name.clone()],
        setup.token_ttl,
        setup.token_max_ttl,
    )
}

/// The Role (and RoleBinding) letting cert-manager request the Issuer's tokens.
pub fn token_role_name() -> String {
    format!("{}-token", seed::ISSUER_SERVICE_ACCOUNT)
}

/// The ClusterRoleBinding of the reviewer in `namespace` (cluster-scoped, so it names it).
pub fn reviewer_binding_name(namespace: &str) -> String {
    format!("{REVIEWER_SERVICE_ACCOUNT}-{namespace}")
}

/// A TokenRequest token for `namespace/name`: for `audiences` (none: the API server's own),
/// valid `lifetime`; with its expiry (seconds since the epoch, as the API server says).
pub async fn request_token(
    client: &Client,
    namespace: &str,
    name: &str,
    audiences: Option<Vec<String>>,
    lifetime: Duration,
) -> std::result::Result<(SecretString, u64), Cause> {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            audiences,
            expiration_seconds: Some(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)),
            ..TokenRequestSpec::default()
        }),
        ..TokenRequest::default()
    };
    let answer = accounts
        .create_token_request(name, &PostParams::default(), &request)
        .await
        .map_err(|e| {
            Cause::kube(
                format!("requesting a token for ServiceAccount {namespace}/{name}"),
                e,
            )
        })?;
    let status = answer.status.ok_or_else(|| Cause::Command {
        command: format!("TokenRequest for ServiceAccount {namespace}/{name}"),
        status: "the answer has no status".into(),
    })?;
    let expires = status
        .expiration_timestamp
        .and_then(|t| u64::try_from(t.0.as_second()).ok())
        .unwrap_or(0);
    let token = status
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Cause::Command {
            command: format!("TokenRequest for ServiceAccount {namespace}/{name}"),
            status: "the answer has no token".into(),
        })?;
    Ok((SecretString::new(token), expires))
}

/// Whether the reviewer token Vault holds (as `recorded`) must be renewed at `now`: none
/// recorded, less than half its lifetime left, or issued for an account since re-created.
pub fn reviewer_due(recorded: Option<&ReviewerRecord>, account_uid: &str, now: u64) -> bool {
    match recorded {
        None => true,
        Some(r) => r.account_uid != account_uid || r.expires.saturating_sub(now) < r.lifetime / 2,
    }
}

/// The Vault side of Kubernetes auth, run by the cluster phase once the service accounts and
/// RBAC exist and before the Issuer is switched to it.
#[derive(Debug, Clone, Copy)]
pub struct VaultSide<'a> {
    /// The Vault connection (root or admin token).
    pub conn: &'a VaultConnection,
    /// The mount, the role, the API server override.
    pub settings: &'a KubernetesAuth,
    /// The run's setup: the policy's name and the token TTLs.
    pub setup: &'a PkiSetup,
    /// The Issuer's namespace.
    pub namespace: &'a str,
    /// The kubeconfig (the API server's URL and CA).
    pub kubeconfig: &'a Path,
    /// Its context.
    pub context: Option<&'a str>,
    /// The reviewer token recorded by an earlier run.
    pub recorded: Option<&'a ReviewerRecord>,
}

impl VaultSide<'_> {
    /// The Vault role of this side.
    pub fn role(&self) -> KubernetesRole {
        role(self.namespace, self.setup)
    }

    /// Mount, config and role in Vault (each a step); a new reviewer token when due. Returns
    /// the record of the reviewer token written, if one was.
    pub async fn ensure(
        &self,
        client: &Client,
        dry_run: bool,
        progress: &Progress<'_>,
    ) -> Result<Option<ReviewerRecord>> {
        let step_err = |step: &str, e: Cause, hint: &str| {
            Error::step(format!("kubernetes auth: {step}"), e, hint)
        };
        let (server, ca) = api_server(self.kubeconfig, self.context).map_err(|e| {
            step_err("API server", e, "the kubeconfig's cluster needs a server and its CA (certificate-authority-data or certificate-authority)")
        })?;
        let host = self.settings.kubernetes_host.clone().unwrap_or(server);
        let ns = self.namespace;
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
        let uid = accounts
            .get_opt(REVIEWER_SERVICE_ACCOUNT)
            .await
            .map_err(|e| {
                step_err(
                    "reviewer token",
                    Cause::kube(
                        format!("reading ServiceAccount {ns}/{REVIEWER_SERVICE_ACCOUNT}"),
                        e,
                    ),
                    "check the kubeconfig user's rights on ServiceAccounts",
                )
            })?
            .and_then(|a| a.metadata.uid)
            .unwrap_or_default();
        let now = crate::preflight::unix_now();
        let due = reviewer_due(self.recorded, &uid, now);
        // A plan asks for no token (the account may not exist yet) and writes nothing.
        let (token, expires) = if dry_run {
            (SecretString::new(""), 0)
        } else {
            request_token(
                client,
                ns,
                REVIEWER_SERVICE_ACCOUNT,
                None,
                REVIEWER_TOKEN_LIFETIME,
            )
            .await
            .map_err(|e| {
                step_err(
                    "reviewer token",
                    e,
                    "check the kubeconfig user's right to create serviceaccounts/token",
                )
            })?
        };
        let mut setup = KubernetesAuthSetup::new(
            &self.settings.mount,
            KubernetesConfig::new(&host, ca, token),
            &self.settings.role,
            self.role(),
        );
        setup.renew_reviewer_token = due;
        let observe = |s: &vault_pki::StepReport| crate::vault::show_step(progress, s);
        let steps = self
            .conn
            .client
            .ensure_kubernetes_auth(&setup, dry_run, &observe)
            .await
            .map_err(|e| crate::vault::setup_error(e, progress))?;
        let written = steps.iter().any(|s| {
            s.step == vault_pki::Step::KubernetesConfig
                && s.outcome != vault_pki::Outcome::Unchanged
        });
        Ok((written && !dry_run).then(|| ReviewerRecord {
            expires,
            lifetime: REVIEWER_TOKEN_LIFETIME.as_secs(),
            account_uid: uid,
        }))
    }
}

/// The verification's login as cert-manager makes it with Kubernetes auth `k`
/// ([`login_tokens`] at `k`'s mount and role).
pub async fn verify_login(
    client: &Client,
    namespace: &str,
    k: &KubernetesAuth,
    server: &str,
) -> Result<crate::verify::VaultLogin> {
    let (jwt, other_jwt) = login_tokens(client, namespace, server).await.map_err(|e| {
        Error::step(
            "verify",
            e,
            "check the kubeconfig user's right to create serviceaccounts/token",
        )
    })?;
    Ok(crate::verify::VaultLogin::Kubernetes {
        mount: k.mount.clone(),
        role: k.role.clone(),
        jwt,
        other_jwt,
    })
}

/// The tokens the verification logs in with, as cert-manager gets them: one of the Issuer's
/// account (audiences cert-manager's and `server`), and one of another account (`foo/sleep`,
/// created if missing) with the same audiences, which Vault must refuse.
pub async fn login_tokens(
    client: &Client,
    namespace: &str,
    server: &str,
) -> std::result::Result<(SecretString, SecretString), Cause> {
    let audiences = vec![audience(namespace), server.to_string()];
    let (issuer, _) = request_token(
        client,
        namespace,
        seed::ISSUER_SERVICE_ACCOUNT,
        Some(audiences.clone()),
        LOGIN_TOKEN_LIFETIME,
    )
    .await?;
    let ns = crate::manifests::WORKLOAD_NAMESPACE;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let exists = accounts
        .get_opt("sleep")
        .await
        .map_err(|e| Cause::kube(format!("reading ServiceAccount {ns}/sleep"), e))?;
    if exists.is_none() {
        let sa = ServiceAccount {
            metadata: meta("sleep", Some(ns)),
            ..ServiceAccount::default()
        };
        accounts
            .create(&PostParams::default(), &sa)
            .await
            .map_err(|e| Cause::kube(format!("creating ServiceAccount {ns}/sleep"), e))?;
    }
    let (other, _) =
        request_token(client, ns, "sleep", Some(audiences), LOGIN_TOKEN_LIFETIME).await?;
    Ok((issuer, other))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_rbac_lets_cert_manager_request_the_issuers_tokens_and_nothing_else()
    -> std::result::Result<(), Cause> {
        let objs = objects("istio-system")?;
        let names: Vec<&str> = objs.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "Issuer ServiceAccount",
                "Issuer token Role",
                "Issuer token RoleBinding",
                "reviewer ServiceAccount",
                "reviewer ClusterRoleBinding"
            ]
        );
        assert_eq!(
            objs[1].1,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "vault-issuer-token", "namespace": "istio-system",
                             "labels": {"app.kubernetes.io/managed-by": "e2e"}},
                "rules": [{"apiGroups": [""], "resources": ["serviceaccounts/token"],
                           "resourceNames": ["vault-issuer"], "verbs": ["create"]}]
            })
        );
        assert_eq!(
            objs[2].1["subjects"],
            json!([{"kind": "ServiceAccount", "name": "cert-manager", "namespace": "cert-manager"}])
        );
        assert_eq!(objs[4].1["roleRef"]["name"], "system:auth-delegator");
        assert_eq!(
            objs[4].1["metadata"]["name"],
            "vault-token-reviewer-istio-system"
        );
        assert_eq!(
            objs[4].1["subjects"],
            json!([{"kind": "ServiceAccount", "name": "vault-token-reviewer", "namespace": "istio-system"}])
        );
        assert_eq!(
            audience("istio-system"),
            "vault://istio-system/vault-issuer"
        );
        Ok(())
    }

    #[test]
    fn the_reviewer_token_is_renewed_when_half_its_life_is_gone_or_its_account_changed() {
        let rec = ReviewerRecord {
            expires: 1_000_000,
            lifetime: 100_000,
            account_uid: "u1".into(),
        };
        assert!(reviewer_due(None, "u1", 0));
        assert!(!reviewer_due(Some(&rec), "u1", 1_000_000 - 60_000));
        assert!(reviewer_due(Some(&rec), "u1", 1_000_000 - 40_000));
        assert!(reviewer_due(Some(&rec), "u1", 2_000_000));
        assert!(reviewer_due(Some(&rec), "u2", 0));
    }
}
