//! Loading the private keys Vault exports (PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`, or
//! PKCS#8) into rcgen, which reads PKCS#8 only: the other two are wrapped into PKCS#8 here.

use crate::certs::CertError;

/// DER tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

const OID_RSA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];
const OID_EC: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

/// `PrivateKeyInfo ::= SEQUENCE { version 0, algorithm, OCTET STRING key }`.
fn pkcs8(algorithm: &[u8], key: &[u8]) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend(tlv(0x30, algorithm));
    body.extend(tlv(0x04, key));
    tlv(0x30, &body)
}

/// A key pair from a PEM private key as Vault exports it.
pub fn key_pair_from_pem(pem_text: &str) -> Result<rcgen::KeyPair, CertError> {
    let invalid = |what: &str, reason: String| CertError::Invalid {
        what: what.to_string(),
        reason,
    };
    let p = pem::parse(pem_text).map_err(|e| CertError::Pem {
        what: "private key".into(),
        want: "private key",
        reason: e.to_string(),
    })?;
    let (der, alg): (Vec<u8>, &'static rcgen::SignatureAlgorithm) = match p.tag() {
        "PRIVATE KEY" => {
            return rcgen::KeyPair::try_from(p.contents())
                .map_err(|e| invalid("PKCS#8 key", e.to_string()));
        }
        "RSA PRIVATE KEY" => {
            let mut alg = OID_RSA.to_vec();
            alg.extend([0x05, 0x00]);
            (pkcs8(&alg, p.contents()), &rcgen::PKCS_RSA_SHA256)
        }
        "EC PRIVATE KEY" => {
            let c = p.contents();
            let (curve, sig) = if contains(c, OID_P256) {
                (OID_P256, &rcgen::PKCS_ECDSA_P256_SHA256)
            } else if contains(c, OID_P384) {
                (OID_P384, &rcgen::PKCS_ECDSA_P384_SHA384)
            } else {
                return Err(invalid(
                    "EC key",
                    "an unsupported curve (P-256 and P-384 are)".into(),
                ));
            };
            let mut alg = OID_EC.to_vec();
            alg.extend_from_slice(curve);
            (pkcs8(&alg, c), sig)
        }
        other => {
            return Err(invalid(
                "private key",
                format!("unsupported PEM block {other}"),
            ));
        }
    };
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(der);
    rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, alg)
        .map_err(|e| invalid("loading the key", e.to_string()))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pkcs8_keys() -> Result<(), Box<dyn std::error::Error>> {
        let kp = rcgen::KeyPair::generate()?;
        let back = key_pair_from_pem(&kp.serialize_pem())?;
        assert_eq!(back.public_key_raw(), kp.public_key_raw());
        Ok(())
    }

    #[test]
    fn long_lengths_are_encoded_in_long_form() {
        let v = tlv(0x04, &[0u8; 300]);
        assert_eq!(&v[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }
}
