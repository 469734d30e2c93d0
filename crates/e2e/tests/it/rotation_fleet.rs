//! A fleet's root rotated across two local clusters (each its own etcd, kube-apiserver,
//! cert-manager and istio-csr from its chart; one OpenBao) while the prober does handshakes
//! between a workload of east (issued before) and one of west (issued after each phase):
//! every phase is done in both clusters before the next starts, so none fails.

use crate::common::{describe, e2e};
use crate::istio_csr::istio_csr_chart;
use crate::probe::{Cluster, Prober};
use crate::rotation::helm;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_root_rotation_keeps_every_handshake_between_two_clusters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let east = crate::common::stack_up_in(&dir.path().join("east"), true).await;
    let west = crate::common::stack_up_in(&dir.path().join("west"), false).await;
    let file = crate::common::two_cluster_fleet(dir.path(), &east, &west);
    let out = dir.path().join("out");
    let (helm, chart) = (helm(), istio_csr_chart());
    let common: Vec<String> = vec![
        "--fleet".into(),
        file.display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--helm".into(),
        helm.display().to_string(),
        "--istio-csr-chart".into(),
        chart.display().to_string(),
    ];
    let (addr, token) = (
        east.vault_addr().to_string(),
        east.vault_token().to_string(),
    );
    let env = [
        ("VAULT_ADDR", addr.as_str()),
        ("VAULT_TOKEN", token.as_str()),
    ];
    let o = e2e()
        .args(["fleet", "run"])
        .args(&common)
        .envs(env)
        .output()
        .expect("e2e fleet run");
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let r1 = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");

    let mut clusters = vec![Cluster::start(east).await, Cluster::start(west).await];
    let mut prober = Prober::new(&mut clusters).await;
    prober
        .rotate_root_by_phase(&mut clusters, &common, &env, |_, _| {})
        .await;

    // Both clusters trust R2 only, and the fleet's files say R2.
    let r2 = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");
    assert!(!e2e::verify::same_cert(&r1, &r2));
    for (c, name) in clusters.iter().zip(["east", "west"]) {
        let b = c.bundle(crate::probe::OLD_NS).await;
        assert!(
            e2e::certs::bundle_contains(&b, &r2) && !e2e::certs::bundle_contains(&b, &r1),
            "{name}: {b}"
        );
        let own = std::fs::read_to_string(out.join(name).join("ca.crt")).expect("ca.crt");
        assert!(e2e::verify::same_cert(&own, &r2), "{name}'s ca.crt");
    }
    let o = e2e()
        .args(["fleet", "run"])
        .args(&common)
        .envs(env)
        .output()
        .expect("e2e fleet run");
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    for c in clusters {
        c.stack.down().await;
    }
}
