//! istio-csr: the `istiod` Certificate it creates and typed Helm values for its chart.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LocalObjectReference as CoreLocalObjectReference, ResourceRequirements, SecretVolumeSource,
    Volume, VolumeMount,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::approle::required;
use crate::certificate::{
    Certificate, CertificatePrivateKey, CertificateSpec, PrivateKeyAlgorithm,
    PrivateKeyRotationPolicy,
};
use crate::error::{Error, Result};
use crate::meta::IssuerReference;

/// Defaults of the istio-csr chart (v0.17) for the `istiod` Certificate.
pub mod chart_defaults {
    /// Name of the Certificate.
    pub const ISTIOD_CERTIFICATE_NAME: &str = "istiod";
    /// Secret the istiod key pair lands in.
    pub const ISTIOD_SECRET_NAME: &str = "istiod-tls";
    /// `app.tls.istiodCertificateDuration`.
    pub const ISTIOD_CERTIFICATE_DURATION: &str = "1h";
    /// `app.tls.istiodCertificateRenewBefore`.
    pub const ISTIOD_CERTIFICATE_RENEW_BEFORE: &str = "30m";
    /// `app.tls.istiodPrivateKeySize`.
    pub const ISTIOD_PRIVATE_KEY_SIZE: i64 = 2048;
    /// Service account istiod runs as (part of its SPIFFE id).
    pub const ISTIOD_SERVICE_ACCOUNT: &str = "istiod-service-account";
    /// `app.istio.revisions`.
    pub const ISTIO_REVISION: &str = "default";
    /// `app.tls.certificateDNSNames`: the istio-csr Service that workloads dial.
    pub const ISTIO_CSR_DNS_NAME: &str = "cert-manager-istio-csr.cert-manager.svc";
    /// The address workloads and istiod use for istio-csr (`global.caAddress`).
    pub const ISTIO_CSR_ADDRESS: &str = "cert-manager-istio-csr.cert-manager.svc:443";
    /// Name of the ConfigMap istio-csr publishes in each namespace.
    pub const ROOT_CA_CONFIGMAP: &str = "istio-ca-root-cert";
}

/// Builds the `istiod` Certificate exactly as the istio-csr chart renders it.
///
/// Required: [`istio_namespace`](Self::istio_namespace),
/// [`trust_domain`](Self::trust_domain), [`issuer_ref`](Self::issuer_ref). The chart's own
/// defaults (1h, renew 30m, RSA 2048, rotation `Always`, one revision kept, revision
/// `default`) apply unless overridden; they are the constants in [`chart_defaults`].
#[derive(Clone, Debug, Default)]
pub struct IstiodCertificateBuilder {
    istio_namespace: Option<String>,
    trust_domain: Option<String>,
    issuer_ref: Option<IssuerReference>,
    revisions: Option<Vec<String>>,
    duration: Option<String>,
    renew_before: Option<String>,
    algorithm: Option<PrivateKeyAlgorithm>,
    size: Option<i64>,
    additional_dns_names: Vec<String>,
}

