//! Rotations on the local stack with the real istio-csr, while [`crate::probe`]'s prober keeps
//! doing mutual-TLS handshakes between a workload whose certificate was issued before the
//! rotation and one issued after each step; and a secret-id rotation.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kube::Api;

use crate::common::{describe, run_ok, stack_up, text};
use crate::istio_csr::{args_of, istio_csr_chart};
use crate::probe::{Cluster, OLD_NS, Prober};

/// `rotate <what> --out <out> [tools] [extra]`.
pub fn rotate_args(what: &str, out: &Path, tools: &[&str], extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec!["rotate".into(), what.into(), "--out".into()];
    v.push(out.display().to_string());
    v.extend(tools.iter().map(|s| s.to_string()));
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// helm, istio-csr's chart and a 120 s bound on waits, as flags.
pub fn tools(helm: &Path, chart: &Path) -> Vec<String> {
    args_of(helm, chart)
        .iter()
        .map(|s| s.to_string())
        .chain(["--wait-timeout".to_string(), "120".to_string()])
        .collect()
}

/// The stack's helm build.
pub fn helm() -> PathBuf {
    let helm = stack::default_bin_dir().join("helm");
    assert!(
        helm.is_file(),
        "no helm at {} (crates/stack/build-stack.sh builds it)",
        helm.display()
    );
    helm
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intermediate_and_root_rotations_keep_every_handshake_and_a_one_step_root_swap_breaks_them()
{
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = stack_up(dir.path()).await;
    let out = dir.path().join("out");
    let (helm, chart) = (helm(), istio_csr_chart());
    let tools = tools(&helm, &chart);
    let tool_args: Vec<&str> = tools.iter().map(String::as_str).collect();
    run_ok(&stack, &out, &tool_args);
    let r1 = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");
    let kubeconfig = stack.kubeconfig_path().display().to_string();
    let (addr, token) = (
        stack.vault_addr().to_string(),
        stack.vault_token().to_string(),
    );
    let env = [
        ("VAULT_ADDR", addr.as_str()),
        ("VAULT_TOKEN", token.as_str()),
    ];
    let on_cluster = |mut v: Vec<String>| {
        v.extend(["--kubeconfig".to_string(), kubeconfig.clone()]);
        v
    };
    let mut clusters = vec![Cluster::start(stack).await];
    let mut prober = Prober::new(&mut clusters).await;

    // The intermediate.
    let args = on_cluster(rotate_args("intermediate", &out, &tool_args, &[]));
    let o = prober
        .around(&mut clusters, "intermediate", &args, &env)
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));

    // The root, one phase per invocation; phase 4 waits for the old workload to renew.
    let base = on_cluster(rotate_args("root", &out, &tool_args, &[]))[2..].to_vec();
    prober
        .rotate_root_by_phase(&mut clusters, &base, &env, |phase, clusters| {
            if phase == "trust-both" {
                // Mid-rotation the doctor expects the overlap bundle, not the root alone.
                let o = crate::common::on_stack(&clusters[0].stack, "doctor", &out, &tool_args);
                assert_eq!(
                    o.status.code(),
                    Some(0),
                    "doctor mid-rotation: {}",
                    describe(&o)
                );
                assert!(
                    describe(&o).contains("trust-bundle.pem"),
                    "{}",
                    describe(&o)
                );
            }
        })
        .await;

    // Afterwards: R2 everywhere, R1 nowhere; a plain run changes nothing.
    let r2 = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");
    assert!(!e2e::verify::same_cert(&r1, &r2), "ca.crt is the new root");
    let foo = clusters[0].bundle(OLD_NS).await;
    assert!(e2e::certs::bundle_contains(&foo, &r2) && !e2e::certs::bundle_contains(&foo, &r1));
    assert!(!out.join("trust-bundle.pem").exists());
    let o = run_ok(&clusters[0].stack, &out, &tool_args);
    let r = crate::common::report(&out);
    let changed: Vec<&serde_json::Value> = r["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["outcome"] != "unchanged" && s["outcome"] != "skipped")
        .filter(|s| !s["name"].as_str().unwrap_or("").starts_with("istio-csr"))
        .collect();
    assert!(changed.is_empty(), "{changed:?}\n{}", text(&o.stderr));

    // The failure this prevents: the root swapped in one step (a new root given with
    // --replace-root, so bundle and signer change at once).
    let g = vault_pki::generate_root_ca("one step", Duration::from_secs(87600 * 3600)).expect("R3");
    std::fs::write(dir.path().join("r3.crt"), &g.cert_pem).expect("r3");
    std::fs::write(dir.path().join("r3.key"), g.key_pem.expose_secret()).expect("r3 key");
    let mut swap: Vec<String> = vec!["run".into(), "--out".into(), out.display().to_string()];
    swap.extend(tools.iter().cloned());
    swap.extend([
        "--root-ca-cert".into(),
        dir.path().join("r3.crt").display().to_string(),
        "--root-ca-key".into(),
        dir.path().join("r3.key").display().to_string(),
        "--replace-root".into(),
    ]);
    let o = prober
        .around(&mut clusters, "one-step swap", &on_cluster(swap), &env)
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let deadline = Instant::now() + Duration::from_secs(30);
    while prober.failed("after one-step swap") == 0 && Instant::now() < deadline {
        prober.probe(&mut clusters, "after one-step swap").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("handshakes:\n{}", prober.summary());
    assert!(
        prober.failed("after one-step swap") > 0,
        "the prober must see the outage a one-step swap causes: {}",
        prober.summary()
    );
    for c in clusters {
        c.stack.down().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_id_rotation_keeps_the_issuer_ready_and_the_old_secret_id_no_longer_logs_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = stack_up(dir.path()).await;
    let out = dir.path().join("out");
    let (helm, chart) = (helm(), istio_csr_chart());
    let tools = tools(&helm, &chart);
    let tool_args: Vec<&str> = tools.iter().map(String::as_str).collect();
    run_ok(&stack, &out, &tool_args);
    let state = |out: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join("e2e-state.json")).expect("state"))
            .expect("JSON")
    };
    let before = state(&out);
    let o = crate::common::on_stack(&stack, "rotate secret-id", &out, &tool_args);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let after = state(&out);
    assert_ne!(before["secret_id_accessor"], after["secret_id_accessor"]);

    // The old secret-id no longer logs in; the new one does.
    let vault = vault_pki::PkiClient::new(
        vault_pki::VaultConfig::new(stack.vault_addr())
            .with_token(vault_pki::SecretString::new(stack.vault_token())),
    )
    .expect("client");
    use certmanager_types::seed;
    let role_id = after["role_id"].as_str().expect("role_id");
    let login = |sid: &str| {
        let vault = vault.clone();
        let sid = vault_pki::SecretString::new(sid);
        let role_id = role_id.to_string();
        async move {
            vault
                .approle_login(seed::APPROLE_MOUNT, &role_id, &sid)
                .await
        }
    };
    assert!(
        login(before["secret_id"].as_str().expect("old"))
            .await
            .is_err()
    );
    assert!(
        login(after["secret_id"].as_str().expect("new"))
            .await
            .is_ok()
    );

    // The Issuer is Ready, and the Secret in the cluster holds the new secret-id.
    let issuers: Api<certmanager_types::Issuer> = Api::namespaced(stack.client(), seed::NAMESPACE);
    let issuer = issuers.get(seed::ISSUER_NAME).await.expect("Issuer");
    assert!(issuer.is_ready(), "{:?}", issuer.status);
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(stack.client(), seed::NAMESPACE);
    let s = secrets
        .get(seed::APPROLE_SECRET_NAME)
        .await
        .expect("Secret");
    let held = s.data.unwrap_or_default()[certmanager_types::APPROLE_SECRET_KEY]
        .0
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&held),
        after["secret_id"].as_str().expect("as recorded")
    );
    // A second rotation works the same (cron).
    let o = crate::common::on_stack(&stack, "rotate secret-id", &out, &tool_args);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    stack.down().await;
}
