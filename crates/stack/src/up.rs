//! [`Stack::up`]: the stack's start-up sequence, one component after the other, each waited on
//! with a bound; a failure stops what was started.

use std::collections::BTreeMap;
use std::path::Path;

use vault_pki::SecretString;
use vault_pki::dev_server;

use crate::files::write_secret;
use crate::kubeconfig::{client_for, ensure_namespace, kubeconfig_yaml};
use crate::process::{Proc, free_port, http_get, http_ok, wait_ready};
use crate::{
    CERT_MANAGER_BIN, ETCD_BIN, KUBE_APISERVER_BIN, ProcessRecord, Result, Stack, StackConfig,
    StackError, StackState, cache_dir, crds, need_bin, pki,
};

impl Stack {
    /// Starts etcd, kube-apiserver, cert-manager's CRDs and controller, and OpenBao, waiting on
    /// each; on failure everything started so far is stopped.
    pub async fn up(cfg: StackConfig) -> Result<Stack> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let etcd_bin = need_bin(&cfg.bin_dir, ETCD_BIN, "")?;
        let apiserver_bin = need_bin(&cfg.bin_dir, KUBE_APISERVER_BIN, "")?;
        let cm_bin = need_bin(&cfg.bin_dir, CERT_MANAGER_BIN, "")?;
        let bao_bin = if cfg.openbao {
            let bao = match cfg.bao_bin.clone() {
                Some(b) => Ok(b),
                None => dev_server::find_bao(),
            };
            Some(bao.map_err(|e| StackError::MissingBinary {
                component: "openbao (bao)".into(),
                path: cache_dir().join("openbao-2.7.2/bao"),
                hint: format!("; {e}"),
            })?)
        } else {
            None
        };

        std::fs::create_dir_all(&cfg.dir)
            .map_err(|e| StackError::io(format!("creating {}", cfg.dir.display()), e))?;
        let dir = std::fs::canonicalize(&cfg.dir)
            .map_err(|e| StackError::io(format!("resolving {}", cfg.dir.display()), e))?;
        if let Ok(old) = StackState::load(&dir)
            && old.processes.iter().any(ProcessRecord::is_running)
        {
            return Err(StackError::State {
                path: StackState::path(&dir),
                message:
                    "a stack started from this dir is still running: run `e2e stack down` first"
                        .into(),
            });
        }
        for stale in ["etcd-data", "openbao-home"] {
            let _ = std::fs::remove_dir_all(dir.join(stale));
        }

        let pki = pki::generate(&dir)?;
        let mut ports = BTreeMap::new();
        for what in [
            "etcd-client",
            "etcd-peer",
            "kube-apiserver",
            "cert-manager-healthz",
        ] {
            ports.insert(what.to_string(), free_port(what)?);
        }
        let vault_port = if cfg.openbao {
            dev_server::free_port_pair().map_err(StackError::OpenBao)?
        } else {
            0
        };
        ports.insert("openbao".into(), vault_port);
        let api_server = format!("https://127.0.0.1:{}", ports["kube-apiserver"]);
        let token = dev_server::random_hex(16).map_err(StackError::OpenBao)?;
        let vault_token_file = dir.join("vault-token");
        // The admin kubeconfig and its client exist before the API server does (a client
        // connects on its first request).
        let kubeconfig_path = dir.join("kubeconfig");
        let read = |p: &Path| {
            std::fs::read_to_string(p)
                .map_err(|e| StackError::io(format!("reading {}", p.display()), e))
        };
        let kubeconfig = kubeconfig_yaml(
            &api_server,
            &read(&pki.ca_crt)?,
            &read(&pki.admin_crt)?,
            &read(&pki.admin_key)?,
        );
        write_secret(&kubeconfig_path, &kubeconfig)?;
        let client = client_for(&kubeconfig_path).await?;
        let mut stack = Stack {
            state: StackState {
                dir: dir.clone(),
                kubeconfig: kubeconfig_path,
                api_server: api_server.clone(),
                vault_addr: if cfg.openbao {
                    format!("http://127.0.0.1:{vault_port}")
                } else {
                    String::new()
                },
                vault_token_file: vault_token_file.clone(),
                ports: ports.clone(),
                processes: Vec::new(),
            },
            cfg,
            procs: Vec::new(),
            client: client.clone(),
            vault_token: SecretString::new(format!("root-{token}")),
            istio_csr: None,
            attached: false,
        };
        let timeout = stack.cfg.ready_timeout;
        let log = |name: &str| dir.join(format!("{name}.log"));

