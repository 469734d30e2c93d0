//! The peer check of [`super::handshake`], as Envoy does it in Istio, for both sides of rustls
//! (each verifier trait with its signature callbacks, on the one SPIFFE check).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName};
use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};

use super::{Peer, invalid};
use crate::certs::CertError;

/// Checks a peer as Envoy does in Istio: a path to one of the bundle's roots now, and the
/// expected SPIFFE ID among its URI SANs.
#[derive(Debug)]
pub(super) struct SpiffeVerifier {
    anchors: Vec<TrustAnchor<'static>>,
    peer_id: String,
    provider: Arc<CryptoProvider>,
}

impl SpiffeVerifier {
    pub(super) fn new(p: &Peer<'_>, provider: &Arc<CryptoProvider>) -> Result<Self, CertError> {
        let mut anchors = Vec::new();
        for block in
            pem::parse_many(p.trust_bundle_pem).map_err(|e| invalid("the trust bundle", e))?
        {
            let der = CertificateDer::from(block.into_contents());
            let anchor = webpki::anchor_from_trusted_cert(&der)
                .map_err(|e| invalid("a root of the trust bundle", format!("{e:?}")))?;
            anchors.push(anchor.to_owned());
        }
        if anchors.is_empty() {
            return Err(invalid("the trust bundle", "no certificate"));
        }
        Ok(SpiffeVerifier {
            anchors,
            peer_id: p.peer_id.to_string(),
            provider: provider.clone(),
        })
    }

    fn check(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
        usage: webpki::KeyUsage,
    ) -> Result<(), rustls::Error> {
        let ee = webpki::EndEntityCert::try_from(leaf)
            .map_err(|e| rustls::Error::General(format!("the peer's certificate: {e:?}")))?;
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &self.anchors,
            intermediates,
            now,
            usage,
            None,
            None,
        )
        .map_err(|e| {
            rustls::Error::General(format!(
                "the peer's chain does not verify under the trust bundle: {e:?}"
            ))
        })?;
        let (_, cert) = x509_parser::parse_x509_certificate(leaf)
            .map_err(|e| rustls::Error::General(format!("the peer's certificate: {e}")))?;
        let mut ids = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for n in &san.value.general_names {
                if let x509_parser::extensions::GeneralName::URI(u) = n {
                    ids.push(u.to_string());
                }
            }
        }
        if ids.contains(&self.peer_id) {
            Ok(())
        } else {
            Err(rustls::Error::General(format!(
                "the peer is {ids:?}, not {}",
                self.peer_id
            )))
        }
    }
}

impl ServerCertVerifier for SpiffeVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(
            end_entity,
            intermediates,
            now,
            webpki::KeyUsage::server_auth(),
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl ClientCertVerifier for SpiffeVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(
            end_entity,
            intermediates,
            now,
            webpki::KeyUsage::client_auth(),
        )?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        ServerCertVerifier::verify_tls12_signature(self, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        ServerCertVerifier::verify_tls13_signature(self, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        ServerCertVerifier::supported_verify_schemes(self)
    }
}
