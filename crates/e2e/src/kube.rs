//! Applying the flow's objects to a cluster (seed steps 6 to 8) with server-side apply (field
//! manager `e2e`), in order: namespaces, the AppRole Secret, the Issuer (then a bounded wait
//! for Ready with reason `VaultVerified`), `istio-root-ca`, istio-csr's Helm release (when
//! `helm` is on PATH, else the exact command is printed), and the ControlPlane (when its CRD
//! exists, else it says so).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};
use serde_json::Value;

use crate::cli::RunArgs;
use crate::error::{Error, Result};
use crate::files::OutDir;
use crate::manifests::{CERT_MANAGER_NAMESPACE, Manifests, WORKLOAD_NAMESPACE};
use crate::progress::Progress;
use crate::report::{Check, Outcome, Phase};

/// The field manager of every apply.
pub const FIELD_MANAGER: &str = "e2e";
/// The ControlPlane CRD's name.
pub const CONTROL_PLANE_CRD: &str = "controlplanes.install.tetrate.io";
/// istio-csr's Helm release name (its Service is then `cert-manager-istio-csr`).
pub const ISTIO_CSR_RELEASE: &str = "cert-manager-istio-csr";

/// A client for a kubeconfig file.
pub async fn client_for(kubeconfig: &Path) -> Result<Client> {
    let err = |e: String| {
        Error::step(
            "cluster: connect",
            format!("{}: {e}", kubeconfig.display()),
            "check --kubeconfig / KUBECONFIG and that the API server is reachable",
        )
    };
    let kc = Kubeconfig::read_from(kubeconfig).map_err(|e| err(e.to_string()))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| err(e.to_string()))?;
    Client::try_from(config).map_err(|e| err(e.to_string()))
}

/// Server-side applies one object given as JSON (with apiVersion and kind); returns whether it
/// was created, updated (its resourceVersion moved) or unchanged.
pub async fn apply_value(
    client: &Client,
    obj: &Value,
) -> std::result::Result<(Outcome, DynamicObject), String> {
    let api_version = obj["apiVersion"].as_str().ok_or("no apiVersion")?;
    let kind = obj["kind"].as_str().ok_or("no kind")?;
    let name = obj["metadata"]["name"].as_str().ok_or("no metadata.name")?;
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let ar = ApiResource::from_gvk(&gvk);
    let api: Api<DynamicObject> = match obj["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    let before = api.get_opt(name).await.map_err(|e| kube_msg(&e))?;
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    let after = api
        .patch(name, &pp, &Patch::Apply(obj))
        .await
        .map_err(|e| kube_msg(&e))?;
    let outcome = match before {
        None => Outcome::Created,
        Some(b) if b.metadata.resource_version == after.metadata.resource_version => {
            Outcome::Unchanged
        }
        Some(_) => Outcome::Updated,
    };
    Ok((outcome, after))
}

fn kube_msg(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({}, HTTP {})", s.message, s.reason, s.code),
        other => crate::error::chain(other),
    }
}

fn object_label(obj: &Value) -> String {
    let kind = obj["kind"].as_str().unwrap_or("?");
    match obj["metadata"]["namespace"].as_str() {
        Some(ns) => format!(
            "{kind} {ns}/{}",
            obj["metadata"]["name"].as_str().unwrap_or("?")
        ),
        None => format!("{kind} {}", obj["metadata"]["name"].as_str().unwrap_or("?")),
    }
}

async fn apply_step(
    client: &Client,
    progress: &Progress,
    step: &str,
    obj: &Value,
    hint: &str,
) -> Result<DynamicObject> {
    progress.mark();
    let label = object_label(obj);
    match apply_value(client, obj).await {
        Ok((outcome, after)) => {
            progress.step(Phase::Cluster, step, &label, outcome, "server-side apply");
            Ok(after)
        }
        Err(e) => {
            progress.step(Phase::Cluster, step, &label, Outcome::Failed, "");
            Err(Error::step(
                format!("cluster: {step}"),
                format!("applying {label}: {e}"),
                hint,
            ))
        }
    }
}

/// The first path (`.spec.vault.path`) of `want` missing or different in `have`, if any:
/// what the API server pruned or changed.
pub fn first_difference(have: &Value, want: &Value, at: &str) -> Option<String> {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => w.iter().find_map(|(k, v)| match h.get(k) {
            None => Some(format!("{at}.{k} (missing)")),
            Some(hv) => first_difference(hv, v, &format!("{at}.{k}")),
        }),
        (Value::Array(h), Value::Array(w)) if h.len() == w.len() => h
            .iter()
            .zip(w)
            .enumerate()
            .find_map(|(i, (hv, wv))| first_difference(hv, wv, &format!("{at}[{i}]"))),
        _ if have == want => None,
        _ => Some(format!("{at} (differs)")),
    }
}

