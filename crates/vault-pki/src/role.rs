//! PKI roles: what a mount may sign at `<mount>/sign/<role>`.

use std::time::Duration;

use rustify_derive::Endpoint;
use serde::Deserialize;

use crate::client::PkiClient;
use crate::error::{Result, found};
use crate::mount::ttl_str;

/// A PKI role, with the seed's `cluster-local` as default: `allowed_domains=svc`,
/// `allow_subdomains=true`, `max_ttl=720h`, `require_cn=false`,
/// `allowed_uri_sans=spiffe://cluster.local/*`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PkiRole {
    /// The role's name.
    pub name: String,
    /// `allowed_domains`.
    pub allowed_domains: Vec<String>,
    /// `allow_subdomains`.
    pub allow_subdomains: bool,
    /// `max_ttl`.
    pub max_ttl: Duration,
    /// `require_cn`.
    pub require_cn: bool,
    /// `allowed_uri_sans`.
    pub allowed_uri_sans: Vec<String>,
    /// `key_type` of the CSRs it signs: `any` by default, so that both Istio's default RSA
    /// 2048 workload keys and ECDSA P-256 ones (`ECC_SIGNATURE_ALGORITHM=ECDSA`) are signed.
    /// The seed's role sets none and so gets Vault's default, `rsa`, which refuses ECDSA
    /// CSRs; set `rsa` for exactly the seed's role (`e2e --key-type rsa`).
    pub key_type: String,
    /// `issuer_ref`: the issuer of the mount that signs, `default` (the mount's default
    /// issuer, so a rotation that changes the default moves the role with it), or an issuer's
    /// id or name to pin it.
    pub issuer_ref: String,
}

impl Default for PkiRole {
    fn default() -> Self {
        Self {
            name: "cluster-local".into(),
            allowed_domains: vec!["svc".into()],
            allow_subdomains: true,
            max_ttl: Duration::from_secs(720 * 3600),
            require_cn: false,
            allowed_uri_sans: vec!["spiffe://cluster.local/*".into()],
            key_type: "any".into(),
            issuer_ref: "default".into(),
        }
    }
}

/// A role as Vault returns it (the fields this crate manages).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct PkiRoleState {
    /// `allowed_domains`.
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    /// `allow_subdomains`.
    #[serde(default)]
    pub allow_subdomains: bool,
    /// `max_ttl` in seconds.
    #[serde(default)]
    pub max_ttl: u64,
    /// `require_cn`.
    #[serde(default)]
    pub require_cn: bool,
    /// `allowed_uri_sans`.
    #[serde(default)]
    pub allowed_uri_sans: Vec<String>,
    /// `key_type`.
    #[serde(default)]
    pub key_type: String,
    /// `issuer_ref` (servers before multi-issuer PKI have none: empty).
    #[serde(default)]
    pub issuer_ref: String,
    /// `no_store`: whether the certificates it signs are kept out of the mount's storage (then
    /// nobody can list what an issuer signed).
    #[serde(default)]
    pub no_store: bool,
}

impl PkiRole {
    /// The differences between the wanted role and what Vault has, as words.
    pub fn diff(&self, have: &PkiRoleState) -> Vec<String> {
        let mut d = Vec::new();
        if self.allowed_domains != have.allowed_domains {
            d.push(format!(
                "allowed_domains {:?} -> {:?}",
                have.allowed_domains, self.allowed_domains
            ));
        }
        if self.allow_subdomains != have.allow_subdomains {
            d.push(format!(
                "allow_subdomains {} -> {}",
                have.allow_subdomains, self.allow_subdomains
            ));
        }
        if self.max_ttl.as_secs() != have.max_ttl {
            d.push(format!(
                "max_ttl {}s -> {}s",
                have.max_ttl,
                self.max_ttl.as_secs()
            ));
        }
        if self.require_cn != have.require_cn {
            d.push(format!(
                "require_cn {} -> {}",
                have.require_cn, self.require_cn
            ));
        }
        if self.allowed_uri_sans != have.allowed_uri_sans {
            d.push(format!(
                "allowed_uri_sans {:?} -> {:?}",
                have.allowed_uri_sans, self.allowed_uri_sans
            ));
        }
        if self.key_type != have.key_type {
            d.push(format!("key_type {} -> {}", have.key_type, self.key_type));
        }
        if !have.issuer_ref.is_empty() && self.issuer_ref != have.issuer_ref {
            d.push(format!(
                "issuer_ref {} -> {}",
                have.issuer_ref, self.issuer_ref
            ));
        }
        d
    }
}

/// ## Read role
///
/// * Path: `{self.mount}/roles/{self.name}`
/// * Method: GET
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#read-role>
#[derive(Debug, Default, Endpoint)]
#[endpoint(
    path = "{self.mount}/roles/{self.name}",
    method = "GET",
    response = "PkiRoleState"
)]
pub struct ReadPkiRoleRequest {
    /// The PKI mount.
    #[endpoint(skip)]
    pub mount: String,
    /// The role name.
    #[endpoint(skip)]
    pub name: String,
}

impl PkiClient {
    /// Writes (creates or replaces) a PKI role.
    ///
    /// * Path: `{mount}/roles/{role.name}`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#create-update-role>
    pub async fn write_pki_role(&self, mount: &str, role: &PkiRole) -> Result<()> {
        let p = format!("{mount}/roles/{}", role.name);
        self.call(&p, |c| {
            let mut b = vaultrs::api::pki::requests::SetRoleRequest::builder();
            b.allowed_domains(role.allowed_domains.clone())
                .allow_subdomains(role.allow_subdomains)
                .max_ttl(ttl_str(role.max_ttl))
                .require_cn(role.require_cn)
                .allowed_uri_sans(role.allowed_uri_sans.clone())
                .key_type(role.key_type.clone())
                .issuer_ref(role.issuer_ref.clone());
            async move { vaultrs::pki::role::set(c, mount, &role.name, Some(&mut b)).await }
        })
        .await
    }

    /// Reads a PKI role; `None` when there is none.
    ///
    /// * Path: `{mount}/roles/{name}`
    /// * Method: GET
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#read-role>
    pub async fn read_pki_role(&self, mount: &str, name: &str) -> Result<Option<PkiRoleState>> {
        let p = format!("{mount}/roles/{name}");
        let r = self
            .call(&p, |c| {
                let ep = ReadPkiRoleRequest {
                    mount: mount.into(),
                    name: name.into(),
                };
                async move { vaultrs::api::exec_with_result(c, ep).await }
            })
            .await;
        found(r)
    }
}
