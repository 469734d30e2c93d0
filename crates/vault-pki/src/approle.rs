//! AppRole: roles, role-id, secret-ids (create, look up, list, destroy) and login.

use std::time::Duration;

use rustify_derive::Endpoint;
use serde::Deserialize;

use crate::client::PkiClient;
use crate::error::{Error, Result};
use crate::mount::ttl_str;
use crate::secret::SecretString;
use crate::setup::SecretIdRecord;

/// An AppRole role's token settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppRoleSpec {
    /// `token_policies`.
    pub token_policies: Vec<String>,
    /// `token_ttl`.
    pub token_ttl: Duration,
    /// `token_max_ttl`.
    pub token_max_ttl: Duration,
    /// `secret_id_ttl`, the lifetime of each secret-id made from now on (zero: no expiry);
    /// `None` leaves the role's as it is.
    pub secret_id_ttl: Option<Duration>,
}

impl AppRoleSpec {
    /// A role with these policies and TTLs.
    pub fn new(policies: Vec<String>, token_ttl: Duration, token_max_ttl: Duration) -> Self {
        Self {
            token_policies: policies,
            token_ttl,
            token_max_ttl,
            secret_id_ttl: None,
        }
    }

    /// The differences from what Vault has, as words.
    pub fn diff(&self, have: &AppRoleState) -> Vec<String> {
        let mut d = Vec::new();
        let mut want = self.token_policies.clone();
        want.sort();
        let mut got = have.token_policies.clone();
        got.sort();
        if want != got {
            d.push(format!("token_policies {got:?} -> {want:?}"));
        }
        if self.token_ttl.as_secs() != have.token_ttl {
            d.push(format!(
                "token_ttl {}s -> {}s",
                have.token_ttl,
                self.token_ttl.as_secs()
            ));
        }
        if self.token_max_ttl.as_secs() != have.token_max_ttl {
            d.push(format!(
                "token_max_ttl {}s -> {}s",
                have.token_max_ttl,
                self.token_max_ttl.as_secs()
            ));
        }
        if let Some(want) = self.secret_id_ttl
            && want.as_secs() != have.secret_id_ttl
        {
            d.push(format!(
                "secret_id_ttl {}s -> {}s",
                have.secret_id_ttl,
                want.as_secs()
            ));
        }
        d
    }
}

/// An AppRole role as read (the fields this crate manages).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppRoleState {
    /// `token_policies`.
    #[serde(default)]
    pub token_policies: Vec<String>,
    /// `token_ttl` in seconds.
    #[serde(default)]
    pub token_ttl: u64,
    /// `token_max_ttl` in seconds.
    #[serde(default)]
    pub token_max_ttl: u64,
    /// `secret_id_ttl` in seconds (0: no expiry).
    #[serde(default)]
    pub secret_id_ttl: u64,
}

/// ## Read AppRole role
///
/// * Path: `auth/{self.mount}/role/{self.role}`
/// * Method: GET
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#read-approle-role>
#[derive(Debug, Default, Endpoint)]
#[endpoint(
    path = "auth/{self.mount}/role/{self.role}",
    method = "GET",
    response = "AppRoleState"
)]
pub struct ReadAppRoleRequest {
    /// The AppRole mount.
    #[endpoint(skip)]
    pub mount: String,
    /// The role.
    #[endpoint(skip)]
    pub role: String,
}

/// ## Read AppRole secret ID
///
/// * Path: `auth/{self.mount}/role/{self.role}/secret-id/lookup`
/// * Method: POST
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#read-approle-secret-id>
#[derive(Endpoint)]
#[endpoint(
    path = "auth/{self.mount}/role/{self.role}/secret-id/lookup",
    method = "POST",
    response = "SecretIdInfo"
)]
pub struct LookupSecretIdRequest {
    /// The AppRole mount.
    #[endpoint(skip)]
    pub mount: String,
    /// The role.
    #[endpoint(skip)]
    pub role: String,
    /// The secret-id to look up.
    pub secret_id: String,
}

impl std::fmt::Debug for LookupSecretIdRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookupSecretIdRequest")
            .field("mount", &self.mount)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// What Vault knows of a secret-id.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretIdInfo {
    /// Its accessor.
    #[serde(default)]
    pub secret_id_accessor: String,
    /// Its TTL in seconds (0: no expiry).
    #[serde(default)]
    pub secret_id_ttl: u64,
    /// Uses left (0: unlimited).
    #[serde(default)]
    pub secret_id_num_uses: u64,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub creation_time: String,
    /// Expiration time (RFC 3339; zero time when none).
    #[serde(default)]
    pub expiration_time: String,
}

