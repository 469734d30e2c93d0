//! `e2e fleet run` and `e2e fleet plan` against one real OpenBao: every cluster its own
//! intermediate and credentials under one root, idempotent, growing by one cluster, orphans
//! reported and pruned, and each cluster's AppRole refused everywhere but its own sign path.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use vault_pki::dev_server::DevServer;
use vault_pki::{PkiClient, SecretString, SignOptions, VaultConfig};

use crate::common::{describe, dev_server, e2e, e2e_against, text};

/// Writes a fleet file listing `clusters` (generated root) into `dir`.
fn fleet_file(dir: &Path, clusters: &[&str]) -> PathBuf {
    let list: Vec<String> = clusters.iter().map(|c| format!("{{name: {c}}}")).collect();
    let path = dir.join("fleet.yaml");
    std::fs::write(
        &path,
        format!("root: {{}}\nclusters: [{}]\n", list.join(", ")),
    )
    .expect("write the fleet file");
    path
}

/// `e2e fleet <command> --fleet <file> --out <out> [extra]` against `server`.
fn fleet(server: &DevServer, command: &str, file: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut c = e2e_against(server);
    c.args(["fleet", command, "--fleet"])
        .arg(file)
        .arg("--out")
        .arg(out)
        .args(extra);
    c.output().expect("running e2e fleet")
}

fn fleet_ok(server: &DevServer, file: &Path, out: &Path, extra: &[&str]) -> Value {
    let o = fleet(server, "run", file, out, extra);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    fleet_report(out)
}

fn fleet_report(out: &Path) -> Value {
    let s = std::fs::read_to_string(out.join("report.json")).expect("report.json");
    serde_json::from_str(&s).expect("report.json is JSON")
}

fn cluster<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no cluster {name} in {r}"))
}

fn changed(v: &Value) -> usize {
    v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["outcome"] == "created" || s["outcome"] == "updated")
        .count()
}

