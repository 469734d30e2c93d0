//! `e2e stack up`, then `e2e run --kubeconfig` with istio-csr's real chart, is all it takes: the
//! stack's kubelet stand-in notices the Deployment the chart created and runs it, updates the
//! files of a Secret it mounts in place when the Secret changes (the process keeps running, as
//! istio-csr reloads its root file itself), restarts it when the Deployment changes, and
//! `e2e stack down` stops it with the rest.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams};
use stack::StackState;

use crate::common::{describe, e2e, text};

/// The `export NAME=value` lines of `stack up`/`stack env`, with `$(cat file)` read.
fn exports(stdout: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for line in stdout.lines() {
        let Some((k, v)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) else {
            continue;
        };
        let v = v.trim_matches('\'');
        let v = match v
            .strip_prefix("\"$(cat ")
            .and_then(|r| r.strip_suffix(")\""))
        {
            Some(file) => std::fs::read_to_string(file.trim_matches('\''))
                .expect("token file")
                .trim()
                .to_string(),
            None => v.to_string(),
        };
        m.insert(k.to_string(), v);
    }
    m
}

fn run(env: &BTreeMap<String, String>, out: &Path, extra: &[&str]) -> Output {
    let mut c = e2e();
    // The helm and chart `stack up` exported, as a shell that sourced its output would pass.
    for k in ["E2E_HELM", "E2E_ISTIO_CSR_CHART"] {
        if let Some(v) = env.get(k) {
            c.env(k, v);
        }
    }
    c.arg("run")
        .arg("--out")
        .arg(out)
        .arg("--kubeconfig")
        .arg(&env["KUBECONFIG"])
        .args(extra)
        .env("VAULT_ADDR", &env["VAULT_ADDR"])
        .env("VAULT_TOKEN", &env["VAULT_TOKEN"])
        .output()
        .expect("running e2e")
}

/// The first file named `name` under `dir`.
fn find_file(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find_file(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

/// Waits until the state file records a running istio-csr other than `not`; its pid and port.
fn wait_istio_csr(dir: &Path, not: Option<u32>) -> (u32, u16) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(s) = StackState::load(dir)
            && let Some(p) = s
                .processes
                .iter()
                .find(|p| p.name == "istio-csr" && p.is_running() && Some(p.pid) != not)
            && let Some(port) = s.ports.get("istio-csr")
        {
            return (p.pid, *port);
        }
        assert!(
            Instant::now() < deadline,
            "the kubelet ran no istio-csr; its log: {}",
            std::fs::read_to_string(dir.join("kubelet.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_up_then_run_with_the_chart_runs_istio_csr_and_down_stops_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("stack");
    let up = e2e()
        .args(["stack", "up", "--dir"])
        .arg(&dir)
        .output()
        .expect("e2e stack up");
    assert_eq!(up.status.code(), Some(0), "{}", describe(&up));
    let env = exports(&text(&up.stdout));

    assert!(
        env.contains_key("E2E_HELM") && env.contains_key("E2E_ISTIO_CSR_CHART"),
        "{env:?}"
    );
    let out = tmp.path().join("out");
    // `. <(e2e stack up)` then `e2e run --kubeconfig "$KUBECONFIG"`: nothing more.
    let o = run(&env, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert!(
        text(&o.stderr).contains("helm upgrade --install"),
        "{}",
        describe(&o)
    );

    // The kubelet runs the chart's Deployment; the workload certificate comes from it.
    let (pid, port) = wait_istio_csr(&dir, None);
    let addr = format!("127.0.0.1:{port}");
    let o = run(
        &env,
        &out,
        &[
            "--istio-ca-addr",
            addr.as_str(),
            "--istio-ca-server-name",
            "cert-manager-istio-csr.cert-manager.svc",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));

    // A change to a Secret the pod mounts: its file is replaced in place, the process stays.
    let client = stack::client_for(Path::new(&env["KUBECONFIG"]))
        .await
        .expect("client");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "cert-manager");
    let root = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");
    let changed = format!("{root}\n");
    secrets
        .patch(
            "istio-root-ca",
            &PatchParams::apply("kubelet-test"),
            &Patch::Merge(serde_json::json!({"stringData": {"ca.cert.pem": changed}})),
        )
        .await
        .expect("change istio-root-ca");
    let file = find_file(&dir.join("pods"), "ca.cert.pem").expect("the mounted root file");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&file).unwrap_or_default() != changed {
        assert!(
            Instant::now() < deadline,
            "{} was not updated",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let (same_pid, _) = wait_istio_csr(&dir, None);
    assert_eq!(same_pid, pid, "a Secret change does not restart istio-csr");

    // A change to the Deployment (what `kubectl rollout restart` does) restarts it.
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client, "cert-manager");
    deployments
        .patch(
            "cert-manager-istio-csr",
            &PatchParams::default(),
            &Patch::Merge(
                serde_json::json!({"spec": {"template": {"metadata": {"annotations": {
                    "kubectl.kubernetes.io/restartedAt": "2026-12-02T00:00:00Z"
                }}}}}),
            ),
        )
        .await
        .expect("restart the Deployment");
    let (new_pid, _) = wait_istio_csr(&dir, Some(pid));
    assert_ne!(new_pid, pid);

    // `stack down` stops the kubelet and what it started.
    let state = StackState::load(&dir).expect("state");
    let down = e2e()
        .args(["stack", "down", "--dir"])
        .arg(&dir)
        .output()
        .expect("e2e stack down");
    assert_eq!(down.status.code(), Some(0), "{}", describe(&down));
    std::thread::sleep(Duration::from_millis(500));
    for p in &state.processes {
        assert!(!p.is_running(), "{} (pid {}) still runs", p.name, p.pid);
    }
}
