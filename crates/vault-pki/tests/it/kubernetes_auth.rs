//! The Kubernetes auth method on a real OpenBao: its mount, config and role ensured from empty,
//! a second run that changes nothing, a renewed reviewer token, drift repaired, the role
//! deleted, and a PKI setup without AppRole. (A login that OpenBao checks with TokenReview
//! needs a real API server: `e2e`'s `kubernetes_auth` tests do it on the local stack.)

use std::time::Duration;

use vault_pki::{
    KubernetesAuthSetup, KubernetesConfig, KubernetesRole, NoObserver, Outcome, PkiSetup,
    SecretString, Step,
};

use crate::common::client;

/// A self-signed CA certificate standing in for the API server's (OpenBao parses it).
fn ca_pem() -> String {
    vault_pki::generate_root_ca("test apiserver CA", Duration::from_secs(3600))
        .expect("CA")
        .cert_pem
}

fn setup(mount: &str, ca: &str) -> KubernetesAuthSetup {
    KubernetesAuthSetup::new(
        mount,
        KubernetesConfig::new(
            "https://127.0.0.1:6443",
            ca,
            SecretString::new("reviewer.jwt.value"),
        ),
        "cert-manager",
        KubernetesRole::new(
            "vault-issuer",
            "istio-system",
            "vault://istio-system/vault-issuer",
            vec!["cert-manager".into()],
            Duration::from_secs(3600),
            Duration::from_secs(4 * 3600),
        ),
    )
}

fn outcomes(steps: &[vault_pki::StepReport]) -> Vec<(Step, Outcome)> {
    steps.iter().map(|s| (s.step, s.outcome)).collect()
}

#[tokio::test]
async fn kubernetes_auth_is_ensured_from_empty_then_changes_nothing() {
    let c = client();
    let ca = ca_pem();
    let want = setup("k8s-twice", &ca);

    // A plan against nothing writes nothing.
    let plan = c
        .ensure_kubernetes_auth(&want, true, &NoObserver)
        .await
        .expect("plan");
    assert!(
        plan.iter().all(|s| s.outcome == Outcome::Created),
        "{plan:?}"
    );
    assert!(
        c.read_auth_mount("k8s-twice")
            .await
            .expect("read")
            .is_none()
    );

    let first = c
        .ensure_kubernetes_auth(&want, false, &NoObserver)
        .await
        .expect("first");
    assert_eq!(
        outcomes(&first),
        [
            (Step::KubernetesAuth, Outcome::Created),
            (Step::KubernetesConfig, Outcome::Created),
            (Step::KubernetesRole, Outcome::Created),
        ]
    );
    let cfg = c
        .read_kubernetes_config("k8s-twice")
        .await
        .expect("read config")
        .expect("a config");
    assert_eq!(cfg.kubernetes_host, "https://127.0.0.1:6443");
    assert!(cfg.disable_local_ca_jwt);
    assert!(cfg.token_reviewer_jwt_set, "the reviewer token is stored");
    let role = c
        .read_kubernetes_role("k8s-twice", "cert-manager")
        .await
        .expect("read role")
        .expect("a role");
    assert_eq!(role.bound_service_account_names, ["vault-issuer"]);
    assert_eq!(role.bound_service_account_namespaces, ["istio-system"]);
    assert_eq!(role.audience, "vault://istio-system/vault-issuer");
    assert_eq!(role.token_policies, ["cert-manager"]);
    assert_eq!(role.token_ttl, 3600);

    let second = c
        .ensure_kubernetes_auth(&want, false, &NoObserver)
        .await
        .expect("second");
    assert!(
        second.iter().all(|s| s.outcome == Outcome::Unchanged),
        "{second:?}"
    );

    // A renewed reviewer token rewrites the config, and only it.
    let mut renew = want.clone();
    renew.renew_reviewer_token = true;
    let third = c
        .ensure_kubernetes_auth(&renew, false, &NoObserver)
        .await
        .expect("renew");
    assert_eq!(
        outcomes(&third),
        [
            (Step::KubernetesAuth, Outcome::Unchanged),
            (Step::KubernetesConfig, Outcome::Updated),
            (Step::KubernetesRole, Outcome::Unchanged),
        ]
    );
    assert_eq!(third[1].detail, "token_reviewer_jwt renewed");

    // Drift (a widened role) is repaired and named.
    let mut wide = want.role.clone();
    wide.namespace = "default".into();
    wide.audience = String::new();
    c.write_kubernetes_role("k8s-twice", "cert-manager", &wide)
        .await
        .expect("widen");
    let fixed = c
        .ensure_kubernetes_auth(&want, false, &NoObserver)
        .await
        .expect("repair");
    assert_eq!(fixed[2].outcome, Outcome::Updated, "{fixed:?}");
    assert!(fixed[2].detail.contains("bound_service_account_namespaces"));
    assert!(fixed[2].detail.contains("audience"));

    // Deleting is idempotent.
    c.delete_kubernetes_role("k8s-twice", "cert-manager")
        .await
        .expect("delete");
    c.delete_kubernetes_role("k8s-twice", "cert-manager")
        .await
        .expect("delete again");
    assert!(
        c.read_kubernetes_role("k8s-twice", "cert-manager")
            .await
            .expect("read")
            .is_none()
    );

    // Disabling the method takes its config with it; disabling again succeeds.
    c.disable_auth("k8s-twice").await.expect("disable");
    c.disable_auth("k8s-twice").await.expect("disable again");
    assert!(
        c.read_auth_mount("k8s-twice")
            .await
            .expect("read")
            .is_none()
    );
}

