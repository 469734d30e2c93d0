//! A root rotation recorded in the output folder (`rotation.json`): under way (a warning with
//! the phases left and when the next can run) or complete; and the intermediate mount's older
//! issuers, kept for verification since an intermediate rotation.

use vault_pki::PkiClient;

use super::finding::{DoctorReport, Finding};
use crate::config::RunConfig;
use crate::files::OutDir;
use crate::rotate::{RootPhase, RootRotation};

/// The rotation findings of `cfg`'s output folder and intermediate mount.
pub async fn check(client: &PkiClient, cfg: &RunConfig, r: &mut DoctorReport) {
    record(&OutDir::new(&cfg.out), r);
    older_issuers(client, cfg, r).await;
}

/// The root rotation recorded in `out` (a cluster's, or a fleet's folder), if any.
pub fn record(out: &OutDir, r: &mut DoctorReport) {
    let subject = out.path(OutDir::ROTATION).display().to_string();
    match RootRotation::load(out) {
        Err(e) => r.push(Finding::error(
            "rotation.root",
            &subject,
            format!("unreadable: {e}"),
            "restore the file from a backup: it is how e2e rotate root resumes",
        )),
        Ok(None) => {}
        Ok(Some(rec)) if rec.is_complete() => r.push(Finding::ok(
            "rotation.root",
            &subject,
            "the last root rotation is complete",
        )),
        Ok(Some(rec)) => {
            let left: Vec<&str> = rec.left().iter().map(|p| p.name()).collect();
            let mut message = format!(
                "a root rotation is under way: done {}; left {}",
                names(&rec.done),
                left.join(", ")
            );
            if let (Some(RootPhase::WaitWorkloads), Some(at)) =
                (rec.left().first(), rec.switched_at)
            {
                message.push_str(&format!(
                    "; phase wait-workloads can end at {} (with the bound given at the switch, {}s)",
                    crate::rotate::mesh::rfc3339_utc(at + rec.workload_bound_secs),
                    rec.workload_bound_secs
                ));
            }
            r.push(Finding::warning(
                "rotation.root",
                &subject,
                message,
                "run e2e rotate root with the same flags again to continue (--plan shows the phases)",
            ));
        }
    }
}

/// The intermediate mount's issuers beside the default and its chain.
async fn older_issuers(client: &PkiClient, cfg: &RunConfig, r: &mut DoctorReport) {
    let mount = &cfg.setup.intermediate_mount;
    let (Ok(list), Ok(Some(default))) = (
        client.list_issuers(mount).await,
        client.read_issuer(mount, "default").await,
    ) else {
        return;
    };
    let mut older = 0;
    for id in &list.keys {
        if *id == default.issuer_id {
            continue;
        }
        if let Ok(Some(i)) = client.read_issuer(mount, id).await
            && !default
                .ca_chain
                .iter()
                .any(|c| crate::certs::same_cert(c, &i.certificate))
        {
            older += 1;
        }
    }
    if older > 0 {
        r.push(Finding::ok(
            "intermediate.older-issuers",
            format!("{mount}/issuers"),
            format!(
                "{older} older issuer(s) beside the default, kept for what they signed; `e2e rotate intermediate --retire-old` removes those nothing valid chains to"
            ),
        ));
    }
}

fn names(phases: &[RootPhase]) -> String {
    if phases.is_empty() {
        return "none".into();
    }
    phases
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(", ")
}