/// A check that the object the API server returned keeps every field we applied.
fn unpruned(label: &str, applied: &Value, returned: &DynamicObject) -> Check {
    let have = serde_json::to_value(returned).unwrap_or(Value::Null);
    let mut want = applied.clone();
    if let Some(m) = want.get_mut("metadata").and_then(Value::as_object_mut) {
        m.retain(|k, _| k == "name" || k == "namespace" || k == "labels" || k == "annotations");
    }
    match first_difference(&have, &want, "") {
        None => Check {
            name: format!("unpruned: {label}"),
            passed: true,
            detail: "every applied field read back".into(),
        },
        Some(path) => Check {
            name: format!("unpruned: {label}"),
            passed: false,
            detail: format!("the API server dropped or changed {path}"),
        },
    }
}

fn to_value<T: serde::Serialize>(what: &str, v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| {
        Error::step(
            format!("cluster: {what}"),
            e.to_string(),
            "report this as a bug",
        )
    })
}

/// Applies every object in order and returns the cluster checks (the Issuer's readiness).
pub async fn apply(
    kubeconfig: &Path,
    args: &RunArgs,
    m: &Manifests,
    progress: &Progress,
) -> Result<Vec<Check>> {
    let client = client_for(kubeconfig).await?;
    let mut checks = Vec::new();

    for ns in [
        args.namespace.as_str(),
        CERT_MANAGER_NAMESPACE,
        WORKLOAD_NAMESPACE,
    ] {
        // A label gives e2e's apply a field to own: an apply owning no field leaves no
        // managedFields entry, so every re-apply would write the object again.
        let obj = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"app.kubernetes.io/managed-by": FIELD_MANAGER}},
        });
        apply_step(
            &client,
            progress,
            &format!("namespace {ns}"),
            &obj,
            "check the kubeconfig user's rights",
        )
        .await?;
    }
    let secret = to_value("AppRole Secret", &m.approle_secret)?;
    let back = apply_step(
        &client,
        progress,
        "AppRole Secret",
        &secret,
        "check the kubeconfig user's rights on Secrets",
    )
    .await?;
    checks.push(unpruned(&object_label(&secret), &secret, &back));
    let issuer = to_value("Issuer", &m.issuer)?;
    let back = apply_step(
        &client,
        progress,
        "Issuer",
        &issuer,
        "install cert-manager (its CRDs must exist: issuers.cert-manager.io)",
    )
    .await?;
    checks.push(unpruned(&object_label(&issuer), &issuer, &back));
    checks.push(wait_issuer_ready(&client, args, m, progress).await?);
    let root = to_value("istio-root-ca", &m.root_ca_secret)?;
    let back = apply_step(
        &client,
        progress,
        "istio-root-ca Secret",
        &root,
        "check the kubeconfig user's rights on Secrets",
    )
    .await?;
    checks.push(unpruned(&object_label(&root), &root, &back));

    // istio-csr: helm when present, else the exact command.
    progress.mark();
    let values = PathBuf::from(&args.out).join(OutDir::ISTIO_CSR_VALUES);
    let cmd = helm_command(kubeconfig, &values);
    if which("helm").is_some() {
        let status = tokio::process::Command::new("helm")
            .args(&cmd[1..])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .status()
            .await;
        match status {
            Ok(s) if s.success() => progress.step(
                Phase::Cluster,
                "istio-csr (helm)",
                ISTIO_CSR_RELEASE,
                Outcome::Updated,
                "helm upgrade --install",
            ),
            other => {
                return Err(Error::step(
                    "cluster: istio-csr (helm)",
                    format!("`{}` failed: {other:?}", cmd.join(" ")),
                    "add the chart repository first: helm repo add jetstack https://charts.jetstack.io",
                ));
            }
        }
    } else {
        progress.step(
            Phase::Cluster,
            "istio-csr (helm)",
            ISTIO_CSR_RELEASE,
            Outcome::Skipped,
            "helm is not on PATH",
        );
        progress.note(&format!(
            "helm is not on PATH; install istio-csr with:\n  helm repo add jetstack https://charts.jetstack.io --force-update\n  {}",
            cmd.join(" ")
        ));
    }

    // The ControlPlane, when TSB's CRD is installed.
    progress.mark();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    match crds.get_opt(CONTROL_PLANE_CRD).await {
        Ok(Some(_)) => {
            let cp = to_value("ControlPlane", &m.control_plane)?;
            let back = apply_step(
                &client,
                progress,
                "ControlPlane",
                &cp,
                "check the ControlPlane CRD's version",
            )
            .await?;
            checks.push(unpruned(&object_label(&cp), &cp, &back));
        }
        Ok(None) => {
            progress.step(
                Phase::Cluster,
                "ControlPlane",
                &format!("ControlPlane {}/controlplane", args.namespace),
                Outcome::Skipped,
                &format!("CRD {CONTROL_PLANE_CRD} is not installed (no TSB operator); control-plane.yaml is in --out"),
            );
        }
        Err(e) => {
            return Err(Error::step(
                "cluster: ControlPlane",
                format!("reading CRD {CONTROL_PLANE_CRD}: {}", kube_msg(&e)),
                "check the kubeconfig user's rights to read CRDs",
            ));
        }
    }
    Ok(checks)
}

