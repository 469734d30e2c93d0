//! The crate's error type.

/// What went wrong while building or (de)serializing a cert-manager object.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A builder was asked to build an object without a field the object requires.
    #[error(
        "cannot build {object}: required field `{field}` was not set; call the builder's `{field}(..)` method"
    )]
    MissingField {
        /// The object being built, e.g. `Issuer`.
        object: &'static str,
        /// The builder method (and object field) that was not set.
        field: &'static str,
    },
    /// A builder field was set to a value the object cannot carry.
    #[error("cannot build {object}: field `{field}` is invalid: {reason}")]
    InvalidField {
        /// The object being built.
        object: &'static str,
        /// The offending field.
        field: &'static str,
        /// Why the value is refused.
        reason: String,
    },
    /// Serializing a value to YAML failed.
    #[error("cannot serialize {what} to YAML")]
    Yaml {
        /// What was being serialized, e.g. `istio-csr Helm values`.
        what: &'static str,
        /// The serializer's error.
        #[source]
        source: serde_yaml::Error,
    },
    /// Serializing a value to JSON failed.
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
