//! `rotate-report.json`: what a rotation did, phase by phase, what is left, and the reports of
//! the `e2e run`s it made. No secrets.

use serde::Serialize;

use crate::report::{ErrorRecord, Outcome, Report};

/// How a rotation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RotateStatus {
    /// Everything asked was done.
    Done,
    /// `--if-expiring-within`: the intermediate outlives the window; nothing was changed.
    NotNeeded,
    /// A root rotation stopped where it must wait (phase `wait-workloads`, or `--until`);
    /// run it again to continue.
    Paused,
    /// A step failed; `error` says which and why.
    Failed,
}

/// One phase or step of a rotation.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseRecord {
    /// Its name (`new-root`, `new intermediate`, …).
    pub phase: String,
    /// What it did.
    pub outcome: Outcome,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// What was done or seen.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Shows `phase` (run since `*mark`) as a progress line about `target`, appends it to
/// `phases`, and starts timing the next one.
pub(crate) fn record_phase(
    progress: &crate::progress::Progress<'_>,
    phases: &mut Vec<PhaseRecord>,
    mark: &mut std::time::Instant,
    target: &str,
    (phase, outcome, detail): (&str, Outcome, String),
) {
    let took = mark.elapsed();
    progress.step_timed(
        crate::report::Phase::Rotate,
        phase,
        target,
        outcome,
        took,
        &detail,
    );
    phases.push(PhaseRecord {
        phase: phase.to_string(),
        outcome,
        duration_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        detail,
    });
    *mark = std::time::Instant::now();
}

/// A rotation's report.
#[derive(Debug, Clone, Serialize)]
pub struct RotateReport {
    /// `rotate intermediate`, `rotate root` or `rotate secret-id`.
    pub command: String,
    /// How it ended.
    pub status: RotateStatus,
    /// The output folder.
    pub out: String,
    /// Wall time, in milliseconds.
    pub duration_ms: u64,
    /// What it did, in order.
    pub phases: Vec<PhaseRecord>,
    /// A root rotation's phases still to do.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<String>,
    /// When a paused root rotation can continue (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_at: Option<u64>,
    /// The reports of the `e2e run`s it made, in order.
    pub runs: Vec<Report>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
}

impl RotateReport {
    /// The report as pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s =
            serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        s.push('\n');
        s
    }
}
