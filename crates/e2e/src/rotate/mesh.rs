//! What a rotation waits for in the cluster: the trust bundle in every namespace's
//! `istio-ca-root-cert` (istio-csr publishes its root file there), and istiod's certificate
//! re-issued under the new intermediate (the way `cmctl renew` asks cert-manager for it).

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Client};

use crate::error::{Cause, Error, Result};
use crate::progress::Progress;
use crate::readiness::poll;

/// The ConfigMap istio-csr (like istiod) writes into every namespace.
pub const ROOT_CONFIGMAP: &str = "istio-ca-root-cert";
/// Its key holding the roots.
pub const ROOT_CONFIGMAP_KEY: &str = "root-cert.pem";

/// Waits (at most `bound`) until every namespace's `istio-ca-root-cert` holds each of `want`
/// and none of `gone`: the bundle a workload of any namespace verifies its peers with.
pub async fn wait_bundle_everywhere(
    kube: &Client,
    want: &[&str],
    gone: &[&str],
    bound: Duration,
    progress: &Progress<'_>,
) -> Result<usize> {
    progress.waiting(&format!(
        "waiting for {ROOT_CONFIGMAP} in every namespace to hold {} root(s){}",
        want.len(),
        if gone.is_empty() {
            ""
        } else {
            " and not the retired one"
        }
    ));
    let namespaces: Api<Namespace> = Api::all(kube.clone());
    let result = poll(bound, || async {
        let list = namespaces
            .list(&ListParams::default())
            .await
            .map_err(|e| crate::error::kube_message(&e))?;
        let mut lagging = Vec::new();
        for ns in &list.items {
            let name = ns.metadata.name.clone().unwrap_or_default();
            let maps: Api<ConfigMap> = Api::namespaced(kube.clone(), &name);
            let pem = maps
                .get_opt(ROOT_CONFIGMAP)
                .await
                .map_err(|e| crate::error::kube_message(&e))?
                .and_then(|c| c.data.unwrap_or_default().remove(ROOT_CONFIGMAP_KEY))
                .unwrap_or_default();
            let ok = want.iter().all(|w| crate::certs::bundle_contains(&pem, w))
                && !gone.iter().any(|g| crate::certs::bundle_contains(&pem, g));
            if !ok {
                lagging.push(name);
            }
        }
        if lagging.is_empty() {
            Ok(list.items.len())
        } else {
            Err(format!("not yet in: {}", lagging.join(", ")))
        }
    })
    .await;
    progress.waited();
    result.map_err(|last| {
        Error::step(
            "rotate: trust bundle published",
            Cause::Timeout {
                what: format!("{ROOT_CONFIGMAP} updated in every namespace"),
                after: bound,
                last,
            },
            "istio-csr publishes its root file (Secret cert-manager/istio-root-ca) to every namespace: check that it runs and that the kubelet updated the mounted file; then re-run",
        )
    })
}

