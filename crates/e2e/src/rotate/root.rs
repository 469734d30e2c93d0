//! `e2e rotate root`: replace the root without a moment in which a workload cannot verify a
//! peer. Five phases ([`RootPhase`]), each recorded in `rotation.json` when done, so that a
//! rotation killed in any phase resumes at it; `--until` stops after a phase, `--plan` shows
//! what is left. Workloads trust both roots (phase 2) before anything is signed under the new
//! one (phase 3), and the old root leaves the bundle (phase 5) only after every workload
//! certificate has had time to renew under the new one (phase 4).

use std::time::{Duration, Instant};

use vault_pki::SecretString;

use super::scope::Scope;
use super::{Ctx, RotateOutput, RotateStatus, finish};
use crate::config::RunConfig;
use crate::error::{Cause, Error, Result};
use crate::files::OutDir;
use crate::observer::Observer;
use crate::progress::Progress;
use crate::report::Outcome;
use crate::rotate::record::{RootPhase, RootRotation};

/// Istio's default workload certificate lifetime (`SECRET_TTL`, 24h): the default bound of
/// phase 4.
pub const DEFAULT_WORKLOAD_BOUND: Duration = Duration::from_secs(24 * 3600);

/// The options of `e2e rotate root`.
#[derive(Debug, Clone)]
pub struct RootOptions {
    /// The new root and its key (`--new-root-ca-cert`, `--new-root-ca-key`); `None`: one is
    /// generated (rcgen, ECDSA P-256) and written to `ca-next.crt`/`ca-next.key`.
    pub new_root: Option<(String, SecretString)>,
    /// Stop after this phase.
    pub until: Option<RootPhase>,
    /// Show the phases done and left; change nothing.
    pub plan: bool,
    /// How long a workload certificate lives at most: phase 4 ends this long after phase 3
    /// (the value given to the run that does phase 4 counts).
    pub workload_bound: Duration,
    /// In phase 4, wait for the bound to pass instead of pausing.
    pub wait: bool,
}

impl Default for RootOptions {
    fn default() -> Self {
        RootOptions {
            new_root: None,
            until: None,
            plan: false,
            workload_bound: DEFAULT_WORKLOAD_BOUND,
            wait: false,
        }
    }
}

/// Rotates the root of `cfg`'s mounts, or continues the rotation recorded in `--out`.
pub async fn root(cfg: &RunConfig, opts: &RootOptions, observer: &dyn Observer) -> RotateOutput {
    let started = Instant::now();
    let progress = Progress::new(observer);
    let root_dir = OutDir::new(&cfg.out);
    let record = match load(&root_dir) {
        Ok(r) => r,
        Err(e) => return finish("rotate root", cfg, started, None, Err(e), vec![], None),
    };
    if opts.plan {
        return plan(cfg, record, started, &progress);
    }
    let ctx = match Ctx::connect(cfg, &progress, observer).await {
        Ok(c) => c,
        Err(e) => return finish("rotate root", cfg, started, None, Err(e), vec![], None),
    };
    let mut scope = Scope::new(root_dir, &progress, vec![ctx]);
    let mut next_at = None;
    let result = scope.drive(opts, record, &mut next_at).await;
    let pending = scope.pending();
    let mut ctx = scope.members.pop();
    if let Some(c) = &mut ctx {
        c.phases = scope.phases;
    }
    finish("rotate root", cfg, started, ctx, result, pending, next_at)
}

/// Reads `rotation.json` (`None`: no rotation yet).
pub(crate) fn load(root_dir: &OutDir) -> Result<Option<RootRotation>> {
    RootRotation::load(root_dir).map_err(|e| {
        Error::step(
            "rotate: read rotation.json",
            Cause::File {
                path: root_dir.path(OutDir::ROTATION),
                source: e,
            },
            "the file is written by e2e rotate root; restore it (or remove it only if no rotation is under way)",
        )
    })
}

/// `--plan`: the phases done and left, from `rotation.json`; nothing is read from Vault.
pub(crate) fn plan(
    cfg: &RunConfig,
    record: Option<RootRotation>,
    started: Instant,
    progress: &Progress<'_>,
) -> RotateOutput {
    let record = record.unwrap_or_default();
    for p in RootPhase::ALL {
        let (outcome, word) = if record.is_done(p) {
            (Outcome::Unchanged, "done")
        } else {
            (Outcome::Skipped, "left")
        };
        let took = record.phase_ms.get(p.name()).copied().unwrap_or(0);
        progress.step_timed(
            crate::report::Phase::Rotate,
            p.name(),
            &cfg.out.display().to_string(),
            outcome,
            Duration::from_millis(took),
            &format!("{word}: {}", p.what()),
        );
    }
    let pending: Vec<String> = record.left().iter().map(|p| p.name().to_string()).collect();
    let status = if pending.is_empty() {
        RotateStatus::Done
    } else {
        RotateStatus::Paused
    };
    finish(
        "rotate root --plan",
        cfg,
        started,
        None,
        Ok(status),
        pending,
        None,
    )
}
