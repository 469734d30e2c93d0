//! The `ensure` layer: every step reads the current state first and writes only what
//! differs; `plan` reads and reports without writing.

use std::time::{Duration, Instant};

use crate::approle::AppRoleSpec;
use crate::ca::{CaBundlePem, generate_root_ca};
use crate::client::PkiClient;
use crate::error::{Error, Result};
use crate::intermediate::{chains_to, same_certificate};
use crate::mount::check_kind;
use crate::policy::same_policy_text;
use crate::secret::SecretString;
use crate::setup::{
    NoObserver, Outcome, PkiSetup, RootCa, SetupObserver, SetupReport, Step, StepReport,
};

impl PkiClient {
    /// Brings Vault to the state `setup` describes, writing only what differs, and reports
    /// each step as created, updated or unchanged. Running it again changes nothing.
    ///
    /// Secrets created in this run (generated root key, exported intermediate key, new
    /// secret-id) are in the report once: persist them before dropping it. When a step fails
    /// after one was made, the error is [`Error::Incomplete`], whose
    /// [`partial_report`](Error::partial_report) holds them; [`Error::cause`] is what failed.
    ///
    /// A failed step's error is [`Error::InStep`] (inside [`Error::Incomplete`] when secrets
    /// were made): [`Error::step`] names it.
    pub async fn ensure(&self, setup: &PkiSetup) -> Result<SetupReport> {
        self.ensure_with(setup, &NoObserver).await
    }

    /// [`PkiClient::ensure`], handing each step to `observer` as soon as it is done.
    ///
    /// ```no_run
    /// # async fn demo(client: vault_pki::PkiClient) -> vault_pki::Result<()> {
    /// use vault_pki::{PkiSetup, StepReport};
    /// let show = |s: &StepReport| eprintln!("{} {} ({} ms)", s.step, s.outcome, s.duration_ms);
    /// match client.ensure_with(&PkiSetup::default(), &show).await {
    ///     Ok(report) => println!("{} steps", report.steps.len()),
    ///     Err(e) => eprintln!("failed at {:?}: {e}", e.step()),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn ensure_with(
        &self,
        setup: &PkiSetup,
        observer: &dyn SetupObserver,
    ) -> Result<SetupReport> {
        Ensurer::new(self, setup, false, observer).run().await
    }

    /// The steps several setups on one server share, and only those: the root mount, the root
    /// CA and the AppRole auth mount (in that order), as [`PkiClient::ensure_with`] does them.
    /// A fleet runs this once, then each cluster's [`PkiClient::ensure_with`] concurrently:
    /// their shared steps are then `unchanged` reads, so no two of them race to create the
    /// same mount.
    ///
    /// ```no_run
    /// # async fn demo(client: vault_pki::PkiClient) -> vault_pki::Result<()> {
    /// use vault_pki::{NoObserver, PkiSetup};
    /// let shared = client.ensure_shared_with(&PkiSetup::default(), &NoObserver).await?;
    /// assert!(shared.root_ca_pem.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn ensure_shared_with(
        &self,
        setup: &PkiSetup,
        observer: &dyn SetupObserver,
    ) -> Result<SetupReport> {
        let mut e = Ensurer::new(self, setup, false, observer);
        e.shared_only = true;
        e.run().await
    }

    /// Reports what [`PkiClient::ensure_shared_with`] would do, writing nothing.
    pub async fn plan_shared_with(
        &self,
        setup: &PkiSetup,
        observer: &dyn SetupObserver,
    ) -> Result<SetupReport> {
        let mut e = Ensurer::new(self, setup, true, observer);
        e.shared_only = true;
        e.run().await
    }

    /// Reports what [`PkiClient::ensure`] would do, writing nothing.
    pub async fn plan(&self, setup: &PkiSetup) -> Result<SetupReport> {
        self.plan_with(setup, &NoObserver).await
    }

    /// [`PkiClient::plan`], handing each step to `observer` as soon as it is known.
    pub async fn plan_with(
        &self,
        setup: &PkiSetup,
        observer: &dyn SetupObserver,
    ) -> Result<SetupReport> {
        Ensurer::new(self, setup, true, observer).run().await
    }
}

