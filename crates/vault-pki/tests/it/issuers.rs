//! The rotation primitives on a real OpenBao: a second root imported beside the first (the
//! default stays), a new intermediate signed by it installed as the default while the old one
//! stays, leaves of both verifying under their own root, and issuers removed.

use std::time::Duration;

use vault_pki::issuer::NewIntermediate;
use vault_pki::{KeyExport, PkiSetup, SignOptions, chains_to, generate_root_ca};

use crate::common::{client, workload_csr};

#[tokio::test]
async fn a_second_root_signs_a_new_default_intermediate_while_the_old_issuers_stay() {
    let c = client();
    let setup = PkiSetup::with_prefix("issuers");
    let first = c.ensure(&setup).await.expect("ensure");
    let r1 = first.root_ca_pem.clone().expect("root");
    let old_int = first.intermediate_cert_pem.clone().expect("intermediate");
    let r1_issuer = c
        .find_issuer(&setup.root_mount, &r1)
        .await
        .expect("find")
        .expect("R1 is an issuer");

    // R2 beside R1: importing twice names the same issuer; the default stays R1.
    let r2 = generate_root_ca("issuers root 2", Duration::from_secs(3600 * 24)).expect("R2");
    let ids = c
        .import_issuers(&setup.root_mount, &r2)
        .await
        .expect("import");
    let again = c
        .import_issuers(&setup.root_mount, &r2)
        .await
        .expect("again");
    let r2_issuer = c
        .find_issuer(&setup.root_mount, &r2.cert_pem)
        .await
        .expect("find")
        .expect("R2 is an issuer");
    assert!(ids.contains(&r2_issuer.issuer_id), "{ids:?}");
    assert!(again.contains(&r2_issuer.issuer_id), "{again:?}");
    let default = c
        .read_issuer(&setup.root_mount, "default")
        .await
        .expect("as set up")
        .expect("as set up");
    assert_eq!(
        default.issuer_id, r1_issuer.issuer_id,
        "R1 stays the default"
    );

    // A new intermediate signed by R2 becomes the default; the key is handed over first.
    let mut kept = 0;
    let new = NewIntermediate {
        mount: &setup.intermediate_mount,
        root_mount: &setup.root_mount,
        root_issuer_ref: &r2_issuer.issuer_id,
        common_name: &setup.intermediate_common_name,
        ttl: Duration::from_secs(3600 * 12),
        key: KeyExport::Exported,
    };
    let installed = c
        .install_intermediate(&new, &mut |_| {
            kept += 1;
            Ok(())
        })
        .await
        .expect("install");
    assert_eq!(kept, 1, "the exported key is handed over once");
    assert!(installed.key_pem.is_some());
    assert!(chains_to(&installed.certificate_pem, &r2.cert_pem).expect("as set up"));
    assert!(
        installed.ca_chain_pem.contains(r2.cert_pem.trim()),
        "the chain ends at R2"
    );
    let default = c
        .read_issuer(&setup.intermediate_mount, "default")
        .await
        .expect("as set up")
        .expect("as set up");
    assert_eq!(default.issuer_id, installed.issuer_id);
    let old = c
        .find_issuer(&setup.intermediate_mount, &old_int)
        .await
        .expect("as set up")
        .expect("the old intermediate stays for verification");

    // The role signs with the new default now: the leaf chains to R2, not to R1.
    let csr = workload_csr("spiffe://cluster.local/ns/foo/sa/sleep");
    let mut opts = SignOptions::default();
    opts.ttl = Some(Duration::from_secs(3600));
    let leaf = c
        .sign_csr(&setup.intermediate_mount, &setup.role.name, &csr, &opts)
        .await
        .expect("sign");
    assert!(chains_to(&leaf.certificate_pem, &installed.certificate_pem).expect("as set up"));
    assert!(!chains_to(&leaf.certificate_pem, &old_int).expect("as set up"));

    // A role pinned to the old issuer (issuer_ref) signs with it although the default moved.
    let mut pinned = setup.role.clone();
    pinned.name = "pinned".into();
    pinned.issuer_ref = old.issuer_id.clone();
    c.write_pki_role(&setup.intermediate_mount, &pinned)
        .await
        .expect("pinned role");
    let have = c
        .read_pki_role(&setup.intermediate_mount, "pinned")
        .await
        .expect("read")
        .expect("role");
    assert_eq!(have.issuer_ref, old.issuer_id);
    assert!(pinned.diff(&have).is_empty(), "{:?}", pinned.diff(&have));
    let by_old = c
        .sign_csr(&setup.intermediate_mount, "pinned", &csr, &opts)
        .await
        .expect("sign pinned");
    assert!(chains_to(&by_old.certificate_pem, &old_int).expect("as set up"));

    // The old intermediate cross-signed by R2: same key and subject, R2 its issuer.
    let cross = c
        .cross_sign(
            &setup.intermediate_mount,
            &old.issuer_id,
            &setup.root_mount,
            &r2_issuer.issuer_id,
            Duration::from_secs(3600 * 6),
        )
        .await
        .expect("cross-sign");
    assert!(
        chains_to(&cross, &r2.cert_pem).expect("as set up"),
        "signed by R2"
    );
    assert!(
        chains_to(&by_old.certificate_pem, &cross).expect("as set up"),
        "same key"
    );
    let default_now = c
        .read_issuer(&setup.intermediate_mount, "default")
        .await
        .expect("read")
        .expect("default");
    assert_eq!(
        default_now.issuer_id, installed.issuer_id,
        "the default stays"
    );

    // ensure keeps the new intermediate only once R2 is the root's default: make it so.
    c.set_default_issuer(&setup.root_mount, &r2_issuer.issuer_id)
        .await
        .expect("R2 default");
    let setup2 = setup
        .clone()
        .with_root_ca(r2.cert_pem.clone(), r2.key_pem.clone());
    let rerun = c.ensure(&setup2).await.expect("ensure after rotation");
    assert_eq!(
        rerun.intermediate_cert_pem.as_deref().map(str::trim),
        Some(installed.certificate_pem.trim()),
        "ensure keeps the rotated intermediate"
    );

    // Retire: the old intermediate and R1 removed; removing again succeeds.
    pinned.issuer_ref = "default".into();
    c.write_pki_role(&setup.intermediate_mount, &pinned)
        .await
        .expect("unpin");
    c.delete_issuer(&setup.intermediate_mount, &old.issuer_id)
        .await
        .expect("delete");
    c.delete_issuer(&setup.intermediate_mount, &old.issuer_id)
        .await
        .expect("again");
    c.delete_issuer(&setup.root_mount, &r1_issuer.issuer_id)
        .await
        .expect("R1");
    assert!(
        c.find_issuer(&setup.intermediate_mount, &old_int)
            .await
            .expect("as set up")
            .is_none()
    );
    assert!(
        c.find_issuer(&setup.root_mount, &r1)
            .await
            .expect("as set up")
            .is_none()
    );
    // Vault's own tidy of expired issuers is accepted (none has expired: nothing goes).
    c.tidy_expired_issuers(&setup.intermediate_mount, Duration::from_secs(3600))
        .await
        .expect("tidy");
    let setup3 = setup2.with_recorded_secret_id(rerun.secret_id.clone());
    let after = c.ensure(&setup3).await.expect("ensure after retiring");
    assert!(!after.changed(), "{}", after.summary());
}
