//! The doctor's Kubernetes-auth side (`--auth kubernetes`): Vault's Kubernetes auth method
//! configured against this cluster (its API server, a reviewer token set and not due for
//! renewal), the role bound to the Issuer's service account, namespace and audience and
//! carrying the policy, and a login as cert-manager makes it, with a fresh token.
//!
//! Read-only but for that login: a TokenRequest token for the Issuer's service account (the
//! API server stores nothing for it), a Vault login with it and one 60 s test signature; the
//! Vault token is revoked afterwards.

use certmanager_types::seed;
use kube::Client;
use vault_pki::PkiClient;

use super::finding::{DoctorReport, Finding, Gauge};
use super::vault_checks::{read_failed, test_signature};
use crate::config::{KubernetesAuth, RunConfig};
use crate::kubernetes_auth::{LOGIN_TOKEN_LIFETIME, audience, request_token, role};
use crate::state::State;

/// The checks, in order: `kubernetes.config`, `kubernetes.role`, `kubernetes.login`, then the
/// test signature (`sign.test`) with the login's token.
pub async fn check(
    client: &PkiClient,
    kube: &Client,
    cfg: &RunConfig,
    k: &KubernetesAuth,
    state: &State,
    r: &mut DoctorReport,
) {
    let ns = &cfg.namespace;
    let config_subject = format!("auth/{}/config", k.mount);
    match client.read_kubernetes_config(&k.mount).await {
        Ok(None) | Err(vault_pki::Error::NotFound { .. }) => r.push(Finding::error(
            "kubernetes.config",
            &config_subject,
            "the Kubernetes auth method is not configured (or not enabled)",
            "run e2e run --auth kubernetes --kubeconfig ...",
        )),
        Err(e) => r.push(read_failed("kubernetes.config", &config_subject, &e)),
        Ok(Some(c)) => {
            let mut wrong = Vec::new();
            if let Some(h) = &k.kubernetes_host
                && &c.kubernetes_host != h
            {
                wrong.push(format!("kubernetes_host {} (want {h})", c.kubernetes_host));
            }
            if !c.token_reviewer_jwt_set {
                wrong.push("no token_reviewer_jwt: Vault cannot call TokenReview".into());
            }
            if !c.disable_local_ca_jwt {
                wrong.push("disable_local_ca_jwt is false".into());
            }
            if wrong.is_empty() {
                r.push(Finding::ok(
                    "kubernetes.config",
                    &config_subject,
                    format!("TokenReview at {}", c.kubernetes_host),
                ));
            } else {
                r.push(Finding::error(
                    "kubernetes.config",
                    &config_subject,
                    wrong.join("; "),
                    "run e2e run --auth kubernetes to write it",
                ));
            }
        }
    }
    if let Some(rec) = &state.reviewer {
        let now = super::cert_facts::unix_now();
        let left = i64::try_from(rec.expires).unwrap_or(i64::MAX) - now;
        r.gauges.push(Gauge {
            name: "e2e_doctor_reviewer_token_seconds_left",
            help: "Seconds until the token Vault calls TokenReview with expires.",
            labels: vec![("mount", k.mount.clone())],
            value: left as f64,
        });
        let half = i64::try_from(rec.lifetime / 2).unwrap_or(i64::MAX);
        if left <= 0 {
            r.push(Finding::error(
                "kubernetes.reviewer-token",
                &config_subject,
                format!("the reviewer token expired {}s ago: no login works", -left),
                "run e2e run --auth kubernetes to renew it",
            ));
        } else if left < half {
            r.push(Finding::warning(
                "kubernetes.reviewer-token",
                &config_subject,
                format!("the reviewer token expires in {left}s"),
                "run e2e run --auth kubernetes to renew it",
            ));
        } else {
            r.push(Finding::ok(
                "kubernetes.reviewer-token",
                &config_subject,
                format!("the reviewer token expires in {left}s"),
            ));
        }
    }

    let role_subject = format!("auth/{}/role/{}", k.mount, k.role);
    let want = role(ns, &cfg.setup);
    match client.read_kubernetes_role(&k.mount, &k.role).await {
        Ok(None) => r.push(Finding::error(
            "kubernetes.role",
            &role_subject,
            "no such role",
            "run e2e run --auth kubernetes to create it",
        )),
        Err(e) => r.push(read_failed("kubernetes.role", &role_subject, &e)),
        Ok(Some(have)) => {
            let d = want.diff(&have);
            if d.is_empty() {
                r.push(Finding::ok(
                    "kubernetes.role",
                    &role_subject,
                    format!(
                        "bound to {ns}/{} with audience {}, policy {}",
                        seed::ISSUER_SERVICE_ACCOUNT,
                        want.audience,
                        cfg.setup.policy_name
                    ),
                ));
            } else {
                r.push(Finding::error(
                    "kubernetes.role",
                    &role_subject,
                    format!("differs from what the Issuer needs: {}", d.join(", ")),
                    "run e2e run --auth kubernetes to rewrite it",
                ));
            }
        }
    }

    let login_subject = format!("auth/{}/login", k.mount);
    let server = cfg
        .issuer_vault_server
        .clone()
        .unwrap_or_else(|| client.address().to_string());
    let jwt = match request_token(
        kube,
        ns,
        seed::ISSUER_SERVICE_ACCOUNT,
        Some(vec![audience(ns), server]),
        LOGIN_TOKEN_LIFETIME,
    )
    .await
    {
        Ok((t, _)) => t,
        Err(e) => {
            r.push(Finding::error(
                "kubernetes.login",
                &login_subject,
                format!("no token for {ns}/{}: {e}", seed::ISSUER_SERVICE_ACCOUNT),
                "run e2e run --auth kubernetes to create the service account",
            ));
            return;
        }
    };
    let token = match client.kubernetes_login(&k.mount, &k.role, &jwt).await {
        Ok(t) => t,
        Err(e) => {
            r.push(Finding::error(
                "kubernetes.login",
                &login_subject,
                format!(
                    "a fresh token of {ns}/{} does not log in: {}",
                    seed::ISSUER_SERVICE_ACCOUNT,
                    vault_pki::error_chain(&e)
                ),
                "check the role's bindings and audience, and the reviewer's token and its system:auth-delegator binding (e2e run --auth kubernetes renews them)",
            ));
            return;
        }
    };
    r.push(Finding::ok(
        "kubernetes.login",
        &login_subject,
        format!(
            "a fresh token of {ns}/{} logs in (Vault checked it with TokenReview); policies {:?}",
            seed::ISSUER_SERVICE_ACCOUNT,
            token.policies
        ),
    ));
    let Ok(as_cm) = client.with_token(&token.token) else {
        return;
    };
    test_signature(
        &as_cm,
        cfg,
        "a Kubernetes-auth login as cert-manager makes it",
        r,
    )
    .await;
    let _ = as_cm.revoke_self().await;
}
