//! `e2e rotate intermediate`: a new intermediate in the same mount, signed by the current
//! root and made the default issuer; the old one stays, so certificates it signed keep
//! verifying, until `--retire-old` finds nothing valid chaining to it.

use std::time::{Duration, Instant};

use vault_pki::issuer::NewIntermediate;

use super::{Ctx, RotateOutput, RotateStatus, finish};
use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::files::{OutDir, Sensitivity};
use crate::observer::Observer;
use crate::progress::Progress;
use crate::report::Outcome;
use crate::sink::SecretSink;
use crate::state::State;

/// The options of `e2e rotate intermediate`.
#[derive(Debug, Clone, Default)]
pub struct IntermediateOptions {
    /// Rotate only when the intermediate expires within this window (for cron use).
    pub if_expiring_within: Option<Duration>,
    /// Remove the mount's other issuers that nothing valid chains to any more.
    pub retire_old: bool,
}

/// Rotates the intermediate of `cfg`'s mounts (see the module docs).
pub async fn intermediate(
    cfg: &RunConfig,
    opts: &IntermediateOptions,
    observer: &dyn Observer,
) -> RotateOutput {
    let started = Instant::now();
    let progress = Progress::new(observer);
    let mut ctx = match Ctx::connect(cfg, &progress, observer).await {
        Ok(c) => c,
        Err(e) => {
            return finish(
                "rotate intermediate",
                cfg,
                started,
                None,
                Err(e),
                vec![],
                None,
            );
        }
    };
    let result = rotate(&mut ctx, opts).await;
    finish(
        "rotate intermediate",
        cfg,
        started,
        Some(ctx),
        result,
        vec![],
        None,
    )
}

