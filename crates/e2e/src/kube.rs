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
    let kc = read_kubeconfig(kubeconfig).map_err(err)?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| err(e.to_string()))?;
    Client::try_from(config).map_err(|e| err(e.to_string()))
}

/// Reads a kubeconfig; a `KUBECONFIG`-style list (`a:b`, when no file has that whole name)
/// is merged as kubectl does: the first file to set a value wins.
pub fn read_kubeconfig(path: &Path) -> std::result::Result<Kubeconfig, String> {
    let files: Vec<PathBuf> = if path.exists() {
        vec![path.to_path_buf()]
    } else {
        std::env::split_paths(path.as_os_str())
            .filter(|p| !p.as_os_str().is_empty())
            .collect()
    };
    let mut merged: Option<Kubeconfig> = None;
    for f in &files {
        let kc = Kubeconfig::read_from(f).map_err(|e| format!("{}: {e}", f.display()))?;
        merged = Some(match merged {
            None => kc,
            Some(m) => m
                .merge(kc)
                .map_err(|e| format!("merging {}: {e}", f.display()))?,
        });
    }
    merged.ok_or_else(|| "no kubeconfig file named".to_string())
}

/// The IstioOperator `namespace/name` (install.istio.io/v1alpha1) from the cluster, if its
/// CRD and the object exist: what TSB's operator generated, for fitting the ControlPlane's
/// overlays to it.
pub async fn read_istio_operator(
    kubeconfig: &Path,
    namespace: &str,
    name: &str,
) -> std::result::Result<Option<Value>, String> {
    let client = client_for(kubeconfig).await.map_err(|e| e.to_string())?;
    let gvk = GroupVersionKind::gvk("install.istio.io", "v1alpha1", "IstioOperator");
    let api: Api<DynamicObject> =
        Api::namespaced_with(client, namespace, &ApiResource::from_gvk(&gvk));
    match api.get_opt(name).await {
        Ok(found) => found
            .map(|o| serde_json::to_value(o).map_err(|e| e.to_string()))
            .transpose(),
        // No IstioOperator CRD on this cluster.
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(kube_msg(&e)),
    }
}

/// Server-side applies one object given as JSON (with apiVersion and kind); returns whether it
/// was created, updated (its resourceVersion moved) or unchanged.
///
/// With `dry_run` the API server validates and merges the apply but stores nothing
/// (`dryRun=All`); the outcome then says what a real apply would do, from comparing the object
/// before with the one the server returned.
pub async fn apply_value(
    client: &Client,
    obj: &Value,
    dry_run: bool,
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
    let mut pp = PatchParams::apply(FIELD_MANAGER).force();
    pp.dry_run = dry_run;
    let after = api
        .patch(name, &pp, &Patch::Apply(obj))
        .await
        .map_err(|e| kube_msg(&e))?;
    let outcome = match before {
        None => Outcome::Created,
        // A dry run stores nothing, so the resourceVersion never moves: compare the objects.
        Some(b) if dry_run && same_stored_object(&b, &after) => Outcome::Unchanged,
        Some(b) if !dry_run && b.metadata.resource_version == after.metadata.resource_version => {
            Outcome::Unchanged
        }
        Some(_) => Outcome::Updated,
    };
    Ok((outcome, after))
}

/// Whether two reads of an object hold the same content: everything but the resourceVersion
/// and the managedFields' timestamps, which a write that changes nothing leaves alone anyway.
pub fn same_stored_object(a: &DynamicObject, b: &DynamicObject) -> bool {
    let strip = |o: &DynamicObject| {
        let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
            if let Some(Value::Array(fields)) = m.get_mut("managedFields") {
                for f in fields.iter_mut().filter_map(Value::as_object_mut) {
                    f.remove("time");
                }
            }
        }
        v
    };
    strip(a) == strip(b)
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

/// How objects are applied: for real (`run`), or with the API server's dry run (`plan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Apply,
    DryRun,
}

