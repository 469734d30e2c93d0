//! Nested overlays: a TSB `ControlPlane`'s overlays patch the rendered `IstioOperator`, whose
//! `spec.components.<component>.k8s.overlays` then patch the manifests Istio renders.

use serde_json::Value;

use crate::error::{Error, Errors, Result};
use crate::overlay::{K8sObjectOverlay, apply_overlays_at, apply_overlays_moving_at};

/// The IstioOperator components that carry `k8s.overlays` (gateways are lists).
pub const COMPONENTS: &[&str] = &[
    "base",
    "pilot",
    "cni",
    "ztunnel",
    "istiodRemote",
    "ingressGateways",
    "egressGateways",
];

/// The overlays of one IstioOperator component.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentOverlays {
    /// The component, e.g. `pilot` or `ingressGateways[0]`.
    pub component: String,
    /// Its `k8s.overlays`.
    pub overlays: Vec<K8sObjectOverlay>,
}

/// Every component's `k8s.overlays` in an IstioOperator (components without overlays omitted).
pub fn component_overlays(istio_operator: &Value) -> Result<Vec<ComponentOverlays>> {
    let mut out = Vec::new();
    let Some(components) = istio_operator.pointer("/spec/components") else {
        return Ok(out);
    };
    for name in COMPONENTS {
        let Some(c) = components.get(*name) else {
            continue;
        };
        let entries: Vec<(String, &Value)> = match c {
            Value::Array(gws) => gws
                .iter()
                .enumerate()
                .map(|(i, g)| (format!("{name}[{i}]"), g))
                .collect(),
            other => vec![((*name).to_owned(), other)],
        };
        for (component, spec) in entries {
            let Some(list) = spec.pointer("/k8s/overlays") else {
                continue;
            };
            let what = format!("spec.components.{component}.k8s.overlays");
            let overlays = K8sObjectOverlay::list_from_value(&what, list)?;
            if !overlays.is_empty() {
                out.push(ComponentOverlays {
                    component,
                    overlays,
                });
            }
        }
    }
    Ok(out)
}

/// Both levels in one call: `operator_overlays` (e.g. a ControlPlane's
/// `spec.components.istio.kubeSpec.overlays`) onto `istio_operator`, then every component's
/// `k8s.overlays` of the patched IstioOperator onto `manifests`.
///
/// Keep-going as Istio: everything that can be applied is, and every error is returned.
pub fn apply_nested(
    istio_operator: &mut Value,
    operator_overlays: &[K8sObjectOverlay],
    manifests: &mut [Value],
) -> Result<(), Errors> {
    let mut errors = Vec::new();
    if let Err(e) = apply_overlays_at(
        std::slice::from_mut(istio_operator),
        operator_overlays,
        "overlays",
    ) {
        errors.extend(e);
    }
    match component_overlays(istio_operator) {
        Ok(components) => {
            for mut c in components {
                let prefix = format!("spec.components.{}.k8s.overlays", c.component);
                if let Err(e) = apply_overlays_moving_at(manifests, &mut c.overlays, &prefix) {
                    errors.extend(e.into_iter().map(|source| Error::InComponent {
                        component: c.component.clone(),
                        source: Box::new(source),
                    }));
                }
            }
        }
        Err(e) => errors.push(e),
    }
    Errors(errors).into_result()
}
