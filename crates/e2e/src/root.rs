//! Which root a run uses, chosen before Vault is changed: the given one (never replacing a
//! different root without `--replace-root`), the one generated earlier into `--out`, Vault's, or
//! a new one written to `--out` first.

use vault_pki::SecretString;

use crate::config::RunConfig;
use crate::error::Result;
use crate::files::OutDir;
use crate::outputs::Writer;
use crate::progress::Progress;
use crate::state::State;
use crate::vault::{self, RootSource, VaultConnection};

/// The root chosen first: a root generated here is written to --out before Vault sees it,
/// so that its key is never lost. Returns the setup to ensure, and the root key this tool
/// generated (now or earlier into --out).
pub async fn choose_root(
    cfg: &RunConfig,
    conn: &VaultConnection,
    root: RootSource,
    writer: &mut Writer<'_, '_>,
    state: &State,
    out: &OutDir,
    progress: &Progress<'_>,
) -> Result<(vault_pki::PkiSetup, Option<SecretString>)> {
    let mut setup = cfg.setup.clone();
    let mut own_root_key = None;
    let root = match root {
        RootSource::Given(cert, key) => {
            vault::check_root_replacement(&conn.client, &setup.root_mount, &cert, cfg.replace_root)
                .await?;
            Some((cert, key))
        }
        RootSource::OutDir(cert, key) => {
            own_root_key = Some(key.clone());
            Some((cert, key))
        }
        RootSource::None if cfg.dry_run => None,
        RootSource::None if vault::has_root(&conn.client, &setup.root_mount).await => None,
        RootSource::None => {
            progress.mark();
            match vault::generate_root(&setup)? {
                Some(g) => {
                    writer.generated_root(&g.cert_pem, &g.key_pem)?;
                    own_root_key = Some(g.key_pem.clone());
                    Some((g.cert_pem, g.key_pem))
                }
                None => None,
            }
        }
    };
    if let Some((cert, key)) = root {
        setup = setup.with_root_ca(cert, key);
    }
    setup = setup.with_recorded_secret_id(state.secret_id.clone());
    if setup.secret_id_metadata.is_empty() {
        setup.secret_id_metadata = vault::secret_id_metadata(out);
    }
    Ok((setup, own_root_key))
}