        // etcd
        let (ec, ep) = (ports["etcd-client"], ports["etcd-peer"]);
        let args = vec![
            "--name=stack".to_string(),
            format!("--data-dir={}", dir.join("etcd-data").display()),
            format!("--listen-client-urls=http://127.0.0.1:{ec}"),
            format!("--advertise-client-urls=http://127.0.0.1:{ec}"),
            format!("--listen-peer-urls=http://127.0.0.1:{ep}"),
            format!("--initial-advertise-peer-urls=http://127.0.0.1:{ep}"),
            format!("--initial-cluster=stack=http://127.0.0.1:{ep}"),
            "--unsafe-no-fsync=true".to_string(),
        ];
        let mut p = Proc::spawn("etcd", &etcd_bin, &args, &[], &log("etcd"))?;
        let res = wait_ready(&mut p, timeout, || async move {
            match http_get(ec, "/health").await? {
                (200, body) if body.contains("\"health\":\"true\"") => Ok(()),
                (code, body) => Err(format!("GET /health answered {code}: {}", body.trim())),
            }
        })
        .await;
        stack.track(p)?;
        res?;

        // kube-apiserver
        let sa_issuer = "https://kubernetes.default.svc.cluster.local";
        let args = vec![
            format!("--etcd-servers=http://127.0.0.1:{ec}"),
            "--bind-address=127.0.0.1".to_string(),
            "--advertise-address=127.0.0.1".to_string(),
            format!("--secure-port={}", ports["kube-apiserver"]),
            format!("--tls-cert-file={}", pki.apiserver_crt.display()),
            format!("--tls-private-key-file={}", pki.apiserver_key.display()),
            format!("--client-ca-file={}", pki.ca_crt.display()),
            format!("--service-account-key-file={}", pki.sa_pub.display()),
            format!(
                "--service-account-signing-key-file={}",
                pki.sa_key.display()
            ),
            format!("--service-account-issuer={sa_issuer}"),
            format!("--api-audiences={sa_issuer}"),
            "--authorization-mode=RBAC".to_string(),
            "--service-cluster-ip-range=10.0.0.0/24".to_string(),
            // The `kubernetes` Service's endpoints would be 127.0.0.1, which Endpoints forbid.
            "--endpoint-reconciler-type=none".to_string(),
            format!("--cert-dir={}", dir.join("kube-apiserver-certs").display()),
            "--profiling=false".to_string(),
        ];
        let p = Proc::spawn(
            "kube-apiserver",
            &apiserver_bin,
            &args,
            &[],
            &log("kube-apiserver"),
        )?;
        stack.track(p)?;
        {
            let c = client.clone();
            let idx = stack.procs.len() - 1;
            wait_ready(&mut stack.procs[idx], timeout, || {
                let c = c.clone();
                async move {
                    let req = http::Request::get("/readyz")
                        .body(Vec::new())
                        .map_err(|e| e.to_string())?;
                    match c.request_text(req).await {
                        Ok(t) if t.trim() == "ok" => Ok(()),
                        Ok(t) => Err(format!("GET /readyz answered {}", t.trim())),
                        Err(e) => Err(format!("GET /readyz: {e}")),
                    }
                }
            })
            .await?;
        }

        // Namespaces (no controller-manager is needed for them) and cert-manager's CRDs.
        let crn = stack.cfg.cluster_resource_namespace.clone();
        ensure_namespace(&client, &crn).await?;
        crds::install(&client, timeout).await?;

        // cert-manager's controller, out of cluster.
        let hz = ports["cert-manager-healthz"];
        let mut args = vec![
            format!("--kubeconfig={}", stack.state.kubeconfig.display()),
            format!("--cluster-resource-namespace={crn}"),
            format!("--healthz-listen-address=127.0.0.1:{hz}"),
            "--v=2".to_string(),
        ];
        args.extend(stack.cfg.cert_manager_args.iter().cloned());
        let mut p = Proc::spawn("cert-manager", &cm_bin, &args, &[], &log("cert-manager"))?;
        let res = wait_ready(&mut p, timeout, || http_ok(hz, "/readyz")).await;
        stack.track(p)?;
        res?;

        // OpenBao dev server, with its own HOME (it writes ~/.vault-token).
        if let Some(bao) = bao_bin {
            write_secret(&vault_token_file, stack.vault_token.expose_secret())?;
            let home = dir.join("openbao-home");
            std::fs::create_dir_all(&home)
                .map_err(|e| StackError::io(format!("creating {}", home.display()), e))?;
            let args = vec![
                "server".to_string(),
                "-dev".to_string(),
                format!("-dev-listen-address=127.0.0.1:{vault_port}"),
            ];
            // The root token goes through the environment: a flag would be visible in `ps`.
            let envs = [
                ("HOME", home.display().to_string()),
                (
                    dev_server::DEV_ROOT_TOKEN_ENV,
                    stack.vault_token.expose_secret().to_string(),
                ),
            ];
            let mut p = Proc::spawn("openbao", &bao, &args, &envs, &log("openbao"))?;
            let res = wait_ready(&mut p, timeout, || http_ok(vault_port, "/v1/sys/health")).await;
            stack.track(p)?;
            res?;
        }

        stack.state.save()?;
        Ok(stack)
    }
}
