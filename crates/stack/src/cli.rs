//! `e2e stack up|istiod|down|env|status`: the stack as a command, with its state in `<dir>/stack.json`.

use std::path::PathBuf;
use std::time::Duration;

use super::error::{Result, StackError};
use super::process::stop_record;
use super::state::StackState;
use super::{IstiodOptions, Stack, StackConfig, default_bin_dir};

/// Where the stack lives (shared by every subcommand).
#[derive(Debug, Clone, clap::Args)]
pub struct StackArgs {
    /// The stack dir (state file, logs, PKI, etcd data, kubeconfig).
    #[arg(long, env = "VMC_STACK_DIR", default_value = "out/stack")]
    pub dir: PathBuf,
}

/// `e2e stack …` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum StackCommand {
    /// Start etcd, kube-apiserver, cert-manager (CRDs and controller), OpenBao and the kubelet
    /// stand-in (it runs istio-csr's Deployment once its chart is installed), leave them running,
    /// and print the `export` lines of `stack env` (with `E2E_HELM` and `E2E_ISTIO_CSR_CHART`,
    /// so `e2e run --kubeconfig "$KUBECONFIG"` installs istio-csr with its chart).
    Up {
        /// Where the stack lives.
        #[command(flatten)]
        args: StackArgs,
        /// The dir with the Go-built binaries (default: where crates/stack/build-stack.sh puts them).
        #[arg(long, env = "VMC_STACK_BIN_DIR")]
        bin_dir: Option<PathBuf>,
        /// The OpenBao `bao` binary (default: BAO_BIN, PATH, then the install cache).
        #[arg(long, env = "BAO_BIN")]
        bao_bin: Option<PathBuf>,
        /// Bound on each component's readiness, in seconds.
        #[arg(long, default_value_t = 120)]
        ready_timeout: u64,
        /// Do not start the kubelet stand-in (which runs istio-csr's Deployment once its chart
        /// is installed).
        #[arg(long)]
        no_kubelet: bool,
    },
    /// Add istiod to a running stack as the Istio CA (Kubernetes RA mode, signing through the
    /// Vault Issuer): cert-manager issues its serving certificate (Secret istiod-tls), then
    /// istiod starts on free 127.0.0.1 ports. Run it after `e2e run --kubeconfig`; it prints
    /// the `e2e run --istio-ca-addr …` line that checks a workload certificate through it.
    Istiod {
        /// Where the stack lives.
        #[command(flatten)]
        args: StackArgs,
        /// The `e2e run` output folder holding ca.crt (the root istiod trusts and publishes).
        #[arg(long, default_value = "./out")]
        out: PathBuf,
        /// Istio's namespace (the Issuer's too).
        #[arg(long, default_value = "istio-system")]
        namespace: String,
        /// The Vault Issuer that signs istiod's and the workloads' certificates.
        #[arg(long, default_value = "vault-issuer")]
        issuer: String,
        /// The trust domain.
        #[arg(long, default_value = "cluster.local")]
        trust_domain: String,
        /// The dir with the Go-built binaries (default: where crates/stack/build-stack.sh puts them).
        #[arg(long, env = "VMC_STACK_BIN_DIR")]
        bin_dir: Option<PathBuf>,
        /// Bound on the certificate and on istiod's readiness, in seconds.
        #[arg(long, default_value_t = 120)]
        ready_timeout: u64,
    },
    /// Run the stack's kubelet stand-in in the foreground (`stack up` starts it as one of the
    /// stack's processes): it runs the Deployment istio-csr's Helm chart creates, and restarts
    /// it when the Deployment or its Secrets change.
    #[command(hide = true)]
    Kubelet {
        /// Where the stack lives.
        #[command(flatten)]
        args: StackArgs,
        /// The dir with the Go-built binaries (default: where crates/stack/build-stack.sh puts them).
        #[arg(long, env = "VMC_STACK_BIN_DIR")]
        bin_dir: Option<PathBuf>,
    },
    /// Stop exactly the processes `stack up` started (from the state file).
    Down {
        /// Where the stack lives.
        #[command(flatten)]
        args: StackArgs,
    },
    /// Print `export KUBECONFIG=…`, `export VAULT_ADDR=…` (and `VAULT_TOKEN` read from its file).
    Env {
        /// Where the stack lives.
        #[command(flatten)]
        args: StackArgs,
    },
    /// Show each component's pid, whether it runs, its ports and log.
    Status {
        /// Where the stack lives.
        #[command(flatten)]
        args: StackArgs,
    },
}

/// The `export` lines for a stack: its kubeconfig and OpenBao, and, where they exist, the helm
/// it built and istio-csr's chart (`E2E_HELM`, `E2E_ISTIO_CSR_CHART`, which `e2e run` reads).
fn env_lines_here(state: &StackState) -> String {
    let mut extras = Vec::new();
    let helm = default_bin_dir().join("helm");
    if helm.is_file() {
        extras.push(("E2E_HELM", helm.display().to_string()));
    }
    if let Some(chart) = crate::istio_csr_chart_dir() {
        extras.push(("E2E_ISTIO_CSR_CHART", chart.display().to_string()));
    }
    env_lines(state, &extras)
}

