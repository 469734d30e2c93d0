//! Golden tests: each builder's JSON against a literal.

use certmanager_types::*;
use serde_json::json;

#[test]
fn approle_secret_golden() {
    let secret = AppRoleSecretBuilder::seed_flow()
        .secret_id("s3cr3t-id")
        .build()
        .expect("builds");
    assert_eq!(
        serde_json::to_value(&secret).expect("serializes"),
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "cert-manager-vault-approle", "namespace": "istio-system"},
            "type": "Opaque",
            "data": {"secretId": "czNjcjN0LWlk"}
        })
    );
}

#[test]
fn approle_secret_requires_every_required_field() {
    let err = AppRoleSecretBuilder::new()
        .namespace("ns")
        .secret_id("x")
        .build()
        .expect_err("must be refused");
    assert!(
        matches!(err, Error::MissingField { field: "name", .. }),
        "{err}"
    );
    let err = AppRoleSecretBuilder::new()
        .name("n")
        .secret_id("x")
        .build()
        .expect_err("must be refused");
    assert!(
        matches!(
            err,
            Error::MissingField {
                field: "namespace",
                ..
            }
        ),
        "{err}"
    );
    let err = AppRoleSecretBuilder::seed_flow()
        .build()
        .expect_err("must be refused");
    assert!(
        matches!(
            err,
            Error::MissingField {
                field: "secret_id",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("secret_id"), "{err}");
}

#[test]
fn secret_id_never_appears_in_debug() {
    let builder = AppRoleSecretBuilder::seed_flow().secret_id("very-secret-value");
    let debug = format!("{builder:?}");
    assert!(!debug.contains("very-secret-value"), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
    let id = SecretId::new("very-secret-value");
    assert_eq!(format!("{id:?}"), "SecretId(<redacted>)");
    assert_eq!(id.expose(), "very-secret-value");
}

#[test]
fn vault_approle_issuer_golden() {
    let issuer = VaultAppRoleIssuerBuilder::seed_flow()
        .server("https://vault.vault.svc:8200")
        .role_id("6b9e2c4e-role")
        .build()
        .expect("builds");
    assert_eq!(
        serde_json::to_value(&issuer).expect("serializes"),
        json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "Issuer",
            "metadata": {"name": "vault-issuer", "namespace": "istio-system"},
            "spec": {
                "vault": {
                    "auth": {
                        "appRole": {
                            "path": "approle",
                            "roleId": "6b9e2c4e-role",
                            "secretRef": {"name": "cert-manager-vault-approle", "key": "secretId"}
                        }
                    },
                    "server": "https://vault.vault.svc:8200",
                    "path": "istioca/sign/cluster-local"
                }
            }
        })
    );
}

#[test]
fn vault_approle_issuer_with_ca_bundle_golden() {
    let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let issuer = VaultAppRoleIssuerBuilder::new()
        .name("vault-issuer")
        .namespace("istio-system")
        .server("https://127.0.0.1:8200")
        .path("istioca/sign/cluster-local")
        .approle_path("approle")
        .role_id("r")
        .secret_name("cert-manager-vault-approle")
        .ca_bundle(pem)
        .server_name("vault.local")
        .build()
        .expect("builds");
    let value = serde_json::to_value(&issuer).expect("serializes");
    use base64::Engine as _;
    let expected = base64::engine::general_purpose::STANDARD.encode(pem);
    assert_eq!(value["spec"]["vault"]["caBundle"], json!(expected));
    assert_eq!(value["spec"]["vault"]["serverName"], json!("vault.local"));
    assert_eq!(
        value["spec"]["vault"]["auth"]["appRole"]["secretRef"]["key"],
        json!("secretId")
    );
    // And back: the bytes are the PEM.
    let back: Issuer = serde_json::from_value(value).expect("parses");
    let vault = back.spec.vault.as_ref().expect("vault");
    assert_eq!(
        vault.ca_bundle.as_ref().map(|b| b.0.as_slice()),
        Some(pem.as_bytes())
    );
}

#[test]
fn vault_issuer_requires_server_and_role_id_and_refuses_prefixed_paths() {
    let err = VaultAppRoleIssuerBuilder::seed_flow()
        .role_id("r")
        .build()
        .expect_err("must be refused");
    assert!(
        matches!(
            err,
            Error::MissingField {
                field: "server",
                ..
            }
        ),
        "{err}"
    );
    let err = VaultAppRoleIssuerBuilder::seed_flow()
        .server("https://v")
        .build()
        .expect_err("must be refused");
    assert!(
        matches!(
            err,
            Error::MissingField {
                field: "role_id",
                ..
            }
        ),
        "{err}"
    );
    let err = VaultAppRoleIssuerBuilder::seed_flow()
        .server("https://v")
        .role_id("r")
        .approle_path("auth/approle")
        .build()
        .expect_err("must be refused");
    assert!(
        matches!(
            err,
            Error::InvalidField {
                field: "approle_path",
                ..
            }
        ),
        "{err}"
    );
    let err = VaultAppRoleIssuerBuilder::seed_flow()
        .server("https://v")
        .role_id("r")
        .path("/v1/istioca/sign/cluster-local")
        .build()
        .expect_err("must be refused");
    assert!(
        matches!(err, Error::InvalidField { field: "path", .. }),
        "{err}"
    );
}

#[test]
fn istiod_certificate_golden() {
    let cert = IstiodCertificateBuilder::new()
        .istio_namespace("istio-system")
        .trust_domain("cluster.local")
        .issuer_ref(IssuerReference::issuer("vault-issuer"))
        .build()
        .expect("builds");
    assert_eq!(
        serde_json::to_value(&cert).expect("serializes"),
        json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": "istiod", "namespace": "istio-system"},
            "spec": {
                "commonName": "istiod.istio-system.svc",
                "duration": "1h",
                "renewBefore": "30m",
                "dnsNames": ["istiod.istio-system.svc"],
                "uris": ["spiffe://cluster.local/ns/istio-system/sa/istiod-service-account"],
                "secretName": "istiod-tls",
                "issuerRef": {"name": "vault-issuer", "kind": "Issuer", "group": "cert-manager.io"},
                "privateKey": {"rotationPolicy": "Always", "algorithm": "RSA", "size": 2048},
                "revisionHistoryLimit": 1
            }
        })
    );
}

