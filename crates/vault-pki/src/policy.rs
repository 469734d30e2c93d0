//! Typed ACL policies rendered to HCL, and `sys/policies/acl` calls.

use crate::client::PkiClient;
use crate::error::{Result, found};

/// A capability in an ACL policy path rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// `create`
    Create,
    /// `read`
    Read,
    /// `update` (a POST/PUT to an existing path, e.g. `<pki>/sign/<role>`)
    Update,
    /// `patch`
    Patch,
    /// `delete`
    Delete,
    /// `list`
    List,
    /// `sudo`
    Sudo,
    /// `deny`
    Deny,
}

impl Capability {
    /// The HCL word.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Create => "create",
            Capability::Read => "read",
            Capability::Update => "update",
            Capability::Patch => "patch",
            Capability::Delete => "delete",
            Capability::List => "list",
            Capability::Sudo => "sudo",
            Capability::Deny => "deny",
        }
    }
}

/// One `path "…" { capabilities = [...] }` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRule {
    /// The path (may end in `*` or contain `+`).
    pub path: String,
    /// Its capabilities.
    pub capabilities: Vec<Capability>,
}

/// An ACL policy: a list of path rules.
///
/// ```
/// use vault_pki::{Capability, Policy};
/// let p = Policy::new().path("istioca/sign/cluster-local", [Capability::Update]);
/// assert_eq!(
///     p.to_hcl(),
///     "path \"istioca/sign/cluster-local\" {\n  capabilities = [\"update\"]\n}\n"
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// The rules, rendered in this order.
    pub rules: Vec<PathRule>,
}

impl Policy {
    /// An empty policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule.
    pub fn path(
        mut self,
        path: impl Into<String>,
        caps: impl IntoIterator<Item = Capability>,
    ) -> Self {
        self.rules.push(PathRule {
            path: path.into(),
            capabilities: caps.into_iter().collect(),
        });
        self
    }

    /// Renders the policy as HCL.
    pub fn to_hcl(&self) -> String {
        let mut s = String::new();
        for (i, r) in self.rules.iter().enumerate() {
            if i > 0 {
                s.push('\n');
            }
            let caps: Vec<String> = r
                .capabilities
                .iter()
                .map(|c| format!("\"{}\"", c.as_str()))
                .collect();
            s.push_str(&format!(
                "path \"{}\" {{\n  capabilities = [{}]\n}}\n",
                escape_hcl(&r.path),
                caps.join(", ")
            ));
        }
        s
    }
}

fn escape_hcl(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Compares policy texts ignoring whitespace differences.
pub(crate) fn same_policy_text(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    norm(a) == norm(b)
}

impl PkiClient {
    /// Writes an ACL policy.
    ///
    /// * Path: `sys/policies/acl/{name}`
    /// * Method: PUT
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/policies#create-update-acl-policy>
    pub async fn write_policy(&self, name: &str, policy: &Policy) -> Result<()> {
        let hcl = policy.to_hcl();
        let path = format!("sys/policies/acl/{name}");
        self.call(&path, |c| vaultrs::sys::policy::set(c, name, &hcl))
            .await
    }

    /// Deletes an ACL policy; deleting one that does not exist succeeds.
    ///
    /// * Path: `sys/policies/acl/{name}`
    /// * Method: DELETE
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/policies#delete-acl-policy>
    pub async fn delete_policy(&self, name: &str) -> Result<()> {
        let path = format!("sys/policies/acl/{name}");
        self.call(&path, |c| vaultrs::sys::policy::delete(c, name))
            .await
    }

    /// Reads an ACL policy's HCL text; `None` when there is no such policy.
    ///
    /// * Path: `sys/policies/acl/{name}`
    /// * Method: GET
    /// * Reference: <https://developer.hashicorp.com/vault/api-docs/system/policies#read-acl-policy>
    pub async fn read_policy(&self, name: &str) -> Result<Option<String>> {
        let path = format!("sys/policies/acl/{name}");
        let policy = self
            .call(&path, |c| vaultrs::sys::policy::read(c, name))
            .await;
        Ok(found(policy)?.map(|p| p.rules))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_several_rules_and_escapes() {
        let p = Policy::new()
            .path("a/*", [Capability::Read, Capability::List])
            .path("b/\"q\"", [Capability::Deny]);
        assert_eq!(
            p.to_hcl(),
            "path \"a/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n\npath \"b/\\\"q\\\"\" {\n  capabilities = [\"deny\"]\n}\n"
        );
        assert!(same_policy_text(
            &p.to_hcl(),
            &p.to_hcl().replace('\n', "  \n")
        ));
    }
}
