//! cert-manager's own CustomResourceDefinitions, v1.21.1 (`deploy/crds/` of the cert-manager
//! module, unchanged), embedded: the one copy in this workspace. The schema tests compare this
//! crate's types with them, and a local cluster installs them.
//!
//! ```
//! let (name, yaml) = certmanager_types::crds::CRDS[0];
//! assert!(name.starts_with("cert-manager.io_") && yaml.contains("kind: CustomResourceDefinition"));
//! assert!(certmanager_types::crds::by_file("cert-manager.io_issuers.yaml").is_some());
//! ```

/// The cert-manager release the CRDs come from.
pub const CERT_MANAGER_VERSION: &str = "v1.21.1";

/// The CRD manifests as YAML, by file name (as in cert-manager's `deploy/crds/`).
pub const CRDS: [(&str, &str); 4] = [
    (
        "cert-manager.io_certificaterequests.yaml",
        include_str!("../crds/cert-manager.io_certificaterequests.yaml"),
    ),
    (
        "cert-manager.io_certificates.yaml",
        include_str!("../crds/cert-manager.io_certificates.yaml"),
    ),
    (
        "cert-manager.io_clusterissuers.yaml",
        include_str!("../crds/cert-manager.io_clusterissuers.yaml"),
    ),
    (
        "cert-manager.io_issuers.yaml",
        include_str!("../crds/cert-manager.io_issuers.yaml"),
    ),
];

/// The YAML of one CRD file, by its file name.
pub fn by_file(name: &str) -> Option<&'static str> {
    CRDS.iter().find(|(n, _)| *n == name).map(|(_, y)| *y)
}
