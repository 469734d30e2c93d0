//! Durations in a fleet file, written as Go and Vault write them (`720h`, `90m`, `1h30m`,
//! `45s`) or as a whole number of seconds.

use std::fmt;
use std::time::Duration;

/// A duration read from a fleet file.
///
/// ```
/// let d: e2e::fleet::FleetDuration = "1h30m".parse()?;
/// assert_eq!(d.0.as_secs(), 5400);
/// # Ok::<(), e2e::fleet::DurationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetDuration(pub Duration);

/// Why a text is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{text:?} is not a duration: write it as `720h`, `90m`, `1h30m`, `45s` or a number of seconds"
)]
pub struct DurationError {
    /// The text.
    pub text: String,
}

impl std::str::FromStr for FleetDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || DurationError {
            text: text.to_string(),
        };
        let t = text.trim();
        if let Ok(secs) = t.parse::<u64>() {
            return Ok(FleetDuration(Duration::from_secs(secs)));
        }
        let mut total: u64 = 0;
        let mut digits = String::new();
        let mut any = false;
        for c in t.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit = match c {
                'h' => 3600,
                'm' => 60,
                's' => 1,
                _ => return Err(bad()),
            };
            let n: u64 = digits.parse().map_err(|_| bad())?;
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(bad)?;
            digits.clear();
            any = true;
        }
        if !any || !digits.is_empty() {
            return Err(bad());
        }
        Ok(FleetDuration(Duration::from_secs(total)))
    }
}

impl fmt::Display for FleetDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0.as_secs())
    }
}

impl<'de> serde::Deserialize<'de> for FleetDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(s) => Ok(FleetDuration(Duration::from_secs(s))),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_go_style_durations_and_seconds() {
        for (text, secs) in [
            ("720h", 720 * 3600),
            ("90m", 5400),
            ("1h30m", 5400),
            ("45s", 45),
            ("3600", 3600),
        ] {
            assert_eq!(
                text.parse::<FleetDuration>().map(|d| d.0.as_secs()),
                Ok(secs),
                "{text}"
            );
        }
        for bad in ["", "h", "1d", "1.5h", "10x", "-1h", "1h30"] {
            assert!(bad.parse::<FleetDuration>().is_err(), "{bad}");
        }
    }
}
