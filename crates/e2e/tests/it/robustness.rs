//! Bad inputs are refused before Vault is touched, a working root is not replaced as
//! a side effect, nothing Vault returns once is lost when `e2e` is SIGKILLed at any step
//! boundary, two runs at once end with one intermediate, and logs to a file carry no ANSI.
//! The real binary against a real OpenBao dev server. Long because each of these is a
//! scenario with its own setup on the shared server, and they share this file's helpers.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::{describe, dev_server, e2e, text};
use vault_pki::dev_server::DevServer;
use vault_pki::{PkiClient, VaultConfig};

/// `e2e run --out <out> [extra]` against `server`, as a command not yet started.
fn command(server: &DevServer, out: &Path, extra: &[&str]) -> Command {
    let mut c = e2e();
    c.arg("run")
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("VAULT_ADDR", server.addr())
        .env("VAULT_TOKEN", server.root_token().expose_secret());
    c
}

fn run(server: &DevServer, out: &Path, extra: &[&str]) -> Output {
    command(server, out, extra).output().expect("running e2e")
}

fn client(server: &DevServer) -> PkiClient {
    vault_pki::install_ring_provider();
    PkiClient::new(VaultConfig::new(server.addr()).with_token(server.root_token().clone()))
        .expect("client")
}

/// A root made here with rcgen (ECDSA P-256), valid from January 1st of `from` to January
/// 1st of `to`, written as `<name>.crt` and `<name>.key` in `dir`; returns their paths.
fn root(dir: &Path, name: &str, from: i32, to: i32, is_ca: bool) -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    if is_ca {
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    p.distinguished_name
        .push(rcgen::DnType::CommonName, format!("Test root {name}"));
    p.not_before = rcgen::date_time_ymd(from, 1, 1);
    p.not_after = rcgen::date_time_ymd(to, 1, 1);
    let cert = p.self_signed(&key).expect("self-signed");
    let crt = dir.join(format!("{name}.crt"));
    let k = dir.join(format!("{name}.key"));
    std::fs::write(&crt, cert.pem()).expect("write cert");
    std::fs::write(&k, key.serialize_pem()).expect("write key");
    (crt.display().to_string(), k.display().to_string())
}

/// This year, from the clock (the fixtures' validity is relative to the time of the run).
fn this_year() -> i32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    1970 + i32::try_from(secs / 31_556_952).expect("year")
}

async fn has_mount(server: &DevServer, path: &str) -> bool {
    client(server)
        .read_mount(path)
        .await
        .expect("sys/mounts")
        .is_some()
}

#[tokio::test]
async fn bad_roots_are_usage_errors_naming_the_file_before_vault_is_touched() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let y = this_year();
    let expired = root(dir.path(), "expired", 2020, 2021, true);
    let short = root(dir.path(), "short", y - 1, y + 2, true);
    let leaf = root(dir.path(), "leaf", y - 1, y + 20, false);
    let good = root(dir.path(), "good", y - 1, y + 20, true);
    let other = root(dir.path(), "other", y - 1, y + 20, true);
    let der = dir.path().join("good.der");
    let pem_text = std::fs::read_to_string(&good.0).expect("pem");
    std::fs::write(&der, pem::parse(pem_text).expect("pem").contents()).expect("der");
    let der = der.display().to_string();
    let cases: [(&str, &str, &str); 5] = [
        (&expired.0, &expired.1, "certificate has expired"),
        (&short.0, &short.1, "before the intermediate would"),
        (&leaf.0, &leaf.1, "not a CA certificate"),
        (&der, &good.1, "is DER, not PEM"),
        (&good.0, &other.1, "is not the key of"),
    ];
    for (crt, key, want) in cases {
        let out = dir.path().join("out");
        let o = run(
            &server,
            &out,
            &["--root-ca-cert", crt, "--root-ca-key", key],
        );
        assert_eq!(o.status.code(), Some(2), "{crt}: {}", describe(&o));
        let err = text(&o.stderr);
        assert!(err.contains(want), "{crt}: want {want:?}: {err}");
        let named = if want == "is not the key of" {
            key
        } else {
            crt
        };
        assert!(err.contains(named), "the file is not named: {err}");
    }
    assert!(!has_mount(&server, "pki").await, "Vault was changed");
    assert!(!has_mount(&server, "istioca").await, "Vault was changed");
}

