//! Real TLS to OpenBao with the ring provider: CA from memory and from a file, the
//! explicit insecure opt-in, an untrusted server, and mutual TLS on a second listener.

use std::time::Duration;

use vault_pki::dev_server::{DevServer, DevServerOptions, free_port_pair};
use vault_pki::{Error, PkiClient, PkiSetup, RetryPolicy, VaultConfig};

fn cfg(s: &DevServer) -> VaultConfig {
    VaultConfig::new(s.addr())
        .with_token(s.root_token().clone())
        .with_retry(RetryPolicy::none())
}

#[tokio::test]
async fn tls_with_ca_from_memory_file_insecure_and_untrusted() {
    let s = DevServer::start(DevServerOptions::tls()).expect("TLS server");
    assert!(s.addr().starts_with("https://"));
    let ca_pem = s.ca_cert_pem().expect("CA");

    // CA in memory: the whole setup over TLS.
    let c = PkiClient::new(cfg(&s).with_ca_pem(ca_pem.clone())).expect("client");
    let r = c
        .ensure(&PkiSetup::with_prefix("tls"))
        .await
        .expect("ensure over TLS");
    assert!(r.changed());

    // CA from a file (what VAULT_CACERT names).
    let c = PkiClient::new(cfg(&s).with_ca_file(s.ca_cert_path().expect("path"))).expect("client");
    assert!(!c.health().await.expect("health").sealed);

    // Explicit opt-in to skip verification.
    let c = PkiClient::new(cfg(&s).danger_insecure_skip_verify()).expect("client");
    assert!(!c.health().await.expect("health").sealed);

    // Another CA: the handshake fails, reported as unreachable with the TLS cause.
    let other =
        vault_pki::generate_root_ca("Not the server's CA", Duration::from_secs(3600)).expect("ca");
    let c = PkiClient::new(cfg(&s).with_ca_pem(other.cert_pem)).expect("client");
    let e = c.health().await.expect_err("untrusted");
    assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
}

/// Makes a CA, a server certificate for 127.0.0.1 and a client certificate, with rcgen.
fn mtls_material(dir: &std::path::Path) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_p = CertificateParams::default();
    ca_p.distinguished_name
        .push(DnType::CommonName, "mTLS test CA");
    ca_p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_p.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca_p, ca_key);

    let srv_key = KeyPair::generate().expect("key");
    let mut srv_p = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    srv_p
        .subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    let srv = srv_p.signed_by(&srv_key, &issuer).expect("server cert");

    let cli_key = KeyPair::generate().expect("key");
    let mut cli_p = CertificateParams::default();
    cli_p
        .distinguished_name
        .push(DnType::CommonName, "vault-pki test client");
    let cli = cli_p.signed_by(&cli_key, &issuer).expect("client cert");

    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write");
    std::fs::write(dir.join("server.pem"), srv.pem()).expect("write");
    std::fs::write(dir.join("server-key.pem"), srv_key.serialize_pem()).expect("write");
    (ca.pem(), cli.pem(), cli_key.serialize_pem())
}

#[tokio::test]
async fn mutual_tls_listener_requires_the_client_certificate() {
    let dir = tempfile::tempdir().expect("dir");
    let (ca, cli_cert, cli_key) = mtls_material(dir.path());
    let port = free_port_pair().expect("port");
    let d = dir.path().display();
    let hcl = format!(
        "listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  cluster_address = \"127.0.0.1:{p1}\"\n  tls_cert_file = \"{d}/server.pem\"\n  tls_key_file = \"{d}/server-key.pem\"\n  tls_require_and_verify_client_cert = true\n  tls_client_ca_file = \"{d}/ca.pem\"\n}}\n",
        p1 = port + 1
    );
    let mut opts = DevServerOptions::default();
    opts.extra_config_hcl = Some(hcl);
    let s = DevServer::start(opts).expect("server with an mTLS listener");
    let addr = format!("https://127.0.0.1:{port}");
    let base = VaultConfig::new(&addr)
        .with_token(s.root_token().clone())
        .with_ca_pem(ca)
        .with_retry(RetryPolicy::none());

    let c = PkiClient::new(base.clone().with_client_identity(cli_cert, cli_key)).expect("client");
    let r = c
        .ensure(&PkiSetup::with_prefix("mtls"))
        .await
        .expect("ensure over mTLS");
    assert!(r.changed());

    let e = PkiClient::new(base)
        .expect("client")
        .health()
        .await
        .expect_err("no client cert");
    assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
}