#[test]
fn istiod_certificate_revisions_and_required_fields() {
    let cert = IstiodCertificateBuilder::new()
        .istio_namespace("istio-system")
        .trust_domain("td")
        .issuer_ref(IssuerReference::issuer("i"))
        .revisions(["default", "canary"])
        .build()
        .expect("builds");
    assert_eq!(
        cert.spec.dns_names,
        Some(vec![
            "istiod.istio-system.svc".to_owned(),
            "istiod-canary.istio-system.svc".to_owned()
        ])
    );
    let err = IstiodCertificateBuilder::new()
        .istio_namespace("n")
        .trust_domain("t")
        .build()
        .expect_err("must be refused");
    assert!(
        matches!(
            err,
            Error::MissingField {
                field: "issuer_ref",
                ..
            }
        ),
        "{err}"
    );
    let err = IstiodCertificateBuilder::new()
        .istio_namespace("n")
        .trust_domain("t")
        .issuer_ref(IssuerReference::issuer("i"))
        .revisions(["a", "a"])
        .build()
        .expect_err("must be refused");
    assert!(
        matches!(
            err,
            Error::InvalidField {
                field: "revisions",
                ..
            }
        ),
        "{err}"
    );
}

fn seed_values() -> IstioCsrValues {
    IstioCsrValuesBuilder::new()
        .issuer(IssuerReference::issuer("vault-issuer"))
        .certificate_namespace("istio-system")
        .cluster_id("demo-cluster")
        .trust_domain("cluster.local")
        .root_ca(RootCaMount::seed_flow())
        .build()
        .expect("builds")
}

