//! Runs the istio-csr Deployment that its Helm chart created, as a local process: the narrowest
//! stand-in for a kubelet for that one pod. Read back from the API server: the container's
//! arguments, its service account, and its `secret`/`configMap`/`emptyDir` volumes. Emulated:
//! the volumes are written into `<stack dir>/pods/<ns>.<name>/<volume>/` (mode 0600) and the
//! arguments' mount paths point there; `--serving-address`, `--metrics-port` and
//! `--readiness-probe-port` move to free 127.0.0.1 ports; the process talks to the API server as
//! the pod's service account (a TokenRequest token in a kubeconfig, so the chart's RBAC is what
//! it gets). Not emulated: the image (the stack's own istio-csr build runs), resources, probes
//! other than the readiness wait at start, and more than one replica. Updating the mounted
//! files when a Secret or ConfigMap changes is [`Stack::sync_istio_csr_volumes`] (the kubelet
//! loop calls it; tests running the Deployment in-process call it themselves).

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount, Volume};
use kube::Api;
use kube::api::PostParams;

use crate::files::write_secret;
use crate::process::free_port;
use crate::{ISTIO_CSR_BIN, IstioCsrEndpoint, Result, Stack, StackError, need_bin};

/// How long the pod's service-account token is valid.
const TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

