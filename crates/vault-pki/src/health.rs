//! `sys/health`: initialized, sealed, standby, version.

use rustify_derive::Endpoint;
use serde::Deserialize;

use crate::client::PkiClient;
use crate::error::Result;

/// ## Read health information
/// Asks for status 200 in every state, so the body can be read (vaultrs' own `health`
/// fails on standby and sealed codes).
///
/// * Path: `sys/health`
/// * Method: GET
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/health#read-health-information>
#[derive(Debug, Endpoint)]
#[endpoint(path = "sys/health", method = "GET", response = "Health")]
pub struct ReadHealthRequest {
    /// `standbyok=true`.
    #[endpoint(query)]
    pub standbyok: bool,
    /// `perfstandbyok=true`.
    #[endpoint(query)]
    pub perfstandbyok: bool,
    /// `sealedcode=200`.
    #[endpoint(query)]
    pub sealedcode: u16,
    /// `uninitcode=200`.
    #[endpoint(query)]
    pub uninitcode: u16,
}

impl Default for ReadHealthRequest {
    fn default() -> Self {
        Self {
            standbyok: true,
            perfstandbyok: true,
            sealedcode: 200,
            uninitcode: 200,
        }
    }
}

/// The server's health.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// Whether the server is initialized.
    #[serde(default)]
    pub initialized: bool,
    /// Whether it is sealed.
    #[serde(default)]
    pub sealed: bool,
    /// Whether it is a standby.
    #[serde(default)]
    pub standby: bool,
    /// Its version.
    #[serde(default)]
    pub version: String,
}

impl PkiClient {
    /// Reads the server's health (no token needed).
    ///
    /// * Path: `sys/health`
    /// * Method: GET
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/health#read-health-information>
    pub async fn health(&self) -> Result<Health> {
        self.call("sys/health", |c| {
            vaultrs::api::exec_with_no_result(c, ReadHealthRequest::default())
        })
        .await
    }
}