#[test]
fn istio_csr_values_golden() {
    assert_eq!(
        seed_values().to_json().expect("json"),
        json!({
            "app": {
                "certmanager": {
                    "namespace": "istio-system",
                    "issuer": {"name": "vault-issuer", "kind": "Issuer", "group": "cert-manager.io"}
                },
                "tls": {
                    "trustDomain": "cluster.local",
                    "rootCAFile": "/var/run/secrets/istio-csr/ca.cert.pem"
                },
                "server": {"clusterID": "demo-cluster"}
            },
            "volumes": [{"name": "root-ca", "secret": {"secretName": "istio-root-ca"}}],
            "volumeMounts": [{"name": "root-ca", "mountPath": "/var/run/secrets/istio-csr", "readOnly": true}]
        })
    );
}

#[test]
fn istio_csr_values_yaml_is_a_values_file() {
    let yaml = seed_values().to_yaml().expect("yaml");
    println!("{yaml}");
    let back: serde_json::Value = serde_yaml::from_str(&yaml).expect("YAML parses");
    assert_eq!(back["app"]["certmanager"]["issuer"]["name"], "vault-issuer");
    assert_eq!(back["app"]["server"]["clusterID"], "demo-cluster");
    assert_eq!(
        back["app"]["tls"]["rootCAFile"],
        "/var/run/secrets/istio-csr/ca.cert.pem"
    );
    let typed: IstioCsrValues = serde_yaml::from_str(&yaml).expect("typed parse");
    assert_eq!(typed, seed_values());
    assert_eq!(
        typed.root_ca_file(),
        Some("/var/run/secrets/istio-csr/ca.cert.pem")
    );
}