/// ## List secret ID accessors
///
/// * Path: `auth/{self.mount}/role/{self.role}/secret-id`
/// * Method: LIST
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#list-secret-id-accessors>
#[derive(Debug, Default, Endpoint)]
#[endpoint(
    path = "auth/{self.mount}/role/{self.role}/secret-id",
    method = "LIST",
    response = "KeyList"
)]
pub struct ListSecretIdAccessorsRequest {
    /// The AppRole mount.
    #[endpoint(skip)]
    pub mount: String,
    /// The role.
    #[endpoint(skip)]
    pub role: String,
}

/// A `LIST` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct KeyList {
    /// The keys.
    #[serde(default)]
    pub keys: Vec<String>,
}

/// An AppRole login's token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoginToken {
    /// The client token.
    pub token: SecretString,
    /// Its accessor.
    pub accessor: String,
    /// Its policies.
    pub policies: Vec<String>,
    /// Its lease in seconds.
    pub lease_duration: u64,
}

impl From<vaultrs::api::AuthInfo> for LoginToken {
    fn from(a: vaultrs::api::AuthInfo) -> Self {
        LoginToken {
            token: SecretString::new(a.client_token),
            accessor: a.accessor,
            policies: a.token_policies,
            lease_duration: a.lease_duration,
        }
    }
}

impl PkiClient {
    /// Writes (creates or replaces) an AppRole role.
    ///
    /// * Path: `auth/{mount}/role/{role}`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#create-update-approle>
    pub async fn write_approle_role(
        &self,
        mount: &str,
        role: &str,
        spec: &AppRoleSpec,
    ) -> Result<()> {
        let p = format!("auth/{mount}/role/{role}");
        self.call(&p, |c| {
            let mut b = vaultrs::api::auth::approle::requests::SetAppRoleRequest::builder();
            b.token_policies(spec.token_policies.clone())
                .token_ttl(ttl_str(spec.token_ttl))
                .token_max_ttl(ttl_str(spec.token_max_ttl));
            if let Some(t) = spec.secret_id_ttl {
                b.secret_id_ttl(ttl_str(t));
            }
            async move { vaultrs::auth::approle::role::set(c, mount, role, Some(&mut b)).await }
        })
        .await
    }

    /// Reads an AppRole role; `None` when there is none.
    ///
    /// * Path: `auth/{mount}/role/{role}`
    /// * Method: GET
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#read-approle-role>
    pub async fn read_approle_role(&self, mount: &str, role: &str) -> Result<Option<AppRoleState>> {
        let p = format!("auth/{mount}/role/{role}");
        let r = self
            .call(&p, |c| {
                let ep = ReadAppRoleRequest {
                    mount: mount.into(),
                    role: role.into(),
                };
                async move { vaultrs::api::exec_with_result(c, ep).await }
            })
            .await;
        crate::error::found(r)
    }

    /// Deletes an AppRole role and every secret-id issued for it; deleting one that does
    /// not exist succeeds.
    ///
    /// * Path: `auth/{mount}/role/{role}`
    /// * Method: DELETE
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#delete-approle-role>
    pub async fn delete_approle_role(&self, mount: &str, role: &str) -> Result<()> {
        let p = format!("auth/{mount}/role/{role}");
        self.call(&p, |c| vaultrs::auth::approle::role::delete(c, mount, role))
            .await
    }

    /// Reads the role-id of an AppRole role.
    ///
    /// * Path: `auth/{mount}/role/{role}/role-id`
    /// * Method: GET
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#read-approle-role-id>
    pub async fn read_role_id(&self, mount: &str, role: &str) -> Result<String> {
        let p = format!("auth/{mount}/role/{role}/role-id");
        Ok(self
            .call(&p, |c| {
                vaultrs::auth::approle::role::read_id(c, mount, role)
            })
            .await?
            .role_id)
    }

