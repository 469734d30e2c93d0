//! The five phases of a root rotation ([`RootPhase`]), each over every cluster of the
//! [`Scope`].

use std::time::Duration;

use vault_pki::SecretString;
use vault_pki::issuer::NewIntermediate;

use super::Ctx;
use super::root::RootOptions;
use super::scope::Scope;
use crate::config::RootInput;
use crate::error::{Cause, Error, Result};
use crate::files::{OutDir, Sensitivity};
use crate::rotate::mesh::{rfc3339_utc, wait_bundle_everywhere};
use crate::rotate::record::{RootPhase, RootRotation};
use crate::sink::SecretSink;
use crate::state::State;

impl Scope<'_, '_> {
    /// Phase 1: R2 on disk first, then in the root mount beside R1.
    pub(super) async fn new_root(
        &mut self,
        opts: &RootOptions,
        record: &mut RootRotation,
    ) -> Result<String> {
        let phase = RootPhase::NewRoot;
        let lead = self.lead();
        let setup = &lead.cfg.setup;
        let c = &lead.conn.client;
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
        let dir = &self.root_dir;
        let read = |name: &str| {
            dir.read(name)
                .map_err(|e| self.file_error("rotate: read the new root", name, e))
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
                        vault_pki::RootCa::Generate { common_name, ttl } => {
                            (common_name.clone(), *ttl)
                        }
                        _ => (
                            "Mesh Root CA".to_string(),
                            Duration::from_secs(87600 * 3600),
                        ),
                    };
                    let name = format!("{cn} {}", &rfc3339_utc(crate::preflight::unix_now())[..10]);
                    let g = vault_pki::generate_root_ca(&name, ttl).map_err(vault_error(phase))?;
                    dir.write(
                        OutDir::NEXT_CA_KEY,
                        g.key_pem.expose_secret().as_bytes(),
                        Sensitivity::Secret,
                    )
                    .map_err(|e| {
                        self.file_error("rotate: write ca-next.key", OutDir::NEXT_CA_KEY, e)
                    })?;
                    (g.cert_pem, g.key_pem, true)
                }
            },
        };
        dir.write(OutDir::NEXT_CA_CRT, cert.as_bytes(), Sensitivity::Public)
            .map_err(|e| self.file_error("rotate: write ca-next.crt", OutDir::NEXT_CA_CRT, e))?;
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
        let mut old_ints = std::collections::BTreeMap::new();
        for m in &self.members {
            let mount = m.cfg.setup.intermediate_mount.clone();
            let keys = c
                .list_issuers(&mount)
                .await
                .map_err(vault_error(phase))?
                .keys;
            old_ints.insert(mount, keys);
        }
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

    /// Phase 2: the bundle R1+R2 everywhere a workload reads trust, in every cluster.
    pub(super) async fn trust_both(&mut self, record: &RootRotation) -> Result<String> {
        let bundle =
            crate::certs::join_bundle([record.old_root_pem.as_str(), record.new_root_pem.as_str()]);
        self.set_bundle(Some(&bundle))?;
        let mut words = Vec::new();
        for m in &mut self.members {
            let cfg = m.cfg.clone();
            m.run(&cfg).await?;
            if let Some(kube) = m.kube.clone() {
                let n = wait_bundle_everywhere(
                    &kube,
                    &[&record.old_root_pem, &record.new_root_pem],
                    &[],
                    m.wait_bound(),
                    m.progress,
                )
                .await?;
                words.push(format!("{}{n} namespaces", m.label()));
            }
        }
        Ok(if words.is_empty() {
            "trust-bundle.pem and istio-root-ca.yaml hold R1+R2 (no cluster: apply istio-root-ca.yaml)".into()
        } else {
            format!(
                "istio-root-ca holds R1+R2; istio-ca-root-cert holds both in {}",
                words.join(", ")
            )
        })
    }

    /// Phase 3: R2 the root, a new intermediate under it in every cluster, istiod's
    /// certificate re-issued and istio-csr restarted.
    pub(super) async fn new_intermediate(
        &mut self,
        opts: &RootOptions,
        record: &mut RootRotation,
    ) -> Result<String> {
        let phase = RootPhase::NewIntermediate;
        let cfgs = self
            .members
            .iter()
            .map(|m| self.after_switch(m.cfg, opts, record))
            .collect::<Result<Vec<_>>>()?;
        // The files first: ca.crt (and ca.key, when this tool keeps the root's key) become
        // R2's, so that any run from now on keeps R2.
        if self.root_dir.path(OutDir::CA_KEY).exists()
            && let RootInput::Given { key_pem, .. } = &cfgs[0].root
        {
            self.root_dir
                .write(
                    OutDir::CA_KEY,
                    key_pem.expose_secret().as_bytes(),
                    Sensitivity::Secret,
                )
                .map_err(|e| self.file_error("rotate: write ca.key", OutDir::CA_KEY, e))?;
        }
        self.root_dir
            .write(
                OutDir::CA_CRT,
                record.new_root_pem.as_bytes(),
                Sensitivity::Public,
            )
            .map_err(|e| self.file_error("rotate: write ca.crt", OutDir::CA_CRT, e))?;
        let r2_issuer = record.new_root_issuer.clone().unwrap_or_default();
        {
            let lead = self.lead();
            lead.conn
                .client
                .set_default_issuer(&lead.cfg.setup.root_mount, &r2_issuer)
                .await
                .map_err(vault_error(phase))?;
        }
        record.switched_at = Some(crate::preflight::unix_now());
        record.workload_bound_secs = opts.workload_bound.as_secs();
        record
            .save(&self.root_dir)
            .map_err(|e| self.file_error("rotate: write rotation.json", OutDir::ROTATION, e))?;
        let mut words = Vec::new();
        for (m, cfg) in self.members.iter_mut().zip(&cfgs) {
            let (issuer_id, int_pem) = install_under(m, &r2_issuer, &record.new_root_pem).await?;
            m.run(cfg).await?;
            let mut w = format!("{}intermediate issuer {issuer_id}", m.label());
            if let Some(kube) = m.kube.clone() {
                let bound = m.wait_bound();
                crate::rotate::mesh::reissue_istiod(
                    &kube,
                    &m.cfg.namespace,
                    &int_pem,
                    false,
                    bound,
                    m.progress,
                )
                .await?;
                w.push_str(", istiod's certificate re-issued");
                if crate::rotate::mesh::restart_istio_csr(&kube).await? {
                    w.push_str(", istio-csr restarted");
                }
            }
            words.push(w);
        }
        Ok(format!(
            "R2 is the root mount's default; signed by R2 and made default: {}",
            words.join("; ")
        ))
    }

    /// Phase 4: `Ok(detail)` when the bound since the switch has passed, `Err(due)` when
    /// not yet (and not `--wait`).
    pub(super) async fn wait_workloads(
        &mut self,
        opts: &RootOptions,
        record: &RootRotation,
    ) -> std::result::Result<String, u64> {
        let switched = record.switched_at.unwrap_or(0);
        let due = switched.saturating_add(opts.workload_bound.as_secs());
        let now = crate::preflight::unix_now();
        if now < due {
            if !opts.wait {
                return Err(due);
            }
            self.progress.waiting(&format!(
                "waiting until {} for workload certificates issued under R1 to be renewed",
                rfc3339_utc(due)
            ));
            tokio::time::sleep(Duration::from_secs(due - now)).await;
            self.progress.waited();
        }
        Ok(format!(
            "{}s since the switch: every workload certificate issued before it has expired or renewed under R2",
            crate::preflight::unix_now().saturating_sub(switched)
        ))
    }

    /// Phase 5: the bundle R2 only in every cluster, then R1 and the intermediates it signed
    /// removed from Vault.
    pub(super) async fn retire(
        &mut self,
        opts: &RootOptions,
        record: &RootRotation,
    ) -> Result<String> {
        let phase = RootPhase::Retire;
        let cfgs = self
            .members
            .iter()
            .map(|m| self.after_switch(m.cfg, opts, record))
            .collect::<Result<Vec<_>>>()?;
        self.set_bundle(None)?;
        let mut words = Vec::new();
        for (m, cfg) in self.members.iter_mut().zip(&cfgs) {
            m.run(cfg).await?;
            if let Some(kube) = m.kube.clone() {
                let n = wait_bundle_everywhere(
                    &kube,
                    &[&record.new_root_pem],
                    &[&record.old_root_pem],
                    m.wait_bound(),
                    m.progress,
                )
                .await?;
                words.push(format!("{}{n} namespaces", m.label()));
            }
        }
        let lead = self.lead();
        let c = &lead.conn.client;
        let mut removed = 0;
        for (mount, ids) in &record.old_intermediate_issuers {
            for id in ids {
                c.delete_issuer(mount, id)
                    .await
                    .map_err(vault_error(phase))?;
                removed += 1;
            }
        }
        c.delete_issuer(&lead.cfg.setup.root_mount, &record.old_root_issuer)
            .await
            .map_err(vault_error(phase))?;
        for name in [OutDir::NEXT_CA_CRT, OutDir::NEXT_CA_KEY] {
            match std::fs::remove_file(self.root_dir.path(name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(self.file_error("rotate: remove the new root's files", name, e));
                }
            }
        }
        let mut detail = String::from("istio-root-ca holds R2 only");
        if !words.is_empty() {
            detail.push_str(&format!(", and istio-ca-root-cert in {}", words.join(", ")));
        }
        detail.push_str(&format!(
            "; removed R1 (issuer {}) and the {removed} issuer(s) the intermediate mounts had before the rotation (R1-signed intermediates, R1)",
            record.old_root_issuer
        ));
        Ok(detail)
    }
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

