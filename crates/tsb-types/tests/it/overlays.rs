//! The builder's overlays, applied by `istio-overlay` (Istio's engine) to an IstioOperator and
//! then to the istiod Deployment Istio renders (`pilot_default.golden.yaml`), give the seed's
//! args, mounts and volumes; `istio-overlay lint` finds nothing in the robust overlays and the
//! index warnings in the seed's.

use istio_overlay::{Severity, apply_nested, lint, parse_documents};
use serde_json::{Value, json};
use tsb_types::*;

fn rendered() -> Vec<Value> {
    parse_documents(
        "pilot_default.golden.yaml",
        &crate::data("pilot_default.golden.yaml"),
    )
    .expect("parses")
}

fn istiod(manifests: &[Value]) -> &Value {
    manifests
        .iter()
        .find(|m| m["kind"] == "Deployment" && m["metadata"]["name"] == "istiod")
        .expect("istiod Deployment")
}

fn discovery(deployment: &Value) -> &Value {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "discovery"))
        .expect("discovery container")
}

/// The seed's additions, from the reconstructed file (FACTS.md step 8).
fn seed_args() -> Vec<Value> {
    vec![
        json!("--tlsCertFile=/etc/cert-manager/tls/tls.crt"),
        json!("--tlsKeyFile=/etc/cert-manager/tls/tls.key"),
        json!("--caCertFile=/etc/cert-manager/ca/root-cert.pem"),
    ]
}

fn seed_mounts() -> Vec<Value> {
    vec![
        json!({"name": "cert-manager", "mountPath": "/etc/cert-manager/tls", "readOnly": true}),
        json!({"name": "ca-root-cert", "mountPath": "/etc/cert-manager/ca", "readOnly": true}),
    ]
}

fn seed_volumes() -> Vec<Value> {
    vec![
        json!({"name": "cert-manager", "secret": {"secretName": "istiod-tls"}}),
        json!({"name": "ca-root-cert", "configMap": {"defaultMode": 420, "name": "istio-ca-root-cert"}}),
    ]
}

