//! The terminal renderer: one line per step on stderr with its outcome and time, check lines,
//! notes, and a spinner while waiting (only on a terminal).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use crate::observer::{Event, Observer};
use crate::report::{Check, Phase, StepRecord};

/// Prints a run's events on stderr.
#[derive(Debug)]
pub struct TextRenderer {
    dry_run: bool,
    spinner: Mutex<Option<indicatif::ProgressBar>>,
}

impl TextRenderer {
    /// A renderer; `dry_run` words outcomes as a plan does (`would create`).
    pub fn new(dry_run: bool) -> Self {
        Self {
            dry_run,
            spinner: Mutex::new(None),
        }
    }

    fn set_spinner(&self, pb: Option<indicatif::ProgressBar>) {
        let mut g = self.spinner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = g.take() {
            old.finish_and_clear();
        }
        *g = pb;
    }
}

impl Observer for TextRenderer {
    fn on_event(&self, event: &Event<'_>) {
        match event {
            Event::Step(rec) => eprintln!("{}", step_line(rec, self.dry_run)),
            Event::Note(msg) => eprintln!("{msg}"),
            Event::Check { phase, check } => {
                eprintln!("{}", check_line(phase, check, self.dry_run))
            }
            Event::VerifiedIn(took) => eprintln!("verification took {} ms", took.as_millis()),
            Event::Waiting(what) => self.set_spinner(spinner(what)),
            Event::Waited => self.set_spinner(None),
        }
    }
}

fn spinner(what: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        pb.set_style(style);
    }
    pb.set_message(what.to_string());
    pb.enable_steady_tick(Duration::from_millis(100));
    Some(pb)
}

/// Formats one step's line.
pub fn step_line(rec: &StepRecord, dry_run: bool) -> String {
    let phase = match rec.phase {
        Phase::Vault => "vault",
        Phase::Files => "file",
        Phase::Cluster => "cluster",
        Phase::Verify => "verify",
        Phase::Rotate => "rotate",
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

/// Formats one check's line: `ok`, or `FAILED` (`NOT OK` in a plan, which reports the cluster
/// as it is now).
pub fn check_line(phase: &str, check: &Check, dry_run: bool) -> String {
    let word = match (check.passed, dry_run) {
        (true, _) => "ok",
        (false, false) => "FAILED",
        (false, true) => "NOT OK",
    };
    format!("{word:<12} {phase:<7} {:<25} {}", check.name, check.detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Outcome;

    #[test]
    fn lines_name_outcome_phase_and_time() {
        let rec = StepRecord {
            name: "root mount".into(),
            phase: Phase::Vault,
            target: "sys/mounts/pki".into(),
            outcome: Outcome::Created,
            duration_ms: 3,
            detail: "pki".into(),
        };
        let line = step_line(&rec, true);
        assert!(
            line.starts_with("would create vault   root mount"),
            "{line}"
        );
        assert!(line.ends_with("3 ms  pki"), "{line}");
        let c = Check {
            name: "issuer ready".into(),
            passed: false,
            detail: "VaultError".into(),
        };
        assert!(check_line("cluster", &c, true).starts_with("NOT OK       cluster issuer ready"));
        assert!(check_line("verify", &c, false).starts_with("FAILED"));
    }
}
