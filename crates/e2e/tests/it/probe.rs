//! The handshake prober of the rotation tests, over one or more local clusters: each runs
//! the real istio-csr from its chart's Deployment, with this file as its kubelet (mounted files
//! updated in place, a restart when the Deployment changes). The prober keeps doing mutual-TLS
//! handshakes the way Envoy verifies (the chain to the bundle the workload's namespace holds at
//! that moment, and the SPIFFE ID) between an "old" workload in the first cluster, whose
//! certificate was issued before the rotation and is renewed at half its life (as Istio's agent
//! does), and a "new" one in the last cluster, issued again after each step.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use e2e::istio_ca::{IstioCaClient, service_account_token};
use e2e::mtls::{Peer, Workload, handshake, workload_key_and_csr};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use stack::{IstioCsrEndpoint, Stack};

use crate::common::e2e;

/// A root rotation's phases, in order (`e2e rotate root --until <phase>`).
pub const ROOT_PHASES: [&str; 5] = [
    "new-root",
    "trust-both",
    "new-intermediate",
    "wait-workloads",
    "retire",
];

/// How long the prober's workload certificates live: the old one renews at half of it.
pub const WORKLOAD_TTL: Duration = Duration::from_secs(20);
/// The old workload's namespace (in the first cluster).
pub const OLD_NS: &str = "foo";
/// The new workload's namespace (in the last cluster).
pub const NEW_NS: &str = "bar";

/// A local cluster with istio-csr running as its chart's Deployment says.
pub struct Cluster {
    pub stack: Stack,
    ep: IstioCsrEndpoint,
    generation: i64,
    synced: Instant,
}

impl Cluster {
    /// Starts istio-csr's Deployment (the chart must be installed) once both namespaces exist
    /// and istio-csr has published its root there.
    pub async fn start(mut stack: Stack) -> Cluster {
        for ns in [OLD_NS, NEW_NS] {
            stack::ensure_namespace(&stack.client(), ns)
                .await
                .expect("namespace");
        }
        let ep = run_deployment(&mut stack).await;
        let generation = generation(&stack).await;
        for ns in [OLD_NS, NEW_NS] {
            crate::common::published_root(&stack, ns, "istio-csr").await;
        }
        Cluster {
            stack,
            ep,
            generation,
            synced: Instant::now(),
        }
    }

    /// The kubelet, once a second: the mounted files updated; the process restarted when the
    /// Deployment changed (a rollout restart).
    pub async fn tick(&mut self) {
        if self.synced.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.synced = Instant::now();
        self.stack
            .sync_istio_csr_volumes(stack::ISTIO_CSR_NAMESPACE, stack::ISTIO_CSR_DEPLOYMENT)
            .await
            .expect("sync istio-csr's files");
        let g = generation(&self.stack).await;
        if g != self.generation {
            self.stack.stop_process("istio-csr").await;
            self.ep = run_deployment(&mut self.stack).await;
            self.generation = g;
        }
    }

    /// The roots `ns` trusts now: its `istio-ca-root-cert`.
    pub async fn bundle(&self, ns: &str) -> String {
        let maps: Api<ConfigMap> = Api::namespaced(self.stack.client(), ns);
        maps.get_opt("istio-ca-root-cert")
            .await
            .expect("read ConfigMap")
            .and_then(|c| c.data.unwrap_or_default().remove("root-cert.pem"))
            .unwrap_or_default()
    }

    /// A workload certificate for `ns/sleep` from istio-csr, reached the way a proxy of `ns`
    /// reaches it (trusting its namespace's bundle).
    async fn issue(&self, ns: &str) -> Result<Workload, String> {
        let client = self.stack.client();
        let token =
            service_account_token(&client, ns, "sleep", "istio-ca", Duration::from_secs(600))
                .await
                .map_err(|e| e.to_string())?;
        let (key_pem, csr) = workload_key_and_csr(&spiffe(ns)).map_err(|e| e.to_string())?;
        let trust = self.bundle(ns).await;
        let mut ca = IstioCaClient::connect(&self.ep.grpc_addr, &trust, &self.ep.serving_dns_name)
            .await
            .map_err(|e| e.to_string())?;
        let chain = ca
            .create_certificate(&csr, &token, WORKLOAD_TTL)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Workload {
            chain_pem: chain,
            key_pem,
        })
    }

    /// istio-csr may be restarting (or reloading its root file): a certificate within 30 s,
    /// the kubelet doing its work meanwhile.
    pub async fn issue_retrying(&mut self, ns: &str) -> Workload {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.tick().await;
            match self.issue(ns).await {
                Ok(w) => return w,
                Err(e) if Instant::now() > deadline => panic!("no certificate for {ns}: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
            }
        }
    }
}

async fn run_deployment(stack: &mut Stack) -> IstioCsrEndpoint {
    stack
        .run_istio_csr_deployment(stack::ISTIO_CSR_NAMESPACE, stack::ISTIO_CSR_DEPLOYMENT)
        .await
        .unwrap_or_else(|e| panic!("running the chart's Deployment: {e}"))
}

async fn generation(stack: &Stack) -> i64 {
    let api: Api<Deployment> = Api::namespaced(stack.client(), stack::ISTIO_CSR_NAMESPACE);
    api.get(stack::ISTIO_CSR_DEPLOYMENT)
        .await
        .expect("istio-csr's Deployment")
        .metadata
        .generation
        .unwrap_or_default()
}

fn spiffe(ns: &str) -> String {
    format!("spiffe://cluster.local/ns/{ns}/sa/sleep")
}

