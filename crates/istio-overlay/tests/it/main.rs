//! The one integration-test binary of istio-overlay.

mod cli;
mod conformance;
mod fuzz;
mod lint;
mod reference;
mod yaml;

use serde_json::Value;

/// Parses one YAML document.
pub fn yaml(s: &str) -> Value {
    istio_overlay::parse_document("test", s).expect("test YAML parses")
}

/// Reads a file from the workspace's `testdata/`, or `examples/...` from this crate.
pub fn data(name: &str) -> String {
    let p = data_path(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The path of a test file: `examples/<name>` in this crate, else the workspace's `testdata/`.
pub fn data_path(name: &str) -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    match name.strip_prefix("examples/") {
        Some(example) => root.join("examples").join(example),
        None => root.join("../../testdata").join(name),
    }
}
