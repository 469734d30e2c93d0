//! The Vault phase (seed steps 1 to 5): connect (or start a throwaway OpenBao), choose the
//! root, and bring Vault to the wanted state with `vault-pki`, each step reported as it ends.

use std::time::Duration;

use vault_pki::dev_server::{DevServer, DevServerOptions};
use vault_pki::{PkiClient, PkiSetup, SecretString, SetupReport, StepReport};

use crate::config::{RootInput, VaultSpec};
use crate::error::{Cause, Error, Result};
use crate::files::OutDir;
use crate::progress::Progress;
use crate::report::{Outcome, Phase, VaultInfo};

/// The Vault server a run talks to, and the client for it.
#[derive(Debug)]
pub struct VaultConnection {
    /// The client (root or admin token).
    pub client: PkiClient,
    /// What the report says about the server.
    pub info: VaultInfo,
    /// The PEM CA for its TLS certificate, if given.
    pub ca_pem: Option<String>,
    /// The dev server started for this run, stopped when this is dropped.
    _dev: Option<DevServer>,
}

/// Connects to the configured server, or starts a throwaway OpenBao dev server.
pub fn connect(spec: &VaultSpec, progress: &Progress<'_>) -> Result<VaultConnection> {
    let (config, ca_pem, dev) = match spec {
        VaultSpec::Server { config, ca_pem } => (config.clone(), ca_pem.clone(), None),
        VaultSpec::DevServer => {
            progress.waiting("starting a throwaway OpenBao dev server");
            let dev = DevServer::start(DevServerOptions::default());
            progress.waited();
            let dev = dev.map_err(|e| {
                Error::step(
                    "start OpenBao dev server",
                    e,
                    "run scripts/install-openbao.sh (or set BAO_BIN), or give --vault-addr and --vault-token",
                )
            })?;
            progress.note(&format!(
                "no --vault-addr: started a throwaway OpenBao dev server at {} (stopped at exit)",
                dev.addr()
            ));
            let config =
                vault_pki::VaultConfig::new(dev.addr()).with_token(dev.root_token().clone());
            (config, None, Some(dev))
        }
    };
    let info = VaultInfo {
        address: config.address.clone(),
        dev_server: dev.is_some(),
        namespace: config.namespace.clone(),
    };
    let client = PkiClient::new(config).map_err(|e| {
        Error::step(
            "connect to Vault",
            e,
            "check --vault-addr, --vault-cacert and --vault-namespace",
        )
    })?;
    Ok(VaultConnection {
        client,
        info,
        ca_pem,
        _dev: dev,
    })
}

/// Where this run's root comes from.
#[derive(Debug, Clone)]
pub enum RootSource {
    /// `--root-ca-cert` and `--root-ca-key`.
    Given(String, SecretString),
    /// `ca.crt` and `ca.key` generated into the output folder by an earlier run.
    OutDir(String, SecretString),
    /// Nothing yet: Vault's own, or a new one.
    None,
}

/// The root: the given one, else the one generated earlier into the output folder.
pub fn root_source(input: &RootInput, out: &OutDir) -> Result<RootSource> {
    if let RootInput::Given { cert_pem, key_pem } = input {
        return Ok(RootSource::Given(cert_pem.clone(), key_pem.clone()));
    }
    let read = |n: &str| {
        out.read(n).map_err(|e| {
            Error::step(
                "read the generated root",
                Cause::File {
                    path: out.path(n),
                    source: e,
                },
                "check the output folder's permissions",
            )
        })
    };
    Ok(match (read(OutDir::CA_CRT)?, read(OutDir::CA_KEY)?) {
        (Some(c), Some(k)) => RootSource::OutDir(c, SecretString::new(k)),
        _ => RootSource::None,
    })
}

/// Whether the root mount already has a default issuer (a root to keep).
pub async fn has_root(client: &PkiClient, root_mount: &str) -> bool {
    matches!(client.read_issuer(root_mount, "default").await, Ok(Some(_)))
}

