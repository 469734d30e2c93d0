//! `e2e doctor` on real servers: a healthy setup gives no error and writes nothing; each thing
//! broken on its own (on OpenBao, then on the local cluster) is named by its finding.

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use vault_pki::dev_server::DevServer;
use vault_pki::{PkiClient, VaultConfig};

use crate::common::{describe, dev_server, e2e_against, stack_up};

fn with_vault(server: &DevServer, command: &str, out: &Path, extra: &[&str]) -> Output {
    let mut c = e2e_against(server);
    c.arg(command).arg("--out").arg(out).args(extra);
    c.output().expect("running e2e")
}

/// `e2e doctor --output json`: its exit code and findings.
fn doctor(server: &DevServer, out: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["--output", "json"];
    args.extend_from_slice(extra);
    let o = with_vault(server, "doctor", out, &args);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("doctor's JSON ({e}): {}", describe(&o)));
    (o.status.code(), v)
}

fn errors(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["id"].as_str().unwrap_or("").to_string())
        .collect()
}

fn root_client(server: &DevServer) -> PkiClient {
    PkiClient::new(VaultConfig::new(server.addr()).with_token(server.root_token().clone()))
        .expect("client")
}

/// Every file in `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    files.sort();
    files
}

fn run_ok(server: &DevServer, out: &Path) {
    let o = with_vault(server, "run", out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_a_healthy_vault_and_names_each_broken_part() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    run_ok(&server, &out);
    let before = snapshot(&out);
    let (code, v) = doctor(&server, &out, &[]);
    assert_eq!(code, Some(0), "{v}");
    assert!(errors(&v).is_empty(), "{v}");
    assert_eq!(snapshot(&out), before, "doctor writes nothing to --out");
    let vault = root_client(&server);

    // A policy wider than the sign path.
    let wide = vault_pki::Policy::new()
        .path(
            "istioca/sign/cluster-local",
            [vault_pki::Capability::Update],
        )
        .path(
            "istioca/*",
            [vault_pki::Capability::Read, vault_pki::Capability::Update],
        );
    vault
        .write_policy("cert-manager", &wide)
        .await
        .expect("policy");
    let (code, v) = doctor(&server, &out, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(errors(&v), ["policy.least-privilege"], "{v}");
    run_ok(&server, &out);

    // A role that requires a common name: Ready would still say yes, nothing gets signed.
    let mut role = vault_pki::PkiSetup::default()
        .with_trust_domain("cluster.local")
        .role;
    role.require_cn = true;
    vault.write_pki_role("istioca", &role).await.expect("role");
    let (_, v) = doctor(&server, &out, &[]);
    assert_eq!(errors(&v), ["role.require-cn", "sign.test"], "{v}");
    run_ok(&server, &out);

    // A role whose URI SANs do not cover the trust domain.
    let mut role = vault_pki::PkiSetup::default()
        .with_trust_domain("other.domain")
        .role;
    role.require_cn = false;
    vault.write_pki_role("istioca", &role).await.expect("role");
    let (_, v) = doctor(&server, &out, &[]);
    assert_eq!(errors(&v), ["role.uri-sans", "sign.test"], "{v}");
    run_ok(&server, &out);

    // The recorded secret-id destroyed.
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("e2e-state.json")).expect("state"))
            .expect("JSON");
    vault
        .destroy_secret_id_accessor(
            "approle",
            "cert-manager",
            state["secret_id_accessor"].as_str().expect("accessor"),
        )
        .await
        .expect("destroy");
    let (_, v) = doctor(&server, &out, &[]);
    assert_eq!(errors(&v), ["approle.secret-id", "approle.login"], "{v}");
    run_ok(&server, &out);

    // A margin longer than the intermediate's life: a warning, not an error.
    let (code, v) = doctor(&server, &out, &["--margin", "50000h"]);
    assert_eq!(code, Some(0), "{v}");
    assert!(
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["id"] == "intermediate.expiry" && f["severity"] == "warning"),
        "{v}"
    );

    // An intermediate mount whose default issuer is not signed by the root.
    let foreign = vault_pki::generate_root_ca(
        "Not Our Intermediate",
        std::time::Duration::from_secs(86_400 * 400),
    )
    .expect("a CA");
    vault
        .import_ca_bundle("istioca", &foreign)
        .await
        .expect("import");
    let list = vault.list_issuers("istioca").await.expect("issuers");
    for id in &list.keys {
        if let Some(i) = vault.read_issuer("istioca", id).await.expect("issuer")
            && e2e::verify::same_cert(&i.certificate, &foreign.cert_pem)
        {
            vault
                .set_default_issuer("istioca", id)
                .await
                .expect("default");
        }
    }
    let (_, v) = doctor(&server, &out, &[]);
    assert!(
        errors(&v).contains(&"intermediate.chains-to-root".to_string()),
        "{v}"
    );

    // Prometheus gauges for a textfile collector.
    let o = with_vault(&server, "doctor", &out, &["--output", "prometheus"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("e2e_doctor_findings{severity=\"error\"} "),
        "{text}"
    );
    assert!(
        text.contains("e2e_doctor_ca_days_left{ca=\"root\""),
        "{text}"
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_an_intermediate_in_the_root_file_a_wrong_cluster_id_and_an_issuer_pointing_elsewhere()
 {
    use k8s_openapi::ByteString;
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};

    let dir = tempfile::tempdir().expect("tempdir");
    let stack = stack_up(dir.path()).await;
    let out = dir.path().join("out");
    let helm = stack::default_bin_dir().join("helm");
    let chart = crate::istio_csr::istio_csr_chart();
    let tools = [
        "--helm",
        helm.to_str().expect("path"),
        "--istio-csr-chart",
        chart.to_str().expect("path"),
    ];
    crate::common::run_ok(&stack, &out, &tools);
    let doctor_with = |extra: &[&str]| {
        let mut args = vec!["--output", "json"];
        args.extend_from_slice(extra);
        let o = crate::common::on_stack(&stack, "doctor", &out, &args);
        let v: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("doctor's JSON ({e}): {}", describe(&o)));
        (o.status.code(), v)
    };
    let doctor_on_stack = || doctor_with(&[]);
    let (code, v) = doctor_on_stack();
    assert_eq!(code, Some(0), "{v}");
    assert!(errors(&v).is_empty(), "{v}");
    for id in [
        "issuer.ready",
        "istio-csr.root-file",
        "cluster-id.consistent",
    ] {
        assert!(
            v["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .any(|f| f["id"] == id && f["severity"] == "ok"),
            "{id} ok in {v}"
        );
    }

    // istio-csr installed for another cluster ID than the one checked.
    let (_, v) = doctor_with(&["--cluster-id", "elsewhere"]);
    assert_eq!(errors(&v), ["cluster-id.consistent"], "{v}");

    // The seed's mistake: the intermediate in istio-csr's root file.
    let client = stack.client();
    let secrets: kube::Api<Secret> = kube::Api::namespaced(client.clone(), "cert-manager");
    let inter = std::fs::read_to_string(out.join("istioca.crt")).expect("istioca.crt");
    let mut data = std::collections::BTreeMap::new();
    data.insert("ca.cert.pem".to_string(), ByteString(inter.into_bytes()));
    let patch = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "data": data});
    secrets
        .patch(
            "istio-root-ca",
            &PatchParams::apply("test").force(),
            &Patch::Apply(&patch),
        )
        .await
        .expect("patch istio-root-ca");
    let (code, v) = doctor_on_stack();
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(errors(&v), ["root-file.is-root"], "{v}");

    // An Issuer signing at another path.
    let gvk = GroupVersionKind::gvk("cert-manager.io", "v1", "Issuer");
    let issuers: kube::Api<DynamicObject> =
        kube::Api::namespaced_with(client.clone(), "istio-system", &ApiResource::from_gvk(&gvk));
    let patch = serde_json::json!({"spec": {"vault": {"path": "istioca/sign/other"}}});
    issuers
        .patch(
            "vault-issuer",
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .expect("patch the Issuer");
    let (_, v) = doctor_on_stack();
    assert!(
        errors(&v).contains(&"issuer.matches-vault".to_string()),
        "{v}"
    );
    stack.down().await;
}
