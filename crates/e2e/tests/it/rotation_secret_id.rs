//! `--secret-id-ttl` at setup, and `e2e rotate secret-id` replacing the recorded secret-id
//! before it expires (no cluster: the Kubernetes side is in `rotation`).

use crate::common::{describe, dev_server, e2e_against, text};

#[test]
fn a_secret_id_ttl_given_at_setup_is_the_roles_and_a_rotation_replaces_the_secret_id() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let e2e = |args: &[&str]| {
        let o = e2e_against(&server)
            .args(args)
            .arg("--out")
            .arg(&out)
            .args(["--secret-id-ttl", "1h"])
            .output()
            .expect("e2e");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", describe(&o));
        o
    };
    e2e(&["run"]);
    let state = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join("e2e-state.json")).expect("state"))
            .expect("JSON")
    };
    let before = state();
    let c = vault_pki::PkiClient::new(
        vault_pki::VaultConfig::new(server.addr()).with_token(server.root_token().clone()),
    )
    .expect("client");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let lookup = |sid: &str| {
        rt.block_on(c.lookup_secret_id(
            "approle",
            "cert-manager",
            &vault_pki::SecretString::new(sid),
        ))
        .expect("lookup")
    };
    let info = lookup(before["secret_id"].as_str().expect("secret-id")).expect("valid");
    assert_eq!(info.secret_id_ttl, 3600, "the role's secret_id_ttl applies");
    let role = rt
        .block_on(c.read_approle_role("approle", "cert-manager"))
        .expect("read")
        .expect("role");
    assert_eq!(role.secret_id_ttl, 3600);

    let o = e2e(&["rotate", "secret-id"]);
    assert!(
        text(&o.stderr).contains("a login with it is refused"),
        "{}",
        text(&o.stderr)
    );
    let after = state();
    assert_ne!(before["secret_id_accessor"], after["secret_id_accessor"]);
    assert!(
        lookup(before["secret_id"].as_str().expect("as recorded")).is_none(),
        "old one destroyed"
    );
    assert_eq!(
        lookup(after["secret_id"].as_str().expect("as recorded"))
            .expect("new one")
            .secret_id_ttl,
        3600
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("rotate-report.json")).expect("report"),
    )
    .expect("JSON");
    assert_eq!(report["status"], "done", "{report}");
    assert!(
        !report
            .to_string()
            .contains(after["secret_id"].as_str().expect("as recorded")),
        "no secret in the report"
    );

    // A run afterwards keeps the new one.
    let o = e2e(&["run"]);
    assert!(
        text(&o.stderr).contains(" 0 changed"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(state()["secret_id_accessor"], after["secret_id_accessor"]);
}

#[test]
fn rotate_refuses_a_throwaway_dev_server_and_an_empty_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = crate::common::e2e()
        .args(["rotate", "intermediate", "--out"])
        .arg(dir.path())
        .output()
        .expect("e2e");
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    assert!(
        text(&o.stderr).contains("--vault-addr"),
        "{}",
        text(&o.stderr)
    );
    let server = dev_server();
    for what in ["intermediate", "secret-id"] {
        let o = e2e_against(&server)
            .args(["rotate", what, "--out"])
            .arg(dir.path().join(what))
            .output()
            .expect("e2e");
        assert_eq!(o.status.code(), Some(2), "{what}: {}", describe(&o));
        assert!(
            text(&o.stderr).contains("e2e run"),
            "{what}: {}",
            text(&o.stderr)
        );
    }
}
