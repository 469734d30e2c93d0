//! [`PkiSetup`]: the whole Vault side of the flow as one typed value, with the seed's names
//! and TTLs as defaults, and the report of an [`ensure`](crate::PkiClient::ensure) or
//! [`plan`](crate::PkiClient::plan) run.

use std::time::Duration;

use crate::policy::{Capability, Policy};
use crate::role::PkiRole;
use crate::secret::SecretString;

const HOUR: u64 = 3600;

/// Where the root CA comes from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RootCa {
    /// Import this certificate and key into the root mount (`<root>/config/ca`).
    Import {
        /// The root certificate, PEM.
        cert_pem: String,
        /// Its private key, PEM.
        key_pem: SecretString,
    },
    /// Generate a self-signed root with rcgen (ECDSA P-256) and import it, when the root
    /// mount has no CA yet. Its key is returned once, in [`SetupReport::root_key_pem`].
    Generate {
        /// The root's common name.
        common_name: String,
        /// The root's validity.
        ttl: Duration,
    },
}

/// How the intermediate's key is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyExport {
    /// `intermediate/generate/exported`: the key is returned once (as the seed saves
    /// `istioca.key`), in [`SetupReport::intermediate_key_pem`]: persist it then.
    Exported,
    /// `intermediate/generate/internal`: the key never leaves Vault.
    Internal,
}

/// A secret-id recorded by a previous run, passed back in so it is kept while valid.
#[derive(Debug, Clone)]
pub struct SecretIdRecord {
    /// The secret-id.
    pub secret_id: SecretString,
    /// Its accessor.
    pub accessor: String,
}

/// The whole Vault setup (steps 1 to 5 of the flow).
///
/// `PkiSetup::default()` is the seed's: root mount `pki` (87600h), intermediate `istioca`
/// (43800h), role `cluster-local` (allowed domain `svc` with subdomains, max 720h, no CN
/// required, URI SANs `spiffe://cluster.local/*`), AppRole mount `approle`, role and policy
/// `cert-manager` (token TTL 1h, max 4h), a generated root.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PkiSetup {
    /// The root PKI mount path.
    pub root_mount: String,
    /// The root mount's `max_lease_ttl`.
    pub root_max_lease_ttl: Duration,
    /// The root CA: imported or generated.
    pub root_ca: RootCa,
    /// The intermediate PKI mount path.
    pub intermediate_mount: String,
    /// The intermediate mount's `max_lease_ttl`.
    pub intermediate_max_lease_ttl: Duration,
    /// The intermediate's common name.
    pub intermediate_common_name: String,
    /// The intermediate's validity (asked of `root/sign-intermediate`).
    pub intermediate_ttl: Duration,
    /// Exported (the seed's) or internal intermediate key.
    pub intermediate_key: KeyExport,
    /// The signing role on the intermediate mount.
    pub role: PkiRole,
    /// The AppRole auth mount path.
    pub approle_mount: String,
    /// The ACL policy's name.
    pub policy_name: String,
    /// The AppRole role's name.
    pub approle_role: String,
    /// The AppRole tokens' TTL.
    pub token_ttl: Duration,
    /// The AppRole tokens' max TTL.
    pub token_max_ttl: Duration,
    /// The AppRole role's `secret_id_ttl` (how long each new secret-id is valid; zero: no
    /// expiry); `None` leaves the role's as it is (Vault's default: no expiry).
    pub secret_id_ttl: Option<Duration>,
    /// The secret-id recorded by a previous run, kept while Vault says it is valid.
    pub recorded_secret_id: Option<SecretIdRecord>,
    /// Metadata every secret-id made by this setup carries (e.g. the tool and its output
    /// folder). When not empty, a run destroys the role's other secret-ids whose metadata has
    /// all of these pairs and that it did not record: secret-ids a killed run made and never
    /// persisted.
    pub secret_id_metadata: std::collections::BTreeMap<String, String>,
    /// Accessors of secret-ids being rotated out: not destroyed by the rule above although
    /// unrecorded (the rotation destroys them once the new one is in use).
    pub spared_secret_id_accessors: Vec<String>,
    /// Whether cert-manager logs in with AppRole (the default): the AppRole mount, role,
    /// role-id and secret-id steps. Without it (Kubernetes auth instead, see
    /// [`KubernetesAuthSetup`](crate::KubernetesAuthSetup)) those steps are left out and
    /// whatever AppRole state Vault has is left alone.
    pub approle: bool,
}

