//! The doctor's Vault side, read-only: the server, the root, the intermediate, the role, the
//! policy, the AppRole and its recorded secret-id, and one test signature made with the
//! cert-manager credentials (never the admin token).
//!
//! Long because it is one sequence: each Vault object checked in the order the flow sets it up,
//! and each finding carries its own message and fix text (most of the lines). The policy rules
//! are in [`super::policy_check`], certificate facts and times in [`super::cert_facts`].

use std::time::Duration;

use vault_pki::{PkiClient, SignOptions};

use super::cert_facts::{CertFacts, expiration_left, unix_now};
use super::finding::{DoctorReport, Finding, Gauge};
use super::policy_check::least_privilege;
use crate::config::RunConfig;
use crate::state::State;

const DAY: f64 = 86_400.0;

/// What the Vault checks found out, for the cluster checks.
#[derive(Debug, Default)]
pub struct VaultFacts {
    /// The root mount's default issuer's certificate.
    pub root_pem: Option<String>,
}

/// Checks Vault as `cfg` names it; `state` holds the recorded AppRole credentials; `margin`
/// is how long before an expiry a warning is given.
pub async fn check(
    client: &PkiClient,
    cfg: &RunConfig,
    state: &State,
    margin: Duration,
    r: &mut DoctorReport,
) -> VaultFacts {
    let mut facts = VaultFacts::default();
    let s = &cfg.setup;
    match client.health().await {
        Err(e) => {
            r.push(Finding::error(
                "vault.reachable",
                client.address(),
                format!("Vault does not answer: {}", vault_pki::error_chain(&e)),
                "check --vault-addr / VAULT_ADDR, that the server runs, and --vault-cacert",
            ));
            return facts;
        }
        Ok(h) if h.sealed || !h.initialized => {
            r.push(Finding::error(
                "vault.unsealed",
                client.address(),
                if h.initialized {
                    "Vault is sealed"
                } else {
                    "Vault is not initialized"
                },
                "unseal it (vault operator unseal) and run doctor again",
            ));
            return facts;
        }
        Ok(h) => r.push(Finding::ok(
            "vault.unsealed",
            client.address(),
            format!("reachable and unsealed (version {})", h.version),
        )),
    }
    let now = unix_now();

    // The root.
    let root_subject = format!("{}/issuer/default", s.root_mount);
    let root = match client.read_issuer(&s.root_mount, "default").await {
        Ok(Some(i)) => Some(i.certificate),
        Ok(None) => {
            r.push(Finding::error(
                "root.present",
                &root_subject,
                format!("the root mount {} has no default issuer", s.root_mount),
                "run e2e run to import or generate the root",
            ));
            None
        }
        Err(e) => {
            r.push(read_failed("root.present", &root_subject, &e));
            None
        }
    };
    if let Some(pem) = &root {
        match CertFacts::of(pem) {
            Err(e) => r.push(Finding::error(
                "root.valid",
                &root_subject,
                e.to_string(),
                "import a PEM root certificate",
            )),
            Ok(f) => {
                if f.self_signed && f.is_ca {
                    r.push(Finding::ok(
                        "root.self-signed",
                        &root_subject,
                        format!("self-signed CA {}", f.subject),
                    ));
                } else {
                    r.push(Finding::error(
                        "root.self-signed",
                        &root_subject,
                        format!(
                            "{} is {}{}",
                            f.subject,
                            if f.self_signed { "" } else { "not self-signed" },
                            if f.is_ca { "" } else { " and not a CA" }
                        ),
                        "the root mount must hold the self-signed root, not an intermediate",
                    ));
                }
                expiry("root.expiry", "root", &root_subject, &f, now, margin, r);
            }
        }
        facts.root_pem = Some(pem.clone());
    }

    // The intermediate.
    let int_subject = format!("{}/issuer/default", s.intermediate_mount);
    match client.read_issuer(&s.intermediate_mount, "default").await {
        Ok(None) => r.push(Finding::error(
            "intermediate.default-issuer",
            &int_subject,
            format!(
                "the intermediate mount {} has no default issuer",
                s.intermediate_mount
            ),
            "run e2e run to generate and sign the intermediate",
        )),
        Err(e) => r.push(read_failed("intermediate.default-issuer", &int_subject, &e)),
        Ok(Some(i)) => {
            r.push(Finding::ok(
                "intermediate.default-issuer",
                &int_subject,
                format!("issuer {}", i.issuer_id),
            ));
            if let Some(root_pem) = &root {
                match vault_pki::chains_to(&i.certificate, root_pem) {
                    Ok(true) => r.push(Finding::ok(
                        "intermediate.chains-to-root",
                        &int_subject,
                        format!("signed by the root in {}", s.root_mount),
                    )),
                    _ => r.push(Finding::error(
                        "intermediate.chains-to-root",
                        &int_subject,
                        "the intermediate is not signed by the root mount's default issuer",
                        "re-sign it under the current root (e2e rotate intermediate, or remove the mount and run e2e run)",
                    )),
                }
            }
            if let Ok(f) = CertFacts::of(&i.certificate) {
                expiry(
                    "intermediate.expiry",
                    "intermediate",
                    &int_subject,
                    &f,
                    now,
                    margin,
                    r,
                );
                let role_max = client
                    .read_pki_role(&s.intermediate_mount, &s.role.name)
                    .await
                    .ok()
                    .flatten()
                    .map(|role| i64::try_from(role.max_ttl).unwrap_or(i64::MAX));
                if let Some(max_ttl) = role_max {
                    let left = f.seconds_left(now);
                    let margin_s = i64::try_from(margin.as_secs()).unwrap_or(i64::MAX);
                    let subject = format!("{}/roles/{}", s.intermediate_mount, s.role.name);
                    if left < max_ttl {
                        r.push(Finding::error(
                            "intermediate.outlives-leaves",
                            subject,
                            format!(
                                "a leaf issued now for the role's max_ttl ({max_ttl}s) would outlive the intermediate ({left}s left)"
                            ),
                            "rotate the intermediate (e2e rotate intermediate) or lower the role's max_ttl",
                        ));
                    } else if left < max_ttl.saturating_add(margin_s) {
                        r.push(Finding::warning(
                            "intermediate.outlives-leaves",
                            subject,
                            format!("the intermediate outlives a max_ttl leaf by less than the margin ({}s)", left - max_ttl),
                            "rotate the intermediate soon",
                        ));
                    } else {
                        r.push(Finding::ok(
                            "intermediate.outlives-leaves",
                            subject,
                            format!(
                                "outlives a leaf of max_ttl {max_ttl}s by {}s",
                                left - max_ttl
                            ),
                        ));
                    }
                }
            }
        }
    }

    // The role.
    let role_subject = format!("{}/roles/{}", s.intermediate_mount, s.role.name);
    match client
        .read_pki_role(&s.intermediate_mount, &s.role.name)
        .await
    {
        Ok(None) => r.push(Finding::error(
            "role.present",
            &role_subject,
            "no such role",
            "run e2e run to create it",
        )),
        Err(e) => r.push(read_failed("role.present", &role_subject, &e)),
        Ok(Some(role)) => {
            let want = format!("spiffe://{}/*", cfg.trust_domain);
            if role.allowed_uri_sans.iter().any(|u| *u == want || u == "*") {
                r.push(Finding::ok(
                    "role.uri-sans",
                    &role_subject,
                    format!("allows {want}"),
                ));
            } else {
                r.push(Finding::error(
                    "role.uri-sans",
                    &role_subject,
                    format!("allowed_uri_sans {:?} does not cover {want}: every workload CSR is refused", role.allowed_uri_sans),
                    format!("set allowed_uri_sans={want} (e2e run does)"),
                ));
            }
            if role.require_cn {
                r.push(Finding::error(
                    "role.require-cn",
                    &role_subject,
                    "require_cn=true: Istio's workload CSRs have no common name and are refused",
                    "set require_cn=false (e2e run does)",
                ));
            } else {
                r.push(Finding::ok(
                    "role.require-cn",
                    &role_subject,
                    "require_cn=false",
                ));
            }
        }
    }

    // The policy.
    let policy_subject = format!("sys/policies/acl/{}", s.policy_name);
    match client.read_policy(&s.policy_name).await {
        Ok(None) => r.push(Finding::error(
            "policy.present",
            &policy_subject,
            "no such policy",
            "run e2e run to write it",
        )),
        Err(e) => r.push(read_failed("policy.present", &policy_subject, &e)),
        Ok(Some(hcl)) => r.push(least_privilege(&hcl, &s.sign_path(), &policy_subject)),
    }

    // With Kubernetes auth, the role and its login are [`super::kubernetes_checks`]'.
    if !s.approle {
        return facts;
    }

    // The AppRole, its credentials, and a real signature with them.
    let approle_subject = format!("auth/{}/role/{}", s.approle_mount, s.approle_role);
    match client
        .read_approle_role(&s.approle_mount, &s.approle_role)
        .await
    {
        Ok(None) => r.push(Finding::error(
            "approle.present",
            &approle_subject,
            "no such AppRole role",
            "run e2e run to create it",
        )),
        Err(e) => r.push(read_failed("approle.present", &approle_subject, &e)),
        Ok(Some(a)) if !a.token_policies.contains(&s.policy_name) => r.push(Finding::error(
            "approle.present",
            &approle_subject,
            format!(
                "its tokens get {:?}, not {}",
                a.token_policies, s.policy_name
            ),
            "run e2e run to set token_policies",
        )),
        Ok(Some(_)) => r.push(Finding::ok(
            "approle.present",
            &approle_subject,
            format!("tokens get policy {}", s.policy_name),
        )),
    }
    let (Some(role_id), Some(rec)) = (&state.role_id, &state.secret_id) else {
        r.push(Finding::warning(
            "approle.credentials",
            &approle_subject,
            "no recorded role-id and secret-id in the output folder: the login and the test signature are not checked",
            "pass the --out of the run that set this up",
        ));
        return facts;
    };
    match client
        .lookup_secret_id(&s.approle_mount, &s.approle_role, &rec.secret_id)
        .await
    {
        Ok(None) => r.push(Finding::error(
            "approle.secret-id",
            &approle_subject,
            "Vault does not know the recorded secret-id (destroyed or expired): cert-manager cannot log in",
            "run e2e run (or e2e rotate secret-id) to make a new one and update the Secret",
        )),
        Ok(Some(info)) => {
            let left = expiration_left(&info.expiration_time, now);
            match (info.secret_id_ttl, left) {
                (0, _) => r.push(Finding::ok(
                    "approle.secret-id",
                    &approle_subject,
                    "the recorded secret-id does not expire",
                )),
                (_, Some(left)) => {
                    r.gauges.push(Gauge {
                        name: "e2e_doctor_secret_id_seconds_left",
                        help: "Seconds until the recorded AppRole secret-id expires.",
                        labels: vec![("role", approle_subject.clone())],
                        value: left as f64,
                    });
                    let margin_s = i64::try_from(margin.as_secs()).unwrap_or(i64::MAX);
                    let f = if left < margin_s {
                        Finding::warning(
                            "approle.secret-id",
                            &approle_subject,
                            format!("the recorded secret-id expires in {left}s"),
                            "rotate it (e2e rotate secret-id)",
                        )
                    } else {
                        Finding::ok("approle.secret-id", &approle_subject, format!("expires in {left}s"))
                    };
                    r.push(f);
                }
                (ttl, None) => r.push(Finding::ok(
                    "approle.secret-id",
                    &approle_subject,
                    format!("secret_id_ttl {ttl}s"),
                )),
            }
        }
        Err(e) => r.push(read_failed("approle.secret-id", &approle_subject, &e)),
    }
    let login_subject = format!("auth/{}/login", s.approle_mount);
    let as_cm = match client
        .login_approle_client(&s.approle_mount, role_id, &rec.secret_id)
        .await
    {
        Ok(c) => {
            r.push(Finding::ok(
                "approle.login",
                &login_subject,
                "the recorded role-id and secret-id log in",
            ));
            c
        }
        Err(e) => {
            r.push(Finding::error(
                "approle.login",
                &login_subject,
                format!(
                    "cert-manager's credentials do not log in: {}",
                    vault_pki::error_chain(&e)
                ),
                "run e2e run (or e2e rotate secret-id) to renew the secret-id",
            ));
            return facts;
        }
    };
    test_signature(&as_cm, cfg, "cert-manager's AppRole credentials", r).await;
    facts
}

