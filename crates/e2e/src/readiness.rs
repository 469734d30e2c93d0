//! The cluster's own word on what was applied: the Issuer's Ready condition (with reason
//! `VaultVerified`, in cert-manager's words when it is not) and the istiod Certificate istio-csr's
//! chart creates, each waited on with a bound.

use std::time::{Duration, Instant};

use kube::{Api, Client};

use crate::error::{Cause, Error, Result};
use crate::manifests::Manifests;
use crate::progress::Progress;
use crate::report::Check;

/// The Issuer as it is now (for `plan`): a passing check when cert-manager has it Ready with
/// reason `VaultVerified`, else a failing one carrying cert-manager's reason and message;
/// `None` when there is no Issuer yet.
pub async fn issuer_now(client: &Client, m: &Manifests) -> Result<Option<Check>> {
    let (ns, name) = issuer_name(m);
    let api: Api<certmanager_types::Issuer> = Api::namespaced(client.clone(), &ns);
    let issuer = match api.get_opt(&name).await {
        Ok(i) => i,
        // No such namespace or no Issuer CRD: the steps above said so already.
        Err(kube::Error::Api(s)) if s.code == 404 => None,
        Err(e) => {
            return Err(Error::step(
                "cluster: Issuer status",
                Cause::kube(format!("reading Issuer {ns}/{name}"), e),
                "check the kubeconfig user's rights on issuers.cert-manager.io",
            ));
        }
    };
    Ok(issuer.map(|i| issuer_check(&ns, &name, &i)))
}

fn issuer_name(m: &Manifests) -> (String, String) {
    (
        m.issuer.metadata.namespace.clone().unwrap_or_default(),
        m.issuer.metadata.name.clone().unwrap_or_default(),
    )
}

/// The Issuer's readiness as a check, in cert-manager's words.
fn issuer_check(ns: &str, name: &str, issuer: &certmanager_types::Issuer) -> Check {
    let reason = issuer.ready_reason().unwrap_or_default();
    let message = issuer.ready_message().unwrap_or_default();
    // A condition cert-manager computed for an earlier spec (e.g. the AppRole one, just
    // replaced) says nothing about this one.
    let observed = issuer.ready_condition().and_then(|c| c.observed_generation);
    let stale = matches!(
        (observed, issuer.metadata.generation),
        (Some(o), Some(g)) if o < g
    );
    let passed = issuer.is_ready() && reason == "VaultVerified" && !stale;
    let detail = if stale {
        format!(
            "Issuer {ns}/{name}: cert-manager has not checked generation {} yet (its Ready condition is for {})",
            issuer.metadata.generation.unwrap_or_default(),
            observed.unwrap_or_default()
        )
    } else if passed {
        format!("Issuer {ns}/{name}: Ready, reason VaultVerified ({message})")
    } else if reason.is_empty() && message.is_empty() {
        format!(
            "Issuer {ns}/{name}: no Ready condition yet (is cert-manager's controller running?)"
        )
    } else {
        format!(
            "Issuer {ns}/{name}: Ready={}, cert-manager says: reason {reason}: {message}",
            issuer.is_ready()
        )
    };
    Check {
        name: "issuer ready".into(),
        passed,
        detail,
    }
}

/// Waits (bounded) for the Issuer's Ready condition with reason `VaultVerified`; on timeout
/// the error carries cert-manager's own message.
pub async fn wait_issuer_ready(
    client: &Client,
    m: &Manifests,
    bound: Duration,
    progress: &Progress<'_>,
) -> Result<Check> {
    let (ns, name) = issuer_name(m);
    let api: Api<certmanager_types::Issuer> = Api::namespaced(client.clone(), &ns);
    progress.waiting(&format!(
        "waiting for Issuer {ns}/{name} to be Ready (VaultVerified)"
    ));
    let result = poll(bound, || async {
        match api.get_opt(&name).await {
            Ok(Some(issuer)) => {
                let check = issuer_check(&ns, &name, &issuer);
                if check.passed {
                    Ok(check)
                } else {
                    Err(check.detail)
                }
            }
            Ok(None) => Err("the Issuer is gone".into()),
            Err(e) => Err(crate::error::kube_message(&e)),
        }
    })
    .await;
    progress.waited();
    match result {
        Ok(check) => {
            progress.check("cluster", &check);
            Ok(check)
        }
        Err(last) => Err(Error::step(
            "cluster: Issuer ready",
            Cause::Timeout {
                what: "Ready with reason VaultVerified".into(),
                after: bound,
                last,
            },
            ISSUER_HINT,
        )),
    }
}

/// Waits (bounded) for the istiod Certificate istio-csr's chart creates (`<ns>/istiod`) to be
/// Ready: cert-manager issued istiod's serving certificate through the Vault Issuer.
pub async fn wait_istiod_certificate(
    client: &Client,
    ns: &str,
    bound: Duration,
    progress: &Progress<'_>,
) -> Result<Check> {
    let name = certmanager_types::chart_defaults::ISTIOD_CERTIFICATE_NAME;
    let api: Api<certmanager_types::Certificate> = Api::namespaced(client.clone(), ns);
    progress.waiting(&format!("waiting for Certificate {ns}/{name} to be Ready"));
    let result = poll(bound, || async {
        match api.get_opt(name).await {
            Ok(Some(c)) if c.is_ready() => Ok(c),
            Ok(Some(c)) => Err(format!(
                "cert-manager says: {}: {}",
                c.ready_reason().unwrap_or("no Ready condition yet"),
                c.ready_message().unwrap_or_default()
            )),
            Ok(None) => Err(
                "the chart created no such Certificate (app.tls.istiodCertificateEnable?)".into(),
            ),
            Err(e) => Err(crate::error::kube_message(&e)),
        }
    })
    .await;
    progress.waited();
    match result {
        Ok(c) => {
            let check = Check {
                name: "istiod certificate ready".into(),
                passed: true,
                detail: format!(
                    "Certificate {ns}/{name}: Ready ({}), Secret {}",
                    c.ready_message().unwrap_or_default(),
                    c.spec.secret_name
                ),
            };
            progress.check("cluster", &check);
            Ok(check)
        }
        Err(last) => Err(Error::step(
            "cluster: istiod certificate",
            Cause::Timeout {
                what: "Ready".into(),
                after: bound,
                last,
            },
            "istio-csr's chart asks cert-manager for istiod's serving certificate through the Vault Issuer: check the Issuer, the role's allowed domains (istiod.<ns>.svc) and URI SANs",
        )),
    }
}

/// Calls `probe` every half second until it answers `Ok` or `bound` has passed; the error is
/// what the last call saw.
pub(crate) async fn poll<T, F, Fut>(bound: Duration, mut probe: F) -> std::result::Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, String>>,
{
    let started = Instant::now();
    loop {
        match probe().await {
            Ok(v) => return Ok(v),
            Err(last) if started.elapsed() >= bound => return Err(last),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// What to look at when the Issuer is not Ready.
const ISSUER_HINT: &str = "a VaultError means cert-manager could not log in: with AppRole check the Secret's secretId and the roleId; with Kubernetes auth the Vault role's bound account, namespace and audience, the reviewer's token (re-run to renew it) and cert-manager's right to create serviceaccounts/token; and spec.vault.server (reachable from cert-manager?) and caBundle";