#[tokio::test]
async fn a_working_root_is_replaced_only_with_replace_root() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let first = run(&server, &out, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    let read = |n: &str| std::fs::read(out.join(n)).expect(n);
    let kept: Vec<Vec<u8>> = ["ca.crt", "istioca.crt", "istioca.key", "istio-root-ca.yaml"]
        .iter()
        .map(|n| read(n))
        .collect();
    let c = client(&server);
    let issuer = c.read_issuer("pki", "default").await.expect("read");
    let y = this_year();
    let (crt, key) = root(dir.path(), "new", y - 1, y + 20, true);
    let args = [
        "--root-ca-cert",
        crt.as_str(),
        "--root-ca-key",
        key.as_str(),
    ];
    let refused = run(&server, &out, &args);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    let err = text(&refused.stderr);
    assert!(err.contains("already has a different root"), "{err}");
    assert!(err.contains("--replace-root"), "{err}");
    let now: Vec<Vec<u8>> = ["ca.crt", "istioca.crt", "istioca.key", "istio-root-ca.yaml"]
        .iter()
        .map(|n| read(n))
        .collect();
    assert_eq!(kept, now, "files were rewritten");
    let after = c.read_issuer("pki", "default").await.expect("read");
    assert_eq!(
        issuer.map(|i| i.certificate),
        after.map(|i| i.certificate),
        "Vault's root was replaced"
    );
    let mut with_flag = args.to_vec();
    with_flag.push("--replace-root");
    let replaced = run(&server, &out, &with_flag);
    assert_eq!(replaced.status.code(), Some(0), "{}", describe(&replaced));
    assert_eq!(
        std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt"),
        std::fs::read_to_string(&crt).expect("given")
    );
}

#[tokio::test]
async fn an_unwritable_out_is_named_before_vault_is_touched() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").expect("write");
    let out = file.join("out");
    let o = run(&server, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    let err = text(&o.stderr);
    assert!(err.contains("not writable"), "{err}");
    assert!(err.contains(&out.display().to_string()), "{err}");
    assert!(!has_mount(&server, "pki").await, "Vault was changed");
    let auths = client(&server).list_auth_mounts().await.expect("sys/auth");
    assert!(
        !auths.contains_key("approle/"),
        "an AppRole (and a secret-id) was made"
    );
}

#[tokio::test]
async fn a_second_run_on_a_locked_out_fails_before_vault_and_stale_temporaries_go() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let stale = out.join(".e2e-state.json.AbC123.tmp");
    std::fs::write(&stale, "left by a killed run").expect("write");
    let lock = std::fs::File::create(out.join(".e2e.lock")).expect("lock file");
    lock.try_lock().expect("the test takes the lock");
    let o = run(&server, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    let err = text(&o.stderr);
    assert!(
        err.contains("another e2e run is using this output folder"),
        "{err}"
    );
    assert!(!has_mount(&server, "pki").await, "Vault was changed");
    assert!(stale.exists(), "a temporary was removed without the lock");
    drop(lock);
    let o = run(&server, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert_eq!(temporaries(&out), Vec::<String>::new());
}

#[test]
fn debug_logs_to_a_file_carry_no_ansi_codes() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("stderr.log");
    let file = std::fs::File::create(&log).expect("log file");
    let status = command(&server, &dir.path().join("out"), &[])
        .env("E2E_LOG", "debug")
        .stderr(Stdio::from(file))
        .stdout(Stdio::null())
        .status()
        .expect("run");
    assert_eq!(status.code(), Some(0));
    let bytes = std::fs::read(&log).expect("log");
    assert!(
        text(&bytes).contains("DEBUG"),
        "no debug lines: {}",
        text(&bytes)
    );
    assert!(!bytes.contains(&0x1b), "an ESC byte in the log");
}