/// [`PkiClient::ensure`] as a free function.
pub async fn ensure(client: &PkiClient, setup: &PkiSetup) -> Result<SetupReport> {
    client.ensure(setup).await
}

/// [`PkiClient::plan`] as a free function.
pub async fn plan(client: &PkiClient, setup: &PkiSetup) -> Result<SetupReport> {
    client.plan(setup).await
}

struct Ensurer<'a> {
    c: &'a PkiClient,
    s: &'a PkiSetup,
    dry: bool,
    r: SetupReport,
    observer: &'a dyn SetupObserver,
    /// When the current step started (the end of the previous one).
    since: Instant,
    /// Only the steps setups share ([`PkiClient::ensure_shared_with`]).
    shared_only: bool,
}

/// Wraps a step's error in [`Error::InStep`] naming it.
fn at(step: Step) -> impl FnOnce(Error) -> Error {
    move |e| match e {
        e @ (Error::InStep { .. } | Error::Setup { .. }) => e,
        e => Error::InStep {
            step,
            source: Box::new(e),
        },
    }
}

impl<'a> Ensurer<'a> {
    fn new(c: &'a PkiClient, s: &'a PkiSetup, dry: bool, observer: &'a dyn SetupObserver) -> Self {
        Ensurer {
            c,
            s,
            dry,
            r: SetupReport {
                dry_run: dry,
                ..Default::default()
            },
            observer,
            since: Instant::now(),
            shared_only: false,
        }
    }

    fn push(&mut self, step: Step, path: String, outcome: Outcome, detail: impl Into<String>) {
        let detail = detail.into();
        let duration_ms = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(%step, %path, %outcome, %detail, dry_run = self.dry, "vault setup step");
        let report = StepReport {
            step,
            path,
            outcome,
            detail,
            duration_ms,
        };
        self.observer.on_step(&report);
        self.r.steps.push(report);
        self.since = Instant::now();
    }

    /// The steps in order. A failure after this run made a secret returns the report so far
    /// inside [`Error::Incomplete`], so the caller can still persist that secret.
    async fn run(mut self) -> Result<SetupReport> {
        match self.steps().await {
            Ok(()) => Ok(self.r),
            Err(e) if self.made_secrets() => Err(Error::Incomplete {
                source: Box::new(e),
                partial: Box::new(self.r),
            }),
            Err(e) => Err(e),
        }
    }

    /// Hands a once-only secret to the observer before the next request.
    fn keep(&self, secret: &crate::setup::NewSecret<'_>, what: &'static str) -> Result<()> {
        self.observer
            .on_secret(secret)
            .map_err(|source| Error::SecretNotKept { what, source })
    }

    fn made_secrets(&self) -> bool {
        !self.dry
            && (self.r.root_key_pem.is_some()
                || self.r.intermediate_key_pem.is_some()
                || self.r.secret_id_created)
    }

    async fn steps(&mut self) -> Result<()> {
        let s = self.s;
        let root_exists = self
            .mount(Step::RootMount, &s.root_mount, s.root_max_lease_ttl)
            .await
            .map_err(at(Step::RootMount))?;
        let root_pem = self.root_ca(root_exists).await.map_err(at(Step::RootCa))?;
        if self.shared_only {
            self.approle_auth().await.map_err(at(Step::AppRoleAuth))?;
            return Ok(());
        }
        let int_exists = self
            .mount(
                Step::IntermediateMount,
                &s.intermediate_mount,
                s.intermediate_max_lease_ttl,
            )
            .await
            .map_err(at(Step::IntermediateMount))?;
        self.intermediate(int_exists, root_pem.as_deref())
            .await
            .map_err(at(Step::Intermediate))?;
        self.role(int_exists).await.map_err(at(Step::Role))?;
        if !s.approle {
            self.policy().await.map_err(at(Step::Policy))?;
            return Ok(());
        }
        let auth_exists = self.approle_auth().await.map_err(at(Step::AppRoleAuth))?;
        self.policy().await.map_err(at(Step::Policy))?;
        let role_outcome = self
            .approle_role(auth_exists)
            .await
            .map_err(at(Step::AppRole))?;
        self.role_id(role_outcome).await.map_err(at(Step::RoleId))?;
        self.secret_id(role_outcome)
            .await
            .map_err(at(Step::SecretId))?;
        Ok(())
    }

