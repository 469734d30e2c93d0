//! `e2e doctor`: the whole trust chain checked in one read-only command. It writes nothing to
//! Vault, the cluster or the output folder; its one test signature is made with cert-manager's
//! own AppRole credentials (recorded in the output folder), and says so. With
//! `--auth kubernetes` it logs in as cert-manager does instead ([`kubernetes_checks`]): a
//! TokenRequest token for the Issuer's service account (the API server stores nothing for it)
//! and a Vault login with it, whose token it revokes after the test signature: the only thing
//! doctor asks either server to make.
//!
//! ```no_run
//! # async fn demo() {
//! let cfg = e2e::RunConfig::new("./out");
//! let report = e2e::doctor::doctor(&cfg, std::time::Duration::from_secs(30 * 86_400)).await;
//! print!("{}", report.to_text());
//! std::process::exit(report.exit_code());
//! # }
//! ```

pub mod cert_facts;
pub mod cluster_checks;
pub mod finding;
pub mod kubernetes_checks;
pub mod mesh_checks;
pub mod policy_check;
pub mod rotation_checks;
pub mod vault_checks;

use std::time::Duration;

pub use finding::{DoctorReport, Finding, Gauge, Severity, Summary};

use crate::config::VaultSpec;
use crate::files::OutDir;
use crate::state::State;

/// The default margin before an expiry that makes a warning.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(30 * 86_400);

/// [`doctor`] of every cluster of `fleet`, at most its `concurrency` at once; each finding and
/// gauge names its cluster.
pub async fn doctor_fleet(fleet: &crate::fleet::Fleet, margin: Duration) -> DoctorReport {
    use futures::StreamExt;
    let reports: Vec<(String, DoctorReport)> = futures::stream::iter(&fleet.clusters)
        .map(|c| async move { (c.name.clone(), doctor(&c.config, margin).await) })
        .buffered(fleet.concurrency.max(1))
        .collect()
        .await;
    let mut r = DoctorReport::default();
    for (name, one) in reports {
        r.merge_cluster(&name, one);
    }
    // The fleet's root rotation is recorded in the fleet's folder.
    rotation_checks::record(&OutDir::new(&fleet.out), &mut r);
    r
}

/// Checks Vault (and, with `cfg.cluster`, the cluster) as `cfg` names them; `margin` is how
/// long before an expiry a warning is given.
pub async fn doctor(cfg: &crate::RunConfig, margin: Duration) -> DoctorReport {
    let mut r = DoctorReport::default();
    let VaultSpec::Server { config, .. } = &cfg.vault else {
        r.push(Finding::error(
            "vault.reachable",
            "(none)",
            "no Vault to check: doctor needs --vault-addr and a token",
            "pass --vault-addr and --vault-token (or VAULT_ADDR and VAULT_TOKEN)",
        ));
        return r;
    };
    let client = match vault_pki::PkiClient::new(config.clone()) {
        Ok(c) => c,
        Err(e) => {
            r.push(Finding::error(
                "vault.reachable",
                &config.address,
                vault_pki::error_chain(&e),
                "check --vault-addr, --vault-cacert and --vault-namespace",
            ));
            return r;
        }
    };
    let out = OutDir::new(&cfg.out);
    let state = match State::load(&out) {
        Ok(s) => s,
        Err(e) => {
            r.push(Finding::warning(
                "state.readable",
                out.path(OutDir::STATE).display().to_string(),
                format!("cannot read the recorded state: {e}"),
                "pass the --out of the run that set this up",
            ));
            State::default()
        }
    };
    let facts = vault_checks::check(&client, cfg, &state, margin, &mut r).await;
    rotation_checks::check(&client, cfg, &mut r).await;
    if let Some(target) = &cfg.cluster {
        match crate::kube::client_for(&target.kubeconfig, target.context.as_deref()).await {
            Ok(kube) => {
                if let crate::config::Auth::Kubernetes(k) = &cfg.auth {
                    kubernetes_checks::check(&client, &kube, cfg, k, &state, &mut r).await;
                }
                cluster_checks::check(
                    &kube,
                    cfg,
                    &config.address,
                    &state,
                    facts.root_pem.as_deref(),
                    &mut r,
                )
                .await
            }
            Err(e) => r.push(Finding::error(
                "cluster.reachable",
                target.kubeconfig.display().to_string(),
                e.to_string(),
                "check --kubeconfig / KUBECONFIG",
            )),
        }
    }
    r
}
