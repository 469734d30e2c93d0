//! certmanager-types tests: schema comparison with cert-manager's CRDs, golden builders,
//! round trips. Unit-level only: no network.

mod builders;
mod roundtrip;
mod schema;

/// One of cert-manager's CRD files, as the crate embeds them ([`certmanager_types::crds`]).
pub fn data(name: &str) -> String {
    certmanager_types::crds::by_file(name)
        .unwrap_or_else(|| panic!("no embedded CRD file {name}"))
        .to_string()
}
