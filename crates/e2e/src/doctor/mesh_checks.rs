//! The doctor's checks of what runs on the mesh side of the cluster: istio-csr's Deployment (its
//! root file and cluster ID) and the TSB ControlPlane (its cluster name, its overlays linted
//! against the cluster's IstioOperator).

use certmanager_types::RootCaMount;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::{Api, Client};

use super::finding::{DoctorReport, Finding};
use crate::config::RunConfig;

/// istio-csr's Deployment (what its chart rendered): its root file is the `istio-root-ca`
/// Secret, and its cluster ID is the run's.
pub async fn istio_csr_deployment(client: &Client, cfg: &RunConfig, r: &mut DoctorReport) {
    let ns = crate::manifests::CERT_MANAGER_NAMESPACE;
    let name = crate::kube::ISTIO_CSR_RELEASE;
    let subject = format!("Deployment {ns}/{name}");
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let Ok(Some(d)) = api.get_opt(name).await else {
        r.push(Finding::warning(
            "istio-csr.root-file",
            &subject,
            "istio-csr is not installed: its root file and cluster ID are not checked",
            "install it (e2e run --kubeconfig with helm)",
        ));
        return;
    };
    let pod = d.spec.template.spec.unwrap_or_default();
    let Some(container) = pod.containers.first() else {
        return;
    };
    let args = container.args.clone().unwrap_or_default();
    let arg = |flag: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(&format!("--{flag}=")).map(str::to_string))
    };
    let mount = RootCaMount::seed_flow();
    let root_file = arg("root-ca-file");
    let secret_volume = pod.volumes.unwrap_or_default().into_iter().find(|v| {
        v.secret
            .as_ref()
            .is_some_and(|s| s.secret_name.as_deref() == Some(mount.secret_name.as_str()))
    });
    let mounted_at = secret_volume.and_then(|v| {
        container
            .volume_mounts
            .clone()
            .unwrap_or_default()
            .into_iter()
            .find(|m| m.name == v.name)
            .map(|m| m.mount_path)
    });
    match (&root_file, &mounted_at) {
        (Some(file), Some(dir)) if file.starts_with(dir.trim_end_matches('/')) => {
            r.push(Finding::ok(
                "istio-csr.root-file",
                &subject,
                format!(
                    "--root-ca-file={file} is Secret {} mounted at {dir}",
                    mount.secret_name
                ),
            ))
        }
        _ => r.push(Finding::error(
            "istio-csr.root-file",
            &subject,
            format!(
                "its root file ({}) is not the {} Secret ({}): workloads get another root",
                root_file.as_deref().unwrap_or("no --root-ca-file"),
                mount.secret_name,
                mounted_at
                    .as_deref()
                    .map(|d| format!("mounted at {d}"))
                    .unwrap_or_else(|| "not mounted".into())
            ),
            "install istio-csr with e2e's values (istio-csr-values.yaml in --out)",
        )),
    }
    match arg("cluster-id") {
        Some(id) if id == cfg.cluster_id => r.push(Finding::ok(
            "cluster-id.consistent",
            &subject,
            format!("--cluster-id={id}"),
        )),
        other => r.push(Finding::error(
            "cluster-id.consistent",
            &subject,
            format!(
                "istio-csr's cluster ID is {}, the run's is {}: istio-csr refuses CSRs from istiod's cluster",
                other.as_deref().unwrap_or("unset"),
                cfg.cluster_id
            ),
            "use one cluster ID everywhere (--cluster-id, the fleet's clusterID)",
        )),
    }
}

/// The TSB ControlPlane: its cluster name is the run's cluster ID, and its overlays lint clean
/// against the IstioOperator in the cluster.
pub async fn control_plane(client: &Client, cfg: &RunConfig, r: &mut DoctorReport) {
    let name = tsb_types::seed::CONTROL_PLANE_NAME;
    let subject = format!("ControlPlane {}/{name}", cfg.namespace);
    let gvk = GroupVersionKind::gvk("install.tetrate.io", "v1alpha1", "ControlPlane");
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &cfg.namespace, &ApiResource::from_gvk(&gvk));
    let Ok(Some(cp)) = api.get_opt(name).await else {
        r.push(Finding::ok(
            "control-plane.cluster-id",
            &subject,
            "no ControlPlane here (no TSB operator): nothing to compare",
        ));
        return;
    };
    let cp = serde_json::to_value(&cp).unwrap_or_default();
    let cluster_name = cp["spec"]["managementPlane"]["clusterName"]
        .as_str()
        .unwrap_or("");
    if cluster_name == cfg.cluster_id {
        r.push(Finding::ok(
            "control-plane.cluster-id",
            &subject,
            format!("clusterName {cluster_name}"),
        ));
    } else {
        r.push(Finding::error(
            "control-plane.cluster-id",
            &subject,
            format!(
                "clusterName is {cluster_name:?}, istio-csr's cluster ID is {}",
                cfg.cluster_id
            ),
            "use one cluster ID everywhere (--cluster-id)",
        ));
    }
    let iop = crate::kube::read_istio_operator(
        client,
        &cfg.namespace,
        tsb_types::seed::ISTIO_OPERATOR_NAME,
    )
    .await
    .ok()
    .flatten();
    let overlays = istio_overlay::K8sObjectOverlay::list_from_value(&subject, &cp);
    match (overlays, iop) {
        (Ok(overlays), Some(iop)) => {
            let found = istio_overlay::lint(&overlays, Some(std::slice::from_ref(&iop)));
            if found.is_empty() {
                r.push(Finding::ok(
                    "control-plane.overlays-lint",
                    &subject,
                    "its overlays lint clean against the IstioOperator in the cluster",
                ));
            } else {
                let codes: Vec<String> = found
                    .iter()
                    .map(|f| format!("{} at {}", f.code, f.location))
                    .collect();
                r.push(Finding::warning(
                    "control-plane.overlays-lint",
                    &subject,
                    format!("{} lint findings: {}", found.len(), codes.join("; ")),
                    "istio-overlay lint --overlays <the ControlPlane> --manifests <the IstioOperator> shows each with its rewrite",
                ));
            }
        }
        (Err(e), _) => r.push(Finding::error(
            "control-plane.overlays-lint",
            &subject,
            format!("its overlays cannot be read: {e}"),
            "fix the ControlPlane's spec.components.istio.kubeSpec.overlays",
        )),
        (Ok(_), None) => r.push(Finding::ok(
            "control-plane.overlays-lint",
            &subject,
            "no IstioOperator in the cluster to lint the overlays against",
        )),
    }
}
