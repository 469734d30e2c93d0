//! `e2e run` / `e2e plan` as a user runs them: the real binary (its own process) against a
//! throwaway OpenBao dev server. Fails, never skips, when `bao` is missing (run
//! scripts/install-openbao.sh or set BAO_BIN). Long because it is the command's whole surface
//! as a user meets it (flags, files, exit codes, plan, idempotence), one scenario per test.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::{describe, dev_server, e2e, limited_token, report, text};
use vault_pki::dev_server::{DevServer, DevServerOptions};
use vault_pki::{PkiClient, VaultConfig};

/// `e2e <cmd> --out <out> [extra]` against `server`, the token passed by environment.
fn run_against(server: &DevServer, cmd: &str, out: &Path, extra: &[&str]) -> Output {
    e2e()
        .arg(cmd)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("VAULT_ADDR", server.addr())
        .env("VAULT_TOKEN", server.root_token().expose_secret())
        .output()
        .expect("running the e2e binary")
}

/// The files a second run must leave byte for byte as they are (keys and secrets included).
fn kept_files(out: &Path) -> Vec<Vec<u8>> {
    [
        "ca.crt",
        "ca.key",
        "istioca.key",
        "istioca.crt",
        "istioca.csr",
        "vault-secret.yaml",
    ]
    .iter()
    .map(|f| std::fs::read(out.join(f)).unwrap_or_else(|e| panic!("{f}: {e}")))
    .collect()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

fn outcomes(r: &Value) -> Vec<(String, String)> {
    r["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or("").to_string(),
                s["outcome"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// What Vault holds that a run could change: the issuers of both mounts, the secret-id
/// accessors, the policy text and the role-id.
async fn vault_snapshot(server: &DevServer) -> Vec<String> {
    let c = PkiClient::new(VaultConfig::new(server.addr()).with_token(server.root_token().clone()))
        .expect("client");
    let mut snap = Vec::new();
    for mount in ["pki", "istioca"] {
        let mut keys = c.list_issuers(mount).await.expect("list issuers").keys;
        keys.sort();
        snap.push(format!("{mount} issuers {keys:?}"));
    }
    let mut acc = c
        .list_secret_id_accessors("approle", "cert-manager")
        .await
        .expect("accessors");
    acc.sort();
    snap.push(format!("secret-id accessors {acc:?}"));
    snap.push(format!(
        "policy {:?}",
        c.read_policy("cert-manager").await.expect("policy")
    ));
    snap.push(format!(
        "role-id {}",
        c.read_role_id("approle", "cert-manager")
            .await
            .expect("role-id")
    ));
    snap
}

/// Every secret a run handles: none may appear in stdout, stderr or report.json.
fn secrets(out: &Path, server: &DevServer) -> Vec<String> {
    let mut s = vec![server.root_token().expose_secret().to_string()];
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("e2e-state.json")).expect("state"))
            .expect("state JSON");
    s.push(
        state["secret_id"]
            .as_str()
            .expect("secret_id in the state")
            .to_string(),
    );
    for key in ["ca.key", "istioca.key"] {
        if let Ok(k) = std::fs::read_to_string(out.join(key)) {
            // A line from the middle of the key's base64 body.
            let line = k.lines().nth(1).expect("key body").to_string();
            s.push(line);
        }
    }
    s
}

fn assert_no_secrets(out: &Path, server: &DevServer, outputs: &[&Output]) {
    let report = std::fs::read_to_string(out.join("report.json")).expect("report.json");
    for secret in secrets(out, server) {
        assert!(!report.contains(&secret), "a secret is in report.json");
        for o in outputs {
            assert!(!text(&o.stdout).contains(&secret), "a secret is on stdout");
            assert!(!text(&o.stderr).contains(&secret), "a secret is on stderr");
        }
    }
}

#[tokio::test]
async fn run_writes_the_files_verifies_and_a_second_run_changes_nothing() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");

    let first = run_against(&server, "run", &out, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));

    // The seed's files, secrets 0600, the rest 0644.
    for (f, m) in [
        ("ca.crt", 0o644),
        ("ca.key", 0o600),
        ("istioca.csr", 0o644),
        ("istioca.key", 0o600),
        ("istioca.crt", 0o644),
        ("vault-secret.yaml", 0o600),
        ("vault-issuer.yaml", 0o644),
        ("istio-root-ca.yaml", 0o644),
        ("istio-csr-values.yaml", 0o644),
        ("control-plane.yaml", 0o644),
        ("report.json", 0o644),
        ("e2e-state.json", 0o600),
    ] {
        assert_eq!(mode(&out.join(f)), m, "mode of {f}");
    }
    let ca = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");
    let root_ca: Value = serde_yaml::from_str(
        &std::fs::read_to_string(out.join("istio-root-ca.yaml")).expect("yaml"),
    )
    .expect("istio-root-ca.yaml");
    assert_eq!(root_ca["metadata"]["namespace"], "cert-manager");
    assert_eq!(root_ca["metadata"]["name"], "istio-root-ca");
    let b64 = root_ca["data"]["ca.cert.pem"]
        .as_str()
        .expect("data.ca.cert.pem");
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64");
    assert_eq!(
        String::from_utf8_lossy(&decoded),
        ca,
        "istio-root-ca holds the ROOT, not the intermediate"
    );
    let issuer: Value = serde_yaml::from_str(
        &std::fs::read_to_string(out.join("vault-issuer.yaml")).expect("yaml"),
    )
    .expect("issuer");
    assert_eq!(
        issuer["spec"]["vault"]["path"],
        "istioca/sign/cluster-local"
    );
    assert_eq!(issuer["spec"]["vault"]["server"], server.addr());
    assert_eq!(
        issuer["spec"]["vault"]["auth"]["appRole"]["path"],
        "approle"
    );
    let values = std::fs::read_to_string(out.join("istio-csr-values.yaml")).expect("values");
    assert!(
        values.contains("/var/run/secrets/istio-csr/ca.cert.pem"),
        "{values}"
    );
    assert!(values.contains("vault-issuer"), "{values}");

    // The report: every step created, every check passed.
    let r1 = report(&out);
    assert_eq!(r1["status"], "done");
    assert_eq!(r1["command"], "run");
    let o1 = outcomes(&r1);
    assert!(
        o1.iter().any(|(n, o)| n == "root mount" && o == "created"),
        "{o1:?}"
    );
    assert!(
        o1.iter().all(|(_, o)| o == "created"),
        "first run creates everything: {o1:?}"
    );
    assert!(
        r1["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .all(|s| s["duration_ms"].is_u64())
    );
    let checks = r1["verification"].as_array().expect("verification");
    assert!(checks.len() >= 7, "{checks:?}");
    assert!(checks.iter().all(|c| c["passed"] == true), "{checks:?}");
    for name in [
        "chains to istioca.crt",
        "chains to ca.crt",
        "refused: istioca/issue/cluster-local",
    ] {
        assert!(
            checks.iter().any(|c| c["name"] == name),
            "check {name} missing: {checks:?}"
        );
    }
    // One progress line per step on stderr.
    let err1 = text(&first.stderr);
    assert!(
        err1.lines()
            .any(|l| l.starts_with("created") && l.contains("root mount")),
        "{err1}"
    );

    let before = vault_snapshot(&server).await;
    let files_before = kept_files(&out);

    // Second run: every step unchanged, Vault and the files as they were.
    let second = run_against(&server, "run", &out, &[]);
    assert_eq!(second.status.code(), Some(0), "{}", describe(&second));
    let r2 = report(&out);
    let o2 = outcomes(&r2);
    assert_eq!(o2.len(), o1.len(), "{o2:?}");
    assert!(
        o2.iter().all(|(_, o)| o == "unchanged"),
        "second run: {o2:?}"
    );
    assert!(
        r2["verification"]
            .as_array()
            .expect("checks")
            .iter()
            .all(|c| c["passed"] == true)
    );
    assert_eq!(
        vault_snapshot(&server).await,
        before,
        "the second run changed Vault"
    );
    let files_after = kept_files(&out);
    assert_eq!(files_after, files_before, "the second run rewrote a file");

    // A plan now has nothing to do.
    let plan = run_against(&server, "plan", &out, &["--output", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", describe(&plan));
    let p: Value = serde_json::from_slice(&plan.stdout).expect("plan JSON on stdout");
    assert_eq!(p["dry_run"], true);
    assert!(outcomes(&p).iter().all(|(_, o)| o == "unchanged"), "{p}");
    assert_eq!(vault_snapshot(&server).await, before, "plan changed Vault");

    assert_no_secrets(&out, &server, &[&first, &second, &plan]);
}

#[tokio::test]
async fn plan_on_a_fresh_vault_says_what_run_would_create_and_writes_nothing() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let plan = run_against(&server, "plan", &out, &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", describe(&plan));
    let err = text(&plan.stderr);
    assert!(err.contains("would create"), "{err}");
    assert!(!out.exists(), "plan wrote to --out");
    let c = PkiClient::new(VaultConfig::new(server.addr()).with_token(server.root_token().clone()))
        .expect("client");
    assert!(
        c.read_mount("pki").await.expect("read mount").is_none(),
        "plan enabled a mount"
    );
}

#[test]
fn output_json_prints_the_report_and_no_progress_lines() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let o = run_against(&server, "run", &out, &["--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let printed: Value = serde_json::from_slice(&o.stdout).expect("stdout is the report");
    assert_eq!(printed, report(&out));
    assert!(
        !text(&o.stderr).contains("created "),
        "progress lines in json mode: {}",
        text(&o.stderr)
    );
}

#[test]
fn imports_a_given_root_ca_and_writes_no_root_key() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    // Fixture: a root CA made here with rcgen (ECDSA P-256, CA:true).
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Given Root");
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let cert = params.self_signed(&key).expect("root");
    std::fs::write(dir.path().join("root.crt"), cert.pem()).expect("write");
    std::fs::write(dir.path().join("root.key"), key.serialize_pem()).expect("write");
    let out = dir.path().join("out");
    let crt = dir.path().join("root.crt").display().to_string();
    let k = dir.path().join("root.key").display().to_string();
    let args = ["--root-ca-cert", crt.as_str(), "--root-ca-key", k.as_str()];
    let o = run_against(&server, "run", &out, &args);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt"),
        cert.pem()
    );
    assert!(
        !out.join("ca.key").exists(),
        "an imported root's key is not copied"
    );
    let again = run_against(&server, "run", &out, &args);
    assert_eq!(again.status.code(), Some(0), "{}", describe(&again));
    assert!(
        outcomes(&report(&out))
            .iter()
            .all(|(_, o)| o == "unchanged")
    );
}

#[test]
fn bad_usage_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let not_an_operator = dir.path().join("deployment.yaml");
    std::fs::write(&not_an_operator, "apiVersion: apps/v1\nkind: Deployment\n").expect("write");
    let not_yaml = dir.path().join("broken.yaml");
    std::fs::write(&not_yaml, "kind: [IstioOperator\n").expect("write");
    let cases: Vec<Vec<String>> = vec![
        vec!["run".into(), "--root-ca-cert".into(), "x.pem".into()],
        vec![
            "run".into(),
            "--istio-operator".into(),
            not_an_operator.display().to_string(),
        ],
        vec![
            "run".into(),
            "--istio-operator".into(),
            not_yaml.display().to_string(),
        ],
        vec![
            "plan".into(),
            "--istio-operator".into(),
            "/nonexistent/iop.yaml".into(),
        ],
        vec!["run".into(), "--output".into(), "yaml".into()],
        vec!["run".into(), "--no-such-flag".into()],
        vec![
            "run".into(),
            "--vault-addr".into(),
            "http://127.0.0.1:1".into(),
            "--out".into(),
            out.display().to_string(),
        ],
        vec![
            "run".into(),
            "--root-ca-cert".into(),
            "/nonexistent/ca.crt".into(),
            "--root-ca-key".into(),
            "/nonexistent/ca.key".into(),
        ],
    ];
    for args in cases {
        let o = e2e().args(&args).output().expect("run e2e");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", describe(&o));
        assert!(!text(&o.stderr).is_empty());
    }
    let help = e2e().args(["run", "--help"]).output().expect("help");
    assert_eq!(help.status.code(), Some(0));
    let h = text(&help.stdout);
    for flag in [
        "--vault-addr",
        "--vault-token",
        "--vault-cacert",
        "--vault-namespace",
        "--root-ca-cert",
        "--root-ca-key",
        "--replace-root",
        "--root-mount",
        "--intermediate-mount",
        "--role",
        "--approle-mount",
        "--approle-role",
        "--policy",
        "--trust-domain",
        "--cluster-id",
        "--namespace",
        "--out",
        "--kubeconfig",
        "--istio-operator",
        "--output",
        "VAULT_ADDR",
        "VAULT_TOKEN",
        "VAULT_CACERT",
        "VAULT_NAMESPACE",
        "KUBECONFIG",
    ] {
        assert!(h.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn a_wrong_token_fails_with_exit_1_naming_the_step_and_what_to_do() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let wrong = "s.not-the-right-token";
    let o = e2e()
        .args(["run", "--out"])
        .arg(&out)
        .env("VAULT_ADDR", server.addr())
        .env("VAULT_TOKEN", wrong)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    let err = text(&o.stderr);
    // The first request that needs the token is the lock on the mounts.
    assert!(err.contains("step `vault: lock` failed"), "{err}");
    assert!(err.contains("permission denied"), "{err}");
    assert!(err.contains("what to do"), "{err}");
    assert!(!err.contains(wrong), "the token is printed");
    let r = report(&out);
    assert_eq!(r["status"], "failed");
    assert_eq!(r["error"]["step"], "vault: lock");
    assert!(
        !std::fs::read_to_string(out.join("report.json"))
            .expect("report")
            .contains(wrong)
    );
}

#[tokio::test]
async fn a_rerun_after_a_failure_resumes() {
    vault_pki::install_ring_provider();
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    // A kv mount where the intermediate should go: the run stops at that step.
    let http = reqwest::Client::new();
    let mount = |method: reqwest::Method| {
        http.request(method, format!("{}/v1/sys/mounts/istioca", server.addr()))
            .header("X-Vault-Token", server.root_token().expose_secret())
    };
    let r = mount(reqwest::Method::POST)
        .json(&serde_json::json!({"type": "kv"}))
        .send()
        .await
        .expect("mount kv");
    assert!(r.status().is_success(), "{:?}", r.status());
    let failed = run_against(&server, "run", &out, &[]);
    assert_eq!(failed.status.code(), Some(1), "{}", describe(&failed));
    let err = text(&failed.stderr);
    assert!(err.contains("intermediate mount"), "{err}");
    let o1 = outcomes(&report(&out));
    assert!(
        o1.contains(&("root CA".to_string(), "created".to_string())),
        "{o1:?}"
    );

    // Fixed: the re-run keeps what was done and does the rest.
    let r = mount(reqwest::Method::DELETE)
        .send()
        .await
        .expect("unmount");
    assert!(r.status().is_success(), "{:?}", r.status());
    let resumed = run_against(&server, "run", &out, &[]);
    assert_eq!(resumed.status.code(), Some(0), "{}", describe(&resumed));
    let o2 = outcomes(&report(&out));
    assert!(
        o2.contains(&("root mount".to_string(), "unchanged".to_string())),
        "{o2:?}"
    );
    assert!(
        o2.contains(&("root CA".to_string(), "unchanged".to_string())),
        "{o2:?}"
    );
    assert!(
        o2.contains(&("intermediate CA".to_string(), "created".to_string())),
        "{o2:?}"
    );
}

#[test]
fn runs_over_tls_with_vault_cacert_and_writes_the_ca_bundle_into_the_issuer() {
    let server = DevServer::start(DevServerOptions::tls()).unwrap_or_else(|e| {
        panic!("starting OpenBao with TLS (run scripts/install-openbao.sh): {e}")
    });
    assert!(server.addr().starts_with("https://"), "{}", server.addr());
    let ca_path = server.ca_cert_path().expect("the dev server's CA file");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let o = e2e()
        .args(["run", "--out"])
        .arg(&out)
        .env("VAULT_ADDR", server.addr())
        .env("VAULT_TOKEN", server.root_token().expose_secret())
        .env("VAULT_CACERT", &ca_path)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let r = report(&out);
    assert!(
        r["verification"]
            .as_array()
            .expect("checks")
            .iter()
            .all(|c| c["passed"] == true),
        "{r}"
    );
    let issuer: Value = serde_yaml::from_str(
        &std::fs::read_to_string(out.join("vault-issuer.yaml")).expect("yaml"),
    )
    .expect("issuer");
    let bundle = issuer["spec"]["vault"]["caBundle"]
        .as_str()
        .expect("caBundle");
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(bundle)
        .expect("base64");
    assert_eq!(
        decoded,
        std::fs::read(&ca_path).expect("CA file"),
        "caBundle is the Vault CA"
    );

    // Without the CA, the server's certificate is not trusted: exit 1, saying what to do.
    let o = e2e()
        .args(["run", "--out"])
        .arg(dir.path().join("out2"))
        .env("VAULT_ADDR", server.addr())
        .env("VAULT_TOKEN", server.root_token().expose_secret())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    assert!(text(&o.stderr).contains("VAULT_CACERT"), "{}", describe(&o));
}

#[tokio::test]
async fn a_vault_failure_after_the_intermediate_still_writes_its_exported_key() {
    let server = dev_server();
    // Rights for the PKI mounts and the AppRole mount, but none on ACL policies: the setup
    // stops at `ACL policy`, after Vault exported the intermediate's key.
    let token = limited_token(
        &server,
        "e2e-no-policies",
        &[
            "sys/mounts",
            "sys/mounts/*",
            "sys/auth",
            "sys/auth/*",
            "pki/*",
            "istioca/*",
        ],
    )
    .await;

    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let o = e2e()
        .args(["run", "--out"])
        .arg(&out)
        .env("VAULT_ADDR", server.addr())
        .env("VAULT_TOKEN", token.token.expose_secret())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    let err = text(&o.stderr);
    assert!(err.contains("step `vault: ACL policy` failed"), "{err}");
    assert!(err.contains("partial report"), "{err}");
    let key_path = out.join("istioca.key");
    let key = std::fs::read_to_string(&key_path).expect("istioca.key written despite the failure");
    assert!(key.contains("PRIVATE KEY"));
    assert_eq!(
        std::fs::metadata(&key_path)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(!err.contains(key.trim()), "the key is not printed");

    // With a token that may write policies the run completes; the intermediate stays, Vault
    // never exports its key again, and the file from the failed run is the one kept.
    let ok = run_against(&server, "run", &out, &[]);
    assert_eq!(ok.status.code(), Some(0), "{}", describe(&ok));
    assert_eq!(
        std::fs::read_to_string(&key_path).expect("istioca.key"),
        key,
        "istioca.key kept"
    );
    let r = report(&out);
    let int = r["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == "intermediate CA")
        .expect("intermediate step");
    assert_eq!(int["outcome"], "unchanged", "{int}");
}