/// Refuses to let a given root replace a different root already in `root_mount`, unless
/// `replace` (`--replace-root`): replacing a working root is a decision, not a side effect.
pub async fn check_root_replacement(
    client: &PkiClient,
    root_mount: &str,
    cert_pem: &str,
    replace: bool,
) -> Result<()> {
    if replace {
        return Ok(());
    }
    // A read error (e.g. no mount yet) is left to the setup's own steps.
    if let Ok(Some(cur)) = client.read_issuer(root_mount, "default").await
        && !vault_pki::intermediate::same_certificate(&cur.certificate, cert_pem)
    {
        return Err(Error::step(
            "vault: root CA",
            Cause::build(
                format!("{root_mount}/issuer/default"),
                RootDiffers {
                    mount: root_mount.to_string(),
                    issuer_id: cur.issuer_id,
                },
            ),
            "give the root Vault has, or pass --replace-root to replace it (a new intermediate is then signed under the new root, and ca.crt, istioca.* and istio-root-ca.yaml are rewritten)",
        ));
    }
    Ok(())
}

/// The root mount already has another root.
#[derive(Debug, thiserror::Error)]
#[error(
    "{mount} already has a different root (issuer {issuer_id}); the given --root-ca-cert would replace it"
)]
struct RootDiffers {
    mount: String,
    issuer_id: String,
}

/// A lock older than this is a dead run's (the Vault phase takes seconds).
const LOCK_STALE: Duration = Duration::from_secs(600);

/// The lock's mount path for `setup`'s root and intermediate mounts.
pub fn lock_path(setup: &PkiSetup) -> String {
    format!(
        "e2e-lock/{}/{}",
        setup.root_mount.trim_matches('/').replace('/', "_"),
        setup.intermediate_mount.trim_matches('/').replace('/', "_")
    )
}

/// This machine's boot id (a process id means something only within one boot).
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Takes the lock on `setup`'s mounts in Vault (see [`vault_pki::lock`]), waiting while
/// another run holds it; `None` for a plan. A lock left by a dead run (same boot, process
/// gone, or older than ten minutes) is taken over.
pub async fn lock(
    conn: &VaultConnection,
    setup: &PkiSetup,
    out: &OutDir,
    dry_run: bool,
    wait: Duration,
    progress: &Progress<'_>,
) -> Result<Option<vault_pki::lock::VaultLock>> {
    if dry_run {
        return Ok(None);
    }
    let boot = boot_id();
    let owner = format!(
        "e2e boot={boot} pid={} out={}",
        std::process::id(),
        out.root().display()
    );
    let is_stale = |h: &vault_pki::lock::LockHolder| {
        let age = crate::preflight::unix_now().saturating_sub(h.since);
        if age > LOCK_STALE.as_secs() {
            return true;
        }
        let mut words = h.owner.split(' ');
        let (Some("e2e"), Some(b), Some(pid)) = (words.next(), words.next(), words.next()) else {
            return false;
        };
        !boot.is_empty()
            && b == format!("boot={boot}")
            && pid
                .strip_prefix("pid=")
                .is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
    };
    let path = lock_path(setup);
    progress.waiting(&format!("taking the lock {path} on the mounts"));
    let lock = conn
        .client
        .acquire_lock(&path, &owner, wait, &is_stale)
        .await;
    progress.waited();
    lock.map(Some).map_err(|e| {
        let hint = match &e {
            vault_pki::Error::Locked { .. } => format!(
                "another e2e run is changing the same mounts ({}, {}): wait for it to end and re-run",
                setup.root_mount, setup.intermediate_mount
            ),
            other => hint_for(other).to_string(),
        };
        Error::step("vault: lock", e, hint)
    })
}

/// Releases the lock; a failure is a note (the next run takes a dead run's lock over).
pub async fn unlock(
    conn: &VaultConnection,
    lock: Option<vault_pki::lock::VaultLock>,
    progress: &Progress<'_>,
) {
    let Some(lock) = lock else { return };
    let path = lock.path().to_string();
    if let Err(e) = conn.client.release_lock(lock).await {
        progress.note(&format!(
            "could not release the lock {path}: {e}; the next run takes it over"
        ));
    }
}