async fn apply_step(
    client: &Client,
    progress: &Progress,
    mode: Mode,
    step: &str,
    obj: &Value,
    hint: &str,
) -> Result<(Outcome, DynamicObject)> {
    progress.mark();
    let label = object_label(obj);
    let dry_run = mode == Mode::DryRun;
    match apply_value(client, obj, dry_run).await {
        Ok((outcome, after)) => {
            let how = if dry_run {
                "server-side apply, dry run"
            } else {
                "server-side apply"
            };
            progress.step(Phase::Cluster, step, &label, outcome, how);
            Ok((outcome, after))
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

/// Applies every object in order and returns the cluster checks (the Issuer's readiness and
/// that nothing applied was pruned).
pub async fn apply(
    kubeconfig: &Path,
    args: &RunArgs,
    m: &Manifests,
    progress: &Progress,
) -> Result<Vec<Check>> {
    converge(kubeconfig, args, m, progress, Mode::Apply).await
}

/// What `apply` would do, asked of the API server itself: every object is sent as a
/// server-side apply with `dryRun=All`, so the server validates, defaults and merges it and
/// stores nothing. Steps say `would create`, `would update` or `unchanged`; the checks say
/// whether the server would prune a field, and how the Issuer is now (with cert-manager's own
/// reason and message when it is not Ready). Objects in a namespace that does not exist yet
/// are not sent (the server would refuse them for that alone) and are reported `would create`.
pub async fn plan(
    kubeconfig: &Path,
    args: &RunArgs,
    m: &Manifests,
    progress: &Progress,
) -> Result<Vec<Check>> {
    converge(kubeconfig, args, m, progress, Mode::DryRun).await
}

/// Sends the objects one by one, remembering the namespaces a dry run would create.
struct Applier<'a> {
    client: Client,
    progress: &'a Progress,
    mode: Mode,
    new_namespaces: Vec<String>,
    checks: Vec<Check>,
}

impl Applier<'_> {
    /// Applies `obj` (named `step` in the report) and records whether it read back unpruned.
    async fn put(&mut self, step: &str, obj: &Value, hint: &str) -> Result<()> {
        let in_new_namespace = obj["metadata"]["namespace"]
            .as_str()
            .is_some_and(|ns| self.new_namespaces.iter().any(|n| n == ns));
        if in_new_namespace {
            self.progress.mark();
            self.progress.step(
                Phase::Cluster,
                step,
                &object_label(obj),
                Outcome::Created,
                "its namespace would be created first; not sent",
            );
            return Ok(());
        }
        let (outcome, back) =
            apply_step(&self.client, self.progress, self.mode, step, obj, hint).await?;
        if obj["kind"] == "Namespace" {
            if self.mode == Mode::DryRun && outcome == Outcome::Created {
                self.new_namespaces
                    .push(obj["metadata"]["name"].as_str().unwrap_or_default().into());
            }
        } else {
            self.checks.push(unpruned(&object_label(obj), obj, &back));
        }
        Ok(())
    }
}

async fn converge(
    kubeconfig: &Path,
    args: &RunArgs,
    m: &Manifests,
    progress: &Progress,
    mode: Mode,
) -> Result<Vec<Check>> {
    let client = client_for(kubeconfig).await?;
    let mut a = Applier {
        client: client.clone(),
        progress,
        mode,
        new_namespaces: Vec::new(),
        checks: Vec::new(),
    };

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
        a.put(
            &format!("namespace {ns}"),
            &obj,
            "check the kubeconfig user's rights",
        )
        .await?;
    }
    let secret = to_value("AppRole Secret", &m.approle_secret)?;
    a.put(
        "AppRole Secret",
        &secret,
        "check the kubeconfig user's rights on Secrets",
    )
    .await?;
    let issuer = to_value("Issuer", &m.issuer)?;
    a.put(
        "Issuer",
        &issuer,
        "install cert-manager (its CRDs must exist: issuers.cert-manager.io)",
    )
    .await?;
    match mode {
        Mode::Apply => a
            .checks
            .push(wait_issuer_ready(&client, args, m, progress).await?),
        Mode::DryRun => {
            if let Some(check) = issuer_now(&client, m).await? {
                a.checks.push(check);
            }
        }
    }
    let root = to_value("istio-root-ca", &m.root_ca_secret)?;
    a.put(
        "istio-root-ca Secret",
        &root,
        "check the kubeconfig user's rights on Secrets",
    )
    .await?;

    // istio-csr: helm when present, else the exact command.
    progress.mark();
    let values = PathBuf::from(&args.out).join(OutDir::ISTIO_CSR_VALUES);
    let cmd = helm_command(kubeconfig, &values);
    if which("helm").is_none() {
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
    } else if mode == Mode::DryRun {
        progress.step(
            Phase::Cluster,
            "istio-csr (helm)",
            ISTIO_CSR_RELEASE,
            Outcome::Updated,
            &format!("would run: {}", cmd.join(" ")),
        );
    } else {
        let status = tokio::process::Command::new(&cmd[0])
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
    }

    // The ControlPlane, when TSB's CRD is installed.
    progress.mark();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    match crds.get_opt(CONTROL_PLANE_CRD).await {
        Ok(Some(_)) => {
            let cp = to_value("ControlPlane", &m.control_plane)?;
            a.put("ControlPlane", &cp, "check the ControlPlane CRD's version")
                .await?;
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
    Ok(a.checks)
}

/// The Issuer as it is now (for `plan`): a passing check when cert-manager has it Ready with
/// reason `VaultVerified`, else a failing one carrying cert-manager's reason and message;
/// `None` when there is no Issuer yet.
async fn issuer_now(client: &Client, m: &Manifests) -> Result<Option<Check>> {
    let ns = m.issuer.metadata.namespace.clone().unwrap_or_default();
    let name = m.issuer.metadata.name.clone().unwrap_or_default();
    let api: Api<certmanager_types::Issuer> = Api::namespaced(client.clone(), &ns);
    let issuer = match api.get_opt(&name).await {
        Ok(i) => i,
        // No such namespace or no Issuer CRD: the steps above said so already.
        Err(kube::Error::Api(s)) if s.code == 404 => None,
        Err(e) => {
            return Err(Error::step(
                "cluster: Issuer status",
                format!("reading Issuer {ns}/{name}: {}", kube_msg(&e)),
                "check the kubeconfig user's rights on issuers.cert-manager.io",
            ));
        }
    };
    Ok(issuer.map(|i| issuer_check(&ns, &name, &i)))
}

/// The Issuer's readiness as a check, in cert-manager's words.
fn issuer_check(ns: &str, name: &str, issuer: &certmanager_types::Issuer) -> Check {
    let reason = issuer.ready_reason().unwrap_or_default();
    let message = issuer.ready_message().unwrap_or_default();
    let passed = issuer.is_ready() && reason == "VaultVerified";
    let detail = if passed {
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

/// The `helm upgrade --install` command for istio-csr with the written values. helm's
/// `--kubeconfig` takes one file: a `KUBECONFIG` list goes in its environment instead
/// (`env KUBECONFIG=a:b helm …`).
pub fn helm_command(kubeconfig: &Path, values: &Path) -> Vec<String> {
    let list = !kubeconfig.exists() && std::env::split_paths(kubeconfig.as_os_str()).count() > 1;
    let prefix: Vec<String> = if list {
        vec!["env".into(), format!("KUBECONFIG={}", kubeconfig.display())]
    } else {
        Vec::new()
    };
    let kubeconfig_flag: Vec<String> = if list {
        Vec::new()
    } else {
        vec!["--kubeconfig".into(), kubeconfig.display().to_string()]
    };
    prefix
        .into_iter()
        .chain(helm_args(values))
        .chain(kubeconfig_flag)
        .chain(["--wait".to_string()])
        .collect()
}

fn helm_args(values: &Path) -> impl Iterator<Item = String> {
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
    .into_iter()
    .map(str::to_string)
    .chain([values.display().to_string()])
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
    let mut last: String;
    let result = loop {
        match api.get_opt(&name).await {
            Ok(Some(issuer)) => {
                let check = issuer_check(&ns, &name, &issuer);
                if check.passed {
                    break Ok(check);
                }
                last = check.detail;
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
        Ok(check) => {
            progress.note(&format!(
                "{:<12} {:<7} {} ({} ms)",
                "ok",
                "cluster",
                check.detail,
                elapsed.as_millis()
            ));
            Ok(check)
        }
        Err(last) => Err(Error::step(
            "cluster: Issuer ready",
            format!(
                "not Ready with reason VaultVerified after {}s: {last}",
                bound.as_secs()
            ),
            ISSUER_HINT,
        )),
    }
}

/// What to look at when the Issuer is not Ready.
const ISSUER_HINT: &str = "a VaultError means cert-manager could not log in with the AppRole: check the Secret's secretId, the roleId, spec.vault.server (reachable from cert-manager?) and caBundle";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_kubeconfig_list_is_merged_first_file_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.yaml");
        let b = dir.path().join("b.yaml");
        let cfg = |cluster: &str, ctx: &str| {
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: {ctx}\nclusters:\n- name: {cluster}\n  cluster:\n    server: https://{cluster}.example:6443\ncontexts:\n- name: {ctx}\n  context:\n    cluster: {cluster}\n    user: u\nusers:\n- name: u\n  user: {{}}\n"
            )
        };
        std::fs::write(&a, cfg("one", "first")).expect("write");
        std::fs::write(&b, cfg("two", "second")).expect("write");
        let list = std::env::join_paths([&a, &b]).expect("join");
        let kc = read_kubeconfig(Path::new(&list)).expect("merged");
        assert_eq!(kc.current_context.as_deref(), Some("first"));
        let names: Vec<&str> = kc.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["one", "two"]);
        // One file is read as itself; a missing one is named in the error.
        assert_eq!(read_kubeconfig(&b).expect("one file").clusters.len(), 1);
        let missing = dir.path().join("nope.yaml");
        let e = read_kubeconfig(&missing).expect_err("missing");
        assert!(e.contains("nope.yaml"), "{e}");
    }

    #[test]
    fn helm_gets_one_kubeconfig_as_a_flag_and_a_list_in_its_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let one = dir.path().join("config");
        std::fs::write(&one, "").expect("write");
        let values = Path::new("out/istio-csr-values.yaml");
        let cmd = helm_command(&one, values);
        assert_eq!(cmd[0], "helm");
        assert!(
            cmd.windows(2)
                .any(|w| w[0] == "--kubeconfig" && w[1] == one.display().to_string())
        );
        assert_eq!(cmd.last().map(String::as_str), Some("--wait"));
        let list = std::env::join_paths([&one, &dir.path().join("other")]).expect("join");
        let cmd = helm_command(Path::new(&list), values);
        assert_eq!(cmd[0], "env");
        assert_eq!(cmd[1], format!("KUBECONFIG={}", list.to_string_lossy()));
        assert_eq!(cmd[2], "helm");
        assert!(!cmd.contains(&"--kubeconfig".to_string()));
        assert!(
            cmd.windows(2)
                .any(|w| w[0] == "--values" && w[1] == "out/istio-csr-values.yaml")
        );
    }

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
