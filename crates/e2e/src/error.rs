//! Errors of a run: which step failed, what failed, and what to do about it.

/// Why `e2e run` or `e2e plan` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The arguments are inconsistent (exit code 2).
    #[error("bad usage: {0}")]
    Usage(String),
    /// A step of the flow failed (exit code 1).
    #[error("step `{step}` failed: {message}\n  what to do: {hint}")]
    Step {
        /// The step's name, as in the progress lines and `report.json`.
        step: String,
        /// What failed, with its causes (never a secret).
        message: String,
        /// What the operator can do about it.
        hint: String,
    },
}

impl Error {
    /// A failed step.
    pub fn step(
        step: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Error::Step {
            step: step.into(),
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The process exit code for this error: 2 for bad usage, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Step { .. } => 1,
        }
    }

    /// The failed step's name, if a step failed.
    pub fn step_name(&self) -> Option<&str> {
        match self {
            Error::Step { step, .. } => Some(step),
            Error::Usage(_) => None,
        }
    }
}

/// Formats an error with its chain of causes on one line.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

/// Result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
