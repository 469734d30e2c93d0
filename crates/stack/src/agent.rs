//! Istio's own agent (`pilot-agent`, built from the stack's `istio.io/istio`) asking an Istio CA
//! for a workload's certificate, as a sidecar does, without Envoy: `DISABLE_ENVOY=true`
//! (proxyless mode: the agent still fetches and rotates the workload certificate) and
//! `OUTPUT_CERTS` (it writes `cert-chain.pem`, `key.pem` and `root-cert.pem` there). Its token is
//! a TokenRequest token for the workload's service account (audience `istio-ca`) at the path
//! the agent reads (`./var/run/secrets/tokens/istio-token`, relative to its working folder).
//! The CA is given as the discovery address with `ISTIOD_SAN` as the TLS name (the agent only
//! applies that name to a CA reached through the discovery address), and `CA_ROOT_CA` /
//! `XDS_ROOT_CA` as the CA's TLS root.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};

use crate::files::write_secret;
use crate::process::{Proc, free_port, log_tail};
use crate::{Result, Stack, StackError, ensure_namespace, need_bin};

/// The agent's binary in the bin dir.
pub const PILOT_AGENT_BIN: &str = "pilot-agent";

/// What the agent is run for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AgentOptions {
    /// The Istio CA's gRPC address, `127.0.0.1:<port>`.
    pub ca_addr: String,
    /// The name in the CA's serving certificate.
    pub ca_server_name: String,
    /// The PEM file the CA's serving certificate chains to.
    pub ca_root_file: PathBuf,
    /// The workload's namespace.
    pub namespace: String,
    /// Its service account (created if missing).
    pub service_account: String,
    /// The trust domain.
    pub trust_domain: String,
    /// Istio's cluster ID.
    pub cluster_id: String,
}

impl AgentOptions {
    /// The agent of `namespace/service_account`, asking the CA at `ca_addr`.
    pub fn new(
        ca_addr: impl Into<String>,
        ca_server_name: impl Into<String>,
        ca_root_file: impl Into<PathBuf>,
        namespace: impl Into<String>,
        service_account: impl Into<String>,
    ) -> Self {
        AgentOptions {
            ca_addr: ca_addr.into(),
            ca_server_name: ca_server_name.into(),
            ca_root_file: ca_root_file.into(),
            namespace: namespace.into(),
            service_account: service_account.into(),
            trust_domain: "cluster.local".into(),
            cluster_id: "Kubernetes".into(),
        }
    }
}

/// What the agent wrote.
#[derive(Debug, Clone)]
pub struct AgentCerts {
    /// The folder (`OUTPUT_CERTS`).
    pub dir: PathBuf,
    /// `cert-chain.pem`: the leaf first.
    pub cert_chain: PathBuf,
    /// `root-cert.pem`: the root the agent trusts.
    pub root_cert: PathBuf,
    /// `key.pem` (mode 0600).
    pub key: PathBuf,
}