/// Asks cert-manager to issue istiod's certificate again now (the Certificate's `Issuing`
/// condition set to `True`, reason `ManuallyTriggered`, as `cmctl renew` does), then waits (at
/// most `bound`) until its Secret holds a certificate signed by `intermediate_pem`. Without
/// `always`, nothing is asked when it holds one already; with it, a new one is waited for.
pub async fn reissue_istiod(
    kube: &Client,
    namespace: &str,
    intermediate_pem: &str,
    always: bool,
    bound: Duration,
    progress: &Progress<'_>,
) -> Result<String> {
    let name = certmanager_types::chart_defaults::ISTIOD_CERTIFICATE_NAME;
    let api: Api<certmanager_types::Certificate> = Api::namespaced(kube.clone(), namespace);
    let what = format!("Certificate {namespace}/{name}");
    let cert = api.get(name).await.map_err(|e| {
        Error::step(
            "rotate: istiod certificate",
            Cause::kube(format!("reading {what}"), e),
            "install istio-csr's chart (e2e run --helm) first",
        )
    })?;
    let secret_name = cert.spec.secret_name.clone();
    let secrets: Api<Secret> = Api::namespaced(kube.clone(), namespace);
    let signed_by_new = |s: Option<Secret>| {
        s.and_then(|s| s.data)
            .and_then(|d| {
                d.get("tls.crt")
                    .map(|b| String::from_utf8_lossy(&b.0).into_owned())
            })
            .filter(|crt| vault_pki::chains_to(crt, intermediate_pem).unwrap_or(false))
    };
    let current = secrets.get_opt(&secret_name).await.map_err(|e| {
        Error::step(
            "rotate: istiod certificate",
            Cause::kube(format!("reading Secret {namespace}/{secret_name}"), e),
            "check the cluster",
        )
    })?;
    let before = signed_by_new(current);
    if let Some(crt) = &before
        && !always
    {
        return Ok(crt.clone());
    }
    let mut conditions = serde_json::to_value(&cert)
        .ok()
        .and_then(|v| v["status"]["conditions"].as_array().cloned())
        .unwrap_or_default();
    conditions.retain(|c| c["type"] != "Issuing");
    conditions.push(serde_json::json!({
        "type": "Issuing",
        "status": "True",
        "reason": "ManuallyTriggered",
        "message": "Certificate re-issuance manually triggered (e2e rotate)",
        "lastTransitionTime": rfc3339_utc(crate::preflight::unix_now()),
    }));
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"status": {"conditions": conditions}})),
    )
    .await
    .map_err(|e| {
        Error::step(
            "rotate: istiod certificate",
            Cause::kube(format!("setting {what}'s Issuing condition"), e),
            "the token needs update on certificates/status (cert-manager.io)",
        )
    })?;
    progress.waiting(&format!(
        "waiting for {what} to be re-issued by the new intermediate"
    ));
    let result = poll(bound, || async {
        let s = secrets
            .get_opt(&secret_name)
            .await
            .map_err(|e| crate::error::kube_message(&e))?;
        signed_by_new(s)
            .filter(|crt| before.as_ref() != Some(crt))
            .ok_or_else(|| {
                format!("Secret {secret_name} holds no new certificate from the intermediate yet")
            })
    })
    .await;
    progress.waited();
    result.map_err(|last| {
        Error::step(
            "rotate: istiod certificate",
            Cause::Timeout {
                what: "re-issued by the new intermediate".into(),
                after: bound,
                last,
            },
            "check cert-manager's log and the Issuer (kubectl describe certificate istiod)",
        )
    })
}

/// `secs` (Unix time) as RFC 3339 in UTC, e.g. `2026-12-02T15:04:05Z`.
pub fn rfc3339_utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Restarts istio-csr's Deployment (`<cert-manager ns>/cert-manager-istio-csr`) the way
/// `kubectl rollout restart` does (the pod template's `kubectl.kubernetes.io/restartedAt`
/// annotation), so that it fetches a serving certificate from the new intermediate: istio-csr
/// renews its own only late in that certificate's life. `false` when there is no such
/// Deployment (istio-csr installed otherwise).
pub async fn restart_istio_csr(kube: &Client) -> Result<bool> {
    use k8s_openapi::api::apps::v1::Deployment;
    let ns = crate::manifests::CERT_MANAGER_NAMESPACE;
    let name = crate::kube::ISTIO_CSR_RELEASE;
    let api: Api<Deployment> = Api::namespaced(kube.clone(), ns);
    let step = |e: kube::Error| {
        Error::step(
            "rotate: restart istio-csr",
            Cause::kube(format!("restarting Deployment {ns}/{name}"), e),
            "restart istio-csr yourself (kubectl rollout restart), so that its serving certificate comes from the new intermediate",
        )
    };
    if api.get_opt(name).await.map_err(step)?.is_none() {
        return Ok(false);
    }
    let patch = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": rfc3339_utc(crate::preflight::unix_now())
    }}}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map_err(step)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn unix_times_are_written_as_rfc3339() {
        assert_eq!(super::rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::rfc3339_utc(1_796_224_445), "2026-12-02T15:14:05Z");
    }
}
