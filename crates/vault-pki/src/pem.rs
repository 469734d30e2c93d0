//! PEM helpers: parse and validate certificates, keys and CSRs before they reach Vault.

use crate::error::{Error, Result};

/// Parses every `CERTIFICATE` block of a PEM bundle; fails if there is none or one is not
/// a valid X.509 certificate.
pub fn parse_certificates(pem_text: &[u8], what: &str) -> Result<Vec<Vec<u8>>> {
    let blocks = pem::parse_many(pem_text).map_err(|e| Error::pem(what, e))?;
    let mut out = Vec::new();
    for b in blocks {
        if b.tag() == "CERTIFICATE" {
            x509_parser::parse_x509_certificate(b.contents())
                .map_err(|e| Error::pem(what, format!("certificate {}: {e}", out.len() + 1)))?;
            out.push(b.contents().to_vec());
        }
    }
    if out.is_empty() {
        return Err(Error::pem(what, "no CERTIFICATE block found"));
    }
    Ok(out)
}

/// Checks that `pem_text` holds exactly one valid certificate and returns its DER.
pub fn parse_certificate(pem_text: &str, what: &str) -> Result<Vec<u8>> {
    let mut certs = parse_certificates(pem_text.as_bytes(), what)?;
    match certs.len() {
        1 => Ok(certs.remove(0)),
        n => Err(Error::pem(
            what,
            format!("expected one certificate, found {n}"),
        )),
    }
}

/// Checks that `pem_text` holds a private key block.
pub fn check_private_key(pem_text: &str, what: &str) -> Result<()> {
    let blocks = pem::parse_many(pem_text).map_err(|e| Error::pem(what, e))?;
    if blocks.iter().any(|b| b.tag().ends_with("PRIVATE KEY")) {
        Ok(())
    } else {
        Err(Error::pem(what, "no PRIVATE KEY block found"))
    }
}

/// Checks that `pem_text` holds one valid PKCS#10 certificate request.
pub fn check_csr(pem_text: &str, what: &str) -> Result<()> {
    let block = pem::parse(pem_text).map_err(|e| Error::pem(what, e))?;
    if block.tag() != "CERTIFICATE REQUEST" && block.tag() != "NEW CERTIFICATE REQUEST" {
        return Err(Error::pem(
            what,
            format!("expected CERTIFICATE REQUEST, found {}", block.tag()),
        ));
    }
    <x509_parser::certification_request::X509CertificationRequest as x509_parser::prelude::FromDer<_>>::from_der(block.contents())
        .map_err(|e| Error::pem(what, e))?;
    Ok(())
}

/// Encodes DER as a PEM `CERTIFICATE`.
pub fn cert_to_pem(der: &[u8]) -> String {
    let cfg = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new("CERTIFICATE", der.to_vec()), cfg)
}

/// Re-encodes the first certificate of a PEM text in this crate's normal form (LF endings).
pub fn normalize_certificate(pem_text: &str, what: &str) -> Result<String> {
    split_certificates(pem_text, what)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::pem(what, "no certificate"))
}

/// Splits a PEM bundle into its certificate PEMs (normalized encoding).
pub fn split_certificates(pem_text: &str, what: &str) -> Result<Vec<String>> {
    Ok(parse_certificates(pem_text.as_bytes(), what)?
        .iter()
        .map(|d| cert_to_pem(d))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_pem_is_rejected_by_cause() {
        assert!(matches!(
            parse_certificates(b"hello", "root CA"),
            Err(Error::InvalidPem { .. })
        ));
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let e = parse_certificates(garbage.as_bytes(), "root CA").expect_err("garbage");
        assert!(e.to_string().contains("root CA"), "{e}");
        assert!(check_csr(garbage, "CSR").is_err());
        assert!(check_private_key(garbage, "key").is_err());
    }
}
