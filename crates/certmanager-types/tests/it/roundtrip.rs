//! Realistic manifests parse, read and serialize back unchanged.

use certmanager_types::*;
use serde_json::{Value, json};

fn round_trip<T>(yaml: &str) -> T
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let original: Value = serde_yaml::from_str(yaml).expect("YAML parses");
    let typed: T = serde_json::from_value(original.clone()).expect("typed parse");
    assert_eq!(
        serde_json::to_value(&typed).expect("serializes"),
        original,
        "round trip changed the manifest"
    );
    typed
}

#[test]
fn ready_vault_issuer_reads_vault_verified() {
    let issuer: Issuer = round_trip(
        r#"
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: vault-issuer, namespace: istio-system}
spec:
  vault:
    server: https://vault.example.com:8200
    path: istioca/sign/cluster-local
    caBundleSecretRef: {name: vault-ca, key: ca.crt}
    auth:
      appRole:
        path: approle
        roleId: 6b9e2c4e
        secretRef: {name: cert-manager-vault-approle, key: secretId}
status:
  conditions:
  - type: Ready
    status: "True"
    reason: VaultVerified
    message: Vault verified
    lastTransitionTime: "2026-11-27T10:00:00Z"
    observedGeneration: 1
"#,
    );
    assert!(issuer.is_ready());
    assert_eq!(issuer.ready_reason(), Some(reasons::VAULT_VERIFIED));
    assert_eq!(
        issuer.ready_message(),
        Some(reasons::VAULT_VERIFIED_MESSAGE)
    );
    assert_eq!(
        issuer.spec.vault.as_ref().map(|v| v.path.as_str()),
        Some("istioca/sign/cluster-local")
    );
}

#[test]
fn failing_issuer_is_not_ready() {
    let issuer: Issuer = round_trip(
        r#"
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: vault-issuer, namespace: istio-system}
spec:
  vault: {server: "https://v", path: p, auth: {tokenSecretRef: {name: t, key: token}}}
status:
  conditions:
  - {type: Ready, status: "False", reason: VaultError, message: "Failed to initialize Vault client"}
"#,
    );
    assert!(!issuer.is_ready());
    assert_eq!(issuer.ready_reason(), Some(reasons::VAULT_ERROR));
    let fresh = Issuer::new("x", IssuerSpec::default());
    assert!(fresh.ready_condition().is_none() && !fresh.is_ready());
}

#[test]
fn acme_cluster_issuer_with_every_solver_kind_round_trips() {
    let ci: ClusterIssuer = round_trip(
        r#"
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: letsencrypt}
spec:
  acme:
    server: https://acme-v02.api.letsencrypt.org/directory
    email: ops@example.com
    privateKeySecretRef: {name: le-account}
    skipTLSVerify: false
    externalAccountBinding: {keyID: kid, keySecretRef: {name: eab, key: secret}, keyAlgorithm: HS256}
    solvers:
    - selector: {dnsZones: [example.com]}
      dns01:
        cnameStrategy: Follow
        route53: {region: eu-west-1, hostedZoneID: Z123, accessKeyID: AKIA, secretAccessKeySecretRef: {name: aws, key: sk}}
    - dns01:
        azureDNS: {subscriptionID: s, resourceGroupName: rg, environment: AzurePublicCloud, managedIdentity: {clientID: c}}
    - dns01:
        webhook: {groupName: acme.example.com, solverName: mydns, config: {apiUrl: "https://x", ttl: 60, nested: {a: [1, 2]}}}
    - dns01: {rfc2136: {nameserver: "1.2.3.4:53", protocol: TCP, tsigKeyName: k}}
    - http01:
        ingress:
          ingressClassName: nginx
          podTemplate:
            metadata: {labels: {a: b}}
            spec:
              nodeSelector: {kubernetes.io/os: linux}
              tolerations: [{key: k, operator: Exists, effect: NoSchedule}]
              resources: {requests: {cpu: 10m, memory: 64Mi}}
              securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
              affinity:
                nodeAffinity:
                  requiredDuringSchedulingIgnoredDuringExecution:
                    nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]
    - http01:
        gatewayHTTPRoute:
          parentRefs: [{name: gw, namespace: gateways, kind: Gateway, port: 80}]
status:
  acme: {uri: "https://acme/acct/1", lastRegisteredEmail: ops@example.com}
  conditions: [{type: Ready, status: "True", reason: ACMEAccountRegistered, message: registered}]
"#,
    );
    assert!(ci.is_ready());
    let solvers = ci
        .spec
        .acme
        .as_ref()
        .and_then(|a| a.solvers.as_ref())
        .expect("solvers");
    assert_eq!(solvers.len(), 6);
    assert_eq!(
        solvers[0]
            .dns01
            .as_ref()
            .and_then(|d| d.cname_strategy.clone()),
        Some(CnameStrategy::Follow)
    );
}

