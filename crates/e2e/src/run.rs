//! `e2e run` and `e2e plan` as a composition of phases with typed hand-offs: Vault
//! ([`crate::vault`]) -> `SetupReport`; files ([`crate::outputs`]) -> the manifests;
//! cluster ([`crate::cluster`]) -> `ClusterReport`; verification ([`crate::verify`],
//! [`crate::mesh_ca`]) -> checks. The report is assembled from what they return.
//!
//! Long because the order of the phases, and what each hands the next, is read here in one
//! place; each phase's work is in its own module.

use std::time::Instant;

use kube::Client;
use vault_pki::SecretString;

use crate::cluster::{self, ClusterInput};
use crate::config::{Auth, ClusterTarget, RunConfig, VaultSpec};
use crate::error::{Cause, Error, Result};
use crate::files::{OutDir, Sensitivity};
use crate::observer::Observer;
use crate::outputs::{Files, Writer};
use crate::progress::Progress;
use crate::report::{Check, ErrorRecord, Report, Status, VaultInfo};
use crate::sink::SecretSink;
use crate::state::State;
use crate::vault;
use crate::verify::{self, VaultLogin, VerifyInput};

/// What a run produced: its report (also on failure, with `status: failed`) and its error.
#[derive(Debug)]
#[non_exhaustive]
pub struct RunOutput {
    /// The report, as written to `<out>/report.json` (a plan writes none).
    pub report: Report,
    /// Why the run failed, if it did.
    pub error: Option<Error>,
}

impl RunOutput {
    /// The report, or the error.
    pub fn into_result(self) -> Result<Report> {
        match self.error {
            None => Ok(self.report),
            Some(e) => Err(e),
        }
    }
}

/// Runs the flow `cfg` describes, telling `observer` each step as it ends.
///
/// `run` writes `<out>/report.json`, also when it fails; `plan` (`cfg.dry_run`) writes nothing
/// anywhere.
pub async fn run(cfg: &RunConfig, observer: &dyn Observer) -> RunOutput {
    run_with_csr(cfg, observer, None).await
}

/// A workload CSR being made elsewhere, awaited by every run that shares it (`None`: it could
/// not be made).
pub type SharedCsr = futures::future::Shared<futures::future::BoxFuture<'static, Option<String>>>;

/// Starts making the workload CSR for `trust_domain` ([`verify::workload_csr`], an RSA 2048
/// key: the costliest thing a run computes) on a blocking thread, for runs to share.
pub fn shared_csr(trust_domain: &str) -> SharedCsr {
    use futures::FutureExt;
    let identity = verify::workload_identity(trust_domain);
    let task = tokio::task::spawn_blocking(move || verify::workload_csr(&identity));
    async move { task.await.ok().and_then(Result::ok) }
        .boxed()
        .shared()
}

/// [`run`], verifying with `csr` (the workload CSR for the run's trust domain, see
/// [`shared_csr`]) instead of making one: a fleet makes it once for all its clusters.
pub async fn run_with_csr(
    cfg: &RunConfig,
    observer: &dyn Observer,
    csr: Option<SharedCsr>,
) -> RunOutput {
    let started = Instant::now();
    let progress = Progress::new(observer);
    let out = OutDir::new(&cfg.out);
    let mut found = Found::default();
    let result = flow(cfg, &out, &progress, &mut found, csr).await;
    let (steps, notes) = progress.take();
    let mut error = result.err();
    let report = Report {
        command: if cfg.dry_run { "plan" } else { "run" }.into(),
        status: if error.is_none() {
            Status::Done
        } else {
            Status::Failed
        },
        dry_run: cfg.dry_run,
        vault: found.vault.unwrap_or_else(|| configured_vault(&cfg.vault)),
        out: cfg.out.display().to_string(),
        trust_domain: cfg.trust_domain.clone(),
        cluster: cfg.cluster.is_some(),
        auth: cfg.auth.name().into(),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        steps,
        verification: found.checks,
        notes,
        error: error.as_ref().map(|e| ErrorRecord {
            step: e.step_name().map(str::to_string),
            message: e.to_string(),
        }),
    };
    if !cfg.dry_run
        && let Err(e) = out.write(
            OutDir::REPORT,
            report.to_json().as_bytes(),
            Sensitivity::Public,
        )
    {
        error.get_or_insert(Error::step(
            "write report.json",
            Cause::File {
                path: out.path(OutDir::REPORT),
                source: e,
            },
            "check that the output folder is writable",
        ));
    }
    RunOutput { report, error }
}

