//! istiod (Istio's `pilot-discovery`) out of cluster on the stack, serving Istio's CA API in
//! its Kubernetes RA mode: a workload's CSR becomes a Kubernetes CertificateSigningRequest for
//! the signer `issuers.cert-manager.io/<ns>.<issuer>`, which istiod approves and cert-manager's
//! Vault signer signs through OpenBao. It stands in for istio-csr (which the Go module proxy
//! does not serve here) as the server of `CreateCertificate`: the same gRPC API, the same
//! service-account token check, and cert-manager plus Vault behind it.
//!
//! istiod reads several files at paths relative to its working directory; the stack gives it
//! its own (`<stack>/istiod`) and writes there:
//! - `etc/external-ca-cert/root-cert.pem`: the root the RA appends and checks chains against;
//! - `etc/istio/config/mesh`: the mesh config (the trust domain);
//! - `tls/{tls.crt,tls.key,ca.crt}`: its serving certificate (the `istiod-tls` Secret that
//!   cert-manager issues through the Vault Issuer, as in the seed flow).

use std::path::{Path, PathBuf};

use vault_pki::SecretString;

use super::files::write_secret;
use super::process::{Proc, free_port, http_ok, wait_ready};
use super::{Result, Stack, StackError, ensure_namespace, need_bin};

/// istiod's binary name in the stack's bin dir.
pub const ISTIOD_BIN: &str = "pilot-discovery";

/// How to start istiod (see [`Stack::start_istiod`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IstiodOptions {
    /// The mesh's root CA (PEM): the RA's `root-cert.pem`, and the CA of the serving chain.
    pub root_ca_pem: String,
    /// istiod's serving certificate chain (PEM), for `istiod.<namespace>.svc`.
    pub tls_cert_pem: String,
    /// Its key (PEM).
    pub tls_key_pem: SecretString,
    /// The Kubernetes signer name for workload CSRs (`K8S_SIGNER`), e.g.
    /// `issuers.cert-manager.io/istio-system.vault-issuer`.
    pub signer: String,
    /// istiod's namespace (default `istio-system`).
    pub namespace: String,
    /// The trust domain (default `cluster.local`).
    pub trust_domain: String,
    /// The cluster id (default `Kubernetes`).
    pub cluster_id: String,
    /// More environment variables, set last.
    pub extra_env: Vec<(String, String)>,
}

impl IstiodOptions {
    /// Defaults for a root, a serving certificate and a signer.
    pub fn new(
        root_ca_pem: impl Into<String>,
        tls_cert_pem: impl Into<String>,
        tls_key_pem: SecretString,
        signer: impl Into<String>,
    ) -> Self {
        IstiodOptions {
            root_ca_pem: root_ca_pem.into(),
            tls_cert_pem: tls_cert_pem.into(),
            tls_key_pem,
            signer: signer.into(),
            namespace: "istio-system".into(),
            trust_domain: "cluster.local".into(),
            cluster_id: "Kubernetes".into(),
            extra_env: Vec::new(),
        }
    }
}

/// Where a started istiod serves Istio's CA API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IstiodEndpoint {
    /// The secure gRPC (TLS) address, `127.0.0.1:<port>` (istiod's 15012).
    pub grpc_addr: String,
    /// The DNS name in its serving certificate (use it as the TLS server name).
    pub serving_dns_name: String,
}

fn write(path: &Path, contents: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| StackError::io(format!("creating {}", parent.display()), e))?;
    }
    std::fs::write(path, contents)
        .map_err(|e| StackError::io(format!("writing {}", path.display()), e))
}

