//! The stack's API server as a client sees it: the admin kubeconfig, a client for a
//! kubeconfig file, and namespaces (no controller-manager creates anything here).

use std::path::Path;

use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::{Result, StackError};

pub(crate) fn kubeconfig_yaml(server: &str, ca: &str, cert: &str, key: &str) -> String {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: stack\n  cluster:\n    server: {server}\n    certificate-authority-data: {}\nusers:\n- name: stack-admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\ncontexts:\n- name: stack\n  context:\n    cluster: stack\n    user: stack-admin\n    namespace: default\ncurrent-context: stack\n",
        b64(ca),
        b64(cert),
        b64(key)
    )
}

/// Builds a client for a kubeconfig file.
pub async fn client_for(kubeconfig: &Path) -> Result<kube::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = Kubeconfig::read_from(kubeconfig).map_err(|e| StackError::Kubeconfig {
        path: kubeconfig.to_path_buf(),
        message: e.to_string(),
    })?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| StackError::Kubeconfig {
            path: kubeconfig.to_path_buf(),
            message: e.to_string(),
        })?;
    kube::Client::try_from(config).map_err(|e| StackError::kube("building a Kubernetes client", e))
}

/// Creates a namespace unless it exists.
pub async fn ensure_namespace(client: &kube::Client, name: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        ..Default::default()
    };
    match api.create(&PostParams::default(), &ns).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(StackError::kube(format!("creating namespace {name}"), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_parses_and_points_at_the_server() {
        let y = kubeconfig_yaml("https://127.0.0.1:1234", "CA", "CERT", "KEY");
        let kc: Kubeconfig = serde_yaml::from_str(&y).expect("kubeconfig");
        assert_eq!(kc.current_context.as_deref(), Some("stack"));
        let cluster = kc.clusters[0].cluster.as_ref().expect("cluster");
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:1234"));
    }
}
