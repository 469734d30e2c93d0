//! Issuer operations of Vault's multi-issuer PKI, the primitives of a rotation: find the
//! issuer holding a certificate, import a root as a further (non-default) issuer, sign an
//! intermediate with a chosen issuer, install a new intermediate beside the current one, and
//! remove an issuer (or have Vault tidy the expired ones), cross-sign one. [`list_issuers`](PkiClient::list_issuers),
//! [`read_issuer`](PkiClient::read_issuer) and
//! [`set_default_issuer`](PkiClient::set_default_issuer) are in [`crate::ca`].
//!
//! ```no_run
//! # async fn demo(client: vault_pki::PkiClient, new_root: vault_pki::CaBundlePem) -> vault_pki::Result<()> {
//! use std::time::Duration;
//! use vault_pki::issuer::NewIntermediate;
//! use vault_pki::KeyExport;
//!
//! // A second root beside the first: the mount's default issuer does not change.
//! let ids = client.import_issuers("pki", &new_root).await?;
//! // A new intermediate signed by it, made the default issuer of `istioca`; the old one stays.
//! let new = NewIntermediate {
//!     mount: "istioca",
//!     root_mount: "pki",
//!     root_issuer_ref: &ids[0],
//!     common_name: "Istio CA",
//!     ttl: Duration::from_secs(43800 * 3600),
//!     key: KeyExport::Exported,
//! };
//! let installed = client.install_intermediate(&new, &mut |_secret| Ok(())).await?;
//! println!("new default issuer {}", installed.issuer_id);
//! # Ok(()) }
//! ```

use std::time::Duration;

use rustify_derive::Endpoint;
use serde::Deserialize;

use crate::ca::{CaBundlePem, IssuerInfo};
use crate::client::PkiClient;
use crate::error::{Error, Result};
use crate::intermediate::{chains_to, same_certificate};
use crate::mount::ttl_str;
use crate::secret::SecretString;
use crate::setup::{KeyExport, NewSecret};

/// ## Import CA certificates and keys (as issuers)
///
/// * Path: `{self.mount}/issuers/import/bundle`
/// * Method: POST
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#import-ca-certificates-and-keys>
#[derive(Endpoint)]
#[endpoint(
    path = "{self.mount}/issuers/import/bundle",
    method = "POST",
    response = "ImportedIssuers"
)]
struct ImportIssuersRequest {
    #[endpoint(skip)]
    mount: String,
    pem_bundle: String,
}

/// What an import returned.
#[derive(Debug, Clone, Default, Deserialize)]
struct ImportedIssuers {
    /// Ids of the issuers this import created (empty when they existed).
    #[serde(default)]
    imported_issuers: Option<Vec<String>>,
    /// Issuer id -> key id, for every certificate of the bundle, new or not.
    #[serde(default)]
    mapping: Option<std::collections::HashMap<String, String>>,
}

/// ## Sign intermediate (with a chosen issuer)
///
/// * Path: `{self.mount}/issuer/{self.issuer_ref}/sign-intermediate`
/// * Method: POST
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#sign-intermediate>
#[derive(Endpoint)]
#[endpoint(
    path = "{self.mount}/issuer/{self.issuer_ref}/sign-intermediate",
    method = "POST",
    response = "SignedByIssuer"
)]
struct SignIntermediateByRequest {
    #[endpoint(skip)]
    mount: String,
    #[endpoint(skip)]
    issuer_ref: String,
    csr: String,
    common_name: String,
    ttl: String,
    format: String,
}

/// The fields of a signing answer this crate uses.
#[derive(Debug, Clone, Deserialize)]
struct SignedByIssuer {
    certificate: String,
}

/// ## Delete issuer
///
/// * Path: `{self.mount}/issuer/{self.issuer_ref}`
/// * Method: DELETE
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#delete-issuer>
#[derive(Endpoint)]
#[endpoint(path = "{self.mount}/issuer/{self.issuer_ref}", method = "DELETE")]
struct DeleteIssuerRequest {
    #[endpoint(skip)]
    mount: String,
    #[endpoint(skip)]
    issuer_ref: String,
}

/// ## Tidy
///
/// * Path: `{self.mount}/tidy`
/// * Method: POST
/// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#tidy>
#[derive(Endpoint)]
#[endpoint(path = "{self.mount}/tidy", method = "POST")]
struct TidyRequest {
    #[endpoint(skip)]
    mount: String,
    tidy_expired_issuers: bool,
    issuer_safety_buffer: String,
}

