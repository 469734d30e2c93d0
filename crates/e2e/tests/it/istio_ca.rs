//! A workload certificate from Istio's CA API on the local stack (issue 6): after `e2e run`,
//! istiod (the real `pilot-discovery`, in its Kubernetes RA mode, serving with the
//! `istiod-tls` certificate cert-manager issued through our Vault Issuer) answers the gRPC
//! `CreateCertificate` of a Rust client (tonic) that authenticates with a TokenRequest token
//! for `foo/sleep`, audience `istio-ca`. The CSR goes to cert-manager's Vault signer as a
//! Kubernetes CertificateSigningRequest, and the chain that comes back must lead to the
//! intermediate and end with `ca.crt`: the seed's `ROOTCA` check, done by a program. istiod
//! then publishes the root in ConfigMap `istio-ca-root-cert` in `foo`.
//! istio-csr serves the same API, but the Go module proxy does not serve istio-csr here.

use std::time::Duration;

use e2e::istio_ca::{IstioCaClient, IstioCaError, service_account_token};
use stack::IstiodOptions;

use crate::common::{on_stack, run_ok, stack_up};

const SIGNER: &str = "issuers.cert-manager.io/istio-system.vault-issuer";

/// Every PEM certificate in the answer, in order (istiod sends the leaf and the intermediate
/// in one string, and the root last).
fn certs_of(chain: &[String]) -> Vec<String> {
    chain
        .iter()
        .flat_map(|s| pem::parse_many(s).expect("PEM in the answer"))
        .map(|p| pem::encode(&p))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_certificate_from_istios_ca_api_chains_to_our_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut stack = stack_up(dir.path()).await;
    let out = dir.path().join("out");
    run_ok(&stack, &out, &["--wait-timeout", "120"]);
    let ca = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");
    let inter = std::fs::read_to_string(out.join("istioca.crt")).expect("istioca.crt");

    // cert-manager issues istiod's serving certificate through the Vault Issuer (Secret
    // istiod-tls, as istio-csr has it issued in the seed flow).
    let (tls_crt, tls_key) = stack
        .issue_istiod_tls("istio-system", "vault-issuer", "cluster.local")
        .await
        .unwrap_or_else(|e| panic!("istiod's certificate: {e}"));
    let istiod = stack
        .start_istiod(IstiodOptions::new(ca.clone(), tls_crt, tls_key, SIGNER))
        .await
        .unwrap_or_else(|e| panic!("istiod did not start: {e}"));

    // The Istio agent's call, made by our client.
    let client = stack.client();
    let token = service_account_token(
        &client,
        "foo",
        "sleep",
        "istio-ca",
        Duration::from_secs(600),
    )
    .await
    .expect("TokenRequest");
    let identity = e2e::verify::workload_identity("cluster.local");
    let csr = e2e::verify::workload_csr(&identity).expect("CSR");
    let mut ca_client = IstioCaClient::connect(&istiod.grpc_addr, &ca, &istiod.serving_dns_name)
        .await
        .expect("connect to istiod");
    let chain = ca_client
        .create_certificate(&csr, &token, Duration::from_secs(3600))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateCertificate: {e}; logs {} {}",
                stack.log_path("istiod").display(),
                stack.log_path("cert-manager").display()
            )
        });
    let certs = certs_of(&chain);
    assert!(certs.len() >= 3, "leaf, intermediate, root: {certs:?}");
    let leaf = &certs[0];
    assert_eq!(e2e::verify::uri_sans(leaf), Ok(vec![identity.clone()]));
    let now = rustls_pki_types::UnixTime::now();
    assert_eq!(
        e2e::verify::chains_to(leaf, &[&inter], &ca, now),
        Ok(()),
        "the workload certificate chains to ca.crt through istioca.crt"
    );
    assert!(
        e2e::verify::same_cert(&certs[1], &inter),
        "the next certificate is the intermediate"
    );
    assert!(
        e2e::verify::same_cert(certs.last().expect("root"), &ca),
        "ROOTCA: the chain's last certificate is ca.crt"
    );

    // A token for another audience is refused, in the CA's words.
    let wrong = service_account_token(
        &client,
        "foo",
        "sleep",
        "not-istio",
        Duration::from_secs(600),
    )
    .await
    .expect("TokenRequest");
    match ca_client
        .create_certificate(&csr, &wrong, Duration::from_secs(3600))
        .await
    {
        Err(IstioCaError::Refused { code, .. }) => assert_eq!(code, "Unauthenticated"),
        other => panic!("a token for the wrong audience got {other:?}"),
    }

    // `e2e run --istio-ca-addr` makes the same call and checks the same things.
    crate::common::run_through_ca(
        &stack,
        &out,
        &istiod.grpc_addr,
        &istiod.serving_dns_name,
        "istiod",
    );
    // A server name its certificate does not carry: exit 1, naming the step and the name.
    let o = on_stack(
        &stack,
        "run",
        &out,
        &[
            "--istio-ca-addr",
            &istiod.grpc_addr,
            "--istio-ca-server-name",
            "wrong.example",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("verify: istio CA") && err.contains("wrong.example"),
        "{err}"
    );

    // istiod publishes the root to every namespace.
    let root_in_map = crate::common::published_root(&stack, "foo", "istiod").await;
    assert!(
        e2e::verify::same_cert(&root_in_map, &ca),
        "istio-ca-root-cert holds ca.crt: {root_in_map}"
    );
    stack.down().await;
}