/// What the phases found for the report.
#[derive(Debug, Default)]
struct Found {
    vault: Option<VaultInfo>,
    checks: Vec<Check>,
}

fn configured_vault(spec: &VaultSpec) -> VaultInfo {
    match spec {
        VaultSpec::DevServer => VaultInfo {
            address: String::new(),
            dev_server: true,
            namespace: None,
        },
        VaultSpec::Server { config, .. } => VaultInfo {
            address: config.address.clone(),
            dev_server: false,
            namespace: config.namespace.clone(),
        },
    }
}

async fn flow(
    cfg: &RunConfig,
    out: &OutDir,
    progress: &Progress<'_>,
    found: &mut Found,
    given_csr: Option<SharedCsr>,
) -> Result<()> {
    // The workload CSR's RSA key takes a while to generate (100 ms to over 500 ms): it is made
    // first, on its own thread, while everything up to the verification runs.
    let identity = verify::workload_identity(&cfg.trust_domain);
    let csr_task = match given_csr {
        Some(_) => None,
        None => (!cfg.dry_run)
            .then(|| tokio::task::spawn_blocking(move || verify::workload_csr(&identity))),
    };
    let _lock = crate::preflight::before_vault(cfg, out)?;
    let state = State::load(out).map_err(|e| {
        Error::step(
            "read state",
            Cause::File {
                path: out.path(OutDir::STATE),
                source: e,
            },
            "the file is written by e2e run; remove it to start over (a new secret-id is then made)",
        )
    })?;
    let root = vault::root_source(&cfg.root, out)?;
    // One client for the whole run (no request is sent yet).
    let kube = crate::kube::connect(cfg).await?;
    let istio_operator = cluster::istio_operator(cfg, kube.as_ref(), progress).await;
    let conn = vault::connect(&cfg.vault, progress)?;
    found.vault = Some(conn.info.clone());
    if let Auth::Kubernetes(k) = &cfg.auth {
        progress.note(&format!(
            "auth: kubernetes (Vault mount {}, role {}): cert-manager logs in with a bound token of {}/{}; no AppRole",
            k.mount,
            k.role,
            cfg.namespace,
            certmanager_types::seed::ISSUER_SERVICE_ACCOUNT
        ));
    }

    // Seed steps 1 to 5 under the lock on the mounts (not for a plan, which writes nothing):
    // a concurrent run waits here.
    let mut writer = Writer::new(out, cfg.dry_run, progress);
    let vault_lock =
        vault::lock(&conn, &cfg.setup, out, cfg.dry_run, cfg.lock_wait, progress).await?;
    let (setup, own_root_key) = match crate::root::choose_root(
        cfg,
        &conn,
        root,
        &mut writer,
        &state,
        out,
        progress,
    )
    .await
    {
        Ok(c) => c,
        Err(e) => {
            vault::unlock(&conn, vault_lock, progress).await;
            return Err(e);
        }
    };
    progress.mark();
    let sink = SecretSink::new(progress, (!cfg.dry_run).then_some(out), &state);
    let result = vault::setup(&conn.client, &setup, cfg.dry_run, &sink).await;
    vault::unlock(&conn, vault_lock, progress).await;
    writer.already_written(&sink.written());
    let vr = match result {
        Ok(r) => r,
        Err(e) => {
            // Secrets Vault made before the failure (the exported intermediate key, a new
            // secret-id) are never returned again: write them now.
            if let Some(partial) = e.partial_report() {
                let mut state = state.clone();
                if partial.role_id.is_some() {
                    state.role_id = partial.role_id.clone();
                }
                if partial.secret_id.is_some() {
                    state.secret_id = partial.secret_id.clone();
                }
                let files = Files::new(cfg, &conn, istio_operator.as_ref(), own_root_key.as_ref());
                files.write(&mut writer, partial, &state)?;
            }
            return Err(vault::setup_error(e, progress));
        }
    };

    // Files: secrets first, so that a failure later loses nothing.
    let mut state = state;
    if cfg.setup.approle {
        state.role_id = vr.role_id.clone();
        state.secret_id = vr.secret_id.clone();
    }
    // With Kubernetes auth an AppRole secret-id recorded earlier stays recorded until the
    // Issuer no longer needs it (see `kubernetes_auth::retire_secret_id` below).
    let files = Files::new(cfg, &conn, istio_operator.as_ref(), own_root_key.as_ref());
    let manifests = files.write(&mut writer, &vr, &state)?;
    if !cfg.dry_run {
        check_intermediate_key(out, &vr, &setup.intermediate_mount, progress)?;
    }

    let (Some(root_pem), Some(int_pem)) =
        (vr.root_ca_pem.clone(), vr.intermediate_cert_pem.clone())
    else {
        // Only in a plan against a fresh Vault: nothing to verify yet.
        progress.note("plan: the root and intermediate do not exist yet; no verification");
        // Kubernetes auth's Vault steps are still told (read only).
        if let (Some(target), Some(kube)) = (&cfg.cluster, &kube)
            && let Some(side) = vault_side(cfg, target, &conn, &setup, &state)
        {
            side.ensure(kube, true, progress).await?;
        }
        return Ok(());
    };
    if cfg.dry_run {
        if let (Some(target), Some(kube)) = (&cfg.cluster, &kube) {
            let side = vault_side(cfg, target, &conn, &setup, &state);
            let input = cluster_input(cfg, target, kube, out, side);
            let checks = cluster::plan(&files, &input, &vr, &root_pem, progress).await?;
            found.checks.extend(checks);
        }
        return Ok(());
    }
    let role_id = vr.role_id.clone().unwrap_or_default();
    let secret_id = vr
        .secret_id
        .as_ref()
        .map(|r| r.secret_id.clone())
        .unwrap_or_else(|| SecretString::new(""));

    if let (Some(target), Some(kube)) = (&cfg.cluster, &kube) {
        let Some(m) = &manifests else {
            return Err(Error::step(
                "build manifests",
                Cause::build("the manifests", NoCredentials),
                "re-run",
            ));
        };
        let side = vault_side(cfg, target, &conn, &setup, &state);
        let input = cluster_input(cfg, target, kube, out, side);
        let report = cluster::converge(&input, m, progress).await?;
        found.checks.extend(report.checks);
        // A new reviewer token's expiry, and the AppRole secret-id retired once the Issuer
        // logs in with Kubernetes auth: one write of the state.
        let renewed = report.reviewer.is_some();
        if let Some(r) = report.reviewer {
            state.reviewer = Some(r);
        }
        let retired = !cfg.setup.approle
            && crate::kubernetes_auth::retire_secret_id(&conn.client, &setup, &mut state, progress)
                .await?;
        if renewed || retired {
            writer.state_again(&state)?;
        }
    }

    // Seed step 9.
    progress.mark();
    let login = match (&cfg.auth, &kube) {
        (Auth::Kubernetes(k), Some(kube)) => {
            let server = cfg.issuer_vault_server.as_deref();
            let server = server.unwrap_or(&conn.info.address);
            crate::kubernetes_auth::verify_login(kube, &cfg.namespace, k, server).await?
        }
        _ => VaultLogin::AppRole {
            mount: setup.approle_mount.clone(),
            role_id,
            secret_id,
        },
    };
    let input = VerifyInput {
        vault_addr: conn.info.address.clone(),
        namespace: conn.info.namespace.clone(),
        vault_ca_pem: conn.ca_pem.clone(),
        login,
        root_mount: setup.root_mount.clone(),
        intermediate_mount: setup.intermediate_mount.clone(),
        role: setup.role.name.clone(),
        trust_domain: cfg.trust_domain.clone(),
        root_pem,
        intermediate_pem: int_pem,
    };
    let started = Instant::now();
    let csr = match (given_csr, csr_task) {
        (Some(shared), _) => shared
            .await
            .ok_or_else(|| Cause::build("making the workload CSR", CsrNotMade)),
        (None, Some(task)) => task
            .await
            .map_err(|e| Cause::build("making the workload CSR", e))
            .and_then(|r| r.map_err(|e| Cause::build("making the workload CSR", e))),
        (None, None) => Err(Cause::build("making the workload CSR", NoCredentials)),
    }
    .map_err(|e| Error::step("verify", e, "report this as a bug"))?;
    let checks = verify::verify(&input, &csr).await.map_err(|e| {
        Error::step(
            "verify",
            e,
            "check the AppRole role, its policy and the secret-id (re-run to renew it)",
        )
    })?;
    found.checks.extend(checks);
    if let (
        Some(ClusterTarget {
            istio_ca: Some(ca), ..
        }),
        Some(kube),
    ) = (&cfg.cluster, &kube)
    {
        let checks = crate::mesh_ca::istio_ca_checks(cfg, ca, kube, &input, &csr, progress).await?;
        found.checks.extend(checks);
    }
    for c in &found.checks {
        progress.check("verify", c);
    }
    progress.verified_in(started.elapsed());
    let failed: Vec<String> = found
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    if !failed.is_empty() {
        return Err(Error::step(
            "verify",
            Cause::Checks { failed },
            "a check did not pass: for the workload certificate check the role (allowed_uri_sans), the policy, and that istioca.crt was signed by ca.crt; for `unpruned`, check the CRD versions on the cluster",
        ));
    }
    Ok(())
}

