//! Seed step 9 through the mesh's own CA API (`--istio-ca-addr`): the verification's workload
//! CSR sent to istio-csr (or istiod) with the workload's token, and the answer checked.

use kube::Client;

use crate::config::{IstioCaTarget, RunConfig};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::report::Check;
use crate::verify::{self, VerifyInput};

/// `--istio-ca-addr`: the workload certificate from the mesh's CA API.
pub async fn istio_ca_checks(
    cfg: &RunConfig,
    target: &IstioCaTarget,
    kube: &Client,
    input: &VerifyInput,
    csr: &str,
    progress: &Progress<'_>,
) -> Result<Vec<Check>> {
    let check = crate::istio_ca::WorkloadCheck {
        addr: target.addr.clone(),
        server_name: target.server_name.clone(),
        ca_pem: target
            .ca_pem
            .clone()
            .unwrap_or_else(|| input.root_pem.clone()),
        namespace: crate::manifests::WORKLOAD_NAMESPACE.into(),
        service_account: "sleep".into(),
        identity: verify::workload_identity(&cfg.trust_domain),
        intermediate_pem: input.intermediate_pem.clone(),
        root_pem: input.root_pem.clone(),
    };
    progress.waiting(&format!(
        "asking the Istio CA at {} for a workload certificate",
        target.addr
    ));
    let result = crate::istio_ca::workload_checks(kube, &check, csr).await;
    progress.waited();
    result.map_err(|e| {
        Error::step(
            "verify: istio CA",
            e,
            "check --istio-ca-addr (e.g. kubectl -n cert-manager port-forward svc/cert-manager-istio-csr 8443:443), --istio-ca-server-name, and that istio-csr trusts ca.crt",
        )
    })
}
