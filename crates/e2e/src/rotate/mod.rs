//! `e2e rotate`: rotations that never leave a workload unable to verify a peer, each a
//! resumable sequence over `vault-pki`'s issuer operations and `e2e run`'s phases.
//!
//! - [`intermediate()`]: a new intermediate in the same mount, signed by the current root,
//!   made the default issuer; the old one stays until nothing valid chains to it.
//! - [`root()`]: the overlap sequence ([`RootPhase`]), one phase at a time, recorded in
//!   `rotation.json` so that a killed rotation resumes where it stopped.
//! - [`secret_id()`]: a new AppRole secret-id, in use by cert-manager before the old one is
//!   destroyed.
//!
//! Each takes the same [`RunConfig`] as `e2e run` (so the same Vault, naming, `--out` and
//! cluster flags), runs `e2e run` itself where the files and the cluster must follow (so an
//! `e2e run` afterwards changes nothing), and returns a [`RotateReport`].
//!
//! ```no_run
//! # async fn demo(cfg: e2e::RunConfig) -> e2e::Result<()> {
//! use e2e::rotate::{self, IntermediateOptions};
//! let opts = IntermediateOptions { if_expiring_within: Some(std::time::Duration::from_secs(30 * 86400)), retire_old: true };
//! let out = rotate::intermediate(&cfg, &opts, &e2e::NoObserver).await;
//! println!("{}", out.report.to_json());
//! # Ok(()) }
//! ```

mod args;
pub mod fleet;
mod intermediate;
pub mod mesh;
mod phases;
pub mod record;
mod report;
mod root;
mod scope;
mod secret_id;

use std::time::Instant;

use kube::Client;

pub use fleet::{FleetRotateOutput, FleetRotateReport, FleetRotation};
pub use intermediate::{IntermediateOptions, intermediate};
pub use record::{RootPhase, RootRotation};
pub use report::{PhaseRecord, RotateReport, RotateStatus};
pub use root::{RootOptions, root};
pub use secret_id::secret_id;

use crate::config::{RunConfig, VaultSpec};
use crate::error::{Cause, Error, Result};
use crate::files::OutDir;
use crate::observer::Observer;
use crate::progress::Progress;
use crate::report::{ErrorRecord, Outcome};
use crate::vault::VaultConnection;

/// What a rotation produced: its report (also on failure) and its error.
#[derive(Debug)]
#[non_exhaustive]
pub struct RotateOutput {
    /// The report, as written to `<out>/rotate-report.json`.
    pub report: RotateReport,
    /// Why it failed, if it did.
    pub error: Option<Error>,
}

/// What every rotation works with: the run's configuration, its output folder, progress, one
/// Vault client and (with a cluster) one Kubernetes client.
pub(crate) struct Ctx<'a, 'p> {
    /// The cluster's name in a fleet (empty for one cluster).
    pub name: String,
    pub cfg: &'a RunConfig,
    pub out: OutDir,
    pub progress: &'a Progress<'p>,
    pub observer: &'a dyn Observer,
    pub conn: VaultConnection,
    pub kube: Option<Client>,
    pub phases: Vec<PhaseRecord>,
    pub runs: Vec<crate::report::Report>,
    pub mark: Instant,
}

impl<'a, 'p> Ctx<'a, 'p> {
    /// Connects to Vault (a given server: a rotation needs the server that holds the CA) and,
    /// with `--kubeconfig`, to the cluster.
    pub async fn connect(
        cfg: &'a RunConfig,
        progress: &'a Progress<'p>,
        observer: &'a dyn Observer,
    ) -> Result<Ctx<'a, 'p>> {
        if matches!(cfg.vault, VaultSpec::DevServer) {
            return Err(Error::Usage(
                "e2e rotate needs the Vault that holds the CA: give --vault-addr (or VAULT_ADDR) and a token"
                    .into(),
            ));
        }
        let kube = crate::kube::connect(cfg).await?;
        let conn = crate::vault::connect(&cfg.vault, progress)?;
        Ok(Ctx {
            name: String::new(),
            cfg,
            out: OutDir::new(&cfg.out),
            progress,
            observer,
            conn,
            kube,
            phases: Vec::new(),
            runs: Vec::new(),
            mark: Instant::now(),
        })
    }

    /// Records a phase (or step) of the rotation that ran since the last one.
    pub fn phase(&mut self, phase: &str, outcome: Outcome, detail: impl Into<String>) {
        let target = self.out.root().display().to_string();
        report::record_phase(
            self.progress,
            &mut self.phases,
            &mut self.mark,
            &target,
            (phase, outcome, detail.into()),
        );
    }

    /// `e2e run` with `cfg` (the files and the cluster follow Vault); its report is kept.
    pub async fn run(&mut self, cfg: &RunConfig) -> Result<()> {
        let output = crate::run::run(cfg, self.observer).await;
        self.runs.push(output.report);
        self.mark = Instant::now();
        match output.error {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// `<name>: ` in a fleet, nothing for one cluster.
    pub fn label(&self) -> String {
        if self.name.is_empty() {
            String::new()
        } else {
            format!("{}: ", self.name)
        }
    }

    /// The bound of a wait on the cluster.
    pub fn wait_bound(&self) -> std::time::Duration {
        self.cfg
            .cluster
            .as_ref()
            .map(|c| c.wait_timeout)
            .unwrap_or(std::time::Duration::from_secs(120))
    }

    /// A file error in a rotation step.
    pub fn file_error(&self, step: &str, name: &str, e: std::io::Error) -> Error {
        Error::step(
            step.to_string(),
            Cause::File {
                path: self.out.path(name),
                source: e,
            },
            "check the output folder's permissions and free space, then re-run: the rotation resumes",
        )
    }
}

/// Builds the output of a rotation from what it did, and writes `rotate-report.json`.
pub(crate) fn finish(
    command: &str,
    cfg: &RunConfig,
    started: Instant,
    ctx: Option<Ctx<'_, '_>>,
    result: Result<RotateStatus>,
    pending: Vec<String>,
    next_at: Option<u64>,
) -> RotateOutput {
    let (phases, runs) = match ctx {
        Some(c) => (c.phases, c.runs),
        None => (Vec::new(), Vec::new()),
    };
    let (status, mut error) = match result {
        Ok(s) => (s, None),
        Err(e) => (RotateStatus::Failed, Some(e)),
    };
    let report = RotateReport {
        command: command.to_string(),
        status,
        out: cfg.out.display().to_string(),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        phases,
        pending,
        next_at,
        runs,
        error: error.as_ref().map(|e| ErrorRecord {
            step: e.step_name().map(str::to_string),
            message: e.to_string(),
        }),
    };
    let out = OutDir::new(&cfg.out);
    if out.root().is_dir()
        && let Err(e) = out.write(
            OutDir::ROTATE_REPORT,
            report.to_json().as_bytes(),
            crate::files::Sensitivity::Public,
        )
    {
        error.get_or_insert(Error::step(
            "write rotate-report.json",
            Cause::File {
                path: out.path(OutDir::ROTATE_REPORT),
                source: e,
            },
            "check that the output folder is writable",
        ));
    }
    RotateOutput { report, error }
}
