//! A root rotation SIGKILLed in each of its phases resumes and completes: run again, it ends
//! with R2 the only root in Vault and in the files, the new intermediate kept, nothing left
//! of the overlap, and an `e2e run` afterwards changing nothing. One OpenBao dev server, one
//! set of mounts per kill point. And `e2e doctor` naming a rotation under way.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};

use vault_pki::dev_server::DevServer;

use crate::common::{describe, dev_server, e2e_against, text};

/// The names of kill point `i`'s mounts, role and policy.
fn names(i: usize) -> Vec<String> {
    [
        ("--root-mount", "pki"),
        ("--intermediate-mount", "int"),
        ("--approle-mount", "ar"),
        ("--approle-role", "cm"),
        ("--policy", "cm"),
    ]
    .iter()
    .flat_map(|(flag, name)| [flag.to_string(), format!("k{i}-{name}")])
    .collect()
}

fn command(server: &DevServer, out: &Path, i: usize, args: &[&str]) -> Command {
    let mut c = e2e_against(server);
    c.args(args).arg("--out").arg(out).args(names(i));
    c
}

/// Starts the rotation and SIGKILLs it right after the `n`th progress line containing every
/// word of `marker`; returns whether that line came before the rotation ended by itself.
fn kill_after(server: &DevServer, out: &Path, i: usize, marker: &[&str], n: usize) -> bool {
    let mut child = command(
        server,
        out,
        i,
        &["rotate", "root", "--workload-cert-bound", "0s"],
    )
    .stderr(Stdio::piped())
    .stdout(Stdio::null())
    .spawn()
    .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let mut seen = 0;
    for line in std::io::BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if marker.iter().all(|w| line.contains(w)) {
            seen += 1;
            if seen == n {
                child.kill().expect("SIGKILL");
                break;
            }
        }
    }
    child.wait().expect("wait");
    seen == n
}

#[test]
fn a_root_rotation_killed_in_each_phase_resumes_and_completes() {
    let server = dev_server();
    // Each line is printed when its step is done, so a kill right after it lands at the start
    // of what follows: phase 2 (after new-root), inside phase 2's run, phase 3, inside phase
    // 3's run (after the new intermediate), phase 4, phase 5, inside phase 5's run.
    let points: [(&[&str], usize); 7] = [
        (&["rotate", "new-root"], 1),
        (&["write", "istio-root-ca.yaml"], 1),
        (&["rotate", "trust-both"], 1),
        (&["vault", "root mount"], 2),
        (&["rotate", "new-intermediate"], 1),
        (&["rotate", "wait-workloads"], 1),
        (&["vault", "root mount"], 3),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, (marker, n)) in points.iter().enumerate() {
        let what = format!("kill after {marker:?} #{n}");
        let out = dir.path().join(format!("out{i}"));
        let o = command(&server, &out, i, &["run"]).output().expect("run");
        assert_eq!(o.status.code(), Some(0), "{what}: {}", describe(&o));
        let r1 = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");

        assert!(
            kill_after(&server, &out, i, marker, *n),
            "{what}: line not seen"
        );
        let o = command(
            &server,
            &out,
            i,
            &[
                "rotate",
                "root",
                "--workload-cert-bound",
                "0s",
                "--output",
                "json",
            ],
        )
        .output()
        .expect("resume");
        assert_eq!(o.status.code(), Some(0), "{what}: {}", describe(&o));
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        assert_eq!(report["status"], "done", "{what}: {report}");

        // R2 is the root everywhere; R1 and the overlap are gone.
        let r2 = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");
        assert!(!e2e::verify::same_cert(&r1, &r2), "{what}: ca.crt is R2");
        for gone in ["trust-bundle.pem", "ca-next.crt", "ca-next.key"] {
            assert!(!out.join(gone).exists(), "{what}: {gone} left");
        }
        let record: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("rotation.json")).expect("rotation.json"),
        )
        .expect("JSON");
        assert_eq!(
            record["done"].as_array().map(Vec::len),
            Some(5),
            "{what}: {record}"
        );
        let ca_key = std::fs::read_to_string(out.join("ca.key")).expect("ca.key");
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let c = vault_pki::PkiClient::new(
            vault_pki::VaultConfig::new(server.addr()).with_token(server.root_token().clone()),
        )
        .expect("client");
        let (root_mount, int_mount) = (format!("k{i}-pki"), format!("k{i}-int"));
        let (roots, int_default) = rt.block_on(async {
            let roots = c.list_issuers(&root_mount).await.expect("issuers").keys;
            let int = c
                .read_issuer(&int_mount, "default")
                .await
                .expect("read")
                .expect("an intermediate");
            (roots, int)
        });
        assert_eq!(roots.len(), 1, "{what}: one root issuer left: {roots:?}");
        assert!(
            vault_pki::chains_to(&int_default.certificate, &r2).expect("as recorded"),
            "{what}: the intermediate chains to R2"
        );
        let kp = rcgen::KeyPair::from_pem(&ca_key).expect("ca.key");
        let (_, cert) = x509_parser::pem::parse_x509_pem(r2.as_bytes()).expect("pem");
        let x = cert.parse_x509().expect("x509");
        assert_eq!(
            x.public_key().subject_public_key.data.as_ref(),
            kp.public_key_raw(),
            "{what}: ca.key is R2's key"
        );

        // A plain run keeps all of it.
        let o = command(&server, &out, i, &["run"]).output().expect("run");
        assert_eq!(o.status.code(), Some(0), "{what}: {}", describe(&o));
        assert!(
            text(&o.stderr).contains(" 0 changed"),
            "{what}: {}",
            text(&o.stderr)
        );
    }
}

