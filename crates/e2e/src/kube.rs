//! The cluster client: the kubeconfig (a `KUBECONFIG` list merged as kubectl does), one
//! `kube::Client` per run, and server-side apply of one object (field manager
//! [`FIELD_MANAGER`]), for real or with the API server's dry run.

use std::path::{Path, PathBuf};

use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};
use serde_json::Value;

use crate::error::Cause;
use crate::manifests::CERT_MANAGER_NAMESPACE;
use crate::report::Outcome;

/// The field manager of every apply.
pub const FIELD_MANAGER: &str = "e2e";
/// The ControlPlane CRD's name.
pub const CONTROL_PLANE_CRD: &str = "controlplanes.install.tetrate.io";
/// istio-csr's Helm release name (its Service is then `cert-manager-istio-csr`).
pub const ISTIO_CSR_RELEASE: &str = "cert-manager-istio-csr";

/// A client for a kubeconfig file (or list), with its current context or `context`; no
/// request is sent.
pub async fn client_for(kubeconfig: &Path, context: Option<&str>) -> Result<Client, Cause> {
    let kc = read_kubeconfig(kubeconfig)?;
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..KubeConfigOptions::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kc, &options)
        .await
        .map_err(|source| Cause::Kubeconfig {
            path: kubeconfig.to_path_buf(),
            source,
        })?;
    Client::try_from(config)
        .map_err(|e| Cause::kube(format!("a client for {}", kubeconfig.display()), e))
}
/// One Kubernetes client for the run's cluster (`--kubeconfig`, `--context`); `None` without
/// one. No request is sent yet.
pub async fn connect(cfg: &crate::config::RunConfig) -> crate::Result<Option<Client>> {
    let Some(c) = &cfg.cluster else {
        return Ok(None);
    };
    crate::kube::client_for(&c.kubeconfig, c.context.as_deref())
        .await
        .map(Some)
        .map_err(|e| {
            crate::Error::step(
                "cluster: connect",
                e,
                "check --kubeconfig / KUBECONFIG and that the API server is reachable",
            )
        })
}

/// Reads a kubeconfig; a `KUBECONFIG`-style list (`a:b`, when no file has that whole name)
/// is merged as kubectl does: the first file to set a value wins.
pub fn read_kubeconfig(path: &Path) -> Result<Kubeconfig, Cause> {
    let files: Vec<PathBuf> = if path.exists() {
        vec![path.to_path_buf()]
    } else {
        std::env::split_paths(path.as_os_str())
            .filter(|p| !p.as_os_str().is_empty())
            .collect()
    };
    let mut merged: Option<Kubeconfig> = None;
    for f in &files {
        let bad = |source| Cause::Kubeconfig {
            path: f.clone(),
            source,
        };
        let kc = Kubeconfig::read_from(f).map_err(bad)?;
        merged = Some(match merged {
            None => kc,
            Some(m) => m.merge(kc).map_err(bad)?,
        });
    }
    merged.ok_or_else(|| Cause::Command {
        command: format!("reading kubeconfig {:?}", path.display().to_string()),
        status: "it names no file".into(),
    })
}

