//! Faults on the local stack (issue 6), each against the real cert-manager controller and
//! OpenBao: a wrong secret-id in the AppRole Secret gives the Issuer cert-manager's
//! `VaultError`, which `e2e plan` reports in cert-manager's words and `e2e run` repairs; and
//! an Issuer that cert-manager saw before Vault was configured recovers once `e2e run` has
//! configured it. Fails, never skips, when the stack's binaries are missing.

use std::time::{Duration, Instant};

use certmanager_types::{AppRoleSecretBuilder, Issuer, VaultAppRoleIssuerBuilder, seed};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use stack::Stack;

use crate::common::{check, describe, on_stack, report, run_ok, stack_up, step};

const NS: &str = seed::NAMESPACE;
const ISSUER: &str = seed::ISSUER_NAME;
const APPROLE_SECRET: &str = seed::APPROLE_SECRET_NAME;

/// Waits (bounded) until cert-manager gives the Issuer's Ready condition `reason`; returns its
/// message.
async fn wait_reason(stack: &Stack, reason: &str) -> String {
    let issuers: Api<Issuer> = Api::namespaced(stack.client(), NS);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(i) = issuers.get_opt(ISSUER).await.expect("read Issuer")
            && i.ready_reason() == Some(reason)
        {
            return i.ready_message().unwrap_or_default().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "the Issuer never got reason {reason}; cert-manager log: {}",
            stack.log_path("cert-manager").display()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn secret_id_in_cluster(stack: &Stack) -> Vec<u8> {
    let secrets: Api<Secret> = Api::namespaced(stack.client(), NS);
    let s = secrets.get(APPROLE_SECRET).await.expect("AppRole Secret");
    s.data.unwrap_or_default()["secretId"].0.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_id_is_reported_with_cert_managers_message_and_run_repairs_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = stack_up(dir.path()).await;
    let out = dir.path().join("out");
    let first = on_stack(&stack, "run", &out, &["--wait-timeout", "120"]);
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    let good = secret_id_in_cluster(&stack).await;

    // Someone edits the Secret by hand (another field manager, a plain update) and gets the
    // secret-id wrong. cert-manager re-checks Issuers when a Secret they use changes.
    let secrets: Api<Secret> = Api::namespaced(stack.client(), NS);
    secrets
        .patch(
            APPROLE_SECRET,
            &PatchParams {
                field_manager: Some("kubectl-edit".into()),
                ..PatchParams::default()
            },
            &Patch::Merge(
                json!({"stringData": {"secretId": "00000000-0000-0000-0000-000000000000"}}),
            ),
        )
        .await
        .expect("edit the Secret");
    let message = wait_reason(&stack, "VaultError").await;
    assert!(!message.is_empty(), "cert-manager gave no message");

    // `e2e plan` asks the API server (dry run) and reports the Issuer in cert-manager's words,
    // and that `run` would put the Secret back.
    let plan = on_stack(&stack, "plan", &out, &["--output", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", describe(&plan));
    let r: Value = serde_json::from_slice(&plan.stdout).expect("plan JSON");
    assert_eq!(r["dry_run"], true);
    assert_eq!(step(&r, "AppRole Secret")["outcome"], "updated", "{r}");
    assert_eq!(step(&r, "Issuer")["outcome"], "unchanged", "{r}");
    let ready = check(&r, "issuer ready");
    assert_eq!(ready["passed"], false, "{ready}");
    let detail = ready["detail"].as_str().expect("detail");
    assert!(
        detail.contains("cert-manager says: reason VaultError") && detail.contains(&message),
        "plan's detail {detail:?} lacks cert-manager's message {message:?}"
    );
    // The secret-id is in no output, and the dry run stored nothing.
    let good_text = String::from_utf8_lossy(&good).into_owned();
    assert!(!String::from_utf8_lossy(&plan.stdout).contains(&good_text));
    assert!(!String::from_utf8_lossy(&plan.stderr).contains(&good_text));
    assert_ne!(
        secret_id_in_cluster(&stack).await,
        good,
        "plan wrote the Secret"
    );

    // The text form says the same on stderr.
    let text = on_stack(&stack, "plan", &out, &[]);
    assert_eq!(text.status.code(), Some(0), "{}", describe(&text));
    let err = String::from_utf8_lossy(&text.stderr);
    assert!(err.contains("would update"), "{err}");
    assert!(err.contains("NOT OK"), "{err}");
    assert!(err.contains(&message), "{err}");

    // `e2e run` puts the recorded secret-id back and waits until cert-manager verifies it.
    let second = on_stack(&stack, "run", &out, &["--wait-timeout", "120"]);
    assert_eq!(second.status.code(), Some(0), "{}", describe(&second));
    let r = report(&out);
    assert_eq!(step(&r, "AppRole Secret")["outcome"], "updated", "{r}");
    assert_eq!(check(&r, "issuer ready")["passed"], true, "{r}");
    assert_eq!(secret_id_in_cluster(&stack).await, good);
    let issuers: Api<Issuer> = Api::namespaced(stack.client(), NS);
    let issuer = issuers.get(ISSUER).await.expect("Issuer");
    assert!(issuer.is_ready(), "{:?}", issuer.status);
    assert_eq!(issuer.ready_reason(), Some("VaultVerified"));
    stack.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_seen_before_vault_is_configured_recovers_once_it_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = stack_up(dir.path()).await;
    let client = stack.client();

    // cert-manager runs and OpenBao is empty: no PKI, no AppRole. The Issuer and its Secret
    // arrive first (as from a GitOps repository applied ahead of Vault's set-up).
    stack::ensure_namespace(&client, NS)
        .await
        .expect("namespace");
    let secret = AppRoleSecretBuilder::seed_flow()
        .namespace(NS)
        .secret_id("not-yet-issued")
        .build()
        .expect("Secret");
    Api::<Secret>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create the Secret");
    let issuer = VaultAppRoleIssuerBuilder::seed_flow()
        .namespace(NS)
        .server(stack.vault_addr())
        .path(seed::VAULT_SIGN_PATH)
        .approle_path(seed::APPROLE_MOUNT)
        .role_id("not-yet-created")
        .build()
        .expect("Issuer");
    let issuers: Api<Issuer> = Api::namespaced(client.clone(), NS);
    issuers
        .create(&PostParams::default(), &issuer)
        .await
        .expect("create the Issuer");
    let message = wait_reason(&stack, "VaultError").await;
    assert!(!message.is_empty(), "cert-manager gave no message");

    // Now Vault is configured (and the Secret and Issuer brought in line): cert-manager's own
    // controller verifies the same Issuer.
    let out = dir.path().join("out");
    run_ok(&stack, &out, &["--wait-timeout", "120"]);
    let r = report(&out);
    assert_eq!(step(&r, "AppRole Secret")["outcome"], "updated", "{r}");
    assert_eq!(step(&r, "Issuer")["outcome"], "updated", "{r}");
    let ready = check(&r, "issuer ready");
    assert_eq!(ready["passed"], true, "{ready}");
    let i = issuers.get(ISSUER).await.expect("Issuer");
    assert_eq!(i.ready_reason(), Some("VaultVerified"), "{:?}", i.status);
    stack.down().await;
}
