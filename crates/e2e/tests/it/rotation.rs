//! Rotations on the local stack with the real istio-csr (its chart's Deployment, run by the
//! test as a kubelet would: mounted files updated in place, a restart when the Deployment
//! changes), while a prober keeps doing mutual-TLS handshakes the way Envoy verifies (the
//! chain to the bundle the workload's namespace holds at that moment, and the SPIFFE ID)
//! between a workload whose certificate was issued before the rotation (renewed at half its
//! life, as Istio's agent does) and one issued after each step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use e2e::istio_ca::{IstioCaClient, service_account_token};
use e2e::mtls::{Peer, Workload, handshake, workload_key_and_csr};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use stack::{IstioCsrEndpoint, Stack};

use crate::common::{describe, e2e, run_ok, stack_up, text};
use crate::istio_csr::{args_of, istio_csr_chart};

/// How long the prober's workload certificates live: the old one renews at half of it.
const WORKLOAD_TTL: Duration = Duration::from_secs(20);
const OLD_NS: &str = "foo";
const NEW_NS: &str = "bar";

/// The test's kubelet for istio-csr's Deployment.
struct Kubelet {
    ep: IstioCsrEndpoint,
    generation: i64,
    synced: Instant,
}

impl Kubelet {
    async fn start(stack: &mut Stack) -> Kubelet {
        let ep = stack
            .run_istio_csr_deployment(stack::ISTIO_CSR_NAMESPACE, stack::ISTIO_CSR_DEPLOYMENT)
            .await
            .unwrap_or_else(|e| panic!("running the chart's Deployment: {e}"));
        Kubelet {
            ep,
            generation: generation(stack).await,
            synced: Instant::now(),
        }
    }

    /// Once a second: the mounted files updated; the process restarted when the Deployment
    /// changed (a rollout restart).
    async fn tick(&mut self, stack: &mut Stack) {
        if self.synced.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.synced = Instant::now();
        stack
            .sync_istio_csr_volumes(stack::ISTIO_CSR_NAMESPACE, stack::ISTIO_CSR_DEPLOYMENT)
            .await
            .expect("sync istio-csr's files");
        let g = generation(stack).await;
        if g != self.generation {
            stack.stop_process("istio-csr").await;
            *self = Kubelet::start(stack).await;
        }
    }
}

async fn generation(stack: &Stack) -> i64 {
    let api: Api<Deployment> = Api::namespaced(stack.client(), stack::ISTIO_CSR_NAMESPACE);
    api.get(stack::ISTIO_CSR_DEPLOYMENT)
        .await
        .expect("istio-csr's Deployment")
        .metadata
        .generation
        .unwrap_or_default()
}

/// The roots `ns` trusts now: its `istio-ca-root-cert`.
async fn bundle(stack: &Stack, ns: &str) -> String {
    let maps: Api<ConfigMap> = Api::namespaced(stack.client(), ns);
    maps.get_opt("istio-ca-root-cert")
        .await
        .expect("read ConfigMap")
        .and_then(|c| c.data.unwrap_or_default().remove("root-cert.pem"))
        .unwrap_or_default()
}

fn spiffe(ns: &str) -> String {
    format!("spiffe://cluster.local/ns/{ns}/sa/sleep")
}

/// A workload certificate for `ns/sleep` from istio-csr, reached the way a proxy of `ns`
/// reaches it (trusting its namespace's bundle).
async fn issue(stack: &Stack, ep: &IstioCsrEndpoint, ns: &str) -> Result<Workload, String> {
    let client = stack.client();
    let token = service_account_token(&client, ns, "sleep", "istio-ca", Duration::from_secs(600))
        .await
        .map_err(|e| e.to_string())?;
    let (key_pem, csr) = workload_key_and_csr(&spiffe(ns)).map_err(|e| e.to_string())?;
    let trust = bundle(stack, ns).await;
    let mut ca = IstioCaClient::connect(&ep.grpc_addr, &trust, &ep.serving_dns_name)
        .await
        .map_err(|e| e.to_string())?;
    let chain = ca
        .create_certificate(&csr, &token, WORKLOAD_TTL)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Workload {
        chain_pem: chain,
        key_pem,
    })
}

/// Handshake counts per phase.
#[derive(Debug, Default)]
struct Tally {
    ok: u64,
    failed: u64,
    first_failure: Option<String>,
}

struct Prober {
    old: Workload,
    old_issued: Instant,
    new: Workload,
    tally: BTreeMap<String, Tally>,
    order: Vec<String>,
}

impl Prober {
    async fn new(stack: &Stack, k: &Kubelet) -> Prober {
        Prober {
            old: issue(stack, &k.ep, OLD_NS).await.expect("old workload"),
            old_issued: Instant::now(),
            new: issue(stack, &k.ep, NEW_NS).await.expect("new workload"),
            tally: BTreeMap::new(),
            order: Vec::new(),
        }
    }

