//! `<out>/.e2e-fleet.json`: the clusters a fleet run set up, with their Vault names, so that a
//! later run of a file without one of them can say what it left in Vault (and prune it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::file::ClusterNames;
use crate::files::{OutDir, Sensitivity};

/// The record's file name in the fleet's output folder.
pub const RECORD: &str = ".e2e-fleet.json";

/// A recorded cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedCluster {
    /// Its Vault names.
    #[serde(flatten)]
    pub names: ClusterNames,
    /// The AppRole auth mount its role is in.
    pub approle_mount: String,
    /// Its own Kubernetes auth mount, with `auth: kubernetes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_mount: Option<String>,
}

/// What earlier fleet runs set up, by cluster name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetRecord {
    /// The clusters.
    pub clusters: BTreeMap<String, RecordedCluster>,
}

impl FleetRecord {
    /// The record in `out`; empty when there is none.
    pub fn load(out: &OutDir) -> std::io::Result<FleetRecord> {
        match out.read(RECORD)? {
            None => Ok(FleetRecord::default()),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("not a fleet record ({e}); remove it to forget the recorded clusters"),
                )
            }),
        }
    }

    /// Writes the record to `out` (atomically).
    pub fn save(&self, out: &OutDir) -> std::io::Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        text.push('\n');
        out.write(RECORD, text.as_bytes(), Sensitivity::Public)
            .map(|_| ())
    }
}