async fn rotate(ctx: &mut Ctx<'_, '_>, opts: &IntermediateOptions) -> Result<RotateStatus> {
    let cfg = ctx.cfg;
    // A root rotation under way replaces the intermediate itself (phase 3) and removes the
    // ones from before it (phase 5): one rotation at a time.
    if let Ok(Some(rec)) = crate::rotate::RootRotation::load(&ctx.out)
        && !rec.is_complete()
    {
        return Err(Error::Usage(format!(
            "a root rotation is under way in {} (left: {}): finish it with e2e rotate root first",
            ctx.out.path(OutDir::ROTATION).display(),
            rec.left()
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let setup = &cfg.setup;
    let vault_step = |e: vault_pki::Error| {
        Error::step(
            "rotate: intermediate",
            e,
            "check the token's rights on the root and intermediate mounts",
        )
    };
    let current = ctx
        .conn
        .client
        .read_issuer(&setup.intermediate_mount, "default")
        .await
        .map_err(vault_step)?
        .ok_or_else(|| {
            Error::Usage(format!(
                "{} has no intermediate to rotate: run `e2e run` first",
                setup.intermediate_mount
            ))
        })?;
    if let Some(window) = opts.if_expiring_within {
        let left = crate::doctor::cert_facts::CertFacts::of(&current.certificate)
            .map(|f| f.seconds_left(crate::doctor::cert_facts::unix_now()))
            .unwrap_or(0);
        if left > i64::try_from(window.as_secs()).unwrap_or(i64::MAX) {
            ctx.phase(
                "new intermediate",
                Outcome::Skipped,
                format!(
                    "not needed: issuer {} expires in {}h, beyond --if-expiring-within {}h",
                    current.issuer_id,
                    left / 3600,
                    window.as_secs() / 3600
                ),
            );
            if opts.retire_old {
                retire_old(ctx).await?;
            }
            return Ok(RotateStatus::NotNeeded);
        }
    }

    // The new intermediate, under the lock on the mounts; its exported key is on disk
    // (0600, fsynced) before the next request.
    let state = State::load(&ctx.out)
        .map_err(|e| ctx.file_error("rotate: read state", OutDir::STATE, e))?;
    let lock = crate::vault::lock(
        &ctx.conn,
        setup,
        &ctx.out,
        false,
        cfg.lock_wait,
        ctx.progress,
    )
    .await?;
    let sink = SecretSink::new(ctx.progress, Some(&ctx.out), &state);
    let new = NewIntermediate {
        mount: &setup.intermediate_mount,
        root_mount: &setup.root_mount,
        root_issuer_ref: "default",
        common_name: &setup.intermediate_common_name,
        ttl: setup.intermediate_ttl,
        key: setup.intermediate_key,
    };
    let installed = ctx
        .conn
        .client
        .install_intermediate(&new, &mut |s| vault_pki::SetupObserver::on_secret(&sink, s))
        .await;
    crate::vault::unlock(&ctx.conn, lock, ctx.progress).await;
    let installed = installed.map_err(vault_step)?;
    if setup.intermediate_key == vault_pki::KeyExport::Internal {
        // No key to keep: the CSR is still the record of what was signed.
        ctx.out
            .write(
                OutDir::ISTIOCA_CSR,
                installed.csr_pem.as_bytes(),
                Sensitivity::Public,
            )
            .map_err(|e| ctx.file_error("rotate: write istioca.csr", OutDir::ISTIOCA_CSR, e))?;
    }
    ctx.phase(
        "new intermediate",
        Outcome::Updated,
        format!(
            "issuer {} signed by the root, default now; issuer {} stays for verification",
            installed.issuer_id, current.issuer_id
        ),
    );

    // The files and the cluster follow (istioca.crt, the chain); then istiod's certificate.
    ctx.run(cfg).await?;
    if let Some(kube) = ctx.kube.clone() {
        let bound = ctx.wait_bound();
        crate::rotate::mesh::reissue_istiod(
            &kube,
            &cfg.namespace,
            &installed.certificate_pem,
            false,
            bound,
            ctx.progress,
        )
        .await?;
        ctx.phase(
            "istiod certificate",
            Outcome::Updated,
            "re-issued by the new intermediate",
        );
    }
    if opts.retire_old {
        retire_old(ctx).await?;
    }
    Ok(RotateStatus::Done)
}

/// Removes the intermediate mount's non-default issuers that no stored, unexpired, unrevoked
/// certificate chains to, except those in the default issuer's chain; names the others with
/// the date their last certificate expires.
async fn retire_old(ctx: &mut Ctx<'_, '_>) -> Result<()> {
    let mount = ctx.cfg.setup.intermediate_mount.clone();
    let c = &ctx.conn.client;
    let step = |e: vault_pki::Error| {
        Error::step(
            "rotate: retire old intermediates",
            e,
            "check the token's rights on the intermediate mount",
        )
    };
    let role = &ctx.cfg.setup.role.name;
    if c.read_pki_role(&mount, role)
        .await
        .map_err(step)?
        .is_some_and(|r| r.no_store)
    {
        ctx.phase(
            "retire old intermediates",
            Outcome::Skipped,
            format!(
                "{mount}/roles/{role} has no_store=true: Vault keeps no record of what an issuer signed, so none is removed; delete an old issuer yourself once the role's max_ttl has passed since it stopped being the default"
            ),
        );
        return Ok(());
    }
    let list = c.list_issuers(&mount).await.map_err(step)?;
    // The default's own chain (its root, imported beside it) stays: Vault builds ca_chain
    // from the mount's issuers.
    let chain = c
        .read_issuer(&mount, "default")
        .await
        .map_err(step)?
        .map(|d| d.ca_chain)
        .unwrap_or_default();
    let now = crate::preflight::unix_now();
    let mut retired = Vec::new();
    let mut kept = Vec::new();
    for id in &list.keys {
        if list.key_info.get(id).is_some_and(|k| k.is_default) {
            continue;
        }
        let Some(issuer) = c.read_issuer(&mount, id).await.map_err(step)? else {
            continue;
        };
        if chain
            .iter()
            .any(|link| crate::certs::same_cert(link, &issuer.certificate))
        {
            continue;
        }
        let issued = c
            .valid_certificates_issued_by(&mount, &issuer.certificate, now)
            .await
            .map_err(step)?;
        if issued.valid == 0 {
            c.delete_issuer(&mount, id).await.map_err(step)?;
            retired.push(id.clone());
        } else {
            kept.push(format!(
                "{id} ({} valid certificate(s), the last expires {})",
                issued.valid,
                issued
                    .last_not_after
                    .map(crate::rotate::mesh::rfc3339_utc)
                    .unwrap_or_default()
            ));
        }
    }
    let outcome = if retired.is_empty() {
        Outcome::Unchanged
    } else {
        Outcome::Updated
    };
    let mut detail = if retired.is_empty() {
        "no old issuer to remove".to_string()
    } else {
        format!("removed {}", retired.join(", "))
    };
    if !kept.is_empty() {
        detail.push_str(&format!(
            "; kept while certificates chain to them: {}",
            kept.join("; ")
        ));
    }
    ctx.phase("retire old intermediates", outcome, detail);
    Ok(())
}
