//! The server matrix: the same key scenarios (setup from empty and idempotent, signing by the
//! AppRole token and refusal elsewhere, errors by cause) against OpenBao and HashiCorp Vault,
//! one shared dev server per binary. A missing binary is a failure that says how to get it.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use vault_pki::dev_server::{DevServer, DevServerOptions, Server};
use vault_pki::{Error, Outcome, PkiClient, PkiSetup, RetryPolicy, SignOptions, VaultConfig};

use crate::common::{root_client, workload_csr};

static SERVERS: OnceLock<Mutex<HashMap<Server, &'static DevServer>>> = OnceLock::new();

/// The binary's shared dev server of `kind` (started on first use, leaked: a watchdog ends it).
fn server(kind: Server) -> &'static DevServer {
    let mut map = SERVERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    map.entry(kind).or_insert_with(
        || match DevServer::start(DevServerOptions::for_server(kind)) {
            Ok(s) => Box::leak(Box::new(s)),
            Err(e) => panic!("cannot start the {kind} dev server for the matrix tests: {e}"),
        },
    )
}

/// Setup from empty creates every step; a second run with the recorded secret-id changes nothing.
async fn setup_is_idempotent(kind: Server) {
    let c = root_client(server(kind));
    let setup = PkiSetup::with_prefix("mx-twice");
    let first = c.ensure(&setup).await.expect("first ensure");
    for s in &first.steps {
        assert_eq!(
            s.outcome,
            Outcome::Created,
            "{kind}: first run, step {}: {}",
            s.step,
            s.detail
        );
    }
    let root = first.root_ca_pem.clone().expect("root");
    let int = first.intermediate_cert_pem.clone().expect("intermediate");
    assert!(
        vault_pki::chains_to(&int, &root).expect("chain check"),
        "{kind}"
    );
    let rec = first.secret_id.clone().expect("secret-id");
    let issuers = c
        .list_issuers(&setup.intermediate_mount)
        .await
        .expect("issuers")
        .keys;

    let again = setup.clone().with_recorded_secret_id(Some(rec.clone()));
    let plan = c.plan(&again).await.expect("plan");
    assert!(
        !plan.changed(),
        "{kind}: plan after ensure:\n{}",
        plan.summary()
    );
    let second = c.ensure(&again).await.expect("second ensure");
    assert!(
        !second.changed(),
        "{kind}: second run changed something:\n{}",
        second.summary()
    );
    assert_eq!(
        second.intermediate_cert_pem.as_deref(),
        Some(int.as_str()),
        "{kind}"
    );
    assert_eq!(
        c.list_issuers(&setup.intermediate_mount)
            .await
            .expect("issuers")
            .keys,
        issuers,
        "{kind}: no new issuer"
    );
    assert_eq!(
        c.list_secret_id_accessors(&setup.approle_mount, &setup.approle_role)
            .await
            .expect("accessors"),
        vec![rec.accessor],
        "{kind}: no new secret-id"
    );
}

/// The AppRole token signs a SPIFFE CSR that chains to the root, and is refused elsewhere.
async fn approle_signs_and_nothing_else(kind: Server) {
    let c = root_client(server(kind));
    let setup = PkiSetup::with_prefix("mx-sign");
    let r = c.ensure(&setup).await.expect("ensure");
    let role_id = r.role_id.clone().expect("role-id");
    let sid = r.secret_id.clone().expect("secret-id");
    let login = c
        .approle_login(&setup.approle_mount, &role_id, &sid.secret_id)
        .await
        .expect("login");
    assert_eq!(login.lease_duration, 3600, "{kind}: token_ttl 1h");
    let app = c.with_token(&login.token).expect("client");
    let signed = app
        .sign_csr(
            &setup.intermediate_mount,
            &setup.role.name,
            &workload_csr("spiffe://cluster.local/ns/foo/sa/sleep"),
            &SignOptions::default(),
        )
        .await
        .expect("sign");
    assert!(
        vault_pki::chains_to(
            &signed.certificate_pem,
            r.intermediate_cert_pem.as_deref().expect("intermediate")
        )
        .expect("chain check"),
        "{kind}: the leaf is signed by the intermediate"
    );
    // Outside the policy: another SPIFFE trust domain is rejected by the role, and the AppRole
    // admin path is denied (not `<mount>/issuers`: listing issuers is unauthenticated on both).
    let e = app
        .sign_csr(
            &setup.intermediate_mount,
            &setup.role.name,
            &workload_csr("spiffe://other.domain/ns/foo/sa/sleep"),
            &SignOptions::default(),
        )
        .await
        .expect_err("foreign trust domain");
    assert!(matches!(e, Error::Rejected { .. }), "{kind}: {e:?}");
    let e = app
        .read_role_id(&setup.approle_mount, &setup.approle_role)
        .await
        .expect_err("AppRole admin path");
    assert!(matches!(e, Error::PermissionDenied { .. }), "{kind}: {e:?}");
}

/// A wrong token is PermissionDenied naming the path; a missing mount NotFound or Rejected.
async fn errors_by_cause(kind: Server) {
    let s = server(kind);
    let cfg = VaultConfig::new(s.addr())
        .with_token("not-a-token")
        .with_retry(RetryPolicy::none());
    let c = PkiClient::new(cfg).expect("client");
    let e = c
        .ensure(&PkiSetup::with_prefix("mx-wrongtoken"))
        .await
        .expect_err("wrong token");
    match e.cause() {
        Error::PermissionDenied { path, .. } => assert_eq!(path, "sys/mounts", "{kind}"),
        other => panic!("{kind}: expected PermissionDenied, got {other:?}"),
    }
    let e = root_client(s)
        .sign_csr(
            "mx-no-such-mount",
            "cluster-local",
            &workload_csr("spiffe://cluster.local/ns/a/sa/b"),
            &SignOptions::default(),
        )
        .await
        .expect_err("no such mount");
    assert!(
        matches!(e, Error::NotFound { .. } | Error::Rejected { .. }),
        "{kind}: {e:?}"
    );
    assert!(e.to_string().contains("mx-no-such-mount"), "{kind}: {e}");
}

macro_rules! matrix {
    ($($name:ident),* $(,)?) => {
        mod openbao {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Server::OpenBao).await
            })*
        }
        mod hashicorp_vault {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Server::HashiCorpVault).await
            })*
        }
    };
}

matrix!(
    setup_is_idempotent,
    approle_signs_and_nothing_else,
    errors_by_cause
);
