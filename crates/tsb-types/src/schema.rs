//! Schema helpers: free-form fields must stay valid *structural* CRD schemas.
//!
//! The API server requires a `type` on every node except those marked
//! `x-kubernetes-preserve-unknown-fields` or `x-kubernetes-int-or-string`, so free-form
//! fields say so explicitly instead of schemars' "anything" schema.

use schemars::{Schema, SchemaGenerator, json_schema};

/// A free-form JSON object the API server keeps as is.
pub(crate) fn free_form_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}

/// A string or an integer (Istio's `tag`).
pub(crate) fn int_or_string(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "x-kubernetes-int-or-string": true })
}

/// A JSON number.
pub(crate) fn number(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "number" })
}

/// Istio/TSB k8s overlays: `[{apiVersion, kind, name, namespace, patches: [{path, value}]}]`,
/// `value` being any JSON value.
pub(crate) fn overlays(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "apiVersion": { "type": "string" },
                "kind": { "type": "string" },
                "name": { "type": "string" },
                "namespace": { "type": "string" },
                "patches": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["path"],
                        "properties": {
                            "path": { "type": "string" },
                            "value": { "x-kubernetes-preserve-unknown-fields": true }
                        }
                    }
                }
            }
        }
    })
}
