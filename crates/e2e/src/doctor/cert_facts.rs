//! What the doctor reads off a certificate: subject, whether it is self-signed and a CA, and
//! its validity.

use crate::certs::CertError;

/// Facts of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// The subject, as text.
    pub subject: String,
    /// Subject equals issuer and its own key verifies its signature.
    pub self_signed: bool,
    /// basicConstraints CA:true.
    pub is_ca: bool,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
}

impl CertFacts {
    /// The facts of the first certificate in `pem_text`.
    pub fn of(pem_text: &str) -> Result<CertFacts, CertError> {
        let bad = |reason: String| CertError::Invalid {
            what: "the certificate".into(),
            reason,
        };
        let block = pem::parse(pem_text).map_err(|e| bad(e.to_string()))?;
        let (_, cert) = x509_parser::parse_x509_certificate(block.contents())
            .map_err(|e| bad(e.to_string()))?;
        let self_signed = cert.subject() == cert.issuer() && cert.verify_signature(None).is_ok();
        let is_ca = cert
            .basic_constraints()
            .ok()
            .flatten()
            .is_some_and(|b| b.value.ca);
        Ok(CertFacts {
            subject: cert.subject().to_string(),
            self_signed,
            is_ca,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
        })
    }

    /// Seconds left at `now` (negative when expired).
    pub fn seconds_left(&self, now: i64) -> i64 {
        self.not_after - now
    }
}

/// Now, in Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