impl IstiodCertificateBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder reading what the chart reads from `values`: `app.istio.namespace`,
    /// `app.tls.trustDomain`, `app.certmanager.issuer.*`, `app.istio.revisions`,
    /// `app.tls.istiodCertificateDuration`, `app.tls.istiodCertificateRenewBefore`,
    /// `app.tls.istiodPrivateKeySize`, `app.tls.istiodAdditionalDNSNames`. Values left unset
    /// stay unset here too (so [`build`](Self::build) reports a missing namespace, trust
    /// domain or issuer rather than assuming the chart's defaults for them).
    pub fn from_values(values: &IstioCsrValues) -> Self {
        let app = values.app.as_ref();
        let tls = app.and_then(|a| a.tls.as_ref());
        let istio = app.and_then(|a| a.istio.as_ref());
        let issuer = values.issuer().and_then(|i| {
            i.name.as_ref().map(|name| IssuerReference {
                name: name.clone(),
                kind: i.kind.clone(),
                group: i.group.clone(),
            })
        });
        Self {
            istio_namespace: istio.and_then(|i| i.namespace.clone()),
            trust_domain: tls.and_then(|t| t.trust_domain.clone()),
            issuer_ref: issuer,
            revisions: istio.and_then(|i| i.revisions.clone()),
            duration: tls.and_then(|t| t.istiod_certificate_duration.clone()),
            renew_before: tls.and_then(|t| t.istiod_certificate_renew_before.clone()),
            algorithm: None,
            size: tls.and_then(|t| t.istiod_private_key_size),
            additional_dns_names: tls
                .and_then(|t| t.istiod_additional_dns_names.clone())
                .unwrap_or_default(),
        }
    }

    /// Namespace istiod runs in (and the Certificate lives in), e.g. `istio-system`.
    pub fn istio_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.istio_namespace = Some(namespace.into());
        self
    }

    /// The mesh trust domain, e.g. `cluster.local`.
    pub fn trust_domain(mut self, trust_domain: impl Into<String>) -> Self {
        self.trust_domain = Some(trust_domain.into());
        self
    }

    /// The issuer that signs (istio-csr's `app.certmanager.issuer`).
    pub fn issuer_ref(mut self, issuer_ref: IssuerReference) -> Self {
        self.issuer_ref = Some(issuer_ref);
        self
    }

    /// Istio revisions (each adds `istiod-<rev>.<ns>.svc`; `default` adds `istiod.<ns>.svc`).
    pub fn revisions<I, S>(mut self, revisions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.revisions = Some(revisions.into_iter().map(Into::into).collect());
        self
    }

    /// Certificate lifetime (Go duration).
    pub fn duration(mut self, duration: impl Into<String>) -> Self {
        self.duration = Some(duration.into());
        self
    }

    /// Renew this long before expiry (Go duration).
    pub fn renew_before(mut self, renew_before: impl Into<String>) -> Self {
        self.renew_before = Some(renew_before.into());
        self
    }

    /// Private key algorithm and size.
    pub fn private_key(mut self, algorithm: PrivateKeyAlgorithm, size: i64) -> Self {
        self.algorithm = Some(algorithm);
        self.size = Some(size);
        self
    }

    /// Extra DNS names for istiod.
    pub fn additional_dns_names<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.additional_dns_names = names.into_iter().map(Into::into).collect();
        self
    }

    /// Builds the Certificate.
    pub fn build(&self) -> Result<Certificate> {
        const OBJECT: &str = "Certificate";
        let ns = required(&self.istio_namespace, OBJECT, "istio_namespace")?;
        let trust_domain = required(&self.trust_domain, OBJECT, "trust_domain")?;
        let issuer_ref = self.issuer_ref.clone().ok_or(Error::MissingField {
            object: OBJECT,
            field: "issuer_ref",
        })?;
        let default_revisions = [chart_defaults::ISTIO_REVISION.to_owned()];
        let revisions = self.revisions.as_deref().unwrap_or(&default_revisions);
        let mut dns_names = Vec::new();
        for revision in revisions {
            let name = if revision == chart_defaults::ISTIO_REVISION || revision.is_empty() {
                format!("istiod.{ns}.svc")
            } else {
                format!("istiod-{revision}.{ns}.svc")
            };
            if dns_names.contains(&name) {
                return Err(Error::InvalidField {
                    object: OBJECT,
                    field: "revisions",
                    reason: format!("duplicate revision `{revision}`"),
                });
            }
            dns_names.push(name);
        }
        dns_names.extend(self.additional_dns_names.iter().cloned());
        let spec = CertificateSpec {
            common_name: Some(format!("istiod.{ns}.svc")),
            dns_names: Some(dns_names),
            uris: Some(vec![format!(
                "spiffe://{trust_domain}/ns/{ns}/sa/{}",
                chart_defaults::ISTIOD_SERVICE_ACCOUNT
            )]),
            duration: Some(
                self.duration
                    .clone()
                    .unwrap_or_else(|| chart_defaults::ISTIOD_CERTIFICATE_DURATION.into()),
            ),
            renew_before: Some(
                self.renew_before
                    .clone()
                    .unwrap_or_else(|| chart_defaults::ISTIOD_CERTIFICATE_RENEW_BEFORE.into()),
            ),
            private_key: Some(CertificatePrivateKey {
                rotation_policy: Some(PrivateKeyRotationPolicy::Always),
                algorithm: Some(self.algorithm.clone().unwrap_or(PrivateKeyAlgorithm::Rsa)),
                size: Some(self.size.unwrap_or(chart_defaults::ISTIOD_PRIVATE_KEY_SIZE)),
                encoding: None,
            }),
            revision_history_limit: Some(1),
            ..CertificateSpec::new(chart_defaults::ISTIOD_SECRET_NAME, issuer_ref)
        };
        let mut certificate = Certificate::new(chart_defaults::ISTIOD_CERTIFICATE_NAME, spec);
        certificate.metadata.namespace = Some(ns.to_owned());
        Ok(certificate)
    }
}

