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

/// Seconds from `now` to an RFC 3339 expiration time (Vault's `expiration_time`).
pub fn expiration_left(text: &str, now: i64) -> Option<i64> {
    if text.is_empty() || text.starts_with("0001-01-01") {
        return None;
    }
    let t = time_of_rfc3339(text)?;
    Some(t - now)
}

/// Unix seconds of `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
fn time_of_rfc3339(s: &str) -> Option<i64> {
    let num = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        num(0, 4)?,
        num(5, 7)?,
        num(8, 10)?,
        num(11, 13)?,
        num(14, 16)?,
        num(17, 19)?,
    );
    let tz = &s[19..];
    let tz = tz.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = match tz {
        "Z" | "" => 0,
        t if t.len() == 6 => {
            let sign = if t.starts_with('-') { -1 } else { 1 };
            sign * (t[1..3].parse::<i64>().ok()? * 3600 + t[4..6].parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    // Days from the civil date (proleptic Gregorian), Howard Hinnant's algorithm.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_are_read_with_their_offset() {
        assert_eq!(time_of_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            time_of_rfc3339("2026-12-02T12:00:00.123456789Z"),
            Some(1_796_212_800)
        );
        assert_eq!(
            time_of_rfc3339("2026-12-02T13:00:00+01:00"),
            Some(1_796_212_800)
        );
    }
}
