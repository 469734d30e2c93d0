//! `e2e rotate root`: replace the root without a moment in which a workload cannot verify a
//! peer. Five phases ([`RootPhase`]), each recorded in `rotation.json` when done, so that a
//! rotation killed in any phase resumes at it; `--until` stops after a phase, `--plan` shows
//! what is left. Workloads trust both roots (phase 2) before anything is signed under the new
//! one (phase 3), and the old root leaves the bundle (phase 5) only after every workload
//! certificate has had time to renew under the new one (phase 4).

use std::time::{Duration, Instant};

use vault_pki::SecretString;
use vault_pki::issuer::NewIntermediate;

use super::{Ctx, RotateOutput, RotateStatus, finish};
use crate::config::{RootInput, RunConfig};
use crate::error::{Cause, Error, Result};
use crate::files::{OutDir, Sensitivity};
use crate::observer::Observer;
use crate::progress::Progress;
use crate::report::Outcome;
use crate::rotate::mesh::{rfc3339_utc, wait_bundle_everywhere};
use crate::rotate::record::{RootPhase, RootRotation};
use crate::sink::SecretSink;
use crate::state::State;

/// Istio's default workload certificate lifetime (`SECRET_TTL`, 24h): the default bound of
/// phase 4.
pub const DEFAULT_WORKLOAD_BOUND: Duration = Duration::from_secs(24 * 3600);

/// The options of `e2e rotate root`.
#[derive(Debug, Clone)]
pub struct RootOptions {
    /// The new root and its key (`--new-root-ca-cert`, `--new-root-ca-key`); `None`: one is
    /// generated (rcgen, ECDSA P-256) and written to `ca-next.crt`/`ca-next.key`.
    pub new_root: Option<(String, SecretString)>,
    /// Stop after this phase.
    pub until: Option<RootPhase>,
    /// Show the phases done and left; change nothing.
    pub plan: bool,
    /// How long a workload certificate lives at most: phase 4 ends this long after phase 3
    /// (the value given to the run that does phase 4 counts).
    pub workload_bound: Duration,
    /// In phase 4, wait for the bound to pass instead of pausing.
    pub wait: bool,
}

impl Default for RootOptions {
    fn default() -> Self {
        RootOptions {
            new_root: None,
            until: None,
            plan: false,
            workload_bound: DEFAULT_WORKLOAD_BOUND,
            wait: false,
        }
    }
}

/// Rotates the root of `cfg`'s mounts, or continues the rotation recorded in `--out`.
pub async fn root(cfg: &RunConfig, opts: &RootOptions, observer: &dyn Observer) -> RotateOutput {
    let started = Instant::now();
    let progress = Progress::new(observer);
    let record = match RootRotation::load(&crate::files::OutDir::new(&cfg.out)) {
        Ok(r) => r,
        Err(e) => {
            let err = Error::step(
                "rotate: read rotation.json",
                Cause::File {
                    path: cfg.out.join(OutDir::ROTATION),
                    source: e,
                },
                "the file is written by e2e rotate root; restore it (or remove it only if no rotation is under way)",
            );
            return finish("rotate root", cfg, started, None, Err(err), vec![], None);
        }
    };
    if opts.plan {
        return plan(cfg, record, started, &progress);
    }
    let mut ctx = match Ctx::connect(cfg, &progress, observer).await {
        Ok(c) => c,
        Err(e) => return finish("rotate root", cfg, started, None, Err(e), vec![], None),
    };
    let mut next_at = None;
    let result = rotate(&mut ctx, opts, record, &mut next_at).await;
    let pending = match RootRotation::load(&ctx.out) {
        Ok(Some(r)) => r.left().iter().map(|p| p.name().to_string()).collect(),
        _ => RootPhase::ALL
            .iter()
            .map(|p| p.name().to_string())
            .collect(),
    };
    finish(
        "rotate root",
        cfg,
        started,
        Some(ctx),
        result,
        pending,
        next_at,
    )
}