#[test]
fn istio_csr_values_require_issuer_cluster_and_trust_domain() {
    let err = IstioCsrValuesBuilder::new()
        .certificate_namespace("istio-system")
        .cluster_id("c")
        .trust_domain("t")
        .build()
        .expect_err("must be refused");
    assert!(
        matches!(
            err,
            Error::MissingField {
                field: "issuer",
                ..
            }
        ),
        "{err}"
    );
    let err = IstioCsrValuesBuilder::new()
        .issuer(IssuerReference::issuer("i"))
        .certificate_namespace("istio-system")
        .trust_domain("t")
        .build()
        .expect_err("must be refused");
    assert!(
        matches!(
            err,
            Error::MissingField {
                field: "cluster_id",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn istio_csr_chart_values_round_trip_losslessly() {
    // Keys this crate does not model (service, app.metrics, podDisruptionBudget, …) survive.
    let yaml = r#"
replicaCount: 2
image: {repository: quay.io/jetstack/cert-manager-istio-csr, tag: v0.17.0, pullPolicy: IfNotPresent}
service: {type: ClusterIP, port: 443}
app:
  logLevel: 1
  logFormat: text
  metrics: {port: 9402, service: {enabled: true, type: ClusterIP}}
  certmanager:
    namespace: istio-system
    preserveCertificateRequests: false
    additionalAnnotations: []
    issuer: {enabled: true, name: vault-issuer, kind: Issuer, group: cert-manager.io}
  tls:
    trustDomain: cluster.local
    rootCAFile: /var/run/secrets/istio-csr/ca.cert.pem
    certificateDNSNames: [cert-manager-istio-csr.cert-manager.svc]
    certificateDuration: 1h
    istiodCertificateEnable: dynamic
    istiodCertificateDuration: 1h
    istiodCertificateRenewBefore: 30m
    istiodPrivateKeySize: 2048
    istiodAdditionalDNSNames: []
  server:
    authenticators: {enableClientCert: false}
    clusterID: demo
    maxCertificateDuration: 1h
    serving: {address: 0.0.0.0, port: 6443, certificateKeySize: 2048, signatureAlgorithm: RSA}
  istio: {revisions: [default], namespace: istio-system}
  controller: {leaderElectionNamespace: istio-system, disableKubernetesClientRateLimiter: false}
volumes: [{name: root-ca, secret: {secretName: istio-root-ca}}]
volumeMounts: [{name: root-ca, mountPath: /var/run/secrets/istio-csr, readOnly: true}]
nodeSelector: {kubernetes.io/os: linux}
podDisruptionBudget: {enabled: false}
"#;
    let original: serde_json::Value = serde_yaml::from_str(yaml).expect("parses");
    let typed: IstioCsrValues = serde_json::from_value(original.clone()).expect("typed");
    assert_eq!(
        typed.issuer().and_then(|i| i.name.as_deref()),
        Some("vault-issuer")
    );
    assert_eq!(serde_json::to_value(&typed).expect("serializes"), original);
}

#[test]
fn vault_cluster_issuer_golden() {
    let ci = VaultAppRoleIssuerBuilder::seed_flow()
        .name("vault-cluster-issuer")
        .server("https://vault:8200")
        .role_id("r")
        .build_cluster_issuer()
        .expect("builds");
    let value = serde_json::to_value(&ci).expect("serializes");
    assert_eq!(value["kind"], "ClusterIssuer");
    assert_eq!(value["metadata"], json!({"name": "vault-cluster-issuer"}));
    assert_eq!(value["spec"]["vault"]["path"], "istioca/sign/cluster-local");
}

#[test]
fn istiod_certificate_from_values_matches_the_values() {
    let values = IstioCsrValuesBuilder::new()
        .issuer(IssuerReference::issuer("vault-issuer"))
        .certificate_namespace("istio-system")
        .cluster_id("demo-cluster")
        .trust_domain("cluster.local")
        .istio_namespace("istio-system")
        .build()
        .expect("builds");
    let from_values = IstiodCertificateBuilder::from_values(&values)
        .build()
        .expect("builds");
    let direct = IstiodCertificateBuilder::new()
        .istio_namespace("istio-system")
        .trust_domain("cluster.local")
        .issuer_ref(IssuerReference::issuer("vault-issuer"))
        .build()
        .expect("builds");
    assert_eq!(from_values, direct);
    // Without app.istio.namespace the builder does not guess it.
    let mut no_ns = values.clone();
    if let Some(app) = no_ns.app.as_mut() {
        app.istio = None;
    }
    let err = IstiodCertificateBuilder::from_values(&no_ns)
        .build()
        .expect_err("must be refused");
    assert!(
        matches!(
            err,
            Error::MissingField {
                field: "istio_namespace",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn vault_kubernetes_auth_issuer_golden() {
    use certmanager_types::{VaultKubernetesAuth, seed};
    let issuer = VaultAppRoleIssuerBuilder::seed_flow()
        .server("https://vault.vault.svc:8200")
        .kubernetes_auth(VaultKubernetesAuth::service_account(
            seed::KUBERNETES_MOUNT,
            "cert-manager",
            seed::ISSUER_SERVICE_ACCOUNT,
        ))
        .build()
        .expect("issuer");
    assert_eq!(
        serde_json::to_value(&issuer).expect("json"),
        serde_json::json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "Issuer",
            "metadata": {"name": "vault-issuer", "namespace": "istio-system"},
            "spec": {"vault": {
                "server": "https://vault.vault.svc:8200",
                "path": "istioca/sign/cluster-local",
                "auth": {"kubernetes": {
                    "mountPath": "/v1/auth/kubernetes",
                    "role": "cert-manager",
                    "serviceAccountRef": {"name": "vault-issuer"}
                }}
            }}
        })
    );
    assert_eq!(
        VaultKubernetesAuth::issuer_audience(seed::NAMESPACE, seed::ISSUER_NAME),
        "vault://istio-system/vault-issuer"
    );
}

#[test]
fn vault_kubernetes_auth_needs_a_role_and_a_full_mount_path() {
    use certmanager_types::VaultKubernetesAuth;
    let build = |k: VaultKubernetesAuth| {
        VaultAppRoleIssuerBuilder::seed_flow()
            .server("https://v:8200")
            .kubernetes_auth(k)
            .build()
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let e =
        build(VaultKubernetesAuth::service_account("kubernetes", "", "sa")).expect_err("no role");
    assert!(e.contains("role is empty"), "{e}");
    let mut k = VaultKubernetesAuth::service_account("kubernetes", "r", "sa");
    k.mount_path = Some("kubernetes".into());
    let e = build(k).expect_err("bare mount");
    assert!(e.contains("/v1/auth/kubernetes"), "{e}");
    let mut k = VaultKubernetesAuth::service_account("kubernetes", "r", "sa");
    k.service_account_ref = None;
    let e = build(k).expect_err("no account");
    assert!(e.contains("serviceAccountRef"), "{e}");
}
