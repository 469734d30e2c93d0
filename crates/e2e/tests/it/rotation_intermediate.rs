//! `e2e rotate intermediate` on OpenBao (no cluster; the handshakes are in `rotation`): a new
//! default issuer that `e2e run` keeps, `--if-expiring-within` doing nothing when not due, and
//! `--retire-old` removing an old issuer only once nothing valid chains to it.

use std::path::Path;

use crate::common::{describe, dev_server, e2e_against, text};

fn ok(o: std::process::Output) -> String {
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    text(&o.stderr)
}

fn bao(server: &vault_pki::dev_server::DevServer, args: &[&str]) -> String {
    let o = server.bao_command().args(args).output().expect("bao");
    assert!(o.status.success(), "bao {args:?}: {}", describe(&o));
    text(&o.stdout)
}

#[test]
fn an_intermediate_rotation_is_kept_by_run_and_retires_the_old_issuer_only_when_nothing_valid_chains_to_it()
 {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let e2e = |args: &[&str], out: &Path| {
        e2e_against(&server)
            .args(args)
            .arg("--out")
            .arg(out)
            .output()
            .expect("e2e")
    };
    ok(e2e(&["run"], &out));
    let before = std::fs::read_to_string(out.join("istioca.crt")).expect("istioca.crt");

    // Not due: nothing changes.
    let o = e2e(
        &[
            "rotate",
            "intermediate",
            "--if-expiring-within",
            "720h",
            "--output",
            "json",
        ],
        &out,
    );
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(r["status"], "not_needed", "{r}");
    assert_eq!(
        std::fs::read_to_string(out.join("istioca.crt")).expect("crt"),
        before
    );

    // Due (the window is longer than its life): a new default issuer, its key on disk, and a
    // run afterwards keeps it.
    ok(e2e(
        &["rotate", "intermediate", "--if-expiring-within", "438000h"],
        &out,
    ));
    let after = std::fs::read_to_string(out.join("istioca.crt")).expect("istioca.crt");
    assert!(
        !e2e::verify::same_cert(&before, &after),
        "a new intermediate"
    );
    let key = std::fs::read_to_string(out.join("istioca.key")).expect("istioca.key");
    let kp = e2e::csr::key_pair_from_pem(&key).expect("key");
    let (_, pem) = x509_parser::pem::parse_x509_pem(after.as_bytes()).expect("pem");
    assert_eq!(
        pem.parse_x509()
            .expect("x509")
            .public_key()
            .subject_public_key
            .data
            .as_ref(),
        kp.public_key_raw(),
        "istioca.key is the new intermediate's"
    );
    let run = ok(e2e(&["run"], &out));
    assert!(run.contains(" 0 changed"), "{run}");

    // Not due (1h), so only --retire-old acts.
    let retire_old = || {
        ok(e2e(
            &[
                "rotate",
                "intermediate",
                "--if-expiring-within",
                "1h",
                "--retire-old",
            ],
            &out,
        ))
    };

    // The old issuer signed the first run's verification certificate: kept, and said why.
    let retire = retire_old();
    assert!(
        retire.contains("kept while certificates chain to them"),
        "{retire}"
    );
    let issuers = bao(&server, &["list", "-format=json", "istioca/issuers"]);
    let count = serde_json::from_str::<Vec<String>>(&issuers)
        .expect("JSON")
        .len();

    // Once what it signed is revoked, it goes (and the root the default chains to stays).
    let serials = bao(&server, &["list", "-format=json", "istioca/certs"]);
    for serial in serde_json::from_str::<Vec<String>>(&serials).expect("JSON") {
        let cert = bao(
            &server,
            &[
                "read",
                "-field=certificate",
                &format!("istioca/cert/{serial}"),
            ],
        );
        if vault_pki::chains_to(&cert, &before).unwrap_or(false) {
            bao(
                &server,
                &[
                    "write",
                    "istioca/revoke",
                    &format!("serial_number={serial}"),
                ],
            );
        }
    }
    let retire = retire_old();
    assert!(retire.contains("removed"), "{retire}");
    let issuers = bao(&server, &["list", "-format=json", "istioca/issuers"]);
    assert_eq!(
        serde_json::from_str::<Vec<String>>(&issuers)
            .expect("JSON")
            .len(),
        count - 1,
        "{retire}"
    );
    let run = ok(e2e(&["run"], &out));
    assert!(run.contains("8 checks passed"), "{run}");

    // A role that stores nothing: no issuer is removed, and the output says why.
    bao(
        &server,
        &[
            "write",
            "istioca/roles/cluster-local",
            "no_store=true",
            "allow_any_name=true",
        ],
    );
    let retire = retire_old();
    assert!(retire.contains("no_store=true"), "{retire}");
}
