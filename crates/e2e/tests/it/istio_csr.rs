//! The real istio-csr (v0.17.0, built by `crates/stack/build-stack.sh`), run out of cluster by
//! the stack against the flow's Issuer: it gets its serving certificate through cert-manager and
//! Vault, publishes the root, and serves Istio's CA API, which `e2e run --istio-ca-addr` checks.

use std::time::Duration;

use e2e::istio_ca::{IstioCaClient, IstioCaError, service_account_token};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service};
use kube::Api;
use stack::{AgentOptions, IstioCsrOptions};

use crate::common::{check, report, run_ok, stack_up, step};

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
    crate::common::run_through_ca(
        &stack,
        &out,
        &ep.grpc_addr,
        &ep.serving_dns_name,
        "istio-csr",
    );

    // istio-csr publishes the root file's certificate to every namespace.
    let root_in_map = crate::common::published_root(&stack, "foo", "istio-csr").await;
    assert!(
        e2e::verify::same_cert(&root_in_map, &ca),
        "istio-ca-root-cert holds ca.crt: {root_in_map}"
    );
    stack.down().await;
}

/// istio-csr's Helm chart at v0.17.0 (`stack::istio_csr_chart_dir`).
pub fn istio_csr_chart() -> std::path::PathBuf {
    stack::istio_csr_chart_dir().unwrap_or_else(|| {
        panic!("istio-csr's chart is not here: set ISTIO_CSR_SRC to istio-csr's v0.17.0 source")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn istio_csrs_real_chart_installs_our_values_and_its_istiod_certificate_is_issued_by_vault() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = stack_up(dir.path()).await;
    let out = dir.path().join("out");
    let helm = stack::default_bin_dir().join("helm");
    assert!(
        helm.is_file(),
        "no helm at {} (crates/stack/build-stack.sh builds it)",
        helm.display()
    );
    let chart = istio_csr_chart();
    run_ok(&stack, &out, &args_of(&helm, &chart));
    let r = report(&out);
    assert_eq!(step(&r, "istio-csr (helm)")["outcome"], "updated", "{r}");
    assert_eq!(check(&r, "istiod certificate ready")["passed"], true, "{r}");

    // What the chart rendered from our values is in the API server.
    let client = stack.client();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "cert-manager");
    let d = deployments
        .get("cert-manager-istio-csr")
        .await
        .expect("the chart's Deployment");
    let pod = d.spec.template.spec.expect("pod spec");
    let args = pod.containers[0].args.clone().unwrap_or_default();
    for want in [
        "--issuer-name=vault-issuer",
        "--root-ca-file=/var/run/secrets/istio-csr/ca.cert.pem",
        "--trust-domain=cluster.local",
        "--certificate-namespace=istio-system",
    ] {
        assert!(args.iter().any(|a| a == want), "{want} not in {args:?}");
    }
    let volumes = pod.volumes.unwrap_or_default();
    assert!(
        volumes.iter().any(|v| v
            .secret
            .as_ref()
            .is_some_and(|s| s.secret_name.as_deref() == Some("istio-root-ca"))),
        "the root file comes from Secret istio-root-ca: {volumes:?}"
    );
    let services: Api<Service> = Api::namespaced(client.clone(), "cert-manager");
    services
        .get("cert-manager-istio-csr")
        .await
        .expect("the chart's Service");

    // istiod's serving certificate, issued by cert-manager through our Vault Issuer, chains to
    // the root.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "istio-system");
    let tls = secrets.get("istiod-tls").await.expect("Secret istiod-tls");
    let data = tls.data.unwrap_or_default();
    let crt = String::from_utf8(data.get("tls.crt").expect("tls.crt").0.clone()).expect("PEM");
    let ca = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");
    let inter = std::fs::read_to_string(out.join("istioca.crt")).expect("istioca.crt");
    let now = rustls_pki_types::UnixTime::now();
    assert_eq!(
        e2e::verify::chains_to_for_server(&crt, &[&inter], &ca, now),
        Ok(())
    );

    // The Deployment the chart created, run by the stack as its service account: the real
    // istio-csr with the chart's arguments serves the workload certificate.
    let mut stack = stack;
    let ep = stack
        .run_istio_csr_deployment("cert-manager", "cert-manager-istio-csr")
        .await
        .unwrap_or_else(|e| panic!("running the chart's Deployment: {e}"));
    let mut with_ca = args_of(&helm, &chart).to_vec();
    with_ca.extend([
        "--istio-ca-addr",
        ep.grpc_addr.as_str(),
        "--istio-ca-server-name",
        ep.serving_dns_name.as_str(),
    ]);
    run_ok(&stack, &out, &with_ca);
    let r = report(&out);
    assert_eq!(check(&r, "istiod certificate ready")["passed"], true, "{r}");

    // It authenticates as the chart configures it: a token for another audience, or for a
    // service account of another namespace than the CSR's identity, is refused.
    let client = stack.client();
    let identity = e2e::verify::workload_identity("cluster.local");
    let csr = e2e::verify::workload_csr(&identity).expect("CSR");
    let mut ca_client = IstioCaClient::connect(&ep.grpc_addr, &ca, &ep.serving_dns_name)
        .await
        .expect("connect to istio-csr");
    stack::ensure_namespace(&client, "bar")
        .await
        .expect("namespace bar");
    for (ns, audience, why) in [
        ("foo", "not-istio", "a token for another audience"),
        (
            "bar",
            "istio-ca",
            "bar/sleep's token for foo/sleep's identity",
        ),
    ] {
        let token = service_account_token(&client, ns, "sleep", audience, Duration::from_secs(600))
            .await
            .expect("TokenRequest");
        let answer = ca_client
            .create_certificate(&csr, &token, Duration::from_secs(3600))
            .await;
        assert!(
            matches!(answer, Err(IstioCaError::Refused { .. })),
            "{why} must be refused, got {answer:?}"
        );
    }

    // Istio's own agent, as the sidecar of foo/sleep, gets its certificate from this istio-csr.
    let certs = stack
        .start_pilot_agent(&AgentOptions::new(
            ep.grpc_addr.clone(),
            ep.serving_dns_name.clone(),
            out.join("ca.crt"),
            "foo",
            "sleep",
        ))
        .await
        .unwrap_or_else(|e| panic!("pilot-agent: {e}"));
    let read = |p: &std::path::Path| std::fs::read_to_string(p).expect("agent output");
    let root_file = read(&certs.root_cert);
    assert!(
        e2e::verify::same_cert(&root_file, &ca),
        "the agent's root-cert.pem is ca.crt: {root_file}"
    );
    let chain: Vec<String> = pem::parse_many(read(&certs.cert_chain))
        .expect("cert-chain.pem")
        .iter()
        .map(pem::encode)
        .collect();
    assert!(
        chain.last().is_some_and(|c| e2e::verify::same_cert(c, &ca)),
        "the agent's chain ends at ca.crt ({} certificates)",
        chain.len()
    );
    assert_eq!(e2e::verify::uri_sans(&chain[0]), Ok(vec![identity.clone()]));
    let inter = std::fs::read_to_string(out.join("istioca.crt")).expect("istioca.crt");
    assert_eq!(
        e2e::verify::chains_to(&chain[0], &[&inter], &ca, rustls_pki_types::UnixTime::now()),
        Ok(())
    );
    let istio_checks = crate::common::istio_ca_checks(&r);
    assert_eq!(istio_checks.len(), 3, "{r}");
    assert!(
        istio_checks.iter().all(|c| c["passed"] == true),
        "{istio_checks:?}; istio-csr log {}",
        stack.log_path("istio-csr").display()
    );
    stack.down().await;
}

pub fn args_of<'a>(helm: &'a std::path::Path, chart: &'a std::path::Path) -> [&'a str; 4] {
    [
        "--helm",
        helm.to_str().expect("UTF-8 path"),
        "--istio-csr-chart",
        chart.to_str().expect("UTF-8 path"),
    ]
}

/// The seed's text puts the intermediate into istio-csr's root file: istio-csr then hands the
/// intermediate to workloads as their root, and `e2e`'s check says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_istio_csr_whose_root_file_holds_the_intermediate_is_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut stack = stack_up(dir.path()).await;
    let out = dir.path().join("out");
    run_ok(&stack, &out, &["--wait-timeout", "120"]);
    let ep = stack
        .start_istio_csr(IstioCsrOptions::new(
            out.join("istioca.crt"),
            "vault-issuer",
        ))
        .await
        .unwrap_or_else(|e| panic!("istio-csr did not start: {e}"));
    let o = crate::common::on_stack(
        &stack,
        "run",
        &out,
        &[
            "--istio-ca-addr",
            &ep.grpc_addr,
            "--istio-ca-server-name",
            &ep.serving_dns_name,
            "--istio-ca-cacert",
            out.join("ca.crt").to_str().expect("UTF-8 path"),
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}", crate::common::describe(&o));
    assert!(
        err.contains("the CA's root file holds the intermediate, not the root"),
        "{err}"
    );
    let r = report(&out);
    assert_eq!(
        check(&r, "istio CA: ROOTCA is ca.crt")["passed"],
        false,
        "{r}"
    );
    stack.down().await;
}
