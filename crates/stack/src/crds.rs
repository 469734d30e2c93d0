//! cert-manager v1.21.1's CRDs (`certmanager_types::crds`, the workspace's one copy), installed by server-side apply and waited on until
//! the API server reports them `Established`.

use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{Patch, PatchParams};

use super::error::{Result, StackError};

/// The embedded CRD manifests, by file name: `certmanager-types`' copy.
pub use certmanager_types::crds::CRDS as CERT_MANAGER_CRDS;

/// The field manager of everything the stack applies (its CRDs, istiod's Certificate).
pub const FIELD_MANAGER: &str = "vault-mesh-ca-stack";

/// Parses the embedded cert-manager CRDs.
pub fn cert_manager_crds() -> Result<Vec<CustomResourceDefinition>> {
    CERT_MANAGER_CRDS
        .iter()
        .map(|(name, yaml)| {
            serde_yaml::from_str(yaml).map_err(|e| StackError::Manifest {
                what: name.to_string(),
                message: e.to_string(),
            })
        })
        .collect()
}

fn established(crd: &CustomResourceDefinition) -> bool {
    crd.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        })
}

/// Applies the CRDs and waits (bounded) until each is `Established`.
pub(crate) async fn install(client: &kube::Client, timeout: Duration) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crds = cert_manager_crds()?;
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    for crd in &crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(&name, &pp, &Patch::Apply(crd))
            .await
            .map_err(|e| StackError::kube(format!("applying CRD {name}"), e))?;
    }
    let deadline = Instant::now() + timeout;
    for crd in &crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        loop {
            let got = api
                .get(&name)
                .await
                .map_err(|e| StackError::kube(format!("reading CRD {name}"), e))?;
            if established(&got) {
                break;
            }
            if Instant::now() >= deadline {
                return Err(StackError::NotReady {
                    component: format!("CRD {name}"),
                    timeout,
                    why: "not Established".into(),
                    log: Default::default(),
                    tail: String::new(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_crds_parse_and_are_cert_manager_v1() {
        let crds = cert_manager_crds().expect("parse");
        let mut names: Vec<_> = crds
            .iter()
            .filter_map(|c| c.metadata.name.clone())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "certificaterequests.cert-manager.io",
                "certificates.cert-manager.io",
                "clusterissuers.cert-manager.io",
                "issuers.cert-manager.io"
            ]
        );
        for c in &crds {
            assert!(
                c.spec
                    .versions
                    .iter()
                    .any(|v| v.name == "v1" && v.served && v.storage)
            );
        }
    }
}
