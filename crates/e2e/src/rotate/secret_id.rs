//! `e2e rotate secret-id`: a new AppRole secret-id for cert-manager, on disk (0600, fsynced)
//! before the next request, in the cluster's Secret (through `e2e run`), then the old one
//! destroyed and shown to no longer log in, and a certificate signed with the new one.

use std::time::Instant;

use super::{Ctx, RotateOutput, RotateStatus, finish};
use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::files::OutDir;
use crate::observer::Observer;
use crate::progress::Progress;
use crate::report::Outcome;
use crate::sink::SecretSink;
use crate::state::State;

/// Replaces the recorded secret-id of `cfg`'s AppRole role (see the module docs).
pub async fn secret_id(cfg: &RunConfig, observer: &dyn Observer) -> RotateOutput {
    let started = Instant::now();
    let progress = Progress::new(observer);
    let mut ctx = match Ctx::connect(cfg, &progress, observer).await {
        Ok(c) => c,
        Err(e) => return finish("rotate secret-id", cfg, started, None, Err(e), vec![], None),
    };
    let result = rotate(&mut ctx).await;
    finish(
        "rotate secret-id",
        cfg,
        started,
        Some(ctx),
        result,
        vec![],
        None,
    )
}

async fn rotate(ctx: &mut Ctx<'_, '_>) -> Result<RotateStatus> {
    if matches!(ctx.cfg.auth, crate::config::Auth::Kubernetes(_)) {
        return Err(Error::Usage(
            "--auth kubernetes: cert-manager logs in with short-lived service-account tokens, there is no secret-id to rotate (the reviewer token is renewed by e2e run)"
                .into(),
        ));
    }
    let setup = ctx.cfg.setup.clone();
    let (mount, role) = (setup.approle_mount.as_str(), setup.approle_role.as_str());
    let step = |e: vault_pki::Error| {
        Error::step(
            "rotate: secret-id",
            e,
            "check the token's rights on the AppRole role; then run the command again",
        )
    };
    let state = State::load(&ctx.out)
        .map_err(|e| ctx.file_error("rotate: read state", OutDir::STATE, e))?;
    let (Some(role_id), Some(old)) = (state.role_id.clone(), state.secret_id.clone()) else {
        return Err(Error::Usage(format!(
            "{} records no secret-id to rotate: run `e2e run` with this --out first",
            ctx.out.path(OutDir::STATE).display()
        )));
    };

    // The new one, recorded before anything else is asked.
    let tag = crate::vault::secret_id_metadata(&ctx.out);
    let new = ctx
        .conn
        .client
        .create_tagged_secret_id(mount, role, &tag)
        .await
        .map_err(step)?;
    let sink = SecretSink::new(ctx.progress, Some(&ctx.out), &state);
    vault_pki::SetupObserver::on_secret(
        &sink,
        &vault_pki::NewSecret::SecretId {
            role_id: Some(&role_id),
            record: &new,
        },
    )
    .map_err(|source| {
        step(vault_pki::Error::SecretNotKept {
            what: "secret-id",
            source,
        })
    })?;
    ctx.phase(
        "new secret-id",
        Outcome::Created,
        format!("accessor {} (recorded in {})", new.accessor, OutDir::STATE),
    );

    // Files and cluster follow: vault-secret.yaml, the Secret, the Issuer Ready; the run's
    // verification logs in with the new one. The old one is spared until it is unused.
    let mut cfg = ctx.cfg.clone();
    cfg.setup.spared_secret_id_accessors = vec![old.accessor.clone()];
    ctx.run(&cfg).await?;

    ctx.conn
        .client
        .destroy_secret_id_accessor(mount, role, &old.accessor)
        .await
        .map_err(step)?;
    let refused = match ctx
        .conn
        .client
        .approle_login(mount, &role_id, &old.secret_id)
        .await
    {
        Ok(_) => false,
        Err(vault_pki::Error::PermissionDenied { .. } | vault_pki::Error::Rejected { .. }) => true,
        Err(e) => return Err(step(e)),
    };
    if !refused {
        return Err(step(vault_pki::Error::UnexpectedResponse {
            path: format!("auth/{mount}/login"),
            reason: format!(
                "the destroyed secret-id (accessor {}) still logs in",
                old.accessor
            ),
        }));
    }
    ctx.phase(
        "old secret-id destroyed",
        Outcome::Updated,
        format!("accessor {}; a login with it is refused", old.accessor),
    );

    // With a cluster: cert-manager signs with the new credentials.
    if let (Some(kube), Some(int)) = (
        ctx.kube.clone(),
        ctx.runs
            .last()
            .and_then(|_| std::fs::read_to_string(ctx.out.path(OutDir::ISTIOCA_CRT)).ok()),
    ) {
        let bound = ctx.wait_bound();
        crate::rotate::mesh::reissue_istiod(
            &kube,
            &ctx.cfg.namespace,
            &int,
            true,
            bound,
            ctx.progress,
        )
        .await?;
        ctx.phase(
            "issuer signs",
            Outcome::Unchanged,
            "istiod's certificate re-issued through the Issuer with the new secret-id",
        );
    }
    Ok(RotateStatus::Done)
}
