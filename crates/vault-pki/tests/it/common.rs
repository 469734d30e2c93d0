//! The shared server and helpers.

use std::sync::OnceLock;

use vault_pki::dev_server::{DevServer, DevServerOptions};
use vault_pki::{PkiClient, VaultConfig};

static SERVER: OnceLock<DevServer> = OnceLock::new();

/// The binary's shared OpenBao dev server (started on first use; a watchdog ends it with
/// the process).
pub fn server() -> &'static DevServer {
    SERVER.get_or_init(|| match DevServer::start(DevServerOptions::default()) {
        Ok(s) => s,
        Err(e) => panic!("cannot start OpenBao for the tests: {e}"),
    })
}

/// A root-token client for a server.
pub fn root_client(s: &DevServer) -> PkiClient {
    let cfg = VaultConfig::new(s.addr()).with_token(s.root_token().clone());
    PkiClient::new(cfg).expect("client")
}

/// A root-token client for the shared server.
pub fn client() -> PkiClient {
    root_client(server())
}

/// A SPIFFE workload CSR (no CN, one URI SAN), made with rcgen, and its key.
pub fn workload_csr(spiffe_id: &str) -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.subject_alt_names = vec![rcgen::SanType::URI(
        rcgen::string::Ia5String::try_from(spiffe_id).expect("uri"),
    )];
    params
        .serialize_request(&key)
        .expect("csr")
        .pem()
        .expect("pem")
}
