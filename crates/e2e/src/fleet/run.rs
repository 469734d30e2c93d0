//! `fleet run` and `fleet plan`: the shared steps once (root mount, root CA, AppRole auth
//! mount, `<out>/ca.crt`), then every cluster's whole run (Vault, files, cluster, checks) with
//! at most `concurrency` at once, then the clusters left over from earlier runs. A failed
//! cluster does not stop the others.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use futures::StreamExt;

use super::observer::{FleetEvent, FleetObserver, Tagged};
use super::orphans;
use super::record::{FleetRecord, RECORD, RecordedCluster};
use super::report::{ClusterResult, FleetReport, Orphan, RootReport};
use super::spec::Fleet;
use crate::config::{RootInput, RunConfig, VaultSpec};
use crate::error::{Cause, Error, Result};
use crate::files::{OutDir, Sensitivity};
use crate::outputs::Writer;
use crate::progress::Progress;
use crate::report::{ErrorRecord, Status, VaultInfo};
use crate::vault::{self, RootSource};

/// What a fleet run produced: its report (also on failure) and the error that stopped it
/// before its clusters, if one did.
#[derive(Debug)]
#[non_exhaustive]
pub struct FleetOutput {
    /// The report, as written to `<out>/report.json` (a plan writes none).
    pub report: FleetReport,
    /// Why the fleet stopped before (or after) its clusters.
    pub error: Option<Error>,
}

impl FleetOutput {
    /// The exit code: the error's, else 1 when a cluster failed, else 0.
    pub fn exit_code(&self) -> i32 {
        match &self.error {
            Some(e) => e.exit_code(),
            None if self.report.failed().next().is_some() => 1,
            None => 0,
        }
    }
}

/// Runs `fleet`, telling `observer` each cluster's steps as they end.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let fleet = e2e::fleet::Fleet::new("./out", ["east", "west"])?;
/// let output = e2e::fleet::run(&fleet, &e2e::NoObserver).await;
/// for c in &output.report.clusters {
///     println!("{}: {:?}, {} changed", c.name, c.status, c.changed);
/// }
/// # Ok(()) }
/// ```
pub async fn run(fleet: &Fleet, observer: &dyn FleetObserver) -> FleetOutput {
    let started = Instant::now();
    let out = OutDir::new(&fleet.out);
    let root_observer = Tagged {
        cluster: None,
        inner: observer,
    };
    let progress = Progress::new(&root_observer);
    let mut found = Found::default();
    let result = flow(fleet, &out, &progress, observer, &mut found).await;
    let (root_steps, _) = progress.take();
    let mut error = result.err();
    let failed = error.is_some() || found.clusters.iter().any(|c| c.status == Status::Failed);
    let report = FleetReport {
        command: if fleet.dry_run {
            "fleet plan"
        } else {
            "fleet run"
        }
        .into(),
        status: if failed { Status::Failed } else { Status::Done },
        dry_run: fleet.dry_run,
        vault: found.vault.unwrap_or_else(|| VaultInfo {
            address: match &fleet.vault {
                VaultSpec::Server { config, .. } => config.address.clone(),
                VaultSpec::DevServer => String::new(),
            },
            dev_server: matches!(fleet.vault, VaultSpec::DevServer),
            namespace: None,
        }),
        out: fleet.out.display().to_string(),
        root: RootReport {
            mount: fleet.root.mount.clone(),
            steps: root_steps,
        },
        clusters: found.clusters,
        orphaned: found.orphaned,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        error: error.as_ref().map(|e| ErrorRecord {
            step: e.step_name().map(str::to_string),
            message: e.to_string(),
        }),
    };
    if !fleet.dry_run
        && let Err(e) = out.write(
            OutDir::REPORT,
            report.to_json().as_bytes(),
            Sensitivity::Public,
        )
    {
        error.get_or_insert(Error::step(
            "fleet: write report.json",
            Cause::File {
                path: out.path(OutDir::REPORT),
                source: e,
            },
            "check that the output folder is writable",
        ));
    }
    FleetOutput { report, error }
}

#[derive(Debug, Default)]
struct Found {
    vault: Option<VaultInfo>,
    clusters: Vec<ClusterResult>,
    orphaned: Vec<Orphan>,
}

