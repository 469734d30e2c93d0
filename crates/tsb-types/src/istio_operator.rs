//! `IstioOperator` (install.istio.io/v1alpha1): the install spec TSB generates for Istio.

use std::collections::BTreeMap;

use istio_overlay::K8sObjectOverlay;
use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, ResourceRequirements, Toleration, Volume, VolumeMount,
};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::values::Values;

/// Spec of an [`IstioOperator`].
///
/// Fields not modelled here are kept in `extra` and written back unchanged.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[kube(
    derive = "PartialEq",
    group = "install.istio.io",
    version = "v1alpha1",
    kind = "IstioOperator",
    plural = "istiooperators",
    namespaced,
    status = "IstioOperatorStatus",
    shortname = "iop",
    shortname = "io"
)]
#[serde(rename_all = "camelCase")]
pub struct IstioOperatorSpec {
    /// Profile, e.g. `default`, `minimal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Image registry root, e.g. `docker.io/istio`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<String>,
    /// Image tag (a string, or a number in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::int_or_string")]
    pub tag: Option<Value>,
    /// Revision this installation belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Namespace the control plane is installed into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Mesh configuration (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::free_form_object")]
    pub mesh_config: Option<Map<String, Value>>,
    /// Helm values passed to the charts, with typed accessors (`global.caAddress`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Values>,
    /// Values not validated against the schema (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::free_form_object")]
    pub unvalidated_values: Option<Map<String, Value>>,
    /// Per-component settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<IstioComponentSetSpec>,
    /// Fields this crate does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Status of an [`IstioOperator`] (free-form).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct IstioOperatorStatus {
    /// Everything the operator reports, kept as is.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// The components of an Istio installation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IstioComponentSetSpec {
    /// CRDs and cluster roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<ComponentSpec>,
    /// istiod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pilot: Option<ComponentSpec>,
    /// The CNI plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cni: Option<ComponentSpec>,
    /// ztunnel (ambient).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ztunnel: Option<ComponentSpec>,
    /// Remote istiod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istiod_remote: Option<ComponentSpec>,
    /// Ingress gateways.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_gateways: Option<Vec<GatewaySpec>>,
    /// Egress gateways.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_gateways: Option<Vec<GatewaySpec>>,
    /// Components this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Settings of one component.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSpec {
    /// Whether the component is installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Namespace of the component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Image registry override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<String>,
    /// Image tag override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::int_or_string")]
    pub tag: Option<Value>,
    /// Kubernetes settings of the component's resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k8s: Option<KubernetesResourcesSpec>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Settings of one gateway.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    /// Gateway name, e.g. `istio-ingressgateway`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether the gateway is installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Namespace of the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels of the gateway's pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<BTreeMap<String, String>>,
    /// Image registry override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<String>,
    /// Image tag override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::int_or_string")]
    pub tag: Option<Value>,
    /// Kubernetes settings of the gateway's resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k8s: Option<KubernetesResourcesSpec>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Kubernetes settings of a component (Istio's `KubernetesResourcesSpec`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesResourcesSpec {
    /// Pod affinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Container environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
    /// HorizontalPodAutoscaler spec (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::free_form_object")]
    pub hpa_spec: Option<Map<String, Value>>,
    /// Image pull policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// Node selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// PodDisruptionBudget spec (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::free_form_object")]
    pub pod_disruption_budget: Option<Map<String, Value>>,
    /// Pod annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_annotations: Option<BTreeMap<String, String>>,
    /// Priority class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Readiness probe (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::free_form_object")]
    pub readiness_probe: Option<Map<String, Value>>,
    /// Replica count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_count: Option<i32>,
    /// Container resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Service spec (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::free_form_object")]
    pub service: Option<Map<String, Value>>,
    /// Deployment strategy (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::free_form_object")]
    pub strategy: Option<Map<String, Value>>,
    /// Tolerations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Service annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_annotations: Option<BTreeMap<String, String>>,
    /// Pod security context (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::free_form_object")]
    pub security_context: Option<Map<String, Value>>,
    /// Extra pod volumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    /// Extra container volume mounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<Vec<VolumeMount>>,
    /// Overlays applied to the rendered resources (Istio tree paths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::overlays")]
    pub overlays: Option<Vec<K8sObjectOverlay>>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl IstioOperatorSpec {
    /// The pilot (istiod) component's Kubernetes settings, if present.
    pub fn pilot_k8s(&self) -> Option<&KubernetesResourcesSpec> {
        self.components.as_ref()?.pilot.as_ref()?.k8s.as_ref()
    }

    /// The pilot component's Kubernetes settings, created empty when absent.
    pub fn pilot_k8s_mut(&mut self) -> &mut KubernetesResourcesSpec {
        self.components
            .get_or_insert_with(Default::default)
            .pilot
            .get_or_insert_with(Default::default)
            .k8s
            .get_or_insert_with(Default::default)
    }

    /// The values, created empty when absent.
    pub fn values_mut(&mut self) -> &mut Values {
        self.values.get_or_insert_with(Default::default)
    }

    /// `values.global.caAddress`, if set.
    pub fn ca_address(&self) -> Option<&str> {
        self.values.as_ref()?.ca_address()
    }
}

impl KubernetesResourcesSpec {
    /// The value of environment variable `name`, if set with a literal value.
    pub fn env_value(&self, name: &str) -> Option<&str> {
        self.env
            .as_ref()?
            .iter()
            .find(|e| e.name == name)?
            .value
            .as_deref()
    }
}

impl JsonSchema for IstioOperatorStatus {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "IstioOperatorStatus".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        crate::schema::free_form_object(generator)
    }
}