/// Vault kept its intermediate but `--out` has no `istioca.key`: Vault returned the key once,
/// so it cannot be written again. With `istioca.csr` (written with the key by the run that
/// made the intermediate) that is a lost key and an error; without (an intermediate made
/// elsewhere, e.g. by a run into another folder), a note.
fn check_intermediate_key(
    out: &OutDir,
    vr: &vault_pki::SetupReport,
    intermediate_mount: &str,
    progress: &Progress<'_>,
) -> Result<()> {
    let unchanged =
        vr.outcome(vault_pki::Step::Intermediate) == Some(vault_pki::Outcome::Unchanged);
    if !unchanged || out.path(OutDir::ISTIOCA_KEY).exists() {
        return Ok(());
    }
    if !out.path(OutDir::ISTIOCA_CSR).exists() {
        progress.note(&format!(
            "{intermediate_mount} already has an intermediate, made elsewhere: its key is not in --out (istioca.key)"
        ));
        return Ok(());
    }
    Err(Error::step(
        "check istioca.key",
        Cause::File {
            path: out.path(OutDir::ISTIOCA_KEY),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "missing, although {intermediate_mount}'s intermediate is unchanged: Vault returns its exported key only once"
                ),
            ),
        },
        format!(
            "restore istioca.key (and istioca.csr) from a backup, or have a new intermediate made: `bao secrets disable {intermediate_mount}` and re-run"
        ),
    ))
}