impl Default for PkiSetup {
    fn default() -> Self {
        Self {
            root_mount: "pki".into(),
            root_max_lease_ttl: Duration::from_secs(87600 * HOUR),
            root_ca: RootCa::Generate {
                common_name: "Mesh Root CA".into(),
                ttl: Duration::from_secs(87600 * HOUR),
            },
            intermediate_mount: "istioca".into(),
            intermediate_max_lease_ttl: Duration::from_secs(43800 * HOUR),
            intermediate_common_name: "Istio Intermediate CA".into(),
            intermediate_ttl: Duration::from_secs(43800 * HOUR),
            intermediate_key: KeyExport::Exported,
            role: PkiRole::default(),
            approle_mount: "approle".into(),
            policy_name: "cert-manager".into(),
            approle_role: "cert-manager".into(),
            token_ttl: Duration::from_secs(HOUR),
            token_max_ttl: Duration::from_secs(4 * HOUR),
            secret_id_ttl: None,
            recorded_secret_id: None,
            secret_id_metadata: std::collections::BTreeMap::new(),
            spared_secret_id_accessors: Vec::new(),
            approle: true,
        }
    }
}

impl PkiSetup {
    /// The seed's setup with every mount, role and policy name prefixed (`<p>-pki`,
    /// `<p>-istioca`, …): several independent setups on one server, e.g. one per test.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            root_mount: format!("{prefix}-pki"),
            intermediate_mount: format!("{prefix}-istioca"),
            approle_mount: format!("{prefix}-approle"),
            policy_name: format!("{prefix}-cert-manager"),
            approle_role: format!("{prefix}-cert-manager"),
            ..Self::default()
        }
    }

    /// Sets the SPIFFE trust domain: the role then allows `spiffe://<td>/*` URI SANs.
    pub fn with_trust_domain(mut self, td: &str) -> Self {
        self.role.allowed_uri_sans = vec![format!("spiffe://{td}/*")];
        self
    }

    /// Imports this root certificate and key instead of generating one.
    pub fn with_root_ca(
        mut self,
        cert_pem: impl Into<String>,
        key_pem: impl Into<SecretString>,
    ) -> Self {
        self.root_ca = RootCa::Import {
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
        };
        self
    }

    /// Passes the secret-id recorded by a previous run.
    pub fn with_recorded_secret_id(mut self, rec: Option<SecretIdRecord>) -> Self {
        self.recorded_secret_id = rec;
        self
    }

    /// The path the AppRole may write to: `<intermediate>/sign/<role>`.
    pub fn sign_path(&self) -> String {
        format!("{}/sign/{}", self.intermediate_mount, self.role.name)
    }

    /// The ACL policy: `path "<intermediate>/sign/<role>" { capabilities = ["update"] }`.
    pub fn policy(&self) -> Policy {
        Policy::new().path(self.sign_path(), [Capability::Update])
    }
}

/// What a step did (or, in a plan, would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// It did not exist and was created.
    Created,
    /// It existed and differed; it was changed.
    Updated,
    /// It existed as wanted; nothing was written.
    Unchanged,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
        })
    }
}

/// The steps of the setup, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Step {
    /// The root PKI mount and its tuning.
    RootMount,
    /// The root CA in the root mount.
    RootCa,
    /// The intermediate PKI mount and its tuning.
    IntermediateMount,
    /// The intermediate CA, signed by the root, as the default issuer.
    Intermediate,
    /// The signing role.
    Role,
    /// The AppRole auth mount.
    AppRoleAuth,
    /// The ACL policy.
    Policy,
    /// The AppRole role.
    AppRole,
    /// The AppRole role-id (read only).
    RoleId,
    /// The secret-id.
    SecretId,
    /// The Kubernetes auth mount.
    KubernetesAuth,
    /// The Kubernetes auth method's config (API server, CA, reviewer token).
    KubernetesConfig,
    /// The Kubernetes auth role.
    KubernetesRole,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::RootMount => "root mount",
            Step::RootCa => "root CA",
            Step::IntermediateMount => "intermediate mount",
            Step::Intermediate => "intermediate CA",
            Step::Role => "PKI role",
            Step::AppRoleAuth => "AppRole auth mount",
            Step::Policy => "ACL policy",
            Step::AppRole => "AppRole role",
            Step::RoleId => "role-id",
            Step::SecretId => "secret-id",
            Step::KubernetesAuth => "Kubernetes auth mount",
            Step::KubernetesConfig => "Kubernetes auth config",
            Step::KubernetesRole => "Kubernetes auth role",
        })
    }
}

