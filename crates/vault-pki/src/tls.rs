//! The workspace's one rustls crypto provider: ring.

/// Installs ring as the process-wide rustls crypto provider, unless one is installed already
/// (then that one is used). Called before every HTTP client is built, so a process that
/// never installed a provider does not panic with "could not automatically determine the
/// process-level CryptoProvider".
pub fn install_ring_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: a provider is installed either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