#[test]
fn doctor_names_a_root_rotation_under_way_and_an_intermediate_rotation_waits_for_it() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let e2e = |args: &[&str]| {
        let o = e2e_against(&server)
            .args(args)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("e2e");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", describe(&o));
        text(&o.stdout) + &text(&o.stderr)
    };
    e2e(&["run"]);
    e2e(&["rotate", "root", "--until", "trust-both"]);
    let o = e2e_against(&server)
        .args(["rotate", "intermediate", "--out"])
        .arg(&out)
        .output()
        .expect("e2e");
    assert_eq!(
        o.status.code(),
        Some(2),
        "one rotation at a time: {}",
        describe(&o)
    );
    assert!(
        text(&o.stderr).contains("root rotation is under way"),
        "{}",
        describe(&o)
    );
    let doctor = e2e(&["doctor"]);
    assert!(
        doctor.contains("rotation.root") && doctor.contains("left new-intermediate"),
        "{doctor}"
    );
    e2e(&["rotate", "root", "--workload-cert-bound", "0s"]);
    e2e(&["rotate", "intermediate"]);
    let doctor = e2e(&["doctor"]);
    assert!(
        doctor.contains("the last root rotation is complete"),
        "{doctor}"
    );
    assert!(doctor.contains("intermediate.older-issuers"), "{doctor}");
    assert!(doctor.contains("0 errors"), "{doctor}");
}

#[test]
fn a_fleet_root_rotation_resumes_from_the_fleets_folder_and_doctor_names_it() {
    let server = dev_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("fleet.yaml");
    std::fs::write(
        &file,
        "root: {mount: f-pki}\ndefaults: {approleMount: f-ar}\nclusters: [{name: east}, {name: west}]\n",
    )
    .expect("fleet file");
    let out = dir.path().join("out");
    let e2e = |args: &[&str]| {
        let o = e2e_against(&server)
            .args(args)
            .arg("--fleet")
            .arg(&file)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("e2e");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", describe(&o));
        text(&o.stdout) + &text(&o.stderr)
    };
    e2e(&["fleet", "run"]);
    let r1 = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");
    e2e(&["rotate", "root", "--until", "trust-both"]);
    for name in ["east", "west"] {
        let b = std::fs::read_to_string(out.join(name).join("trust-bundle.pem")).expect("bundle");
        assert_eq!(e2e::certs::split_bundle(&b).len(), 2, "{name}: R1+R2");
    }
    let doctor = e2e(&["doctor"]);
    assert!(
        doctor.contains("rotation.root") && doctor.contains("left new-intermediate"),
        "{doctor}"
    );
    let done = e2e(&["rotate", "root", "--workload-cert-bound", "0s"]);
    assert!(
        done.contains("fleet rotate root: done, 2 clusters"),
        "{done}"
    );
    let r2 = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");
    assert!(!e2e::verify::same_cert(&r1, &r2));
    for name in ["east", "west"] {
        let own = std::fs::read_to_string(out.join(name).join("istioca.crt")).expect("istioca");
        assert!(
            vault_pki::chains_to(&own, &r2).expect("PEM"),
            "{name} signs under R2"
        );
        assert!(!out.join(name).join("trust-bundle.pem").exists());
    }
    let again = e2e(&["fleet", "run"]);
    assert!(again.contains("2 clusters, 0 failed"), "{again}");
}
