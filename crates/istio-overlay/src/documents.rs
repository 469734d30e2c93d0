//! Reading and writing manifests: multi-document YAML or JSON in, YAML or JSON out.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// Parses one or more YAML documents (JSON is YAML) into values, skipping empty documents.
pub fn parse_documents(what: &str, text: &str) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v = Value::deserialize(doc).map_err(|source| Error::Parse {
            what: what.into(),
            source,
        })?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

/// Parses exactly one YAML/JSON document (an empty input is `null`).
pub fn parse_document(what: &str, text: &str) -> Result<Value> {
    let mut docs = parse_documents(what, text)?;
    Ok(if docs.len() == 1 {
        docs.remove(0)
    } else if docs.is_empty() {
        Value::Null
    } else {
        Value::Array(docs)
    })
}

/// Writes documents as multi-document YAML (`---` between documents).
pub fn to_yaml_documents(docs: &[Value]) -> String {
    let mut out = String::new();
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&serde_yaml::to_string(d).unwrap_or_default());
    }
    out
}
