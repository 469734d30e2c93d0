//! The real istio-csr (v0.17.0, built by `crates/stack/build-stack.sh`), run out of cluster by
//! the stack against the flow's Issuer: it gets its serving certificate through cert-manager and
//! Vault, publishes the root, and serves Istio's CA API, which `e2e run --istio-ca-addr` checks.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use stack::IstioCsrOptions;

use crate::common::{report, run_ok, stack_up};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_istio_csr_serves_workload_certificates_that_chain_to_our_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut stack = stack_up(dir.path()).await;
    let out = dir.path().join("out");
    run_ok(&stack, &out, &["--wait-timeout", "120"]);
    let ca = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");

    // istio-csr as the chart configures it: the Vault Issuer, the root file, istio-system.
    let ep = stack
        .start_istio_csr(IstioCsrOptions::new(out.join("ca.crt"), "vault-issuer"))
        .await
        .unwrap_or_else(|e| panic!("istio-csr did not start: {e}"));

    // The workload certificate through istio-csr's CreateCertificate.
    run_ok(
        &stack,
        &out,
        &[
            "--istio-ca-addr",
            &ep.grpc_addr,
            "--istio-ca-server-name",
            &ep.serving_dns_name,
        ],
    );
    let r = report(&out);
    let istio_checks: Vec<&serde_json::Value> = r["verification"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["name"].as_str().unwrap_or("").starts_with("istio CA: "))
        .collect();
    assert_eq!(istio_checks.len(), 3, "{r}");
    assert!(
        istio_checks.iter().all(|c| c["passed"] == true),
        "{istio_checks:?}; istio-csr log {}",
        stack.log_path("istio-csr").display()
    );

    // istio-csr publishes the root file's certificate to every namespace.
    let maps: Api<ConfigMap> = Api::namespaced(stack.client(), "foo");
    let deadline = Instant::now() + Duration::from_secs(60);
    let root_in_map = loop {
        if let Some(cm) = maps
            .get_opt("istio-ca-root-cert")
            .await
            .expect("read ConfigMap")
            && let Some(pem) = cm.data.unwrap_or_default().get("root-cert.pem")
        {
            break pem.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no istio-ca-root-cert in foo; log {}",
            stack.log_path("istio-csr").display()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(
        e2e::verify::same_cert(&root_in_map, &ca),
        "istio-ca-root-cert holds ca.crt: {root_in_map}"
    );
    stack.down().await;
}
