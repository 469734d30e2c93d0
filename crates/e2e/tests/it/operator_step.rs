//! The TSB operator's overlay step on the local stack (issue 6). No TSB operator runs here, so
//! the test does its step: the ControlPlane `e2e run` wrote is applied (with `istio-overlay`,
//! Istio's engine) to the IstioOperator TSB generates, and that operator's pilot overlays to
//! the manifests Istio renders for istiod (`pilot_default.golden.yaml`). Every patched object
//! then goes to the real API server as a server-side apply with `dryRun=All`: the server
//! validates the Deployment (each new volumeMount must name a volume, each field must be in
//! the schema) and stores nothing, and what it returns still holds istiod's new args, mounts
//! and volumes. Three IstioOperators: TSB-style with pilot env and overlays lists, a bare one
//! given with `--istio-operator`, and the bare one read from the cluster.

use std::path::Path;

use e2e::report::Outcome;
use istio_overlay::{apply_nested, parse_documents};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;
use stack::Stack;

use crate::common::{run_ok, stack_up};

fn data(file: &str) -> String {
    let path = data_path(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// A file of the workspace's `testdata/`.
fn data_path(file: &str) -> String {
    format!("{}/../../testdata/{file}", env!("CARGO_MANIFEST_DIR"))
}

fn discovery(deployment: &Value) -> &Value {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "discovery"))
        .expect("discovery container")
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|l| l.iter().filter_map(|v| v["name"].as_str()).collect())
        .unwrap_or_default()
}

/// `e2e run` on the stack; returns the ControlPlane it wrote.
fn e2e_run(stack: &Stack, out: &Path, extra: &[&str]) -> tsb_types::ControlPlane {
    run_ok(stack, out, extra);
    serde_yaml::from_str(
        &std::fs::read_to_string(out.join("control-plane.yaml")).expect("control-plane.yaml"),
    )
    .expect("ControlPlane")
}

fn rendered() -> Vec<Value> {
    parse_documents(
        "pilot_default.golden.yaml",
        &data("pilot_default.golden.yaml"),
    )
    .expect("manifests")
}

/// Sends every object to the API server with `dryRun=All`; returns the istiod Deployment as
/// the server would store it.
async fn dry_run_all(client: &kube::Client, manifests: &[Value]) -> Value {
    let mut istiod = None;
    for obj in manifests {
        let label = format!("{} {}", obj["kind"], obj["metadata"]["name"]);
        let (outcome, back) = e2e::kube::apply_value(client, obj, true)
            .await
            .unwrap_or_else(|e| panic!("the API server refused {label}: {e}"));
        assert_eq!(
            outcome,
            Outcome::Created,
            "{label}: a dry run of a new object"
        );
        if obj["kind"] == "Deployment" {
            istiod = Some(serde_json::to_value(&back).expect("JSON"));
        }
    }
    istiod.expect("the istiod Deployment")
}