/// The IstioOperator `namespace/name` (install.istio.io/v1alpha1) from the cluster, if its
/// CRD and the object exist: what TSB's operator generated, for fitting the ControlPlane's
/// overlays to it.
pub async fn read_istio_operator(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Option<Value>, Cause> {
    let what = || format!("reading IstioOperator {namespace}/{name}");
    let gvk = GroupVersionKind::gvk("install.istio.io", "v1alpha1", "IstioOperator");
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk(&gvk));
    match api.get_opt(name).await {
        Ok(found) => found
            .map(|o| serde_json::to_value(o).map_err(|e| Cause::build(what(), e)))
            .transpose(),
        // No IstioOperator CRD on this cluster.
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(Cause::kube(what(), e)),
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
) -> Result<(Outcome, DynamicObject), Cause> {
    let label = object_label(obj);
    let missing = |field: &str| Cause::Command {
        command: format!("applying {label}"),
        status: format!("the object has no {field}"),
    };
    let api_version = obj["apiVersion"]
        .as_str()
        .ok_or_else(|| missing("apiVersion"))?;
    let kind = obj["kind"].as_str().ok_or_else(|| missing("kind"))?;
    let name = obj["metadata"]["name"]
        .as_str()
        .ok_or_else(|| missing("metadata.name"))?;
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
    let before = api
        .get_opt(name)
        .await
        .map_err(|e| Cause::kube(format!("reading {label}"), e))?;
    let mut pp = PatchParams::apply(FIELD_MANAGER).force();
    pp.dry_run = dry_run;
    let after = api
        .patch(name, &pp, &Patch::Apply(obj))
        .await
        .map_err(|e| Cause::kube(format!("applying {label}"), e))?;
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

/// `Kind namespace/name` of an object given as JSON.
pub fn object_label(obj: &Value) -> String {
    let kind = obj["kind"].as_str().unwrap_or("?");
    match obj["metadata"]["namespace"].as_str() {
        Some(ns) => format!(
            "{kind} {ns}/{}",
            obj["metadata"]["name"].as_str().unwrap_or("?")
        ),
        None => format!("{kind} {}", obj["metadata"]["name"].as_str().unwrap_or("?")),
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

/// istio-csr's chart in its usual repository (`helm repo add jetstack https://charts.jetstack.io`).
pub const ISTIO_CSR_CHART: &str = "jetstack/cert-manager-istio-csr";

/// The `helm upgrade --install` command for istio-csr: `helm` (a program name or path), `chart`
/// (a repository reference or the chart's folder), the written values. helm's `--kubeconfig`
/// takes one file: a `KUBECONFIG` list goes in its environment instead (`env KUBECONFIG=a:b
/// helm …`). No `--wait`: a Deployment's status needs a kubelet and a controller-manager, so the
/// flow waits on what it needs instead (the istiod Certificate). A `context` other than the
/// kubeconfig's current one is passed as `--kube-context`.
pub fn helm_command(
    helm: &str,
    chart: &str,
    kubeconfig: &Path,
    context: Option<&str>,
    values: &Path,
) -> Vec<String> {
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
        .chain(helm_args(helm, chart, values))
        .chain(kubeconfig_flag)
        .chain(
            context
                .into_iter()
                .flat_map(|c| ["--kube-context".to_string(), c.to_string()]),
        )
        .collect()
}

fn helm_args<'a>(helm: &'a str, chart: &'a str, values: &Path) -> impl Iterator<Item = String> {
    [
        helm,
        "upgrade",
        "--install",
        ISTIO_CSR_RELEASE,
        chart,
        "--namespace",
        CERT_MANAGER_NAMESPACE,
        "--values",
    ]
    .into_iter()
    .map(str::to_string)
    .chain([values.display().to_string()])
}

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
        let e = read_kubeconfig(&missing).expect_err("missing").to_string();
        assert!(e.contains("nope.yaml"), "{e}");
    }

    #[test]
    fn helm_gets_one_kubeconfig_as_a_flag_and_a_list_in_its_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let one = dir.path().join("config");
        std::fs::write(&one, "").expect("write");
        let values = Path::new("out/istio-csr-values.yaml");
        let cmd = helm_command("helm", ISTIO_CSR_CHART, &one, None, values);
        assert_eq!(cmd[0], "helm");
        assert!(
            cmd.windows(2)
                .any(|w| w[0] == "--kubeconfig" && w[1] == one.display().to_string())
        );
        assert!(
            cmd.windows(2)
                .any(|w| w[0] == ISTIO_CSR_RELEASE && w[1] == ISTIO_CSR_CHART)
        );
        // No --wait: a Deployment's status needs a kubelet; the flow waits on what it needs.
        assert!(!cmd.contains(&"--wait".to_string()), "{cmd:?}");
        let list = std::env::join_paths([&one, &dir.path().join("other")]).expect("join");
        let cmd = helm_command("helm", ISTIO_CSR_CHART, Path::new(&list), None, values);
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
