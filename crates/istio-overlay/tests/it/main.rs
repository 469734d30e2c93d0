//! The one integration-test binary of istio-overlay.

mod cli;
mod conformance;
mod fuzz;
mod lint;
mod reference;

use serde_json::Value;

/// Parses one YAML document.
pub fn yaml(s: &str) -> Value {
    istio_overlay::parse_document("test", s).expect("test YAML parses")
}

/// Reads a file from tests/data.
pub fn data(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