/// Handshake counts of one phase.
#[derive(Debug, Default)]
pub struct Tally {
    pub ok: u64,
    pub failed: u64,
    pub first_failure: Option<String>,
}

/// The two workloads and the counts per phase.
pub struct Prober {
    old: Workload,
    old_issued: Instant,
    pub new: Workload,
    pub tally: BTreeMap<String, Tally>,
    order: Vec<String>,
}

impl Prober {
    pub async fn new(clusters: &mut [Cluster]) -> Prober {
        let old = clusters[0].issue_retrying(OLD_NS).await;
        let last = clusters.len() - 1;
        let new = clusters[last].issue_retrying(NEW_NS).await;
        Prober {
            old,
            old_issued: Instant::now(),
            new,
            tally: BTreeMap::new(),
            order: Vec::new(),
        }
    }

    /// The workload issued "after": a new certificate now.
    pub async fn reissue_new(&mut self, clusters: &mut [Cluster]) {
        let last = clusters.len() - 1;
        self.new = clusters[last].issue_retrying(NEW_NS).await;
    }

    /// One round: the kubelets' work, the old workload renewed when past half its life, then
    /// a handshake each way with the bundles the two namespaces hold now.
    pub async fn probe(&mut self, clusters: &mut [Cluster], phase: &str) {
        for c in clusters.iter_mut() {
            c.tick().await;
        }
        let (first, last) = (&clusters[0], &clusters[clusters.len() - 1]);
        if self.old_issued.elapsed() >= WORKLOAD_TTL / 2
            && let Ok(w) = first.issue(OLD_NS).await
        {
            self.old = w;
            self.old_issued = Instant::now();
        }
        let old_bundle = first.bundle(OLD_NS).await;
        let new_bundle = last.bundle(NEW_NS).await;
        let (old_id, new_id) = (spiffe(OLD_NS), spiffe(NEW_NS));
        let old = Peer {
            workload: &self.old,
            trust_bundle_pem: &old_bundle,
            peer_id: &new_id,
        };
        let new = Peer {
            workload: &self.new,
            trust_bundle_pem: &new_bundle,
            peer_id: &old_id,
        };
        if !self.tally.contains_key(phase) {
            self.order.push(phase.to_string());
        }
        let t = self.tally.entry(phase.to_string()).or_default();
        for (client, server) in [(&old, &new), (&new, &old)] {
            match handshake(client, server) {
                Ok(()) => t.ok += 1,
                Err(e) => {
                    t.failed += 1;
                    t.first_failure.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }

    pub fn failed(&self, phase: &str) -> u64 {
        self.tally.get(phase).map(|t| t.failed).unwrap_or(0)
    }

    pub fn total_failed(&self) -> u64 {
        self.tally.values().map(|t| t.failed).sum()
    }

    pub fn summary(&self) -> String {
        self.order
            .iter()
            .map(|p| {
                let t = &self.tally[p];
                format!(
                    "{p}: {} ok, {} failed{}",
                    t.ok,
                    t.failed,
                    t.first_failure
                        .as_deref()
                        .map(|f| format!(" (first: {f})"))
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `e2e <args>` (with `env` added), probing every 150 ms while it runs; then the new
    /// workload issued again and five more rounds as `after <phase>`.
    pub async fn around(
        &mut self,
        clusters: &mut [Cluster],
        phase: &str,
        args: &[String],
        env: &[(&str, &str)],
    ) -> std::process::Output {
        let mut cmd = tokio::process::Command::from(e2e());
        cmd.args(args)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let child = cmd.spawn().expect("start e2e");
        self.probe(clusters, phase).await;
        let mut done = Box::pin(child.wait_with_output());
        let o = loop {
            tokio::select! {
                o = &mut done => break o.expect("e2e ran"),
                () = tokio::time::sleep(Duration::from_millis(150)) => {
                    self.probe(clusters, phase).await;
                }
            }
        };
        if o.status.success() {
            self.reissue_new(clusters).await;
            for _ in 0..5 {
                self.probe(clusters, &format!("after {phase}")).await;
            }
        }
        o
    }

    /// `e2e rotate root <base> --until <phase> --workload-cert-bound <WORKLOAD_TTL> --wait`,
    /// one phase at a time, probing around each and calling `after` once each phase is done;
    /// then asserts that no handshake failed and every phase was probed. Returns each phase's
    /// wall time.
    pub async fn rotate_root_by_phase(
        &mut self,
        clusters: &mut [Cluster],
        base: &[String],
        env: &[(&str, &str)],
        mut after: impl FnMut(&str, &mut [Cluster]),
    ) -> Vec<String> {
        let bound = format!("{}s", WORKLOAD_TTL.as_secs());
        let mut secs = Vec::new();
        for phase in ROOT_PHASES {
            let mut args: Vec<String> = vec!["rotate".into(), "root".into()];
            args.extend(base.iter().cloned());
            args.extend(
                ["--until", phase, "--workload-cert-bound", &bound, "--wait"]
                    .iter()
                    .map(|s| s.to_string()),
            );
            let began = Instant::now();
            let o = self.around(clusters, phase, &args, env).await;
            secs.push(format!("{phase} {:.1} s", began.elapsed().as_secs_f32()));
            assert_eq!(
                o.status.code(),
                Some(0),
                "{phase}: {}",
                crate::common::describe(&o)
            );
            after(phase, clusters);
        }
        eprintln!("phases: {}", secs.join(", "));
        eprintln!("handshakes:\n{}", self.summary());
        assert_eq!(self.total_failed(), 0, "{}", self.summary());
        assert!(
            self.tally.values().all(|t| t.ok > 0),
            "every phase was probed: {}",
            self.summary()
        );
        secs
    }
}
