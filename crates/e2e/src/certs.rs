//! Certificates as the verification checks them, independently of Vault: chains under
//! rustls-webpki at the time of the check, URI SANs, identity, and the workload CSR Istio's agent
//! would send (an RSA 2048 key).

use rustls_pki_types::{CertificateDer, UnixTime};

/// A certificate, key or CSR could not be read, made or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The input is not the PEM it should be.
    #[error("{what}: not a PEM {want}: {reason}")]
    Pem {
        /// Which input.
        what: String,
        /// The PEM block wanted.
        want: &'static str,
        /// Why.
        reason: String,
    },
    /// The DER inside could not be parsed, or a key or CSR could not be made.
    #[error("{what}: {reason}")]
    Invalid {
        /// What was being read or made.
        what: String,
        /// The parser's or builder's words.
        reason: String,
    },
    /// No valid path from the leaf to the trust anchor (rustls-webpki's verdict).
    #[error("{0}")]
    NoPath(String),
}

fn invalid(what: impl Into<String>, reason: impl std::fmt::Display) -> CertError {
    CertError::Invalid {
        what: what.into(),
        reason: reason.to_string(),
    }
}

/// A workload CSR as Istio's agent makes it by default: an RSA 2048 key, no subject, one URI
/// SAN, which the role accepts with `key_type` `any` (our default) or `rsa` (the seed's, by
/// Vault's default). Returns the CSR PEM; the key
/// stays in memory and is dropped.
pub fn workload_csr(identity: &str) -> Result<String, CertError> {
    use rsa::pkcs8::EncodePrivateKey;
    let mut rng = rsa::rand_core::OsRng;
    let rsa_key =
        rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(|e| invalid("generating an RSA key", e))?;
    let der = rsa_key
        .to_pkcs8_der()
        .map_err(|e| invalid("encoding the RSA key", e))?;
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(der.as_bytes().to_vec());
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_RSA_SHA256)
        .map_err(|e| invalid("loading the RSA key", e))?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    let uri = rcgen::string::Ia5String::try_from(identity.to_string())
        .map_err(|e| invalid(format!("URI SAN {identity}"), e))?;
    params.subject_alt_names = vec![rcgen::SanType::URI(uri)];
    let csr = params
        .serialize_request(&key)
        .map_err(|e| invalid("building the CSR", e))?;
    csr.pem().map_err(|e| invalid("encoding the CSR", e))
}

/// Verifies that `leaf_pem` chains to `anchor_pem` through `intermediates_pem`, at `now`, for
/// client authentication (what a workload certificate is used for in mTLS).
pub fn chains_to(
    leaf_pem: &str,
    intermediates_pem: &[&str],
    anchor_pem: &str,
    now: UnixTime,
) -> Result<(), CertError> {
    chains_for_usage(
        leaf_pem,
        intermediates_pem,
        anchor_pem,
        now,
        webpki::KeyUsage::client_auth(),
    )
}

/// Like [`chains_to`], for a server certificate (server-auth usage), e.g. istiod's.
pub fn chains_to_for_server(
    leaf_pem: &str,
    intermediates_pem: &[&str],
    anchor_pem: &str,
    now: UnixTime,
) -> Result<(), CertError> {
    chains_for_usage(
        leaf_pem,
        intermediates_pem,
        anchor_pem,
        now,
        webpki::KeyUsage::server_auth(),
    )
}

/// Whether the trust anchor's own validity period contains `now`.
fn anchor_valid_at(anchor_der: &[u8], now: UnixTime) -> Result<(), CertError> {
    use x509_parser::prelude::FromDer;
    let (_, c) = x509_parser::certificate::X509Certificate::from_der(anchor_der)
        .map_err(|e| invalid("trust anchor", e))?;
    let t = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let v = c.validity();
    if t < v.not_before.timestamp() || t > v.not_after.timestamp() {
        return Err(CertError::NoPath(format!(
            "the trust anchor {} is not valid at the time of the check (valid {} to {})",
            c.subject(),
            v.not_before,
            v.not_after
        )));
    }
    Ok(())
}

