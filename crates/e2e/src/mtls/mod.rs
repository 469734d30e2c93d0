//! A mutual-TLS handshake between two workloads as their Envoy sidecars do it: each side
//! presents its certificate chain, checks the peer's chain against its own trust bundle (the
//! `istio-ca-root-cert` of its namespace, one or several roots) at the time of the handshake,
//! and checks the peer's SPIFFE ID (its URI SAN), not a host name. The handshake runs in
//! memory with rustls (TLS 1.3 or 1.2, ring), so it needs no port.
//!
//! ```
//! # fn demo(east: e2e::mtls::Workload, west: e2e::mtls::Workload, bundle: &str)
//! #     -> Result<(), e2e::mtls::HandshakeError> {
//! use e2e::mtls::{Peer, handshake};
//! let client = Peer { workload: &east, trust_bundle_pem: bundle, peer_id: "spiffe://cluster.local/ns/b/sa/b" };
//! let server = Peer { workload: &west, trust_bundle_pem: bundle, peer_id: "spiffe://cluster.local/ns/a/sa/a" };
//! handshake(&client, &server)?;
//! # Ok(()) }
//! ```
//!
//! The SPIFFE check itself, for both sides of rustls, is in `verifier.rs`.

mod verifier;

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::{ClientConnection, Connection, ServerConnection};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use vault_pki::SecretString;

use crate::certs::CertError;
use verifier::SpiffeVerifier;

/// A workload's identity material: its chain (leaf first, then intermediates) and key, PEM.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The leaf, then the intermediates (a root at the end is harmless).
    pub chain_pem: Vec<String>,
    /// The leaf's private key (PKCS#8, SEC1 or PKCS#1).
    pub key_pem: SecretString,
}

/// One side of a handshake.
#[derive(Debug, Clone, Copy)]
pub struct Peer<'a> {
    /// What it presents.
    pub workload: &'a Workload,
    /// The roots it trusts, PEM (several during a root rotation).
    pub trust_bundle_pem: &'a str,
    /// The SPIFFE ID it expects of the other side.
    pub peer_id: &'a str,
}

/// Why a handshake did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// A certificate, key or bundle could not be read.
    #[error("{side}: {source}")]
    Input {
        /// `client` or `server`.
        side: &'static str,
        /// What could not be read.
        #[source]
        source: CertError,
    },
    /// rustls refused to build a side's configuration.
    #[error("{side}: TLS configuration: {source}")]
    Config {
        /// `client` or `server`.
        side: &'static str,
        /// rustls' error.
        #[source]
        source: rustls::Error,
    },
    /// The handshake failed: this side refused the other (or the other's alert).
    #[error("the {side} refused the handshake: {source}")]
    Refused {
        /// The side whose processing failed.
        side: &'static str,
        /// rustls' error (for a refused peer: its chain or SPIFFE ID).
        #[source]
        source: rustls::Error,
    },
    /// The byte exchange did not end (a bug).
    #[error("the handshake did not finish after {0} flights")]
    Stalled(usize),
}

/// Runs a handshake between `client` and `server`; `Ok` when both sides accepted the other.
pub fn handshake(client: &Peer<'_>, server: &Peer<'_>) -> Result<(), HandshakeError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client_cfg = client_config(client, &provider)?;
    let server_cfg = server_config(server, &provider)?;
    let name =
        ServerName::try_from("workload.mesh.invalid").map_err(|e| HandshakeError::Config {
            side: "client",
            source: rustls::Error::General(e.to_string()),
        })?;
    let mut c = Connection::Client(ClientConnection::new(Arc::new(client_cfg), name).map_err(
        |source| HandshakeError::Config {
            side: "client",
            source,
        },
    )?);
    let mut s = Connection::Server(ServerConnection::new(Arc::new(server_cfg)).map_err(
        |source| HandshakeError::Config {
            side: "server",
            source,
        },
    )?);
    for _ in 0..16 {
        if !c.is_handshaking() && !s.is_handshaking() {
            return Ok(());
        }
        pump(&mut c, &mut s, "server")?;
        pump(&mut s, &mut c, "client")?;
    }
    Err(HandshakeError::Stalled(16))
}

/// Moves what `from` has to send into `to`, and lets `to` (named `to_side`) process it.
fn pump(
    from: &mut Connection,
    to: &mut Connection,
    to_side: &'static str,
) -> Result<(), HandshakeError> {
    let io = |e: std::io::Error| HandshakeError::Refused {
        side: to_side,
        source: rustls::Error::General(e.to_string()),
    };
    let mut buf = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut buf).map_err(io)?;
    }
    let mut rd = &buf[..];
    while !rd.is_empty() {
        to.read_tls(&mut rd).map_err(io)?;
        to.process_new_packets()
            .map_err(|source| HandshakeError::Refused {
                side: to_side,
                source,
            })?;
    }
    Ok(())
}

fn client_config(
    p: &Peer<'_>,
    provider: &Arc<CryptoProvider>,
) -> Result<rustls::ClientConfig, HandshakeError> {
    let side = "client";
    let (chain, key) =
        material(p.workload).map_err(|source| HandshakeError::Input { side, source })?;
    let verifier = SpiffeVerifier::new(p, provider)
        .map_err(|source| HandshakeError::Input { side, source })?;
    let config = |source| HandshakeError::Config { side, source };
    rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(config)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(chain, key)
        .map_err(config)
}

fn server_config(
    p: &Peer<'_>,
    provider: &Arc<CryptoProvider>,
) -> Result<rustls::ServerConfig, HandshakeError> {
    let side = "server";
    let (chain, key) =
        material(p.workload).map_err(|source| HandshakeError::Input { side, source })?;
    let verifier = SpiffeVerifier::new(p, provider)
        .map_err(|source| HandshakeError::Input { side, source })?;
    let config = |source| HandshakeError::Config { side, source };
    rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(config)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(chain, key)
        .map_err(config)
}

