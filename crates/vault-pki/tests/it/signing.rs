//! The AppRole token signs a SPIFFE workload CSR, the result chains to the root under an
//! independent verifier (rustls-webpki), and the same token is refused anywhere else.

use std::time::Duration;

use rustls_pki_types::{CertificateDer, UnixTime};
use vault_pki::{Error, PkiSetup, SignOptions};
use x509_parser::prelude::*;

use crate::common::{client, workload_csr};

const SPIFFE_ID: &str = "spiffe://cluster.local/ns/foo/sa/sleep";

fn der(pem_text: &str) -> Vec<u8> {
    ::pem::parse(pem_text).expect("pem").contents().to_vec()
}

#[tokio::test]
async fn approle_token_signs_a_spiffe_csr_that_chains_to_the_root_and_nothing_else() {
    let c = client();
    let setup = PkiSetup::with_prefix("sign");
    let r = c.ensure(&setup).await.expect("ensure");
    let root_pem = r.root_ca_pem.clone().expect("root");
    let role_id = r.role_id.clone().expect("role-id");
    let sid = r.secret_id.clone().expect("secret-id");

    let login = c
        .approle_login(&setup.approle_mount, &role_id, &sid.secret_id)
        .await
        .expect("login");
    assert!(
        login.policies.contains(&setup.policy_name),
        "{:?}",
        login.policies
    );
    assert_eq!(login.lease_duration, 3600, "token_ttl 1h");
    assert!(
        !format!("{login:?}").contains(login.token.expose_secret()),
        "token hidden in Debug"
    );
    let app = c.with_token(&login.token).expect("client");

    // `istioca/sign/cluster-local` in the seed's names, with this test's prefix.
    let csr = workload_csr(SPIFFE_ID);
    let signed = app
        .sign_csr(
            &setup.intermediate_mount,
            &setup.role.name,
            &csr,
            &SignOptions::default(),
        )
        .await
        .expect("sign");

    // The leaf: no CN, the SPIFFE URI SAN.
    let leaf_der = der(&signed.certificate_pem);
    let (_, leaf) = X509Certificate::from_der(&leaf_der).expect("leaf");
    assert_eq!(leaf.subject().iter_common_name().count(), 0, "no CN");
    let san = leaf.subject_alternative_name().expect("ext").expect("SAN");
    let uris: Vec<String> = san
        .value
        .general_names
        .iter()
        .filter_map(|g| match g {
            GeneralName::URI(u) => Some(u.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(uris, vec![SPIFFE_ID.to_string()]);

    // Independent check: rustls-webpki, root as the only trust anchor, the intermediate as
    // the only intermediate, at a fixed time (one minute after the leaf's notBefore).
    let at = leaf.validity().not_before.timestamp() as u64 + 60;
    let root_der = CertificateDer::from(der(&root_pem));
    let anchor = webpki::anchor_from_trusted_cert(&root_der).expect("anchor");
    let int_der = CertificateDer::from(der(&signed.issuing_ca_pem));
    let leaf_cd = CertificateDer::from(leaf_der.clone());
    let ee = webpki::EndEntityCert::try_from(&leaf_cd).expect("ee");
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        std::slice::from_ref(&int_der),
        UnixTime::since_unix_epoch(Duration::from_secs(at)),
        webpki::KeyUsage::client_auth(),
        None,
        None,
    )
    .expect("the workload certificate chains to the root");
    // The chain the mount returns reaches the root (cert-manager builds ca.crt from it).
    assert!(
        signed
            .ca_chain_pem
            .iter()
            .any(|c| vault_pki::intermediate::same_certificate(c, &root_pem)),
        "ca_chain includes the root"
    );
    // And a different root does not verify it.
    let other = vault_pki::generate_root_ca("Other", Duration::from_secs(86400)).expect("other");
    let other_der = CertificateDer::from(der(&other.cert_pem));
    let other_anchor = webpki::anchor_from_trusted_cert(&other_der).expect("anchor");
    assert!(
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &[other_anchor],
            std::slice::from_ref(&int_der),
            UnixTime::since_unix_epoch(Duration::from_secs(at)),
            webpki::KeyUsage::client_auth(),
            None,
            None,
        )
        .is_err()
    );

    // A CSR the role does not allow is rejected with Vault's message.
    let bad = workload_csr("spiffe://other.domain/ns/foo/sa/sleep");
    match app
        .sign_csr(
            &setup.intermediate_mount,
            &setup.role.name,
            &bad,
            &SignOptions::default(),
        )
        .await
    {
        Err(Error::Rejected {
            status: 400,
            errors,
            path,
        }) => {
            assert!(path.ends_with("/sign/cluster-local"), "{path}");
            assert!(!errors.is_empty());
        }
        other => panic!("expected a rejection, got {other:?}"),
    }

    // The same token anywhere else: 403 naming the path.
    let denied = |r: Result<(), Error>, want: &str| match r {
        Err(Error::PermissionDenied { path, .. }) => assert_eq!(path, want),
        other => panic!("expected 403 at {want}, got {other:?}"),
    };
    denied(
        app.sign_csr(
            &setup.root_mount,
            &setup.role.name,
            &csr,
            &SignOptions::default(),
        )
        .await
        .map(|_| ()),
        &format!("{}/sign/{}", setup.root_mount, setup.role.name),
    );
    denied(
        app.read_pki_role(&setup.intermediate_mount, &setup.role.name)
            .await
            .map(|_| ()),
        &format!("{}/roles/{}", setup.intermediate_mount, setup.role.name),
    );
    // (Listing issuers is unauthenticated in Vault, so it is no test of the policy.)
    denied(
        app.generate_intermediate(
            &setup.intermediate_mount,
            "x",
            vault_pki::KeyExport::Internal,
        )
        .await
        .map(|_| ()),
        &format!(
            "{}/intermediate/generate/internal",
            setup.intermediate_mount
        ),
    );
    denied(app.list_mounts().await.map(|_| ()), "sys/mounts");
    denied(
        app.create_secret_id(&setup.approle_mount, &setup.approle_role)
            .await
            .map(|_| ()),
        &format!(
            "auth/{}/role/{}/secret-id",
            setup.approle_mount, setup.approle_role
        ),
    );
    denied(
        app.write_policy(
            "escalate",
            &vault_pki::Policy::new().path("*", [vault_pki::Capability::Sudo]),
        )
        .await,
        "sys/policies/acl/escalate",
    );
}
