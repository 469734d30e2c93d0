//! The whole setup from empty, a second run that changes nothing, plan mode, imported roots.

use vault_pki::{KeyExport, Outcome, PkiSetup, Step};

use crate::common::client;

fn outcomes(r: &vault_pki::SetupReport) -> Vec<(Step, Outcome)> {
    r.steps.iter().map(|s| (s.step, s.outcome)).collect()
}

#[tokio::test]
async fn whole_setup_from_empty_then_second_run_changes_nothing() {
    let c = client();
    let setup = PkiSetup::with_prefix("twice");

    let first = c.ensure(&setup).await.expect("first ensure");
    assert!(!first.dry_run);
    for s in &first.steps {
        assert_eq!(
            s.outcome,
            Outcome::Created,
            "first run, step {}: {}",
            s.step,
            s.detail
        );
    }
    assert_eq!(first.steps.len(), 10);
    let root = first.root_ca_pem.clone().expect("root");
    assert!(
        first.root_key_pem.is_some(),
        "a generated root's key is returned once"
    );
    let int_cert = first.intermediate_cert_pem.clone().expect("intermediate");
    assert!(
        first.intermediate_key_pem.is_some(),
        "exported intermediate key is returned once"
    );
    assert!(
        first
            .intermediate_csr_pem
            .as_deref()
            .is_some_and(|c| c.contains("BEGIN CERTIFICATE REQUEST")),
        "the CSR Vault generated is in the report"
    );
    assert!(vault_pki::chains_to(&int_cert, &root).expect("chain check"));
    let chain = first.ca_chain_pem.clone().expect("chain");
    assert!(
        vault_pki::intermediate::same_certificate(
            &vault_pki::pem::split_certificates(&chain, "chain")
                .expect("split")
                .last()
                .cloned()
                .unwrap_or_default(),
            &root
        ),
        "the intermediate's chain ends at the root"
    );
    let rec = first.secret_id.clone().expect("secret-id");
    assert!(first.secret_id_created);

    let issuers_before = c
        .list_issuers(&setup.intermediate_mount)
        .await
        .expect("issuers")
        .keys;
    let root_issuers_before = c
        .list_issuers(&setup.root_mount)
        .await
        .expect("issuers")
        .keys;
    let accessors_before = c
        .list_secret_id_accessors(&setup.approle_mount, &setup.approle_role)
        .await
        .expect("accessors");
    assert_eq!(accessors_before, vec![rec.accessor.clone()]);

    // Second run, with the recorded secret-id passed back in.
    let again = setup.clone().with_recorded_secret_id(Some(rec.clone()));
    let plan = c.plan(&again).await.expect("plan");
    assert!(!plan.changed(), "plan after ensure:\n{}", plan.summary());
    let second = c.ensure(&again).await.expect("second ensure");
    assert!(
        !second.changed(),
        "second run changed something:\n{}",
        second.summary()
    );
    assert!(second.root_key_pem.is_none() && second.intermediate_key_pem.is_none());
    assert!(second.intermediate_csr_pem.is_none());
    assert!(!second.secret_id_created);
    assert_eq!(
        second.secret_id.as_ref().map(|s| s.accessor.clone()),
        Some(rec.accessor.clone())
    );
    assert_eq!(
        second.intermediate_cert_pem.as_deref(),
        Some(int_cert.as_str())
    );
    assert_eq!(second.role_id, first.role_id);

    let mut a = issuers_before.clone();
    let mut b = c
        .list_issuers(&setup.intermediate_mount)
        .await
        .expect("issuers")
        .keys;
    a.sort();
    b.sort();
    assert_eq!(a, b, "no new issuer in the intermediate mount");
    let mut ra = root_issuers_before;
    let mut rb = c
        .list_issuers(&setup.root_mount)
        .await
        .expect("issuers")
        .keys;
    ra.sort();
    rb.sort();
    assert_eq!(ra, rb, "no new issuer in the root mount");
    let accessors_after = c
        .list_secret_id_accessors(&setup.approle_mount, &setup.approle_role)
        .await
        .expect("accessors");
    assert_eq!(accessors_after, accessors_before, "no new secret-id");

    // The recorded secret-id destroyed: the next run replaces it (updated).
    c.destroy_secret_id(&setup.approle_mount, &setup.approle_role, &rec.secret_id)
        .await
        .expect("destroy");
    assert!(
        c.lookup_secret_id(&setup.approle_mount, &setup.approle_role, &rec.secret_id)
            .await
            .expect("lookup")
            .is_none()
    );
    let third = c.ensure(&again).await.expect("third ensure");
    assert_eq!(
        third.outcome(Step::SecretId),
        Some(Outcome::Updated),
        "{}",
        third.summary()
    );
    assert!(third.secret_id_created);
    let new = third.secret_id.expect("new secret-id");
    assert_ne!(new.accessor, rec.accessor);
    let steps_changed: Vec<_> = third
        .steps
        .iter()
        .filter(|s| s.outcome != Outcome::Unchanged)
        .map(|s| s.step)
        .collect();
    assert_eq!(steps_changed, vec![Step::SecretId]);
}

