//! The run's progress handle: phases report steps, notes and checks here; it times each step,
//! records it for the report, and hands it to the caller's [`Observer`].

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::observer::{Event, Observer};
use crate::report::{Check, Outcome, Phase, StepRecord};

#[derive(Debug)]
struct Recorded {
    steps: Vec<StepRecord>,
    notes: Vec<String>,
    mark: Instant,
}

/// Records a run's steps and notes and forwards every event to an observer.
pub struct Progress<'a> {
    observer: &'a dyn Observer,
    inner: Mutex<Recorded>,
}

impl std::fmt::Debug for Progress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress").finish_non_exhaustive()
    }
}

impl<'a> Progress<'a> {
    /// A recorder forwarding to `observer`.
    pub fn new(observer: &'a dyn Observer) -> Self {
        Self {
            observer,
            inner: Mutex::new(Recorded {
                steps: Vec::new(),
                notes: Vec::new(),
                mark: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Recorded> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts timing the next step now.
    pub fn mark(&self) {
        self.lock().mark = Instant::now();
    }

    /// Records a step that took `duration`.
    pub fn step_timed(
        &self,
        phase: Phase,
        name: &str,
        target: &str,
        outcome: Outcome,
        duration: Duration,
        detail: &str,
    ) {
        let rec = StepRecord {
            name: name.to_string(),
            phase,
            target: target.to_string(),
            outcome,
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            detail: detail.to_string(),
        };
        self.observer.on_event(&Event::Step(&rec));
        let mut g = self.lock();
        g.steps.push(rec);
        g.mark = Instant::now();
    }

    /// Records a step that ran since the last step (or [`Progress::mark`]).
    pub fn step(&self, phase: Phase, name: &str, target: &str, outcome: Outcome, detail: &str) {
        let elapsed = self.lock().mark.elapsed();
        self.step_timed(phase, name, target, outcome, elapsed, detail);
    }

    /// A note (not a step), kept for the report.
    pub fn note(&self, msg: &str) {
        self.observer.on_event(&Event::Note(msg));
        self.lock().notes.push(msg.trim().to_string());
    }

    /// Shows a check's result under `phase` (`verify`, `cluster`).
    pub fn check(&self, phase: &str, check: &Check) {
        self.observer.on_event(&Event::Check { phase, check });
    }

    /// The run waits for `what` until [`Progress::waited`].
    pub fn waiting(&self, what: &str) {
        self.observer.on_event(&Event::Waiting(what));
    }

    /// The wait is over.
    pub fn waited(&self) {
        self.observer.on_event(&Event::Waited);
    }

    /// The verification's duration.
    pub fn verified_in(&self, took: Duration) {
        self.observer.on_event(&Event::VerifiedIn(took));
    }

    /// The steps and notes recorded so far.
    pub fn take(&self) -> (Vec<StepRecord>, Vec<String>) {
        let mut g = self.lock();
        (std::mem::take(&mut g.steps), std::mem::take(&mut g.notes))
    }
}
