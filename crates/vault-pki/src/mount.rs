//! Secrets-engine and auth mounts: enable, tune, read.

use std::collections::HashMap;
use std::time::Duration;

use rustify_derive::Endpoint;
use serde::Deserialize;

use crate::client::PkiClient;
use crate::error::{Error, Result};

/// ## Tune mount configuration
/// Writes a mount's lease TTLs (`vault secrets tune`). Missing from vaultrs 0.8.
///
/// * Path: `sys/mounts/{self.path}/tune`
/// * Method: POST
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/mounts#tune-mount-configuration>
#[derive(Debug, Default, Endpoint)]
#[endpoint(path = "sys/mounts/{self.path}/tune", method = "POST")]
pub struct TuneMountRequest {
    /// The mount path.
    #[endpoint(skip)]
    pub path: String,
    /// `default_lease_ttl`, e.g. `"3600s"`.
    pub default_lease_ttl: Option<String>,
    /// `max_lease_ttl`, e.g. `"315360000s"`.
    pub max_lease_ttl: Option<String>,
}

/// ## Read mount configuration
/// Reads a mount's tuning (lease TTLs in seconds).
///
/// * Path: `sys/mounts/{self.path}/tune`
/// * Method: GET
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/mounts#read-mount-configuration>
#[derive(Debug, Default, Endpoint)]
#[endpoint(
    path = "sys/mounts/{self.path}/tune",
    method = "GET",
    response = "MountTune"
)]
pub struct ReadMountTuneRequest {
    /// The mount path.
    #[endpoint(skip)]
    pub path: String,
}

/// A mount's tuning, as read.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct MountTune {
    /// Default lease TTL in seconds.
    #[serde(default)]
    pub default_lease_ttl: u64,
    /// Max lease TTL in seconds.
    #[serde(default)]
    pub max_lease_ttl: u64,
}

/// ## List mounted secrets engines
///
/// * Path: `sys/mounts`
/// * Method: GET
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/mounts#list-mounted-secrets-engines>
#[derive(Debug, Default, Endpoint)]
#[endpoint(
    path = "sys/mounts",
    method = "GET",
    response = "HashMap<String, MountInfo>"
)]
pub struct ListMountsRequest {}

/// ## List auth methods
///
/// * Path: `sys/auth`
/// * Method: GET
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/auth#list-auth-methods>
#[derive(Debug, Default, Endpoint)]
#[endpoint(
    path = "sys/auth",
    method = "GET",
    response = "HashMap<String, MountInfo>"
)]
pub struct ListAuthMountsRequest {}

/// A mounted secrets engine or auth method.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct MountInfo {
    /// The engine type (`pki`, `approle`, …).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
}

