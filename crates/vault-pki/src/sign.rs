//! Signing a CSR at a role: what cert-manager's Vault issuer does.

use std::time::Duration;

use crate::client::PkiClient;
use crate::error::Result;
use crate::mount::ttl_str;

/// A signed certificate.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignedCertificate {
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// The issuing CA, PEM.
    pub issuing_ca_pem: String,
    /// The chain (issuing CA up to the root as far as the mount knows), PEM each.
    pub ca_chain_pem: Vec<String>,
    /// Its serial number.
    pub serial_number: String,
    /// Its expiry (Unix seconds).
    pub expiration: u64,
}

/// Optional fields of a sign request.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SignOptions {
    /// `common_name` (empty: none, as for SPIFFE workload CSRs).
    pub common_name: String,
    /// `uri_sans`, comma-separated in the request.
    pub uri_sans: Vec<String>,
    /// `alt_names` (DNS names).
    pub alt_names: Vec<String>,
    /// `ttl`.
    pub ttl: Option<Duration>,
}

impl PkiClient {
    /// Signs a CSR at `<mount>/sign/<role>` (no common name unless given).
    ///
    /// * Path: `{mount}/sign/{role}`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#sign-certificate>
    pub async fn sign_csr(
        &self,
        mount: &str,
        role: &str,
        csr_pem: &str,
        opts: &SignOptions,
    ) -> Result<SignedCertificate> {
        crate::pem::check_csr(csr_pem, "CSR")?;
        self.sign_csr_unchecked(mount, role, csr_pem, opts).await
    }

    /// [`PkiClient::sign_csr`] without the local CSR check (Vault still checks it).
    ///
    /// * Path: `{mount}/sign/{role}`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#sign-certificate>
    pub async fn sign_csr_unchecked(
        &self,
        mount: &str,
        role: &str,
        csr_pem: &str,
        opts: &SignOptions,
    ) -> Result<SignedCertificate> {
        let p = format!("{mount}/sign/{role}");
        let r = self
            .call(&p, |c| {
                let mut b = vaultrs::api::pki::requests::SignCertificateRequest::builder();
                if !opts.uri_sans.is_empty() {
                    b.uri_sans(opts.uri_sans.join(","));
                }
                if !opts.alt_names.is_empty() {
                    b.alt_names(opts.alt_names.join(","));
                }
                if let Some(t) = opts.ttl {
                    b.ttl(ttl_str(t));
                }
                async move {
                    vaultrs::pki::cert::ca::sign(
                        c,
                        mount,
                        role,
                        csr_pem,
                        &opts.common_name,
                        Some(&mut b),
                    )
                    .await
                }
            })
            .await?;
        Ok(SignedCertificate {
            certificate_pem: r.certificate,
            issuing_ca_pem: r.issuing_ca,
            ca_chain_pem: r.ca_chain.unwrap_or_default(),
            serial_number: r.serial_number,
            expiration: r.expiration,
        })
    }
}
