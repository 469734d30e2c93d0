//! What a run tells as it goes: typed events for an [`Observer`]. The CLI's terminal renderer
//! prints them; the run's own recorder turns them into the
//! report's steps and notes. Nothing reads log text.

use crate::report::{Check, StepRecord};

/// One thing that happened in a run.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A step finished (in a plan: was assessed).
    Step(&'a StepRecord),
    /// A note: what the run did besides its steps (kept in the report).
    Note(&'a str),
    /// A check's result, with the phase word it is shown under (`verify`, `cluster`).
    Check {
        /// `verify` or `cluster`.
        phase: &'a str,
        /// The check.
        check: &'a Check,
    },
    /// The run waits for something (a server, a cluster object); [`Event::Waited`] ends it.
    Waiting(&'a str),
    /// The wait announced by the last [`Event::Waiting`] is over.
    Waited,
    /// The verification took this long.
    VerifiedIn(std::time::Duration),
}

/// Receives a run's events as they happen.
pub trait Observer: Sync {
    /// One event.
    fn on_event(&self, event: &Event<'_>);
}

/// Ignores every event: a library run whose caller wants only the report.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn on_event(&self, _: &Event<'_>) {}
}

impl<F: Fn(&Event<'_>) + Sync> Observer for F {
    fn on_event(&self, event: &Event<'_>) {
        self(event)
    }
}
