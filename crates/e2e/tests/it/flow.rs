//! The flow on the local stack (issue 6): `e2e run --kubeconfig` against a real kube-apiserver
//! with cert-manager's CRDs and its real controller, and OpenBao. cert-manager's own controller
//! logs in to OpenBao with our AppRole (Issuer Ready, reason VaultVerified), issues istiod's
//! certificate through our Issuer, and the objects read back unpruned. Fails, never skips, when
//! the stack's binaries are missing (the error names scripts/build-stack.sh).

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::Value;

use crate::common::{describe, on_stack, report, run_ok, stack_up, step};

/// Every field of `want` is in `have` with the same value (the API server pruned nothing).
fn assert_contains(have: &Value, want: &Value, at: &str) {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => {
            for (k, v) in w {
                let hv = h
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}.{k} was pruned: read back {have}"));
                assert_contains(hv, v, &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(have, want, "{at} differs"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_run_against_the_local_cluster_stack() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = stack_up(dir.path()).await;
    let out = dir.path().join("out");

    // The whole flow, applied to the cluster.
    let first = run_ok(&stack, &out, &["--wait-timeout", "120"]);
    let r1 = report(&out);
    // cert-manager's namespace exists already (the stack made it): e2e takes it over.
    let o = &step(&r1, "namespace cert-manager")["outcome"];
    assert!(
        o == "created" || o == "updated" || o == "unchanged",
        "namespace cert-manager: {o}"
    );
    for name in [
        "namespace istio-system",
        "namespace foo",
        "AppRole Secret",
        "Issuer",
        "istio-root-ca Secret",
    ] {
        assert_eq!(step(&r1, name)["outcome"], "created", "{name}");
    }
    // No helm here: the command is printed; no TSB CRD: the ControlPlane is skipped, said so.
    assert_eq!(step(&r1, "istio-csr (helm)")["outcome"], "skipped");
    assert!(
        String::from_utf8_lossy(&first.stderr)
            .contains("helm upgrade --install cert-manager-istio-csr")
    );
    assert_eq!(step(&r1, "ControlPlane")["outcome"], "skipped");
    let checks = r1["verification"].as_array().expect("checks");
    let ready = checks
        .iter()
        .find(|c| c["name"] == "issuer ready")
        .expect("issuer ready check");
    assert_eq!(ready["passed"], true, "{ready}");
    assert!(
        ready["detail"]
            .as_str()
            .unwrap_or("")
            .contains("VaultVerified"),
        "{ready}"
    );

    // The objects read back from the API server with nothing pruned.
    let client = stack.client();
    let issuers: Api<certmanager_types::Issuer> = Api::namespaced(client.clone(), "istio-system");
    let issuer = issuers.get("vault-issuer").await.expect("Issuer");
    assert!(issuer.is_ready());
    let written: Value = serde_yaml::from_str(
        &std::fs::read_to_string(out.join("vault-issuer.yaml")).expect("yaml"),
    )
    .expect("yaml");
    let read_back = serde_json::to_value(&issuer).expect("json");
    assert_contains(&read_back["spec"], &written["spec"], "Issuer.spec");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "cert-manager");
    let root = secrets.get("istio-root-ca").await.expect("istio-root-ca");
    let ca = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");
    let pem_in_secret = root
        .data
        .unwrap_or_default()
        .get("ca.cert.pem")
        .map(|b| String::from_utf8_lossy(&b.0).into_owned());
    assert_eq!(
        pem_in_secret.as_deref(),
        Some(ca.as_str()),
        "istio-root-ca holds the root"
    );

    // Second run: everything unchanged, in Vault, in the files and in the cluster.
    let second = on_stack(&stack, "run", &out, &[]);
    assert_eq!(second.status.code(), Some(0), "{}", describe(&second));
    let r2 = report(&out);
    let changed: Vec<&Value> = r2["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["outcome"] != "unchanged" && s["outcome"] != "skipped")
        .collect();
    assert!(changed.is_empty(), "second run changed: {changed:?}");

    // cert-manager issues istiod's certificate through our Issuer (what istio-csr asks for),
    // and it chains to ca.crt.
    let (crt, _key) = stack
        .issue_istiod_tls("istio-system", "vault-issuer", "cluster.local")
        .await
        .unwrap_or_else(|e| panic!("istiod's certificate: {e}"));
    let tls = Api::<Secret>::namespaced(client.clone(), "istio-system")
        .get("istiod-tls")
        .await
        .expect("istiod-tls");
    let data = tls.data.unwrap_or_default();
    let inter = std::fs::read_to_string(out.join("istioca.crt")).expect("istioca.crt");
    let leaf = pem::parse_many(&crt).expect("PEM")[0].clone();
    let leaf_pem = pem::encode(&leaf);
    let now = rustls_pki_types::UnixTime::now();
    // istiod's is a serving certificate: checked for server-auth usage, through the intermediate.
    assert_eq!(
        e2e::verify::chains_to_for_server(&leaf_pem, &[&inter], &ca, now),
        Ok(()),
        "istiod-tls chains to ca.crt"
    );
    let ca_in_secret = String::from_utf8_lossy(&data.get("ca.crt").expect("ca.crt").0).into_owned();
    assert!(
        e2e::verify::same_cert(
            pem::encode(&pem::parse_many(&ca_in_secret).expect("PEM")[0]).as_str(),
            &inter
        ) || e2e::verify::same_cert(&ca_in_secret, &ca),
        "istiod-tls ca.crt is the intermediate or the root"
    );

    // With the ControlPlane CRD generated from tsb-types installed, e2e applies the
    // ControlPlane and the API server validates it and keeps every field.
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::CustomResourceExt as _;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.patch(
        e2e::kube::CONTROL_PLANE_CRD,
        &PatchParams::apply("e2e-test").force(),
        &Patch::Apply(&tsb_types::ControlPlane::crd()),
    )
    .await
    .expect("install the ControlPlane CRD");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let crd = crds.get(e2e::kube::CONTROL_PLANE_CRD).await.expect("CRD");
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        if established {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ControlPlane CRD not Established"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let third = on_stack(&stack, "run", &out, &[]);
    assert_eq!(third.status.code(), Some(0), "{}", describe(&third));
    let r3 = report(&out);
    assert_eq!(step(&r3, "ControlPlane")["outcome"], "created", "{r3}");
    let cp_check = r3["verification"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "unpruned: ControlPlane istio-system/controlplane")
        .cloned()
        .unwrap_or_else(|| panic!("no unpruned ControlPlane check: {r3}"));
    assert_eq!(cp_check["passed"], true, "{cp_check}");
    let fourth = on_stack(&stack, "run", &out, &[]);
    assert_eq!(fourth.status.code(), Some(0), "{}", describe(&fourth));
    assert_eq!(step(&report(&out), "ControlPlane")["outcome"], "unchanged");

    stack.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_that_cannot_reach_vault_is_reported_with_cert_managers_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = stack_up(dir.path()).await;
    let out = dir.path().join("out");
    let o = on_stack(
        &stack,
        "run",
        &out,
        &[
            "--issuer-vault-server",
            "http://127.0.0.1:9",
            "--wait-timeout",
            "20",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("step `cluster: Issuer ready` failed"), "{err}");
    assert!(err.contains("cert-manager says"), "{err}");
    assert!(
        err.contains("VaultError") || err.contains("connection refused"),
        "{err}"
    );
    stack.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_against_an_empty_cluster_says_what_would_be_created_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = stack_up(dir.path()).await;
    let out = dir.path().join("out");
    // Vault configured first (no cluster), so the plan has every object to show.
    let vault_only = crate::common::e2e()
        .arg("run")
        .arg("--out")
        .arg(&out)
        .env("VAULT_ADDR", stack.vault_addr())
        .env("VAULT_TOKEN", stack.vault_token())
        .output()
        .expect("e2e run");
    assert_eq!(
        vault_only.status.code(),
        Some(0),
        "{}",
        describe(&vault_only)
    );

    let plan = on_stack(&stack, "plan", &out, &["--output", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", describe(&plan));
    let r: Value = serde_json::from_slice(&plan.stdout).expect("plan JSON");
    for name in [
        "namespace istio-system",
        "namespace foo",
        "AppRole Secret",
        "Issuer",
    ] {
        assert_eq!(step(&r, name)["outcome"], "created", "{name}: {r}");
    }
    // Objects in a namespace that does not exist yet are not sent (the server would refuse
    // them for that alone); cert-manager's namespace exists, so istio-root-ca is dry-run.
    assert!(
        step(&r, "Issuer")["detail"]
            .as_str()
            .unwrap_or("")
            .contains("namespace would be created first"),
        "{r}"
    );
    assert_eq!(
        step(&r, "istio-root-ca Secret")["detail"],
        "server-side apply, dry run"
    );
    // No Issuer yet: no readiness check; nothing was created.
    assert!(
        r["verification"]
            .as_array()
            .is_none_or(|c| c.iter().all(|c| c["name"] != "issuer ready")),
        "{r}"
    );
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(stack.client());
    assert!(
        namespaces
            .get_opt("istio-system")
            .await
            .expect("read")
            .is_none()
    );
    let secrets: Api<Secret> = Api::namespaced(stack.client(), "cert-manager");
    assert!(
        secrets
            .get_opt("istio-root-ca")
            .await
            .expect("read")
            .is_none()
    );
    stack.down().await;
}
