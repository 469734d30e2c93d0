//! `report.json`: each step's outcome and duration, the verification results, and the error
//! of a failed run. It never holds a secret (keys, tokens, secret-ids).

use serde::Serialize;

/// What a step did (in a plan: would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// It did not exist and was created.
    Created,
    /// It existed and differed; it was changed.
    Updated,
    /// It existed as wanted; nothing was written.
    Unchanged,
    /// It existed and was removed (e.g. the AppRole Secret once Kubernetes auth works).
    Deleted,
    /// Not done, and why is in the step's detail.
    Skipped,
    /// It failed; the report's `error` says why.
    Failed,
}

impl Outcome {
    /// The word used in progress lines; `plan` says `would create`/`would update`.
    pub fn word(self, dry_run: bool) -> &'static str {
        match (self, dry_run) {
            (Outcome::Created, false) => "created",
            (Outcome::Created, true) => "would create",
            (Outcome::Updated, false) => "updated",
            (Outcome::Updated, true) => "would update",
            (Outcome::Deleted, false) => "deleted",
            (Outcome::Deleted, true) => "would delete",
            (Outcome::Unchanged, _) => "unchanged",
            (Outcome::Skipped, _) => "skipped",
            (Outcome::Failed, _) => "FAILED",
        }
    }
}

/// The part of the flow a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Vault/OpenBao configuration (seed steps 1 to 5).
    Vault,
    /// Files in the output folder.
    Files,
    /// Objects applied to the cluster (seed steps 6 to 8).
    Cluster,
    /// The verification (seed step 9).
    Verify,
    /// A rotation's own phases (`e2e rotate`).
    Rotate,
}

/// One step's record.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    /// The step's name, e.g. `root mount` or `write ca.crt`.
    pub name: String,
    /// Its phase.
    pub phase: Phase,
    /// What it is about: a Vault path, a file, a Kubernetes object.
    pub target: String,
    /// What it did.
    pub outcome: Outcome,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// A few words on what differed or was done.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// One verification check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked, e.g. `workload chains to ca.crt`.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// Details (the identity, the status code Vault returned, the verifier's error).
    pub detail: String,
}

/// The Vault server the run talked to (never its token).
#[derive(Debug, Clone, Serialize)]
pub struct VaultInfo {
    /// Its address.
    pub address: String,
    /// Whether it was a throwaway dev server started (and stopped) by this run.
    pub dev_server: bool,
    /// The namespace, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The error of a failed run.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRecord {
    /// The failed step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The message, with what to do.
    pub message: String,
}

/// Overall status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every step and check passed.
    Done,
    /// A step or check failed.
    Failed,
}

/// The whole report, written to `<out>/report.json` (a plan writes nothing and prints it).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `run` or `plan`.
    pub command: String,
    /// Done or failed.
    pub status: Status,
    /// True for a plan: outcomes say what `run` would do.
    pub dry_run: bool,
    /// The Vault server.
    pub vault: VaultInfo,
    /// The output folder.
    pub out: String,
    /// The trust domain workloads are issued for.
    pub trust_domain: String,
    /// Whether a cluster was targeted (--kubeconfig).
    pub cluster: bool,
    /// How cert-manager logs in to Vault: `approle` or `kubernetes`.
    pub auth: String,
    /// Total wall time, in milliseconds.
    pub duration_ms: u64,
    /// Every step, in order.
    pub steps: Vec<StepRecord>,
    /// The verification checks.
    pub verification: Vec<Check>,
    /// What the run said besides its steps (e.g. which IstioOperator the ControlPlane was
    /// fitted to, the helm command to run), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why the run failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
}

impl Report {
    /// Whether every step was `unchanged` (or skipped): nothing was changed by the run.
    pub fn all_unchanged(&self) -> bool {
        self.steps
            .iter()
            .all(|s| matches!(s.outcome, Outcome::Unchanged | Outcome::Skipped))
    }

    /// The report as pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s =
            serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_outcomes_in_snake_case() {
        let r = StepRecord {
            name: "root mount".into(),
            phase: Phase::Vault,
            target: "sys/mounts/pki".into(),
            outcome: Outcome::Unchanged,
            duration_ms: 3,
            detail: String::new(),
        };
        assert_eq!(
            serde_json::to_value(&r).ok(),
            Some(serde_json::json!({
                "name": "root mount", "phase": "vault", "target": "sys/mounts/pki",
                "outcome": "unchanged", "duration_ms": 3
            }))
        );
        assert_eq!(Outcome::Created.word(true), "would create");
    }
}