    /// Enables and tunes a PKI mount; returns whether it existed before.
    async fn mount(&mut self, step: Step, path: &str, max_ttl: Duration) -> Result<bool> {
        let p = format!("sys/mounts/{path}");
        match self.c.read_mount(path).await? {
            None => {
                if !self.dry {
                    self.c.enable_pki(path, max_ttl).await?;
                    self.c.tune_mount(path, None, Some(max_ttl)).await?;
                }
                self.push(
                    step,
                    p,
                    Outcome::Created,
                    format!("pki, max_lease_ttl {}s", max_ttl.as_secs()),
                );
                Ok(false)
            }
            Some(m) => {
                check_kind(step, path, &m, "pki")?;
                let tune = self.c.read_mount_tune(path).await?;
                if tune.max_lease_ttl != max_ttl.as_secs() {
                    if !self.dry {
                        self.c.tune_mount(path, None, Some(max_ttl)).await?;
                    }
                    let d = format!(
                        "max_lease_ttl {}s -> {}s",
                        tune.max_lease_ttl,
                        max_ttl.as_secs()
                    );
                    self.push(step, p, Outcome::Updated, d);
                } else {
                    self.push(
                        step,
                        p,
                        Outcome::Unchanged,
                        format!("pki, max_lease_ttl {}s", tune.max_lease_ttl),
                    );
                }
                Ok(true)
            }
        }
    }

    /// The root CA; returns its PEM when known.
    async fn root_ca(&mut self, mount_exists: bool) -> Result<Option<String>> {
        let s = self.s;
        let path = format!("{}/config/ca", s.root_mount);
        let current = if mount_exists {
            self.c.read_issuer(&s.root_mount, "default").await?
        } else {
            None
        };
        match (&s.root_ca, current) {
            (RootCa::Import { cert_pem, key_pem }, current) => {
                crate::pem::parse_certificate(cert_pem, "root CA certificate")?;
                crate::pem::check_private_key(key_pem.expose_secret(), "root CA key")?;
                let bundle = CaBundlePem {
                    cert_pem: cert_pem.clone(),
                    key_pem: key_pem.clone(),
                };
                match current {
                    Some(cur) if same_certificate(&cur.certificate, cert_pem) => {
                        self.push(
                            Step::RootCa,
                            path,
                            Outcome::Unchanged,
                            "the given root is the default issuer",
                        );
                    }
                    Some(_) => {
                        if !self.dry {
                            self.c.import_ca_bundle(&s.root_mount, &bundle).await?;
                            self.make_default(Step::RootCa, &s.root_mount, cert_pem)
                                .await?;
                        }
                        self.push(
                            Step::RootCa,
                            path,
                            Outcome::Updated,
                            "imported the given root as default issuer",
                        );
                    }
                    None => {
                        if !self.dry {
                            self.c.import_ca_bundle(&s.root_mount, &bundle).await?;
                        }
                        self.push(
                            Step::RootCa,
                            path,
                            Outcome::Created,
                            "imported the given root",
                        );
                    }
                }
                self.r.root_ca_pem = Some(crate::pem::normalize_certificate(cert_pem, "root CA")?);
            }
            (RootCa::Generate { .. }, Some(cur)) => {
                if cur.key_id.is_empty() {
                    return Err(Error::Setup {
                        step: Step::RootCa,
                        reason: format!(
                            "{}'s default issuer has no key in Vault, so it cannot sign the intermediate; import the root with its key",
                            s.root_mount
                        ),
                    });
                }
                self.push(
                    Step::RootCa,
                    path,
                    Outcome::Unchanged,
                    format!("issuer {}", cur.issuer_id),
                );
                self.r.root_ca_pem = Some(crate::pem::normalize_certificate(
                    &cur.certificate,
                    "root CA",
                )?);
            }
            (RootCa::Generate { common_name, ttl }, None) => {
                if !self.dry {
                    let root = generate_root_ca(common_name, *ttl)?;
                    self.c.import_ca_bundle(&s.root_mount, &root).await?;
                    self.r.root_ca_pem = Some(root.cert_pem.clone());
                    self.r.root_key_pem = Some(root.key_pem);
                }
                self.push(
                    Step::RootCa,
                    path,
                    Outcome::Created,
                    format!("generated root {common_name:?} (rcgen, P-256)"),
                );
            }
        }
        Ok(self.r.root_ca_pem.clone())
    }