/// Typed values for the `cert-manager-istio-csr` Helm chart (v0.17).
///
/// Only what is set is written; keys this type does not model are kept in `extra` at each
/// level, so a values file round-trips unchanged.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct IstioCsrValues {
    /// `replicaCount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_count: Option<i32>,
    /// `image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageValues>,
    /// `imagePullSecrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<CoreLocalObjectReference>>,
    /// `app`: istio-csr's own settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppValues>,
    /// `volumes`: extra pod volumes (e.g. the root CA Secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    /// `volumeMounts`: extra container mounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<Vec<VolumeMount>>,
    /// `resources`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// `nodeSelector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// `podLabels`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_labels: Option<BTreeMap<String, String>>,
    /// `podAnnotations`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_annotations: Option<BTreeMap<String, String>>,
    /// Keys not modelled above, kept as they are.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `image`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ImageValues {
    /// `image.repository`: full repository override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// `image.tag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// `image.digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// `image.pullPolicy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<String>,
    /// Keys not modelled above.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `app`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AppValues {
    /// `app.logLevel` (1-5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<i32>,
    /// `app.logFormat` (`text` or `json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    /// `app.certmanager`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certmanager: Option<CertManagerValues>,
    /// `app.tls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsValues>,
    /// `app.server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerValues>,
    /// `app.istio`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istio: Option<IstioValues>,
    /// `app.controller`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<ControllerValues>,
    /// Keys not modelled above.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `app.certmanager`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CertManagerValues {
    /// `app.certmanager.namespace`: where CertificateRequests are created (the Issuer's
    /// namespace for a namespaced Issuer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `app.certmanager.preserveCertificateRequests`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_certificate_requests: Option<bool>,
    /// `app.certmanager.issuer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<IssuerValues>,
    /// Keys not modelled above.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `app.certmanager.issuer`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct IssuerValues {
    /// `enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `kind`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `group`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Keys not modelled above.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `app.tls`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct TlsValues {
    /// `app.tls.trustDomain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_domain: Option<String>,
    /// `app.tls.rootCAFile`: PEM root the `istio-ca-root-cert` ConfigMaps are filled with
    /// and chains are verified against.
    #[serde(
        default,
        rename = "rootCAFile",
        skip_serializing_if = "Option::is_none"
    )]
    pub root_ca_file: Option<String>,
    /// `app.tls.certificateDNSNames`.
    #[serde(
        default,
        rename = "certificateDNSNames",
        skip_serializing_if = "Option::is_none"
    )]
    pub certificate_dns_names: Option<Vec<String>>,
    /// `app.tls.certificateDuration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_duration: Option<String>,
    /// `app.tls.istiodCertificateEnable` (`true`, `false` or `"dynamic"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istiod_certificate_enable: Option<Value>,
    /// `app.tls.istiodCertificateDuration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istiod_certificate_duration: Option<String>,
    /// `app.tls.istiodCertificateRenewBefore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istiod_certificate_renew_before: Option<String>,
    /// `app.tls.istiodPrivateKeyAlgorithm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istiod_private_key_algorithm: Option<String>,
    /// `app.tls.istiodPrivateKeySize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istiod_private_key_size: Option<i64>,
    /// `app.tls.istiodAdditionalDNSNames`.
    #[serde(
        default,
        rename = "istiodAdditionalDNSNames",
        skip_serializing_if = "Option::is_none"
    )]
    pub istiod_additional_dns_names: Option<Vec<String>>,
    /// Keys not modelled above.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `app.server`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ServerValues {
    /// `app.server.clusterID`: the Istio cluster id CSRs are verified against.
    #[serde(default, rename = "clusterID", skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// `app.server.maxCertificateDuration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_certificate_duration: Option<String>,
    /// `app.server.serving`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<ServingValues>,
    /// Keys not modelled above.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `app.server.serving`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ServingValues {
    /// Listen address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Listen port (chart default 6443).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// Keys not modelled above.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `app.istio`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct IstioValues {
    /// `app.istio.revisions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisions: Option<Vec<String>>,
    /// `app.istio.namespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Keys not modelled above.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `app.controller`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ControllerValues {
    /// `app.controller.leaderElectionNamespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_election_namespace: Option<String>,
    /// `app.controller.configmapNamespaceSelector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configmap_namespace_selector: Option<String>,
    /// Keys not modelled above.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl IstioCsrValues {
    /// Serializes to a `values.yaml` document.
    pub fn to_yaml(&self) -> Result<String> {
        serde_yaml::to_string(self).map_err(|source| Error::Yaml {
            what: "istio-csr Helm values",
            source,
        })
    }

    /// Serializes to JSON (what `helm --values` also accepts).
    pub fn to_json(&self) -> Result<Value> {
        serde_json::to_value(self).map_err(|source| Error::Json {
            what: "istio-csr Helm values",
            source,
        })
    }

    /// The `app.certmanager.issuer` values, if set.
    pub fn issuer(&self) -> Option<&IssuerValues> {
        self.app.as_ref()?.certmanager.as_ref()?.issuer.as_ref()
    }

    /// `app.tls.rootCAFile`, if set.
    pub fn root_ca_file(&self) -> Option<&str> {
        self.app.as_ref()?.tls.as_ref()?.root_ca_file.as_deref()
    }
}

