//! `e2e run` and `e2e plan`: the whole flow, step by step, with its report.

use std::time::{Duration, Instant};

use vault_pki::dev_server::{DevServer, DevServerOptions};
use vault_pki::{PkiClient, PkiSetup, SecretString, SetupReport, VaultConfig};

use crate::cli::{OutputFormat, RunArgs};
use crate::error::{Error, Result, chain};
use crate::files::{OutDir, Sensitivity};
use crate::manifests::{self, ManifestInput, Manifests};
use crate::progress::Progress;
use crate::report::{Check, ErrorRecord, Outcome, Phase, Report, Status, VaultInfo};
use crate::state::State;
use crate::verify::{self, VerifyInput};

/// The order of `vault-pki`'s setup steps, to name the one that failed.
const VAULT_STEPS: [&str; 10] = [
    "root mount",
    "root CA",
    "intermediate mount",
    "intermediate CA",
    "PKI role",
    "AppRole auth mount",
    "ACL policy",
    "AppRole role",
    "role-id",
    "secret-id",
];

/// Runs `e2e run` (`dry_run = false`) or `e2e plan` (`dry_run = true`) and returns the report
/// (also on failure, with `status: failed` and the error) plus the error, if any.
///
/// The report is written to `<out>/report.json` by `run` (never by `plan`), and printed to
/// stdout with `--output json`.
pub async fn execute(
    args: &RunArgs,
    dry_run: bool,
    progress: &Progress,
) -> (Report, Option<Error>) {
    let started = Instant::now();
    let mut ctx = Ctx {
        args,
        dry_run,
        progress,
        out: OutDir::new(&args.out),
        vault: None,
        checks: Vec::new(),
        written: Default::default(),
        own_root: None,
        istio_operator: None,
    };
    let result = ctx.flow().await;
    let (status, error) = match &result {
        Ok(()) => (Status::Done, None),
        Err(e) => (
            Status::Failed,
            Some(ErrorRecord {
                step: e.step_name().map(str::to_string),
                message: e.to_string(),
            }),
        ),
    };
    let report = Report {
        command: if dry_run { "plan" } else { "run" }.into(),
        status,
        dry_run,
        vault: ctx.vault.clone().unwrap_or(VaultInfo {
            address: args.vault.vault_addr.clone().unwrap_or_default(),
            dev_server: args.vault.vault_addr.is_none(),
            namespace: args.vault.vault_namespace.clone(),
        }),
        out: args.out.display().to_string(),
        trust_domain: args.trust_domain.clone(),
        cluster: args.kubeconfig.is_some(),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        steps: progress.steps(),
        verification: ctx.checks.clone(),
        notes: progress.notes(),
        error,
    };
    let mut err = result.err();
    if !dry_run
        && !matches!(err, Some(Error::Usage(_)))
        && let Err(e) = ctx.out.write(
            OutDir::REPORT,
            report.to_json().as_bytes(),
            Sensitivity::Public,
        )
    {
        err.get_or_insert(Error::step(
            "write report.json",
            format!("{}: {e}", ctx.out.path(OutDir::REPORT).display()),
            "check that the output folder is writable",
        ));
    }
    if args.output == OutputFormat::Json {
        print!("{}", report.to_json());
    }
    (report, err)
}

struct Ctx<'a> {
    args: &'a RunArgs,
    dry_run: bool,
    progress: &'a Progress,
    out: OutDir,
    vault: Option<VaultInfo>,
    checks: Vec<Check>,
    /// Files already written in this run (the generated root is written before Vault sees it).
    written: std::collections::HashSet<&'static str>,
    /// The root this tool generated (now or in an earlier run into --out), with its key.
    own_root: Option<(String, SecretString)>,
    /// `--istio-operator`, parsed.
    istio_operator: Option<serde_json::Value>,
}

/// Where the root CA comes from.
enum RootSource {
    /// `--root-ca-cert` and `--root-ca-key`.
    Given(String, SecretString),
    /// `ca.crt` and `ca.key` generated into --out by an earlier run.
    OutDir(String, SecretString),
    /// Nothing yet: generate one (unless Vault already has a root).
    None,
}

