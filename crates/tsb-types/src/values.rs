//! Free-form Helm-style values (`IstioOperator.spec.values`) with typed accessors.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Dotted path of the CA address workloads and istiod dial.
pub const CA_ADDRESS_PATH: &str = "global.caAddress";

/// Istio's `values`: a free-form tree, kept exactly as written, with typed accessors for the
/// keys this workspace needs and dotted-path access for the rest.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(transparent)]
#[schemars(transparent)]
pub struct Values(
    #[schemars(schema_with = "crate::schema::free_form_object")] pub Map<String, Value>,
);

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

impl Values {
    /// Empty values.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value at a dotted path such as `global.caAddress`, if every step is a map key.
    pub fn get_path(&self, path: &str) -> Option<&Value> {
        let mut segments = path.split('.');
        let first = segments.next()?;
        let mut node = self.0.get(first)?;
        for segment in segments {
            node = node.as_object()?.get(segment)?;
        }
        Some(node)
    }

    /// The string at a dotted path, if it is a string.
    pub fn get_str(&self, path: &str) -> Option<&str> {
        self.get_path(path)?.as_str()
    }

    /// Sets the value at a dotted path, creating missing maps on the way. Fails, changing
    /// nothing, when a step on the way is not a map.
    pub fn set_path(&mut self, path: &str, value: Value) -> Result<()> {
        let segments: Vec<&str> = path.split('.').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(Error::EmptyPathSegment {
                what: "values",
                path: path.to_owned(),
            });
        }
        // Check first so a failure leaves the tree untouched.
        let mut probe = Some(&self.0);
        for segment in &segments[..segments.len() - 1] {
            let Some(map) = probe else { break };
            probe = match map.get(*segment) {
                None => None,
                Some(Value::Object(next)) => Some(next),
                Some(other) => {
                    return Err(Error::NotAMap {
                        what: "values",
                        path: path.to_owned(),
                        segment: (*segment).to_owned(),
                        found: type_name(other),
                    });
                }
            };
        }
        let mut map = &mut self.0;
        for segment in &segments[..segments.len() - 1] {
            let entry = map
                .entry((*segment).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            match entry {
                Value::Object(next) => map = next,
                // Unreachable after the probe above; report rather than panic.
                other => {
                    return Err(Error::NotAMap {
                        what: "values",
                        path: path.to_owned(),
                        segment: (*segment).to_owned(),
                        found: type_name(other),
                    });
                }
            }
        }
        if let Some(last) = segments.last() {
            map.insert((*last).to_owned(), value);
        }
        Ok(())
    }

    /// Removes the value at a dotted path, returning it.
    pub fn remove_path(&mut self, path: &str) -> Option<Value> {
        let (parents, last) = match path.rsplit_once('.') {
            Some((parents, last)) => (Some(parents), last),
            None => (None, path),
        };
        let mut map = &mut self.0;
        if let Some(parents) = parents {
            for segment in parents.split('.') {
                map = map.get_mut(segment)?.as_object_mut()?;
            }
        }
        map.remove(last)
    }

    /// `global.caAddress`: where workloads and istiod send CSRs.
    pub fn ca_address(&self) -> Option<&str> {
        self.get_str(CA_ADDRESS_PATH)
    }

    /// Sets `global.caAddress`.
    pub fn set_ca_address(&mut self, address: impl Into<String>) -> Result<()> {
        self.set_path(CA_ADDRESS_PATH, Value::String(address.into()))
    }

    /// `global.meshID`.
    pub fn mesh_id(&self) -> Option<&str> {
        self.get_str("global.meshID")
    }

    /// `global.multiCluster.clusterName`.
    pub fn cluster_name(&self) -> Option<&str> {
        self.get_str("global.multiCluster.clusterName")
    }

    /// `global.network`.
    pub fn network(&self) -> Option<&str> {
        self.get_str("global.network")
    }

    /// `global.pilotCertProvider` (`istiod`, `kubernetes`, `custom`).
    pub fn pilot_cert_provider(&self) -> Option<&str> {
        self.get_str("global.pilotCertProvider")
    }
}

impl From<Map<String, Value>> for Values {
    fn from(map: Map<String, Value>) -> Self {
        Self(map)
    }
}
