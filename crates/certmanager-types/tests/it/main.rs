//! certmanager-types tests: schema comparison with cert-manager's CRDs, golden builders,
//! round trips. Unit-level only: no network.

mod builders;
mod roundtrip;
mod schema;

/// Reads a file under `tests/data/`.
pub fn data(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}
