//! Istio's k8s overlay engine.
#![forbid(unsafe_code)]

mod overlay;

pub use overlay::{K8sObjectOverlay, Patch};