/// The path check behind [`chains_to`] and [`chains_to_for_server`], for one extended key usage.
fn chains_for_usage(
    leaf_pem: &str,
    intermediates_pem: &[&str],
    anchor_pem: &str,
    now: UnixTime,
    usage: webpki::KeyUsage,
) -> Result<(), CertError> {
    let leaf = der_of(leaf_pem, "leaf")?;
    let anchor_der = der_of(anchor_pem, "trust anchor")?;
    let anchor = webpki::anchor_from_trusted_cert(&anchor_der)
        .map_err(|e| invalid("trust anchor", format!("{e:?}")))?;
    // webpki does not check a trust anchor's validity; a root that expired makes every
    // chain to it fail for any other verifier (openssl: "certificate has expired").
    anchor_valid_at(&anchor_der, now)?;
    let mut inter = Vec::new();
    for (i, p) in intermediates_pem.iter().enumerate() {
        inter.push(der_of(p, &format!("intermediate {i}"))?);
    }
    let ee = webpki::EndEntityCert::try_from(&leaf)
        .map_err(|e| invalid("parsing the leaf", format!("{e:?}")))?;
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        &inter,
        now,
        usage,
        None,
        None,
    )
    .map(|_| ())
    .map_err(|e| CertError::NoPath(format!("{e:?}")))
}

fn der_of(pem_text: &str, what: &str) -> Result<CertificateDer<'static>, CertError> {
    let bad = |reason: String| CertError::Pem {
        what: what.to_string(),
        want: "certificate",
        reason,
    };
    let p = pem::parse(pem_text).map_err(|e| bad(e.to_string()))?;
    if p.tag() != "CERTIFICATE" {
        return Err(bad(format!(
            "the PEM block is {}, not CERTIFICATE",
            p.tag()
        )));
    }
    Ok(CertificateDer::from(p.into_contents()))
}

/// The URI SANs of a PEM certificate.
pub fn uri_sans(cert_pem: &str) -> Result<Vec<String>, CertError> {
    let der = der_of(cert_pem, "certificate")?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| invalid("parsing the certificate", e))?;
    let mut out = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::URI(u) = n {
                out.push(u.to_string());
            }
        }
    }
    Ok(out)
}

/// Whether two PEM certificates are the same certificate (same DER).
pub fn same_cert(a: &str, b: &str) -> bool {
    match (der_of(a, "a"), der_of(b, "b")) {
        (Ok(x), Ok(y)) => x.as_ref() == y.as_ref(),
        _ => false,
    }
}

/// The certificates of a PEM bundle, each as its own PEM block (other blocks skipped).
pub fn split_bundle(bundle_pem: &str) -> Vec<String> {
    pem::parse_many(bundle_pem)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(|p| {
            pem::encode_config(
                &p,
                pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
            )
        })
        .collect()
}

/// Whether a PEM bundle holds `cert_pem`'s (first) certificate.
pub fn bundle_contains(bundle_pem: &str, cert_pem: &str) -> bool {
    split_bundle(bundle_pem)
        .iter()
        .any(|c| same_cert(c, cert_pem))
}

/// Whether two PEM bundles hold the same certificates (in any order).
pub fn same_bundle(a: &str, b: &str) -> bool {
    let (x, y) = (split_bundle(a), split_bundle(b));
    !x.is_empty()
        && x.iter().all(|c| bundle_contains(b, c))
        && y.iter().all(|c| bundle_contains(a, c))
}

