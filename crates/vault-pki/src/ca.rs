//! CA material in a PKI mount: import a CA bundle (`config/ca`), read the CA, the chain and
//! the issuers, set the default issuer; and a root CA generated locally with rcgen.

use std::collections::HashMap;
use std::time::Duration;

use rustify_derive::Endpoint;
use serde::Deserialize;

use crate::client::PkiClient;
use crate::error::{Error, Result};
use crate::secret::SecretString;

/// A CA certificate and its key, PEM.
#[derive(Debug, Clone)]
pub struct CaBundlePem {
    /// The certificate.
    pub cert_pem: String,
    /// The private key.
    pub key_pem: SecretString,
}

impl CaBundlePem {
    /// `cert + key`, the `pem_bundle` that `config/ca` takes.
    pub fn pem_bundle(&self) -> SecretString {
        let mut s = self.cert_pem.trim_end().to_string();
        s.push('\n');
        s.push_str(self.key_pem.expose_secret());
        SecretString::new(s)
    }
}

/// Generates a self-signed root CA (ECDSA P-256, path length unconstrained, `keyCertSign`
/// and `cRLSign`) valid from one hour ago for `ttl`.
pub fn generate_root_ca(common_name: &str, ttl: Duration) -> Result<CaBundlePem> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let err = |e: rcgen::Error| Error::Certificate {
        what: "generating the root CA".into(),
        reason: e.to_string(),
    };
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(err)?;
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = std::time::SystemTime::now();
    params.not_before = (now - Duration::from_secs(3600)).into();
    params.not_after = (now + ttl).into();
    let cert = params.self_signed(&key).map_err(err)?;
    Ok(CaBundlePem {
        cert_pem: cert.pem(),
        key_pem: SecretString::new(key.serialize_pem()),
    })
}

/// ## Read issuer
///
/// * Path: `{self.mount}/issuer/{self.issuer_ref}`
/// * Method: GET
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#read-issuer>
#[derive(Debug, Default, Endpoint)]
#[endpoint(
    path = "{self.mount}/issuer/{self.issuer_ref}",
    method = "GET",
    response = "IssuerInfo"
)]
pub struct ReadIssuerRequest {
    /// The PKI mount.
    #[endpoint(skip)]
    pub mount: String,
    /// The issuer id, name, or `default`.
    #[endpoint(skip)]
    pub issuer_ref: String,
}

/// An issuer as read.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct IssuerInfo {
    /// Its id.
    #[serde(default)]
    pub issuer_id: String,
    /// Its name.
    #[serde(default)]
    pub issuer_name: String,
    /// Its key's id (empty when Vault has no key for it).
    #[serde(default)]
    pub key_id: String,
    /// Its certificate, PEM.
    #[serde(default)]
    pub certificate: String,
    /// Its chain, PEM each, itself first.
    #[serde(default)]
    pub ca_chain: Vec<String>,
}

/// ## List issuers
///
/// * Path: `{self.mount}/issuers`
/// * Method: LIST
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#list-issuers>
#[derive(Debug, Default, Endpoint)]
#[endpoint(
    path = "{self.mount}/issuers",
    method = "LIST",
    response = "IssuerList"
)]
pub struct ListIssuersRequest {
    /// The PKI mount.
    #[endpoint(skip)]
    pub mount: String,
}

/// The issuers of a mount.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct IssuerList {
    /// Issuer ids.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Per id: name and default flag.
    #[serde(default)]
    pub key_info: HashMap<String, IssuerListEntry>,
}

/// One listed issuer.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct IssuerListEntry {
    /// Its name.
    #[serde(default)]
    pub issuer_name: String,
    /// Whether it is the default issuer.
    #[serde(default)]
    pub is_default: bool,
}

/// ## Set issuers configuration
///
/// * Path: `{self.mount}/config/issuers`
/// * Method: POST
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#set-issuers-configuration>
#[derive(Debug, Default, Endpoint)]
#[endpoint(path = "{self.mount}/config/issuers", method = "POST")]
pub struct SetDefaultIssuerRequest {
    /// The PKI mount.
    #[endpoint(skip)]
    pub mount: String,
    /// The issuer to make default.
    pub default: String,
}

impl PkiClient {
    /// Imports a CA certificate and key (`pem_bundle`) into a PKI mount.
    ///
    /// * Path: `{mount}/config/ca`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#import-ca-certificates-and-keys>
    pub async fn import_ca_bundle(&self, mount: &str, bundle: &CaBundlePem) -> Result<()> {
        crate::pem::parse_certificate(&bundle.cert_pem, "root CA certificate")?;
        crate::pem::check_private_key(bundle.key_pem.expose_secret(), "root CA key")?;
        let pem = bundle.pem_bundle();
        let p = format!("{mount}/config/ca");
        self.call(&p, |c| {
            vaultrs::pki::cert::ca::submit(c, mount, pem.expose_secret())
        })
        .await
    }

    /// Reads an issuer (`default` for the default one); `None` when there is none.
    ///
    /// * Path: `{mount}/issuer/{issuer_ref}`
    /// * Method: GET
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#read-issuer>
    pub async fn read_issuer(&self, mount: &str, issuer_ref: &str) -> Result<Option<IssuerInfo>> {
        let p = format!("{mount}/issuer/{issuer_ref}");
        let r = self
            .call(&p, |c| {
                let ep = ReadIssuerRequest {
                    mount: mount.into(),
                    issuer_ref: issuer_ref.into(),
                };
                async move { vaultrs::api::exec_with_result(c, ep).await }
            })
            .await;
        match r {
            Ok(i) if !i.certificate.trim().is_empty() => Ok(Some(i)),
            // An empty mount answers 500 "no default issuer currently configured", which
            // this crate maps to NotFound.
            Ok(_) | Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads the mount's CA certificate (its default issuer's), PEM; `None` when it has none.
    ///
    /// * Path: `{mount}/issuer/default`
    /// * Method: GET
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#read-issuer>
    pub async fn read_ca(&self, mount: &str) -> Result<Option<String>> {
        Ok(self
            .read_issuer(mount, "default")
            .await?
            .map(|i| i.certificate))
    }

    /// Reads the default issuer's chain, PEM, itself first; `None` when it has none.
    ///
    /// * Path: `{mount}/issuer/default`
    /// * Method: GET
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#read-issuer>
    pub async fn read_ca_chain(&self, mount: &str) -> Result<Option<String>> {
        Ok(self
            .read_issuer(mount, "default")
            .await?
            .map(|i| i.ca_chain.join("")))
    }

    /// Lists the mount's issuers (empty when none).
    ///
    /// * Path: `{mount}/issuers`
    /// * Method: LIST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#list-issuers>
    pub async fn list_issuers(&self, mount: &str) -> Result<IssuerList> {
        let p = format!("{mount}/issuers");
        let r = self
            .call(&p, |c| {
                let ep = ListIssuersRequest {
                    mount: mount.into(),
                };
                async move { vaultrs::api::exec_with_result(c, ep).await }
            })
            .await;
        match r {
            Err(Error::NotFound { .. }) => Ok(IssuerList::default()),
            other => other,
        }
    }

    /// Makes an issuer the mount's default.
    ///
    /// * Path: `{mount}/config/issuers`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#set-issuers-configuration>
    pub async fn set_default_issuer(&self, mount: &str, issuer_id: &str) -> Result<()> {
        let p = format!("{mount}/config/issuers");
        self.call(&p, |c| {
            let ep = SetDefaultIssuerRequest {
                mount: mount.into(),
                default: issuer_id.into(),
            };
            async move { vaultrs::api::exec_with_empty(c, ep).await }
        })
        .await
    }
}
