//! The `istio-overlay` binary: stdout, stderr and exit codes of each subcommand.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::reference::istiod;
use crate::yaml;

fn data_path(name: &str) -> String {
    crate::data_path(name).display().to_string()
}

fn example(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

fn tmp(name: &str, content: &str) -> String {
    let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("istio-overlay-cli-{name}"));
    std::fs::write(&p, content).expect("write temp file");
    p.display().to_string()
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_istio-overlay"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    if let Some(s) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(s.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("binary finishes")
}

fn out(o: &Output) -> (String, String, i32) {
    (
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
        o.status.code().unwrap_or(-1),
    )
}

const OBJ: &str = "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: x}\nl: [a, b]\n";

#[test]
fn patch_prints_the_patched_object() {
    let obj = tmp("obj1.yaml", OBJ);
    let patches = tmp(
        "p1.yaml",
        "- {path: data.b, value: y}\n- {path: 'l[-1]', value: c}\n- {path: data.a}\n",
    );
    let (stdout, stderr, code) = out(&run(
        &["patch", "--object", &obj, "--patches", &patches],
        None,
    ));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr, "");
    assert_eq!(
        yaml(&stdout),
        yaml("kind: ConfigMap\nmetadata: {name: c}\ndata: {b: y}\nl: [a, b, c]")
    );
}

#[test]
fn patch_from_stdin_as_json() {
    let patches = tmp("p2.yaml", "[{\"path\": \"data.a\", \"value\": 1}]");
    let (stdout, _, code) = out(&run(
        &[
            "patch",
            "--object",
            "-",
            "--patches",
            &patches,
            "-o",
            "json",
        ],
        Some(OBJ),
    ));
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&stdout).expect("JSON output");
    assert_eq!(v["data"]["a"], 1);
}

#[test]
fn failing_patch_exits_1_with_every_error_and_no_output() {
    let obj = tmp("obj3.yaml", OBJ);
    let patches = tmp(
        "p3.yaml",
        "- {path: metadata.name.x, value: 1}\n- {path: data.b, value: y}\n- {path: 'l.[zz]', value: q}\n",
    );
    let (stdout, stderr, code) = out(&run(
        &["patch", "--object", &obj, "--patches", &patches],
        None,
    ));
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].contains("`metadata.name.x`")
            && lines[0].contains("`x`")
            && lines[0].contains("the string \"c\""),
        "{stderr}"
    );
    assert!(
        lines[1].contains("`[zz]`") && lines[1].contains("a list of 2 strings"),
        "{stderr}"
    );
}

#[test]
fn keep_going_prints_what_applies_and_still_exits_1() {
    let obj = tmp("obj4.yaml", OBJ);
    let patches = tmp(
        "p4.yaml",
        "- {path: metadata.name.x, value: 1}\n- {path: data.b, value: y}\n",
    );
    let (stdout, stderr, code) = out(&run(
        &[
            "patch",
            "--object",
            &obj,
            "--patches",
            &patches,
            "--keep-going",
        ],
        None,
    ));
    assert_eq!(code, 1);
    // A plain `y` is the boolean true in YAML 1.1, as kubectl and Istio read it.
    assert_eq!(yaml(&stdout)["data"]["b"], true);
    assert!(stderr.contains("metadata.name.x"), "{stderr}");
}

#[test]
fn apply_demo_prints_every_document() {
    let (stdout, stderr, code) = out(&run(
        &[
            "apply",
            "--manifests",
            &data_path("pilot_default.golden.yaml"),
            "--overlays",
            &example("istiod-vault-ca.overlays.yaml"),
        ],
        None,
    ));
    assert_eq!(code, 0, "{stderr}");
    let docs = istio_overlay::parse_documents("out", &stdout).expect("YAML output");
    assert_eq!(docs.len(), 17);
    let args = &istiod(&docs)["spec"]["template"]["spec"]["containers"][0]["args"];
    assert_eq!(args.as_array().map(Vec::len), Some(10));
    let (json_out, _, code) = out(&run(
        &[
            "apply",
            "--manifests",
            &data_path("pilot_default.golden.yaml"),
            "--overlays",
            &example("istiod-vault-ca.overlays.yaml"),
            "-o",
            "json",
        ],
        None,
    ));
    assert_eq!(code, 0);
    let list: Value = serde_json::from_str(&json_out).expect("JSON");
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(17));
}