#[tokio::test]
async fn a_config_that_must_be_written_needs_a_reviewer_token_and_a_mount_of_another_kind_is_named()
{
    let c = client();
    let ca = ca_pem();
    let mut no_token = setup("k8s-no-token", &ca);
    no_token.config.token_reviewer_jwt = SecretString::new("");
    let e = c
        .ensure_kubernetes_auth(&no_token, false, &NoObserver)
        .await
        .expect_err("no reviewer token");
    assert_eq!(e.step(), Some(Step::KubernetesConfig));
    assert!(e.to_string().contains("no reviewer token"), "{e}");

    c.enable_approle("k8s-is-approle").await.expect("approle");
    let e = c
        .ensure_kubernetes_auth(&setup("k8s-is-approle", &ca), false, &NoObserver)
        .await
        .expect_err("wrong kind");
    assert!(e.to_string().contains("not `kubernetes`"), "{e}");
}

#[tokio::test]
async fn an_enabled_but_unconfigured_method_gets_its_config_and_role() {
    let c = client();
    c.enable_kubernetes_auth("k8s-bare").await.expect("enable");
    assert!(
        c.read_kubernetes_config("k8s-bare")
            .await
            .expect("read")
            .is_none()
    );
    let steps = c
        .ensure_kubernetes_auth(&setup("k8s-bare", &ca_pem()), false, &NoObserver)
        .await
        .expect("ensure");
    assert_eq!(
        outcomes(&steps),
        [
            (Step::KubernetesAuth, Outcome::Unchanged),
            (Step::KubernetesConfig, Outcome::Created),
            (Step::KubernetesRole, Outcome::Created),
        ]
    );
}

#[tokio::test]
async fn a_login_with_a_token_the_api_server_never_issued_is_refused() {
    let c = client();
    let ca = ca_pem();
    c.ensure_kubernetes_auth(&setup("k8s-login", &ca), false, &NoObserver)
        .await
        .expect("ensure");
    let e = c
        .kubernetes_login("k8s-login", "cert-manager", &SecretString::new("not.a.jwt"))
        .await
        .expect_err("refused");
    assert!(
        e.path() == Some("auth/k8s-login/login"),
        "the error names the login path: {e}"
    );
    assert!(!e.to_string().contains("not.a.jwt"), "{e}");
}

#[tokio::test]
async fn a_pki_setup_without_approle_has_no_approle_steps() {
    let c = client();
    let mut s = PkiSetup::with_prefix("no-approle");
    s.approle = false;
    let r = c.ensure(&s).await.expect("ensure");
    let steps: Vec<Step> = r.steps.iter().map(|s| s.step).collect();
    assert_eq!(
        steps,
        [
            Step::RootMount,
            Step::RootCa,
            Step::IntermediateMount,
            Step::Intermediate,
            Step::Role,
            Step::Policy
        ]
    );
    assert!(r.secret_id.is_none() && r.role_id.is_none());
    assert!(
        c.read_auth_mount("no-approle-approle")
            .await
            .expect("read")
            .is_none()
    );
}