/// Renders a duration the way Vault accepts it (`"<seconds>s"`).
pub(crate) fn ttl_str(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

fn mount_key(path: &str) -> String {
    format!("{}/", path.trim_matches('/'))
}

impl PkiClient {
    /// Enables a secrets engine (`vault secrets enable -path=<path> <kind>`), optionally
    /// with a `max_lease_ttl`.
    ///
    /// * Path: `sys/mounts/{path}`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/mounts#enable-secrets-engine>
    pub async fn enable_secrets_engine(
        &self,
        path: &str,
        kind: &str,
        max_lease_ttl: Option<Duration>,
    ) -> Result<()> {
        let p = format!("sys/mounts/{path}");
        // Never retried: after a lost answer the mount may exist, and a second enable fails.
        self.call_once(&p, |c| {
            let cfg = vaultrs::api::sys::requests::EnableEngineDataConfig {
                max_lease_ttl: max_lease_ttl.map(ttl_str),
                ..Default::default()
            };
            let mut opts = vaultrs::api::sys::requests::EnableEngineRequest::builder();
            opts.config(cfg);
            async move { vaultrs::sys::mount::enable(c, path, kind, Some(&mut opts)).await }
        })
        .await
    }

    /// Disables a secrets engine, deleting everything in it (its CAs, keys and roles).
    /// Disabling a path with no mount succeeds.
    ///
    /// * Path: `sys/mounts/{path}`
    /// * Method: DELETE
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/mounts#disable-secrets-engine>
    pub async fn disable_secrets_engine(&self, path: &str) -> Result<()> {
        let p = format!("sys/mounts/{path}");
        self.call(&p, |c| vaultrs::sys::mount::disable(c, path))
            .await
    }

    /// Enables a PKI secrets engine.
    ///
    /// * Path: `sys/mounts/{path}`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/mounts#enable-secrets-engine>
    pub async fn enable_pki(&self, path: &str, max_lease_ttl: Duration) -> Result<()> {
        self.enable_secrets_engine(path, "pki", Some(max_lease_ttl))
            .await
    }

    /// Tunes a mount's lease TTLs (`vault secrets tune`).
    ///
    /// * Path: `sys/mounts/{path}/tune`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/mounts#tune-mount-configuration>
    pub async fn tune_mount(
        &self,
        path: &str,
        default_lease_ttl: Option<Duration>,
        max_lease_ttl: Option<Duration>,
    ) -> Result<()> {
        let p = format!("sys/mounts/{path}/tune");
        self.call(&p, |c| {
            let ep = TuneMountRequest {
                path: path.to_string(),
                default_lease_ttl: default_lease_ttl.map(ttl_str),
                max_lease_ttl: max_lease_ttl.map(ttl_str),
            };
            async move { vaultrs::api::exec_with_empty(c, ep).await }
        })
        .await
    }

    /// Reads a mount's tuning.
    ///
    /// * Path: `sys/mounts/{path}/tune`
    /// * Method: GET
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/mounts#read-mount-configuration>
    pub async fn read_mount_tune(&self, path: &str) -> Result<MountTune> {
        let p = format!("sys/mounts/{path}/tune");
        self.call(&p, |c| {
            let ep = ReadMountTuneRequest {
                path: path.to_string(),
            };
            async move { vaultrs::api::exec_with_result(c, ep).await }
        })
        .await
    }

    /// Lists secrets engines, keyed by path with a trailing `/`.
    ///
    /// * Path: `sys/mounts`
    /// * Method: GET
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/mounts#list-mounted-secrets-engines>
    pub async fn list_mounts(&self) -> Result<HashMap<String, MountInfo>> {
        self.call("sys/mounts", |c| {
            vaultrs::api::exec_with_result(c, ListMountsRequest {})
        })
        .await
    }

    /// The secrets engine at `path`, if any.
    ///
    /// * Path: `sys/mounts`
    /// * Method: GET
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/mounts#list-mounted-secrets-engines>
    pub async fn read_mount(&self, path: &str) -> Result<Option<MountInfo>> {
        Ok(self.list_mounts().await?.remove(&mount_key(path)))
    }

    /// Enables an auth method (`vault auth enable -path=<path> <kind>`).
    ///
    /// * Path: `sys/auth/{path}`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/auth#enable-auth-method>
    pub async fn enable_auth(&self, path: &str, kind: &str) -> Result<()> {
        let p = format!("sys/auth/{path}");
        // Never retried, like a secrets engine's enable.
        self.call_once(&p, |c| vaultrs::sys::auth::enable(c, path, kind, None))
            .await
    }

    /// Disables the auth method at `path` (its roles and config go with it); disabling one
    /// that is not there succeeds.
    ///
    /// * Path: `sys/auth/{path}`
    /// * Method: DELETE
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/auth#disable-auth-method>
    pub async fn disable_auth(&self, path: &str) -> Result<()> {
        let p = format!("sys/auth/{path}");
        self.call(&p, |c| vaultrs::sys::auth::disable(c, path))
            .await
    }

    /// Enables the AppRole auth method at `path`.
    ///
    /// * Path: `sys/auth/{path}`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/auth#enable-auth-method>
    pub async fn enable_approle(&self, path: &str) -> Result<()> {
        self.enable_auth(path, "approle").await
    }

    /// Lists auth methods, keyed by path with a trailing `/`.
    ///
    /// * Path: `sys/auth`
    /// * Method: GET
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/auth#list-auth-methods>
    pub async fn list_auth_mounts(&self) -> Result<HashMap<String, MountInfo>> {
        self.call("sys/auth", |c| {
            vaultrs::api::exec_with_result(c, ListAuthMountsRequest {})
        })
        .await
    }

    /// The auth method at `path`, if any.
    ///
    /// * Path: `sys/auth`
    /// * Method: GET
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/auth#list-auth-methods>
    pub async fn read_auth_mount(&self, path: &str) -> Result<Option<MountInfo>> {
        Ok(self.list_auth_mounts().await?.remove(&mount_key(path)))
    }
}

/// Fails unless a mount found at `path` has the wanted type.
pub(crate) fn check_kind(
    step: crate::setup::Step,
    path: &str,
    found: &MountInfo,
    want: &str,
) -> Result<()> {
    if found.kind == want {
        Ok(())
    } else {
        Err(Error::Setup {
            step,
            reason: format!(
                "{path}/ is mounted as `{}`, not `{want}`: choose another path or disable that mount",
                found.kind
            ),
        })
    }
}
