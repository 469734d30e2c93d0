//! A lock in Vault for runs that change the same mounts: a mount at a well-known path, made with
//! `sys/mounts/<path>` (which Vault refuses while the path is in use, so at most one run holds
//! it), whose description names the holder and when it took it. It is released by disabling
//! the mount; a holder that died leaves it, and a waiter takes it over once its own test says
//! the holder is gone or the lock is older than the caller's limit.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::client::PkiClient;
use crate::error::{Error, Result};

/// Who holds a lock, as its mount's description says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockHolder {
    /// The lock's mount path.
    pub path: String,
    /// The holder's own words (e.g. host, process, output folder).
    pub owner: String,
    /// When it took the lock (seconds since the epoch; 0 when unreadable).
    pub since: u64,
}

/// A lock this client holds; give it back with [`PkiClient::release_lock`].
#[derive(Debug)]
#[must_use = "release the lock with PkiClient::release_lock"]
pub struct VaultLock {
    path: String,
}

impl VaultLock {
    /// The lock's mount path.
    pub fn path(&self) -> &str {
        &self.path
    }
}

const PREFIX: &str = "vault-pki lock; since=";

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn parse(path: &str, description: &str) -> LockHolder {
    let rest = description.strip_prefix(PREFIX).unwrap_or("");
    let (since, owner) = rest.split_once("; owner=").unwrap_or((rest, ""));
    LockHolder {
        path: path.to_string(),
        owner: owner.to_string(),
        since: since.parse().unwrap_or(0),
    }
}

impl PkiClient {
    /// Takes the lock at mount path `path` for `owner`, waiting up to `wait` while another
    /// holder has it; `is_stale` says whether a holder is gone (its lock is then taken over).
    /// Fails with [`Error::Locked`] naming the holder when the wait is over.
    ///
    /// * Path: `sys/mounts/{path}` (a `kv` mount, enabled to lock and disabled to unlock)
    /// * Method: POST, GET (`sys/mounts`), DELETE
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/mounts#enable-secrets-engine>
    pub async fn acquire_lock(
        &self,
        path: &str,
        owner: &str,
        wait: Duration,
        is_stale: &(dyn Fn(&LockHolder) -> bool + Sync),
    ) -> Result<VaultLock> {
        let started = Instant::now();
        loop {
            let description = format!("{PREFIX}{}; owner={owner}", now_secs());
            match self.enable_described(path, &description).await {
                Ok(()) => {
                    return Ok(VaultLock {
                        path: path.to_string(),
                    });
                }
                Err(Error::Rejected { errors, .. })
                    if errors.iter().any(|e| e.contains("already in use")) => {}
                Err(e) => return Err(e),
            }
            let Some(m) = self.read_mount(path).await? else {
                continue; // released meanwhile
            };
            let holder = parse(path, &m.description);
            if is_stale(&holder) {
                tracing::info!(path, owner = %holder.owner, "taking over a stale lock");
                self.disable_mount(path).await?;
                continue;
            }
            if started.elapsed() >= wait {
                return Err(Error::Locked {
                    path: path.to_string(),
                    owner: holder.owner,
                    since: holder.since,
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Releases a lock taken with [`PkiClient::acquire_lock`].
    pub async fn release_lock(&self, lock: VaultLock) -> Result<()> {
        self.disable_mount(&lock.path).await
    }

    async fn enable_described(&self, path: &str, description: &str) -> Result<()> {
        let p = format!("sys/mounts/{path}");
        self.call_once(&p, |c| {
            let mut opts = vaultrs::api::sys::requests::EnableEngineRequest::builder();
            opts.description(description);
            async move { vaultrs::sys::mount::enable(c, path, "kv", Some(&mut opts)).await }
        })
        .await
    }

    /// Disables the mount at `path` (`vault secrets disable`); a missing one is no error.
    ///
    /// * Path: `sys/mounts/{path}`
    /// * Method: DELETE
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/mounts#disable-secrets-engine>
    async fn disable_mount(&self, path: &str) -> Result<()> {
        let p = format!("sys/mounts/{path}");
        self.call(&p, |c| async move {
            vaultrs::sys::mount::disable(c, path).await
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_names_the_holder() {
        let h = parse("l", &format!("{PREFIX}42; owner=host:1 /out"));
        assert_eq!((h.since, h.owner.as_str()), (42, "host:1 /out"));
        assert_eq!(parse("l", "something else").since, 0);
    }
}