impl Stack {
    /// Has cert-manager issue istiod's serving certificate through `issuer` (an Issuer in
    /// `namespace`), as istio-csr does in the seed flow: Certificate `<namespace>/istiod`
    /// for `istiod.<namespace>.svc` and `spiffe://<trust_domain>/ns/<namespace>/sa/istiod`,
    /// RSA 2048, into Secret `istiod-tls`. Waits (bounded by the stack's ready timeout) for it
    /// to be Ready and returns `(tls.crt, tls.key)`.
    pub async fn issue_istiod_tls(
        &self,
        namespace: &str,
        issuer: &str,
        trust_domain: &str,
    ) -> Result<(String, SecretString)> {
        use certmanager_types::{
            Certificate, IssuerReference, IstiodCertificateBuilder, PrivateKeyAlgorithm,
        };
        use k8s_openapi::api::core::v1::Secret;
        use kube::Api;
        use kube::api::{Patch, PatchParams};

        let cert = IstiodCertificateBuilder::new()
            .istio_namespace(namespace)
            .trust_domain(trust_domain)
            .issuer_ref(IssuerReference::issuer(issuer))
            .private_key(PrivateKeyAlgorithm::Rsa, 2048)
            .build()
            .map_err(|e| StackError::Manifest {
                what: "Certificate istiod".into(),
                message: e.to_string(),
            })?;
        let certs: Api<Certificate> = Api::namespaced(self.client(), namespace);
        let what = format!("Certificate {namespace}/istiod");
        certs
            .patch(
                "istiod",
                &PatchParams::apply(crate::crds::FIELD_MANAGER).force(),
                &Patch::Apply(&cert),
            )
            .await
            .map_err(|e| StackError::kube(format!("applying {what}"), e))?;
        let started = std::time::Instant::now();
        loop {
            let c = certs
                .get("istiod")
                .await
                .map_err(|e| StackError::kube(format!("reading {what}"), e))?;
            if c.is_ready() {
                break;
            }
            if started.elapsed() >= self.cfg.ready_timeout {
                return Err(StackError::NotReady {
                    component: what,
                    timeout: self.cfg.ready_timeout,
                    why: format!(
                        "not Ready: {}; is Issuer {namespace}/{issuer} Ready?",
                        c.ready_message().unwrap_or("no status yet")
                    ),
                    log: self.log_path("cert-manager"),
                    tail: String::new(),
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        let secret = Api::<Secret>::namespaced(self.client(), namespace)
            .get("istiod-tls")
            .await
            .map_err(|e| StackError::kube(format!("reading Secret {namespace}/istiod-tls"), e))?;
        let data = secret.data.unwrap_or_default();
        let text = |k: &str| {
            data.get(k)
                .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                .ok_or_else(|| StackError::Manifest {
                    what: format!("Secret {namespace}/istiod-tls"),
                    message: format!("no {k}"),
                })
        };
        Ok((text("tls.crt")?, SecretString::new(text("tls.key")?)))
    }

    /// Starts istiod out of cluster (all its ports on free 127.0.0.1 ports), as the Istio CA
    /// in Kubernetes RA mode with `opts.signer`, and waits for its `/ready`. cert-manager's
    /// Vault Issuer named by the signer must be Ready for workload certificates to be issued.
    pub async fn start_istiod(&mut self, opts: IstiodOptions) -> Result<IstiodEndpoint> {
        let bin = need_bin(
            &self.cfg.bin_dir,
            ISTIOD_BIN,
            " (istio.io/istio's pilot-discovery, built by crates/stack/build-stack.sh)",
        )?;
        ensure_namespace(&self.client(), &opts.namespace).await?;
        let dir = self.state.dir.join("istiod");
        write(
            &dir.join("etc/external-ca-cert/root-cert.pem"),
            &opts.root_ca_pem,
        )?;
        write(
            &dir.join("etc/istio/config/mesh"),
            &format!("trustDomain: {}\n", opts.trust_domain),
        )?;
        write(&dir.join("etc/istio/config/meshNetworks"), "networks: {}\n")?;
        let tls: PathBuf = dir.join("tls");
        write(&tls.join("tls.crt"), &opts.tls_cert_pem)?;
        write(&tls.join("ca.crt"), &opts.root_ca_pem)?;
        write_secret(&tls.join("tls.key"), opts.tls_key_pem.expose_secret())?;

        let mut ports = std::collections::BTreeMap::new();
        for k in [
            "istiod-http",
            "istiod-grpc",
            "istiod-secure-grpc",
            "istiod-webhook",
            "istiod-monitoring",
        ] {
            ports.insert(k, free_port(k)?);
        }
        let addr = |k: &str| format!("127.0.0.1:{}", ports[k]);
        let args = vec![
            "discovery".to_string(),
            format!("--kubeconfig={}", self.state.kubeconfig.display()),
            format!("--namespace={}", opts.namespace),
            format!("--clusterID={}", opts.cluster_id),
            format!("--httpAddr={}", addr("istiod-http")),
            format!("--grpcAddr={}", addr("istiod-grpc")),
            format!("--secureGRPCAddr={}", addr("istiod-secure-grpc")),
            format!("--httpsAddr={}", addr("istiod-webhook")),
            format!("--monitoringAddr={}", addr("istiod-monitoring")),
            format!("--tlsCertFile={}", tls.join("tls.crt").display()),
            format!("--tlsKeyFile={}", tls.join("tls.key").display()),
            format!("--caCertFile={}", tls.join("ca.crt").display()),
            "--profile=false".to_string(),
        ];
        let mut envs: Vec<(&str, String)> = vec![
            ("POD_NAMESPACE", opts.namespace.clone()),
            ("POD_NAME", "istiod-stack".into()),
            ("EXTERNAL_CA", "ISTIOD_RA_KUBERNETES_API".into()),
            ("K8S_SIGNER", opts.signer.clone()),
            ("ENABLE_CA_SERVER", "true".into()),
        ];
        for (k, v) in &opts.extra_env {
            envs.push((k.as_str(), v.clone()));
        }
        let log = self.log_path("istiod");
        let mut p = Proc::spawn_in("istiod", &bin, &args, &envs, &log, Some(&dir))?;
        let http = ports["istiod-http"];
        let res = wait_ready(&mut p, self.cfg.ready_timeout, || http_ok(http, "/ready")).await;
        self.track(p)?;
        res?;
        let grpc_addr = addr("istiod-secure-grpc");
        for (k, v) in ports {
            self.state.ports.insert(k.to_string(), v);
        }
        self.state.save()?;
        Ok(IstiodEndpoint {
            grpc_addr,
            serving_dns_name: format!("istiod.{}.svc", opts.namespace),
        })
    }
}