impl Stack {
    /// Runs the istio-csr Deployment `namespace/name` (as istio-csr's chart created it) as a
    /// local process; see the module docs for what is and is not emulated. Stopped with the
    /// stack.
    pub async fn run_istio_csr_deployment(
        &mut self,
        namespace: &str,
        name: &str,
    ) -> Result<IstioCsrEndpoint> {
        let bin = need_bin(&self.cfg.bin_dir, ISTIO_CSR_BIN, "")?;
        let what = format!("Deployment {namespace}/{name}");
        let d = Api::<Deployment>::namespaced(self.client(), namespace)
            .get(name)
            .await
            .map_err(|e| StackError::kube(format!("reading {what}"), e))?;
        let pod = d
            .spec
            .template
            .spec
            .ok_or_else(|| unsupported(&what, "it has no pod template"))?;
        let container = pod
            .containers
            .first()
            .ok_or_else(|| unsupported(&what, "its pod has no container"))?;
        let pod_dir = self
            .state
            .dir
            .join("pods")
            .join(format!("{namespace}.{name}"));
        let _ = std::fs::remove_dir_all(&pod_dir);
        create_dir(&pod_dir)?;

        // Volumes, as the kubelet would mount them: mount path -> local folder.
        let volumes = pod.volumes.clone().unwrap_or_default();
        let mut mounts: Vec<(String, PathBuf)> = Vec::new();
        for m in container.volume_mounts.clone().unwrap_or_default() {
            let v = volumes
                .iter()
                .find(|v| v.name == m.name)
                .ok_or_else(|| unsupported(&what, &format!("no volume {}", m.name)))?;
            let local = pod_dir.join(&v.name);
            self.materialize(namespace, v, &local, &what).await?;
            mounts.push((m.mount_path.trim_end_matches('/').to_string(), local));
        }
        // Longest mount path first, so nested mounts win.
        mounts.sort_by_key(|m| std::cmp::Reverse(m.0.len()));

        let sa = pod
            .service_account_name
            .clone()
            .unwrap_or_else(|| "default".into());
        let kubeconfig = self
            .service_account_kubeconfig(namespace, &sa, &pod_dir)
            .await?;
        // A port found free can be taken before istio-csr binds it (an outgoing connection's
        // source port is drawn from the same range): then it starts again on other ports.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let serving = free_port("istio-csr")?;
            let metrics = free_port("istio-csr-metrics")?;
            let readiness = free_port("istio-csr-readiness")?;
            let mut dns_name = format!("cert-manager-istio-csr.{namespace}.svc");
            let mut args = Vec::new();
            for a in container.args.clone().unwrap_or_default() {
                let a = if a.starts_with("--serving-address=") {
                    format!("--serving-address=127.0.0.1:{serving}")
                } else if a.starts_with("--metrics-port=") {
                    format!("--metrics-port={metrics}")
                } else if a.starts_with("--readiness-probe-port=") {
                    format!("--readiness-probe-port={readiness}")
                } else if a.starts_with("--kubeconfig") {
                    continue;
                } else {
                    local_paths(&a, &mounts)
                };
                if let Some(names) = a.strip_prefix("--serving-certificate-dns-names=")
                    && let Some(first) = names.split(',').next()
                {
                    dns_name = first.to_string();
                }
                args.push(a);
            }
            args.push(format!("--kubeconfig={}", kubeconfig.display()));
            match self
                .spawn_istio_csr(&bin, &args, [serving, metrics, readiness], dns_name)
                .await
            {
                Err(_) if attempt < 3 && self.port_was_taken("istio-csr") => {}
                other => return other,
            }
        }
    }

    /// Whether `component`'s log says it could not bind a port.
    fn port_was_taken(&self, component: &str) -> bool {
        std::fs::read_to_string(self.log_path(component))
            .is_ok_and(|l| l.contains("address already in use"))
    }

    /// Writes a `secret`, `configMap` or `emptyDir` volume into `local`.
    async fn materialize(
        &self,
        namespace: &str,
        v: &Volume,
        local: &Path,
        what: &str,
    ) -> Result<()> {
        materialize(&self.client(), namespace, v, local, what).await?;
        Ok(())
    }

    /// Updates the files of the running istio-csr Deployment `namespace/name`'s `secret` and
    /// `configMap` volumes in place, as a kubelet does when a mounted object changes (each file
    /// replaced by a rename, so a reader never sees half of it, and a file watcher sees it
    /// removed and created: istio-csr then reloads its root file without a restart). Returns
    /// whether any file changed.
    pub async fn sync_istio_csr_volumes(&self, namespace: &str, name: &str) -> Result<bool> {
        sync_volumes(&self.client(), &self.state.dir, namespace, name).await
    }

    /// A kubeconfig for the stack's API server authenticating as `namespace/sa` (a TokenRequest
    /// token), mode 0600 in `dir`.
    async fn service_account_kubeconfig(
        &self,
        namespace: &str,
        sa: &str,
        dir: &Path,
    ) -> Result<PathBuf> {
        let what = format!("a token for ServiceAccount {namespace}/{sa}");
        let request = TokenRequest {
            spec: Some(TokenRequestSpec {
                expiration_seconds: Some(i64::try_from(TOKEN_TTL.as_secs()).unwrap_or(86_400)),
                ..Default::default()
            }),
            ..Default::default()
        };
        let token = Api::<ServiceAccount>::namespaced(self.client(), namespace)
            .create_token_request(sa, &PostParams::default(), &request)
            .await
            .map_err(|e| StackError::kube(what.clone(), e))?
            .status
            .and_then(|s| s.token)
            .ok_or_else(|| unsupported(&what, "the API server returned no token"))?;
        let admin = std::fs::read_to_string(&self.state.kubeconfig).map_err(|e| {
            StackError::io(format!("reading {}", self.state.kubeconfig.display()), e)
        })?;
        let v: serde_json::Value =
            serde_yaml::from_str(&admin).map_err(|e| StackError::Manifest {
                what: self.state.kubeconfig.display().to_string(),
                message: e.to_string(),
            })?;
        let ca = v["clusters"][0]["cluster"]["certificate-authority-data"]
            .as_str()
            .unwrap_or_default();
        let yaml = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: stack\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\nusers:\n- name: {sa}\n  user:\n    token: {}\ncontexts:\n- name: stack\n  context:\n    cluster: stack\n    user: {sa}\n    namespace: {namespace}\ncurrent-context: stack\n",
            self.state.api_server, token
        );
        let path = dir.join("kubeconfig");
        write_secret(&path, &yaml)?;
        Ok(path)
    }
}

/// The files of a volume: every key, or only `items` (key -> path) when the volume lists them.
/// Writes a `secret`, `configMap` or `emptyDir` volume into `local` (each file by a rename);
/// returns whether any file changed.
async fn materialize(
    client: &kube::Client,
    namespace: &str,
    v: &Volume,
    local: &Path,
    what: &str,
) -> Result<bool> {
    create_dir(local)?;
    let files: Vec<(String, Vec<u8>)> = if let Some(s) = &v.secret {
        let sname = s.secret_name.clone().unwrap_or_default();
        let secret = Api::<Secret>::namespaced(client.clone(), namespace)
            .get(&sname)
            .await
            .map_err(|e| {
                StackError::kube(format!("reading Secret {namespace}/{sname} ({what})"), e)
            })?;
        let data = secret.data.unwrap_or_default();
        select(
            data.into_iter().map(|(k, v)| (k, v.0)).collect(),
            s.items
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|i| (i.key.clone(), i.path.clone())),
        )
    } else if let Some(c) = &v.config_map {
        let cname = c.name.clone();
        let cm = Api::<ConfigMap>::namespaced(client.clone(), namespace)
            .get(&cname)
            .await
            .map_err(|e| {
                StackError::kube(format!("reading ConfigMap {namespace}/{cname} ({what})"), e)
            })?;
        let data = cm.data.unwrap_or_default();
        select(
            data.into_iter().map(|(k, v)| (k, v.into_bytes())).collect(),
            c.items
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|i| (i.key.clone(), i.path.clone())),
        )
    } else if v.empty_dir.is_some() {
        Vec::new()
    } else {
        return Err(unsupported(
            what,
            &format!(
                "volume {} is neither a secret, a configMap nor an emptyDir",
                v.name
            ),
        ));
    };
    let mut changed = false;
    for (path, bytes) in files {
        let file = local.join(&path);
        if let Some(parent) = file.parent() {
            create_dir(parent)?;
        }
        if std::fs::read(&file).ok().as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        let tmp = file.with_extension("kubelet-tmp");
        write_secret(&tmp, &bytes)?;
        std::fs::rename(&tmp, &file)
            .map_err(|e| StackError::io(format!("replacing {}", file.display()), e))?;
        changed = true;
    }
    Ok(changed)
}