#[test]
fn apply_nested_control_plane() {
    let mut manifests =
        std::fs::read_to_string(data_path("pilot_default.golden.yaml")).expect("golden");
    manifests.push_str("---\n");
    manifests.push_str(
        &std::fs::read_to_string(data_path("tsb-istiocontrolplane.bare.yaml")).expect("iop"),
    );
    let m = tmp("nested.yaml", &manifests);
    let (stdout, stderr, code) = out(&run(
        &[
            "apply",
            "--manifests",
            &m,
            "--overlays",
            &data_path("control-plane.example.yaml"),
            "--nested",
        ],
        None,
    ));
    assert_eq!(code, 0, "{stderr}");
    let docs = istio_overlay::parse_documents("out", &stdout).expect("YAML");
    assert_eq!(docs.len(), 18);
    let vols = &istiod(&docs)["spec"]["template"]["spec"]["volumes"];
    assert_eq!(vols[7]["configMap"]["name"], "istio-ca-root-cert");
}

#[test]
fn apply_overlay_matching_nothing_lists_the_objects() {
    let o = tmp(
        "o7.yaml",
        "- {kind: Deployment, name: nope, patches: [{path: a, value: 1}]}\n",
    );
    let (stdout, stderr, code) = out(&run(
        &[
            "apply",
            "--manifests",
            &data_path("pilot_default.golden.yaml"),
            "--overlays",
            &o,
        ],
        None,
    ));
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("Deployment nope") && stderr.contains("Deployment istio-system/istiod"),
        "{stderr}"
    );
}

#[test]
fn explain_prints_rfc6902_operations() {
    let obj = tmp("obj8.yaml", OBJ);
    let patches = tmp(
        "p8.yaml",
        "- {path: 'l[5]', value: c}\n- {path: 'l.[a]'}\n- {path: l.x.y, value: 1}\n",
    );
    let (stdout, stderr, code) = out(&run(
        &["explain", "--object", &obj, "--patches", &patches],
        None,
    ));
    assert_eq!(code, 1, "the third patch fails");
    let v: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        v[0]["operations"],
        serde_json::json!([{"op": "add", "path": "/l/2", "value": "c"}])
    );
    assert_eq!(
        v[1]["operations"],
        serde_json::json!([{"op": "remove", "path": "/l/0"}])
    );
    assert!(
        v[2]["error"].as_str().is_some_and(|e| e.contains("`x`")),
        "{stdout}"
    );
    assert!(stderr.contains("l.x.y"));
}

#[test]
fn lint_seed_warns_and_lint_errors_exit_1() {
    let (stdout, stderr, code) = out(&run(
        &[
            "lint",
            "--overlays",
            &data_path("control-plane.example.yaml"),
        ],
        None,
    ));
    assert_eq!(code, 0, "warnings only: {stderr}");
    assert_eq!(
        stdout.matches("warning[fragile-index]").count(),
        7,
        "{stdout}"
    );
    assert!(
        stdout.contains("rewrite: spec.template.spec.volumes[-1]"),
        "{stdout}"
    );
    assert!(
        stderr.contains("7 findings: 0 errors, 7 warnings"),
        "{stderr}"
    );

    let (stdout, _, code) = out(&run(
        &[
            "lint",
            "--overlays",
            &data_path("control-plane.example.yaml"),
            "--manifests",
            &data_path("pilot_default.golden.yaml"),
            "-o",
            "json",
        ],
        None,
    ));
    assert_eq!(code, 1, "the IstioOperator is not among the manifests");
    let f: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(f[0]["code"], "overlay-matches-nothing");
    assert_eq!(f[0]["severity"], "error");

    let (stdout, _, code) = out(&run(
        &[
            "lint",
            "--overlays",
            &example("istiod-vault-ca.overlays.yaml"),
            "--manifests",
            &data_path("pilot_default.golden.yaml"),
        ],
        None,
    ));
    assert_eq!((stdout.as_str(), code), ("", 0));
}

#[test]
fn unusable_input_exits_2() {
    let bad = tmp("bad.yaml", "a: [unclosed");
    let (stdout, stderr, code) = out(&run(&["patch", "--object", &bad, "--patches", &bad], None));
    assert_eq!((stdout.as_str(), code), ("", 2));
    assert!(stderr.contains("bad.yaml"), "{stderr}");
    let (_, _, code) = out(&run(
        &["patch", "--object", "-", "--patches", "-"],
        Some(OBJ),
    ));
    assert_eq!(code, 2);
    let (_, _, code) = out(&run(&["frobnicate"], None));
    assert_eq!(code, 2);
}