    /// Creates a new secret-id for an AppRole role.
    ///
    /// * Path: `auth/{mount}/role/{role}/secret-id`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#generate-new-secret-id>
    pub async fn create_secret_id(&self, mount: &str, role: &str) -> Result<SecretIdRecord> {
        let p = format!("auth/{mount}/role/{role}/secret-id");
        // Not retried: a retry after a lost answer would leave an orphan secret-id.
        let r = self
            .call_once(&p, |c| {
                vaultrs::auth::approle::role::secret::generate(c, mount, role, None)
            })
            .await?;
        Ok(SecretIdRecord {
            secret_id: SecretString::new(r.secret_id),
            accessor: r.secret_id_accessor,
        })
    }

    /// Looks up a secret-id; `None` when Vault does not know it (destroyed, expired, wrong).
    ///
    /// * Path: `auth/{mount}/role/{role}/secret-id/lookup`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#read-approle-secret-id>
    pub async fn lookup_secret_id(
        &self,
        mount: &str,
        role: &str,
        secret_id: &SecretString,
    ) -> Result<Option<SecretIdInfo>> {
        let p = format!("auth/{mount}/role/{role}/secret-id/lookup");
        let r = self
            .call(&p, |c| {
                let ep = LookupSecretIdRequest {
                    mount: mount.into(),
                    role: role.into(),
                    secret_id: secret_id.expose_secret().to_string(),
                };
                async move { vaultrs::api::exec_with_result(c, ep).await }
            })
            .await;
        match r {
            Ok(i) => Ok(Some(i)),
            // An unknown secret-id: 204 No Content (no data) or 404.
            Err(Error::NotFound { .. }) => Ok(None),
            Err(Error::UnexpectedResponse { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Lists the accessors of a role's secret-ids (empty when none).
    ///
    /// * Path: `auth/{mount}/role/{role}/secret-id`
    /// * Method: LIST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#list-secret-id-accessors>
    pub async fn list_secret_id_accessors(&self, mount: &str, role: &str) -> Result<Vec<String>> {
        let p = format!("auth/{mount}/role/{role}/secret-id");
        let r = self
            .call(&p, |c| {
                let ep = ListSecretIdAccessorsRequest {
                    mount: mount.into(),
                    role: role.into(),
                };
                async move { vaultrs::api::exec_with_result(c, ep).await }
            })
            .await;
        match r {
            Ok(k) => Ok(k.keys),
            Err(Error::NotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Destroys a secret-id.
    ///
    /// * Path: `auth/{mount}/role/{role}/secret-id/destroy`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#destroy-approle-secret-id>
    pub async fn destroy_secret_id(
        &self,
        mount: &str,
        role: &str,
        secret_id: &SecretString,
    ) -> Result<()> {
        let p = format!("auth/{mount}/role/{role}/secret-id/destroy");
        self.call(&p, |c| {
            vaultrs::auth::approle::role::secret::delete(c, mount, role, secret_id.expose_secret())
        })
        .await
    }

    /// Destroys a secret-id by its accessor.
    ///
    /// * Path: `auth/{mount}/role/{role}/secret-id-accessor/destroy`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#destroy-approle-secret-id-accessor>
    pub async fn destroy_secret_id_accessor(
        &self,
        mount: &str,
        role: &str,
        accessor: &str,
    ) -> Result<()> {
        let p = format!("auth/{mount}/role/{role}/secret-id-accessor/destroy");
        self.call(&p, |c| {
            vaultrs::auth::approle::role::secret::delete_accessor(c, mount, role, accessor)
        })
        .await
    }

    /// Logs in with a role-id and secret-id; the token comes back as a secret.
    ///
    /// * Path: `auth/{mount}/login`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#login-with-approle>
    pub async fn approle_login(
        &self,
        mount: &str,
        role_id: &str,
        secret_id: &SecretString,
    ) -> Result<LoginToken> {
        let p = format!("auth/{mount}/login");
        let a = self
            .call(&p, |c| {
                vaultrs::auth::approle::login(c, mount, role_id, secret_id.expose_secret())
            })
            .await?;
        Ok(LoginToken::from(a))
    }

    /// Logs in with AppRole and returns a client using the login's token.
    ///
    /// * Path: `auth/{mount}/login`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/approle#login-with-approle>
    pub async fn login_approle_client(
        &self,
        mount: &str,
        role_id: &str,
        secret_id: &SecretString,
    ) -> Result<PkiClient> {
        let t = self.approle_login(mount, role_id, secret_id).await?;
        self.with_token(&t.token)
    }
}