#[tokio::test]
async fn plan_on_empty_writes_nothing() {
    let c = client();
    let setup = PkiSetup::with_prefix("plan");
    let plan = c.plan(&setup).await.expect("plan");
    assert!(plan.dry_run);
    assert!(
        outcomes(&plan).iter().all(|(_, o)| *o == Outcome::Created),
        "{}",
        plan.summary()
    );
    assert!(plan.summary().contains("would create"));
    assert!(
        c.read_mount(&setup.root_mount)
            .await
            .expect("mounts")
            .is_none()
    );
    assert!(
        c.read_auth_mount(&setup.approle_mount)
            .await
            .expect("auth")
            .is_none()
    );
    assert!(
        c.read_policy(&setup.policy_name)
            .await
            .expect("policy")
            .is_none()
    );
}

#[tokio::test]
async fn drifted_settings_are_updated_and_only_those() {
    let c = client();
    let setup = PkiSetup::with_prefix("drift");
    c.ensure(&setup).await.expect("ensure");
    // Someone changes the mount tuning and the role by hand.
    c.tune_mount(
        &setup.intermediate_mount,
        None,
        Some(std::time::Duration::from_secs(3600)),
    )
    .await
    .expect("tune");
    let mut role = setup.role.clone();
    role.max_ttl = std::time::Duration::from_secs(60);
    c.write_pki_role(&setup.intermediate_mount, &role)
        .await
        .expect("role");
    let plan = c.plan(&setup).await.expect("plan");
    assert_eq!(
        plan.outcome(Step::IntermediateMount),
        Some(Outcome::Updated)
    );
    assert_eq!(plan.outcome(Step::Role), Some(Outcome::Updated));
    let r = c.ensure(&setup).await.expect("ensure");
    let changed: Vec<_> = r
        .steps
        .iter()
        .filter(|s| s.outcome != Outcome::Unchanged)
        .map(|s| s.step)
        .collect();
    // The secret-id was not passed back in, so a new one is created too.
    assert_eq!(
        changed,
        vec![Step::IntermediateMount, Step::Role, Step::SecretId],
        "{}",
        r.summary()
    );
    let tune = c
        .read_mount_tune(&setup.intermediate_mount)
        .await
        .expect("tune");
    assert_eq!(tune.max_lease_ttl, 43800 * 3600);
}

#[tokio::test]
async fn imported_root_and_internal_intermediate() {
    let c = client();
    let root =
        vault_pki::generate_root_ca("Imported Root", std::time::Duration::from_secs(86400 * 365))
            .expect("root");
    let mut setup =
        PkiSetup::with_prefix("import").with_root_ca(root.cert_pem.clone(), root.key_pem.clone());
    setup.intermediate_key = KeyExport::Internal;
    let r = c.ensure(&setup).await.expect("ensure");
    assert_eq!(r.outcome(Step::RootCa), Some(Outcome::Created));
    assert!(
        r.root_key_pem.is_none(),
        "an imported root's key is not echoed"
    );
    assert!(
        r.intermediate_key_pem.is_none(),
        "an internal key never leaves Vault"
    );
    assert!(vault_pki::intermediate::same_certificate(
        r.root_ca_pem.as_deref().unwrap_or_default(),
        &root.cert_pem
    ));
    assert!(
        vault_pki::chains_to(
            r.intermediate_cert_pem.as_deref().unwrap_or_default(),
            &root.cert_pem
        )
        .expect("chain")
    );
    let r2 = c
        .ensure(&setup.clone().with_recorded_secret_id(r.secret_id.clone()))
        .await
        .expect("again");
    assert!(!r2.changed(), "{}", r2.summary());

    // A different root: imported, made default, and the intermediate re-issued under it.
    let other =
        vault_pki::generate_root_ca("Second Root", std::time::Duration::from_secs(86400 * 365))
            .expect("root");
    let setup2 = setup
        .clone()
        .with_root_ca(other.cert_pem.clone(), other.key_pem.clone())
        .with_recorded_secret_id(r.secret_id.clone());
    let r3 = c.ensure(&setup2).await.expect("rotate");
    assert_eq!(
        r3.outcome(Step::RootCa),
        Some(Outcome::Updated),
        "{}",
        r3.summary()
    );
    assert_eq!(
        r3.outcome(Step::Intermediate),
        Some(Outcome::Updated),
        "{}",
        r3.summary()
    );
    assert!(
        vault_pki::chains_to(
            r3.intermediate_cert_pem.as_deref().unwrap_or_default(),
            &other.cert_pem
        )
        .expect("chain")
    );
    let ca = c
        .read_ca(&setup.root_mount)
        .await
        .expect("ca")
        .expect("some");
    assert!(vault_pki::intermediate::same_certificate(
        &ca,
        &other.cert_pem
    ));
}