/// Applies the ControlPlane's overlays to `iop`, then the IstioOperator's pilot overlays to
/// Istio's rendered manifests, and checks the istiod Deployment and the IstioOperator.
fn apply_and_check(cp: &ControlPlane, mut iop: Value) -> (Value, Vec<Value>) {
    let original = rendered();
    let before = istiod(&original).clone();
    let mut manifests = original.clone();
    apply_nested(&mut iop, cp.spec.istio_overlays(), &mut manifests).expect("overlays apply");

    let after = istiod(&manifests);
    let (c0, c1) = (discovery(&before), discovery(after));
    let (args0, args1) = (
        c0["args"].as_array().expect("args"),
        c1["args"].as_array().expect("args"),
    );
    assert_eq!(args0.len(), 7, "the rendered istiod has 7 args (FACTS.md)");
    assert_eq!(&args1[..7], &args0[..], "existing args untouched");
    assert_eq!(&args1[7..], &seed_args()[..], "args[7..9] are the seed's");
    let (m0, m1) = (
        c0["volumeMounts"].as_array().expect("mounts"),
        c1["volumeMounts"].as_array().expect("mounts"),
    );
    assert_eq!(m0.len(), 6);
    assert_eq!(&m1[..6], &m0[..]);
    assert_eq!(
        &m1[6..],
        &seed_mounts()[..],
        "volumeMounts[6..7] are the seed's"
    );
    let v0 = before["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .expect("volumes");
    let v1 = after["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .expect("volumes");
    assert_eq!(v0.len(), 6);
    assert_eq!(&v1[..6], &v0[..]);
    assert_eq!(
        &v1[6..],
        &seed_volumes()[..],
        "volumes[6..7] are the seed's"
    );
    // Nothing else in the rendered manifests changed (but for the IstioOperator's own
    // overlay on ConfigMap istio, when it has one).
    for (a, b) in original.iter().zip(&manifests) {
        if a["kind"] != "Deployment"
            && !(a["kind"] == "ConfigMap" && a["metadata"]["name"] == "istio")
        {
            assert_eq!(a, b);
        }
    }

    let typed: IstioOperator = serde_json::from_value(iop.clone()).expect("typed IstioOperator");
    assert_eq!(
        typed.spec.ca_address(),
        Some("cert-manager-istio-csr.cert-manager.svc:443")
    );
    assert_eq!(
        typed
            .spec
            .pilot_k8s()
            .and_then(|k| k.env_value("ENABLE_CA_SERVER")),
        Some("false")
    );
    (iop, manifests)
}

fn control_plane(style: PatchStyle) -> ControlPlane {
    crate::tsb_required(ControlPlaneBuilder::seed_flow())
        .patch_style(style)
        .build()
        .expect("builds")
}

#[test]
fn robust_overlays_give_the_seed_args_mounts_and_volumes() {
    let (iop, _) = apply_and_check(
        &control_plane(PatchStyle::Robust),
        crate::yaml("tsb-istiocontrolplane.full.yaml"),
    );
    // TSB's own env and overlays are kept; ours are appended.
    let env = iop
        .pointer("/spec/components/pilot/k8s/env")
        .and_then(Value::as_array)
        .expect("env");
    assert_eq!(env.len(), 4);
    assert_eq!(
        env[1]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );
    let overlays = iop
        .pointer("/spec/components/pilot/k8s/overlays")
        .and_then(Value::as_array)
        .expect("overlays");
    assert_eq!(overlays.len(), 2);
    assert_eq!(overlays[0]["kind"], "ConfigMap");
    let (_, manifests) = apply_and_check(
        &control_plane(PatchStyle::Robust),
        crate::yaml("tsb-istiocontrolplane.full.yaml"),
    );
    let mesh = manifests
        .iter()
        .find(|m| m["kind"] == "ConfigMap" && m["metadata"]["name"] == "istio")
        .expect("istio");
    assert_eq!(
        mesh["metadata"]["labels"]["tetrate.io/managed"], "true",
        "TSB's own overlay still applies"
    );
}

#[test]
fn seed_exact_overlays_give_the_seed_args_mounts_and_volumes_but_drop_tsb_env() {
    let (iop, _) = apply_and_check(
        &control_plane(PatchStyle::SeedExact),
        crate::yaml("tsb-istiocontrolplane.full.yaml"),
    );
    // The seed replaces the whole lists: TSB's env (fieldRefs included) and Service overlay are gone.
    let env = iop
        .pointer("/spec/components/pilot/k8s/env")
        .and_then(Value::as_array)
        .expect("env");
    assert_eq!(
        env,
        &vec![json!({"name": "ENABLE_CA_SERVER", "value": "false"})]
    );
    let overlays = iop
        .pointer("/spec/components/pilot/k8s/overlays")
        .and_then(Value::as_array)
        .expect("overlays");
    assert_eq!(overlays.len(), 1);
}

#[test]
fn fitted_overlays_apply_to_a_bare_operator() {
    let iop = json!({"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator",
        "metadata": {"name": "tsb-istiocontrolplane", "namespace": "istio-system"},
        "spec": {"profile": "default", "components": {"pilot": {"enabled": true}}}});
    let cp = crate::tsb_required(
        ControlPlaneBuilder::seed_flow().vault_ca(VaultCaOverlayBuilder::seed_flow().fit_to(&iop)),
    )
    .build()
    .expect("builds");
    apply_and_check(&cp, iop);
}

#[test]
fn fitted_overlays_extend_an_existing_istiod_overlay() {
    let mut iop = crate::yaml("tsb-istiocontrolplane.full.yaml");
    iop["spec"]["components"]["pilot"]["k8s"]["overlays"] = json!([{
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "istiod",
        "patches": [{"path": "spec.template.metadata.annotations.tetrate\\.io/edge", "value": "yes"}]
    }]);
    let cp = crate::tsb_required(
        ControlPlaneBuilder::seed_flow().vault_ca(VaultCaOverlayBuilder::seed_flow().fit_to(&iop)),
    )
    .build()
    .expect("builds");
    let (_, manifests) = apply_and_check(&cp, iop);
    // TSB's own patch on the same Deployment still applies (a second overlay would undo it).
    assert_eq!(
        istiod(&manifests)["spec"]["template"]["metadata"]["annotations"]["tetrate.io/edge"],
        "yes"
    );
}

fn lint_inputs(iop: Value) -> Vec<Value> {
    let mut manifests = vec![iop];
    manifests.extend(rendered());
    manifests
}

#[test]
fn robust_overlays_pass_lint_with_no_finding() {
    let cp = control_plane(PatchStyle::Robust);
    let manifests = lint_inputs(crate::yaml("tsb-istiocontrolplane.full.yaml"));
    let findings = lint(cp.spec.istio_overlays(), Some(&manifests));
    assert!(findings.is_empty(), "{findings:#?}");
    // Without manifests, too.
    let findings = lint(cp.spec.istio_overlays(), None);
    assert!(findings.is_empty(), "{findings:#?}");
    // The Deployment overlay alone, against the rendered istiod.
    let deployment = istiod_deployment_overlay(&IstiodTlsMounts::seed_flow(), PatchStyle::Robust);
    let findings = lint(&[deployment], Some(&rendered()));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn seed_exact_overlays_get_the_index_warnings() {
    let cp = control_plane(PatchStyle::SeedExact);
    for manifests in [
        None,
        Some(lint_inputs(crate::yaml("tsb-istiocontrolplane.full.yaml"))),
    ] {
        let findings = lint(cp.spec.istio_overlays(), manifests.as_deref());
        for f in &findings {
            println!(
                "{:?} {} {} {:?} -> {:?}",
                f.severity,
                f.code,
                f.location,
                f.path,
                f.rewrite.as_ref().map(|r| &r.path)
            );
        }
        let index: Vec<_> = findings
            .iter()
            .filter(|f| {
                f.severity == Severity::Warning
                    && (f.code == "fragile-index" || f.code == "index-overwrites")
            })
            .collect();
        // args[7], [8], [9], volumeMounts[6], [7], volumes[6], [7].
        assert_eq!(index.len(), 7, "{findings:#?}");
        assert!(
            index
                .iter()
                .all(|f| f.rewrite.as_ref().is_some_and(|r| r.path.ends_with("[-1]"))),
            "{index:#?}"
        );
        assert!(
            findings.iter().all(|f| f.severity == Severity::Warning),
            "{findings:#?}"
        );
    }
}

#[test]
fn robust_overlays_on_an_operator_without_pilot_lists_are_caught_by_lint() {
    // Unfitted robust patches assume TSB's pilot env/overlays lists exist; lint says so when
    // they do not, and `fit_to` fixes it.
    let iop = json!({"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator",
        "metadata": {"name": "tsb-istiocontrolplane"}, "spec": {"components": {"pilot": {"enabled": true}}}});
    let cp = control_plane(PatchStyle::Robust);
    let findings = lint(cp.spec.istio_overlays(), Some(&lint_inputs(iop.clone())));
    assert!(
        findings.iter().any(|f| f.code == "selector-on-map"),
        "{findings:#?}"
    );
    let fitted = crate::tsb_required(
        ControlPlaneBuilder::seed_flow().vault_ca(VaultCaOverlayBuilder::seed_flow().fit_to(&iop)),
    )
    .build()
    .expect("builds");
    let findings = lint(fitted.spec.istio_overlays(), Some(&lint_inputs(iop)));
    assert!(findings.is_empty(), "{findings:#?}");
}
