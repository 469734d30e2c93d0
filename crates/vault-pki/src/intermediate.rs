//! The intermediate CA: generate its key and CSR, sign it with the root, install it.

use std::time::Duration;

use crate::client::PkiClient;
use crate::error::{Error, Result};
use crate::mount::ttl_str;
use crate::secret::SecretString;
use crate::setup::KeyExport;

/// What `intermediate/generate` returned.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GeneratedIntermediate {
    /// The CSR, PEM.
    pub csr_pem: String,
    /// The private key, PEM: only for [`KeyExport::Exported`].
    pub private_key_pem: Option<SecretString>,
}

/// What `root/sign-intermediate` returned.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignedIntermediate {
    /// The `certificate` field: with `format=pem_bundle`, the certificate (and chain).
    pub certificate_pem: String,
    /// The issuing CA, PEM.
    pub issuing_ca_pem: String,
    /// Its serial number.
    pub serial_number: String,
}

impl PkiClient {
    /// Generates an intermediate key and CSR in a PKI mount.
    ///
    /// * Path: `{mount}/intermediate/generate/{exported|internal}`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#generate-intermediate-csr>
    pub async fn generate_intermediate(
        &self,
        mount: &str,
        common_name: &str,
        export: KeyExport,
    ) -> Result<GeneratedIntermediate> {
        let kind = match export {
            KeyExport::Exported => "exported",
            KeyExport::Internal => "internal",
        };
        let p = format!("{mount}/intermediate/generate/{kind}");
        // Never retried: each call makes a new key, and an exported one is returned only in
        // this answer; a retry after a lost answer would orphan the first key.
        let r = self
            .call_once(&p, |c| {
                vaultrs::pki::cert::ca::int::generate(c, mount, kind, common_name, None)
            })
            .await?;
        let key = r
            .private_key
            .filter(|k| !k.is_empty())
            .map(SecretString::new);
        if export == KeyExport::Exported && key.is_none() {
            return Err(Error::UnexpectedResponse {
                path: p,
                reason: "no private_key in an exported generate".into(),
            });
        }
        Ok(GeneratedIntermediate {
            csr_pem: r.csr,
            private_key_pem: key,
        })
    }

    /// Signs an intermediate CSR with the root mount's CA (`format=pem_bundle`).
    ///
    /// * Path: `{root_mount}/root/sign-intermediate`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#sign-intermediate>
    pub async fn sign_intermediate(
        &self,
        root_mount: &str,
        csr_pem: &str,
        common_name: &str,
        ttl: Duration,
    ) -> Result<SignedIntermediate> {
        crate::pem::check_csr(csr_pem, "intermediate CSR")?;
        let p = format!("{root_mount}/root/sign-intermediate");
        let r = self
            .call(&p, |c| {
                let mut b = vaultrs::api::pki::requests::SignIntermediateRequest::builder();
                b.format("pem_bundle").ttl(ttl_str(ttl));
                async move {
                    vaultrs::pki::cert::ca::sign_intermediate(
                        c,
                        root_mount,
                        csr_pem,
                        common_name,
                        Some(&mut b),
                    )
                    .await
                }
            })
            .await?;
        Ok(SignedIntermediate {
            certificate_pem: r.certificate,
            issuing_ca_pem: r.issuing_ca,
            serial_number: r.serial_number,
        })
    }

    /// Installs the signed intermediate (and its chain) in its mount; returns the ids of the
    /// issuers Vault imported.
    ///
    /// * Path: `{mount}/intermediate/set-signed`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#import-ca-certificates-and-keys>
    pub async fn set_signed_intermediate(
        &self,
        mount: &str,
        certificate_pem: &str,
    ) -> Result<Vec<String>> {
        crate::pem::parse_certificates(certificate_pem.as_bytes(), "signed intermediate")?;
        let p = format!("{mount}/intermediate/set-signed");
        let r = self
            .call(&p, |c| {
                vaultrs::pki::cert::ca::int::set_signed(c, mount, certificate_pem)
            })
            .await?;
        Ok(r.imported_issuers.unwrap_or_default())
    }
}

/// Whether `cert_pem` (its first certificate) is signed by `issuer_pem`'s key, names it as
/// issuer, and is valid now.
pub fn chains_to(cert_pem: &str, issuer_pem: &str) -> Result<bool> {
    use x509_parser::prelude::*;
    let cert_der = crate::pem::parse_certificates(cert_pem.as_bytes(), "certificate")?;
    let issuer_der = crate::pem::parse_certificate(issuer_pem, "issuer certificate")?;
    let first = cert_der
        .first()
        .ok_or_else(|| Error::pem("certificate", "empty"))?;
    let (_, cert) = X509Certificate::from_der(first).map_err(|e| Error::pem("certificate", e))?;
    let (_, issuer) =
        X509Certificate::from_der(&issuer_der).map_err(|e| Error::pem("issuer certificate", e))?;
    Ok(cert.issuer() == issuer.subject()
        && cert.verify_signature(Some(issuer.public_key())).is_ok()
        && cert.validity().is_valid())
}

/// Whether two PEM certificates are the same certificate.
pub fn same_certificate(a_pem: &str, b_pem: &str) -> bool {
    match (
        crate::pem::parse_certificates(a_pem.as_bytes(), "certificate"),
        crate::pem::parse_certificates(b_pem.as_bytes(), "certificate"),
    ) {
        (Ok(a), Ok(b)) => a.first() == b.first(),
        _ => false,
    }
}