/// istiod as the server would store it has the seed's args, mounts and volumes.
fn assert_seed_additions(istiod: &Value) {
    let container = discovery(istiod);
    let args: Vec<&str> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for want in [
        "--tlsCertFile=/etc/cert-manager/tls/tls.crt",
        "--tlsKeyFile=/etc/cert-manager/tls/tls.key",
        "--caCertFile=/etc/cert-manager/ca/root-cert.pem",
    ] {
        assert_eq!(
            args.iter().filter(|a| **a == want).count(),
            1,
            "{want} once in {args:?}"
        );
    }
    let mounts = names(&container["volumeMounts"]);
    let volumes = names(&istiod["spec"]["template"]["spec"]["volumes"]);
    for want in ["cert-manager", "ca-root-cert"] {
        assert!(mounts.contains(&want), "mount {want} not in {mounts:?}");
        assert!(volumes.contains(&want), "volume {want} not in {volumes:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_overlay_step_gives_objects_the_api_server_accepts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = stack_up(dir.path()).await;
    let client = stack.client();

    // 1. A TSB-style IstioOperator with pilot env and overlays lists: e2e's default
    //    ControlPlane appends to them.
    let cp = e2e_run(&stack, &dir.path().join("out"), &[]);
    let mut iop: Value =
        serde_yaml::from_str(&data("tsb-istiocontrolplane.full.yaml")).expect("IOP");
    let mut manifests = rendered();
    apply_nested(&mut iop, cp.spec.istio_overlays(), &mut manifests)
        .unwrap_or_else(|e| panic!("the operator's overlay step failed: {e}"));
    assert_ne!(manifests, rendered(), "the overlays changed nothing");
    assert_seed_additions(&dry_run_all(&client, &manifests).await);

    // 2. An IstioOperator without those lists: appending would make Istio write map keys
    //    named `[-1]` and the step fails; given with --istio-operator, e2e fits the overlays.
    let bare_path = data_path("tsb-istiocontrolplane.bare.yaml");
    let bare: Value = serde_yaml::from_str(&data("tsb-istiocontrolplane.bare.yaml")).expect("IOP");
    let mut unfitted = bare.clone();
    assert!(
        apply_nested(&mut unfitted, cp.spec.istio_overlays(), &mut rendered()).is_err(),
        "appending to absent lists should break the step"
    );
    let fitted = e2e_run(
        &stack,
        &dir.path().join("out-fitted"),
        &["--istio-operator", &bare_path],
    );
    let mut iop = bare;
    let mut manifests = rendered();
    apply_nested(&mut iop, fitted.spec.istio_overlays(), &mut manifests)
        .unwrap_or_else(|e| panic!("the fitted overlay step failed: {e}"));
    assert_eq!(
        iop["spec"]["components"]["pilot"]["k8s"]["env"],
        serde_json::json!([{"name": "ENABLE_CA_SERVER", "value": "false"}])
    );
    assert_seed_additions(&dry_run_all(&client, &manifests).await);

    // 3. The same IstioOperator in the cluster (as TSB's operator leaves it): e2e reads it and
    //    fits the overlays without being told.
    let crd: CustomResourceDefinition = serde_json::from_value(serde_json::json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "istiooperators.install.istio.io"},
            "spec": {
                "group": "install.istio.io",
                "names": {"kind": "IstioOperator", "plural": "istiooperators", "singular": "istiooperator"},
                "scope": "Namespaced",
                "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
            }
        }))
        .expect("CRD");
    let crds: kube::Api<CustomResourceDefinition> = kube::Api::all(client.clone());
    crds.create(&kube::api::PostParams::default(), &crd)
        .await
        .expect("IstioOperator CRD");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut in_cluster: Value =
        serde_yaml::from_str(&data("tsb-istiocontrolplane.bare.yaml")).expect("IOP");
    in_cluster["metadata"]["namespace"] = "istio-system".into();
    loop {
        match e2e::kube::apply_value(&client, &in_cluster, false).await {
            Ok(_) => break,
            // The CRD is not Established yet.
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(e) => panic!("creating the IstioOperator: {e}"),
        }
    }
    let out_cluster = dir.path().join("out-cluster");
    let from_cluster = e2e_run(&stack, &out_cluster, &[]);
    let notes = crate::common::report(&out_cluster)["notes"].clone();
    assert!(
        notes.as_array().is_some_and(|n| n.iter().any(|n| n
            .as_str()
            .unwrap_or("")
            .contains("fitted to IstioOperator istio-system/tsb-istiocontrolplane"))),
        "report notes: {notes}"
    );
    assert_eq!(
        from_cluster.spec.istio_overlays(),
        fitted.spec.istio_overlays(),
        "fitted to the IstioOperator read from the cluster"
    );

    // Nothing was stored.
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(client.clone(), "istio-system");
    assert!(
        deployments.get_opt("istiod").await.expect("read").is_none(),
        "a dry run stored the Deployment"
    );
    stack.down().await;
}
