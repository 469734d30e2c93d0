//! Schema helpers for free-form fields.

/// A schema that accepts any JSON value and tells the API server to keep it as is.
pub(crate) fn preserve_unknown_fields(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// The schema of a base64-encoded byte string (`k8s_openapi::ByteString`).
pub(crate) fn byte_string(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "string", "format": "byte" })
}
