//! `ControlPlane` (install.tetrate.io/v1alpha1): TSB's install API for a cluster's control plane.

use istio_overlay::K8sObjectOverlay;
use k8s_openapi::api::core::v1::LocalObjectReference;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Spec of a TSB [`ControlPlane`].
///
/// TSB's schema is larger than what is typed here: every struct keeps the fields it does not
/// model in `extra` and writes them back unchanged, and the generated CRD marks each such
/// object `x-kubernetes-preserve-unknown-fields` so the API server does not prune them.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[kube(
    derive = "PartialEq",
    group = "install.tetrate.io",
    version = "v1alpha1",
    kind = "ControlPlane",
    plural = "controlplanes",
    namespaced,
    status = "ControlPlaneStatus",
    shortname = "cp"
)]
#[serde(rename_all = "camelCase")]
pub struct ControlPlaneSpec {
    /// Registry TSB and Istio images are pulled from (required by TSB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<String>,
    /// Pull secrets for that registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<LocalObjectReference>>,
    /// The management plane this cluster reports to (required by TSB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_plane: Option<ManagementPlaneSettings>,
    /// Where telemetry is stored (required by TSB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry_store: Option<TelemetryStore>,
    /// Mesh expansion (VMs) settings (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::free_form_object")]
    pub mesh_expansion: Option<Map<String, Value>>,
    /// Mesh observability settings (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::free_form_object")]
    pub mesh_observability: Option<Map<String, Value>>,
    /// Per-component overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<ControlPlaneComponentSet>,
    /// Fields this crate does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Status of a [`ControlPlane`] (free-form).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ControlPlaneStatus {
    /// Everything the operator reports, kept as is.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// Connection to the TSB management plane.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagementPlaneSettings {
    /// Management plane host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Management plane port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// Name of this cluster in the management plane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    /// Whether the management plane uses a self-signed certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_signed: Option<bool>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Telemetry store.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelemetryStore {
    /// Elasticsearch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elastic: Option<ElasticSettings>,
    /// Stores this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Elasticsearch connection.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ElasticSettings {
    /// Host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// Elasticsearch major version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// Whether Elasticsearch uses a self-signed certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_signed: Option<bool>,
    /// `http` or `https`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The control plane's components.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ControlPlaneComponentSet {
    /// Istio, as TSB installs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istio: Option<IstioComponent>,
    /// XCP edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xcp: Option<GenericComponent>,
    /// OAP (SkyWalking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oap: Option<GenericComponent>,
    /// OpenTelemetry collector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collector: Option<GenericComponent>,
    /// Components this crate does not model (gitops, ngac, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A component typed only as far as its `kubeSpec`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenericComponent {
    /// Kubernetes settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_spec: Option<KubernetesComponentSpec>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Kubernetes settings of a TSB component.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesComponentSpec {
    /// Overlays applied to the component's rendered objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::overlays")]
    pub overlays: Option<Vec<K8sObjectOverlay>>,
    /// Deployment settings (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::free_form_object")]
    pub deployment: Option<Map<String, Value>>,
    /// Service settings (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::free_form_object")]
    pub service: Option<Map<String, Value>>,
    /// Fields this crate does not model (job, serviceAccount, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Istio as TSB installs it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IstioComponent {
    /// Kubernetes settings, with the overlays TSB applies to the `IstioOperator` it generates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_spec: Option<IstioKubernetesSpec>,
    /// Trace sampling rate, percent (kept as the number written, `100` or `100.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::number")]
    pub trace_sampling_rate: Option<serde_json::Number>,
    /// Mesh trust domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_domain: Option<String>,
    /// Default workload certificate TTL (duration string).
    #[serde(
        default,
        rename = "defaultWorkloadCertTTL",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_workload_cert_ttl: Option<String>,
    /// Maximum workload certificate TTL (duration string).
    #[serde(
        default,
        rename = "maxWorkloadCertTTL",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_workload_cert_ttl: Option<String>,
    /// Overlays for Istio's `base` component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::overlays")]
    pub base_overlays: Option<Vec<K8sObjectOverlay>>,
    /// Overlays for Istio's `pilot` component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::overlays")]
    pub pilot_overlays: Option<Vec<K8sObjectOverlay>>,
    /// Overlays for Istio's `cni` component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::overlays")]
    pub cni_overlays: Option<Vec<K8sObjectOverlay>>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Kubernetes settings of the Istio component.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IstioKubernetesSpec {
    /// Overlays on the objects TSB generates, e.g. the `IstioOperator tsb-istiocontrolplane`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::overlays")]
    pub overlays: Option<Vec<K8sObjectOverlay>>,
    /// Deployment settings (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::free_form_object")]
    pub deployment: Option<Map<String, Value>>,
    /// Service settings (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::free_form_object")]
    pub service: Option<Map<String, Value>>,
    /// CNI settings (free-form; TSB spells the key `CNI`).
    #[serde(default, rename = "CNI", skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::free_form_object")]
    pub cni: Option<Map<String, Value>>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ControlPlaneSpec {
    /// The Istio component's `kubeSpec.overlays`, if any.
    pub fn istio_overlays(&self) -> &[K8sObjectOverlay] {
        self.components
            .as_ref()
            .and_then(|c| c.istio.as_ref())
            .and_then(|i| i.kube_spec.as_ref())
            .and_then(|k| k.overlays.as_deref())
            .unwrap_or(&[])
    }

    /// The Istio component's `kubeSpec.overlays`, created empty when absent.
    pub fn istio_overlays_mut(&mut self) -> &mut Vec<K8sObjectOverlay> {
        self.components
            .get_or_insert_with(Default::default)
            .istio
            .get_or_insert_with(Default::default)
            .kube_spec
            .get_or_insert_with(Default::default)
            .overlays
            .get_or_insert_with(Vec::new)
    }
}

impl JsonSchema for ControlPlaneStatus {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ControlPlaneStatus".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        crate::schema::free_form_object(generator)
    }
}