async fn flow(
    fleet: &Fleet,
    out: &OutDir,
    progress: &Progress<'_>,
    observer: &dyn FleetObserver,
    found: &mut Found,
) -> Result<()> {
    let Some(first) = fleet.clusters.first() else {
        return Err(Error::Usage("the fleet has no cluster".into()));
    };
    // Before anything is changed: the given root (for the longest intermediate asked for) and
    // a writable output folder.
    if let RootInput::Given { cert_pem, key_pem } = &fleet.root.input {
        let ttl = fleet
            .clusters
            .iter()
            .map(|c| c.config.setup.intermediate_ttl)
            .max()
            .unwrap_or_default();
        crate::preflight::check_root(
            cert_pem.as_bytes(),
            "the fleet's root.cert",
            key_pem.expose_secret(),
            "the fleet's root.key",
            ttl,
            std::time::SystemTime::now(),
        )
        .map_err(|e| {
            Error::step(
                "fleet: preflight",
                Cause::build("the root", e),
                "give a valid, self-signed root CA and its own key (root.cert, root.key)",
            )
        })?;
    }
    if !fleet.dry_run {
        crate::preflight::check_out_writable(out.root()).map_err(|e| {
            Error::step(
                "fleet: preflight",
                Cause::build("the output folder", e),
                "choose a writable --out, or fix its permissions",
            )
        })?;
    }
    let record = FleetRecord::load(out).map_err(|e| {
        Error::step(
            "fleet: read record",
            Cause::File {
                path: out.path(RECORD),
                source: e,
            },
            "the file is written by e2e fleet run",
        )
    })?;
    // One workload CSR per trust domain for every cluster's verification, made (RSA 2048, the
    // costliest thing a run computes) while the clusters' Vault steps run.
    let csrs: HashMap<String, crate::run::SharedCsr> = if fleet.dry_run {
        HashMap::new()
    } else {
        fleet
            .clusters
            .iter()
            .map(|c| c.config.trust_domain.clone())
            .collect::<BTreeSet<String>>()
            .into_iter()
            .map(|td| {
                let csr = crate::run::shared_csr(&td);
                (td, csr)
            })
            .collect()
    };
    let conn = vault::connect(&fleet.vault, progress)?;
    found.vault = Some(conn.info.clone());

    // The shared steps, once: a root generated here is in --out before Vault sees it.
    let mut writer = Writer::new(out, fleet.dry_run, progress);
    let mut setup = first.config.setup.clone();
    let mut root_key = None;
    match vault::root_source(&fleet.root.input, out)? {
        RootSource::Given(cert, key) | RootSource::OutDir(cert, key) => {
            setup = setup.with_root_ca(cert.clone(), key.clone());
            root_key = Some((cert, key));
        }
        RootSource::None if fleet.dry_run => {}
        RootSource::None if vault::has_root(&conn.client, &setup.root_mount).await => {}
        RootSource::None => {
            progress.mark();
            if let Some(g) = vault::generate_root(&setup)? {
                writer.generated_root(&g.cert_pem, &g.key_pem)?;
                setup = setup.with_root_ca(g.cert_pem.clone(), g.key_pem.clone());
                root_key = Some((g.cert_pem, g.key_pem));
            }
        }
    }
    progress.mark();
    let shared = vault::setup_shared(&conn.client, &setup, fleet.dry_run, progress)
        .await
        .map_err(|e| vault::setup_error(e, progress))?;
    if let Some(pem) = &shared.root_ca_pem {
        writer.file(OutDir::CA_CRT, Some(pem.as_bytes()), Sensitivity::Public)?;
    }

    // Every cluster against the same server, with the same root.
    let vault_spec = VaultSpec::Server {
        config: conn.client.config().clone(),
        ca_pem: conn.ca_pem.clone(),
    };
    let root_input = match root_key {
        Some((cert_pem, key_pem)) => RootInput::Given { cert_pem, key_pem },
        None => RootInput::Default,
    };
    let configs: Vec<RunConfig> = fleet
        .clusters
        .iter()
        .map(|c| {
            let mut cfg = c.config.clone();
            cfg.vault = vault_spec.clone();
            cfg.root = root_input.clone();
            cfg.dry_run = fleet.dry_run;
            cfg
        })
        .collect();
    found.clusters = futures::stream::iter(fleet.clusters.iter().zip(&configs))
        .map(|(c, cfg)| {
            let csrs = &csrs;
            async move {
                let tagged = Tagged {
                    cluster: Some(&c.name),
                    inner: observer,
                };
                let csr = csrs.get(&cfg.trust_domain).cloned();
                let output = crate::run::run_with_csr(cfg, &tagged, csr).await;
                let result =
                    ClusterResult::from_report(&c.name, &c.names.cluster_id, &output.report);
                observer.on_fleet_event(&FleetEvent::ClusterDone(&result));
                result
            }
        })
        .buffered(fleet.concurrency.max(1))
        .collect()
        .await;

    // What clusters no longer listed left behind.
    let listed: BTreeSet<&str> = fleet.clusters.iter().map(|c| c.name.as_str()).collect();
    let mut kept = FleetRecord::default();
    for (name, rec) in &record.clusters {
        if listed.contains(name.as_str()) {
            continue;
        }
        let step = || format!("fleet: orphaned cluster {name}");
        let left = orphans::left_in_vault(&conn.client, fleet, rec)
            .await
            .map_err(|e| {
                Error::step(
                    step(),
                    e,
                    "check the token's right to read mounts, policies and AppRole roles",
                )
            })?;
        let pruned = fleet.prune && !fleet.dry_run;
        if pruned {
            orphans::prune(&conn.client, rec, &left)
                .await
                .map_err(|e| {
                    Error::step(
                        step(),
                        e,
                        "check the token's right to delete mounts, policies and AppRole roles",
                    )
                })?;
        } else if !left.is_empty() {
            kept.clusters.insert(name.clone(), rec.clone());
        }
        let orphan = Orphan {
            name: name.clone(),
            left,
            pruned,
        };
        observer.on_fleet_event(&FleetEvent::Orphan(&orphan));
        found.orphaned.push(orphan);
    }
    if !fleet.dry_run {
        for c in &fleet.clusters {
            kept.clusters.insert(
                c.name.clone(),
                RecordedCluster {
                    names: c.names.clone(),
                    approle_mount: c.config.setup.approle_mount.clone(),
                    kubernetes_mount: match &c.config.auth {
                        crate::config::Auth::Kubernetes(k) => Some(k.mount.clone()),
                        _ => None,
                    },
                },
            );
        }
        kept.save(out).map_err(|e| {
            Error::step(
                "fleet: write record",
                Cause::File {
                    path: out.path(RECORD),
                    source: e,
                },
                "check that the output folder is writable",
            )
        })?;
    }
    Ok(())
}
