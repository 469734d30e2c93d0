//! The root rotation's [`Scope`]: the root folder, the clusters, and the loop over the
//! phases that records each one when done (the phases themselves are in `phases.rs`).

use std::time::Instant;

use vault_pki::SecretString;

use super::report::{self, PhaseRecord};
use super::root::RootOptions;
use super::{Ctx, RotateStatus};
use crate::config::{RootInput, RunConfig};
use crate::error::{Cause, Error, Result};
use crate::files::{OutDir, Sensitivity};
use crate::progress::Progress;
use crate::report::Outcome;
use crate::rotate::mesh::rfc3339_utc;
use crate::rotate::record::{RootPhase, RootRotation};

/// A root rotation over one root mount: where its files and record live (`--out`, or a
/// fleet's folder), and the clusters whose intermediates it signs (one, or a fleet's; each
/// its own [`Ctx`], with its own output folder and cluster). Every phase is done for every
/// cluster before the next phase starts anywhere: no workload gets an R2 certificate before
/// every cluster trusts R2, and R1 leaves no bundle before every cluster signs with R2.
pub(crate) struct Scope<'a, 'p> {
    /// The folder of `ca.crt`, `ca.key`, `ca-next.*` and `rotation.json`.
    pub root_dir: OutDir,
    /// Progress of the phases themselves.
    pub progress: &'a Progress<'p>,
    /// The clusters, in order; the first one's Vault client does the shared steps.
    pub members: Vec<Ctx<'a, 'p>>,
    /// The phases done by this invocation.
    pub phases: Vec<PhaseRecord>,
    mark: Instant,
}

impl<'a, 'p> Scope<'a, 'p> {
    pub fn new(root_dir: OutDir, progress: &'a Progress<'p>, members: Vec<Ctx<'a, 'p>>) -> Self {
        Scope {
            root_dir,
            progress,
            members,
            phases: Vec::new(),
            mark: Instant::now(),
        }
    }

    /// The phases still to do, by name.
    pub fn pending(&self) -> Vec<String> {
        match RootRotation::load(&self.root_dir) {
            Ok(Some(r)) => r.left().iter().map(|p| p.name().to_string()).collect(),
            _ => RootPhase::ALL
                .iter()
                .map(|p| p.name().to_string())
                .collect(),
        }
    }

    pub(super) fn phase(&mut self, phase: &str, outcome: Outcome, detail: impl Into<String>) {
        let target = self.root_dir.root().display().to_string();
        report::record_phase(
            self.progress,
            &mut self.phases,
            &mut self.mark,
            &target,
            (phase, outcome, detail.into()),
        );
    }

    pub(super) fn file_error(&self, step: &str, name: &str, e: std::io::Error) -> Error {
        Error::step(
            step.to_string(),
            Cause::File {
                path: self.root_dir.path(name),
                source: e,
            },
            "check the output folder's permissions and free space, then re-run: the rotation resumes",
        )
    }

    /// Does the phases left (up to `--until`), recording each when done.
    pub async fn drive(
        &mut self,
        opts: &RootOptions,
        record: Option<RootRotation>,
        next_at: &mut Option<u64>,
    ) -> Result<RotateStatus> {
        self.mark = Instant::now();
        let mut record = match record {
            Some(r) if r.is_complete() => {
                self.phase(
                    "root rotation",
                    Outcome::Unchanged,
                    "the rotation recorded in rotation.json is complete; move that file away to start another",
                );
                return Ok(RotateStatus::Done);
            }
            Some(r) => {
                if let Some((cert, _)) = &opts.new_root
                    && !crate::certs::same_cert(cert, &r.new_root_pem)
                {
                    return Err(Error::Usage(format!(
                        "--new-root-ca-cert differs from the new root of the rotation under way in {} (phases done: {}): finish that one first",
                        self.root_dir.path(OutDir::ROTATION).display(),
                        r.done
                            .iter()
                            .map(|p| p.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                r
            }
            None => RootRotation::default(),
        };
        for phase in record.left() {
            if let Some(until) = opts.until
                && phase > until
            {
                return Ok(RotateStatus::Paused);
            }
            let began = Instant::now();
            let detail = match phase {
                RootPhase::NewRoot => self.new_root(opts, &mut record).await?,
                RootPhase::TrustBoth => self.trust_both(&record).await?,
                RootPhase::NewIntermediate => self.new_intermediate(opts, &mut record).await?,
                RootPhase::WaitWorkloads => match self.wait_workloads(opts, &record).await {
                    Ok(d) => d,
                    Err(due) => {
                        *next_at = Some(due);
                        self.phase(
                            phase.name(),
                            Outcome::Skipped,
                            format!(
                                "waiting: workload certificates issued before the switch may live until {}; run again then (or with --wait)",
                                rfc3339_utc(due)
                            ),
                        );
                        return Ok(RotateStatus::Paused);
                    }
                },
                RootPhase::Retire => self.retire(opts, &record).await?,
            };
            record.done.push(phase);
            record.phase_ms.insert(
                phase.name().into(),
                u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX),
            );
            record
                .save(&self.root_dir)
                .map_err(|e| self.file_error("rotate: write rotation.json", OutDir::ROTATION, e))?;
            self.phase(phase.name(), Outcome::Updated, detail);
        }
        Ok(RotateStatus::Done)
    }

    pub(super) fn lead(&self) -> &Ctx<'a, 'p> {
        &self.members[0]
    }

    /// Writes (`Some`) or removes (`None`) `trust-bundle.pem` in the root folder and every
    /// cluster's.
    pub(super) fn set_bundle(&self, bundle: Option<&str>) -> Result<()> {
        let mut dirs = vec![&self.root_dir];
        dirs.extend(self.members.iter().map(|m| &m.out));
        for d in dirs {
            let r = match bundle {
                Some(b) => d
                    .write(OutDir::TRUST_BUNDLE, b.as_bytes(), Sensitivity::Public)
                    .map(|_| ()),
                None => match std::fs::remove_file(d.path(OutDir::TRUST_BUNDLE)) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    other => other,
                },
            };
            r.map_err(|e| {
                Error::step(
                    "rotate: trust-bundle.pem",
                    Cause::File {
                        path: d.path(OutDir::TRUST_BUNDLE),
                        source: e,
                    },
                    "check the output folder's permissions, then re-run: the rotation resumes",
                )
            })?;
        }
        Ok(())
    }

    /// A cluster's run configuration once R2 signs: R2 and its key.
    pub(super) fn after_switch(
        &self,
        cfg: &RunConfig,
        opts: &RootOptions,
        record: &RootRotation,
    ) -> Result<RunConfig> {
        let key = if record.new_root_generated {
            self.root_dir
                .read(OutDir::NEXT_CA_KEY)
                .map_err(|e| self.file_error("rotate: read ca-next.key", OutDir::NEXT_CA_KEY, e))?
                .map(SecretString::new)
        } else {
            opts.new_root.as_ref().map(|(_, k)| k.clone())
        };
        let key = key.ok_or_else(|| {
            Error::Usage(
                "the new root's key is needed from here on: pass --new-root-ca-cert and --new-root-ca-key again".into(),
            )
        })?;
        let mut c = cfg.clone();
        c.root = RootInput::Given {
            cert_pem: record.new_root_pem.clone(),
            key_pem: key,
        };
        c.replace_root = false;
        Ok(c)
    }
}