#[test]
fn certificate_with_every_field_round_trips() {
    let cert: Certificate = round_trip(
        r#"
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: full, namespace: default}
spec:
  subject: {organizations: [Tetrate], countries: [US], organizationalUnits: [mesh], localities: [SF], provinces: [CA], streetAddresses: [x], postalCodes: ["94000"], serialNumber: "42"}
  commonName: full.example.com
  duration: 2160h
  renewBefore: 360h
  dnsNames: [full.example.com]
  ipAddresses: [10.0.0.1]
  uris: ["spiffe://cluster.local/ns/default/sa/full"]
  emailAddresses: [a@example.com]
  otherNames: [{oid: 1.3.6.1.4.1.311.20.2.3, utf8Value: upn@example.com}]
  secretName: full-tls
  secretTemplate: {annotations: {a: b}, labels: {c: d}}
  keystores:
    jks: {create: true, passwordSecretRef: {name: jks, key: password}, alias: cert}
    pkcs12: {create: true, password: changeit, profile: Modern2023}
  issuerRef: {name: ca, kind: ClusterIssuer, group: cert-manager.io}
  isCA: false
  usages: [server auth, client auth, digital signature, key encipherment]
  privateKey: {algorithm: ECDSA, encoding: PKCS8, size: 256, rotationPolicy: Always}
  signatureAlgorithm: ECDSAWithSHA256
  encodeUsagesInRequest: true
  revisionHistoryLimit: 3
  additionalOutputFormats: [{type: CombinedPEM}, {type: DER}]
  nameConstraints: {critical: true, permitted: {dnsDomains: [example.com], ipRanges: [10.0.0.0/8]}, excluded: {emailAddresses: [x@y]}}
  renewal: {policy: RenewBefore, windows: [{cron: "0 2 * * *", timezone: UTC, windowDuration: 2h}]}
status:
  conditions:
  - {type: Ready, status: "True", reason: Ready, message: Certificate is up to date and has not expired, lastTransitionTime: "2026-11-27T10:00:00Z", observedGeneration: 1}
  - {type: Issuing, status: "False", reason: Issued}
  notBefore: "2026-11-27T10:00:00Z"
  notAfter: "2027-02-25T10:00:00Z"
  renewalTime: "2027-02-10T10:00:00Z"
  revision: 1
"#,
    );
    assert!(cert.is_ready());
    let pk = cert.spec.private_key.as_ref().expect("privateKey");
    assert_eq!(pk.algorithm, Some(PrivateKeyAlgorithm::Ecdsa));
    assert_eq!(cert.spec.usages.as_ref().map(Vec::len), Some(4));
    assert_eq!(
        cert.issuing_condition().map(|c| c.status.clone()),
        Some(ConditionStatus::False)
    );
}

#[test]
fn values_a_newer_cert_manager_adds_still_parse_and_round_trip() {
    let cert: Certificate = round_trip(
        r#"
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: future, namespace: default}
spec:
  secretName: future-tls
  issuerRef: {name: ca}
  usages: [server auth, quantum safe]
  privateKey: {algorithm: ML-DSA-65, rotationPolicy: Sometimes}
status:
  conditions: [{type: Renewing, status: Maybe}]
"#,
    );
    let usages = cert.spec.usages.clone().unwrap_or_default();
    assert_eq!(
        usages,
        vec![KeyUsage::ServerAuth, KeyUsage::Other("quantum safe".into())]
    );
    assert!(!usages[1].is_known());
    let pk = cert.spec.private_key.clone().unwrap_or_default();
    assert_eq!(
        pk.algorithm,
        Some(PrivateKeyAlgorithm::Other("ML-DSA-65".into()))
    );
    assert_eq!(cert.issuer_ref_defaults(), ("Issuer", "cert-manager.io"));
    assert!(cert.ready_condition().is_none());
}

trait IssuerRefDefaults {
    fn issuer_ref_defaults(&self) -> (&str, &str);
}
impl IssuerRefDefaults for Certificate {
    fn issuer_ref_defaults(&self) -> (&str, &str) {
        (
            self.spec.issuer_ref.kind_or_default(),
            self.spec.issuer_ref.group_or_default(),
        )
    }
}

#[test]
fn certificate_request_round_trips_with_pem_bytes() {
    let csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(csr_pem);
    let yaml = format!(
        r#"
apiVersion: cert-manager.io/v1
kind: CertificateRequest
metadata: {{name: istiod-1, namespace: istio-system}}
spec:
  request: {b64}
  issuerRef: {{name: vault-issuer, kind: Issuer, group: cert-manager.io}}
  duration: 1h
  usages: [digital signature, key encipherment]
  username: system:serviceaccount:cert-manager:cert-manager
  groups: [system:serviceaccounts]
  extra: {{scopes: [a, b]}}
  uid: abc
status:
  conditions:
  - {{type: Approved, status: "True", reason: cert-manager.io, message: auto-approved}}
  - {{type: Ready, status: "True", reason: Issued, message: Certificate fetched from issuer successfully}}
  certificate: {b64}
  ca: {b64}
"#
    );
    let cr: CertificateRequest = round_trip(&yaml);
    assert_eq!(cr.spec.request.0, csr_pem.as_bytes());
    assert!(cr.is_ready() && cr.is_approved());
    assert_eq!(cr.ready_reason(), Some(reasons::ISSUED));
}

#[test]
fn defaults_are_constants_not_written_into_objects() {
    let spec = CertificateSpec::new(
        "s",
        IssuerReference {
            name: "i".into(),
            kind: None,
            group: None,
        },
    );
    assert_eq!(
        serde_json::to_value(&spec).expect("serializes"),
        json!({"secretName": "s", "issuerRef": {"name": "i"}})
    );
    assert_eq!(
        PrivateKeyRotationPolicy::DEFAULT,
        PrivateKeyRotationPolicy::Always
    );
    assert_eq!(PrivateKeyAlgorithm::DEFAULT.as_str(), "RSA");
    assert_eq!(PrivateKeyEncoding::DEFAULT.as_str(), "PKCS1");
    assert_eq!(
        KeyUsage::DEFAULT.map(|u| u.to_string()),
        ["digital signature", "key encipherment"]
    );
    assert_eq!(CertificateSpec::DEFAULT_DURATION, "2160h");
    assert_eq!(IssuerReference::DEFAULT_KIND, "Issuer");
}