/// Signs a workload CSR at the Issuer's path with cert-manager's credentials (`how` says which).
pub(super) async fn test_signature(
    as_cm: &PkiClient,
    cfg: &RunConfig,
    how: &str,
    r: &mut DoctorReport,
) {
    let s = &cfg.setup;
    let id = crate::verify::workload_identity(&cfg.trust_domain);
    let subject = s.sign_path();
    let csr = match crate::mtls::workload_key_and_csr(&id) {
        Ok((_key, csr)) => csr,
        Err(e) => {
            r.push(Finding::error(
                "sign.test",
                &subject,
                e.to_string(),
                "report this as a bug",
            ));
            return;
        }
    };
    let mut opts = SignOptions::default();
    opts.uri_sans = vec![id.clone()];
    opts.ttl = Some(Duration::from_secs(60));
    match as_cm
        .sign_csr(&s.intermediate_mount, &s.role.name, &csr, &opts)
        .await
    {
        Ok(_) => r.push(Finding::ok(
            "sign.test",
            &subject,
            format!("signed a 60 s test certificate for {id} with {how}"),
        )),
        Err(e) => r.push(Finding::error(
            "sign.test",
            &subject,
            format!(
                "cert-manager's credentials cannot sign a workload CSR ({}): the Issuer may say Ready, but nothing gets signed",
                vault_pki::error_chain(&e)
            ),
            "check the policy (update on the sign path), the role's allowed_uri_sans and require_cn",
        )),
    }
}

