//! `<out>/report.json` of a fleet run: the root's steps, each cluster's steps, checks, outcome
//! and duration, and the clusters left over from earlier runs. It never holds a secret.

use serde::Serialize;

use crate::report::{Check, ErrorRecord, Outcome, Report, Status, StepRecord, VaultInfo};

/// The fleet report.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FleetReport {
    /// `fleet run` or `fleet plan`.
    pub command: String,
    /// `done` when the root and every cluster are; else `failed`.
    pub status: Status,
    /// A plan.
    pub dry_run: bool,
    /// The Vault server.
    pub vault: VaultInfo,
    /// The output folder.
    pub out: String,
    /// The shared steps: the root mount, the root CA, the AppRole auth mount, `ca.crt`.
    pub root: RootReport,
    /// Each cluster, in the file's order.
    pub clusters: Vec<ClusterResult>,
    /// Clusters an earlier run set up that the file no longer lists.
    pub orphaned: Vec<Orphan>,
    /// The whole run.
    pub duration_ms: u64,
    /// Why the fleet stopped before its clusters, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
}

/// The root's part of the report.
#[derive(Debug, Clone, Serialize)]
pub struct RootReport {
    /// The root mount.
    pub mount: String,
    /// Its steps.
    pub steps: Vec<StepRecord>,
}

/// One cluster's result.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterResult {
    /// Its name.
    pub name: String,
    /// Istio's cluster ID.
    pub cluster_id: String,
    /// Its output folder (which holds its own `report.json`).
    pub out: String,
    /// `done` or `failed`.
    pub status: Status,
    /// How many steps created or updated something.
    pub changed: usize,
    /// Its run.
    pub duration_ms: u64,
    /// Its steps.
    pub steps: Vec<StepRecord>,
    /// Its checks.
    pub verification: Vec<Check>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
}

impl ClusterResult {
    /// The result of `name`'s run, from its report.
    pub fn from_report(name: &str, cluster_id: &str, r: &Report) -> ClusterResult {
        ClusterResult {
            name: name.into(),
            cluster_id: cluster_id.into(),
            out: r.out.clone(),
            status: r.status,
            changed: changed(&r.steps),
            duration_ms: r.duration_ms,
            steps: r.steps.clone(),
            verification: r.verification.clone(),
            error: r.error.clone(),
        }
    }
}

/// A cluster no longer in the file, and what it left in Vault.
#[derive(Debug, Clone, Serialize)]
pub struct Orphan {
    /// Its name.
    pub name: String,
    /// What is still in Vault (`sys/mounts/istioca-x`, `sys/policies/acl/…`, `auth/…/role/…`).
    pub left: Vec<String>,
    /// Whether `--prune` removed it.
    pub pruned: bool,
}

/// The number of steps that created or updated something.
pub fn changed(steps: &[StepRecord]) -> usize {
    steps
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Created | Outcome::Updated))
        .count()
}

impl FleetReport {
    /// Whether nothing was created or updated anywhere.
    pub fn all_unchanged(&self) -> bool {
        changed(&self.root.steps) == 0 && self.clusters.iter().all(|c| c.changed == 0)
    }

    /// The clusters that failed.
    pub fn failed(&self) -> impl Iterator<Item = &ClusterResult> {
        self.clusters.iter().filter(|c| c.status == Status::Failed)
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s =
            serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        s.push('\n');
        s
    }
}
