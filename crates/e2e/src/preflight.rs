//! Checks made before anything is written to Vault: the given root (PEM, a CA, self-signed,
//! valid now and for the intermediate's TTL, its key matching it) and the output folder
//! (writable). [`RunConfig::from_args`](crate::RunConfig::from_args) runs them on the files as
//! usage errors naming each file; [`run`](crate::run()) runs them again for library callers.
//!
//! Long because it is every check made before Vault is touched (root PEM/DER, CA, validity,
//! key match, output folder, locks), each with an error naming the file, plus their unit tests.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use x509_parser::prelude::{FromDer, X509Certificate};

use crate::config::{RootInput, RunConfig};
use crate::error::{Cause, Error, Result};
use crate::files::OutDir;

/// Why a preflight check failed; `what` names the input (`--root-ca-cert /path`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PreflightError {
    /// The certificate file is DER, not PEM.
    #[error(
        "{what}: is DER, not PEM; convert it with `openssl x509 -inform der -in FILE -out FILE.pem`"
    )]
    Der {
        /// The input.
        what: String,
    },
    /// The input is not the PEM (or the certificate) it should be.
    #[error("{what}: {reason}")]
    Invalid {
        /// The input.
        what: String,
        /// The problem.
        reason: String,
    },
    /// The certificate is not valid at the time of the run, or not for long enough.
    #[error("{what}: {reason}")]
    Validity {
        /// The input.
        what: String,
        /// Which bound, and when.
        reason: String,
    },
    /// The key is not the certificate's.
    #[error("{key}: is not the key of {cert} (its public key differs from the certificate's)")]
    KeyMismatch {
        /// The key input.
        key: String,
        /// The certificate input.
        cert: String,
    },
    /// The output folder cannot be written.
    #[error("--out {path}: not writable: {reason}")]
    OutNotWritable {
        /// The folder.
        path: String,
        /// The system's words.
        reason: String,
    },
}

/// Checks a root given as certificate and key bytes (`cert_what`/`key_what` name them in
/// errors): PEM, a CA, self-signed, valid at `now` and still valid `intermediate_ttl` later,
/// and the key's public part equal to the certificate's.
pub fn check_root(
    cert: &[u8],
    cert_what: &str,
    key_pem: &str,
    key_what: &str,
    intermediate_ttl: Duration,
    now: SystemTime,
) -> std::result::Result<(), PreflightError> {
    let invalid = |reason: String| PreflightError::Invalid {
        what: cert_what.to_string(),
        reason,
    };
    let text = match std::str::from_utf8(cert) {
        Ok(t) if t.contains("-----BEGIN") => t,
        _ if cert.first() == Some(&0x30) => {
            return Err(PreflightError::Der {
                what: cert_what.into(),
            });
        }
        _ => {
            return Err(invalid(
                "not PEM (no -----BEGIN CERTIFICATE----- block)".into(),
            ));
        }
    };
    let block = ::pem::parse(text).map_err(|e| invalid(format!("not PEM: {e}")))?;
    if block.tag() != "CERTIFICATE" {
        return Err(invalid(format!(
            "the first PEM block is {}, not CERTIFICATE",
            block.tag()
        )));
    }
    let (_, c) = X509Certificate::from_der(block.contents())
        .map_err(|e| invalid(format!("not an X.509 certificate: {e}")))?;
    match c.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => {}
        _ => {
            return Err(invalid(
                "not a CA certificate (no basicConstraints CA:TRUE)".into(),
            ));
        }
    }
    if c.subject() != c.issuer() {
        return Err(invalid(format!(
            "not self-signed (issuer {} is not the subject {}): give the root, not an intermediate",
            c.issuer(),
            c.subject()
        )));
    }
    let now_s = now
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let validity = c.validity();
    let (nb, na) = (validity.not_before, validity.not_after);
    let bad = |reason: String| PreflightError::Validity {
        what: cert_what.to_string(),
        reason,
    };
    if now_s < nb.timestamp() {
        return Err(bad(format!("not valid yet (notBefore {nb})")));
    }
    if now_s > na.timestamp() {
        return Err(bad(format!("certificate has expired (notAfter {na})")));
    }
    let ttl = i64::try_from(intermediate_ttl.as_secs()).unwrap_or(i64::MAX);
    if now_s.saturating_add(ttl) > na.timestamp() {
        return Err(bad(format!(
            "expires ({na}) before the intermediate would ({}s from now): give a root valid for longer, or a shorter intermediate TTL",
            intermediate_ttl.as_secs()
        )));
    }
    let key_bits = public_key_bits(key_pem, key_what)?;
    if key_bits != c.public_key().subject_public_key.data.as_ref() {
        return Err(PreflightError::KeyMismatch {
            key: key_what.into(),
            cert: cert_what.into(),
        });
    }
    Ok(())
}

