//! The doctor's policy check: an ACL policy's `path` rules read from its HCL, and whether they
//! grant `update` on the sign path and nothing wider.

use super::finding::Finding;

/// A policy grants `update` on the sign path and nothing wider.
pub fn least_privilege(hcl: &str, sign_path: &str, subject: &str) -> Finding {
    let rules = policy_rules(hcl);
    let grants_sign = rules
        .iter()
        .any(|(p, caps)| p == sign_path && caps.iter().any(|c| c == "update" || c == "create"));
    let wider: Vec<String> = rules
        .iter()
        .filter(|(p, caps)| p != sign_path || caps.iter().any(|c| c != "update" && c != "create"))
        .filter(|(_, caps)| !caps.iter().all(|c| c == "deny"))
        .map(|(p, caps)| format!("{p} {caps:?}"))
        .collect();
    if !grants_sign {
        Finding::error(
            "policy.least-privilege",
            subject,
            format!("no update on {sign_path}: cert-manager cannot sign"),
            "run e2e run to rewrite the policy",
        )
    } else if !wider.is_empty() {
        Finding::error(
            "policy.least-privilege",
            subject,
            format!(
                "grants more than update on {sign_path}: {}",
                wider.join("; ")
            ),
            format!(
                "reduce it to path \"{sign_path}\" {{ capabilities = [\"update\"] }} (e2e run writes exactly that)"
            ),
        )
    } else {
        Finding::ok(
            "policy.least-privilege",
            subject,
            format!("update on {sign_path} only"),
        )
    }
}

/// `(path, capabilities)` of each `path "…" { capabilities = [...] }` block.
fn policy_rules(hcl: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = hcl;
    while let Some(i) = rest.find("path") {
        rest = &rest[i + 4..];
        let Some(q1) = rest.find('"') else { break };
        let after = &rest[q1 + 1..];
        let Some(q2) = after.find('"') else { break };
        let path = after[..q2].to_string();
        let body_start = after[q2..].find('{').map(|b| q2 + b);
        let body_end = after[q2..].find('}').map(|b| q2 + b);
        let (Some(b0), Some(b1)) = (body_start, body_end) else {
            break;
        };
        let body = &after[b0..b1];
        let caps = body
            .split_once('[')
            .and_then(|(_, r)| r.split_once(']'))
            .map(|(list, _)| {
                list.split(',')
                    .map(|c| c.trim().trim_matches('"').to_string())
                    .filter(|c| !c.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        out.push((path, caps));
        rest = &after[b1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::finding::Severity;

    #[test]
    fn the_least_privilege_policy_passes_and_a_wider_one_is_named() {
        let ok = "path \"istioca/sign/cluster-local\" {\n  capabilities = [\"update\"]\n}\n";
        let f = least_privilege(ok, "istioca/sign/cluster-local", "p");
        assert_eq!(f.severity, Severity::Ok, "{f:?}");
        let wide =
            format!("{ok}\npath \"istioca/*\" {{ capabilities = [\"read\", \"update\"] }}\n");
        let f = least_privilege(&wide, "istioca/sign/cluster-local", "p");
        assert!(f.message.contains("istioca/*"), "{f:?}");
        let none = "path \"other/sign/x\" { capabilities = [\"update\"] }";
        let f = least_privilege(none, "istioca/sign/cluster-local", "p");
        assert!(f.message.contains("no update"), "{f:?}");
    }
}
