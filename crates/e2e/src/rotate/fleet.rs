//! `e2e rotate … --fleet FILE`: every cluster of a fleet. Intermediates and secret-ids are
//! each cluster's own, rotated one cluster after the other (a failed cluster does not stop
//! the others). The root is the fleet's: one rotation whose every phase is done for every
//! cluster before the next phase starts anywhere, recorded in the fleet's folder.

use std::time::Instant;

use serde::Serialize;

use super::report::{PhaseRecord, RotateReport, RotateStatus};
use super::root::RootOptions;
use super::scope::Scope;
use super::{Ctx, IntermediateOptions, RotateOutput};
use crate::config::{RootInput, RunConfig, VaultSpec};
use crate::error::{Error, Result};
use crate::files::{OutDir, Sensitivity};
use crate::fleet::observer::Tagged;
use crate::fleet::{Fleet, FleetObserver};
use crate::progress::Progress;
use crate::report::ErrorRecord;

/// What to rotate in every cluster of a fleet.
#[derive(Debug, Clone)]
pub enum FleetRotation {
    /// Each cluster's intermediate.
    Intermediate(IntermediateOptions),
    /// The fleet's root, with a trust overlap across all clusters.
    Root(RootOptions),
    /// Each cluster's AppRole secret-id.
    SecretId,
}

/// One cluster's part of a fleet rotation.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterRotation {
    /// The cluster.
    pub name: String,
    /// Its rotation's report (for the root: the `e2e run`s made in it).
    pub report: RotateReport,
}

/// A fleet rotation's report, written to `<out>/rotate-report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct FleetRotateReport {
    /// `fleet rotate intermediate`, `fleet rotate root` or `fleet rotate secret-id`.
    pub command: String,
    /// How it ended (failed when any cluster failed).
    pub status: RotateStatus,
    /// The fleet's folder.
    pub out: String,
    /// Wall time, in milliseconds.
    pub duration_ms: u64,
    /// The root rotation's phases done by this invocation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PhaseRecord>,
    /// The root rotation's phases still to do.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<String>,
    /// When a paused root rotation can continue (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_at: Option<u64>,
    /// Each cluster's part.
    pub clusters: Vec<ClusterRotation>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
}

impl FleetRotateReport {
    /// The report as pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s =
            serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        s.push('\n');
        s
    }
}

/// What a fleet rotation produced.
#[derive(Debug)]
#[non_exhaustive]
pub struct FleetRotateOutput {
    /// The report.
    pub report: FleetRotateReport,
    /// The first error (the fleet's, else a cluster's).
    pub error: Option<Error>,
}

/// Every cluster's run configuration, against the fleet's Vault with the fleet's root.
fn configs(fleet: &Fleet) -> Result<Vec<RunConfig>> {
    if matches!(fleet.vault, VaultSpec::DevServer) {
        return Err(Error::Usage(
            "e2e rotate needs the Vault that holds the CA: give --vault-addr (or the fleet file's vault.address)"
                .into(),
        ));
    }
    let root = match crate::vault::root_source(&fleet.root.input, &OutDir::new(&fleet.out))? {
        crate::vault::RootSource::Given(cert_pem, key_pem)
        | crate::vault::RootSource::OutDir(cert_pem, key_pem) => {
            RootInput::Given { cert_pem, key_pem }
        }
        crate::vault::RootSource::None => RootInput::Default,
    };
    Ok(fleet
        .clusters
        .iter()
        .map(|c| {
            let mut cfg = c.config.clone();
            cfg.vault = fleet.vault.clone();
            cfg.root = root.clone();
            cfg.dry_run = false;
            cfg
        })
        .collect())
}