/// Where istio-csr reads its root CA from: a Secret mounted as a volume.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RootCaMount {
    /// Name of the Secret holding the root CA PEM, e.g. `istio-root-ca`.
    pub secret_name: String,
    /// Key of the PEM in the Secret, which becomes the file name, e.g. `ca.cert.pem`.
    pub key: String,
    /// Name of the pod volume, e.g. `root-ca`.
    pub volume_name: String,
    /// Directory it is mounted at, e.g. `/var/run/secrets/istio-csr`.
    pub mount_path: String,
}

impl RootCaMount {
    /// A mount of `key` of Secret `secret_name` as volume `volume_name` at `mount_path`.
    pub fn new(
        secret_name: impl Into<String>,
        key: impl Into<String>,
        volume_name: impl Into<String>,
        mount_path: impl Into<String>,
    ) -> Self {
        Self {
            secret_name: secret_name.into(),
            key: key.into(),
            volume_name: volume_name.into(),
            mount_path: mount_path.into(),
        }
    }

    /// The seed flow's mount: Secret `istio-root-ca` key `ca.cert.pem`, volume `root-ca`, at
    /// `/var/run/secrets/istio-csr` (so `rootCAFile` is `/var/run/secrets/istio-csr/ca.cert.pem`).
    pub fn seed_flow() -> Self {
        Self::new(
            "istio-root-ca",
            "ca.cert.pem",
            "root-ca",
            "/var/run/secrets/istio-csr",
        )
    }

    /// The path of the PEM file inside the container.
    pub fn file_path(&self) -> String {
        format!("{}/{}", self.mount_path.trim_end_matches('/'), self.key)
    }
}

/// Builds [`IstioCsrValues`] for istio-csr signing through a cert-manager issuer.
///
/// Required: [`issuer`](Self::issuer), [`certificate_namespace`](Self::certificate_namespace),
/// [`cluster_id`](Self::cluster_id), [`trust_domain`](Self::trust_domain). Optional:
/// [`root_ca`](Self::root_ca) (mounts the root CA and sets `app.tls.rootCAFile`),
/// [`istio_namespace`](Self::istio_namespace), [`image`](Self::image).
#[derive(Clone, Debug, Default)]
pub struct IstioCsrValuesBuilder {
    issuer: Option<IssuerReference>,
    certificate_namespace: Option<String>,
    cluster_id: Option<String>,
    trust_domain: Option<String>,
    root_ca: Option<RootCaMount>,
    istio_namespace: Option<String>,
    image: Option<ImageValues>,
}

