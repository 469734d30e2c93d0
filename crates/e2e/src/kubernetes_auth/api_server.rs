//! The API server Vault calls for TokenReview, as the kubeconfig names it: its URL and its CA.

use std::path::Path;

use crate::error::Cause;

/// The API server as the kubeconfig names it: its URL and its CA (PEM).
pub(super) fn api_server(
    kubeconfig: &Path,
    context: Option<&str>,
) -> std::result::Result<(String, String), Cause> {
    let kc = crate::kube::read_kubeconfig(kubeconfig)?;
    let ctx_name = context
        .map(str::to_string)
        .or_else(|| kc.current_context.clone())
        .unwrap_or_default();
    let no = |what: String| Cause::Command {
        command: format!("reading kubeconfig {}", kubeconfig.display()),
        status: what,
    };
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == ctx_name)
        .and_then(|c| c.context.as_ref())
        .ok_or_else(|| no(format!("no context {ctx_name:?}")))?;
    let cluster = kc
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .and_then(|c| c.cluster.as_ref())
        .ok_or_else(|| no(format!("no cluster {:?}", ctx.cluster)))?;
    let server = cluster
        .server
        .clone()
        .ok_or_else(|| no(format!("cluster {:?} has no server", ctx.cluster)))?;
    let ca = if let Some(data) = &cluster.certificate_authority_data {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| no(format!("certificate-authority-data is not base64: {e}")))?;
        String::from_utf8(bytes)
            .map_err(|e| no(format!("certificate-authority-data is not PEM: {e}")))?
    } else if let Some(file) = &cluster.certificate_authority {
        std::fs::read_to_string(file).map_err(|e| Cause::File {
            path: file.into(),
            source: e,
        })?
    } else {
        return Err(no(format!(
            "cluster {:?} has no certificate-authority(-data): Vault needs the API server's CA",
            ctx.cluster
        )));
    };
    Ok((server, ca))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_server_and_its_ca_come_from_the_kubeconfig() {
        use base64::Engine;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kubeconfig");
        let ca = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
        let b64 = base64::engine::general_purpose::STANDARD.encode(ca);
        std::fs::write(
            &path,
            format!("apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority-data: {b64}\ncontexts:\n- name: c\n  context:\n    cluster: k\n    user: u\n- name: bare\n  context:\n    cluster: noca\n    user: u\n- name: none\n  context:\n    cluster: missing\n    user: u\nusers:\n- name: u\n  user: {{}}\n- name: noca\n  user: {{}}\n") +
            "",
        )
        .expect("write");
        assert_eq!(
            api_server(&path, None).expect("server"),
            ("https://127.0.0.1:6443".to_string(), ca.to_string())
        );
        let e = api_server(&path, Some("none"))
            .expect_err("no cluster")
            .to_string();
        assert!(e.contains("no cluster \"missing\""), "{e}");
        let e = api_server(&path, Some("nope"))
            .expect_err("no context")
            .to_string();
        assert!(e.contains("no context"), "{e}");
    }
}
