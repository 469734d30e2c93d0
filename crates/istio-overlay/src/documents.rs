//! Reading and writing manifests: multi-document YAML or JSON in, YAML or JSON out.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// Parses one or more YAML documents (JSON is YAML) into values, skipping empty documents.
///
/// Plain scalars are read as YAML 1.1, as kubectl and Istio read them (`yes` is `true`); see
/// [`crate::parse_documents_with`] for the YAML 1.2 reading.
pub fn parse_documents(what: &str, text: &str) -> Result<Vec<Value>> {
    crate::yaml::parse_documents_with(what, text, crate::yaml::YamlVersion::V1_1)
}

/// [`parse_documents`] with YAML 1.2 scalars (`serde_yaml`).
pub(crate) fn parse_documents_1_2(what: &str, text: &str) -> Result<Vec<Value>> {
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

/// Parses exactly one YAML/JSON document (an empty input is `null`), as YAML 1.1.
pub fn parse_document(what: &str, text: &str) -> Result<Value> {
    parse_document_with(what, text, crate::yaml::YamlVersion::V1_1)
}

/// [`parse_document`] with the given reading of plain scalars.
pub fn parse_document_with(
    what: &str,
    text: &str,
    version: crate::yaml::YamlVersion,
) -> Result<Value> {
    let mut docs = crate::yaml::parse_documents_with(what, text, version)?;
    Ok(if docs.len() == 1 {
        docs.remove(0)
    } else if docs.is_empty() {
        Value::Null
    } else {
        Value::Array(docs)
    })
}

/// Writes documents as multi-document YAML (`---` between documents), quoting every string
/// that YAML 1.1 or 1.2 would read as something else (`"yes"`, `"017"`).
pub fn to_yaml_documents(docs: &[Value]) -> String {
    let mut out = String::new();
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&crate::emit::to_yaml(d));
    }
    out
}
