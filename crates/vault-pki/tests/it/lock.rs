//! The lock on mounts (`PkiClient::acquire_lock`) and the once-only secrets handed to
//! `SetupObserver::on_secret` before the next request, against the shared OpenBao.

use std::sync::Mutex;
use std::time::Duration;

use vault_pki::{NewSecret, PkiSetup, SetupObserver, StepReport};

use crate::common::client;

#[tokio::test]
async fn one_holder_at_a_time_and_a_dead_holder_is_taken_over() {
    let c = client();
    let path = "it-lock/a/b";
    let never = |_: &vault_pki::lock::LockHolder| false;
    let held = c
        .acquire_lock(path, "first", Duration::ZERO, &never)
        .await
        .expect("the first takes it");
    let e = c
        .acquire_lock(path, "second", Duration::ZERO, &never)
        .await
        .expect_err("held");
    match &e {
        vault_pki::Error::Locked { owner, path: p, .. } => {
            assert_eq!((owner.as_str(), p.as_str()), ("first", path));
        }
        other => panic!("not Locked: {other}"),
    }
    assert!(
        e.to_string()
            .contains("another run is changing the same mounts"),
        "{e}"
    );
    // The holder "died": the waiter's test says so, and it takes the lock over.
    let dead = |h: &vault_pki::lock::LockHolder| h.owner == "first";
    let taken = c
        .acquire_lock(path, "third", Duration::ZERO, &dead)
        .await
        .expect("taken over");
    drop(held); // released by the take-over
    c.release_lock(taken).await.expect("release");
    assert!(
        c.read_mount(path).await.expect("mounts").is_none(),
        "the lock is left"
    );
}

/// Records what `on_secret` received, and the steps reported before each.
#[derive(Default)]
struct Recorder {
    steps: Mutex<Vec<String>>,
    secrets: Mutex<Vec<(String, usize)>>,
}

impl SetupObserver for Recorder {
    fn on_step(&self, s: &StepReport) {
        self.steps.lock().expect("lock").push(s.step.to_string());
    }

    fn on_secret(
        &self,
        secret: &NewSecret<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let n = self.steps.lock().expect("lock").len();
        let what = match secret {
            NewSecret::IntermediateKey { key_pem, .. } => {
                assert!(key_pem.expose_secret().contains("PRIVATE KEY"));
                "intermediate key"
            }
            NewSecret::SecretId { record, .. } => {
                assert!(!record.accessor.is_empty());
                "secret-id"
            }
            _ => "other",
        };
        self.secrets.lock().expect("lock").push((what.into(), n));
        Ok(())
    }
}

#[tokio::test]
async fn once_only_secrets_reach_the_observer_before_their_step_ends() {
    let c = client();
    let mut setup = PkiSetup::default();
    setup.root_mount = "it-sink-pki".into();
    setup.intermediate_mount = "it-sink-int".into();
    setup.approle_mount = "it-sink-approle".into();
    setup.approle_role = "it-sink".into();
    setup.policy_name = "it-sink".into();
    setup
        .secret_id_metadata
        .insert("created_by".into(), "vault-pki-it".into());
    let r = Recorder::default();
    let report = c.ensure_with(&setup, &r).await.expect("ensure");
    let secrets = r.secrets.lock().expect("lock").clone();
    let steps = r.steps.lock().expect("lock").clone();
    // Each secret came while its step was running: after the steps before it, before its own.
    let at = |name: &str| steps.iter().position(|s| s == name).expect(name);
    assert_eq!(
        secrets,
        vec![
            ("intermediate key".to_string(), at("intermediate CA")),
            ("secret-id".to_string(), at("secret-id")),
        ]
    );
    // The secret-id carries the metadata.
    let acc = report.secret_id.expect("secret-id").accessor;
    let md = c
        .lookup_secret_id_accessor("it-sink-approle", "it-sink", &acc)
        .await
        .expect("lookup")
        .and_then(|i| i.metadata)
        .unwrap_or_default();
    assert_eq!(
        md.get("created_by").map(String::as_str),
        Some("vault-pki-it")
    );
}

/// An observer that cannot keep the secret stops the setup before its next request.
struct Refuses;

impl SetupObserver for Refuses {
    fn on_step(&self, _: &StepReport) {}

    fn on_secret(&self, _: &NewSecret<'_>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Err("disk full".into())
    }
}

#[tokio::test]
async fn a_secret_not_kept_stops_the_setup_before_the_next_request() {
    let c = client();
    let mut setup = PkiSetup::default();
    setup.root_mount = "it-refuse-pki".into();
    setup.intermediate_mount = "it-refuse-int".into();
    setup.approle_mount = "it-refuse-approle".into();
    setup.approle_role = "it-refuse".into();
    setup.policy_name = "it-refuse".into();
    let e = c.ensure_with(&setup, &Refuses).await.expect_err("refused");
    assert!(
        matches!(e.cause(), vault_pki::Error::SecretNotKept { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("disk full"), "{e}");
    // The CSR was never signed: the intermediate mount has no issuer.
    let issuers = c
        .list_issuers("it-refuse-int")
        .await
        .map(|l| l.keys)
        .unwrap_or_default();
    assert!(issuers.is_empty(), "{issuers:?}");
    // The key is still handed back to the caller.
    assert!(
        e.partial_report()
            .and_then(|p| p.intermediate_key_pem.as_ref())
            .is_some()
    );
}