    /// Makes the issuer whose certificate is `cert_pem` the mount's default.
    async fn make_default(&self, step: Step, mount: &str, cert_pem: &str) -> Result<()> {
        let list = self.c.list_issuers(mount).await?;
        for id in &list.keys {
            if let Some(i) = self.c.read_issuer(mount, id).await?
                && same_certificate(&i.certificate, cert_pem)
            {
                if !list.key_info.get(id).map(|k| k.is_default).unwrap_or(false) {
                    self.c.set_default_issuer(mount, id).await?;
                }
                return Ok(());
            }
        }
        Err(Error::Setup {
            step,
            reason: format!("the imported certificate is not among {mount}'s issuers"),
        })
    }

    async fn intermediate(&mut self, mount_exists: bool, root_pem: Option<&str>) -> Result<()> {
        let s = self.s;
        let path = format!("{}/intermediate/set-signed", s.intermediate_mount);
        let current = if mount_exists {
            self.c.read_issuer(&s.intermediate_mount, "default").await?
        } else {
            None
        };
        let mut replacing = false;
        if let Some(cur) = current {
            let chains = match root_pem {
                Some(root) => chains_to(&cur.certificate, root)?,
                None => false,
            };
            if chains && !cur.key_id.is_empty() {
                self.r.intermediate_cert_pem = Some(crate::pem::normalize_certificate(
                    &cur.certificate,
                    "intermediate",
                )?);
                self.r.ca_chain_pem = Some(cur.ca_chain.join(""));
                self.push(
                    Step::Intermediate,
                    path,
                    Outcome::Unchanged,
                    format!("issuer {} chains to the root", cur.issuer_id),
                );
                return Ok(());
            }
            replacing = true;
        }
        let outcome = if replacing {
            Outcome::Updated
        } else {
            Outcome::Created
        };
        let detail = if replacing {
            "the default issuer did not chain to the root (or had no key): new intermediate"
        } else {
            "generated, signed by the root, set as default issuer"
        };
        if self.dry {
            self.push(Step::Intermediate, path, outcome, detail);
            return Ok(());
        }
        if root_pem.is_none() {
            return Err(Error::Setup {
                step: Step::Intermediate,
                reason: "the root CA is unknown".into(),
            });
        }
        let new = crate::issuer::NewIntermediate {
            mount: &s.intermediate_mount,
            root_mount: &s.root_mount,
            root_issuer_ref: "default",
            common_name: &s.intermediate_common_name,
            ttl: s.intermediate_ttl,
            key: s.intermediate_key,
        };
        // The exported key exists only in Vault's answer: the observer gets it before the
        // next request, and the report keeps it too, so a failure below still hands it to
        // the caller (Error::Incomplete).
        let observer = self.observer;
        let mut kept: Option<(SecretString, String)> = None;
        let installed = self
            .c
            .install_intermediate(&new, &mut |secret| {
                if let crate::setup::NewSecret::IntermediateKey { key_pem, csr_pem } = secret {
                    kept = Some(((*key_pem).clone(), csr_pem.to_string()));
                }
                observer.on_secret(secret)
            })
            .await;
        if let Some((key, csr)) = kept {
            self.r.intermediate_key_pem = Some(key);
            self.r.intermediate_csr_pem = Some(csr);
        }
        let installed = installed?;
        self.r.intermediate_csr_pem = Some(installed.csr_pem);
        self.r.intermediate_cert_pem = Some(installed.certificate_pem);
        self.r.ca_chain_pem = Some(installed.ca_chain_pem);
        self.push(Step::Intermediate, path, outcome, detail);
        Ok(())
    }