/// A new intermediate to install beside the current one ([`PkiClient::install_intermediate`]).
#[derive(Debug, Clone, Copy)]
pub struct NewIntermediate<'a> {
    /// The intermediate's PKI mount.
    pub mount: &'a str,
    /// The root's PKI mount.
    pub root_mount: &'a str,
    /// The root issuer that signs it (an id, a name, or `default`).
    pub root_issuer_ref: &'a str,
    /// Its common name.
    pub common_name: &'a str,
    /// Its validity.
    pub ttl: Duration,
    /// Whether Vault returns its key ([`KeyExport::Exported`]) or keeps it.
    pub key: KeyExport,
}

/// An installed intermediate: the mount's default issuer now.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InstalledIntermediate {
    /// Its issuer id in the mount.
    pub issuer_id: String,
    /// Its certificate, PEM.
    pub certificate_pem: String,
    /// Its chain as Vault holds it, itself first, ending at the root.
    pub ca_chain_pem: String,
    /// Its CSR, PEM.
    pub csr_pem: String,
    /// Its private key, for [`KeyExport::Exported`] (already handed to `keep`).
    pub key_pem: Option<SecretString>,
}

impl PkiClient {
    /// The issuer of `mount` whose certificate is `cert_pem`'s first certificate; `None` when
    /// no issuer holds it.
    ///
    /// * Path: `{mount}/issuers` (LIST), then `{mount}/issuer/{id}` (GET) per issuer
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#list-issuers>
    pub async fn find_issuer(&self, mount: &str, cert_pem: &str) -> Result<Option<IssuerInfo>> {
        let list = self.list_issuers(mount).await?;
        for id in &list.keys {
            if let Some(i) = self.read_issuer(mount, id).await?
                && same_certificate(&i.certificate, cert_pem)
            {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    /// Imports a CA certificate and key as issuers of `mount`, without changing its default
    /// issuer (unless it had none); returns the id of the issuer holding `bundle`'s
    /// certificate. Importing one that is there already changes nothing and returns its id.
    ///
    /// * Path: `{mount}/issuers/import/bundle`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#import-ca-certificates-and-keys>
    pub async fn import_issuers(&self, mount: &str, bundle: &CaBundlePem) -> Result<Vec<String>> {
        crate::pem::parse_certificate(&bundle.cert_pem, "CA certificate")?;
        crate::pem::check_private_key(bundle.key_pem.expose_secret(), "CA key")?;
        let pem = bundle.pem_bundle();
        let p = format!("{mount}/issuers/import/bundle");
        let r = self
            .call(&p, |c| {
                let ep = ImportIssuersRequest {
                    mount: mount.into(),
                    pem_bundle: pem.expose_secret().to_string(),
                };
                async move { vaultrs::api::exec_with_result(c, ep).await }
            })
            .await?;
        let mut ids = r.imported_issuers.unwrap_or_default();
        if ids.is_empty() {
            ids = r.mapping.unwrap_or_default().into_keys().collect();
        }
        if ids.is_empty() {
            // Some servers answer an import of known issuers with no ids: look it up.
            if let Some(i) = self.find_issuer(mount, &bundle.cert_pem).await? {
                ids.push(i.issuer_id);
            }
        }
        if ids.is_empty() {
            return Err(Error::UnexpectedResponse {
                path: p,
                reason: "the import named no issuer, and none holds the certificate".into(),
            });
        }
        Ok(ids)
    }

    /// Signs an intermediate CSR with one issuer of the root mount (`format=pem_bundle`):
    /// during a root rotation, the new root signs while the old one is still the default.
    ///
    /// * Path: `{root_mount}/issuer/{issuer_ref}/sign-intermediate`
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#sign-intermediate>
    pub async fn sign_intermediate_by(
        &self,
        root_mount: &str,
        issuer_ref: &str,
        csr_pem: &str,
        common_name: &str,
        ttl: Duration,
    ) -> Result<String> {
        crate::pem::check_csr(csr_pem, "intermediate CSR")?;
        let p = format!("{root_mount}/issuer/{issuer_ref}/sign-intermediate");
        let r = self
            .call(&p, |c| {
                let ep = SignIntermediateByRequest {
                    mount: root_mount.into(),
                    issuer_ref: issuer_ref.into(),
                    csr: csr_pem.into(),
                    common_name: common_name.into(),
                    ttl: ttl_str(ttl),
                    format: "pem_bundle".into(),
                };
                async move { vaultrs::api::exec_with_result(c, ep).await }
            })
            .await?;
        Ok(r.certificate)
    }

    /// Deletes an issuer of `mount` (its key stays, as Vault does); deleting one that is gone
    /// succeeds. Vault refuses nothing here: do not delete an issuer something still chains to.
    ///
    /// * Path: `{mount}/issuer/{issuer_ref}`
    /// * Method: DELETE
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#delete-issuer>
    pub async fn delete_issuer(&self, mount: &str, issuer_ref: &str) -> Result<()> {
        let p = format!("{mount}/issuer/{issuer_ref}");
        let r = self
            .call(&p, |c| {
                let ep = DeleteIssuerRequest {
                    mount: mount.into(),
                    issuer_ref: issuer_ref.into(),
                };
                async move { vaultrs::api::exec_with_empty(c, ep).await }
            })
            .await;
        match r {
            Err(Error::NotFound { .. }) => Ok(()),
            other => other,
        }
    }

    /// Starts Vault's tidy of `mount`'s issuers that expired more than `safety_buffer` ago (not
    /// the default one); Vault runs it in the background (`{mount}/tidy-status` reports it).
    ///
    /// * Path: `{mount}/tidy` (`tidy_expired_issuers=true`)
    /// * Method: POST
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#tidy>
    pub async fn tidy_expired_issuers(&self, mount: &str, safety_buffer: Duration) -> Result<()> {
        let p = format!("{mount}/tidy");
        self.call(&p, |c| {
            let ep = TidyRequest {
                mount: mount.into(),
                tidy_expired_issuers: true,
                issuer_safety_buffer: ttl_str(safety_buffer),
            };
            async move { vaultrs::api::exec_with_empty(c, ep).await }
        })
        .await
    }

    /// Generates a new intermediate key and CSR in `new.mount`, has the root issuer sign it,
    /// installs it (with the root in its chain) and makes it the mount's default issuer. The
    /// issuers already in the mount stay, so certificates they signed still verify.
    ///
    /// An exported key exists only in Vault's answer: it is handed to `keep` before the next
    /// request, and an error from `keep` stops here ([`Error::SecretNotKept`]).
    ///
    /// * Paths: `{mount}/intermediate/generate/{exported|internal}`,
    ///   `{root_mount}/issuer/{root_issuer_ref}/sign-intermediate`,
    ///   `{mount}/intermediate/set-signed`, `{mount}/config/issuers`
    pub async fn install_intermediate(
        &self,
        new: &NewIntermediate<'_>,
        keep: &mut (dyn FnMut(&NewSecret<'_>) -> KeepResult + Send),
    ) -> Result<InstalledIntermediate> {
        let g = self
            .generate_intermediate(new.mount, new.common_name, new.key)
            .await?;
        if let Some(key_pem) = &g.private_key_pem {
            keep(&NewSecret::IntermediateKey {
                key_pem,
                csr_pem: &g.csr_pem,
            })
            .map_err(|source| Error::SecretNotKept {
                what: "exported intermediate key",
                source,
            })?;
        }
        let signed = self
            .sign_intermediate_by(
                new.root_mount,
                new.root_issuer_ref,
                &g.csr_pem,
                new.common_name,
                new.ttl,
            )
            .await?;
        let root = self
            .read_issuer(new.root_mount, new.root_issuer_ref)
            .await?
            .ok_or_else(|| Error::NotFound {
                path: format!("{}/issuer/{}", new.root_mount, new.root_issuer_ref),
                errors: vec!["the signing root issuer is gone".into()],
            })?;
        let mut certs = crate::pem::split_certificates(&signed, "signed intermediate")?;
        let leaf = certs
            .first()
            .cloned()
            .ok_or_else(|| Error::pem("signed intermediate", "empty"))?;
        if !certs.iter().any(|c| same_certificate(c, &root.certificate)) {
            certs.push(crate::pem::split_certificates(&root.certificate, "root CA")?.concat());
        }
        let imported = self
            .set_signed_intermediate(new.mount, &certs.concat())
            .await?;
        let installed = match self.find_issuer(new.mount, &leaf).await? {
            Some(i) => i,
            None => {
                return Err(Error::UnexpectedResponse {
                    path: format!("{}/intermediate/set-signed", new.mount),
                    reason: format!(
                        "the signed intermediate is not among the mount's issuers (imported: {imported:?})"
                    ),
                });
            }
        };
        self.set_default_issuer(new.mount, &installed.issuer_id)
            .await?;
        Ok(InstalledIntermediate {
            issuer_id: installed.issuer_id,
            certificate_pem: crate::pem::normalize_certificate(&leaf, "intermediate")?,
            ca_chain_pem: installed.ca_chain.join(""),
            csr_pem: g.csr_pem,
            key_pem: g.private_key_pem,
        })
    }
}

impl PkiClient {
    /// Cross-signs an issuer of `mount`: a CSR for its existing key and subject, signed by
    /// `signer_ref` of `signer_mount`, the result imported beside it. Certificates it signed
    /// then also chain, through the cross-signed copy, to the signer's root: the other way to
    /// bridge two roots (this tool's root rotation uses a trust overlap instead). Returns the
    /// cross-signed certificate, PEM.
    ///
    /// * Paths: `{mount}/intermediate/generate/existing` (with `key_ref`),
    ///   `{signer_mount}/issuer/{signer_ref}/sign-intermediate`, `{mount}/intermediate/set-signed`
    /// * Reference: <https://developer.hashicorp.com/vault/docs/secrets/pki/rotation-primitives#cross-signed-intermediates>
    pub async fn cross_sign(
        &self,
        mount: &str,
        issuer_ref: &str,
        signer_mount: &str,
        signer_ref: &str,
        ttl: Duration,
    ) -> Result<String> {
        let issuer = self
            .read_issuer(mount, issuer_ref)
            .await?
            .ok_or_else(|| Error::NotFound {
                path: format!("{mount}/issuer/{issuer_ref}"),
                errors: vec!["no such issuer".into()],
            })?;
        if issuer.key_id.is_empty() {
            return Err(Error::UnexpectedResponse {
                path: format!("{mount}/issuer/{issuer_ref}"),
                reason: "the issuer has no key in Vault to make a CSR with".into(),
            });
        }
        let der = crate::pem::parse_certificate(&issuer.certificate, "issuer certificate")?;
        let cn = x509_parser::parse_x509_certificate(&der)
            .ok()
            .and_then(|(_, x)| {
                x.subject()
                    .iter_common_name()
                    .next()
                    .and_then(|c| c.as_str().ok().map(str::to_string))
            })
            .unwrap_or_default();
        let p = format!("{mount}/intermediate/generate/existing");
        let key_id = issuer.key_id.clone();
        let csr = self
            .call(&p, |c| {
                let mut b = vaultrs::api::pki::requests::GenerateIntermediateRequest::builder();
                b.key_ref(key_id.clone());
                let cn = cn.clone();
                async move {
                    vaultrs::pki::cert::ca::int::generate(c, mount, "existing", &cn, Some(&mut b))
                        .await
                }
            })
            .await?
            .csr;
        let signed = self
            .sign_intermediate_by(signer_mount, signer_ref, &csr, &cn, ttl)
            .await?;
        let leaf = crate::pem::split_certificates(&signed, "cross-signed certificate")?
            .into_iter()
            .next()
            .ok_or_else(|| Error::pem("cross-signed certificate", "empty"))?;
        self.set_signed_intermediate(mount, &leaf).await?;
        crate::pem::normalize_certificate(&leaf, "cross-signed certificate")
    }
}

/// What [`PkiClient::valid_certificates_issued_by`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuedByIssuer {
    /// Certificates the mount stored that this issuer signed, not expired and not revoked.
    pub valid: usize,
    /// The latest `notAfter` among them (Unix seconds).
    pub last_not_after: Option<u64>,
}

impl PkiClient {
    /// Counts the certificates `mount` stored (every leaf its roles signed, unless a role has
    /// `no_store`) that `issuer_pem` signed and that are still valid at `now` (Unix seconds):
    /// not expired, not revoked. An issuer with none is safe to remove.
    ///
    /// * Paths: `{mount}/certs` (LIST), `{mount}/cert/{serial}` (GET) per certificate
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/secret/pki#list-certificates>
    pub async fn valid_certificates_issued_by(
        &self,
        mount: &str,
        issuer_pem: &str,
        now: u64,
    ) -> Result<IssuedByIssuer> {
        let p = format!("{mount}/certs");
        let serials = match self.call(&p, |c| vaultrs::pki::cert::list(c, mount)).await {
            Ok(s) => s,
            Err(Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut found = IssuedByIssuer::default();
        for serial in serials {
            let cp = format!("{mount}/cert/{serial}");
            let cert = match self
                .call(&cp, |c| vaultrs::pki::cert::read(c, mount, &serial))
                .await
            {
                Ok(c) => c,
                Err(Error::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            if cert.revocation_time > 0 || cert.certificate.trim().is_empty() {
                continue;
            }
            let Ok(der) = crate::pem::parse_certificate(&cert.certificate, "stored certificate")
            else {
                continue;
            };
            let Ok((_, x)) = x509_parser::parse_x509_certificate(&der) else {
                continue;
            };
            if x.is_ca() {
                continue;
            }
            let not_after = u64::try_from(x.validity().not_after.timestamp()).unwrap_or(0);
            if not_after <= now || !chains_to(&cert.certificate, issuer_pem).unwrap_or(false) {
                continue;
            }
            found.valid += 1;
            found.last_not_after = Some(found.last_not_after.unwrap_or(0).max(not_after));
        }
        Ok(found)
    }
}

/// What a `keep` callback of [`PkiClient::install_intermediate`] returns.
pub type KeepResult = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;
