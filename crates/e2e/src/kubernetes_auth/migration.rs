//! The migration from AppRole to Kubernetes auth, after the Issuer is Ready with the new
//! login: the AppRole Secret deleted from the cluster, and the secret-id it held destroyed in
//! Vault and forgotten. The AppRole role stays, so that `--auth approle` can go back.

use certmanager_types::seed;
use k8s_openapi::api::core::v1::Secret;
use kube::api::DeleteParams;
use kube::{Api, Client};
use vault_pki::PkiSetup;

use crate::error::{Cause, Error, Result};
use crate::progress::Progress;
use crate::report::{Outcome, Phase};

/// Deletes the AppRole Secret once the Issuer logs in with Kubernetes auth (the step
/// `AppRole Secret`: deleted, or unchanged when there is none); a plan only says so.
pub async fn remove_approle_secret(
    client: &Client,
    namespace: &str,
    dry_run: bool,
    progress: &Progress<'_>,
) -> Result<()> {
    progress.mark();
    let name = seed::APPROLE_SECRET_NAME;
    let label = format!("Secret {namespace}/{name}");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let fail = |e: kube::Error| {
        progress.step(
            Phase::Cluster,
            "AppRole Secret",
            &label,
            Outcome::Failed,
            "",
        );
        Error::step(
            "cluster: AppRole Secret",
            Cause::kube(format!("deleting {label}"), e),
            "check the kubeconfig user's rights on Secrets, or delete it yourself: the Issuer no longer reads it",
        )
    };
    let exists = secrets.get_opt(name).await.map_err(fail)?.is_some();
    if !exists {
        progress.step(
            Phase::Cluster,
            "AppRole Secret",
            &label,
            Outcome::Unchanged,
            "absent (the Issuer logs in with Kubernetes auth)",
        );
        return Ok(());
    }
    if !dry_run {
        match secrets.delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(fail(e)),
        }
    }
    progress.step(
        Phase::Cluster,
        "AppRole Secret",
        &label,
        Outcome::Deleted,
        "the Issuer is Ready with Kubernetes auth; its secret-id is no longer needed",
    );
    Ok(())
}

/// After the migration from AppRole: destroys the secret-id an earlier AppRole run recorded
/// (the Issuer no longer reads it, and its Secret is gone) and forgets it, as the step
/// `vault: AppRole secret-id`. Returns whether the state changed. The AppRole role stays, so
/// that `--auth approle` can go back (with a new secret-id).
pub async fn retire_secret_id(
    client: &vault_pki::PkiClient,
    setup: &PkiSetup,
    state: &mut crate::state::State,
    progress: &Progress<'_>,
) -> Result<bool> {
    let Some(rec) = state.secret_id.clone() else {
        return Ok(false);
    };
    progress.mark();
    let path = format!(
        "auth/{}/role/{}/secret-id/destroy",
        setup.approle_mount, setup.approle_role
    );
    match client
        .destroy_secret_id(&setup.approle_mount, &setup.approle_role, &rec.secret_id)
        .await
    {
        // A role or mount removed since: the secret-id is gone with it.
        Ok(()) | Err(vault_pki::Error::NotFound { .. }) => {}
        Err(e) => {
            progress.step(
                Phase::Vault,
                "AppRole secret-id",
                &path,
                Outcome::Failed,
                "",
            );
            return Err(Error::step(
                "vault: AppRole secret-id",
                e,
                "the Issuer logs in with Kubernetes auth already; destroy the secret-id yourself (its accessor is in e2e-state.json) or re-run",
            ));
        }
    }
    progress.step(
        Phase::Vault,
        "AppRole secret-id",
        &path,
        Outcome::Deleted,
        &format!(
            "destroyed the recorded secret-id (accessor {}): the Issuer logs in with Kubernetes auth",
            rec.accessor
        ),
    );
    state.secret_id = None;
    state.role_id = None;
    Ok(true)
}
