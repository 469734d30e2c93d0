//! Two local clusters (each its own etcd, kube-apiserver, cert-manager and the real istio-csr
//! from its chart) and one OpenBao, set up by one `e2e fleet run`: a workload certificate that
//! east's istio-csr issues verifies under the bundle west publishes, and a mutual-TLS
//! handshake between a workload of each succeeds, while one from a foreign root fails.

use std::time::Duration;

use e2e::istio_ca::{IstioCaClient, service_account_token};
use e2e::mtls::{Peer, Workload, handshake, workload_key_and_csr, workloads_of_new_root};
use stack::Stack;

use crate::common::{describe, e2e, published_root};
use crate::istio_csr::istio_csr_chart;

/// A workload certificate for `namespace/sleep` from the cluster's istio-csr at `ep`.
async fn workload(
    stack: &Stack,
    ep: &stack::IstioCsrEndpoint,
    root_pem: &str,
    namespace: &str,
) -> (String, Workload) {
    let client = stack.client();
    stack::ensure_namespace(&client, namespace)
        .await
        .expect("namespace");
    let id = format!("spiffe://cluster.local/ns/{namespace}/sa/sleep");
    let token = service_account_token(
        &client,
        namespace,
        "sleep",
        "istio-ca",
        Duration::from_secs(600),
    )
    .await
    .expect("TokenRequest");
    let (key_pem, csr) = workload_key_and_csr(&id).expect("key and CSR");
    let mut ca = IstioCaClient::connect(&ep.grpc_addr, root_pem, &ep.serving_dns_name)
        .await
        .expect("connect to istio-csr");
    let chain = ca
        .create_certificate(&csr, &token, Duration::from_secs(3600))
        .await
        .expect("CreateCertificate");
    assert!(chain.len() >= 2, "leaf and intermediate: {chain:?}");
    (
        id,
        Workload {
            chain_pem: chain,
            key_pem,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workloads_of_two_clusters_under_one_root_trust_each_other_and_not_a_foreign_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut east = crate::common::stack_up_in(&dir.path().join("east"), true).await;
    let mut west = crate::common::stack_up_in(&dir.path().join("west"), false).await;
    let helm = stack::default_bin_dir().join("helm");
    assert!(
        helm.is_file(),
        "no helm at {} (crates/stack/build-stack.sh builds it)",
        helm.display()
    );
    let file = crate::common::two_cluster_fleet(dir.path(), &east, &west);
    let out = dir.path().join("out");
    let o = e2e()
        .args(["fleet", "run", "--fleet"])
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .arg("--helm")
        .arg(&helm)
        .arg("--istio-csr-chart")
        .arg(istio_csr_chart())
        .env("VAULT_ADDR", east.vault_addr())
        .env("VAULT_TOKEN", east.vault_token())
        .output()
        .expect("e2e fleet run");
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let root = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");

    // Each cluster runs the Deployment istio-csr's chart created there.
    let ep_east = east
        .run_istio_csr_deployment("cert-manager", "cert-manager-istio-csr")
        .await
        .unwrap_or_else(|e| panic!("east's istio-csr: {e}"));
    let ep_west = west
        .run_istio_csr_deployment("cert-manager", "cert-manager-istio-csr")
        .await
        .unwrap_or_else(|e| panic!("west's istio-csr: {e}"));
    let (east_id, east_wl) = workload(&east, &ep_east, &root, "shop").await;
    let (west_id, west_wl) = workload(&west, &ep_west, &root, "pay").await;
    assert!(
        !e2e::verify::same_cert(&east_wl.chain_pem[1], &west_wl.chain_pem[1]),
        "each cluster signs with its own intermediate"
    );

    // What each cluster publishes to its workloads: the one root.
    let east_bundle = published_root(&east, "shop", "istio-csr").await;
    let west_bundle = published_root(&west, "pay", "istio-csr").await;
    assert!(e2e::verify::same_cert(&west_bundle, &root), "{west_bundle}");
    let now = rustls_pki_types::UnixTime::now();
    assert_eq!(
        e2e::verify::chains_to(
            &east_wl.chain_pem[0],
            &[&east_wl.chain_pem[1]],
            &west_bundle,
            now
        ),
        Ok(()),
        "east's workload verifies under west's bundle"
    );

    // Mutual TLS, each side with its own cluster's bundle and the peer's SPIFFE ID.
    let client = Peer {
        workload: &east_wl,
        trust_bundle_pem: &east_bundle,
        peer_id: &west_id,
    };
    let server = Peer {
        workload: &west_wl,
        trust_bundle_pem: &west_bundle,
        peer_id: &east_id,
    };
    handshake(&client, &server).expect("east -> west");
    handshake(
        &Peer {
            workload: &west_wl,
            trust_bundle_pem: &west_bundle,
            peer_id: &east_id,
        },
        &Peer {
            workload: &east_wl,
            trust_bundle_pem: &east_bundle,
            peer_id: &west_id,
        },
    )
    .expect("west -> east");

    // The same identity from a foreign root is refused.
    let (_, mut strangers) = workloads_of_new_root(&[&east_id]).expect("a foreign root");
    let stranger = strangers.remove(0);
    let e = handshake(
        &Peer {
            workload: &stranger,
            trust_bundle_pem: &east_bundle,
            peer_id: &west_id,
        },
        &server,
    )
    .expect_err("a foreign root");
    assert!(e.to_string().contains("does not verify"), "{e}");
    west.down().await;
    east.down().await;
}
