//! Progress: one line per step on stderr with its outcome and time, a spinner while waiting,
//! and the steps recorded for the report. Vault steps are timed as `vault-pki` reports them
//! (its `vault setup step` events), so each line appears as the step finishes.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::report::{Outcome, Phase, StepRecord};

#[derive(Debug)]
struct Inner {
    quiet: bool,
    dry_run: bool,
    steps: Vec<StepRecord>,
    notes: Vec<String>,
    mark: Instant,
}

/// Prints progress lines and records the steps; cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Progress {
    inner: Arc<Mutex<Inner>>,
}

impl Progress {
    /// A recorder; `quiet` prints nothing (for `--output json`), `dry_run` words outcomes as
    /// a plan (`would create`).
    pub fn new(quiet: bool, dry_run: bool) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                quiet,
                dry_run,
                steps: Vec::new(),
                notes: Vec::new(),
                mark: Instant::now(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts timing the next step now.
    pub fn mark(&self) {
        self.lock().mark = Instant::now();
    }

    /// Whether progress lines are printed.
    pub fn is_quiet(&self) -> bool {
        self.lock().quiet
    }

    /// Records a step that took `duration`, and prints its line.
    pub fn step_timed(
        &self,
        phase: Phase,
        name: &str,
        target: &str,
        outcome: Outcome,
        duration: Duration,
        detail: &str,
    ) {
        let mut g = self.lock();
        let rec = StepRecord {
            name: name.to_string(),
            phase,
            target: target.to_string(),
            outcome,
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            detail: detail.to_string(),
        };
        if !g.quiet {
            eprintln!("{}", line(&rec, g.dry_run));
        }
        g.steps.push(rec);
        g.mark = Instant::now();
    }

    /// Records a step that ran since the last step (or [`Progress::mark`]).
    pub fn step(&self, phase: Phase, name: &str, target: &str, outcome: Outcome, detail: &str) {
        let elapsed = self.lock().mark.elapsed();
        self.step_timed(phase, name, target, outcome, elapsed, detail);
    }

    /// Prints a note line (not a step) and keeps it for the report.
    pub fn note(&self, msg: &str) {
        let mut g = self.lock();
        if !g.quiet {
            eprintln!("{msg}");
        }
        g.notes.push(msg.trim().to_string());
    }

    /// The notes recorded so far.
    pub fn notes(&self) -> Vec<String> {
        self.lock().notes.clone()
    }

    /// The steps recorded so far.
    pub fn steps(&self) -> Vec<StepRecord> {
        self.lock().steps.clone()
    }

    /// A spinner on stderr while waiting for `what` (hidden when quiet or not a terminal).
    pub fn spinner(&self, what: &str) -> indicatif::ProgressBar {
        if self.is_quiet() {
            return indicatif::ProgressBar::hidden();
        }
        let pb =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            pb.set_style(style);
        }
        pb.set_message(what.to_string());
        pb.enable_steady_tick(Duration::from_millis(100));
        pb
    }

    /// Installs the global tracing subscriber: this recorder's Vault-step layer, plus log
    /// lines on stderr filtered by `E2E_LOG` (default: warnings, without vaultrs'/rustify's own
    /// lines, whose failures come back as errors anyway).
    pub fn init_tracing(&self) {
        let filter = tracing_subscriber::EnvFilter::try_from_env("E2E_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,vaultrs=off,rustify=off"));
        let fmt = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter);
        let _ = tracing_subscriber::registry()
            .with(fmt)
            .with(VaultStepLayer {
                progress: self.clone(),
            })
            .try_init();
    }
}

/// Formats one progress line.
pub fn line(rec: &StepRecord, dry_run: bool) -> String {
    let phase = match rec.phase {
        Phase::Vault => "vault",
        Phase::Files => "file",
        Phase::Cluster => "cluster",
        Phase::Verify => "verify",
    };
    let mut s = format!(
        "{:<12} {:<7} {:<25} {:<44} {:>6} ms",
        rec.outcome.word(dry_run),
        phase,
        rec.name,
        rec.target,
        rec.duration_ms
    );
    if !rec.detail.is_empty() {
        s.push_str("  ");
        s.push_str(&rec.detail);
    }
    s
}

/// Turns `vault-pki`'s per-step events into progress lines.
struct VaultStepLayer {
    progress: Progress,
}

#[derive(Default)]
struct StepFields {
    message: String,
    step: String,
    path: String,
    outcome: String,
    detail: String,
}

impl tracing::field::Visit for StepFields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.set(field.name(), value.to_string());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.set(field.name(), format!("{value:?}"));
    }
}

impl StepFields {
    fn set(&mut self, name: &str, v: String) {
        match name {
            "message" => self.message = v,
            "step" => self.step = v,
            "path" => self.path = v,
            "outcome" => self.outcome = v,
            "detail" => self.detail = v,
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for VaultStepLayer {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if !event.metadata().target().starts_with("vault_pki") {
            return;
        }
        let mut f = StepFields::default();
        event.record(&mut f);
        if f.message != "vault setup step" {
            return;
        }
        let outcome = match f.outcome.as_str() {
            "created" => Outcome::Created,
            "updated" => Outcome::Updated,
            _ => Outcome::Unchanged,
        };
        self.progress
            .step(Phase::Vault, &f.step, &f.path, outcome, &f.detail);
    }
}
