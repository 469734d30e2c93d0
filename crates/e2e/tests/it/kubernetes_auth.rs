//! `e2e run --auth kubernetes` on the local stack (issue 14): OpenBao's Kubernetes auth method
//! configured against the real kube-apiserver, cert-manager's real controller logging in with a
//! bound token of the Issuer's service account (OpenBao calls TokenReview with the reviewer's
//! token), istiod's certificate issued through it; another account's token refused; and a
//! cluster set up with AppRole migrated without its Issuer ever being observed not Ready; a
//! fleet choosing the method per cluster.
//!
//! Long because each test starts its own stack (or two) and then checks, in order, everything
//! one run on it should have done: a stack costs seconds, so the checks share it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::Value;
use stack::Stack;
use vault_pki::{PkiClient, SecretString, VaultConfig};

use crate::common::{check, describe, on_stack, report, run_ok, stack_up, step};

const K8S: [&str; 4] = ["--auth", "kubernetes", "--wait-timeout", "120"];

fn vault(stack: &Stack) -> PkiClient {
    PkiClient::new(
        VaultConfig::new(stack.vault_addr()).with_token(SecretString::new(stack.vault_token())),
    )
    .expect("client")
}

/// `e2e doctor --auth kubernetes --output json` on the stack: its exit code and report.
fn doctor(stack: &Stack, out: &std::path::Path) -> (Option<i32>, Value) {
    let o = on_stack(
        stack,
        "doctor",
        out,
        &["--auth", "kubernetes", "--output", "json"],
    );
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("doctor's JSON ({e}): {}", describe(&o)));
    (o.status.code(), v)
}

/// The doctor's finding `id`.
fn finding<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no finding {id} in {v}"))
}