impl Stack {
    /// Runs `pilot-agent` for a workload against an Istio CA (see the module docs) and waits,
    /// bounded by the ready timeout, until it has written the workload's certificate. The
    /// agent keeps running (rotating it) until the stack stops.
    pub async fn start_pilot_agent(&mut self, opts: &AgentOptions) -> Result<AgentCerts> {
        let bin = need_bin(&self.cfg.bin_dir, PILOT_AGENT_BIN, "")?;
        let (ns, sa) = (opts.namespace.as_str(), opts.service_account.as_str());
        let work = self.state.dir.join(format!("agent-{ns}.{sa}"));
        let _ = std::fs::remove_dir_all(&work);
        let tokens = work.join("var/run/secrets/tokens");
        let certs = work.join("certs");
        for d in [&tokens, &certs] {
            std::fs::create_dir_all(d)
                .map_err(|e| StackError::io(format!("creating {}", d.display()), e))?;
        }
        write_secret(
            &tokens.join("istio-token"),
            &self.istio_ca_token(ns, sa).await?,
        )?;
        let status = free_port("pilot-agent-status")?;
        let root = opts.ca_root_file.display().to_string();
        let envs = [
            ("DISABLE_ENVOY", "true".to_string()),
            ("OUTPUT_CERTS", certs.display().to_string()),
            (
                "PROXY_CONFIG",
                serde_json::json!({"discoveryAddress": opts.ca_addr, "statusPort": status})
                    .to_string(),
            ),
            ("ISTIOD_SAN", opts.ca_server_name.clone()),
            ("CA_ROOT_CA", root.clone()),
            ("XDS_ROOT_CA", root),
            ("POD_NAMESPACE", ns.to_string()),
            ("POD_NAME", format!("{sa}-0")),
            ("SERVICE_ACCOUNT", sa.to_string()),
            ("INSTANCE_IP", "127.0.0.1".to_string()),
            ("TRUST_DOMAIN", opts.trust_domain.clone()),
            ("ISTIO_META_CLUSTER_ID", opts.cluster_id.clone()),
        ];
        let args = vec![
            "proxy".to_string(),
            "sidecar".to_string(),
            format!("--domain={ns}.svc.cluster.local"),
        ];
        let log = self.log_path("pilot-agent");
        let mut p = Proc::spawn_in("pilot-agent", &bin, &args, &envs, &log, Some(&work))?;
        let out = AgentCerts {
            cert_chain: certs.join("cert-chain.pem"),
            root_cert: certs.join("root-cert.pem"),
            key: certs.join("key.pem"),
            dir: certs,
        };
        let deadline = Instant::now() + self.cfg.ready_timeout;
        let written = loop {
            if [&out.cert_chain, &out.root_cert, &out.key]
                .iter()
                .all(|f| std::fs::metadata(f).is_ok_and(|m| m.len() > 0))
            {
                break Ok(());
            }
            if let Some(status) = p.exited() {
                break Err(format!("it exited ({status})"));
            }
            if Instant::now() >= deadline {
                break Err("no certificate written yet".to_string());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        self.track(p)?;
        written.map_err(|why| StackError::NotReady {
            component: "pilot-agent".into(),
            timeout: self.cfg.ready_timeout,
            why,
            tail: log_tail(&log, 20),
            log,
        })?;
        Ok(out)
    }

    /// A TokenRequest token for `namespace/name` with audience `istio-ca` (the account is
    /// created if missing).
    async fn istio_ca_token(&self, namespace: &str, name: &str) -> Result<String> {
        ensure_namespace(&self.client(), namespace).await?;
        let accounts: Api<ServiceAccount> = Api::namespaced(self.client(), namespace);
        let what = format!("ServiceAccount {namespace}/{name}");
        if accounts
            .get_opt(name)
            .await
            .map_err(|e| StackError::kube(format!("reading {what}"), e))?
            .is_none()
        {
            let sa = ServiceAccount {
                metadata: ObjectMeta {
                    name: Some(name.to_string()),
                    ..ObjectMeta::default()
                },
                ..ServiceAccount::default()
            };
            accounts
                .create(&PostParams::default(), &sa)
                .await
                .map_err(|e| StackError::kube(format!("creating {what}"), e))?;
        }
        let request = TokenRequest {
            spec: Some(TokenRequestSpec {
                audiences: Some(vec!["istio-ca".into()]),
                expiration_seconds: Some(3600),
                ..Default::default()
            }),
            ..Default::default()
        };
        accounts
            .create_token_request(name, &PostParams::default(), &request)
            .await
            .map_err(|e| StackError::kube(format!("a token for {what}"), e))?
            .status
            .and_then(|s| s.token)
            .ok_or_else(|| StackError::Manifest {
                what: format!("the TokenRequest for {what}"),
                message: "the answer has no token".into(),
            })
    }
}