impl IstioCsrValuesBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The issuer istio-csr's CertificateRequests name (`app.certmanager.issuer.*`); kind
    /// and group are written even when absent in the reference, with cert-manager's defaults.
    pub fn issuer(mut self, issuer: IssuerReference) -> Self {
        self.issuer = Some(issuer);
        self
    }

    /// Namespace the CertificateRequests are created in (`app.certmanager.namespace`).
    pub fn certificate_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.certificate_namespace = Some(namespace.into());
        self
    }

    /// Istio cluster id (`app.server.clusterID`).
    pub fn cluster_id(mut self, cluster_id: impl Into<String>) -> Self {
        self.cluster_id = Some(cluster_id.into());
        self
    }

    /// Trust domain (`app.tls.trustDomain`).
    pub fn trust_domain(mut self, trust_domain: impl Into<String>) -> Self {
        self.trust_domain = Some(trust_domain.into());
        self
    }

    /// Mount the root CA from a Secret and point `app.tls.rootCAFile` at it.
    pub fn root_ca(mut self, root_ca: RootCaMount) -> Self {
        self.root_ca = Some(root_ca);
        self
    }

    /// Namespace of the Istio control plane (`app.istio.namespace`).
    pub fn istio_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.istio_namespace = Some(namespace.into());
        self
    }

    /// Image overrides (`image.*`).
    pub fn image(mut self, image: ImageValues) -> Self {
        self.image = Some(image);
        self
    }

    /// Builds the values.
    pub fn build(&self) -> Result<IstioCsrValues> {
        const OBJECT: &str = "istio-csr values";
        let issuer = self.issuer.as_ref().ok_or(Error::MissingField {
            object: OBJECT,
            field: "issuer",
        })?;
        if issuer.name.is_empty() {
            return Err(Error::MissingField {
                object: OBJECT,
                field: "issuer",
            });
        }
        let namespace = required(&self.certificate_namespace, OBJECT, "certificate_namespace")?;
        let cluster_id = required(&self.cluster_id, OBJECT, "cluster_id")?;
        let trust_domain = required(&self.trust_domain, OBJECT, "trust_domain")?;
        let (volumes, volume_mounts, root_ca_file) = match &self.root_ca {
            Some(root) => (
                Some(vec![Volume {
                    name: root.volume_name.clone(),
                    secret: Some(SecretVolumeSource {
                        secret_name: Some(root.secret_name.clone()),
                        ..SecretVolumeSource::default()
                    }),
                    ..Volume::default()
                }]),
                Some(vec![VolumeMount {
                    name: root.volume_name.clone(),
                    mount_path: root.mount_path.clone(),
                    read_only: Some(true),
                    ..VolumeMount::default()
                }]),
                Some(root.file_path()),
            ),
            None => (None, None, None),
        };
        Ok(IstioCsrValues {
            image: self.image.clone(),
            app: Some(AppValues {
                certmanager: Some(CertManagerValues {
                    namespace: Some(namespace.to_owned()),
                    issuer: Some(IssuerValues {
                        name: Some(issuer.name.clone()),
                        kind: Some(issuer.kind_or_default().to_owned()),
                        group: Some(issuer.group_or_default().to_owned()),
                        ..IssuerValues::default()
                    }),
                    ..CertManagerValues::default()
                }),
                tls: Some(TlsValues {
                    trust_domain: Some(trust_domain.to_owned()),
                    root_ca_file,
                    ..TlsValues::default()
                }),
                server: Some(ServerValues {
                    cluster_id: Some(cluster_id.to_owned()),
                    ..ServerValues::default()
                }),
                istio: self.istio_namespace.as_ref().map(|ns| IstioValues {
                    namespace: Some(ns.clone()),
                    ..IstioValues::default()
                }),
                ..AppValues::default()
            }),
            volumes,
            volume_mounts,
            ..IstioCsrValues::default()
        })
    }
}
