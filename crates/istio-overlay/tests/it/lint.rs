//! lint: the seed's index patches are flagged with the robust rewrite; robust overlays are clean.

use istio_overlay::{K8sObjectOverlay, Patch, Severity, lint};
use serde_json::{Value, json};

use crate::reference::{cp_overlays, golden};
use crate::{data, yaml};

fn overlays(file: &str) -> Vec<K8sObjectOverlay> {
    K8sObjectOverlay::list_from_value(file, &yaml(&data(file))).expect("overlays")
}

fn with_iop() -> Vec<Value> {
    let mut m = golden();
    m.push(yaml(&data("tsb-istiocontrolplane.bare.yaml")));
    m
}

#[test]
fn seed_index_patches_are_flagged_with_the_robust_rewrite() {
    for manifests in [Some(with_iop()), None] {
        let findings = lint(&cp_overlays(), manifests.as_deref());
        assert_eq!(findings.len(), 7, "{findings:#?}");
        for (k, f) in findings.iter().enumerate() {
            assert_eq!(f.severity, Severity::Warning);
            assert_eq!(f.code, "fragile-index");
            assert_eq!(
                f.location,
                format!("overlays[0].patches[2].value[0].patches[{k}]")
            );
            assert_eq!(f.target, "Deployment istiod");
            let rw = f.rewrite.as_ref().expect("rewrite");
            assert!(rw.path.ends_with("[-1]"), "{}", rw.path);
            assert!(rw.path.starts_with("spec.template.spec."), "{}", rw.path);
        }
        if manifests.is_some() {
            assert!(
                findings[0].message.contains("exactly 7 elements"),
                "{}",
                findings[0].message
            );
            assert!(
                findings[3].message.contains("exactly 6 elements"),
                "{}",
                findings[3].message
            );
        }
        assert_eq!(
            findings[0].rewrite.as_ref().map(|r| r.path.as_str()),
            Some("spec.template.spec.containers.[name:discovery].args[-1]")
        );
    }
}

#[test]
fn robust_overlays_have_no_finding() {
    let o = overlays("examples/istiod-vault-ca.overlays.yaml");
    assert_eq!(lint(&o, Some(&golden())), vec![]);
    assert_eq!(lint(&o, None), vec![]);
}

#[test]
fn index_on_an_existing_element_says_what_it_overwrites() {
    let o = vec![
        K8sObjectOverlay::new("Deployment", "istiod")
            .patch(
                "spec.template.spec.containers.[name:discovery].args[5]",
                json!("--x"),
            )
            .patch(
                "spec.template.spec.volumes[2]",
                json!({"name": "cacerts", "secret": {"secretName": "other"}}),
            ),
    ];
    let f = lint(&o, Some(&golden()));
    assert_eq!(f.len(), 2, "{f:#?}");
    assert_eq!(f[0].code, "index-overwrites");
    assert!(
        f[0].message.contains("--keepaliveMaxServerConnectionAge"),
        "{}",
        f[0].message
    );
    assert_eq!(
        f[0].rewrite.as_ref().map(|r| r.path.as_str()),
        Some("spec.template.spec.containers.[name:discovery].args[-1]")
    );
    // A volume of that name exists: select it by name.
    assert_eq!(
        f[1].rewrite.as_ref().map(|r| r.path.as_str()),
        Some("spec.template.spec.volumes[name:cacerts]")
    );
}

#[test]
fn other_checks() {
    let o = vec![
        K8sObjectOverlay::new("Deployment", "istiod")
            .patch(
                "spec.template.spec.containers.[name:discovery].args.[--]",
                json!("--y"),
            )
            .patch("metadata.labels.x", json!("a: b"))
            .patch("spec.template.spec.tolerations2[0]", json!({"key": "k"}))
            .patch("spec.template.spec.volumes[-1]", json!({"name": "cacerts"}))
            .patch("spec.nothing.here", Value::Null)
            .patch("spec.replicas", json!(1000000))
            .patch("spec.template.spec.containers.[name:nope].args", json!([])),
        K8sObjectOverlay::new("Deployment", "missing"),
        K8sObjectOverlay::new("Service", "istiod").patch("spec.x", json!(1)),
        K8sObjectOverlay::new("Service", "istiod").patch("spec.y", json!(2)),
    ];
    let f = lint(&o, Some(&golden()));
    let codes: Vec<(&str, &str)> = f.iter().map(|f| (f.location.as_str(), f.code)).collect();
    for want in [
        ("overlays[0].patches[0]", "ambiguous-selector"),
        ("overlays[0].patches[1]", "string-becomes-map"),
        ("overlays[0].patches[2]", "selector-on-map"),
        ("overlays[0].patches[3]", "append-duplicate-name"),
        ("overlays[0].patches[4]", "delete-missing"),
        ("overlays[0].patches[5]", "number-becomes-float"),
        ("overlays[0].patches[6]", "patch-fails"),
        ("overlays[1]", "overlay-matches-nothing"),
        ("overlays[2]", "overlays-same-target"),
    ] {
        assert!(codes.contains(&want), "{want:?} not in {codes:#?}");
    }
    let sel = f
        .iter()
        .find(|f| f.code == "selector-on-map")
        .expect("selector-on-map");
    assert_eq!(sel.severity, Severity::Error);
    assert_eq!(
        sel.rewrite
            .as_ref()
            .map(|r| (r.path.as_str(), r.value.clone())),
        Some((
            "spec.template.spec.tolerations2",
            Some(json!([{"key": "k"}]))
        ))
    );
    let amb = f
        .iter()
        .find(|f| f.code == "ambiguous-selector")
        .expect("ambiguous");
    assert_eq!(
        amb.rewrite.as_ref().map(|r| r.path.as_str()),
        Some(
            "spec.template.spec.containers.[name:discovery].args.[:^\\-\\-monitoringAddr=:15014$]"
        )
    );
    let _ = Patch::delete("x");
}