/// The public key (the SubjectPublicKeyInfo's bit string) of a PEM private key: PKCS#8 (any
/// algorithm rcgen reads) or PKCS#1 RSA.
pub fn public_key_bits(
    key_pem: &str,
    key_what: &str,
) -> std::result::Result<Vec<u8>, PreflightError> {
    let invalid = |reason: String| PreflightError::Invalid {
        what: key_what.to_string(),
        reason,
    };
    let block = ::pem::parse(key_pem).map_err(|e| invalid(format!("not PEM: {e}")))?;
    match block.tag() {
        "PRIVATE KEY" => {
            use rcgen::PublicKeyData;
            let k = rcgen::KeyPair::from_pem(key_pem)
                .map_err(|e| invalid(format!("cannot read the PKCS#8 key: {e}")))?;
            Ok(k.der_bytes().to_vec())
        }
        "RSA PRIVATE KEY" => {
            use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPublicKey};
            let k = rsa::RsaPrivateKey::from_pkcs1_pem(key_pem)
                .map_err(|e| invalid(format!("cannot read the RSA key: {e}")))?;
            let der = k
                .to_public_key()
                .to_pkcs1_der()
                .map_err(|e| invalid(format!("cannot encode the RSA public key: {e}")))?;
            Ok(der.as_bytes().to_vec())
        }
        other => Err(invalid(format!(
            "a {other} block; give a PKCS#8 key (`openssl pkcs8 -topk8 -nocrypt -in FILE`)"
        ))),
    }
}