fn invalid(what: &str, reason: impl std::fmt::Display) -> CertError {
    CertError::Invalid {
        what: what.into(),
        reason: reason.to_string(),
    }
}

/// The chain as DER and the key.
fn material(
    w: &Workload,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), CertError> {
    let mut chain = Vec::new();
    for pem_text in &w.chain_pem {
        for block in pem::parse_many(pem_text).map_err(|e| invalid("the workload chain", e))? {
            chain.push(CertificateDer::from(block.into_contents()));
        }
    }
    if chain.is_empty() {
        return Err(invalid("the workload chain", "no certificate"));
    }
    let block =
        pem::parse(w.key_pem.expose_secret()).map_err(|e| invalid("the workload key", e))?;
    let key = match block.tag() {
        "PRIVATE KEY" => PrivateKeyDer::Pkcs8(block.into_contents().into()),
        "EC PRIVATE KEY" => PrivateKeyDer::Sec1(block.into_contents().into()),
        "RSA PRIVATE KEY" => PrivateKeyDer::Pkcs1(block.into_contents().into()),
        other => return Err(invalid("the workload key", format!("a {other} PEM block"))),
    };
    Ok((chain, key))
}

/// A workload key (ECDSA P-256, PKCS#8 PEM) and a CSR for `identity` (one URI SAN, no
/// subject), as a proxy sends to the mesh's CA.
pub fn workload_key_and_csr(identity: &str) -> Result<(SecretString, String), CertError> {
    let key = rcgen::KeyPair::generate().map_err(|e| invalid("generating a key", e))?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    let uri = rcgen::string::Ia5String::try_from(identity.to_string())
        .map_err(|e| invalid("the URI SAN", e))?;
    params.subject_alt_names = vec![rcgen::SanType::URI(uri)];
    let csr = params
        .serialize_request(&key)
        .and_then(|c| c.pem())
        .map_err(|e| invalid("building the CSR", e))?;
    Ok((SecretString::new(key.serialize_pem()), csr))
}

/// A new self-signed root (ECDSA P-256) and, for each of `ids`, a workload certificate it
/// signs (server and client auth, that URI SAN): a mesh of its own, e.g. the foreign root a
/// handshake must refuse.
pub fn workloads_of_new_root(ids: &[&str]) -> Result<(String, Vec<Workload>), CertError> {
    let made = |e: rcgen::Error| invalid("making a test certificate", e);
    let root_key = rcgen::KeyPair::generate().map_err(made)?;
    let mut rp = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(made)?;
    rp.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    rp.distinguished_name
        .push(rcgen::DnType::CommonName, "a root of its own");
    let root = rp.self_signed(&root_key).map_err(made)?;
    let issuer = rcgen::Issuer::new(rp, root_key);
    let mut workloads = Vec::new();
    for id in ids {
        let key = rcgen::KeyPair::generate().map_err(made)?;
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(made)?;
        let uri = rcgen::string::Ia5String::try_from(id.to_string())
            .map_err(|e| invalid("the URI SAN", e))?;
        p.subject_alt_names = vec![rcgen::SanType::URI(uri)];
        p.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = p.signed_by(&key, &issuer).map_err(made)?;
        workloads.push(Workload {
            chain_pem: vec![cert.pem()],
            key_pem: SecretString::new(key.serialize_pem()),
        });
    }
    Ok((root.pem(), workloads))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mesh(ids: &[&str]) -> (String, Vec<Workload>) {
        workloads_of_new_root(ids).expect("a root and its workloads")
    }

    const A: &str = "spiffe://cluster.local/ns/a/sa/a";
    const B: &str = "spiffe://cluster.local/ns/b/sa/b";

    #[test]
    fn peers_of_one_root_with_the_expected_ids_shake_hands() {
        let (root, w) = mesh(&[A, B]);
        let client = Peer {
            workload: &w[0],
            trust_bundle_pem: &root,
            peer_id: B,
        };
        let server = Peer {
            workload: &w[1],
            trust_bundle_pem: &root,
            peer_id: A,
        };
        handshake(&client, &server).expect("handshake");
    }

    #[test]
    fn a_peer_of_a_foreign_root_or_with_another_id_is_refused() {
        let (root, w) = mesh(&[A, B]);
        let (_, foreign) = mesh(&[A]);
        let server = Peer {
            workload: &w[1],
            trust_bundle_pem: &root,
            peer_id: A,
        };
        let stranger = Peer {
            workload: &foreign[0],
            trust_bundle_pem: &root,
            peer_id: B,
        };
        let e = handshake(&stranger, &server).expect_err("foreign root");
        assert!(e.to_string().contains("does not verify"), "{e}");
        let client = Peer {
            workload: &w[0],
            trust_bundle_pem: &root,
            peer_id: "spiffe://cluster.local/ns/x/sa/x",
        };
        let e = handshake(&client, &server).expect_err("wrong id");
        assert!(
            e.to_string()
                .contains("not spiffe://cluster.local/ns/x/sa/x"),
            "{e}"
        );
    }

    #[test]
    fn a_bundle_of_two_roots_trusts_both() {
        let (r1, w1) = mesh(&[A]);
        let (r2, w2) = mesh(&[B]);
        let both = format!("{r1}{r2}");
        let client = Peer {
            workload: &w1[0],
            trust_bundle_pem: &both,
            peer_id: B,
        };
        let server = Peer {
            workload: &w2[0],
            trust_bundle_pem: &both,
            peer_id: A,
        };
        handshake(&client, &server).expect("handshake across the overlap");
    }
}