/// The steps of a report that changed something.
fn changed(r: &Value) -> Vec<Value> {
    r["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["outcome"] != "unchanged" && s["outcome"] != "skipped")
        .cloned()
        .collect()
}

/// Whether `system:serviceaccount:cert-manager:cert-manager` may create a token for
/// `istio-system/<account>`, as the API server's RBAC decides.
async fn cert_manager_may_request_a_token_for(stack: &Stack, account: &str) -> bool {
    let reviews: Api<SubjectAccessReview> = Api::all(stack.client());
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some("system:serviceaccount:cert-manager:cert-manager".into()),
            groups: Some(vec![
                "system:serviceaccounts".into(),
                "system:serviceaccounts:cert-manager".into(),
            ]),
            resource_attributes: Some(ResourceAttributes {
                namespace: Some("istio-system".into()),
                verb: Some("create".into()),
                resource: Some("serviceaccounts".into()),
                subresource: Some("token".into()),
                name: Some(account.into()),
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    };
    let answer = reviews
        .create(&PostParams::default(), &review)
        .await
        .expect("SubjectAccessReview");
    answer.status.is_some_and(|s| s.allowed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_auth_logs_in_by_token_review_on_the_real_api_server_and_issues_istiods_certificate()
 {
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = stack_up(dir.path()).await;
    let out = dir.path().join("out");

    // A plan first: it says what it would create, in Vault and in the cluster, and writes
    // nothing.
    let plan = on_stack(
        &stack,
        "plan",
        &out,
        &["--auth", "kubernetes", "--output", "json"],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", describe(&plan));
    let p: Value = serde_json::from_slice(&plan.stdout).expect("the plan's JSON");
    assert_eq!(p["auth"], "kubernetes", "{p}");
    assert_eq!(
        step(&p, "Kubernetes auth mount")["outcome"],
        "created",
        "{p}"
    );
    assert!(
        vault(&stack)
            .read_auth_mount("kubernetes")
            .await
            .expect("read")
            .is_none(),
        "a plan enables nothing"
    );

    let o = run_ok(&stack, &out, &K8S);
    let r = report(&out);
    assert_eq!(r["auth"], "kubernetes", "{r}");
    for name in [
        "Kubernetes auth mount",
        "Kubernetes auth config",
        "Kubernetes auth role",
        "Issuer ServiceAccount",
        "Issuer token Role",
        "Issuer token RoleBinding",
        "reviewer ServiceAccount",
        "reviewer ClusterRoleBinding",
    ] {
        assert_eq!(step(&r, name)["outcome"], "created", "{name}: {r}");
    }
    // No AppRole anywhere: no AppRole steps in Vault, no Secret, no secret-id file.
    for absent in ["AppRole auth mount", "AppRole role", "secret-id"] {
        assert!(
            r["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .all(|s| s["name"] != absent),
            "{absent} in {r}"
        );
    }
    assert_eq!(step(&r, "AppRole Secret")["outcome"], "unchanged", "{r}");
    assert!(!out.join("vault-secret.yaml").exists());
    assert!(out.join("kubernetes-auth.yaml").exists());
    let issuer_yaml: Value = serde_yaml::from_str(
        &std::fs::read_to_string(out.join("vault-issuer.yaml")).expect("vault-issuer.yaml"),
    )
    .expect("YAML");
    assert_eq!(
        issuer_yaml["spec"]["vault"]["auth"],
        serde_json::json!({"kubernetes": {
            "mountPath": "/v1/auth/kubernetes",
            "role": "cert-manager",
            "serviceAccountRef": {"name": "vault-issuer"}
        }})
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !stderr.contains("eyJ"),
        "a token in the progress lines: {stderr}"
    );

    // cert-manager's own controller logged in that way: Ready, VaultVerified.
    assert_eq!(check(&r, "issuer ready")["passed"], true, "{r}");
    // The verification logged in as cert-manager does, signed, and another account was refused.
    assert_eq!(check(&r, "kubernetes login")["passed"], true, "{r}");
    assert_eq!(check(&r, "workload signed")["passed"], true, "{r}");
    assert_eq!(
        check(&r, "refused: login as foo/sleep")["passed"],
        true,
        "{r}"
    );

    // The same refusal through vault-pki: a token of foo/sleep, with the Issuer's audiences.
    let client = stack.client();
    let vault = vault(&stack);
    let (jwt, _) = e2e::kubernetes_auth::request_token(
        &client,
        "foo",
        "sleep",
        Some(vec![e2e::kubernetes_auth::audience("istio-system")]),
        Duration::from_secs(600),
    )
    .await
    .expect("a token of foo/sleep");
    let e = vault
        .kubernetes_login("kubernetes", "cert-manager", &jwt)
        .await
        .expect_err("another account is refused");
    assert!(
        matches!(e, vault_pki::Error::PermissionDenied { .. }),
        "403, got {e}"
    );
    // And a token of the Issuer's account for another audience.
    let (wrong_aud, _) = e2e::kubernetes_auth::request_token(
        &client,
        "istio-system",
        "vault-issuer",
        Some(vec!["vault://istio-system/another-issuer".into()]),
        Duration::from_secs(600),
    )
    .await
    .expect("token");
    assert!(
        vault
            .kubernetes_login("kubernetes", "cert-manager", &wrong_aud)
            .await
            .is_err(),
        "a token for another Issuer's audience is refused"
    );

    // OpenBao asks the real API server: without the reviewer's binding to
    // system:auth-delegator its TokenReview is forbidden and the login fails.
    let (good, _) = e2e::kubernetes_auth::request_token(
        &client,
        "istio-system",
        "vault-issuer",
        Some(vec![e2e::kubernetes_auth::audience("istio-system")]),
        Duration::from_secs(600),
    )
    .await
    .expect("token");
    let login = vault
        .kubernetes_login("kubernetes", "cert-manager", &good)
        .await
        .expect("the Issuer's account logs in");
    // The run's least-privilege policy (and Vault's `default`, as AppRole tokens get).
    assert!(
        login.policies.contains(&"cert-manager".to_string()),
        "{:?}",
        login.policies
    );
    let bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
    bindings
        .delete(
            "vault-token-reviewer-istio-system",
            &DeleteParams::default(),
        )
        .await
        .expect("delete the reviewer's binding");
    let mut refused = None;
    for _ in 0..40 {
        match vault
            .kubernetes_login("kubernetes", "cert-manager", &good)
            .await
        {
            Err(e) => {
                refused = Some(e.to_string());
                break;
            }
            // RBAC's cache may take a moment.
            Ok(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
    let refused = refused.expect("no login without TokenReview rights");
    assert!(
        refused.contains("tokenreviews")
            || refused.contains("forbidden")
            || refused.contains("permission denied"),
        "{refused}"
    );

    // cert-manager may request a token for the Issuer's account and no other.
    assert!(cert_manager_may_request_a_token_for(&stack, "vault-issuer").await);
    assert!(!cert_manager_may_request_a_token_for(&stack, "vault-token-reviewer").await);

    // A re-run puts the binding back; the run after changes nothing.
    run_ok(&stack, &out, &K8S);
    let r = report(&out);
    assert_eq!(
        step(&r, "reviewer ClusterRoleBinding")["outcome"],
        "created",
        "{r}"
    );
    vault
        .kubernetes_login("kubernetes", "cert-manager", &good)
        .await
        .expect("logs in again");
    run_ok(&stack, &out, &K8S);
    let r = report(&out);
    assert!(
        changed(&r).is_empty(),
        "a second run changed: {:?}",
        changed(&r)
    );

    // The reviewer token is renewed when its recorded expiry comes near (and only then).
    let state_path = out.join("e2e-state.json");
    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).expect("state")).expect("JSON");
    let lifetime = state["reviewer_token_lifetime"]
        .as_u64()
        .expect("recorded lifetime");
    assert_eq!(lifetime, 30 * 24 * 3600, "{state}");
    let expires = state["reviewer_token_expires"]
        .as_u64()
        .expect("recorded expiry");
    state["reviewer_token_expires"] = (expires - lifetime / 2 - 60).into();
    std::fs::write(&state_path, state.to_string()).expect("write state");
    run_ok(&stack, &out, &K8S);
    let r = report(&out);
    let cfg_step = step(&r, "Kubernetes auth config");
    assert_eq!(cfg_step["outcome"], "updated", "{r}");
    assert_eq!(cfg_step["detail"], "token_reviewer_jwt renewed", "{r}");
    assert_eq!(check(&r, "kubernetes login")["passed"], true, "{r}");
    let renewed: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).expect("state")).expect("JSON");
    assert!(
        renewed["reviewer_token_expires"].as_u64().unwrap_or(0) >= expires,
        "{renewed}"
    );

    // The doctor: the role as bound, a fresh token of the Issuer's account logs in and signs.
    let (code, v) = doctor(&stack, &out);
    assert_eq!(code, Some(0), "{v}");
    for id in [
        "kubernetes.config",
        "kubernetes.reviewer-token",
        "kubernetes.role",
        "kubernetes.login",
        "sign.test",
        "issuer.ready",
        "issuer.matches-vault",
    ] {
        assert_eq!(finding(&v, id)["severity"], "ok", "{id}: {v}");
    }
    assert!(
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .all(|f| !f["id"].as_str().unwrap_or("").starts_with("approle.")),
        "no AppRole findings with Kubernetes auth: {v}"
    );
    // A role bound to another namespace: named, and the login fails.
    let mut wrong = e2e::kubernetes_auth::role("default", &vault_pki::PkiSetup::default());
    wrong.token_policies = vec!["cert-manager".into()];
    vault
        .write_kubernetes_role("kubernetes", "cert-manager", &wrong)
        .await
        .expect("rebind the role");
    let (code, v) = doctor(&stack, &out);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(finding(&v, "kubernetes.role")["severity"], "error", "{v}");
    assert!(
        finding(&v, "kubernetes.role")["message"]
            .as_str()
            .unwrap_or("")
            .contains("bound_service_account_namespaces"),
        "{v}"
    );
    assert_eq!(finding(&v, "kubernetes.login")["severity"], "error", "{v}");
    run_ok(&stack, &out, &K8S);
    assert_eq!(
        step(&report(&out), "Kubernetes auth role")["outcome"],
        "updated"
    );

    // istiod's certificate, issued by cert-manager through the Issuer, chains to the root.
    let (crt, _key) = stack
        .issue_istiod_tls("istio-system", "vault-issuer", "cluster.local")
        .await
        .unwrap_or_else(|e| {
            panic!(
                "istiod's certificate: {e}; cert-manager log {}",
                stack.log_path("cert-manager").display()
            )
        });
    let ca = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");
    let inter = std::fs::read_to_string(out.join("istioca.crt")).expect("istioca.crt");
    let leaf = pem::encode(&pem::parse_many(&crt).expect("PEM")[0]);
    assert_eq!(
        e2e::verify::chains_to_for_server(&leaf, &[&inter], &ca, rustls_pki_types::UnixTime::now()),
        Ok(())
    );
    stack.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approle_cluster_is_migrated_to_kubernetes_auth_without_its_issuer_going_not_ready() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = stack_up(dir.path()).await;
    let out = dir.path().join("out");
    run_ok(&stack, &out, &["--wait-timeout", "120"]);
    assert_eq!(report(&out)["auth"], "approle");
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("e2e-state.json")).expect("state"))
            .expect("JSON");
    let old_secret_id = SecretString::new(state["secret_id"].as_str().expect("a secret-id"));
    let client = stack.client();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "istio-system");
    assert!(
        secrets
            .get_opt("cert-manager-vault-approle")
            .await
            .expect("read")
            .is_some()
    );

    // Watch the Issuer during the migration: every read must find it Ready.
    let issuers: Api<certmanager_types::Issuer> = Api::namespaced(client.clone(), "istio-system");
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        let issuers = issuers.clone();
        tokio::spawn(async move {
            let (mut reads, mut not_ready) = (0u32, Vec::new());
            while !done.load(Ordering::SeqCst) {
                let i = issuers.get("vault-issuer").await.expect("Issuer");
                reads += 1;
                if !i.is_ready() {
                    not_ready.push(format!("{:?}: {:?}", i.ready_reason(), i.ready_message()));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (reads, not_ready)
        })
    };
    let run = {
        let kubeconfig = stack.kubeconfig_path().to_path_buf();
        let (addr, token) = (
            stack.vault_addr().to_string(),
            stack.vault_token().to_string(),
        );
        let out = out.clone();
        tokio::task::spawn_blocking(move || {
            crate::common::e2e()
                .arg("run")
                .arg("--out")
                .arg(&out)
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(K8S)
                .env("VAULT_ADDR", addr)
                .env("VAULT_TOKEN", token)
                .output()
                .expect("running e2e")
        })
    };
    let o = run.await.expect("the run");
    done.store(true, Ordering::SeqCst);
    let (reads, not_ready) = watcher.await.expect("the watcher");
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert!(reads > 5, "the Issuer was read {reads} times only");
    assert!(
        not_ready.is_empty(),
        "the Issuer was not Ready: {not_ready:?}"
    );

    let r = report(&out);
    assert_eq!(r["auth"], "kubernetes");
    assert_eq!(step(&r, "Issuer")["outcome"], "updated", "{r}");
    assert_eq!(step(&r, "AppRole Secret")["outcome"], "deleted", "{r}");
    assert_eq!(step(&r, "AppRole secret-id")["outcome"], "deleted", "{r}");
    assert_eq!(
        step(&r, "remove vault-secret.yaml")["outcome"],
        "deleted",
        "{r}"
    );
    // The order: Vault's side and the RBAC before the Issuer, the Secret after it is Ready.
    let names: Vec<&str> = r["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    let at = |n: &str| {
        names
            .iter()
            .position(|x| *x == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    assert!(at("Kubernetes auth role") < at("Issuer"));
    assert!(at("Issuer token RoleBinding") < at("Issuer"));
    assert!(at("Issuer") < at("AppRole Secret"));
    assert_eq!(check(&r, "kubernetes login")["passed"], true, "{r}");

    // The Secret is gone, the Issuer is Ready for its new spec, the old secret-id is dead.
    assert!(
        secrets
            .get_opt("cert-manager-vault-approle")
            .await
            .expect("read")
            .is_none()
    );
    let issuer = issuers.get("vault-issuer").await.expect("Issuer");
    assert!(issuer.is_ready());
    let cond = issuer.ready_condition().expect("Ready");
    assert_eq!(cond.observed_generation, issuer.metadata.generation);
    let auth = &issuer
        .spec
        .config
        .vault
        .as_ref()
        .expect("a Vault Issuer")
        .auth;
    assert!(
        auth.kubernetes.is_some() && auth.app_role.is_none(),
        "{auth:?}"
    );
    assert!(!out.join("vault-secret.yaml").exists());
    let state = std::fs::read_to_string(out.join("e2e-state.json")).expect("state");
    assert!(!state.contains(old_secret_id.expose_secret()), "{state}");
    assert!(
        vault(&stack)
            .lookup_secret_id("approle", "cert-manager", &old_secret_id)
            .await
            .expect("lookup")
            .is_none(),
        "the AppRole secret-id was destroyed"
    );

    // A second run changes nothing.
    let second = on_stack(&stack, "run", &out, &K8S);
    assert_eq!(second.status.code(), Some(0), "{}", describe(&second));
    let r = report(&out);
    assert!(
        changed(&r).is_empty(),
        "a second run changed: {:?}",
        changed(&r)
    );
    stack.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_chooses_kubernetes_auth_per_cluster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let up = |d: std::path::PathBuf, openbao: bool| async move {
        let mut cfg = stack::StackConfig::new(d);
        cfg.openbao = openbao;
        Stack::up(cfg).await.unwrap_or_else(|e| {
            panic!("Stack::up failed (build it with crates/stack/build-stack.sh): {e}")
        })
    };
    let east = up(dir.path().join("east"), true).await;
    let west = up(dir.path().join("west"), false).await;
    let file = dir.path().join("fleet.yaml");
    std::fs::write(
        &file,
        format!(
            "root: {{}}\nclusters:\n- name: east\n  kubeconfig: {}\n  auth: kubernetes\n- name: west\n  kubeconfig: {}\n",
            east.kubeconfig_path().display(),
            west.kubeconfig_path().display()
        ),
    )
    .expect("fleet file");
    let out = dir.path().join("out");
    let fleet_run = |extra: &[&str]| {
        crate::common::e2e()
            .args(["fleet", "run", "--fleet"])
            .arg(&file)
            .arg("--out")
            .arg(&out)
            .args(extra)
            .env("VAULT_ADDR", east.vault_addr())
            .env("VAULT_TOKEN", east.vault_token())
            .output()
            .expect("e2e fleet run")
    };
    let o = fleet_run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));

    let east_r = report(&out.join("east"));
    assert_eq!(east_r["auth"], "kubernetes", "{east_r}");
    assert_eq!(
        step(&east_r, "Kubernetes auth mount")["target"],
        "sys/auth/kubernetes-east",
        "{east_r}"
    );
    assert_eq!(check(&east_r, "issuer ready")["passed"], true, "{east_r}");
    assert_eq!(
        check(&east_r, "kubernetes login")["passed"],
        true,
        "{east_r}"
    );
    let west_r = report(&out.join("west"));
    assert_eq!(west_r["auth"], "approle", "{west_r}");
    assert_eq!(
        step(&west_r, "AppRole Secret")["outcome"],
        "created",
        "{west_r}"
    );
    assert_eq!(check(&west_r, "approle login")["passed"], true, "{west_r}");
    assert!(!out.join("east/vault-secret.yaml").exists());
    assert!(out.join("west/vault-secret.yaml").exists());

    // East's role trusts east's API server only: a token west's API server signs for an
    // account of the same name and namespace, with east's audience, is refused.
    let west_client = west.client();
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        Api::namespaced(west_client.clone(), "istio-system");
    let sa = k8s_openapi::api::core::v1::ServiceAccount {
        metadata: kube::api::ObjectMeta {
            name: Some("vault-issuer".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    accounts
        .create(&PostParams::default(), &sa)
        .await
        .expect("west's vault-issuer");
    let (west_jwt, _) = e2e::kubernetes_auth::request_token(
        &west_client,
        "istio-system",
        "vault-issuer",
        Some(vec![e2e::kubernetes_auth::audience("istio-system")]),
        Duration::from_secs(600),
    )
    .await
    .expect("west's token");
    assert!(
        vault(&east)
            .kubernetes_login("kubernetes-east", "cert-manager", &west_jwt)
            .await
            .is_err(),
        "east's Kubernetes auth refuses a token of west's API server"
    );

    // A second fleet run changes nothing.
    let o = fleet_run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    for name in ["east", "west"] {
        let r = report(&out.join(name));
        assert!(changed(&r).is_empty(), "{name} changed: {:?}", changed(&r));
    }

    // East dropped from the file: its Kubernetes auth mount is reported as left behind, and
    // removed with --prune (west's AppRole is not touched).
    std::fs::write(
        &file,
        format!(
            "root: {{}}\nclusters:\n- name: west\n  kubeconfig: {}\n",
            west.kubeconfig_path().display()
        ),
    )
    .expect("fleet file without east");
    let o = fleet_run(&["--prune"]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let fr: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("report.json")).expect("fleet report"),
    )
    .expect("JSON");
    let orphan = &fr["orphaned"][0];
    assert_eq!(orphan["name"], "east", "{fr}");
    assert!(
        orphan["left"]
            .as_array()
            .expect("left")
            .iter()
            .any(|p| p == "sys/auth/kubernetes-east"),
        "{fr}"
    );
    assert_eq!(orphan["pruned"], true, "{fr}");
    assert!(
        vault(&east)
            .read_auth_mount("kubernetes-east")
            .await
            .expect("read")
            .is_none(),
        "pruned"
    );
    assert!(
        vault(&east)
            .read_approle_role("approle", "cert-manager-west")
            .await
            .expect("read")
            .is_some()
    );
    west.down().await;
    east.down().await;
}