/// The shared workload CSR could not be made (its RSA key generation failed).
#[derive(Debug, thiserror::Error)]
#[error("the shared workload CSR could not be made")]
struct CsrNotMade;

/// Vault returned no role-id or secret-id where the manifests need them.
#[derive(Debug, thiserror::Error)]
#[error("Vault returned no role-id or secret-id")]
struct NoCredentials;

/// Vault's side of `--auth kubernetes` for the cluster phase.
fn vault_side<'a>(
    cfg: &'a RunConfig,
    target: &'a ClusterTarget,
    conn: &'a vault::VaultConnection,
    setup: &'a vault_pki::PkiSetup,
    state: &'a State,
) -> Option<crate::kubernetes_auth::VaultSide<'a>> {
    let Auth::Kubernetes(settings) = &cfg.auth else {
        return None;
    };
    Some(crate::kubernetes_auth::VaultSide {
        conn,
        settings,
        setup,
        namespace: &cfg.namespace,
        kubeconfig: &target.kubeconfig,
        context: target.context.as_deref(),
        recorded: state.reviewer.as_ref(),
    })
}

fn cluster_input<'a>(
    cfg: &'a RunConfig,
    target: &'a ClusterTarget,
    kube: &'a Client,
    out: &OutDir,
    kubernetes_auth: Option<crate::kubernetes_auth::VaultSide<'a>>,
) -> ClusterInput<'a> {
    ClusterInput {
        client: kube,
        kubeconfig: &target.kubeconfig,
        context: target.context.as_deref(),
        helm: target.helm.as_deref(),
        istio_csr_chart: &target.istio_csr_chart,
        namespace: &cfg.namespace,
        istio_csr_values: out.path(OutDir::ISTIO_CSR_VALUES),
        wait_timeout: target.wait_timeout,
        dry_run: cfg.dry_run,
        kubernetes_auth,
    }
}
