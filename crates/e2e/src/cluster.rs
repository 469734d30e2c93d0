//! The cluster phase (seed steps 6 to 8): the flow's objects applied with server-side apply,
//! in order: namespaces, the AppRole Secret, the Issuer (then a bounded wait for Ready with
//! reason `VaultVerified`), `istio-root-ca`, istio-csr's Helm release (when `helm` is on PATH,
//! else the exact command is given), and the ControlPlane (when its CRD exists). A plan sends
//! the same objects with the API server's dry run and reports the Issuer as it is now.

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::DynamicObject;
use kube::{Api, Client};
use serde_json::Value;

use crate::config::RunConfig;
use crate::error::{Cause, Error, Result};
use crate::kube::{
    CONTROL_PLANE_CRD, FIELD_MANAGER, ISTIO_CSR_RELEASE, apply_value, first_difference,
    helm_command, object_label,
};
use crate::manifests::{CERT_MANAGER_NAMESPACE, Manifests, WORKLOAD_NAMESPACE, to_value};
use crate::outputs::Files;
use crate::progress::Progress;
use crate::readiness::{issuer_now, wait_issuer_ready, wait_istiod_certificate};
use crate::report::{Check, Outcome, Phase};
use vault_pki::{SecretString, SetupReport};

/// What the cluster phase needs besides the objects.
#[derive(Clone)]
pub struct ClusterInput<'a> {
    /// The cluster's client (one per run).
    pub client: &'a Client,
    /// The kubeconfig, for the helm command.
    pub kubeconfig: &'a Path,
    /// Its context, when not the current one.
    pub context: Option<&'a str>,
    /// The helm binary; `None`: `helm` on PATH.
    pub helm: Option<&'a Path>,
    /// istio-csr's chart.
    pub istio_csr_chart: &'a str,
    /// Istio's namespace.
    pub namespace: &'a str,
    /// istio-csr's values file in the output folder.
    pub istio_csr_values: PathBuf,
    /// Bound on the wait for the Issuer.
    pub wait_timeout: Duration,
    /// `plan`: the API server's dry run.
    pub dry_run: bool,
    /// `--auth kubernetes`: Vault's side, configured once the service accounts exist and
    /// before the Issuer is switched to it.
    pub kubernetes_auth: Option<crate::kubernetes_auth::VaultSide<'a>>,
}

/// What the cluster phase found: a check per applied object (nothing pruned) and the Issuer's.
#[derive(Debug, Clone, Default)]
pub struct ClusterReport {
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// Kubernetes auth: the reviewer token written to Vault by this run, if one was.
    pub reviewer: Option<crate::state::ReviewerRecord>,
}

/// Applies (or, in a plan, dry-runs) every object.
pub async fn converge(
    input: &ClusterInput<'_>,
    m: &Manifests,
    progress: &Progress<'_>,
) -> Result<ClusterReport> {
    let mut a = Applier {
        client: input.client,
        progress,
        dry_run: input.dry_run,
        new_namespaces: Vec::new(),
        checks: Vec::new(),
    };
    for ns in [input.namespace, CERT_MANAGER_NAMESPACE, WORKLOAD_NAMESPACE] {
        // A label gives e2e's apply a field to own: an apply owning no field leaves no
        // managedFields entry, so every re-apply would write the object again.
        let obj = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"app.kubernetes.io/managed-by": FIELD_MANAGER}},
        });
        a.put(
            &format!("namespace {ns}"),
            &obj,
            "check the kubeconfig user's rights",
        )
        .await?;
    }
    let value = |what: &str, v: Result<Value, Cause>| {
        v.map_err(|e| Error::step(format!("cluster: {what}"), e, "report this as a bug"))
    };
    // Kubernetes auth: the accounts and RBAC, then Vault's side, so that the Issuer switched
    // below can log in at once (a cluster set up with AppRole stays Ready throughout).
    let mut reviewer = None;
    if let Some(k) = &input.kubernetes_auth {
        for (step, obj) in &m.kubernetes_auth {
            a.put(step, obj, "check the kubeconfig user's rights on ServiceAccounts and RBAC (binding system:auth-delegator needs cluster-admin)")
                .await?;
        }
        reviewer = k.ensure(input.client, input.dry_run, progress).await?;
    }
    if let Some(s) = &m.approle_secret {
        let secret = value("AppRole Secret", to_value("AppRole Secret", s))?;
        a.put(
            "AppRole Secret",
            &secret,
            "check the kubeconfig user's rights on Secrets",
        )
        .await?;
    }
    let issuer = value("Issuer", to_value("Issuer", &m.issuer))?;
    a.put(
        "Issuer",
        &issuer,
        "install cert-manager (its CRDs must exist: issuers.cert-manager.io)",
    )
    .await?;
    if input.dry_run {
        if let Some(check) = issuer_now(input.client, m).await? {
            a.checks.push(check);
        }
    } else {
        let check = wait_issuer_ready(input.client, m, input.wait_timeout, progress).await?;
        a.checks.push(check);
    }
    if input.kubernetes_auth.is_some() {
        // Only now: the Issuer is Ready with Kubernetes auth (in a plan: it would be).
        crate::kubernetes_auth::remove_approle_secret(
            input.client,
            input.namespace,
            input.dry_run,
            progress,
        )
        .await?;
    }
    let root = value(
        "istio-root-ca",
        to_value("istio-root-ca", &m.root_ca_secret),
    )?;
    a.put(
        "istio-root-ca Secret",
        &root,
        "check the kubeconfig user's rights on Secrets",
    )
    .await?;
    if helm(input, progress).await? {
        let check =
            wait_istiod_certificate(input.client, input.namespace, input.wait_timeout, progress)
                .await?;
        a.checks.push(check);
    }
    control_plane(&mut a, input.namespace, m).await?;
    Ok(ClusterReport {
        checks: a.checks,
        reviewer,
    })
}

