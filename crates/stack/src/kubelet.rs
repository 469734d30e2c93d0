//! The stack's stand-in for a kubelet, for the one Deployment it knows how to run: istio-csr's,
//! as its chart creates it (`cert-manager/cert-manager-istio-csr`). Every second it looks at
//! the Deployment and the Secrets and ConfigMaps its pod mounts; when they appear it starts
//! the process ([`Stack::run_istio_csr_deployment`]); when the Deployment changes (or the
//! process exits) it restarts it; when only a mounted Secret or ConfigMap changes it updates the
//! files in place, as a kubelet does ([`Stack::sync_istio_csr_volumes`]: istio-csr reloads its
//! root file by itself); and when the Deployment is deleted it stops it. `e2e stack up` runs
//! it as a process of the stack (`e2e stack kubelet`), so `e2e stack down` stops it and what it
//! started.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;

use crate::{Result, Stack, StackError};

/// The namespace of the Deployment the kubelet runs (istio-csr's chart installs there).
pub const ISTIO_CSR_NAMESPACE: &str = "cert-manager";
/// Its name: the chart's release name `cert-manager-istio-csr`.
pub const ISTIO_CSR_DEPLOYMENT: &str = "cert-manager-istio-csr";

/// What the running process was started from: the Deployment's generation and the resource
/// versions of every Secret and ConfigMap its pod mounts. A change means a restart.
pub async fn fingerprint(client: &kube::Client, ns: &str, name: &str) -> Result<Option<String>> {
    let what = format!("Deployment {ns}/{name}");
    let Some(d) = Api::<Deployment>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .map_err(|e| StackError::kube(format!("reading {what}"), e))?
    else {
        return Ok(None);
    };
    let mut parts = vec![format!(
        "deployment:{}",
        d.metadata.generation.unwrap_or_default()
    )];
    let volumes = d
        .spec
        .template
        .spec
        .and_then(|p| p.volumes)
        .unwrap_or_default();
    for v in volumes {
        if let Some(secret) = v.secret.and_then(|s| s.secret_name) {
            let s = Api::<Secret>::namespaced(client.clone(), ns)
                .get_opt(&secret)
                .await
                .map_err(|e| StackError::kube(format!("reading Secret {ns}/{secret}"), e))?;
            parts.push(format!(
                "secret/{secret}:{}",
                s.and_then(|s| s.metadata.resource_version)
                    .unwrap_or_default()
            ));
        } else if let Some(c) = v.config_map {
            let c = Api::<ConfigMap>::namespaced(client.clone(), ns)
                .get_opt(&c.name)
                .await
                .map_err(|e| StackError::kube(format!("reading ConfigMap {ns}/{}", c.name), e))?;
            parts.push(format!(
                "configmap:{}",
                c.and_then(|c| c.metadata.resource_version)
                    .unwrap_or_default()
            ));
        }
    }
    Ok(Some(parts.join(",")))
}

impl Stack {
    /// Runs the kubelet loop until the process is stopped (see the module docs). Errors of one
    /// round are printed and retried the next second; nothing here ends the loop.
    pub async fn kubelet(mut self) {
        let (ns, name) = (ISTIO_CSR_NAMESPACE, ISTIO_CSR_DEPLOYMENT);
        let mut running: Option<String> = None;
        loop {
            match fingerprint(&self.client(), ns, name).await {
                Ok(Some(fp)) => {
                    let exited = running.is_some() && !self.runs("istio-csr");
                    let same_deployment = running
                        .as_deref()
                        .is_some_and(|r| r.split(',').next() == fp.split(',').next());
                    if same_deployment && !exited && running.as_deref() != Some(fp.as_str()) {
                        match self.sync_istio_csr_volumes(ns, name).await {
                            Ok(changed) => {
                                if changed {
                                    eprintln!("kubelet: updated the mounted files of {ns}/{name}");
                                }
                                running = Some(fp);
                            }
                            Err(e) => eprintln!("kubelet: cannot update {ns}/{name}'s files: {e}"),
                        }
                    } else if running.as_deref() != Some(fp.as_str()) || exited {
                        if running.is_some() {
                            eprintln!("kubelet: {ns}/{name} changed or exited: restarting it");
                            self.stop_process("istio-csr").await;
                        }
                        match self.run_istio_csr_deployment(ns, name).await {
                            Ok(ep) => {
                                eprintln!(
                                    "kubelet: running {ns}/{name}: istio-csr serves at {} (TLS name {})",
                                    ep.grpc_addr, ep.serving_dns_name
                                );
                                running = Some(fp);
                            }
                            Err(e) => {
                                eprintln!("kubelet: cannot run {ns}/{name} yet: {e}");
                                self.stop_process("istio-csr").await;
                                running = None;
                            }
                        }
                    }
                }
                Ok(None) => {
                    if running.take().is_some() {
                        eprintln!("kubelet: {ns}/{name} is gone: stopping istio-csr");
                        self.stop_process("istio-csr").await;
                    }
                }
                Err(e) => eprintln!("kubelet: {e}"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// How often the kubelet looks (for documentation and tests).
pub const KUBELET_PERIOD: Duration = Duration::from_secs(1);

impl Stack {
    /// Starts `<this program> stack kubelet --dir <dir>` as one of the stack's processes (so
    /// `stack down` stops it), for a program that mounts [`StackCommand`](crate::StackCommand)
    /// as its `stack` subcommand, as `e2e` does.
    pub fn start_kubelet(&mut self, bin_dir: &std::path::Path) -> Result<()> {
        let exe = std::env::current_exe()
            .map_err(|e| StackError::io("finding this program's path", e))?;
        let args = vec![
            "stack".to_string(),
            "kubelet".to_string(),
            format!("--dir={}", self.state.dir.display()),
            format!("--bin-dir={}", bin_dir.display()),
        ];
        let log = self.log_path("kubelet");
        let p = crate::process::Proc::spawn("kubelet", &exe, &args, &[], &log)?;
        self.track(p)
    }
}