/// The Vault target: a given server, or a dev server started for this run.
struct VaultTarget {
    config: VaultConfig,
    ca_pem: Option<String>,
    _dev: Option<DevServer>,
}

impl Ctx<'_> {
    async fn flow(&mut self) -> Result<()> {
        let args = self.args;
        let root_ca = self.root_ca_input()?;
        self.istio_operator = match self.istio_operator_input()? {
            Some(iop) => Some(iop),
            None => self.istio_operator_from_cluster().await,
        };
        if args.istio_ca_addr.is_some() && args.kubeconfig.is_none() {
            return Err(Error::Usage(
                "--istio-ca-addr needs --kubeconfig: the workload's token comes from the cluster's TokenRequest API".into(),
            ));
        }
        if args.trust_domain.is_empty() || args.trust_domain.contains('/') {
            return Err(Error::Usage(format!(
                "--trust-domain {:?} is not a trust domain",
                args.trust_domain
            )));
        }
        let state = State::load(&self.out).map_err(|e| {
            Error::step(
                "read state",
                format!("{}: {e}", self.out.path(OutDir::STATE).display()),
                "the file is written by e2e run; remove it to start over (a new secret-id is then made)",
            )
        })?;
        // The workload CSR's RSA key takes a while to generate: make it while Vault is set up.
        let identity = verify::workload_identity(&args.trust_domain);
        let csr_task = (!self.dry_run)
            .then(|| tokio::task::spawn_blocking(move || verify::workload_csr(&identity)));
        let target = self.vault_target()?;
        self.vault = Some(VaultInfo {
            address: target.config.address.clone(),
            dev_server: target._dev.is_some(),
            namespace: target.config.namespace.clone(),
        });
        let client = PkiClient::new(target.config.clone()).map_err(|e| {
            Error::step(
                "connect to Vault",
                chain(&e),
                "check --vault-addr, --vault-cacert and --vault-namespace",
            )
        })?;

        let mut setup = PkiSetup::default().with_trust_domain(&args.trust_domain);
        setup.root_mount = args.root_mount.clone();
        setup.intermediate_mount = args.intermediate_mount.clone();
        setup.role.name = args.role.clone();
        setup.approle_mount = args.approle_mount.clone();
        setup.policy_name = args.policy.clone();
        setup.approle_role = args.approle_role.clone();
        // A root given by the user, else the one generated earlier into --out, else a new
        // one: generated here and written to --out before Vault sees it, so that its key is
        // never lost, even if a later step fails.
        let root_ca = match root_ca {
            RootSource::Given(cert, key) => Some((cert, key)),
            RootSource::OutDir(cert, key) => {
                self.own_root = Some((cert.clone(), key.clone()));
                Some((cert, key))
            }
            RootSource::None if self.dry_run => None,
            RootSource::None => {
                let has_root = matches!(
                    client.read_issuer(&args.root_mount, "default").await,
                    Ok(Some(_))
                );
                if has_root {
                    None
                } else {
                    self.progress.mark();
                    let (cn, ttl) = match &setup.root_ca {
                        vault_pki::RootCa::Generate { common_name, ttl } => {
                            (common_name.clone(), *ttl)
                        }
                        _ => (
                            "Mesh Root CA".to_string(),
                            Duration::from_secs(87600 * 3600),
                        ),
                    };
                    let generated = vault_pki::generate_root_ca(&cn, ttl).map_err(|e| {
                        Error::step(
                            "generate root CA",
                            chain(&e),
                            "pass --root-ca-cert and --root-ca-key instead",
                        )
                    })?;
                    self.file(
                        OutDir::CA_KEY,
                        Some(generated.key_pem.expose_secret().as_bytes()),
                        Sensitivity::Secret,
                    )?;
                    self.file(
                        OutDir::CA_CRT,
                        Some(generated.cert_pem.as_bytes()),
                        Sensitivity::Public,
                    )?;
                    self.written.insert(OutDir::CA_KEY);
                    self.written.insert(OutDir::CA_CRT);
                    self.own_root = Some((generated.cert_pem.clone(), generated.key_pem.clone()));
                    Some((generated.cert_pem, generated.key_pem))
                }
            }
        };
        if let Some((cert, key)) = root_ca {
            setup = setup.with_root_ca(cert, key);
        }
        setup = setup.with_recorded_secret_id(state.secret_id.clone());

        // Seed steps 1 to 5.
        self.progress.mark();
        let vault_steps_before = self.progress.steps().len();
        let result = if self.dry_run {
            client.plan(&setup).await
        } else {
            client.ensure(&setup).await
        };
        let vr = match result {
            Ok(r) => r,
            Err(e) => {
                let done = self.progress.steps().len() - vault_steps_before;
                let step = VAULT_STEPS.get(done).copied().unwrap_or("vault setup");
                // Secrets Vault made before the failure (the exported intermediate key, a new
                // secret-id) are never returned again: write them now.
                if let Some(partial) = e.partial_report() {
                    self.save_partial(partial, &state)?;
                }
                let hint = match e.cause() {
                    vault_pki::Error::PermissionDenied { .. } => {
                        "use a token allowed to manage mounts, auth methods and policies (e.g. root), via --vault-token or VAULT_TOKEN"
                    }
                    vault_pki::Error::Unreachable { .. } | vault_pki::Error::Timeout { .. } => {
                        "check --vault-addr / VAULT_ADDR, that the server runs, and --vault-cacert"
                    }
                    _ => {
                        "fix the cause above and re-run: completed steps are kept and reported unchanged"
                    }
                };
                self.progress
                    .step(Phase::Vault, step, "", Outcome::Failed, "");
                return Err(Error::step(format!("vault: {step}"), chain(&e), hint));
            }
        };

        // Files: secrets first, so that a failure later loses nothing.
        let mut state = state;
        state.role_id = vr.role_id.clone();
        state.secret_id = vr.secret_id.clone();
        self.files(&vr, &state)?;

        let (Some(root_pem), Some(int_pem)) =
            (vr.root_ca_pem.clone(), vr.intermediate_cert_pem.clone())
        else {
            // Only in a plan against a fresh Vault: nothing to verify yet.
            self.progress
                .note("plan: the root and intermediate do not exist yet; no verification");
            return Ok(());
        };
        if self.dry_run {
            if let Some(kubeconfig) = &args.kubeconfig {
                self.plan_cluster(kubeconfig, &vr, &root_pem).await?;
            }
            return Ok(());
        }
        let role_id = vr.role_id.clone().unwrap_or_default();
        let secret_id = vr
            .secret_id
            .as_ref()
            .map(|r| r.secret_id.clone())
            .unwrap_or_else(|| SecretString::new(""));

        if let Some(kubeconfig) = &args.kubeconfig {
            let m = self.manifests(&target, &role_id, &secret_id, &root_pem)?;
            let checks = crate::kube::apply(kubeconfig, args, &m, self.progress).await?;
            self.checks.extend(checks);
        }

        // Seed step 9.
        self.progress.mark();
        let input = VerifyInput {
            vault_addr: target.config.address.clone(),
            namespace: target.config.namespace.clone(),
            vault_ca_pem: target.ca_pem.clone(),
            approle_mount: args.approle_mount.clone(),
            role_id,
            secret_id,
            root_mount: args.root_mount.clone(),
            intermediate_mount: args.intermediate_mount.clone(),
            role: args.role.clone(),
            trust_domain: args.trust_domain.clone(),
            root_pem,
            intermediate_pem: int_pem,
        };
        let started = Instant::now();
        let csr = match csr_task {
            Some(t) => t.await.map_err(|e| e.to_string()).and_then(|r| r),
            None => Err("no CSR".to_string()),
        }
        .map_err(|e| {
            Error::step(
                "verify",
                format!("making the workload CSR: {e}"),
                "report this as a bug",
            )
        })?;
        let checks = verify::verify(&input, &csr).await.map_err(|e| {
            Error::step(
                "verify",
                e,
                "check the AppRole role, its policy and the secret-id (re-run to renew it)",
            )
        })?;
        self.checks.extend(checks);
        if let (Some(addr), Some(kubeconfig)) = (&args.istio_ca_addr, &args.kubeconfig) {
            let checks = self.istio_ca_checks(addr, kubeconfig, &input, &csr).await?;
            self.checks.extend(checks);
        }
        let elapsed = started.elapsed();
        if !self.progress.is_quiet() {
            for c in &self.checks {
                eprintln!(
                    "{:<12} {:<7} {:<25} {}",
                    if c.passed { "ok" } else { "FAILED" },
                    "verify",
                    c.name,
                    c.detail
                );
            }
            eprintln!("verification took {} ms", elapsed.as_millis());
        }
        let failed: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        if !failed.is_empty() {
            return Err(Error::step(
                "verify",
                failed.join("; "),
                "a check did not pass: for the workload certificate check the role (allowed_uri_sans), the policy, and that istioca.crt was signed by ca.crt; for `unpruned`, check the CRD versions on the cluster",
            ));
        }
        Ok(())
    }

    /// `plan --kubeconfig`: the objects `run` would apply, sent with the API server's dry run,
    /// and the Issuer as cert-manager sees it now.
    async fn plan_cluster(
        &mut self,
        kubeconfig: &std::path::Path,
        vr: &SetupReport,
        root_pem: &str,
    ) -> Result<()> {
        let role_id = vr.role_id.clone().unwrap_or_default();
        // Without a recorded secret-id `run` makes a new one, so the Secret would change:
        // a stand-in value makes the dry run say so without any real secret-id.
        let secret_id = vr
            .secret_id
            .as_ref()
            .map(|r| r.secret_id.clone())
            .unwrap_or_else(|| SecretString::new("(a new secret-id)"));
        let target = self.vault_target_info();
        let m = self
            .build_manifests(&target, &role_id, Some(&secret_id), root_pem)?
            .ok_or_else(|| {
                Error::step("build manifests", "no secret-id", "report this as a bug")
            })?;
        let checks = crate::kube::plan(kubeconfig, self.args, &m, self.progress).await?;
        if !self.progress.is_quiet() {
            for c in &checks {
                eprintln!(
                    "{:<12} {:<7} {:<25} {}",
                    if c.passed { "ok" } else { "NOT OK" },
                    "cluster",
                    c.name,
                    c.detail
                );
            }
        }
        if checks.iter().any(|c| !c.passed) {
            self.progress.note(
                "plan: a check on the cluster as it is now did not pass; `e2e run` re-applies what differs (see `would update` above) and waits for the Issuer",
            );
        }
        self.checks.extend(checks);
        Ok(())
    }

    /// Writes what a setup that failed half-way (`vault_pki::Error::Incomplete`) made, through
    /// the same [`Ctx::files`] a whole run uses: the exported intermediate key and whatever
    /// else the partial report holds. The recorded role-id and secret-id are kept where the
    /// setup did not get that far.
    fn save_partial(&mut self, partial: &SetupReport, state: &State) -> Result<()> {
        let mut state = state.clone();
        if partial.role_id.is_some() {
            state.role_id = partial.role_id.clone();
        }
        if partial.secret_id.is_some() {
            state.secret_id = partial.secret_id.clone();
        }
        self.files(partial, &state)
    }

    /// `--istio-ca-addr`: the workload certificate from the mesh's CA API.
    async fn istio_ca_checks(
        &self,
        addr: &str,
        kubeconfig: &std::path::Path,
        input: &VerifyInput,
        csr: &str,
    ) -> Result<Vec<Check>> {
        let ca_pem = match &self.args.istio_ca_cacert {
            Some(p) => std::fs::read_to_string(p).map_err(|e| {
                Error::Usage(format!(
                    "cannot read --istio-ca-cacert {}: {e}",
                    p.display()
                ))
            })?,
            None => input.root_pem.clone(),
        };
        let kube = crate::kube::client_for(kubeconfig).await?;
        let check = crate::istio_ca::WorkloadCheck {
            addr: addr.to_string(),
            server_name: self.args.istio_ca_server_name.clone(),
            ca_pem,
            namespace: crate::manifests::WORKLOAD_NAMESPACE.into(),
            service_account: "sleep".into(),
            identity: verify::workload_identity(&self.args.trust_domain),
            intermediate_pem: input.intermediate_pem.clone(),
            root_pem: input.root_pem.clone(),
        };
        let spinner = self.progress.spinner(&format!(
            "asking the Istio CA at {addr} for a workload certificate"
        ));
        let result = crate::istio_ca::workload_checks(&kube, &check, csr).await;
        spinner.finish_and_clear();
        result.map_err(|e| {
            Error::step(
                "verify: istio CA",
                e.to_string(),
                "check --istio-ca-addr (e.g. kubectl -n cert-manager port-forward svc/cert-manager-istio-csr 8443:443), --istio-ca-server-name, and that istio-csr trusts ca.crt",
            )
        })
    }

    /// Without `--istio-operator`, TSB's IstioOperator read from the cluster (`--kubeconfig`),
    /// when there is one; a failure to read it only costs the fitting, and says so.
    async fn istio_operator_from_cluster(&self) -> Option<serde_json::Value> {
        let kubeconfig = self.args.kubeconfig.as_ref()?;
        let name = tsb_types::seed::ISTIO_OPERATOR_NAME;
        let ns = &self.args.namespace;
        match crate::kube::read_istio_operator(kubeconfig, ns, name).await {
            Ok(Some(iop)) => {
                self.progress.note(&format!(
                    "the ControlPlane's overlays are fitted to IstioOperator {ns}/{name} read from the cluster"
                ));
                Some(iop)
            }
            Ok(None) => None,
            Err(e) => {
                self.progress.note(&format!(
                    "could not read IstioOperator {ns}/{name} ({e}); the ControlPlane's overlays append to its pilot env and overlays lists (give --istio-operator to fit them)"
                ));
                None
            }
        }
    }

    /// `--istio-operator`: an IstioOperator, as YAML.
    fn istio_operator_input(&self) -> Result<Option<serde_json::Value>> {
        let Some(path) = &self.args.istio_operator else {
            return Ok(None);
        };
        let bad =
            |what: String| Error::Usage(format!("--istio-operator {}: {what}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let value: serde_json::Value =
            serde_yaml::from_str(&text).map_err(|e| bad(format!("not YAML: {e}")))?;
        if value["kind"] != "IstioOperator" {
            return Err(bad(format!(
                "kind is {}, not IstioOperator",
                value["kind"].as_str().unwrap_or("missing")
            )));
        }
        Ok(Some(value))
    }

    /// `--root-ca-cert/--root-ca-key`, else the root generated by an earlier run in --out.
    fn root_ca_input(&self) -> Result<RootSource> {
        let args = self.args;
        match (&args.root_ca_cert, &args.root_ca_key) {
            (Some(c), Some(k)) => {
                let read = |p: &std::path::Path, what: &str| {
                    std::fs::read_to_string(p).map_err(|e| {
                        Error::Usage(format!("cannot read {what} {}: {e}", p.display()))
                    })
                };
                Ok(RootSource::Given(
                    read(c, "--root-ca-cert")?,
                    SecretString::new(read(k, "--root-ca-key")?),
                ))
            }
            (None, None) => {
                let read = |n: &str| {
                    self.out.read(n).map_err(|e| {
                        Error::step(
                            "read the generated root",
                            format!("{}: {e}", self.out.path(n).display()),
                            "check the output folder's permissions",
                        )
                    })
                };
                match (read(OutDir::CA_CRT)?, read(OutDir::CA_KEY)?) {
                    (Some(c), Some(k)) => Ok(RootSource::OutDir(c, SecretString::new(k))),
                    _ => Ok(RootSource::None),
                }
            }
            _ => Err(Error::Usage(
                "--root-ca-cert and --root-ca-key go together".into(),
            )),
        }
    }

    fn vault_target(&self) -> Result<VaultTarget> {
        let v = &self.args.vault;
        let ca_pem = match &v.vault_cacert {
            Some(p) => Some(std::fs::read_to_string(p).map_err(|e| {
                Error::Usage(format!(
                    "cannot read --vault-cacert/VAULT_CACERT {}: {e}",
                    p.display()
                ))
            })?),
            None => None,
        };
        let Some(addr) = v.vault_addr.clone().filter(|a| !a.is_empty()) else {
            let spinner = self
                .progress
                .spinner("starting a throwaway OpenBao dev server");
            let dev = DevServer::start(DevServerOptions::default()).map_err(|e| {
                Error::step(
                    "start OpenBao dev server",
                    chain(&e),
                    "run scripts/install-openbao.sh (or set BAO_BIN), or give --vault-addr and --vault-token",
                )
            });
            spinner.finish_and_clear();
            let dev = dev?;
            self.progress.note(&format!(
                "no --vault-addr: started a throwaway OpenBao dev server at {} (stopped at exit)",
                dev.addr()
            ));
            let config = VaultConfig::new(dev.addr()).with_token(dev.root_token().clone());
            return Ok(VaultTarget {
                config,
                ca_pem: None,
                _dev: Some(dev),
            });
        };
        let Some(token) = v.vault_token.clone().filter(|t| !t.is_empty()) else {
            return Err(Error::Usage(
                "--vault-addr needs a token: pass --vault-token or set VAULT_TOKEN".into(),
            ));
        };
        let mut config = VaultConfig::new(addr).with_token(SecretString::new(token));
        if let Some(ca) = &ca_pem {
            config = config.with_ca_pem(ca.clone());
        }
        if let Some(ns) = v.vault_namespace.clone().filter(|n| !n.is_empty()) {
            config = config.with_namespace(ns);
        }
        Ok(VaultTarget {
            config,
            ca_pem,
            _dev: None,
        })
    }

    /// Writes (or, in a plan, compares) one file and records the step.
    fn file(&self, name: &str, content: Option<&[u8]>, sensitivity: Sensitivity) -> Result<()> {
        self.progress.mark();
        let target = self.out.path(name).display().to_string();
        let outcome = if self.dry_run {
            let current = self.out.read(name).ok().flatten();
            match (current, content) {
                (None, _) => Outcome::Created,
                (Some(cur), Some(new)) if cur.as_bytes() == new => Outcome::Unchanged,
                _ => Outcome::Updated,
            }
        } else {
            let Some(content) = content else {
                return Ok(());
            };
            self.out.write(name, content, sensitivity).map_err(|e| {
                Error::step(
                    format!("write {name}"),
                    format!("{target}: {e}"),
                    "check that --out is writable (and not a file)",
                )
            })?
        };
        let detail = if sensitivity == Sensitivity::Secret {
            "mode 0600"
        } else {
            ""
        };
        self.progress.step(
            Phase::Files,
            &format!("write {name}"),
            &target,
            outcome,
            detail,
        );
        Ok(())
    }

    fn files(&mut self, vr: &SetupReport, state: &State) -> Result<()> {
        use Sensitivity::{Public, Secret};
        // The state first: it holds the secret-id, which Vault never returns again.
        if self.dry_run {
            // A plan compares nothing secret; the state changes when the secret-id does.
        } else {
            self.progress.mark();
            let outcome = state.save(&self.out).map_err(|e| {
                Error::step(
                    "write e2e-state.json",
                    e.to_string(),
                    "check that --out is writable",
                )
            })?;
            let target = self.out.path(OutDir::STATE).display().to_string();
            self.progress.step(
                Phase::Files,
                "write e2e-state.json",
                &target,
                outcome,
                "mode 0600",
            );
        }
        let root_key = vr
            .root_key_pem
            .clone()
            .or_else(|| self.own_root.as_ref().map(|r| r.1.clone()));
        if let Some(k) = root_key
            && !self.written.contains(OutDir::CA_KEY)
        {
            self.file(OutDir::CA_KEY, Some(k.expose_secret().as_bytes()), Secret)?;
        }
        if !self.written.contains(OutDir::CA_CRT) {
            self.file(
                OutDir::CA_CRT,
                vr.root_ca_pem.as_deref().map(str::as_bytes),
                Public,
            )?;
        }
        // Vault returns the exported key once; later runs keep the file written the first time.
        let int_key = vr
            .intermediate_key_pem
            .as_ref()
            .map(|k| k.expose_secret().to_string())
            .or_else(|| self.out.read(OutDir::ISTIOCA_KEY).ok().flatten());
        if let Some(k) = int_key {
            self.file(OutDir::ISTIOCA_KEY, Some(k.as_bytes()), Secret)?;
        }
        self.file(
            OutDir::ISTIOCA_CRT,
            vr.intermediate_cert_pem.as_deref().map(str::as_bytes),
            Public,
        )?;
        // The CSR is kept from the run that created the intermediate.
        let int_changed = matches!(
            vr.outcome(vault_pki::Step::Intermediate),
            Some(vault_pki::Outcome::Created | vault_pki::Outcome::Updated)
        );
        let csr_missing = self.out.read(OutDir::ISTIOCA_CSR).ok().flatten().is_none();
        if int_changed || csr_missing {
            let csr = intermediate_csr(vr);
            if csr.is_some() || self.dry_run {
                self.file(
                    OutDir::ISTIOCA_CSR,
                    csr.as_deref().map(str::as_bytes),
                    Public,
                )?;
            }
        } else {
            self.file(
                OutDir::ISTIOCA_CSR,
                self.out
                    .read(OutDir::ISTIOCA_CSR)
                    .ok()
                    .flatten()
                    .as_deref()
                    .map(str::as_bytes),
                Public,
            )?;
        }

        // Seed steps 6 to 8 as files.
        let (Some(role_id), Some(root_pem)) = (vr.role_id.clone(), vr.root_ca_pem.clone()) else {
            for n in [
                OutDir::VAULT_SECRET,
                OutDir::VAULT_ISSUER,
                OutDir::ISTIO_ROOT_CA,
                OutDir::ISTIO_CSR_VALUES,
                OutDir::CONTROL_PLANE,
            ] {
                self.file(n, None, Public)?;
            }
            return Ok(());
        };
        let secret_id = vr.secret_id.as_ref().map(|r| r.secret_id.clone());
        let target = self.vault_target_info();
        let m = self.build_manifests(&target, &role_id, secret_id.as_ref(), &root_pem)?;
        match (&m, secret_id) {
            (Some(m), Some(_)) => {
                let y = |w: &str, r: std::result::Result<String, String>| {
                    r.map_err(|e| Error::step(format!("build {w}"), e, "report this as a bug"))
                };
                let secret = y(
                    OutDir::VAULT_SECRET,
                    manifests::to_yaml("Secret", &m.approle_secret),
                )?;
                self.file(OutDir::VAULT_SECRET, Some(secret.as_bytes()), Secret)?;
                let issuer = y(
                    OutDir::VAULT_ISSUER,
                    manifests::to_yaml("Issuer", &m.issuer),
                )?;
                self.file(OutDir::VAULT_ISSUER, Some(issuer.as_bytes()), Public)?;
                let root = y(
                    OutDir::ISTIO_ROOT_CA,
                    manifests::to_yaml("Secret", &m.root_ca_secret),
                )?;
                self.file(OutDir::ISTIO_ROOT_CA, Some(root.as_bytes()), Public)?;
                let values = m.istio_csr_values.to_yaml().map_err(|e| {
                    Error::step(
                        "build istio-csr-values.yaml",
                        e.to_string(),
                        "report this as a bug",
                    )
                })?;
                self.file(OutDir::ISTIO_CSR_VALUES, Some(values.as_bytes()), Public)?;
                self.file(
                    OutDir::CONTROL_PLANE,
                    Some(m.control_plane_yaml.as_bytes()),
                    Public,
                )?;
            }
            _ => {
                for n in [
                    OutDir::VAULT_SECRET,
                    OutDir::VAULT_ISSUER,
                    OutDir::ISTIO_ROOT_CA,
                    OutDir::ISTIO_CSR_VALUES,
                    OutDir::CONTROL_PLANE,
                ] {
                    self.file(n, None, Public)?;
                }
            }
        }
        Ok(())
    }

    /// The address and CA the Issuer is written with.
    fn vault_target_info(&self) -> (String, Option<String>, Option<String>) {
        let addr = self
            .args
            .vault
            .issuer_vault_server
            .clone()
            .or_else(|| self.vault.as_ref().map(|v| v.address.clone()))
            .unwrap_or_default();
        let ca = self
            .args
            .vault
            .vault_cacert
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok());
        (
            addr,
            ca,
            self.vault.as_ref().and_then(|v| v.namespace.clone()),
        )
    }

    fn build_manifests(
        &self,
        target: &(String, Option<String>, Option<String>),
        role_id: &str,
        secret_id: Option<&SecretString>,
        root_pem: &str,
    ) -> Result<Option<Manifests>> {
        let Some(secret_id) = secret_id else {
            return Ok(None);
        };
        let input = ManifestInput {
            namespace: self.args.namespace.clone(),
            vault_server: target.0.clone(),
            vault_namespace: target.2.clone(),
            vault_ca_pem: target.1.clone(),
            sign_path: format!("{}/sign/{}", self.args.intermediate_mount, self.args.role),
            approle_mount: self.args.approle_mount.clone(),
            role_id: role_id.to_string(),
            secret_id: secret_id.clone(),
            root_pem: root_pem.to_string(),
            trust_domain: self.args.trust_domain.clone(),
            cluster_id: self.args.cluster_id.clone(),
            tsb_hub: self.args.tsb_hub.clone(),
            tsb_host: self.args.tsb_host.clone(),
            tsb_port: self.args.tsb_port,
            istio_operator: self.istio_operator.clone(),
        };
        manifests::build(&input).map(Some).map_err(|e| {
            Error::step(
                "build manifests",
                e,
                "check --namespace, --cluster-id and --trust-domain",
            )
        })
    }

    fn manifests(
        &self,
        _t: &VaultTarget,
        role_id: &str,
        secret_id: &SecretString,
        root_pem: &str,
    ) -> Result<Manifests> {
        let target = self.vault_target_info();
        self.build_manifests(&target, role_id, Some(secret_id), root_pem)?
            .ok_or_else(|| Error::step("build manifests", "no secret-id", "re-run"))
    }
}

/// The intermediate's CSR: the one Vault generated, from the run that generated it; else (an
/// `--out` that lost the file) one made again from the exported key and the certificate's
/// subject, a CSR for the same key and name, which is what `istioca.csr` is for (having the
/// same key signed again).
fn intermediate_csr(vr: &SetupReport) -> Option<String> {
    if let Some(csr) = &vr.intermediate_csr_pem {
        return Some(csr.clone());
    }
    let key = vr.intermediate_key_pem.as_ref()?;
    let cert = vr.intermediate_cert_pem.as_ref()?;
    let kp = crate::csr::key_pair_from_pem(key.expose_secret()).ok()?;
    let cert_der = pem::parse(cert).ok()?;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert_der.contents()).ok()?;
    let mut p = rcgen::CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    for cn in parsed.subject().iter_common_name() {
        if let Ok(v) = cn.as_str() {
            p.distinguished_name.push(rcgen::DnType::CommonName, v);
        }
    }
    p.serialize_request(&kp).ok()?.pem().ok()
}

/// A bound for waits, from `--wait-timeout`.
pub fn wait_bound(args: &RunArgs) -> Duration {
    Duration::from_secs(args.wait_timeout.max(1))
}