/// Sends the objects one by one, remembering the namespaces a dry run would create.
struct Applier<'a, 'p> {
    client: &'a Client,
    progress: &'a Progress<'p>,
    dry_run: bool,
    new_namespaces: Vec<String>,
    checks: Vec<Check>,
}

impl Applier<'_, '_> {
    /// Applies `obj` (named `step` in the report) and records whether it read back unpruned.
    async fn put(&mut self, step: &str, obj: &Value, hint: &str) -> Result<()> {
        let label = object_label(obj);
        self.progress.mark();
        let in_new_namespace = obj["metadata"]["namespace"]
            .as_str()
            .is_some_and(|ns| self.new_namespaces.iter().any(|n| n == ns));
        if in_new_namespace {
            self.progress.step(
                Phase::Cluster,
                step,
                &label,
                Outcome::Created,
                "its namespace would be created first; not sent",
            );
            return Ok(());
        }
        let (outcome, back) = match apply_value(self.client, obj, self.dry_run).await {
            Ok(r) => r,
            Err(e) => {
                self.progress
                    .step(Phase::Cluster, step, &label, Outcome::Failed, "");
                return Err(Error::step(format!("cluster: {step}"), e, hint));
            }
        };
        let how = if self.dry_run {
            "server-side apply, dry run"
        } else {
            "server-side apply"
        };
        self.progress
            .step(Phase::Cluster, step, &label, outcome, how);
        if obj["kind"] == "Namespace" {
            if self.dry_run && outcome == Outcome::Created {
                self.new_namespaces
                    .push(obj["metadata"]["name"].as_str().unwrap_or_default().into());
            }
        } else {
            self.checks.push(unpruned(&label, obj, &back));
        }
        Ok(())
    }
}

/// A check that the object the API server returned keeps every field we applied.
fn unpruned(label: &str, applied: &Value, returned: &DynamicObject) -> Check {
    let have = serde_json::to_value(returned).unwrap_or(Value::Null);
    let mut want = applied.clone();
    if let Some(m) = want.get_mut("metadata").and_then(Value::as_object_mut) {
        m.retain(|k, _| k == "name" || k == "namespace" || k == "labels" || k == "annotations");
    }
    let (passed, detail) = match first_difference(&have, &want, "") {
        None => (true, "every applied field read back".to_string()),
        Some(path) => (false, format!("the API server dropped or changed {path}")),
    };
    Check {
        name: format!("unpruned: {label}"),
        passed,
        detail,
    }
}

