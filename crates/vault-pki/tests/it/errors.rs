//! Errors by cause: bad PEM, wrong token, wrong address, not found.

use std::time::{Duration, Instant};

use vault_pki::{Error, PkiClient, PkiSetup, RetryPolicy, SignOptions, Step, VaultConfig};

use crate::common::{client, server};

#[tokio::test]
async fn bad_pem_is_invalid_pem_before_any_write() {
    let c = client();
    let setup = PkiSetup::with_prefix("badpem").with_root_ca(
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        "nope",
    );
    let e = c.ensure(&setup).await.expect_err("bad root PEM");
    assert!(matches!(e.cause(), Error::InvalidPem { .. }), "{e:?}");
    assert_eq!(e.step(), Some(Step::RootCa), "{e:?}");
    assert!(e.to_string().contains("root CA certificate"), "{e}");
    // The root mount step ran (it comes first); no CA was imported.
    assert!(c.read_ca(&setup.root_mount).await.expect("read").is_none());

    let e = c
        .sign_csr(
            "badpem-istioca",
            "cluster-local",
            "garbage",
            &SignOptions::default(),
        )
        .await
        .expect_err("bad CSR");
    assert!(matches!(e, Error::InvalidPem { .. }), "{e:?}");

    let e = PkiClient::new(
        VaultConfig::new(server().addr().replace("http:", "https:")).with_ca_pem("junk"),
    )
    .expect_err("bad CA bundle");
    assert!(matches!(e, Error::InvalidPem { .. }), "{e:?}");
}

#[tokio::test]
async fn wrong_token_is_permission_denied_with_the_path() {
    let cfg = VaultConfig::new(server().addr())
        .with_token("not-a-token")
        .with_retry(RetryPolicy::none());
    let c = PkiClient::new(cfg).expect("client");
    let e = c
        .ensure(&PkiSetup::with_prefix("wrongtoken"))
        .await
        .expect_err("wrong token");
    assert_eq!(e.step(), Some(Step::RootMount), "{e:?}");
    match e.cause() {
        Error::PermissionDenied { path, .. } => assert_eq!(path, "sys/mounts"),
        other => panic!("expected permission denied, got {other:?}"),
    }
    assert!(e.to_string().contains("sys/mounts"), "{e}");
    assert!(!format!("{c:?}").contains("not-a-token"));
    // Health needs no token.
    let h = c.health().await.expect("health");
    assert!(h.initialized && !h.sealed, "{h:?}");
}

#[tokio::test]
async fn wrong_address_is_unreachable_after_bounded_retries() {
    // A port nobody listens on.
    let port = vault_pki::dev_server::free_port_pair().expect("port");
    let retry = RetryPolicy::new(3, Duration::from_millis(50), Duration::from_millis(100));
    let cfg = VaultConfig::new(format!("http://127.0.0.1:{port}"))
        .with_token("t")
        .with_retry(retry);
    let c = PkiClient::new(cfg).expect("client");
    let t = Instant::now();
    let e = c.health().await.expect_err("nothing listens");
    assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
    assert!(e.is_transient());
    assert!(
        e.to_string().contains(&format!("127.0.0.1:{port}"))
            && e.to_string().contains("sys/health"),
        "{e}"
    );
    // 3 tries with 50 + 100 ms of backoff: bounded.
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(150) && took < Duration::from_secs(5),
        "{took:?}"
    );

    let e = PkiClient::new(VaultConfig::new("not a url")).expect_err("bad address");
    assert!(matches!(e, Error::Config(_)), "{e:?}");
}

#[tokio::test]
async fn not_found_and_rejected_name_the_path() {
    let c = client();
    assert!(
        c.read_pki_role("nosuch-mount", "x")
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        c.read_policy("nosuch-policy")
            .await
            .expect("read")
            .is_none()
    );
    let e = c
        .read_role_id("nosuch-approle", "x")
        .await
        .expect_err("no mount");
    assert!(
        matches!(e, Error::NotFound { .. } | Error::Rejected { .. }),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("auth/nosuch-approle/role/x/role-id"),
        "{e}"
    );
    // Mounting a path twice: Vault's own message comes through.
    c.enable_pki("twice-mounted", Duration::from_secs(3600))
        .await
        .expect("mount");
    let e = c
        .enable_pki("twice-mounted", Duration::from_secs(3600))
        .await
        .expect_err("twice");
    match &e {
        Error::Rejected {
            status: 400,
            errors,
            path,
        } => {
            assert_eq!(path, "sys/mounts/twice-mounted");
            assert!(
                errors.iter().any(|m| m.contains("path is already in use")),
                "{errors:?}"
            );
        }
        other => panic!("expected rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn an_empty_mount_has_no_ca_and_is_not_retried() {
    let c = client();
    c.enable_pki("empty-pki", Duration::from_secs(3600))
        .await
        .expect("mount");
    let t = Instant::now();
    assert!(c.read_ca("empty-pki").await.expect("read").is_none());
    assert!(
        c.list_issuers("empty-pki")
            .await
            .expect("list")
            .keys
            .is_empty()
    );
    assert!(
        // Retrying the 500 would take >= 700 ms of backoff.
        t.elapsed() < Duration::from_millis(500),
        "took {:?}",
        t.elapsed()
    );
}