/// Checks that `dir` can be written: creates it if needed, then creates and removes a
/// temporary file in it.
pub fn check_out_writable(dir: &Path) -> std::result::Result<(), PreflightError> {
    let fail = |e: std::io::Error| PreflightError::OutNotWritable {
        path: dir.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = tempfile::Builder::new()
        .prefix(".e2e-probe.")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    probe.close().map_err(fail)
}

/// Seconds since the epoch, now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The folder's lock, held for the run (see [`OutDir::try_lock`]).
#[derive(Debug)]
pub struct OutLock {
    _file: Option<std::fs::File>,
}

/// The run's checks before Vault is touched, for every caller of [`run`](crate::run()): the
/// given root, and for `run` (not `plan`) the output folder writable, its lock taken, and
/// the temporaries of an interrupted earlier run removed.
pub fn before_vault(cfg: &RunConfig, out: &OutDir) -> Result<OutLock> {
    if let RootInput::Given { cert_pem, key_pem } = &cfg.root {
        check_root(
            cert_pem.as_bytes(),
            "the given root certificate",
            key_pem.expose_secret(),
            "the given root key",
            cfg.setup.intermediate_ttl,
            SystemTime::now(),
        )
        .map_err(|e| {
            Error::step(
                "preflight",
                Cause::build("the root", e),
                "give a valid, self-signed root CA and its own key (--root-ca-cert, --root-ca-key)",
            )
        })?;
    }
    if cfg.dry_run {
        return Ok(OutLock { _file: None });
    }
    check_out_writable(out.root()).map_err(|e| {
        Error::step(
            "preflight",
            Cause::build("the output folder", e),
            "choose a writable --out, or fix its permissions",
        )
    })?;
    let file = |e: std::io::Error, name: &str| {
        Error::step(
            "preflight",
            Cause::File {
                path: out.path(name),
                source: e,
            },
            "check the output folder's permissions",
        )
    };
    let lock = out
        .try_lock()
        .map_err(|e| file(e, OutDir::LOCK))?
        .ok_or_else(|| {
            Error::step(
                "preflight",
                Cause::build(
                    "the output folder",
                    Locked {
                        path: out.path(OutDir::LOCK).display().to_string(),
                    },
                ),
                "wait for the other run to end, or give another --out",
            )
        })?;
    let removed = out.remove_stale_temporaries().map_err(|e| file(e, "."))?;
    if !removed.is_empty() {
        tracing::info!(?removed, "removed temporaries of an interrupted run");
    }
    Ok(OutLock { _file: Some(lock) })
}

/// Another process holds the output folder's lock.
#[derive(Debug, thiserror::Error)]
#[error("another e2e run is using this output folder (it holds {path})")]
struct Locked {
    path: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);
    /// 2025-01-01T00:00:00Z, the tests' fixed "now".
    const NOW: Duration = Duration::from_secs(1_735_689_600);

    /// A self-signed certificate valid from `from` to `to` (years, January 1st), made by rcgen.
    fn cert(from: i32, to: i32, is_ca: bool) -> (String, rcgen::KeyPair) {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        if is_ca {
            p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        }
        p.not_before = rcgen::date_time_ymd(from, 1, 1);
        p.not_after = rcgen::date_time_ymd(to, 1, 1);
        let c = p.self_signed(&key).expect("self-signed");
        (c.pem(), key)
    }

    fn check(cert: &str, key: &str, ttl: Duration) -> std::result::Result<(), PreflightError> {
        check_root(cert.as_bytes(), "cert", key, "key", ttl, UNIX_EPOCH + NOW)
    }

    #[test]
    fn a_valid_root_with_its_key_passes() {
        let (c, k) = cert(2024, 2035, true);
        assert_eq!(check(&c, &k.serialize_pem(), 365 * DAY), Ok(()));
    }

    #[test]
    fn expired_not_yet_valid_and_too_short_are_refused() {
        let (c, k) = cert(2020, 2021, true);
        let e = check(&c, &k.serialize_pem(), DAY).expect_err("expired");
        assert!(e.to_string().contains("expired"), "{e}");
        let (c, k) = cert(2026, 2035, true);
        let e = check(&c, &k.serialize_pem(), DAY).expect_err("not yet valid");
        assert!(e.to_string().contains("not valid yet"), "{e}");
        let (c, k) = cert(2024, 2026, true);
        let e = check(&c, &k.serialize_pem(), 5 * 365 * DAY).expect_err("too short");
        assert!(e.to_string().contains("before the intermediate"), "{e}");
    }

    #[test]
    fn a_non_ca_a_foreign_key_and_der_are_refused() {
        let (c, k) = cert(2024, 2035, false);
        let e = check(&c, &k.serialize_pem(), DAY).expect_err("not a CA");
        assert!(e.to_string().contains("not a CA"), "{e}");
        let (c, _) = cert(2024, 2035, true);
        let (_, other) = cert(2024, 2035, true);
        let e = check(&c, &other.serialize_pem(), DAY).expect_err("foreign key");
        assert!(matches!(e, PreflightError::KeyMismatch { .. }), "{e}");
        let der = ::pem::parse(&c).expect("pem").contents().to_vec();
        let e = check_root(
            &der,
            "cert",
            &other.serialize_pem(),
            "key",
            DAY,
            UNIX_EPOCH + NOW,
        )
        .expect_err("DER");
        assert!(e.to_string().contains("is DER, not PEM"), "{e}");
        let e = check("hello", &other.serialize_pem(), DAY).expect_err("not PEM");
        assert!(e.to_string().starts_with("cert: not PEM"), "{e}");
    }

    #[test]
    fn an_rsa_pkcs1_key_is_read() {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::EncodePrivateKey;
        let rsa_key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("rsa key");
        let pkcs8 = rsa_key.to_pkcs8_der().expect("pkcs8");
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_bytes().to_vec());
        let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_RSA_SHA256)
            .expect("rcgen key");
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.not_before = rcgen::date_time_ymd(2024, 1, 1);
        p.not_after = rcgen::date_time_ymd(2035, 1, 1);
        let c = p.self_signed(&key).expect("self-signed").pem();
        let pkcs1 = rsa_key
            .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
            .expect("pkcs1");
        assert_eq!(check(&c, &pkcs1, DAY), Ok(()));
    }

    proptest::proptest! {
        /// Arbitrary bytes as the root certificate or key file: an error naming it, never a
        /// panic (nothing random is a valid root and its key).
        #[test]
        fn any_bytes_as_root_files_give_an_error_naming_them(
            cert in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            key in "(-----BEGIN (PRIVATE|RSA PRIVATE|EC PRIVATE) KEY-----\n)?[A-Za-z0-9+/=\n]{0,200}(-----END PRIVATE KEY-----\n)?",
        ) {
            let e = check_root(&cert, "--root-ca-cert c.pem", &key, "--root-ca-key k.pem", DAY, UNIX_EPOCH + NOW)
                .expect_err("random input");
            let msg = e.to_string();
            proptest::prop_assert!(msg.contains("c.pem") || msg.contains("k.pem"), "{}", msg);
        }

        /// A valid certificate with a random key file: the key file is named.
        #[test]
        fn any_key_for_a_valid_root_names_the_key(
            key in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        ) {
            let key = String::from_utf8_lossy(&key).into_owned();
            let e = check_root(VALID.as_bytes(), "--root-ca-cert c.pem", &key, "--root-ca-key k.pem", DAY, UNIX_EPOCH + NOW)
                .expect_err("random key");
            proptest::prop_assert!(e.to_string().contains("k.pem"), "{}", e);
        }
    }

    /// A root valid 2024 to 2035, made once by `cert` (its key dropped).
    static VALID: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| cert(2024, 2035, true).0);

    #[test]
    fn an_unwritable_out_is_named() {
        let e = check_out_writable(Path::new("/proc/e2e-cannot-be-here")).expect_err("unwritable");
        assert!(e.to_string().contains("/proc/e2e-cannot-be-here"), "{e}");
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(check_out_writable(&dir.path().join("new")), Ok(()));
        assert_eq!(
            std::fs::read_dir(dir.path().join("new"))
                .map(|d| d.count())
                .ok(),
            Some(0)
        );
    }
}
