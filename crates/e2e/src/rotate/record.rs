//! `rotation.json` in the output folder: how far a root rotation got, written after every
//! phase, so that a rotation killed in any phase resumes where it stopped and `--plan` shows
//! what is left. Public data only (certificates, issuer ids, times): keys are in their own files.

use serde::{Deserialize, Serialize};

use crate::files::{OutDir, Sensitivity};

/// The phases of a root rotation, in order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum RootPhase {
    /// 1. The new root R2 in the root mount, beside R1 (R1 stays the default).
    NewRoot,
    /// 2. The trust bundle R1+R2 published (`istio-root-ca`, so every `istio-ca-root-cert`).
    TrustBoth,
    /// 3. A new intermediate signed by R2 made the default; R2 the root mount's default;
    ///    istiod's certificate re-issued.
    NewIntermediate,
    /// 4. Workload certificates renewed under R2 (the bound since phase 3 has passed).
    WaitWorkloads,
    /// 5. R1 retired: the bundle R2 only; R1 and the intermediates it signed removed from Vault.
    Retire,
}

impl RootPhase {
    /// Every phase, in order.
    pub const ALL: [RootPhase; 5] = [
        RootPhase::NewRoot,
        RootPhase::TrustBoth,
        RootPhase::NewIntermediate,
        RootPhase::WaitWorkloads,
        RootPhase::Retire,
    ];

    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            RootPhase::NewRoot => "new-root",
            RootPhase::TrustBoth => "trust-both",
            RootPhase::NewIntermediate => "new-intermediate",
            RootPhase::WaitWorkloads => "wait-workloads",
            RootPhase::Retire => "retire",
        }
    }

    /// What it does, in a line.
    pub fn what(self) -> &'static str {
        match self {
            RootPhase::NewRoot => "new root R2 in the root mount beside R1",
            RootPhase::TrustBoth => "trust bundle R1+R2 published to every namespace",
            RootPhase::NewIntermediate => {
                "new intermediate signed by R2 made default; istiod's certificate re-issued"
            }
            RootPhase::WaitWorkloads => "workload certificates renewed under R2",
            RootPhase::Retire => "R1 retired: bundle R2 only, R1's issuers removed",
        }
    }
}

impl std::fmt::Display for RootPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A root rotation's progress.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RootRotation {
    /// The phases done, in order.
    pub done: Vec<RootPhase>,
    /// R1, PEM.
    pub old_root_pem: String,
    /// R1's issuer id in the root mount.
    pub old_root_issuer: String,
    /// R2, PEM.
    pub new_root_pem: String,
    /// R2's issuer id, once imported.
    pub new_root_issuer: Option<String>,
    /// Whether this tool generated R2 (its key is `ca-next.key`).
    pub new_root_generated: bool,
    /// Per intermediate mount, its issuers before the rotation (R1-signed intermediates, R1).
    pub old_intermediate_issuers: std::collections::BTreeMap<String, Vec<String>>,
    /// When phase 3 switched signing to R2 (Unix seconds).
    pub switched_at: Option<u64>,
    /// The workload certificate bound given when phase 3 ran (for the record: the run doing
    /// phase 4 uses its own `--workload-cert-bound`).
    pub workload_bound_secs: u64,
    /// Each phase's duration, milliseconds, by name.
    pub phase_ms: std::collections::BTreeMap<String, u64>,
}

impl RootRotation {
    /// Whether `phase` is done.
    pub fn is_done(&self, phase: RootPhase) -> bool {
        self.done.contains(&phase)
    }

    /// Whether every phase is done.
    pub fn is_complete(&self) -> bool {
        self.is_done(RootPhase::Retire)
    }

    /// The phases left, in order.
    pub fn left(&self) -> Vec<RootPhase> {
        RootPhase::ALL
            .into_iter()
            .filter(|p| !self.is_done(*p))
            .collect()
    }

    /// Reads `rotation.json`; `None` when there is none.
    pub fn load(out: &OutDir) -> std::io::Result<Option<RootRotation>> {
        let Some(text) = out.read(OutDir::ROTATION)? else {
            return Ok(None);
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", out.path(OutDir::ROTATION).display()),
            )
        })
    }

    /// Writes `rotation.json` atomically (fsynced).
    pub fn save(&self, out: &OutDir) -> std::io::Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        text.push('\n');
        out.write(OutDir::ROTATION, text.as_bytes(), Sensitivity::Public)
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_and_says_what_is_left() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = OutDir::new(dir.path());
        assert_eq!(RootRotation::load(&out).expect("load"), None);
        let r = RootRotation {
            done: vec![RootPhase::NewRoot, RootPhase::TrustBoth],
            old_root_pem: "R1".into(),
            workload_bound_secs: 30,
            ..RootRotation::default()
        };
        r.save(&out).expect("save");
        let back = RootRotation::load(&out).expect("load").expect("some");
        assert_eq!(back, r);
        assert_eq!(
            back.left(),
            vec![
                RootPhase::NewIntermediate,
                RootPhase::WaitWorkloads,
                RootPhase::Retire
            ]
        );
        assert!(!back.is_complete());
        let text = std::fs::read_to_string(dir.path().join(OutDir::ROTATION)).expect("file");
        assert!(text.contains("\"trust-both\""), "{text}");
    }

    #[test]
    fn a_damaged_record_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(OutDir::ROTATION), "{not json").expect("write");
        let e = RootRotation::load(&OutDir::new(dir.path())).expect_err("damaged");
        assert!(e.to_string().contains("rotation.json"), "{e}");
    }
}