/// A new root with `setup`'s common name and TTL, made here so it can be written to the
/// output folder before Vault sees it; `None` when `setup` imports a root.
pub fn generate_root(setup: &PkiSetup) -> Result<Option<vault_pki::CaBundlePem>> {
    let vault_pki::RootCa::Generate { common_name, ttl } = &setup.root_ca else {
        return Ok(None);
    };
    vault_pki::generate_root_ca(common_name, *ttl)
        .map(Some)
        .map_err(|e| {
            Error::step(
                "generate root CA",
                e,
                "pass --root-ca-cert and --root-ca-key instead",
            )
        })
}

/// Runs `vault-pki`'s setup (or its plan), reporting each step as it ends through `sink`,
/// which also writes each once-only secret as Vault returns it. On failure the
/// error is `vault-pki`'s, whose [`vault_pki::Error::step`] names the step and whose
/// [`partial_report`](vault_pki::Error::partial_report) holds secrets made before it.
pub async fn setup(
    client: &PkiClient,
    setup: &PkiSetup,
    dry_run: bool,
    sink: &crate::sink::SecretSink<'_, '_>,
) -> std::result::Result<SetupReport, vault_pki::Error> {
    if dry_run {
        client.plan_with(setup, sink).await
    } else {
        client.ensure_with(setup, sink).await
    }
}

/// [`setup`] of only the steps setups on one server share (the root mount, the root CA, the
/// AppRole auth mount): a fleet's first phase.
pub async fn setup_shared(
    client: &PkiClient,
    setup: &PkiSetup,
    dry_run: bool,
    progress: &Progress<'_>,
) -> std::result::Result<SetupReport, vault_pki::Error> {
    let observe = |s: &StepReport| show_step(progress, s);
    if dry_run {
        client.plan_shared_with(setup, &observe).await
    } else {
        client.ensure_shared_with(setup, &observe).await
    }
}

/// One Vault step as a progress line.
pub fn show_step(progress: &Progress<'_>, s: &StepReport) {
    progress.step_timed(
        Phase::Vault,
        &s.step.to_string(),
        &s.path,
        outcome(s.outcome),
        Duration::from_millis(s.duration_ms),
        &s.detail,
    );
}

/// The run's error for a failed setup: the step `vault-pki` names, and what to do.
pub fn setup_error(e: vault_pki::Error, progress: &Progress<'_>) -> Error {
    let step = e
        .step()
        .map(|s| s.to_string())
        .unwrap_or_else(|| "vault setup".into());
    let hint = hint_for(e.cause());
    progress.step(Phase::Vault, &step, "", Outcome::Failed, "");
    Error::step(format!("vault: {step}"), e, hint)
}

/// What to do about a Vault error.
fn hint_for(cause: &vault_pki::Error) -> &'static str {
    match cause {
        vault_pki::Error::PermissionDenied { .. } => {
            "use a token allowed to manage mounts, auth methods and policies (e.g. root), via --vault-token or VAULT_TOKEN"
        }
        vault_pki::Error::Unreachable { .. } | vault_pki::Error::Timeout { .. } => {
            "check --vault-addr / VAULT_ADDR, that the server runs, and --vault-cacert"
        }
        _ => "fix the cause above and re-run: completed steps are kept and reported unchanged",
    }
}

fn outcome(o: vault_pki::Outcome) -> Outcome {
    match o {
        vault_pki::Outcome::Created => Outcome::Created,
        vault_pki::Outcome::Updated => Outcome::Updated,
        _ => Outcome::Unchanged,
    }
}

/// The metadata of the secret-ids this run makes: the tool and the output folder, so that a
/// re-run into the same folder finds (and destroys) those a killed run never recorded, and
/// leaves other folders' alone.
pub fn secret_id_metadata(out: &OutDir) -> std::collections::BTreeMap<String, String> {
    let folder = std::fs::canonicalize(out.root()).unwrap_or_else(|_| out.root().to_path_buf());
    [
        ("created_by".to_string(), "e2e".to_string()),
        ("out".to_string(), folder.display().to_string()),
    ]
    .into_iter()
    .collect()
}
