//! Errors. Every patch error names the path exactly as written, the segment that failed and
//! what the engine found there instead; [`Error::istio_message`] gives the text Istio's
//! operator prints for the same failure, for comparison.

use std::fmt;

/// Result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong applying, explaining or reading overlays.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A segment needs a map or a list but the node before it is a scalar.
    #[error(
        "patch `{path}`: cannot apply `{segment}`: the node it applies to is {found}, not a map or a list"
    )]
    NotAContainer {
        /// The patch path as written.
        path: String,
        /// The failing segment.
        segment: String,
        /// What is there instead.
        found: String,
        /// Istio's message for the same failure.
        istio: String,
    },
    /// A selector (`[key:value]`, `[value]`, `[:value]`) matched no element of the list.
    #[error("patch `{path}`: selector `{segment}` matched no element of {found}")]
    NoMatch {
        /// The patch path as written.
        path: String,
        /// The failing segment.
        segment: String,
        /// What the list holds.
        found: String,
        /// Istio's message for the same failure.
        istio: String,
    },
    /// A list of maps met a segment that is neither `[N]` nor `[key:value]`.
    #[error(
        "patch `{path}`: `{segment}` cannot select an element of {found}: use [N], [-1] or [key:value]"
    )]
    NotAKeyValueSelector {
        /// The patch path as written.
        path: String,
        /// The failing segment.
        segment: String,
        /// What the list holds.
        found: String,
        /// Istio's message for the same failure.
        istio: String,
    },
    /// A list of scalars met a segment that is neither `[N]`, `[value]` nor `[:value]`.
    #[error(
        "patch `{path}`: `{segment}` cannot select an element of {found}: use [N], [-1], [value] or [:value]"
    )]
    NotAValueSelector {
        /// The patch path as written.
        path: String,
        /// The failing segment.
        segment: String,
        /// What the list holds.
        found: String,
        /// Istio's message for the same failure.
        istio: String,
    },
    /// Istio can only change a list that a map key holds: not a list inside a list, nor a
    /// list it made up for a `null` node.
    #[error(
        "patch `{path}`: cannot change `{segment}`: it is inside {found}, and Istio only changes lists held by a map key; set the whole enclosing list instead"
    )]
    ListNotInMap {
        /// The patch path as written.
        path: String,
        /// The failing segment.
        segment: String,
        /// What holds it.
        found: String,
        /// Istio's message for the same failure.
        istio: String,
    },
    /// A delete (no value) of the object itself.
    #[error(
        "patch `{path}`: a patch without value deletes, and this path designates the whole object"
    )]
    DeleteRoot {
        /// The patch path as written.
        path: String,
    },
    /// A delete of an index at or beyond the end of a list (Istio's operator panics here).
    #[error(
        "patch `{path}`: cannot delete `{segment}`: the list has {len} elements, so there is nothing there (Istio's operator crashes on this patch)"
    )]
    DeleteBeyondEnd {
        /// The patch path as written.
        path: String,
        /// The failing segment.
        segment: String,
        /// Length of the list.
        len: usize,
    },
    /// The object a patch applies to is not a map.
    #[error("{what} must be a map (a Kubernetes object), found {found}")]
    NotAnObject {
        /// What was being patched.
        what: String,
        /// What it is.
        found: String,
    },
    /// An error in one patch of one overlay.
    #[error("overlay {overlay} ({target}), patch {patch}: {source}")]
    InOverlay {
        /// Where the overlay is, e.g. `overlays[0]`.
        overlay: String,
        /// The object it targets, e.g. `Deployment istiod`.
        target: String,
        /// Index of the patch in the overlay.
        patch: usize,
        /// The patch error.
        #[source]
        source: Box<Error>,
    },
    /// An overlay matched no object.
    #[error("overlay {overlay} for {target} matches no object; available objects:\n{}", list(.available))]
    OverlayMatchesNothing {
        /// Where the overlay is, e.g. `overlays[0]`.
        overlay: String,
        /// What it targets.
        target: String,
        /// The objects there are, as `Kind namespace/name`.
        available: Vec<String>,
    },
    /// An overlay matched several objects.
    #[error("overlay {overlay} for {target} matches {} objects, it must match one (give its namespace):\n{}", .matches.len(), list(.matches))]
    OverlayMatchesSeveral {
        /// Where the overlay is.
        overlay: String,
        /// What it targets.
        target: String,
        /// The objects it matches.
        matches: Vec<String>,
    },
    /// An error in the overlays of one IstioOperator component (nested overlays).
    #[error("IstioOperator component {component}: {source}")]
    InComponent {
        /// The component, e.g. `pilot` or `ingressGateways[0]`.
        component: String,
        /// The error.
        #[source]
        source: Box<Error>,
    },
    /// Overlays that do not have the overlay shape.
    #[error(
        "{what}: not a list of overlays ({{apiVersion, kind, name, patches: [{{path, value}}]}}): {source}"
    )]
    InvalidOverlays {
        /// Where they were read from.
        what: String,
        /// Why they do not fit.
        #[source]
        source: serde_json::Error,
    },
    /// Input that is neither YAML nor JSON.
    #[error("{what}: cannot parse as YAML or JSON: {source}")]
    Parse {
        /// What was being read.
        what: String,
        /// The parser's error.
        #[source]
        source: serde_yaml::Error,
    },
    /// Input that is not well-formed YAML (read as YAML 1.1).
    #[error("{what}: cannot parse as YAML or JSON: {source}")]
    Yaml {
        /// What was being read.
        what: String,
        /// The parser's error, with line and column.
        #[source]
        source: yaml_rust2::ScanError,
    },
    /// A state the engine should never reach; please report it with the patch.
    #[error("patch `{path}`: internal error ({detail}); please report this patch")]
    Internal {
        /// The patch path as written.
        path: String,
        /// What went wrong.
        detail: &'static str,
    },
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("  {s}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    /// The message Istio's operator gives for the same failure, when it gives one (Istio
    /// panics on [`Error::DeleteBeyondEnd`]; the other variants are not patch failures).
    pub fn istio_message(&self) -> Option<&str> {
        match self {
            Error::NotAContainer { istio, .. }
            | Error::NoMatch { istio, .. }
            | Error::NotAKeyValueSelector { istio, .. }
            | Error::NotAValueSelector { istio, .. }
            | Error::ListNotInMap { istio, .. } => Some(istio),
            Error::DeleteRoot { .. } => Some("cannot delete root element"),
            Error::InOverlay { source, .. } | Error::InComponent { source, .. } => {
                source.istio_message()
            }
            _ => None,
        }
    }

    /// The patch path as written, for errors about one patch.
    pub fn patch_path(&self) -> Option<&str> {
        match self {
            Error::NotAContainer { path, .. }
            | Error::NoMatch { path, .. }
            | Error::NotAKeyValueSelector { path, .. }
            | Error::NotAValueSelector { path, .. }
            | Error::ListNotInMap { path, .. }
            | Error::DeleteRoot { path }
            | Error::DeleteBeyondEnd { path, .. }
            | Error::Internal { path, .. } => Some(path),
            Error::InOverlay { source, .. } | Error::InComponent { source, .. } => {
                source.patch_path()
            }
            _ => None,
        }
    }
}

/// Several errors, as keep-going operations report them (in the order they happened).
#[derive(Debug, Default)]
pub struct Errors(pub Vec<Error>);

impl Errors {
    /// `Ok(())` when there is no error.
    pub fn into_result(self) -> Result<(), Errors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    /// Whether there is no error.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The errors.
    pub fn iter(&self) -> impl Iterator<Item = &Error> {
        self.0.iter()
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}

impl From<Error> for Errors {
    fn from(e: Error) -> Self {
        Errors(vec![e])
    }
}

impl IntoIterator for Errors {
    type Item = Error;
    type IntoIter = std::vec::IntoIter<Error>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
