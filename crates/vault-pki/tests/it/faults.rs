//! Faults on servers of their own: sealed, and killed mid-setup then restarted.

use std::time::Duration;

use vault_pki::dev_server::{DevServer, DevServerOptions};
use vault_pki::{
    Capability, Error, Outcome, PkiClient, PkiSetup, Policy, RetryPolicy, Step, VaultConfig,
};

use crate::common::root_client;

#[tokio::test]
async fn sealed_server_gives_the_sealed_error_without_retrying() {
    let s = DevServer::start(DevServerOptions::default()).expect("server");
    let c = root_client(&s);
    c.ensure(&PkiSetup::with_prefix("seal"))
        .await
        .expect("ensure before sealing");
    s.seal().expect("bao operator seal");
    let h = c.health().await.expect("health");
    assert!(h.sealed, "{h:?}");
    let t = std::time::Instant::now();
    let e = c
        .ensure(&PkiSetup::with_prefix("seal"))
        .await
        .expect_err("sealed");
    assert!(matches!(e.cause(), Error::Sealed { .. }), "{e:?}");
    assert!(!e.is_transient());
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "sealed is not retried"
    );
    assert!(e.to_string().contains("unseal"), "{e}");
    s.unseal().expect("unseal");
    let r = c
        .ensure(&PkiSetup::with_prefix("seal"))
        .await
        .expect("after unseal");
    // The secret-id was not passed in: only that step changes.
    let changed: Vec<_> = r
        .steps
        .iter()
        .filter(|s| s.outcome != Outcome::Unchanged)
        .map(|s| s.step)
        .collect();
    assert_eq!(changed, vec![vault_pki::Step::SecretId], "{}", r.summary());
}

#[tokio::test]
async fn killed_mid_setup_then_restarted_rerun_completes() {
    let mut s = DevServer::start(DevServerOptions::default()).expect("server");
    let setup = PkiSetup::with_prefix("kill");
    let mut interrupted = None;
    for _attempt in 0..5 {
        let cfg = VaultConfig::new(s.addr())
            .with_token(s.root_token().clone())
            .with_retry(RetryPolicy::new(
                2,
                Duration::from_millis(20),
                Duration::from_millis(20),
            ));
        let c = PkiClient::new(cfg).expect("client");
        let watcher = root_client(&s);
        let run = tokio::spawn({
            let c = c.clone();
            let setup = setup.clone();
            async move { c.ensure(&setup).await }
        });
        // Kill as soon as the intermediate mount exists: the intermediate (key generation,
        // signing) and everything after it are still to come.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = watcher.read_mount(&setup.intermediate_mount).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        s.kill();
        let res = run.await.expect("task");
        s.restart().expect("restart on the same port");
        match res {
            Err(e) => {
                interrupted = Some(e);
                break;
            }
            // The whole setup finished before the kill: try again on the fresh server.
            Ok(_) => continue,
        }
    }
    let e = interrupted.expect("the setup was interrupted in one of the attempts");
    assert!(
        matches!(e.cause(), Error::Unreachable { .. } | Error::Timeout { .. }),
        "{e:?}"
    );
    assert!(e.path().is_some(), "the error names the Vault path: {e}");

    // A dev server keeps nothing across a restart: the re-run starts from empty and completes.
    let c = root_client(&s);
    let r = c.ensure(&setup).await.expect("re-run after restart");
    assert!(
        r.steps.iter().all(|s| s.outcome == Outcome::Created),
        "{}",
        r.summary()
    );
    let again = c
        .ensure(&setup.clone().with_recorded_secret_id(r.secret_id.clone()))
        .await
        .expect("third");
    assert!(!again.changed(), "{}", again.summary());
}

#[tokio::test]
async fn a_failure_after_the_exported_key_hands_back_the_key_in_a_partial_report() {
    // A token that may set up PKI but not enable auth methods: the setup fails at the AppRole
    // step, after Vault exported the intermediate's key (which it never returns again).
    let s = crate::common::server();
    let root = root_client(s);
    let setup = PkiSetup::with_prefix("partial");
    let pki_only = Policy::new()
        .path("sys/mounts", [Capability::Read])
        .path(
            "sys/mounts/*",
            [Capability::Create, Capability::Read, Capability::Update],
        )
        .path(
            format!("{}/*", setup.root_mount),
            [
                Capability::Create,
                Capability::Read,
                Capability::Update,
                Capability::List,
            ],
        )
        .path(
            format!("{}/*", setup.intermediate_mount),
            [
                Capability::Create,
                Capability::Read,
                Capability::Update,
                Capability::List,
            ],
        )
        .path("sys/auth", [Capability::Read]);
    root.write_policy("partial-pki-only", &pki_only)
        .await
        .expect("policy");
    let token = root
        .create_token(&["partial-pki-only".into()], Duration::from_secs(600))
        .await
        .expect("token");
    let limited = root.with_token(&token.token).expect("client");

    let e = limited
        .ensure(&setup)
        .await
        .expect_err("no right to enable auth");
    assert!(matches!(e.cause(), Error::PermissionDenied { .. }), "{e:?}");
    assert_eq!(
        e.path(),
        Some(format!("sys/auth/{}", setup.approle_mount).as_str())
    );
    assert!(e.to_string().contains("partial report"), "{e}");
    let partial = e.partial_report().expect("a partial report");
    assert_eq!(partial.outcome(Step::Intermediate), Some(Outcome::Created));
    let key = partial
        .intermediate_key_pem
        .clone()
        .expect("the exported key is in the partial report");
    assert!(key.expose_secret().contains("PRIVATE KEY"));
    let cert = partial.intermediate_cert_pem.clone().expect("certificate");
    assert!(
        !format!("{e:?}").contains(key.expose_secret()),
        "the key is redacted in Debug"
    );

    // With rights, the re-run completes; the intermediate is kept and its key is never
    // returned again: the partial report was the only copy.
    let r = root.ensure(&setup).await.expect("re-run with rights");
    assert_eq!(r.outcome(Step::Intermediate), Some(Outcome::Unchanged));
    assert!(r.intermediate_key_pem.is_none());
    assert_eq!(r.intermediate_cert_pem.as_deref(), Some(cert.as_str()));
}
