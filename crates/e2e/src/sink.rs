//! The secrets Vault hands out once (the exported intermediate key, a new secret-id), written
//! to the output folder the moment Vault returns them, before the setup's next request:
//! atomically, mode 0600, fsynced with the folder. A run killed at any point after that loses
//! neither.

use std::sync::Mutex;

use vault_pki::{NewSecret, SetupObserver, StepReport};

use crate::files::{OutDir, Sensitivity};
use crate::progress::Progress;
use crate::report::Phase;
use crate::state::State;

/// The observer of the Vault phase: progress lines for its steps, and the secrets to disk.
pub struct SecretSink<'a, 'p> {
    progress: &'a Progress<'p>,
    /// `None` in a plan: nothing is written.
    out: Option<&'a OutDir>,
    /// The state recorded before this run, which a new secret-id updates.
    state: Mutex<State>,
    /// The files written here, which the files phase does not write again.
    written: Mutex<Vec<&'static str>>,
}

impl std::fmt::Debug for SecretSink<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretSink").finish_non_exhaustive()
    }
}

impl<'a, 'p> SecretSink<'a, 'p> {
    /// A sink writing into `out` (`None`: a plan), starting from the recorded `state`.
    pub fn new(progress: &'a Progress<'p>, out: Option<&'a OutDir>, state: &State) -> Self {
        Self {
            progress,
            out,
            state: Mutex::new(state.clone()),
            written: Mutex::new(Vec::new()),
        }
    }

    /// The files this sink wrote.
    pub fn written(&self) -> Vec<&'static str> {
        self.written.lock().map(|w| w.clone()).unwrap_or_default()
    }

    fn write(
        &self,
        out: &OutDir,
        name: &'static str,
        content: &[u8],
        sensitivity: Sensitivity,
    ) -> std::io::Result<()> {
        let outcome = out.write(name, content, sensitivity)?;
        self.mark(out, name, outcome, sensitivity);
        Ok(())
    }

    fn mark(
        &self,
        out: &OutDir,
        name: &'static str,
        outcome: crate::report::Outcome,
        sensitivity: Sensitivity,
    ) {
        let detail = if sensitivity == Sensitivity::Secret {
            "mode 0600"
        } else {
            ""
        };
        self.progress.step(
            Phase::Files,
            &format!("write {name}"),
            &out.path(name).display().to_string(),
            outcome,
            detail,
        );
        if let Ok(mut w) = self.written.lock() {
            w.push(name);
        }
    }
}

impl SetupObserver for SecretSink<'_, '_> {
    fn on_step(&self, s: &StepReport) {
        crate::vault::show_step(self.progress, s);
    }

    fn on_secret(
        &self,
        secret: &NewSecret<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let Some(out) = self.out else {
            return Ok(());
        };
        let named = |name: &str, e: std::io::Error| -> Box<dyn std::error::Error + Send + Sync> {
            Box::new(std::io::Error::new(
                e.kind(),
                format!("{}: {e}", out.path(name).display()),
            ))
        };
        match secret {
            NewSecret::IntermediateKey { key_pem, csr_pem } => {
                self.write(
                    out,
                    OutDir::ISTIOCA_KEY,
                    key_pem.expose_secret().as_bytes(),
                    Sensitivity::Secret,
                )
                .map_err(|e| named(OutDir::ISTIOCA_KEY, e))?;
                self.write(
                    out,
                    OutDir::ISTIOCA_CSR,
                    csr_pem.as_bytes(),
                    Sensitivity::Public,
                )
                .map_err(|e| named(OutDir::ISTIOCA_CSR, e))?;
            }
            NewSecret::SecretId { role_id, record } => {
                let mut state = self
                    .state
                    .lock()
                    .map_err(|_| named(OutDir::STATE, std::io::Error::other("poisoned lock")))?;
                if let Some(r) = role_id {
                    state.role_id = Some(r.to_string());
                }
                state.secret_id = Some((*record).clone());
                let outcome = state.save(out).map_err(|e| named(OutDir::STATE, e))?;
                self.mark(out, OutDir::STATE, outcome, Sensitivity::Secret);
            }
            _ => {}
        }
        Ok(())
    }
}
