//! What the e2e integration tests share: the binary with a clean environment, runs against a
//! local stack, and reading the report.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use stack::{Stack, StackConfig};

/// The binary with a clean environment: no Vault or cluster settings leak in from the caller.
pub fn e2e() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_e2e"));
    for v in [
        "VAULT_ADDR",
        "VAULT_TOKEN",
        "VAULT_CACERT",
        "VAULT_NAMESPACE",
        "KUBECONFIG",
        "E2E_LOG",
        "E2E_HELM",
        "E2E_ISTIO_CSR_CHART",
        "E2E_AUTH",
    ] {
        c.env_remove(v);
    }
    c
}

/// [`e2e`] with `server`'s address and root token in its environment.
pub fn e2e_against(server: &vault_pki::dev_server::DevServer) -> Command {
    let mut c = e2e();
    c.env("VAULT_ADDR", server.addr())
        .env("VAULT_TOKEN", server.root_token().expose_secret());
    c
}

/// A throwaway OpenBao dev server; panics, naming how to get `bao`, when it cannot start.
pub fn dev_server() -> vault_pki::dev_server::DevServer {
    use vault_pki::dev_server::{DevServer, DevServerOptions};
    DevServer::start(DevServerOptions::default()).unwrap_or_else(|e| {
        panic!("starting OpenBao (run scripts/install-openbao.sh or set BAO_BIN): {e}")
    })
}

/// A token for `server` whose only policy (`name`) grants every right on `paths` (plus reading
/// `sys/mounts`, `sys/mounts/*` and the other `read_only` paths): a setup with it stops at the
/// first step that needs more.
pub async fn limited_token(
    server: &vault_pki::dev_server::DevServer,
    name: &str,
    paths: &[&str],
) -> vault_pki::LoginToken {
    use vault_pki::{Capability, PkiClient, Policy, VaultConfig};
    let root =
        PkiClient::new(VaultConfig::new(server.addr()).with_token(server.root_token().clone()))
            .expect("client");
    let all = [
        Capability::Create,
        Capability::Read,
        Capability::Update,
        Capability::List,
        Capability::Sudo,
    ];
    let mut policy = Policy::new();
    for p in paths {
        policy = if p.contains('*') {
            policy.path(*p, all)
        } else {
            policy.path(*p, [Capability::Read])
        };
    }
    root.write_policy(name, &policy).await.expect("policy");
    root.create_token(&[name.into()], std::time::Duration::from_secs(600))
        .await
        .expect("token")
}

/// A local stack in `dir/stack`; panics, naming the build script, when it cannot start.
pub async fn stack_up(dir: &Path) -> Stack {
    Stack::up(StackConfig::new(dir.join("stack")))
        .await
        .unwrap_or_else(|e| panic!("Stack::up failed (build it with scripts/build-stack.sh): {e}"))
}

/// A local stack in `dir` (its own OpenBao or not); panics, naming the build script, when it
/// cannot start.
pub async fn stack_up_in(dir: &Path, openbao: bool) -> Stack {
    let mut cfg = StackConfig::new(dir);
    cfg.openbao = openbao;
    Stack::up(cfg).await.unwrap_or_else(|e| {
        panic!("Stack::up failed (build it with crates/stack/build-stack.sh): {e}")
    })
}

/// `dir/fleet.yaml`: a generated root and two clusters, `east` and `west`, on these stacks.
pub fn two_cluster_fleet(dir: &Path, east: &Stack, west: &Stack) -> std::path::PathBuf {
    let file = dir.join("fleet.yaml");
    std::fs::write(
        &file,
        format!(
            "root: {{}}\nclusters:\n- name: east\n  kubeconfig: {}\n- name: west\n  kubeconfig: {}\n",
            east.kubeconfig_path().display(),
            west.kubeconfig_path().display()
        ),
    )
    .expect("fleet file");
    file
}

/// `e2e <command> --out <out> --kubeconfig <stack's> [extra]` with the stack's OpenBao
/// (`command` may be several words: `rotate secret-id`).
pub fn on_stack(stack: &Stack, command: &str, out: &Path, extra: &[&str]) -> Output {
    e2e()
        .args(command.split_whitespace())
        .arg("--out")
        .arg(out)
        .arg("--kubeconfig")
        .arg(stack.kubeconfig_path())
        .args(extra)
        .env("VAULT_ADDR", stack.vault_addr())
        .env("VAULT_TOKEN", stack.vault_token())
        .output()
        .expect("running e2e")
}

/// [`on_stack`] `run`, which must succeed; returns its output.
pub fn run_ok(stack: &Stack, out: &Path, extra: &[&str]) -> Output {
    let o = on_stack(stack, "run", out, extra);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\ncert-manager log: {}",
        describe(&o),
        stack.log_path("cert-manager").display()
    );
    o
}

/// Text of an output stream.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Exit code, stdout and stderr, for assertion messages.
pub fn describe(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    )
}

/// `<out>/report.json`.
pub fn report(out: &Path) -> Value {
    let s = std::fs::read_to_string(out.join("report.json")).expect("report.json");
    serde_json::from_str(&s).expect("report.json is JSON")
}

/// The report's step named `name`.
pub fn step<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {r}"))
}

/// The report's check named `name`.
pub fn check<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["verification"]
        .as_array()
        .expect("verification")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {r}"))
}

/// The `istio CA: …` checks of a report.
pub fn istio_ca_checks(r: &Value) -> Vec<&Value> {
    r["verification"]
        .as_array()
        .expect("verification")
        .iter()
        .filter(|c| c["name"].as_str().unwrap_or("").starts_with("istio CA: "))
        .collect()
}

/// Waits (60 s at most) for the Istio CA's `istio-ca-root-cert` ConfigMap in `ns` and returns
/// its `root-cert.pem`; `component` names the log to look at when it does not come.
pub async fn published_root(stack: &Stack, ns: &str, component: &str) -> String {
    use k8s_openapi::api::core::v1::ConfigMap;
    use std::time::{Duration, Instant};
    let maps: kube::Api<ConfigMap> = kube::Api::namespaced(stack.client(), ns);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(cm) = maps
            .get_opt("istio-ca-root-cert")
            .await
            .expect("read ConfigMap")
            && let Some(pem) = cm.data.unwrap_or_default().get("root-cert.pem")
        {
            return pem.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no istio-ca-root-cert in {ns}; log {}",
            stack.log_path(component).display()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// `e2e run` through the Istio CA at `addr` (TLS name `server_name`), which must succeed with
/// its three `istio CA: …` checks passing; `component` names the CA's log for the message.
pub fn run_through_ca(stack: &Stack, out: &Path, addr: &str, server_name: &str, component: &str) {
    run_ok(
        stack,
        out,
        &[
            "--istio-ca-addr",
            addr,
            "--istio-ca-server-name",
            server_name,
        ],
    );
    let r = report(out);
    let checks = istio_ca_checks(&r);
    assert_eq!(checks.len(), 3, "{r}");
    assert!(
        checks.iter().all(|c| c["passed"] == true),
        "{checks:?}; log {}",
        stack.log_path(component).display()
    );
}