    async fn role(&mut self, mount_exists: bool) -> Result<()> {
        let s = self.s;
        let path = format!("{}/roles/{}", s.intermediate_mount, s.role.name);
        let have = if mount_exists {
            self.c
                .read_pki_role(&s.intermediate_mount, &s.role.name)
                .await?
        } else {
            None
        };
        let (outcome, detail) = match have {
            None => (Outcome::Created, "new role".to_string()),
            Some(h) => {
                let d = s.role.diff(&h);
                if d.is_empty() {
                    (Outcome::Unchanged, "as wanted".to_string())
                } else {
                    (Outcome::Updated, d.join(", "))
                }
            }
        };
        if outcome != Outcome::Unchanged && !self.dry {
            self.c
                .write_pki_role(&s.intermediate_mount, &s.role)
                .await?;
        }
        self.push(Step::Role, path, outcome, detail);
        Ok(())
    }

    async fn approle_auth(&mut self) -> Result<bool> {
        let s = self.s;
        let path = format!("sys/auth/{}", s.approle_mount);
        match self.c.read_auth_mount(&s.approle_mount).await? {
            Some(m) => {
                check_kind(Step::AppRoleAuth, &s.approle_mount, &m, "approle")?;
                self.push(Step::AppRoleAuth, path, Outcome::Unchanged, "approle");
                Ok(true)
            }
            None => {
                if !self.dry {
                    self.c.enable_approle(&s.approle_mount).await?;
                }
                self.push(Step::AppRoleAuth, path, Outcome::Created, "approle");
                Ok(false)
            }
        }
    }

    async fn policy(&mut self) -> Result<()> {
        let s = self.s;
        let path = format!("sys/policies/acl/{}", s.policy_name);
        let want = s.policy();
        let (outcome, detail) = match self.c.read_policy(&s.policy_name).await? {
            None => (Outcome::Created, format!("update on {}", s.sign_path())),
            Some(have) if same_policy_text(&have, &want.to_hcl()) => {
                (Outcome::Unchanged, "as wanted".into())
            }
            Some(_) => (
                Outcome::Updated,
                format!("rules replaced: update on {}", s.sign_path()),
            ),
        };
        if outcome != Outcome::Unchanged && !self.dry {
            self.c.write_policy(&s.policy_name, &want).await?;
        }
        self.push(Step::Policy, path, outcome, detail);
        Ok(())
    }

    async fn approle_role(&mut self, auth_exists: bool) -> Result<Outcome> {
        let s = self.s;
        let path = format!("auth/{}/role/{}", s.approle_mount, s.approle_role);
        let mut spec = AppRoleSpec::new(vec![s.policy_name.clone()], s.token_ttl, s.token_max_ttl);
        spec.secret_id_ttl = s.secret_id_ttl;
        let have = if auth_exists {
            self.c
                .read_approle_role(&s.approle_mount, &s.approle_role)
                .await?
        } else {
            None
        };
        let (outcome, detail) = match have {
            None => (Outcome::Created, format!("policies [{}]", s.policy_name)),
            Some(h) => {
                let d = spec.diff(&h);
                if d.is_empty() {
                    (Outcome::Unchanged, "as wanted".to_string())
                } else {
                    (Outcome::Updated, d.join(", "))
                }
            }
        };
        if outcome != Outcome::Unchanged && !self.dry {
            self.c
                .write_approle_role(&s.approle_mount, &s.approle_role, &spec)
                .await?;
        }
        self.push(Step::AppRole, path, outcome, detail);
        Ok(outcome)
    }

