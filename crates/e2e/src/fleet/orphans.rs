//! Clusters an earlier fleet run set up that the file no longer lists: what they left in Vault,
//! and (`--prune`) its removal. Nothing a listed cluster also uses is ever removed.

use std::collections::HashSet;

use vault_pki::PkiClient;

use super::record::RecordedCluster;
use super::spec::Fleet;

/// The Vault paths of what `rec` left that still exist, skipping what a listed cluster uses.
pub async fn left_in_vault(
    client: &PkiClient,
    fleet: &Fleet,
    rec: &RecordedCluster,
) -> vault_pki::Result<Vec<String>> {
    let used = Used::of(fleet);
    let mut left = Vec::new();
    let n = &rec.names;
    if let Some(m) = &rec.kubernetes_mount
        && !used.auth_mounts.contains(m.as_str())
        && client.read_auth_mount(m).await?.is_some()
    {
        left.push(format!("sys/auth/{m}"));
    }
    if !used.mounts.contains(n.intermediate_mount.as_str())
        && client.read_mount(&n.intermediate_mount).await?.is_some()
    {
        left.push(format!("sys/mounts/{}", n.intermediate_mount));
    }
    if !used.policies.contains(n.policy.as_str()) && client.read_policy(&n.policy).await?.is_some()
    {
        left.push(format!("sys/policies/acl/{}", n.policy));
    }
    if !used
        .roles
        .contains(&(rec.approle_mount.as_str(), n.approle_role.as_str()))
        && client
            .read_approle_role(&rec.approle_mount, &n.approle_role)
            .await?
            .is_some()
    {
        left.push(format!(
            "auth/{}/role/{}",
            rec.approle_mount, n.approle_role
        ));
    }
    Ok(left)
}

/// Removes the paths [`left_in_vault`] returned: the Kubernetes auth mount and the AppRole
/// role (and its secret-ids) first, so the credential is gone before the mount it signs with.
pub async fn prune(
    client: &PkiClient,
    rec: &RecordedCluster,
    left: &[String],
) -> vault_pki::Result<()> {
    let n = &rec.names;
    let has = |p: String| left.contains(&p);
    // The Kubernetes auth mount (its config and role) first: a credential path, like the
    // AppRole role.
    if let Some(m) = &rec.kubernetes_mount
        && has(format!("sys/auth/{m}"))
    {
        client.disable_auth(m).await?;
    }
    if has(format!(
        "auth/{}/role/{}",
        rec.approle_mount, n.approle_role
    )) {
        client
            .delete_approle_role(&rec.approle_mount, &n.approle_role)
            .await?;
    }
    if has(format!("sys/policies/acl/{}", n.policy)) {
        client.delete_policy(&n.policy).await?;
    }
    if has(format!("sys/mounts/{}", n.intermediate_mount)) {
        client.disable_secrets_engine(&n.intermediate_mount).await?;
    }
    Ok(())
}

/// What the listed clusters use.
struct Used<'a> {
    mounts: HashSet<&'a str>,
    policies: HashSet<&'a str>,
    roles: HashSet<(&'a str, &'a str)>,
    auth_mounts: HashSet<&'a str>,
}

impl<'a> Used<'a> {
    fn of(fleet: &'a Fleet) -> Self {
        let mut u = Used {
            mounts: HashSet::from([fleet.root.mount.as_str()]),
            policies: HashSet::new(),
            roles: HashSet::new(),
            auth_mounts: HashSet::new(),
        };
        for c in &fleet.clusters {
            let s = &c.config.setup;
            u.mounts.insert(&s.intermediate_mount);
            u.policies.insert(&s.policy_name);
            u.roles.insert((&s.approle_mount, &s.approle_role));
            u.auth_mounts.insert(&s.approle_mount);
            if let crate::config::Auth::Kubernetes(k) = &c.config.auth {
                u.auth_mounts.insert(&k.mount);
            }
        }
        u
    }
}