/// [`Stack::sync_istio_csr_volumes`] with a client and the stack's folder.
pub(crate) async fn sync_volumes(
    client: &kube::Client,
    stack_dir: &Path,
    namespace: &str,
    name: &str,
) -> Result<bool> {
    let what = format!("Deployment {namespace}/{name}");
    let d = Api::<Deployment>::namespaced(client.clone(), namespace)
        .get(name)
        .await
        .map_err(|e| StackError::kube(format!("reading {what}"), e))?;
    let pod_dir = stack_dir.join("pods").join(format!("{namespace}.{name}"));
    let mut changed = false;
    for v in d
        .spec
        .template
        .spec
        .and_then(|p| p.volumes)
        .unwrap_or_default()
    {
        if v.secret.is_some() || v.config_map.is_some() {
            changed |= materialize(client, namespace, &v, &pod_dir.join(&v.name), &what).await?;
        }
    }
    Ok(changed)
}

fn select(
    data: Vec<(String, Vec<u8>)>,
    items: impl Iterator<Item = (String, String)>,
) -> Vec<(String, Vec<u8>)> {
    let items: Vec<(String, String)> = items.collect();
    if items.is_empty() {
        return data;
    }
    items
        .into_iter()
        .filter_map(|(key, path)| {
            data.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, b)| (path, b.clone()))
        })
        .collect()
}

/// `arg` with a container mount path replaced by its local folder.
fn local_paths(arg: &str, mounts: &[(String, PathBuf)]) -> String {
    for (mount, local) in mounts {
        if let Some(i) = arg.find(mount.as_str()) {
            let rest = &arg[i + mount.len()..];
            if rest.is_empty() || rest.starts_with('/') {
                return format!("{}{}{rest}", &arg[..i], local.display());
            }
        }
    }
    arg.to_string()
}

fn unsupported(what: &str, why: &str) -> StackError {
    StackError::Manifest {
        what: what.to_string(),
        message: format!("cannot run it here: {why}"),
    }
}

fn create_dir(p: &Path) -> Result<()> {
    std::fs::create_dir_all(p).map_err(|e| StackError::io(format!("creating {}", p.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths_in_arguments_point_at_the_local_folders() {
        let mounts = vec![
            (
                "/var/run/secrets/istio-csr".to_string(),
                PathBuf::from("/s/pods/p/root-ca"),
            ),
            ("/etc".to_string(), PathBuf::from("/s/pods/p/etc")),
        ];
        assert_eq!(
            local_paths(
                "--root-ca-file=/var/run/secrets/istio-csr/ca.cert.pem",
                &mounts
            ),
            "--root-ca-file=/s/pods/p/root-ca/ca.cert.pem"
        );
        assert_eq!(local_paths("--log-level=1", &mounts), "--log-level=1");
        // A prefix that is not a whole path segment is not a mount.
        assert_eq!(local_paths("--x=/etcetera/a", &mounts), "--x=/etcetera/a");
    }

    #[test]
    fn volume_items_select_and_rename_keys() {
        let data = vec![
            ("ca.cert.pem".to_string(), b"A".to_vec()),
            ("other".to_string(), b"B".to_vec()),
        ];
        assert_eq!(select(data.clone(), std::iter::empty()).len(), 2);
        let picked = select(
            data,
            [("ca.cert.pem".to_string(), "root.pem".to_string())].into_iter(),
        );
        assert_eq!(picked, vec![("root.pem".to_string(), b"A".to_vec())]);
    }
}
