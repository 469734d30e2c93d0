//! The crate's error type.

/// What went wrong while building or editing a TSB or Istio object.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A builder was asked to build an object without a field the object requires.
    #[error(
        "cannot build {object}: required field `{field}` was not set; call the builder's `{field}(..)` method"
    )]
    MissingField {
        /// The object being built, e.g. `ControlPlane`.
        object: &'static str,
        /// The builder method (and object field) that was not set.
        field: &'static str,
    },
    /// A dotted path into free-form values crosses something that is not a map.
    #[error(
        "cannot set `{path}` in {what}: `{segment}` is {found}, not a map; remove or fix that value first"
    )]
    NotAMap {
        /// What was being edited, e.g. `IstioOperator spec.values`.
        what: &'static str,
        /// The dotted path as given.
        path: String,
        /// The segment where the walk stopped.
        segment: String,
        /// The JSON type found there.
        found: &'static str,
    },
    /// A dotted path was empty or had an empty segment.
    #[error("invalid path `{path}` into {what}: empty segment")]
    EmptyPathSegment {
        /// What was being edited.
        what: &'static str,
        /// The dotted path as given.
        path: String,
    },
    /// Serializing an overlay value failed.
    #[error("cannot serialize {what} to JSON")]
    Json {
        /// What was being serialized.
        what: &'static str,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