/// Rotates `what` in every cluster of `fleet`.
pub async fn fleet(
    fleet: &Fleet,
    what: &FleetRotation,
    observer: &dyn FleetObserver,
) -> FleetRotateOutput {
    let started = Instant::now();
    let command = match what {
        FleetRotation::Intermediate(_) => "fleet rotate intermediate",
        FleetRotation::Root(_) => "fleet rotate root",
        FleetRotation::SecretId => "fleet rotate secret-id",
    };
    let mut report = FleetRotateReport {
        command: command.into(),
        status: RotateStatus::Done,
        out: fleet.out.display().to_string(),
        duration_ms: 0,
        phases: Vec::new(),
        pending: Vec::new(),
        next_at: None,
        clusters: Vec::new(),
        error: None,
    };
    let mut error = None;
    match configs(fleet) {
        Err(e) => error = Some(e),
        Ok(cfgs) => match what {
            FleetRotation::Root(opts) => {
                if let Err(e) = root(fleet, &cfgs, opts, observer, &mut report).await {
                    error = Some(e);
                }
            }
            _ => {
                let mut all_not_needed = true;
                for (c, cfg) in fleet.clusters.iter().zip(&cfgs) {
                    let tagged = Tagged {
                        cluster: Some(&c.name),
                        inner: observer,
                    };
                    let out: RotateOutput = match what {
                        FleetRotation::Intermediate(o) => {
                            super::intermediate(cfg, o, &tagged).await
                        }
                        // A cluster on Kubernetes auth has no secret-id: nothing to do there.
                        _ if matches!(cfg.auth, crate::config::Auth::Kubernetes(_)) => {
                            super::finish(
                                "rotate secret-id",
                                cfg,
                                Instant::now(),
                                None,
                                Ok(RotateStatus::NotNeeded),
                                vec![],
                                None,
                            )
                        }
                        _ => super::secret_id(cfg, &tagged).await,
                    };
                    all_not_needed &= out.report.status == RotateStatus::NotNeeded;
                    if out.error.is_some() && error.is_none() {
                        error = out.error;
                    }
                    report.clusters.push(ClusterRotation {
                        name: c.name.clone(),
                        report: out.report,
                    });
                }
                if all_not_needed && !report.clusters.is_empty() {
                    report.status = RotateStatus::NotNeeded;
                }
            }
        },
    }
    if error.is_some() {
        report.status = RotateStatus::Failed;
    }
    report.error = error.as_ref().map(|e| ErrorRecord {
        step: e.step_name().map(str::to_string),
        message: e.to_string(),
    });
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let out = OutDir::new(&fleet.out);
    if out.root().is_dir()
        && let Err(e) = out.write(
            OutDir::ROTATE_REPORT,
            report.to_json().as_bytes(),
            Sensitivity::Public,
        )
    {
        error.get_or_insert(Error::step(
            "fleet rotate: write rotate-report.json",
            crate::error::Cause::File {
                path: out.path(OutDir::ROTATE_REPORT),
                source: e,
            },
            "check that the output folder is writable",
        ));
    }
    FleetRotateOutput { report, error }
}

/// The fleet's root rotation: one [`Scope`] over every cluster, recorded in the fleet's folder.
async fn root(
    fleet: &Fleet,
    cfgs: &[RunConfig],
    opts: &RootOptions,
    observer: &dyn FleetObserver,
    report: &mut FleetRotateReport,
) -> Result<()> {
    let root_dir = OutDir::new(&fleet.out);
    let record = super::root::load(&root_dir)?;
    let root_tag = Tagged {
        cluster: None,
        inner: observer,
    };
    let progress = Progress::new(&root_tag);
    let tags: Vec<Tagged<'_>> = fleet
        .clusters
        .iter()
        .map(|c| Tagged {
            cluster: Some(&c.name),
            inner: observer,
        })
        .collect();
    let progresses: Vec<Progress<'_>> = tags.iter().map(|t| Progress::new(t)).collect();
    let mut members = Vec::new();
    for ((c, cfg), (tag, p)) in fleet
        .clusters
        .iter()
        .zip(cfgs)
        .zip(tags.iter().zip(&progresses))
    {
        let mut ctx = Ctx::connect(cfg, p, tag).await?;
        ctx.name = c.name.clone();
        members.push(ctx);
    }
    let mut scope = Scope::new(root_dir, &progress, members);
    let mut next_at = None;
    let result = scope.drive(opts, record, &mut next_at).await;
    report.pending = scope.pending();
    report.next_at = next_at;
    report.phases = std::mem::take(&mut scope.phases);
    if let Ok(s) = &result {
        report.status = *s;
    }
    for ctx in scope.members {
        report.clusters.push(ClusterRotation {
            name: ctx.name.clone(),
            report: RotateReport {
                command: "rotate root".into(),
                status: report.status,
                out: ctx.cfg.out.display().to_string(),
                duration_ms: 0,
                phases: ctx.phases,
                pending: Vec::new(),
                next_at: None,
                runs: ctx.runs,
                error: None,
            },
        });
    }
    result.map(|_| ())
}