    async fn role_id(&mut self, role_outcome: Outcome) -> Result<()> {
        let s = self.s;
        let path = format!("auth/{}/role/{}/role-id", s.approle_mount, s.approle_role);
        if self.dry && role_outcome == Outcome::Created {
            self.push(
                Step::RoleId,
                path,
                Outcome::Created,
                "comes with the new role",
            );
            return Ok(());
        }
        let id = self
            .c
            .read_role_id(&s.approle_mount, &s.approle_role)
            .await?;
        let outcome = if role_outcome == Outcome::Created {
            Outcome::Created
        } else {
            Outcome::Unchanged
        };
        self.r.role_id = Some(id);
        self.push(Step::RoleId, path, outcome, "read");
        Ok(())
    }

    async fn secret_id(&mut self, role_outcome: Outcome) -> Result<()> {
        let s = self.s;
        let path = format!("auth/{}/role/{}/secret-id", s.approle_mount, s.approle_role);
        let mut replacing = false;
        if let Some(rec) = &s.recorded_secret_id
            && !(self.dry && role_outcome == Outcome::Created)
        {
            let found = self
                .c
                .lookup_secret_id(&s.approle_mount, &s.approle_role, &rec.secret_id)
                .await?;
            match found {
                Some(info) => {
                    let mut rec = rec.clone();
                    if !info.secret_id_accessor.is_empty() {
                        rec.accessor = info.secret_id_accessor;
                    }
                    let mut d = format!("recorded secret-id (accessor {}) is valid", rec.accessor);
                    let outcome = self.destroy_unrecorded(&rec.accessor, &mut d).await?;
                    self.push(Step::SecretId, path, outcome, d);
                    self.r.secret_id = Some(rec);
                    return Ok(());
                }
                None => replacing = true,
            }
        }
        let (outcome, detail) = if replacing {
            (
                Outcome::Updated,
                "the recorded secret-id is no longer valid: new secret-id",
            )
        } else {
            (Outcome::Created, "new secret-id")
        };
        let mut detail = detail.to_string();
        if !self.dry {
            let rec = if s.secret_id_metadata.is_empty() {
                self.c
                    .create_secret_id(&s.approle_mount, &s.approle_role)
                    .await?
            } else {
                self.c
                    .create_tagged_secret_id(
                        &s.approle_mount,
                        &s.approle_role,
                        &s.secret_id_metadata,
                    )
                    .await?
            };
            self.r.secret_id_created = true;
            let secret = crate::setup::NewSecret::SecretId {
                role_id: self.r.role_id.as_deref(),
                record: &rec,
            };
            let kept = self.keep(&secret, "secret-id");
            let accessor = rec.accessor.clone();
            self.r.secret_id = Some(rec);
            kept?;
            self.destroy_unrecorded(&accessor, &mut detail).await?;
        }
        self.push(Step::SecretId, path, outcome, detail);
        Ok(())
    }

    /// Destroys the secret-ids a killed earlier run made with this setup's metadata and never
    /// recorded (all but `keep`); says so in `detail`. `Updated` when it destroyed any.
    async fn destroy_unrecorded(&mut self, keep: &str, detail: &mut String) -> Result<Outcome> {
        let s = self.s;
        if self.dry || s.secret_id_metadata.is_empty() {
            return Ok(Outcome::Unchanged);
        }
        let mut spared: Vec<&str> = vec![keep];
        spared.extend(s.spared_secret_id_accessors.iter().map(String::as_str));
        let gone = self
            .c
            .destroy_unrecorded_secret_ids(
                &s.approle_mount,
                &s.approle_role,
                &s.secret_id_metadata,
                &spared,
            )
            .await?;
        if gone.is_empty() {
            return Ok(Outcome::Unchanged);
        }
        detail.push_str(&format!(
            "; destroyed {} unrecorded secret-id(s) of an interrupted run (accessors {})",
            gone.len(),
            gone.join(", ")
        ));
        Ok(Outcome::Updated)
    }
}
