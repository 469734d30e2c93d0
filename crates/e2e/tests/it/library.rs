//! `e2e` as a library: [`e2e::run`] called from Rust, with no tracing subscriber installed
//! (nothing here installs one), against a real OpenBao.

use e2e::config::VaultSpec;
use e2e::report::{Outcome, Status};
use e2e::{NoObserver, RunConfig};
use vault_pki::VaultConfig;

use crate::common::{dev_server, limited_token};

#[tokio::test]
async fn a_failing_vault_step_is_named_in_the_error_and_the_report() {
    let server = dev_server();
    // Allowed: the PKI mounts and their paths. Not allowed: anything under sys/auth, so the
    // setup stops at its AppRole auth mount step.
    let token = limited_token(
        &server,
        "e2e-lib-no-auth",
        &["sys/mounts", "sys/mounts/*", "lib-pki/*", "lib-istioca/*"],
    )
    .await;

    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = RunConfig::new(dir.path().join("out"));
    cfg.setup.root_mount = "lib-pki".into();
    cfg.setup.intermediate_mount = "lib-istioca".into();
    cfg.vault = VaultSpec::Server {
        config: VaultConfig::new(server.addr()).with_token(token.token.clone()),
        ca_pem: None,
    };
    let output = e2e::run(&cfg, &NoObserver).await;

    let e = output.error.expect("the setup fails");
    assert_eq!(e.step_name(), Some("vault: AppRole auth mount"), "{e}");
    assert!(e.to_string().contains("permission denied"), "{e}");
    let report = &output.report;
    assert_eq!(report.status, Status::Failed);
    assert_eq!(
        report.error.as_ref().and_then(|r| r.step.as_deref()),
        Some("vault: AppRole auth mount")
    );
    // Every Vault step up to the failed one reached the report through vault-pki's observer.
    let vault_steps: Vec<(&str, Outcome)> = report
        .steps
        .iter()
        .filter(|s| s.phase == e2e::report::Phase::Vault)
        .map(|s| (s.name.as_str(), s.outcome))
        .collect();
    assert_eq!(
        vault_steps,
        [
            ("root mount", Outcome::Created),
            ("root CA", Outcome::Created),
            ("intermediate mount", Outcome::Created),
            ("intermediate CA", Outcome::Created),
            ("PKI role", Outcome::Created),
            ("AppRole auth mount", Outcome::Failed),
        ]
    );
    // The exported intermediate key, made before the failure, is on disk (mode 0600).
    let key = std::fs::read_to_string(dir.path().join("out/istioca.key")).expect("istioca.key");
    assert!(key.contains("PRIVATE KEY"));
}

#[tokio::test]
async fn the_library_entry_point_runs_the_preflight_before_vault() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    // Fixture: a root valid 2020 to 2021 only (rcgen), with its key.
    let key = rcgen::KeyPair::generate().expect("key");
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.not_before = rcgen::date_time_ymd(2020, 1, 1);
    p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let cert = p.self_signed(&key).expect("root");
    let mut cfg = RunConfig::new(dir.path().join("out"));
    cfg.root = e2e::config::RootInput::Given {
        cert_pem: cert.pem(),
        key_pem: vault_pki::SecretString::new(key.serialize_pem()),
    };
    cfg.vault = VaultSpec::Server {
        config: VaultConfig::new(server.addr()).with_token(server.root_token().clone()),
        ca_pem: None,
    };
    let e = e2e::run(&cfg, &NoObserver).await.error.expect("refused");
    assert_eq!(e.step_name(), Some("preflight"), "{e}");
    assert!(e.to_string().contains("certificate has expired"), "{e}");
    let c = vault_pki::PkiClient::new(
        VaultConfig::new(server.addr()).with_token(server.root_token().clone()),
    )
    .expect("client");
    assert!(
        c.read_mount("pki").await.expect("mounts").is_none(),
        "Vault was changed"
    );
}

#[tokio::test]
async fn a_run_fails_saying_another_run_changes_the_mounts_while_it_holds_their_lock() {
    let server = dev_server();
    let c = vault_pki::PkiClient::new(
        VaultConfig::new(server.addr()).with_token(server.root_token().clone()),
    )
    .expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = RunConfig::new(dir.path().join("out"));
    cfg.vault = VaultSpec::Server {
        config: VaultConfig::new(server.addr()).with_token(server.root_token().clone()),
        ca_pem: None,
    };
    cfg.lock_wait = std::time::Duration::ZERO;
    // Another (live) run holds the lock on the mounts.
    let never = |_: &vault_pki::lock::LockHolder| false;
    let held = c
        .acquire_lock(
            &e2e::vault::lock_path(&cfg.setup),
            "another run",
            std::time::Duration::ZERO,
            &never,
        )
        .await
        .expect("lock");
    let e = e2e::run(&cfg, &NoObserver).await.error.expect("refused");
    assert_eq!(e.step_name(), Some("vault: lock"), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("another run is changing the same mounts"),
        "{msg}"
    );
    assert!(msg.contains("(pki, istioca)"), "{msg}");
    assert!(
        c.read_mount("pki").await.expect("mounts").is_none(),
        "Vault was changed"
    );
    c.release_lock(held).await.expect("release");
    let output = e2e::run(&cfg, &NoObserver).await;
    assert!(output.error.is_none(), "{:?}", output.error);
}