/// The `.tmp` files in `out`.
fn temporaries(out: &Path) -> Vec<String> {
    std::fs::read_dir(out)
        .expect("read out")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

/// After a completed run into `out`: `istioca.key` is the key of `istioca.crt`, which is the
/// intermediate mount's only issuer and its default; exactly one valid secret-id made by e2e
/// for this folder, the recorded one; no temporaries.
async fn assert_nothing_lost(server: &DevServer, out: &Path, what: &str) {
    let c = client(server);
    let key = std::fs::read_to_string(out.join("istioca.key"))
        .unwrap_or_else(|e| panic!("{what}: istioca.key: {e}"));
    let crt = std::fs::read_to_string(out.join("istioca.crt")).expect("istioca.crt");
    let block = pem::parse(&crt).expect("pem");
    let (_, cert) = x509_parser::parse_x509_certificate(block.contents()).expect("x509");
    let bits = e2e::preflight::public_key_bits(&key, "istioca.key").expect("key");
    assert_eq!(
        bits,
        cert.public_key().subject_public_key.data.as_ref(),
        "{what}: istioca.key is not istioca.crt's key"
    );
    let default = c
        .read_issuer("istioca", "default")
        .await
        .expect("read")
        .expect("a default issuer");
    assert!(
        vault_pki::intermediate::same_certificate(&default.certificate, &crt),
        "{what}: istioca.crt is not Vault's intermediate"
    );
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("e2e-state.json")).expect("state"))
            .expect("state json");
    let recorded = state["secret_id_accessor"].as_str().expect("accessor");
    let folder = std::fs::canonicalize(out).expect("canonical out");
    let mut ours = Vec::new();
    for a in c
        .list_secret_id_accessors("approle", "cert-manager")
        .await
        .expect("list")
    {
        let info = c
            .lookup_secret_id_accessor("approle", "cert-manager", &a)
            .await
            .expect("lookup");
        let md = info.and_then(|i| i.metadata).unwrap_or_default();
        if md.get("created_by").map(String::as_str) == Some("e2e")
            && md.get("out").map(String::as_str) == Some(&folder.display().to_string())
        {
            ours.push(a);
        }
    }
    assert_eq!(ours, vec![recorded.to_string()], "{what}: e2e's secret-ids");
    assert_eq!(temporaries(out), Vec::<String>::new(), "{what}");
}

/// Starts `e2e run`, SIGKILLs it right after the progress line containing `marker`, and
/// returns whether the line was seen before the run ended by itself.
fn kill_after(server: &DevServer, out: &Path, marker: &str) -> bool {
    let mut child = command(server, out, &[])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let mut seen = false;
    for line in std::io::BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if line.contains(marker) {
            seen = true;
            child.kill().expect("SIGKILL");
            break;
        }
    }
    child.wait().expect("wait");
    seen
}

#[tokio::test]
async fn a_kill_at_any_step_boundary_loses_nothing() {
    // Each progress line is printed when its step is done: killing right after it lands on
    // the boundary to the next step (or a little later).
    let markers = [
        "write ca.crt",
        "root mount",
        "root CA",
        "intermediate mount",
        "write istioca.key",
        "write istioca.csr",
        "intermediate CA",
        "PKI role",
        "AppRole auth mount",
        "ACL policy",
        "AppRole role",
        "role-id",
        "write e2e-state.json",
        "secret-id",
        "write istioca.crt",
        "write control-plane.yaml",
    ];
    for marker in markers {
        let server = dev_server();
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        assert!(kill_after(&server, &out, marker), "{marker}: line not seen");
        let again = run(&server, &out, &[]);
        assert_eq!(
            again.status.code(),
            Some(0),
            "re-run after a kill at {marker:?}: {}",
            describe(&again)
        );
        assert_nothing_lost(&server, &out, marker).await;
    }
}