/// istio-csr's Helm release: `helm upgrade --install` with `--helm` or helm on PATH, else
/// the command is given. Returns whether it was installed.
async fn helm(input: &ClusterInput<'_>, progress: &Progress<'_>) -> Result<bool> {
    progress.mark();
    let helm = input.helm.map(Path::to_path_buf).or_else(|| which("helm"));
    let program = helm
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "helm".into());
    let cmd = helm_command(
        &program,
        input.istio_csr_chart,
        input.kubeconfig,
        input.context,
        &input.istio_csr_values,
    );
    let step = |outcome, detail: &str| {
        progress.step(
            Phase::Cluster,
            "istio-csr (helm)",
            ISTIO_CSR_RELEASE,
            outcome,
            detail,
        );
    };
    if helm.is_none() {
        step(Outcome::Skipped, "helm is not on PATH");
        progress.note(&format!(
            "helm is not on PATH; install istio-csr with:\n  helm repo add jetstack https://charts.jetstack.io --force-update\n  {}",
            cmd.join(" ")
        ));
        return Ok(false);
    }
    if input.dry_run {
        step(Outcome::Updated, &format!("would run: {}", cmd.join(" ")));
        return Ok(false);
    }
    let status = tokio::process::Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .status()
        .await;
    match status {
        Ok(s) if s.success() => {
            step(Outcome::Updated, "helm upgrade --install");
            Ok(true)
        }
        other => Err(Error::step(
            "cluster: istio-csr (helm)",
            Cause::Command {
                command: cmd.join(" "),
                status: match other {
                    Ok(s) => s.to_string(),
                    Err(e) => e.to_string(),
                },
            },
            "add the chart repository first: helm repo add jetstack https://charts.jetstack.io",
        )),
    }
}

/// The ControlPlane, when TSB's CRD is installed.
async fn control_plane(a: &mut Applier<'_, '_>, namespace: &str, m: &Manifests) -> Result<()> {
    a.progress.mark();
    let crds: Api<CustomResourceDefinition> = Api::all(a.client.clone());
    match crds.get_opt(CONTROL_PLANE_CRD).await {
        Ok(Some(_)) => {
            let cp = to_value("ControlPlane", &m.control_plane)
                .map_err(|e| Error::step("cluster: ControlPlane", e, "report this as a bug"))?;
            a.put("ControlPlane", &cp, "check the ControlPlane CRD's version")
                .await
        }
        Ok(None) => {
            a.progress.step(
                Phase::Cluster,
                "ControlPlane",
                &format!("ControlPlane {namespace}/{}", tsb_types::seed::CONTROL_PLANE_NAME),
                Outcome::Skipped,
                &format!("CRD {CONTROL_PLANE_CRD} is not installed (no TSB operator); control-plane.yaml is in --out"),
            );
            Ok(())
        }
        Err(e) => Err(Error::step(
            "cluster: ControlPlane",
            Cause::kube(format!("reading CRD {CONTROL_PLANE_CRD}"), e),
            "check the kubeconfig user's rights to read CRDs",
        )),
    }
}

fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(bin))
            .find(|c| c.is_file())
    })
}

/// `plan --kubeconfig`: the objects `run` would apply, sent with the API server's dry run,
/// and the Issuer as cert-manager sees it now.
pub async fn plan(
    files: &Files<'_>,
    input: &ClusterInput<'_>,
    vr: &SetupReport,
    root_pem: &str,
    progress: &Progress<'_>,
) -> Result<Vec<Check>> {
    let role_id = vr.role_id.clone().unwrap_or_default();
    // Without a recorded secret-id `run` makes a new one, so the Secret would change:
    // a stand-in value makes the dry run say so without any real secret-id.
    let secret_id = vr
        .secret_id
        .as_ref()
        .map(|r| r.secret_id.clone())
        .unwrap_or_else(|| SecretString::new("(a new secret-id)"));
    let approle = files.approle().then_some((role_id.as_str(), &secret_id));
    let m = files.manifests(approle, root_pem)?;
    let report = converge(input, &m, progress).await?;
    for c in &report.checks {
        progress.check("cluster", c);
    }
    if report.checks.iter().any(|c| !c.passed) {
        progress.note(
            "plan: a check on the cluster as it is now did not pass; `e2e run` re-applies what differs (see `would update` above) and waits for the Issuer",
        );
    }
    Ok(report.checks)
}

/// `--istio-operator`, else TSB's IstioOperator read from the cluster when there is one; a
/// failure to read it only costs the fitting, and says so.
pub async fn istio_operator(
    cfg: &RunConfig,
    kube: Option<&Client>,
    progress: &Progress<'_>,
) -> Option<serde_json::Value> {
    if let Some(iop) = &cfg.istio_operator {
        return Some(iop.clone());
    }
    let kube = kube?;
    let name = tsb_types::seed::ISTIO_OPERATOR_NAME;
    let ns = &cfg.namespace;
    match crate::kube::read_istio_operator(kube, ns, name).await {
        Ok(Some(iop)) => {
            progress.note(&format!(
                "the ControlPlane's overlays are fitted to IstioOperator {ns}/{name} read from the cluster"
            ));
            Some(iop)
        }
        Ok(None) => None,
        Err(e) => {
            progress.note(&format!(
                "could not read IstioOperator {ns}/{name} ({e}); the ControlPlane's overlays append to its pilot env and overlays lists (give --istio-operator to fit them)"
            ));
            None
        }
    }
}