/// A new intermediate signed by R2 made `m`'s default, under the lock on its mounts (a
/// rotation resumed after the install finds it there); returns its issuer id and PEM.
async fn install_under(m: &Ctx<'_, '_>, r2_issuer: &str, r2_pem: &str) -> Result<(String, String)> {
    let phase = RootPhase::NewIntermediate;
    let setup = &m.cfg.setup;
    let lock =
        crate::vault::lock(&m.conn, setup, &m.out, false, m.cfg.lock_wait, m.progress).await?;
    let result: Result<(String, String)> = async {
        let c = &m.conn.client;
        if let Some(cur) = c
            .read_issuer(&setup.intermediate_mount, "default")
            .await
            .map_err(vault_error(phase))?
            && vault_pki::chains_to(&cur.certificate, r2_pem).unwrap_or(false)
        {
            return Ok((cur.issuer_id, cur.certificate));
        }
        let state = State::load(&m.out)
            .map_err(|e| m.file_error("rotate: read state", OutDir::STATE, e))?;
        let sink = SecretSink::new(m.progress, Some(&m.out), &state);
        let new = NewIntermediate {
            mount: &setup.intermediate_mount,
            root_mount: &setup.root_mount,
            root_issuer_ref: r2_issuer,
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
    crate::vault::unlock(&m.conn, lock, m.progress).await;
    result
}