fn root_client(server: &DevServer) -> PkiClient {
    PkiClient::new(VaultConfig::new(server.addr()).with_token(server.root_token().clone()))
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_run_is_idempotent_grows_by_one_cluster_and_prunes_only_when_asked() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let file = fleet_file(dir.path(), &["east", "west", "north"]);

    let r = fleet_ok(&server, &file, &out, &[]);
    assert_eq!(r["status"], "done", "{r}");
    let root = std::fs::read_to_string(out.join("ca.crt")).expect("the fleet's ca.crt");
    for name in ["east", "west", "north"] {
        let c = cluster(&r, name);
        assert_eq!(c["status"], "done", "{c}");
        assert_eq!(c["cluster_id"], name);
        assert_eq!(c["verification"].as_array().map(Vec::len), Some(8), "{c}");
        let own = out.join(name);
        let ca = std::fs::read_to_string(own.join("ca.crt")).expect("the cluster's ca.crt");
        assert!(
            e2e::verify::same_cert(&ca, &root),
            "{name} trusts the fleet's root"
        );
        let issuer = std::fs::read_to_string(own.join("vault-issuer.yaml")).expect("issuer");
        assert!(
            issuer.contains(&format!("istioca-{name}/sign/cluster-local")),
            "{issuer}"
        );
        let secret = std::fs::read_to_string(own.join("vault-secret.yaml")).expect("secret");
        assert!(secret.contains("kind: Secret"), "{name}'s own Secret");
    }
    // The files agree with what Vault holds: each cluster's intermediate is its mount's CA.
    let vault = root_client(&server);
    for name in ["east", "west", "north"] {
        let have = vault
            .read_ca(&format!("istioca-{name}"))
            .await
            .expect("read the CA")
            .expect("a CA");
        let file =
            std::fs::read_to_string(out.join(name).join("istioca.crt")).expect("istioca.crt");
        assert!(
            e2e::verify::same_cert(&have, &file),
            "{name}'s istioca.crt is Vault's"
        );
    }

    // Again: nothing changes anywhere.
    let again = fleet_ok(&server, &file, &out, &[]);
    assert_eq!(changed(&again["root"]), 0, "{again}");
    for name in ["east", "west", "north"] {
        assert_eq!(changed(cluster(&again, name)), 0, "{again}");
    }

    // One more cluster: only it changes.
    let file = fleet_file(dir.path(), &["east", "west", "north", "south"]);
    let grown = fleet_ok(&server, &file, &out, &[]);
    assert_eq!(changed(&grown["root"]), 0, "{grown}");
    for name in ["east", "west", "north"] {
        assert_eq!(changed(cluster(&grown, name)), 0, "{grown}");
    }
    assert!(changed(cluster(&grown, "south")) > 0, "{grown}");

    // A plan of a fifth cluster writes nothing anywhere.
    let file = fleet_file(dir.path(), &["east", "west", "north", "south", "up"]);
    let before = std::fs::read(out.join("report.json")).expect("report");
    let plan = fleet(&server, "plan", &file, &out, &["--output", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", describe(&plan));
    let planned: Value = serde_json::from_slice(&plan.stdout).expect("JSON on stdout");
    assert!(changed(cluster(&planned, "up")) > 0, "{planned}");
    assert!(!out.join("up").exists(), "a plan writes no folder");
    assert_eq!(std::fs::read(out.join("report.json")).ok(), Some(before));
    assert!(
        vault
            .read_mount("istioca-up")
            .await
            .expect("read")
            .is_none()
    );

    // West removed from the file: reported with what it left, nothing removed.
    let file = fleet_file(dir.path(), &["east", "north", "south"]);
    let shrunk = fleet_ok(&server, &file, &out, &[]);
    let orphans = shrunk["orphaned"].as_array().expect("orphaned");
    assert_eq!(orphans.len(), 1, "{shrunk}");
    assert_eq!(orphans[0]["name"], "west");
    assert_eq!(orphans[0]["pruned"], false);
    let left: Vec<&str> = orphans[0]["left"]
        .as_array()
        .expect("left")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        left,
        [
            "sys/mounts/istioca-west",
            "sys/policies/acl/cert-manager-west",
            "auth/approle/role/cert-manager-west"
        ]
    );
    assert!(
        vault
            .read_mount("istioca-west")
            .await
            .expect("read")
            .is_some()
    );

    // --prune removes it, and nothing of the listed clusters.
    let pruned = fleet_ok(&server, &file, &out, &["--prune"]);
    assert_eq!(pruned["orphaned"][0]["pruned"], true, "{pruned}");
    assert!(
        vault
            .read_mount("istioca-west")
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        vault
            .read_policy("cert-manager-west")
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        vault
            .read_approle_role("approle", "cert-manager-west")
            .await
            .expect("read")
            .is_none()
    );
    for name in ["east", "north", "south"] {
        assert!(
            vault
                .read_mount(&format!("istioca-{name}"))
                .await
                .expect("read")
                .is_some(),
            "{name} kept"
        );
    }
    let after = fleet_ok(&server, &file, &out, &[]);
    assert_eq!(
        after["orphaned"].as_array().map(Vec::len),
        Some(0),
        "{after}"
    );
    server.stop();
}

/// The role-id and secret-id `e2e` recorded for a cluster.
fn credentials(out: &Path) -> (String, SecretString) {
    let s = std::fs::read_to_string(out.join("e2e-state.json")).expect("state");
    let v: Value = serde_json::from_str(&s).expect("JSON");
    (
        v["role_id"].as_str().expect("role_id").to_string(),
        SecretString::new(v["secret_id"].as_str().expect("secret_id")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_clusters_approle_signs_only_at_its_own_path() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let names = ["a", "b", "c"];
    fleet_ok(&server, &fleet_file(dir.path(), &names), &out, &[]);
    let vault = root_client(&server);
    let id = e2e::verify::workload_identity("cluster.local");
    let csr = e2e::verify::workload_csr(&id).expect("CSR");
    let mut opts = SignOptions::default();
    opts.uri_sans = vec![id.clone()];
    let denied = |r: Result<(), vault_pki::Error>, what: &str| match r {
        Err(vault_pki::Error::PermissionDenied { .. }) => {}
        other => panic!("{what}: want 403, got {other:?}"),
    };
    for a in names {
        let (role_id, secret_id) = credentials(&out.join(a));
        let as_a = vault
            .login_approle_client("approle", &role_id, &secret_id)
            .await
            .expect("login");
        let own = as_a
            .sign_csr(&format!("istioca-{a}"), "cluster-local", &csr, &opts)
            .await;
        assert!(own.is_ok(), "{a} signs at its own path: {own:?}");
        for b in names.iter().filter(|b| **b != a) {
            denied(
                as_a.sign_csr(&format!("istioca-{b}"), "cluster-local", &csr, &opts)
                    .await
                    .map(|_| ()),
                &format!("{a} signing at {b}'s path"),
            );
            denied(
                as_a.create_secret_id("approle", &format!("cert-manager-{b}"))
                    .await
                    .map(|_| ()),
                &format!("{a} making a secret-id for {b}'s role"),
            );
            denied(
                as_a.read_role_id("approle", &format!("cert-manager-{b}"))
                    .await
                    .map(|_| ()),
                &format!("{a} reading {b}'s role-id"),
            );
        }
        denied(
            as_a.sign_intermediate("pki", &csr, "x", std::time::Duration::from_secs(3600))
                .await
                .map(|_| ()),
            &format!("{a} signing at the root mount"),
        );
    }
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_of_a_fleet_checks_every_cluster_and_names_the_broken_one() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let file = fleet_file(dir.path(), &["a", "b"]);
    fleet_ok(&server, &file, &out, &[]);
    let doctor = || {
        let mut c = e2e_against(&server);
        c.args(["doctor", "--output", "json", "--fleet"])
            .arg(&file)
            .arg("--out")
            .arg(&out);
        let o = c.output().expect("e2e doctor --fleet");
        let v: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("JSON ({e}): {}", describe(&o)));
        (o.status.code(), v)
    };
    let (code, v) = doctor();
    assert_eq!(code, Some(0), "{v}");
    for c in ["a", "b"] {
        assert!(
            v["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .any(|f| f["cluster"] == c && f["id"] == "sign.test" && f["severity"] == "ok"),
            "{c} signed: {v}"
        );
    }
    let wide = vault_pki::Policy::new()
        .path(
            "istioca-b/sign/cluster-local",
            [vault_pki::Capability::Update],
        )
        .path(
            "istioca-a/sign/cluster-local",
            [vault_pki::Capability::Update],
        );
    root_client(&server)
        .write_policy("cert-manager-b", &wide)
        .await
        .expect("policy");
    let (code, v) = doctor();
    assert_eq!(code, Some(1), "{v}");
    let errors: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| {
            (
                f["cluster"].as_str().unwrap_or(""),
                f["id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(errors, [("b", "policy.least-privilege")], "{v}");
    server.stop();
}

#[test]
fn a_bad_fleet_file_is_a_usage_error_naming_file_cluster_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("fleet.yaml");
    let out = dir.path().join("out");
    for (yaml, want) in [
        (
            "root: {}\nclusters:\n- name: east\n- name: west\n  trustDomian: x\n",
            &["fleet.yaml", "cluster \"west\"", "trustDomian"][..],
        ),
        (
            "root: {}\nclusters: [{name: east}, {name: east}]\n",
            &["clusters[1].name", "two clusters with one name"][..],
        ),
        (
            "root: {}\nclusters: [{name: a, intermediateMount: m}, {name: b, intermediateMount: m}]\n",
            &["cluster \"b\"", "intermediateMount"][..],
        ),
        (
            "root: {}\nclusters: [{name: \"a/b\"}]\n",
            &["clusters[0].name", "Vault path segment"][..],
        ),
        (
            "root: {cert: missing.crt, key: missing.key}\nclusters: [{name: a}]\n",
            &["root.cert", "missing.crt"][..],
        ),
    ] {
        std::fs::write(&file, yaml).expect("write");
        let o = e2e()
            .args(["fleet", "run", "--fleet"])
            .arg(&file)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("e2e fleet run");
        assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
        let err = text(&o.stderr);
        for w in want {
            assert!(err.contains(w), "{w:?} not in {err}");
        }
        assert!(!out.exists(), "nothing written for {yaml}");
    }
}