#[tokio::test]
async fn a_kill_between_secret_id_and_its_file_leaves_no_unrecorded_secret_id() {
    // The window between Vault's answer and the file cannot be closed; made here by hand: a
    // secret-id tagged as e2e's for this folder that nobody recorded.
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let o = run(&server, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let folder = std::fs::canonicalize(&out).expect("canonical");
    let tag = [
        ("created_by".to_string(), "e2e".to_string()),
        ("out".to_string(), folder.display().to_string()),
    ]
    .into_iter()
    .collect();
    let orphan = client(&server)
        .create_tagged_secret_id("approle", "cert-manager", &tag)
        .await
        .expect("orphan");
    let again = run(&server, &out, &[]);
    assert_eq!(again.status.code(), Some(0), "{}", describe(&again));
    assert!(
        text(&again.stderr).contains("destroyed 1 unrecorded secret-id"),
        "{}",
        describe(&again)
    );
    assert_nothing_lost(&server, &out, "orphan").await;
    let gone = client(&server)
        .lookup_secret_id_accessor("approle", "cert-manager", &orphan.accessor)
        .await
        .expect("lookup");
    assert!(gone.is_none(), "the orphan secret-id is still valid");
}

#[tokio::test]
async fn a_lost_istioca_key_is_an_error_saying_how_to_recover() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let o = run(&server, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    std::fs::remove_file(out.join("istioca.key")).expect("rm");
    let again = run(&server, &out, &[]);
    assert_eq!(again.status.code(), Some(1), "{}", describe(&again));
    let err = text(&again.stderr);
    assert!(err.contains("istioca.key"), "{err}");
    assert!(err.contains("only once"), "{err}");
    assert!(err.contains("secrets disable istioca"), "{err}");
}

#[tokio::test]
async fn two_runs_at_once_end_with_one_intermediate() {
    for trial in 0..3 {
        let server = dev_server();
        let dir = tempfile::tempdir().expect("tempdir");
        let outs: Vec<PathBuf> = ["a", "b"].iter().map(|n| dir.path().join(n)).collect();
        let children: Vec<_> = outs
            .iter()
            .map(|o| {
                command(&server, o, &[])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        let results: Vec<Output> = children
            .into_iter()
            .map(|c| c.wait_with_output().expect("wait"))
            .collect();
        for r in &results {
            // Each waits for the other's lock on the mounts, or says that another run is
            // changing them.
            assert!(
                r.status.code() == Some(0)
                    || text(&r.stderr).contains("another run is changing the same mounts"),
                "trial {trial}: {}",
                describe(r)
            );
        }
        assert!(
            results.iter().any(|r| r.status.code() == Some(0)),
            "trial {trial}: neither run succeeded"
        );
        let c = client(&server);
        // The mount holds the intermediate and, from the signed bundle, a keyless copy of the
        // root: intermediates are the issuers with a key.
        let mut intermediates = Vec::new();
        for id in c.list_issuers("istioca").await.expect("issuers").keys {
            let i = c
                .read_issuer("istioca", &id)
                .await
                .expect("read")
                .expect("issuer");
            if !i.key_id.is_empty() {
                intermediates.push(id);
            }
        }
        assert_eq!(intermediates.len(), 1, "trial {trial}: {intermediates:?}");
        let roots = c.list_issuers("pki").await.expect("issuers");
        assert_eq!(roots.keys.len(), 1, "trial {trial}: {roots:?}");
        for (o, r) in outs.iter().zip(&results) {
            if r.status.code() == Some(0) {
                let crt = std::fs::read_to_string(o.join("istioca.crt")).expect("istioca.crt");
                let default = c
                    .read_issuer("istioca", "default")
                    .await
                    .expect("read")
                    .expect("default");
                assert!(vault_pki::intermediate::same_certificate(
                    &default.certificate,
                    &crt
                ));
            }
        }
        assert!(
            !has_mount(&server, "e2e-lock/pki/istioca").await,
            "trial {trial}: the lock was left"
        );
        // Each folder's re-run then succeeds, the one without the intermediate's key too.
        for o in &outs {
            let again = run(&server, o, &[]);
            assert_eq!(
                again.status.code(),
                Some(0),
                "trial {trial}: {}",
                describe(&again)
            );
        }
    }
}
