//! A typed, idempotent Vault/OpenBao client for a service mesh's CA: the PKI mounts, the root
//! and intermediate CAs, the signing role, and the AppRole (or the Kubernetes auth role,
//! [`kubernetes_auth`]) cert-manager logs in with.
//!
//! ```no_run
//! use vault_pki::{PkiClient, PkiSetup, SecretIdRecord, VaultConfig};
//!
//! # async fn run() -> vault_pki::Result<()> {
//! // VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT, VAULT_NAMESPACE, as the vault CLI reads them.
//! let client = PkiClient::new(VaultConfig::from_env()?)?;
//!
//! // The seed's setup: pki (87600h), istioca (43800h), role cluster-local, AppRole
//! // cert-manager (1h/4h); the secret-id recorded by the last run is kept while valid.
//! let recorded: Option<SecretIdRecord> = None; // e.g. read from your output folder
//! let setup = PkiSetup::default().with_recorded_secret_id(recorded);
//!
//! print!("{}", client.plan(&setup).await?.summary()); // what would change, nothing written
//! let report = client.ensure(&setup).await?;          // writes only what differs
//! print!("{}", report.summary());
//!
//! // Secrets come back only in the run that created them: persist them now.
//! if let Some(key) = &report.intermediate_key_pem {
//!     std::fs::write("istioca.key", key.expose_secret()).expect("write the key");
//! }
//! let role_id = report.role_id.as_deref().unwrap_or_default();
//! let secret = report.secret_id.as_ref().expect("a secret-id");
//! let token = client.approle_login("approle", role_id, &secret.secret_id).await?;
//! # let _ = token; Ok(()) }
//! ```
//!
//! Every Vault call is a typed method on [`PkiClient`] naming its path, method and API
//! reference; calls have a timeout and retry transient failures with bounded backoff, and
//! errors say which path failed, why ([`Error`]), and what to do. TLS uses rustls with the
//! ring provider only. Private keys, tokens and secret-ids are [`SecretString`]s.
//!
//! With the `dev-server` feature, [`dev_server::DevServer`] starts a throwaway OpenBao.

pub mod approle;
pub mod ca;
pub mod client;
pub mod config;
#[cfg(feature = "dev-server")]
pub mod dev_server;
pub mod ensure;
pub mod error;
pub mod health;
pub mod intermediate;
pub mod issuer;
pub mod kubernetes_auth;
pub mod lock;
pub mod mount;
pub mod pem;
pub mod policy;
pub mod retry;
pub mod role;
pub mod secret;
pub mod secret_id;
pub mod setup;
pub mod sign;
pub mod tls;
pub mod token;

pub use approle::{AppRoleSpec, AppRoleState, LoginToken, SecretIdInfo};
pub use ca::{CaBundlePem, IssuerInfo, IssuerList, generate_root_ca};
pub use client::PkiClient;
pub use client::error_chain;
pub use config::{CaBundle, ClientIdentity, VaultConfig};
pub use ensure::{ensure, plan};
pub use error::{Error, Result};
pub use health::Health;
pub use intermediate::{GeneratedIntermediate, SignedIntermediate, chains_to};
pub use kubernetes_auth::{
    KubernetesAuthSetup, KubernetesConfig, KubernetesConfigState, KubernetesRole,
    KubernetesRoleState,
};
pub use mount::{MountInfo, MountTune};
pub use policy::{Capability, PathRule, Policy};
pub use retry::RetryPolicy;
pub use role::{PkiRole, PkiRoleState};
pub use secret::SecretString;
pub use setup::{
    KeyExport, NewSecret, NoObserver, Outcome, PkiSetup, RootCa, SecretIdRecord, SetupObserver,
    SetupReport, Step, StepReport,
};
pub use sign::{SignOptions, SignedCertificate};
pub use tls::install_ring_provider;