    /// The workload issued "after": a new certificate now.
    async fn reissue_new(&mut self, stack: &mut Stack, k: &mut Kubelet) {
        self.new = retry_issue(stack, k, NEW_NS).await;
    }

    /// One round: the old workload renewed when past half its life, then a handshake each way
    /// with the bundles the two namespaces hold now.
    async fn probe(&mut self, stack: &Stack, k: &Kubelet, phase: &str) {
        if self.old_issued.elapsed() >= WORKLOAD_TTL / 2
            && let Ok(w) = issue(stack, &k.ep, OLD_NS).await
        {
            self.old = w;
            self.old_issued = Instant::now();
        }
        let (old_bundle, new_bundle) = (bundle(stack, OLD_NS).await, bundle(stack, NEW_NS).await);
        let (old_id, new_id) = (spiffe(OLD_NS), spiffe(NEW_NS));
        let old = Peer {
            workload: &self.old,
            trust_bundle_pem: &old_bundle,
            peer_id: &new_id,
        };
        let new = Peer {
            workload: &self.new,
            trust_bundle_pem: &new_bundle,
            peer_id: &old_id,
        };
        if !self.tally.contains_key(phase) {
            self.order.push(phase.to_string());
        }
        let t = self.tally.entry(phase.to_string()).or_default();
        for (client, server) in [(&old, &new), (&new, &old)] {
            match handshake(client, server) {
                Ok(()) => t.ok += 1,
                Err(e) => {
                    t.failed += 1;
                    t.first_failure.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }

    fn failed(&self, phase: &str) -> u64 {
        self.tally.get(phase).map(|t| t.failed).unwrap_or(0)
    }

    fn summary(&self) -> String {
        self.order
            .iter()
            .map(|p| {
                let t = &self.tally[p];
                format!(
                    "{p}: {} ok, {} failed{}",
                    t.ok,
                    t.failed,
                    t.first_failure
                        .as_deref()
                        .map(|f| format!(" (first: {f})"))
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// istio-csr may be restarting (or reloading its root file): a certificate within 30 s,
/// the kubelet doing its work meanwhile.
async fn retry_issue(stack: &mut Stack, k: &mut Kubelet, ns: &str) -> Workload {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        k.tick(stack).await;
        match issue(stack, &k.ep, ns).await {
            Ok(w) => return w,
            Err(e) if Instant::now() > deadline => panic!("no certificate for {ns}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

/// `e2e <args>` against the stack, probing while it runs; returns its output.
async fn probing(
    stack: &mut Stack,
    k: &mut Kubelet,
    prober: &mut Prober,
    phase: &str,
    args: &[String],
) -> std::process::Output {
    let mut cmd = tokio::process::Command::from(e2e());
    cmd.args(args)
        .arg("--kubeconfig")
        .arg(stack.kubeconfig_path())
        .env("VAULT_ADDR", stack.vault_addr())
        .env("VAULT_TOKEN", stack.vault_token())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().expect("start e2e");
    prober.probe(stack, k, phase).await;
    let mut done = Box::pin(child.wait_with_output());
    let started = Instant::now();
    loop {
        tokio::select! {
            o = &mut done => {
                let o = o.expect("e2e ran");
                eprintln!("{phase}: {} s", started.elapsed().as_secs_f32());
                return o;
            }
            () = tokio::time::sleep(Duration::from_millis(150)) => {
                k.tick(stack).await;
                prober.probe(stack, k, phase).await;
            }
        }
    }
}

fn rotate_args(what: &str, out: &Path, tools: &[&str], extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec!["rotate".into(), what.into(), "--out".into()];
    v.push(out.display().to_string());
    v.extend(tools.iter().map(|s| s.to_string()));
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn tools(helm: &Path, chart: &Path) -> Vec<String> {
    args_of(helm, chart)
        .iter()
        .map(|s| s.to_string())
        .chain(["--wait-timeout".to_string(), "120".to_string()])
        .collect()
}

/// `e2e rotate <what> --out <out> --kubeconfig <stack's> [extra]` with the stack's OpenBao.
fn rotate_on_stack(stack: &Stack, what: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    e2e()
        .args(["rotate", what, "--out"])
        .arg(out)
        .arg("--kubeconfig")
        .arg(stack.kubeconfig_path())
        .args(extra)
        .env("VAULT_ADDR", stack.vault_addr())
        .env("VAULT_TOKEN", stack.vault_token())
        .output()
        .expect("running e2e rotate")
}

fn helm() -> PathBuf {
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
    let mut stack = stack_up(dir.path()).await;
    let out = dir.path().join("out");
    let (helm, chart) = (helm(), istio_csr_chart());
    let tools = tools(&helm, &chart);
    let tool_args: Vec<&str> = tools.iter().map(String::as_str).collect();
    run_ok(&stack, &out, &tool_args);
    for ns in [OLD_NS, NEW_NS] {
        stack::ensure_namespace(&stack.client(), ns)
            .await
            .expect("namespace");
    }
    let mut k = Kubelet::start(&mut stack).await;
    // istio-csr publishes the root everywhere before the first workload asks.
    for ns in [OLD_NS, NEW_NS] {
        crate::common::published_root(&stack, ns, "istio-csr").await;
    }
    let mut prober = Prober::new(&stack, &k).await;
    let r1 = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");

    // The intermediate.
    let args = rotate_args("intermediate", &out, &tool_args, &[]);
    let o = probing(&mut stack, &mut k, &mut prober, "intermediate", &args).await;
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    prober.reissue_new(&mut stack, &mut k).await;
    prober.probe(&stack, &k, "after intermediate").await;

    // The root, one phase per invocation; phase 4 waits for the old workload to renew.
    let bound = format!("{}s", WORKLOAD_TTL.as_secs());
    let mut phase_secs = Vec::new();
    for phase in [
        "new-root",
        "trust-both",
        "new-intermediate",
        "wait-workloads",
        "retire",
    ] {
        let args = rotate_args(
            "root",
            &out,
            &tool_args,
            &["--until", phase, "--workload-cert-bound", &bound, "--wait"],
        );
        let began = Instant::now();
        let o = probing(&mut stack, &mut k, &mut prober, phase, &args).await;
        phase_secs.push(format!("{phase} {:.1} s", began.elapsed().as_secs_f32()));
        assert_eq!(o.status.code(), Some(0), "{phase}: {}", describe(&o));
        prober.reissue_new(&mut stack, &mut k).await;
        for _ in 0..5 {
            k.tick(&mut stack).await;
            prober.probe(&stack, &k, &format!("after {phase}")).await;
        }
        if phase == "trust-both" {
            // Mid-rotation the doctor expects the overlap bundle, not the root alone.
            let o = crate::common::on_stack(&stack, "doctor", &out, &tool_args);
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
    }
    eprintln!("phases: {}", phase_secs.join(", "));
    eprintln!("handshakes:\n{}", prober.summary());
    let total_failed: u64 = prober.tally.values().map(|t| t.failed).sum();
    assert_eq!(total_failed, 0, "{}", prober.summary());
    assert!(
        prober.tally.values().all(|t| t.ok > 0),
        "every phase was probed: {}",
        prober.summary()
    );

    // Afterwards: R2 everywhere, R1 nowhere; a plain run changes nothing.
    let r2 = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");
    assert!(!e2e::verify::same_cert(&r1, &r2), "ca.crt is the new root");
    let foo = bundle(&stack, OLD_NS).await;
    assert!(e2e::certs::bundle_contains(&foo, &r2) && !e2e::certs::bundle_contains(&foo, &r1));
    assert!(!out.join("trust-bundle.pem").exists());
    let o = run_ok(&stack, &out, &tool_args);
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
    let (r3, k3) = {
        let g =
            vault_pki::generate_root_ca("one step", Duration::from_secs(87600 * 3600)).expect("R3");
        (g.cert_pem, g.key_pem)
    };
    std::fs::write(dir.path().join("r3.crt"), &r3).expect("r3");
    std::fs::write(dir.path().join("r3.key"), k3.expose_secret()).expect("r3 key");
    let mut swap: Vec<String> = vec!["run".into(), "--out".into(), out.display().to_string()];
    swap.extend(tools.iter().cloned());
    swap.extend([
        "--root-ca-cert".into(),
        dir.path().join("r3.crt").display().to_string(),
        "--root-ca-key".into(),
        dir.path().join("r3.key").display().to_string(),
        "--replace-root".into(),
    ]);
    let o = probing(&mut stack, &mut k, &mut prober, "one-step swap", &swap).await;
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    prober.new = retry_issue(&mut stack, &mut k, NEW_NS).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while prober.failed("after one-step swap") == 0 && Instant::now() < deadline {
        k.tick(&mut stack).await;
        prober.probe(&stack, &k, "after one-step swap").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("handshakes:\n{}", prober.summary());
    assert!(
        prober.failed("after one-step swap") > 0,
        "the prober must see the outage a one-step swap causes: {}",
        prober.summary()
    );
    stack.down().await;
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
    let o = rotate_on_stack(&stack, "secret-id", &out, &tool_args);
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
        after["secret_id"].as_str().unwrap()
    );
    // A second rotation works the same (cron).
    let o = rotate_on_stack(&stack, "secret-id", &out, &tool_args);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    stack.down().await;
}