/// One step's outcome.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct StepReport {
    /// Which step.
    pub step: Step,
    /// The Vault path it is about.
    pub path: String,
    /// Created, updated or unchanged.
    pub outcome: Outcome,
    /// What differed or was done, in a few words.
    pub detail: String,
    /// How long the step took (its reads and writes), in milliseconds.
    pub duration_ms: u64,
}

/// Receives each step of [`PkiClient::ensure_with`](crate::PkiClient::ensure_with) and
/// [`plan_with`](crate::PkiClient::plan_with) as soon as it is done, in order: for progress
/// lines or a live report. A closure `Fn(&StepReport)` is one.
pub trait SetupObserver: Sync {
    /// One step is done.
    fn on_step(&self, step: &StepReport);

    /// Vault has just handed out a secret it never returns again; called before the setup's
    /// next request, so that a caller that persists it here (a 0600 file, fsynced) loses
    /// nothing if the process dies right after. An error stops the setup at once
    /// ([`Error::SecretNotKept`](crate::Error::SecretNotKept)). By default, nothing is done:
    /// the secret is in the report.
    fn on_secret(
        &self,
        _secret: &NewSecret<'_>,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Ok(())
    }
}

/// A secret Vault returned once, as [`SetupObserver::on_secret`] receives it.
#[derive(Debug)]
#[non_exhaustive]
pub enum NewSecret<'a> {
    /// `intermediate/generate/exported`'s key and CSR (before the CSR is signed).
    IntermediateKey {
        /// The private key, PEM.
        key_pem: &'a SecretString,
        /// The CSR, PEM.
        csr_pem: &'a str,
    },
    /// A new secret-id (before anything else is asked), with the role's role-id.
    SecretId {
        /// The role-id read in the step before.
        role_id: Option<&'a str>,
        /// The secret-id and its accessor.
        record: &'a SecretIdRecord,
    },
}

impl<F: Fn(&StepReport) + Sync> SetupObserver for F {
    fn on_step(&self, step: &StepReport) {
        self(step)
    }
}

/// An observer that ignores every step.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl SetupObserver for NoObserver {
    fn on_step(&self, _: &StepReport) {}
}

/// The result of [`ensure`](crate::PkiClient::ensure) or [`plan`](crate::PkiClient::plan).
///
/// Secrets appear only when created in this run: the root key (generated root), the
/// intermediate key (exported intermediate) and the secret-id. Persist them then: a later
/// run cannot return them again.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SetupReport {
    /// True for a plan: nothing was written.
    pub dry_run: bool,
    /// Each step's outcome, in order.
    pub steps: Vec<StepReport>,
    /// The root CA certificate, PEM (None in a plan that would generate it).
    pub root_ca_pem: Option<String>,
    /// The root key, only when generated in this run.
    pub root_key_pem: Option<SecretString>,
    /// The intermediate CA certificate, PEM.
    pub intermediate_cert_pem: Option<String>,
    /// The intermediate key, only when generated (exported) in this run.
    pub intermediate_key_pem: Option<SecretString>,
    /// The CSR Vault generated for the intermediate (what the root signed), PEM, only in the
    /// run that generated it.
    pub intermediate_csr_pem: Option<String>,
    /// The intermediate's chain up to the root, PEM (intermediate first).
    pub ca_chain_pem: Option<String>,
    /// The AppRole role-id.
    pub role_id: Option<String>,
    /// The secret-id: the recorded one when still valid, else the new one (its
    /// [`SecretIdRecord::secret_id`] is then new in this run, see [`SetupReport::secret_id_created`]).
    pub secret_id: Option<SecretIdRecord>,
    /// Whether the secret-id was created in this run.
    pub secret_id_created: bool,
}

impl SetupReport {
    /// Whether any step created or updated something.
    pub fn changed(&self) -> bool {
        self.steps.iter().any(|s| s.outcome != Outcome::Unchanged)
    }

    /// The outcome of a step, if it ran.
    pub fn outcome(&self, step: Step) -> Option<Outcome> {
        self.steps
            .iter()
            .find(|s| s.step == step)
            .map(|s| s.outcome)
    }

    /// One line per step: `root mount  pki  unchanged  (…)`.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        for st in &self.steps {
            let verb = match (self.dry_run, st.outcome) {
                (true, Outcome::Created) => "would create".to_string(),
                (true, Outcome::Updated) => "would update".to_string(),
                (_, o) => o.to_string(),
            };
            s.push_str(&format!(
                "{:<20} {:<40} {:<12} {}\n",
                st.step, st.path, verb, st.detail
            ));
        }
        s
    }
}
