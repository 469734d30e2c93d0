//! `e2e run` against each server of the matrix, OpenBao and HashiCorp Vault (v1.21.0, built by
//! `make stack-build`): the first run passes every check, a second run changes nothing (every
//! step unchanged, the written CA files byte for byte the same). A missing `vault` binary fails
//! with how to get it.

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use vault_pki::dev_server::{DevServer, DevServerOptions, Server};

use crate::common::{describe, e2e, report};

fn start(kind: Server) -> DevServer {
    DevServer::start(DevServerOptions::for_server(kind))
        .unwrap_or_else(|e| panic!("starting the {kind} dev server: {e}"))
}

fn run(server: &DevServer, out: &Path) -> Output {
    e2e()
        .arg("run")
        .arg("--out")
        .arg(out)
        .env("VAULT_ADDR", server.addr())
        .env("VAULT_TOKEN", server.root_token().expose_secret())
        .output()
        .expect("running the e2e binary")
}

fn all_checks_passed(r: &Value) -> bool {
    r["verification"]
        .as_array()
        .is_some_and(|c| !c.is_empty() && c.iter().all(|c| c["passed"] == true))
}

fn outcomes(r: &Value) -> Vec<(String, String)> {
    r["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or("").to_string(),
                s["outcome"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn run_twice(kind: Server) {
    let server = start(kind);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");

    let first = run(&server, &out);
    assert_eq!(first.status.code(), Some(0), "{kind}: {}", describe(&first));
    let r1 = report(&out);
    assert_eq!(r1["status"], "done", "{kind}");
    assert!(all_checks_passed(&r1), "{kind}: {}", r1["verification"]);
    let files = ["ca.crt", "istioca.crt", "istioca.key", "vault-secret.yaml"];
    let before: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap_or_else(|e| panic!("{f}: {e}")))
        .collect();

    let second = run(&server, &out);
    assert_eq!(
        second.status.code(),
        Some(0),
        "{kind}: {}",
        describe(&second)
    );
    let r2 = report(&out);
    let o2 = outcomes(&r2);
    assert!(
        o2.iter().all(|(_, o)| o == "unchanged"),
        "{kind}: second run changed something: {o2:?}"
    );
    assert!(all_checks_passed(&r2), "{kind}: {}", r2["verification"]);
    for (f, b) in files.iter().zip(&before) {
        assert_eq!(
            &std::fs::read(out.join(f)).expect("read"),
            b,
            "{kind}: {f} rewritten"
        );
    }
}

#[test]
fn run_twice_against_openbao() {
    run_twice(Server::OpenBao);
}

#[test]
fn run_twice_against_hashicorp_vault() {
    run_twice(Server::HashiCorpVault);
}
