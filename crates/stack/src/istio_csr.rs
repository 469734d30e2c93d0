//! istio-csr out of cluster on the stack, started with options of our own
//! ([`Stack::start_istio_csr`]) or from the Deployment its chart created (`deployment.rs`),
//! and where its chart is.

use std::path::{Path, PathBuf};

use crate::process::{Proc, free_port, http_ok, wait_ready};
use crate::{ISTIO_CSR_BIN, Result, Stack, StackError, ensure_namespace, need_bin};

/// istio-csr's Helm chart folder at v0.17.0, if it is here: `$ISTIO_CSR_SRC/deploy/charts/istio-csr`,
/// else the project's shared copy beside this workspace (`shared/third_party/istio-csr-v0.17.0`).
pub fn istio_csr_chart_dir() -> Option<PathBuf> {
    let src = std::env::var_os("ISTIO_CSR_SRC")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/third_party/istio-csr-v0.17.0")
        });
    let chart = src.join("deploy/charts/istio-csr");
    chart.join("Chart.yaml").is_file().then_some(chart)
}

/// How to start istio-csr (see [`Stack::start_istio_csr`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IstioCsrOptions {
    /// The root CA istio-csr trusts and hands to workloads (`--root-ca-file`).
    pub root_ca_file: PathBuf,
    /// The issuer it requests certificates from (`--issuer-name`).
    pub issuer_name: String,
    /// Its kind (`--issuer-kind`, default `Issuer`).
    pub issuer_kind: String,
    /// Its group (`--issuer-group`, default `cert-manager.io`).
    pub issuer_group: String,
    /// Where its CertificateRequests go, and the Issuer's namespace (`--certificate-namespace`,
    /// default `istio-system`; created if missing).
    pub certificate_namespace: String,
    /// The trust domain (`--trust-domain`, default `cluster.local`).
    pub trust_domain: String,
    /// The cluster id (`--cluster-id`, default `Kubernetes`).
    pub cluster_id: String,
    /// More arguments, appended last.
    pub extra_args: Vec<String>,
}

impl IstioCsrOptions {
    /// Defaults for an issuer and root file.
    pub fn new(root_ca_file: impl Into<PathBuf>, issuer_name: impl Into<String>) -> Self {
        IstioCsrOptions {
            root_ca_file: root_ca_file.into(),
            issuer_name: issuer_name.into(),
            issuer_kind: "Issuer".into(),
            issuer_group: "cert-manager.io".into(),
            certificate_namespace: "istio-system".into(),
            trust_domain: "cluster.local".into(),
            cluster_id: "Kubernetes".into(),
            extra_args: Vec::new(),
        }
    }
}

/// Where a started istio-csr serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IstioCsrEndpoint {
    /// The gRPC (TLS) address, `127.0.0.1:<port>`.
    pub grpc_addr: String,
    /// The DNS name in its serving certificate (use it as the TLS server name).
    pub serving_dns_name: String,
}

impl Stack {
    /// Starts istio-csr out of cluster against the stack (serving gRPC with TLS on a free
    /// 127.0.0.1 port, trusting `root_ca_file`) and waits for its readiness probe. The issuer
    /// and the root file must exist: istio-csr gets its own serving certificate from it.
    pub async fn start_istio_csr(&mut self, opts: IstioCsrOptions) -> Result<IstioCsrEndpoint> {
        let bin = need_bin(
            &self.cfg.bin_dir,
            ISTIO_CSR_BIN,
            "; build-stack.sh builds it from the module proxy, else from ISTIO_CSR_SRC (default ../shared/third_party/istio-csr-v0.17.0)",
        )?;
        if !opts.root_ca_file.is_file() {
            return Err(StackError::io(
                format!("istio-csr: root CA file {}", opts.root_ca_file.display()),
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        ensure_namespace(&self.client(), &opts.certificate_namespace).await?;
        let serving = free_port("istio-csr")?;
        let metrics = free_port("istio-csr-metrics")?;
        let readiness = free_port("istio-csr-readiness")?;
        let dns_name = format!(
            "cert-manager-istio-csr.{}.svc",
            self.cfg.cluster_resource_namespace
        );
        let mut args = vec![
            format!("--kubeconfig={}", self.state.kubeconfig.display()),
            format!("--serving-address=127.0.0.1:{serving}"),
            format!("--serving-certificate-dns-names={dns_name}"),
            format!("--metrics-port={metrics}"),
            format!("--readiness-probe-port={readiness}"),
            "--readiness-probe-path=/readyz".to_string(),
            format!("--root-ca-file={}", opts.root_ca_file.display()),
            format!("--issuer-name={}", opts.issuer_name),
            format!("--issuer-kind={}", opts.issuer_kind),
            format!("--issuer-group={}", opts.issuer_group),
            format!("--certificate-namespace={}", opts.certificate_namespace),
            format!("--leader-election-namespace={}", opts.certificate_namespace),
            format!("--trust-domain={}", opts.trust_domain),
            format!("--cluster-id={}", opts.cluster_id),
        ];
        args.extend(opts.extra_args.iter().cloned());
        self.spawn_istio_csr(&bin, &args, [serving, metrics, readiness], dns_name)
            .await
    }

    /// Starts istio-csr with `args` (serving, metrics and readiness on the given 127.0.0.1
    /// ports), waits for its readiness endpoint, and records it and its ports.
    pub(crate) async fn spawn_istio_csr(
        &mut self,
        bin: &Path,
        args: &[String],
        [serving, metrics, readiness]: [u16; 3],
        serving_dns_name: String,
    ) -> Result<IstioCsrEndpoint> {
        let log = self.log_path("istio-csr");
        let mut p = Proc::spawn("istio-csr", bin, args, &[], &log)?;
        let res = wait_ready(&mut p, self.cfg.ready_timeout, || {
            http_ok(readiness, "/readyz")
        })
        .await;
        self.track(p)?;
        res?;
        for (k, v) in [
            ("istio-csr", serving),
            ("istio-csr-metrics", metrics),
            ("istio-csr-readiness", readiness),
        ] {
            self.state.ports.insert(k.to_string(), v);
        }
        self.state.save()?;
        let ep = IstioCsrEndpoint {
            grpc_addr: format!("127.0.0.1:{serving}"),
            serving_dns_name,
        };
        self.istio_csr = Some(ep.clone());
        Ok(ep)
    }
}
