//! The run's state in the output folder (`e2e-state.json`, mode 0600): what a re-run needs to
//! change nothing, i.e. the secret-id recorded the first time (Vault never returns it again),
//! and, with Kubernetes auth, when the reviewer token Vault holds expires (Vault never returns
//! it either).

use serde_json::json;
use vault_pki::{SecretIdRecord, SecretString};

use crate::files::{OutDir, Sensitivity};
use crate::report::Outcome;

/// The recorded state.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// The AppRole role-id (not a secret on its own).
    pub role_id: Option<String>,
    /// The secret-id and its accessor.
    pub secret_id: Option<SecretIdRecord>,
    /// Kubernetes auth: the reviewer token last written to Vault, and for which account.
    pub reviewer: Option<ReviewerRecord>,
}

/// The reviewer token Vault's Kubernetes auth method holds (not the token: when it expires,
/// and the service account it was issued for), so a re-run renews it only when due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewerRecord {
    /// When it expires, in seconds since the epoch.
    pub expires: u64,
    /// How long it was issued for, in seconds.
    pub lifetime: u64,
    /// The UID of the service account it belongs to (a re-created account voids it).
    pub account_uid: String,
}

impl State {
    /// Reads the state file; a missing file is an empty state.
    pub fn load(out: &OutDir) -> std::io::Result<State> {
        let bytes = match std::fs::read(out.path(OutDir::STATE)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => return Err(e),
        };
        Self::parse(&bytes)
    }

    /// Parses the state file's bytes; an error names the file and the problem.
    pub fn parse(bytes: &[u8]) -> std::io::Result<State> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: not UTF-8 text: {e}", OutDir::STATE),
            )
        })?;
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", OutDir::STATE),
            )
        })?;
        let s = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .filter(|x| !x.is_empty())
                .map(str::to_string)
        };
        let secret_id = match (s("secret_id"), s("secret_id_accessor")) {
            (Some(id), Some(accessor)) => Some(SecretIdRecord {
                secret_id: SecretString::new(id),
                accessor,
            }),
            _ => None,
        };
        let n = |k: &str| v.get(k).and_then(serde_json::Value::as_u64);
        let reviewer = match (
            n("reviewer_token_expires"),
            n("reviewer_token_lifetime"),
            s("reviewer_account_uid"),
        ) {
            (Some(expires), Some(lifetime), Some(account_uid)) => Some(ReviewerRecord {
                expires,
                lifetime,
                account_uid,
            }),
            _ => None,
        };
        Ok(State {
            role_id: s("role_id"),
            secret_id,
            reviewer,
        })
    }

    /// Writes the state file atomically, mode 0600.
    pub fn save(&self, out: &OutDir) -> std::io::Result<Outcome> {
        let mut v = json!({
            "role_id": self.role_id,
            "secret_id": self.secret_id.as_ref().map(|r| r.secret_id.expose_secret()),
            "secret_id_accessor": self.secret_id.as_ref().map(|r| r.accessor.as_str()),
        });
        // Only with Kubernetes auth, so that an AppRole run's file is what it always was.
        if let (Some(r), Some(m)) = (&self.reviewer, v.as_object_mut()) {
            m.insert("reviewer_token_expires".into(), r.expires.into());
            m.insert("reviewer_token_lifetime".into(), r.lifetime.into());
            m.insert("reviewer_account_uid".into(), r.account_uid.clone().into());
        }
        let mut text = serde_json::to_string_pretty(&v).unwrap_or_default();
        text.push('\n');
        out.write(OutDir::STATE, text.as_bytes(), Sensitivity::Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Arbitrary bytes in `e2e-state.json` give a state or an error naming the file,
        /// never a panic.
        #[test]
        fn any_bytes_parse_or_name_the_file(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            if let Err(e) = State::parse(&bytes) {
                proptest::prop_assert!(e.to_string().contains(OutDir::STATE), "{}", e);
            }
        }

        /// JSON of any shape: the same.
        #[test]
        fn any_json_parses_or_names_the_file(text in r#"\{("[a-z_]{0,20}": ?("[^"\\]{0,20}"|[0-9]{1,5}|null|true|\[\]|\{\}),? ?){0,4}\}"#) {
            if let Err(e) = State::parse(text.as_bytes()) {
                proptest::prop_assert!(e.to_string().contains(OutDir::STATE), "{}", e);
            }
        }
    }

    #[test]
    fn a_state_of_the_wrong_shape_is_an_error_naming_the_file() {
        for bad in [&b"[1,2]"[..], b"\xff\xfe", b"{\"secret_id\": 3}"] {
            match State::parse(bad) {
                Ok(s) => assert!(s.secret_id.is_none()),
                Err(e) => assert!(e.to_string().contains(OutDir::STATE), "{e}"),
            }
        }
    }

    #[test]
    fn round_trips_and_is_private() -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let out = OutDir::new(dir.path());
        assert!(State::load(&out)?.secret_id.is_none());
        let st = State {
            role_id: Some("rid".into()),
            secret_id: Some(SecretIdRecord {
                secret_id: SecretString::new("sid"),
                accessor: "acc".into(),
            }),
            reviewer: Some(ReviewerRecord {
                expires: 1_900_000_000,
                lifetime: 2_592_000,
                account_uid: "uid-1".into(),
            }),
        };
        assert_eq!(st.save(&out)?, Outcome::Created);
        assert_eq!(st.save(&out)?, Outcome::Unchanged);
        let back = State::load(&out)?;
        assert_eq!(back.role_id.as_deref(), Some("rid"));
        assert_eq!(back.reviewer, st.reviewer);
        let rec = back
            .secret_id
            .as_ref()
            .map(|r| (r.secret_id.expose_secret().to_string(), r.accessor.clone()));
        assert_eq!(rec, Some(("sid".to_string(), "acc".to_string())));
        let mode = std::fs::metadata(out.path(OutDir::STATE))?
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        assert!(
            !format!("{back:?}").contains("sid\""),
            "the secret-id must not be in Debug"
        );
        Ok(())
    }
}
