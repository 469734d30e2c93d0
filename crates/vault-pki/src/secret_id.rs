//! Secret-ids tagged with metadata: made with it, looked up by accessor, and the ones a run
//! made but never recorded (it was killed before persisting them) found and destroyed.

use std::collections::{BTreeMap, HashMap};

use rustify_derive::Endpoint;
use serde::Deserialize;

use crate::client::PkiClient;
use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::setup::SecretIdRecord;

/// ## Read AppRole secret ID accessor
///
/// * Path: `auth/{self.mount}/role/{self.role}/secret-id-accessor/lookup`
/// * Method: POST
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#read-approle-secret-id-accessor>
#[derive(Debug, Endpoint)]
#[endpoint(
    path = "auth/{self.mount}/role/{self.role}/secret-id-accessor/lookup",
    method = "POST",
    response = "SecretIdMetadata"
)]
pub struct LookupSecretIdAccessorRequest {
    /// The AppRole mount.
    #[endpoint(skip)]
    pub mount: String,
    /// The role.
    #[endpoint(skip)]
    pub role: String,
    /// The accessor.
    pub secret_id_accessor: String,
}

/// A secret-id's accessor and metadata, as the accessor lookup returns them.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretIdMetadata {
    /// Its accessor.
    #[serde(default)]
    pub secret_id_accessor: String,
    /// The metadata it was created with.
    #[serde(default)]
    pub metadata: Option<HashMap<String, String>>,
}

/// ## Generate new secret ID (with metadata)
///
/// * Path: `auth/{self.mount}/role/{self.role}/secret-id`
/// * Method: POST
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#generate-new-secret-id>
#[derive(Debug, Endpoint)]
#[endpoint(
    path = "auth/{self.mount}/role/{self.role}/secret-id",
    method = "POST",
    response = "NewSecretId"
)]
pub struct CreateTaggedSecretIdRequest {
    /// The AppRole mount.
    #[endpoint(skip)]
    pub mount: String,
    /// The role.
    #[endpoint(skip)]
    pub role: String,
    /// The metadata, a JSON object of strings as a string (Vault's format).
    pub metadata: String,
}

/// A new secret-id as Vault returns it.
#[derive(Deserialize)]
pub struct NewSecretId {
    /// The secret-id.
    secret_id: String,
    /// Its accessor.
    secret_id_accessor: String,
}

impl std::fmt::Debug for NewSecretId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSecretId")
            .field("secret_id_accessor", &self.secret_id_accessor)
            .finish_non_exhaustive()
    }
}

impl PkiClient {
    /// Creates a secret-id carrying `metadata` (shown by lookups, and copied to its tokens).
    ///
    /// * Path: `auth/{mount}/role/{role}/secret-id`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#generate-new-secret-id>
    pub async fn create_tagged_secret_id(
        &self,
        mount: &str,
        role: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Result<SecretIdRecord> {
        let p = format!("auth/{mount}/role/{role}/secret-id");
        let metadata = serde_json::to_string(metadata).unwrap_or_else(|_| "{}".into());
        // Not retried: a retry after a lost answer would leave an orphan secret-id (the next
        // run destroys it by its metadata).
        let r = self
            .call_once(&p, |c| {
                let ep = CreateTaggedSecretIdRequest {
                    mount: mount.into(),
                    role: role.into(),
                    metadata: metadata.clone(),
                };
                async move { vaultrs::api::exec_with_result(c, ep).await }
            })
            .await?;
        Ok(SecretIdRecord {
            secret_id: SecretString::new(r.secret_id),
            accessor: r.secret_id_accessor,
        })
    }

    /// Looks up a secret-id by accessor; `None` when Vault does not know it.
    ///
    /// * Path: `auth/{mount}/role/{role}/secret-id-accessor/lookup`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#read-approle-secret-id-accessor>
    pub async fn lookup_secret_id_accessor(
        &self,
        mount: &str,
        role: &str,
        accessor: &str,
    ) -> Result<Option<SecretIdMetadata>> {
        let p = format!("auth/{mount}/role/{role}/secret-id-accessor/lookup");
        let r = self
            .call(&p, |c| {
                let ep = LookupSecretIdAccessorRequest {
                    mount: mount.into(),
                    role: role.into(),
                    secret_id_accessor: accessor.into(),
                };
                async move { vaultrs::api::exec_with_result(c, ep).await }
            })
            .await;
        match r {
            Ok(i) => Ok(Some(i)),
            Err(Error::NotFound { .. }) | Err(Error::UnexpectedResponse { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Destroys the role's secret-ids whose metadata has every pair of `tag`, except those of
    /// the accessors in `keep` (the recorded one, and any being rotated out); returns their
    /// accessors. Does nothing for an empty `tag`.
    pub async fn destroy_unrecorded_secret_ids(
        &self,
        mount: &str,
        role: &str,
        tag: &BTreeMap<String, String>,
        keep: &[&str],
    ) -> Result<Vec<String>> {
        let mut destroyed = Vec::new();
        if tag.is_empty() {
            return Ok(destroyed);
        }
        for accessor in self.list_secret_id_accessors(mount, role).await? {
            if keep.contains(&accessor.as_str()) {
                continue;
            }
            let Some(info) = self
                .lookup_secret_id_accessor(mount, role, &accessor)
                .await?
            else {
                continue;
            };
            let md = info.metadata.unwrap_or_default();
            if tag.iter().all(|(k, v)| md.get(k) == Some(v)) {
                self.destroy_secret_id_accessor(mount, role, &accessor)
                    .await?;
                destroyed.push(accessor);
            }
        }
        Ok(destroyed)
    }
}