/// The PEM bundle of `certs`, in order, without duplicates.
pub fn join_bundle<'a>(certs: impl IntoIterator<Item = &'a str>) -> String {
    let mut kept: Vec<String> = Vec::new();
    for c in certs {
        for one in split_bundle(c) {
            if !kept.iter().any(|k| same_cert(k, &one)) {
                kept.push(one);
            }
        }
    }
    kept.concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::UnixTime;

    /// Fixture: a root and an intermediate made with rcgen here (ECDSA P-256), the leaf
    /// signed by the intermediate with the URI SAN only.
    fn chain() -> Result<(String, String, String), rcgen::Error> {
        let rk = rcgen::KeyPair::generate()?;
        let mut rp = rcgen::CertificateParams::new(Vec::<String>::new())?;
        rp.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        rp.distinguished_name
            .push(rcgen::DnType::CommonName, "root");
        let root = rp.self_signed(&rk)?;
        let root_issuer = rcgen::Issuer::new(rp, &rk);
        let ik = rcgen::KeyPair::generate()?;
        let mut ip = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ip.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ip.distinguished_name
            .push(rcgen::DnType::CommonName, "istioca");
        let inter = ip.signed_by(&ik, &root_issuer)?;
        let int_issuer = rcgen::Issuer::new(ip, &ik);
        let lk = rcgen::KeyPair::generate()?;
        let mut lp = rcgen::CertificateParams::new(Vec::<String>::new())?;
        lp.distinguished_name = rcgen::DistinguishedName::new();
        lp.subject_alt_names = vec![rcgen::SanType::URI(rcgen::string::Ia5String::try_from(
            "spiffe://cluster.local/ns/foo/sa/sleep",
        )?)];
        let leaf = lp.signed_by(&lk, &int_issuer)?;
        Ok((root.pem(), inter.pem(), leaf.pem()))
    }

    /// The case: a root valid 2020-2021 and an intermediate valid until 2031 under
    /// it; the leaf is valid too. The chain holds while the root was valid, and not after.
    #[test]
    fn an_expired_root_is_no_trust_anchor() -> Result<(), Box<dyn std::error::Error>> {
        let rk = rcgen::KeyPair::generate()?;
        let mut rp = rcgen::CertificateParams::new(Vec::<String>::new())?;
        rp.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        rp.not_before = rcgen::date_time_ymd(2020, 1, 1);
        rp.not_after = rcgen::date_time_ymd(2021, 1, 1);
        let root = rp.self_signed(&rk)?;
        let root_issuer = rcgen::Issuer::new(rp, &rk);
        let ik = rcgen::KeyPair::generate()?;
        let mut ip = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ip.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ip.not_before = rcgen::date_time_ymd(2020, 1, 1);
        ip.not_after = rcgen::date_time_ymd(2031, 1, 1);
        let inter = ip.signed_by(&ik, &root_issuer)?;
        let int_issuer = rcgen::Issuer::new(ip, &ik);
        let lk = rcgen::KeyPair::generate()?;
        let mut lp = rcgen::CertificateParams::new(Vec::<String>::new())?;
        lp.not_before = rcgen::date_time_ymd(2020, 1, 1);
        lp.not_after = rcgen::date_time_ymd(2030, 1, 1);
        let leaf = lp.signed_by(&lk, &int_issuer)?;
        // 2020-06-01 and 2025-01-01, fixed.
        let then = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_590_969_600));
        let later = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_735_689_600));
        assert_eq!(
            chains_to(&leaf.pem(), &[&inter.pem()], &root.pem(), then),
            Ok(())
        );
        let e = chains_to(&leaf.pem(), &[&inter.pem()], &root.pem(), later)
            .expect_err("the root has expired");
        assert!(e.to_string().contains("not valid at the time"), "{e}");
        Ok(())
    }

    #[test]
    fn verifies_chains_with_webpki() -> Result<(), Box<dyn std::error::Error>> {
        let (root, inter, leaf) = chain()?;
        let now = UnixTime::now();
        assert_eq!(chains_to(&leaf, &[], &inter, now), Ok(()));
        assert_eq!(chains_to(&leaf, &[&inter], &root, now), Ok(()));
        assert!(
            chains_to(&leaf, &[], &root, now).is_err(),
            "no path without the intermediate"
        );
        let (other_root, _, _) = chain()?;
        assert!(chains_to(&leaf, &[&inter], &other_root, now).is_err());
        assert_eq!(
            uri_sans(&leaf)?,
            vec!["spiffe://cluster.local/ns/foo/sa/sleep".to_string()]
        );
        assert!(same_cert(&root, &root) && !same_cert(&root, &inter));
        Ok(())
    }

    #[test]
    fn workload_csr_has_only_the_uri_san() -> Result<(), Box<dyn std::error::Error>> {
        let pem_text = workload_csr("spiffe://td/ns/foo/sa/sleep")?;
        let p = pem::parse(&pem_text)?;
        assert_eq!(p.tag(), "CERTIFICATE REQUEST");
        let (_, csr) =
            <x509_parser::certification_request::X509CertificationRequest as x509_parser::prelude::FromDer<'_, _>>::from_der(p.contents())?;
        assert_eq!(
            csr.certification_request_info
                .subject
                .iter_common_name()
                .count(),
            0
        );
        Ok(())
    }
}