fn expiry(
    id: &'static str,
    which: &str,
    subject: &str,
    f: &CertFacts,
    now: i64,
    margin: Duration,
    r: &mut DoctorReport,
) {
    let left = f.seconds_left(now);
    r.gauges.push(Gauge {
        name: "e2e_doctor_ca_days_left",
        help: "Days until a CA certificate expires (negative: expired).",
        labels: vec![("ca", which.to_string()), ("subject", subject.to_string())],
        value: (left as f64 / DAY * 10.0).round() / 10.0,
    });
    let margin_s = i64::try_from(margin.as_secs()).unwrap_or(i64::MAX);
    if now < f.not_before {
        r.push(Finding::error(
            id,
            subject,
            format!("the {which} is not valid yet"),
            "check the clocks",
        ));
    } else if left <= 0 {
        r.push(Finding::error(
            id,
            subject,
            format!("the {which} expired {}s ago: no handshake verifies", -left),
            format!("rotate the {which} (e2e rotate {which})"),
        ));
    } else if left < margin_s {
        r.push(Finding::warning(
            id,
            subject,
            format!("the {which} expires in {:.1} days", left as f64 / DAY),
            format!("rotate the {which} (e2e rotate {which})"),
        ));
    } else {
        r.push(Finding::ok(
            id,
            subject,
            format!("valid for {:.1} more days", left as f64 / DAY),
        ));
    }
}

pub(super) fn read_failed(id: &'static str, subject: &str, e: &vault_pki::Error) -> Finding {
    Finding::error(
        id,
        subject,
        format!("cannot read it: {}", vault_pki::error_chain(e)),
        "use a token that may read mounts, issuers, roles, policies and AppRole roles",
    )
}
