//! Tokens: a child token with chosen policies, e.g. a least-privilege token for the setup.

use std::time::Duration;

use vaultrs::api::token::requests::CreateTokenRequest;

use crate::approle::LoginToken;
use crate::client::PkiClient;
use crate::error::Result;

impl PkiClient {
    /// Creates a child token of this client's token with exactly `policies` (no `default`)
    /// and time-to-live `ttl`; the token comes back as a secret.
    ///
    /// * Path: `auth/token/create`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/token#create-token>
    pub async fn create_token(&self, policies: &[String], ttl: Duration) -> Result<LoginToken> {
        // Never retried: a retry after a lost answer would leave a live token nobody holds.
        let a = self
            .call_once("auth/token/create", |c| {
                let mut req = CreateTokenRequest::builder();
                req.policies(policies.to_vec())
                    .no_default_policy(true)
                    .ttl(format!("{}s", ttl.as_secs()));
                async move { vaultrs::token::new(c, Some(&mut req)).await }
            })
            .await?;
        Ok(LoginToken::from(a))
    }

    /// Revokes this client's own token (the `default` policy allows it), e.g. a login's once
    /// it is no longer needed.
    ///
    /// * Path: `auth/token/revoke-self`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/auth/token#revoke-a-token-self>
    pub async fn revoke_self(&self) -> Result<()> {
        self.call_once("auth/token/revoke-self", vaultrs::token::revoke_self)
            .await
    }
}