fn env_lines(state: &StackState, extras: &[(&str, String)]) -> String {
    let mut out = format!(
        "export KUBECONFIG={}\n",
        shell_quote(&state.kubeconfig.display().to_string())
    );
    if !state.vault_addr.is_empty() {
        out.push_str(&format!(
            "export VAULT_ADDR={}\n",
            shell_quote(&state.vault_addr)
        ));
        out.push_str(&format!(
            "export VAULT_TOKEN=\"$(cat {})\"\n",
            shell_quote(&state.vault_token_file.display().to_string())
        ));
    }
    for (k, v) in extras {
        out.push_str(&format!("export {k}={}\n", shell_quote(v)));
    }
    out
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-:+=@,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Runs a `stack` subcommand.
pub async fn cli(cmd: StackCommand) -> Result<()> {
    match cmd {
        StackCommand::Up {
            args,
            bin_dir,
            bao_bin,
            ready_timeout,
            no_kubelet,
        } => {
            let mut cfg = StackConfig::new(args.dir);
            cfg.bin_dir = bin_dir.unwrap_or_else(default_bin_dir);
            cfg.bao_bin = bao_bin;
            cfg.ready_timeout = Duration::from_secs(ready_timeout);
            let started = std::time::Instant::now();
            let bin_dir = cfg.bin_dir.clone();
            let mut stack = Stack::up(cfg).await?;
            if !no_kubelet {
                stack.start_kubelet(&bin_dir)?;
            }
            let state = stack.detach();
            eprintln!(
                "stack up in {:.1}s: API server {}, OpenBao {}, logs in {}",
                started.elapsed().as_secs_f64(),
                state.api_server,
                state.vault_addr,
                state.dir.display()
            );
            print!("{}", env_lines_here(&state));
        }
        StackCommand::Istiod {
            args,
            out,
            namespace,
            issuer,
            trust_domain,
            bin_dir,
            ready_timeout,
        } => {
            let ca_path = out.join("ca.crt");
            let ca = std::fs::read_to_string(&ca_path).map_err(|e| {
                StackError::io(
                    format!(
                        "reading {} (run `e2e run --kubeconfig … --out {}` first)",
                        ca_path.display(),
                        out.display()
                    ),
                    e,
                )
            })?;
            let mut cfg = StackConfig::new(args.dir);
            cfg.bin_dir = bin_dir.unwrap_or_else(default_bin_dir);
            cfg.ready_timeout = Duration::from_secs(ready_timeout);
            let mut stack = Stack::attach(cfg).await?;
            eprintln!(
                "cert-manager: issuing Certificate {namespace}/istiod through Issuer {issuer}..."
            );
            let (crt, key) = stack
                .issue_istiod_tls(&namespace, &issuer, &trust_domain)
                .await?;
            let mut opts = IstiodOptions::new(
                ca,
                crt,
                key,
                format!("issuers.cert-manager.io/{namespace}.{issuer}"),
            );
            opts.namespace = namespace;
            opts.trust_domain = trust_domain;
            eprintln!("starting istiod...");
            let ep = stack.start_istiod(opts).await?;
            let log = stack.log_path("istiod");
            stack.detach();
            eprintln!(
                "istiod serves Istio's CA API at {} (TLS name {}); log {}",
                ep.grpc_addr,
                ep.serving_dns_name,
                log.display()
            );
            println!(
                "e2e run --kubeconfig \"$KUBECONFIG\" --out {} --istio-ca-addr {} --istio-ca-server-name {}",
                shell_quote(&out.display().to_string()),
                ep.grpc_addr,
                ep.serving_dns_name
            );
        }
        StackCommand::Kubelet { args, bin_dir } => {
            let mut cfg = StackConfig::new(args.dir);
            cfg.bin_dir = bin_dir.unwrap_or_else(default_bin_dir);
            Stack::attach(cfg).await?.kubelet().await;
        }
        StackCommand::Down { args } => {
            let state = StackState::load(&args.dir)?;
            for rec in state.processes.iter().rev() {
                if rec.is_running() {
                    stop_record(rec, Duration::from_secs(10), None).await;
                    eprintln!("stopped {} (pid {})", rec.name, rec.pid);
                } else {
                    eprintln!("{} (pid {}) was not running", rec.name, rec.pid);
                }
            }
            let path = StackState::path(&state.dir);
            std::fs::remove_file(&path)
                .map_err(|e| StackError::io(format!("removing {}", path.display()), e))?;
        }
        StackCommand::Env { args } => {
            let state = StackState::load(&args.dir)?;
            print!("{}", env_lines_here(&state));
        }
        StackCommand::Status { args } => {
            let state = StackState::load(&args.dir)?;
            println!("dir         {}", state.dir.display());
            println!("api server  {}", state.api_server);
            println!("kubeconfig  {}", state.kubeconfig.display());
            println!("openbao     {}", state.vault_addr);
            for rec in &state.processes {
                let up = if rec.is_running() {
                    "running"
                } else {
                    "NOT RUNNING"
                };
                println!(
                    "{:<15} pid {:<8} {:<12} log {}",
                    rec.name,
                    rec.pid,
                    up,
                    rec.log.display()
                );
            }
            for (k, v) in &state.ports {
                println!("port {k:<22} {v}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn env_prints_exports_without_the_token_itself() {
        let state = StackState {
            dir: "/tmp/s".into(),
            kubeconfig: "/tmp/s/kubeconfig".into(),
            api_server: "https://127.0.0.1:1".into(),
            vault_addr: "http://127.0.0.1:2".into(),
            vault_token_file: "/tmp/my dir/vault-token".into(),
            ports: BTreeMap::new(),
            processes: vec![],
        };
        assert_eq!(
            env_lines(&state, &[]),
            "export KUBECONFIG=/tmp/s/kubeconfig\nexport VAULT_ADDR=http://127.0.0.1:2\nexport VAULT_TOKEN=\"$(cat '/tmp/my dir/vault-token')\"\n"
        );
    }
}