/// The `helm upgrade --install` command for istio-csr with the written values.
pub fn helm_command(kubeconfig: &Path, values: &Path) -> Vec<String> {
    [
        "helm",
        "upgrade",
        "--install",
        ISTIO_CSR_RELEASE,
        "jetstack/cert-manager-istio-csr",
        "--namespace",
        CERT_MANAGER_NAMESPACE,
        "--values",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        values.display().to_string(),
        "--kubeconfig".into(),
        kubeconfig.display().to_string(),
        "--wait".into(),
    ])
    .collect()
}

fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(bin))
            .find(|c| c.is_file())
    })
}

/// Waits (bounded) for the Issuer's Ready condition with reason `VaultVerified`; on timeout
/// the error carries cert-manager's own message.
async fn wait_issuer_ready(
    client: &Client,
    args: &RunArgs,
    m: &Manifests,
    progress: &Progress,
) -> Result<Check> {
    let ns = m.issuer.metadata.namespace.clone().unwrap_or_default();
    let name = m.issuer.metadata.name.clone().unwrap_or_default();
    let api: Api<certmanager_types::Issuer> = Api::namespaced(client.clone(), &ns);
    let bound = crate::run::wait_bound(args);
    let spinner = progress.spinner(&format!(
        "waiting for Issuer {ns}/{name} to be Ready (VaultVerified)"
    ));
    let started = Instant::now();
    let mut last = String::from("no status yet (is cert-manager's controller running?)");
    let result = loop {
        match api.get_opt(&name).await {
            Ok(Some(issuer)) => {
                let reason = issuer.ready_reason().unwrap_or_default().to_string();
                let message = issuer.ready_message().unwrap_or_default().to_string();
                if issuer.is_ready() && reason == "VaultVerified" {
                    break Ok(message);
                }
                if !reason.is_empty() || !message.is_empty() {
                    last = format!("Ready={} reason {reason}: {message}", issuer.is_ready());
                }
            }
            Ok(None) => last = "the Issuer is gone".into(),
            Err(e) => last = kube_msg(&e),
        }
        if started.elapsed() >= bound {
            break Err(last.clone());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    spinner.finish_and_clear();
    let elapsed = started.elapsed();
    match result {
        Ok(message) => {
            progress.note(&format!(
                "{:<12} {:<7} Issuer {ns}/{name} Ready: {message} ({} ms)",
                "ok",
                "cluster",
                elapsed.as_millis()
            ));
            Ok(Check {
                name: "issuer ready".into(),
                passed: true,
                detail: format!("Issuer {ns}/{name}: Ready, reason VaultVerified ({message})"),
            })
        }
        Err(last) => Err(Error::step(
            "cluster: Issuer ready",
            format!(
                "Issuer {ns}/{name} not Ready with reason VaultVerified after {}s; cert-manager says: {last}",
                bound.as_secs()
            ),
            "a VaultError means cert-manager could not log in with the AppRole: check the Secret's secretId, the roleId, spec.vault.server (reachable from cert-manager?) and caBundle",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn first_difference_names_the_pruned_path() {
        let want = json!({"spec": {"vault": {"path": "istioca/sign/x", "serverName": "v"}}});
        let have = json!({"spec": {"vault": {"path": "istioca/sign/x"}}, "status": {}});
        assert_eq!(
            first_difference(&have, &want, ""),
            Some(".spec.vault.serverName (missing)".into())
        );
        assert_eq!(first_difference(&want, &want, ""), None);
        let have = json!({"spec": {"vault": {"path": "other", "serverName": "v"}}});
        assert_eq!(
            first_difference(&have, &want, ""),
            Some(".spec.vault.path (differs)".into())
        );
    }
}