/// `--plan`: the phases done and left, from `rotation.json`; nothing is read from Vault.
fn plan(
    cfg: &RunConfig,
    record: Option<RootRotation>,
    started: Instant,
    progress: &Progress<'_>,
) -> RotateOutput {
    let record = record.unwrap_or_default();
    for p in RootPhase::ALL {
        let (outcome, word) = if record.is_done(p) {
            (Outcome::Unchanged, "done")
        } else {
            (Outcome::Skipped, "left")
        };
        let took = record.phase_ms.get(p.name()).copied().unwrap_or(0);
        progress.step_timed(
            crate::report::Phase::Rotate,
            p.name(),
            &cfg.out.display().to_string(),
            outcome,
            Duration::from_millis(took),
            &format!("{word}: {}", p.what()),
        );
    }
    let pending: Vec<String> = record.left().iter().map(|p| p.name().to_string()).collect();
    let status = if pending.is_empty() {
        RotateStatus::Done
    } else {
        RotateStatus::Paused
    };
    finish(
        "rotate root --plan",
        cfg,
        started,
        None,
        Ok(status),
        pending,
        None,
    )
}

async fn rotate(
    ctx: &mut Ctx<'_, '_>,
    opts: &RootOptions,
    record: Option<RootRotation>,
    next_at: &mut Option<u64>,
) -> Result<RotateStatus> {
    let mut record = match record {
        Some(r) if r.is_complete() => {
            ctx.phase(
                "root rotation",
                Outcome::Unchanged,
                "the rotation recorded in rotation.json is complete; move that file away to start another",
            );
            return Ok(RotateStatus::Done);
        }
        Some(r) => {
            if let Some((cert, _)) = &opts.new_root
                && !crate::certs::same_cert(cert, &r.new_root_pem)
            {
                return Err(Error::Usage(format!(
                    "--new-root-ca-cert differs from the new root of the rotation under way in {} (phases done: {}): finish that one first",
                    ctx.out.path(OutDir::ROTATION).display(),
                    r.done
                        .iter()
                        .map(|p| p.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            r
        }
        None => RootRotation::default(),
    };
    for phase in record.left() {
        if let Some(until) = opts.until
            && phase > until
        {
            return Ok(RotateStatus::Paused);
        }
        let began = Instant::now();
        let detail = match phase {
            RootPhase::NewRoot => new_root(ctx, opts, &mut record).await?,
            RootPhase::TrustBoth => trust_both(ctx, &record).await?,
            RootPhase::NewIntermediate => new_intermediate(ctx, opts, &mut record).await?,
            RootPhase::WaitWorkloads => match wait_workloads(ctx, opts, &record).await? {
                Ok(d) => d,
                Err(due) => {
                    *next_at = Some(due);
                    ctx.phase(
                        phase.name(),
                        Outcome::Skipped,
                        format!(
                            "waiting: workload certificates issued before the switch may live until {}; run again then (or with --wait)",
                            rfc3339_utc(due)
                        ),
                    );
                    return Ok(RotateStatus::Paused);
                }
            },
            RootPhase::Retire => retire(ctx, &record).await?,
        };
        record.done.push(phase);
        record.phase_ms.insert(
            phase.name().into(),
            u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX),
        );
        record
            .save(&ctx.out)
            .map_err(|e| ctx.file_error("rotate: write rotation.json", OutDir::ROTATION, e))?;
        ctx.phase(phase.name(), Outcome::Updated, detail);
    }
    Ok(RotateStatus::Done)
}

fn vault_error(phase: RootPhase) -> impl Fn(vault_pki::Error) -> Error {
    move |e| {
        Error::step(
            format!("rotate root: {phase}"),
            e,
            "check the token's rights on the root and intermediate mounts; then run the same command again: the rotation resumes at this phase",
        )
    }
}

/// Phase 1: R2 on disk first, then in the root mount beside R1.
async fn new_root(
    ctx: &mut Ctx<'_, '_>,
    opts: &RootOptions,
    record: &mut RootRotation,
) -> Result<String> {
    let phase = RootPhase::NewRoot;
    let setup = &ctx.cfg.setup;
    let c = &ctx.conn.client;
    let r1 = c
        .read_issuer(&setup.root_mount, "default")
        .await
        .map_err(vault_error(phase))?
        .ok_or_else(|| {
            Error::Usage(format!(
                "{} has no root to rotate: run `e2e run` first",
                setup.root_mount
            ))
        })?;
    let read = |name: &str| {
        ctx.out
            .read(name)
            .map_err(|e| ctx.file_error("rotate: read the new root", name, e))
    };
    let (cert, key, generated) = match &opts.new_root {
        Some((cert, key)) => {
            crate::preflight::check_root(
                cert.as_bytes(),
                "--new-root-ca-cert",
                key.expose_secret(),
                "--new-root-ca-key",
                setup.intermediate_ttl,
                std::time::SystemTime::now(),
            )
            .map_err(|e| {
                Error::step(
                    "rotate root: new-root",
                    Cause::build("the new root", e),
                    "give a valid, self-signed root CA and its own key",
                )
            })?;
            if crate::certs::same_cert(cert, &r1.certificate) {
                return Err(Error::Usage(
                    "--new-root-ca-cert is the current root".into(),
                ));
            }
            (cert.clone(), key.clone(), false)
        }
        None => match (read(OutDir::NEXT_CA_CRT)?, read(OutDir::NEXT_CA_KEY)?) {
            // A rotation killed in this phase, after writing the new root: the same one.
            (Some(cert), Some(key)) => (cert, SecretString::new(key), true),
            _ => {
                let (cn, ttl) = match &setup.root_ca {
                    vault_pki::RootCa::Generate { common_name, ttl } => (common_name.clone(), *ttl),
                    _ => (
                        "Mesh Root CA".to_string(),
                        Duration::from_secs(87600 * 3600),
                    ),
                };
                let name = format!("{cn} {}", &rfc3339_utc(crate::preflight::unix_now())[..10]);
                let g = vault_pki::generate_root_ca(&name, ttl).map_err(vault_error(phase))?;
                ctx.out
                    .write(
                        OutDir::NEXT_CA_KEY,
                        g.key_pem.expose_secret().as_bytes(),
                        Sensitivity::Secret,
                    )
                    .map_err(|e| {
                        ctx.file_error("rotate: write ca-next.key", OutDir::NEXT_CA_KEY, e)
                    })?;
                (g.cert_pem, g.key_pem, true)
            }
        },
    };
    ctx.out
        .write(OutDir::NEXT_CA_CRT, cert.as_bytes(), Sensitivity::Public)
        .map_err(|e| ctx.file_error("rotate: write ca-next.crt", OutDir::NEXT_CA_CRT, e))?;
    let bundle = vault_pki::CaBundlePem {
        cert_pem: cert.clone(),
        key_pem: key,
    };
    c.import_issuers(&setup.root_mount, &bundle)
        .await
        .map_err(vault_error(phase))?;
    let r2 = c
        .find_issuer(&setup.root_mount, &cert)
        .await
        .map_err(vault_error(phase))?
        .ok_or_else(|| {
            vault_error(phase)(vault_pki::Error::NotFound {
                path: format!("{}/issuers", setup.root_mount),
                errors: vec!["the imported root is not among the issuers".into()],
            })
        })?;
    let old_ints = c
        .list_issuers(&setup.intermediate_mount)
        .await
        .map_err(vault_error(phase))?
        .keys;
    *record = RootRotation {
        done: Vec::new(),
        old_root_pem: r1.certificate.clone(),
        old_root_issuer: r1.issuer_id.clone(),
        new_root_pem: crate::certs::split_bundle(&cert).concat(),
        new_root_issuer: Some(r2.issuer_id.clone()),
        new_root_generated: generated,
        old_intermediate_issuers: old_ints,
        switched_at: None,
        workload_bound_secs: opts.workload_bound.as_secs(),
        phase_ms: Default::default(),
    };
    Ok(format!(
        "R2 issuer {} beside R1 issuer {} in {} (R1 stays the default)",
        r2.issuer_id, r1.issuer_id, setup.root_mount
    ))
}

/// Phase 2: the bundle R1+R2 everywhere a workload reads trust.
async fn trust_both(ctx: &mut Ctx<'_, '_>, record: &RootRotation) -> Result<String> {
    let bundle =
        crate::certs::join_bundle([record.old_root_pem.as_str(), record.new_root_pem.as_str()]);
    ctx.out
        .write(OutDir::TRUST_BUNDLE, bundle.as_bytes(), Sensitivity::Public)
        .map_err(|e| ctx.file_error("rotate: write trust-bundle.pem", OutDir::TRUST_BUNDLE, e))?;
    ctx.run(ctx.cfg).await?;
    match ctx.kube.clone() {
        Some(kube) => {
            let n = wait_bundle_everywhere(
                &kube,
                &[&record.old_root_pem, &record.new_root_pem],
                &[],
                ctx.wait_bound(),
                ctx.progress,
            )
            .await?;
            Ok(format!("istio-root-ca holds R1+R2; istio-ca-root-cert holds both in all {n} namespaces"))
        }
        None => Ok("trust-bundle.pem and istio-root-ca.yaml hold R1+R2 (no cluster: apply istio-root-ca.yaml)".into()),
    }
}

/// The run's configuration once R2 signs: the root is the output folder's (or Vault's).
fn after_switch(cfg: &RunConfig) -> RunConfig {
    let mut c = cfg.clone();
    c.root = RootInput::Default;
    c.replace_root = false;
    c
}

/// Phase 3: R2 the root, a new intermediate under it, istiod's certificate re-issued.
async fn new_intermediate(
    ctx: &mut Ctx<'_, '_>,
    opts: &RootOptions,
    record: &mut RootRotation,
) -> Result<String> {
    let phase = RootPhase::NewIntermediate;
    let setup = ctx.cfg.setup.clone();
    let r2_issuer = record.new_root_issuer.clone().unwrap_or_default();
    // The files first: ca.crt (and ca.key, when this tool keeps the root's key) become R2's,
    // so that any run from now on keeps R2.
    if ctx.out.path(OutDir::CA_KEY).exists() {
        let key = if record.new_root_generated {
            ctx.out
                .read(OutDir::NEXT_CA_KEY)
                .map_err(|e| ctx.file_error("rotate: read ca-next.key", OutDir::NEXT_CA_KEY, e))?
                .map(SecretString::new)
        } else {
            opts.new_root.as_ref().map(|(_, k)| k.clone())
        };
        let key = key.ok_or_else(|| {
            Error::Usage(
                "the new root's key is needed to keep ca.key: pass --new-root-ca-cert and --new-root-ca-key again".into(),
            )
        })?;
        ctx.out
            .write(
                OutDir::CA_KEY,
                key.expose_secret().as_bytes(),
                Sensitivity::Secret,
            )
            .map_err(|e| ctx.file_error("rotate: write ca.key", OutDir::CA_KEY, e))?;
    }
    ctx.out
        .write(
            OutDir::CA_CRT,
            record.new_root_pem.as_bytes(),
            Sensitivity::Public,
        )
        .map_err(|e| ctx.file_error("rotate: write ca.crt", OutDir::CA_CRT, e))?;

    let lock = crate::vault::lock(
        &ctx.conn,
        &setup,
        &ctx.out,
        false,
        ctx.cfg.lock_wait,
        ctx.progress,
    )
    .await?;
    let result: Result<(String, String)> = async {
        let c = &ctx.conn.client;
        c.set_default_issuer(&setup.root_mount, &r2_issuer)
            .await
            .map_err(vault_error(phase))?;
        // Resumed after the install: the default already chains to R2.
        if let Some(cur) = c
            .read_issuer(&setup.intermediate_mount, "default")
            .await
            .map_err(vault_error(phase))?
            && vault_pki::chains_to(&cur.certificate, &record.new_root_pem).unwrap_or(false)
        {
            return Ok((cur.issuer_id, cur.certificate));
        }
        let state = State::load(&ctx.out)
            .map_err(|e| ctx.file_error("rotate: read state", OutDir::STATE, e))?;
        let sink = SecretSink::new(ctx.progress, Some(&ctx.out), &state);
        let new = NewIntermediate {
            mount: &setup.intermediate_mount,
            root_mount: &setup.root_mount,
            root_issuer_ref: &r2_issuer,
            common_name: &setup.intermediate_common_name,
            ttl: setup.intermediate_ttl,
            key: setup.intermediate_key,
        };
        let i = c
            .install_intermediate(&new, &mut |s| vault_pki::SetupObserver::on_secret(&sink, s))
            .await
            .map_err(vault_error(phase))?;
        Ok((i.issuer_id, i.certificate_pem))
    }
    .await;
    crate::vault::unlock(&ctx.conn, lock, ctx.progress).await;
    let (issuer_id, int_pem) = result?;
    record.switched_at = Some(crate::preflight::unix_now());
    record.workload_bound_secs = opts.workload_bound.as_secs();
    record
        .save(&ctx.out)
        .map_err(|e| ctx.file_error("rotate: write rotation.json", OutDir::ROTATION, e))?;
    let cfg = after_switch(ctx.cfg);
    ctx.run(&cfg).await?;
    let mut detail = format!(
        "intermediate issuer {issuer_id} signed by R2 is the default; R2 is the root mount's default"
    );
    if let Some(kube) = ctx.kube.clone() {
        let bound = ctx.wait_bound();
        crate::rotate::mesh::reissue_istiod(
            &kube,
            &ctx.cfg.namespace,
            &int_pem,
            false,
            bound,
            ctx.progress,
        )
        .await?;
        detail.push_str("; istiod's certificate re-issued under it");
        if crate::rotate::mesh::restart_istio_csr(&kube).await? {
            detail.push_str(
                "; istio-csr restarted (its serving certificate from the new intermediate)",
            );
        }
    }
    Ok(detail)
}

/// Phase 4: `Ok(Ok(detail))` when the bound since the switch has passed, `Ok(Err(due))` when
/// not yet (and not `--wait`).
async fn wait_workloads(
    ctx: &mut Ctx<'_, '_>,
    opts: &RootOptions,
    record: &RootRotation,
) -> Result<std::result::Result<String, u64>> {
    let switched = record.switched_at.unwrap_or(0);
    let due = switched.saturating_add(opts.workload_bound.as_secs());
    let now = crate::preflight::unix_now();
    if now < due {
        if !opts.wait {
            return Ok(Err(due));
        }
        ctx.progress.waiting(&format!(
            "waiting until {} for workload certificates issued under R1 to be renewed",
            rfc3339_utc(due)
        ));
        tokio::time::sleep(Duration::from_secs(due - now)).await;
        ctx.progress.waited();
    }
    Ok(Ok(format!(
        "{}s since the switch: every workload certificate issued before it has expired or renewed under R2",
        crate::preflight::unix_now().saturating_sub(switched)
    )))
}

/// Phase 5: the bundle R2 only, then R1 and the intermediates it signed removed from Vault.
async fn retire(ctx: &mut Ctx<'_, '_>, record: &RootRotation) -> Result<String> {
    let phase = RootPhase::Retire;
    match std::fs::remove_file(ctx.out.path(OutDir::TRUST_BUNDLE)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(ctx.file_error("rotate: remove trust-bundle.pem", OutDir::TRUST_BUNDLE, e));
        }
    }
    let cfg = after_switch(ctx.cfg);
    ctx.run(&cfg).await?;
    let mut detail = String::from("istio-root-ca holds R2 only");
    if let Some(kube) = ctx.kube.clone() {
        let n = wait_bundle_everywhere(
            &kube,
            &[&record.new_root_pem],
            &[&record.old_root_pem],
            ctx.wait_bound(),
            ctx.progress,
        )
        .await?;
        detail.push_str(&format!(", and istio-ca-root-cert in all {n} namespaces"));
    }
    let setup = &ctx.cfg.setup;
    let c = &ctx.conn.client;
    for id in &record.old_intermediate_issuers {
        c.delete_issuer(&setup.intermediate_mount, id)
            .await
            .map_err(vault_error(phase))?;
    }
    c.delete_issuer(&setup.root_mount, &record.old_root_issuer)
        .await
        .map_err(vault_error(phase))?;
    for name in [OutDir::NEXT_CA_CRT, OutDir::NEXT_CA_KEY] {
        match std::fs::remove_file(ctx.out.path(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ctx.file_error("rotate: remove the new root's files", name, e)),
        }
    }
    detail.push_str(&format!(
        "; removed R1 (issuer {}) and the {} issuer(s) the intermediate mount had before the rotation (R1-signed intermediates, R1)",
        record.old_root_issuer,
        record.old_intermediate_issuers.len()
    ));
    Ok(detail)
}
