//! `e2e fleet run|plan`'s arguments made into a [`Fleet`]: the file read and checked, the
//! Vault flags over the file's `vault`, nothing changed anywhere.

use std::path::Path;
use std::time::Duration;

use super::file::FleetFile;
use super::spec::{ClusterTools, Fleet};
use crate::args::{VaultDefaults, vault_spec};
use crate::cli::{FleetArgs, VaultArgs};
use crate::error::{Error, Result};

impl Fleet {
    /// Validates `args` for `fleet run` (`dry_run = false`) or `fleet plan`, and reads the
    /// fleet file and the files it names.
    pub fn from_args(args: &FleetArgs, dry_run: bool) -> Result<Fleet> {
        if args.concurrency == 0 {
            return Err(Error::Usage("--concurrency must be at least 1".into()));
        }
        let tools = ClusterTools {
            helm: args.tools.helm.clone(),
            istio_csr_chart: args.tools.istio_csr_chart.clone(),
            wait_timeout: Duration::from_secs(args.tools.wait_timeout.max(1)),
        };
        let mut fleet =
            Fleet::read(&args.fleet, &args.vault, &args.out, &tools)?.with_dry_run(dry_run);
        fleet.concurrency = args.concurrency;
        fleet.prune = args.prune;
        Ok(fleet)
    }

    /// The fleet of the file at `path`, against the Vault the flags `vault` name (else the
    /// file's), into `out`.
    pub fn read(path: &Path, vault: &VaultArgs, out: &Path, tools: &ClusterTools) -> Result<Fleet> {
        let file = FleetFile::read(path)?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let defaults = VaultDefaults {
            address: file.vault.address.clone(),
            namespace: file.vault.namespace.clone(),
            ca_file: file.vault.ca_cert.as_ref().map(|p| {
                (
                    base.join(p),
                    format!("vault.caCert of fleet file {}", path.display()),
                )
            }),
        };
        let spec = vault_spec(vault, defaults)?;
        let mut fleet = Fleet::from_file(&file, path, base, out, spec, tools)?;
        if let Some(server) = &vault.issuer_vault_server {
            for c in &mut fleet.clusters {
                c.config.issuer_vault_server = Some(server.clone());
            }
        }
        Ok(fleet)
    }
}
