//! Benchmarks against a local OpenBao dev server started here, in one run (a timed harness:
//! each sample needs fresh mounts, so Criterion's iteration model does not fit):
//!
//! 1. The whole setup in one process (`PkiClient::ensure` on empty mounts) versus the same
//!    steps as `bao` CLI calls, the seed's way (its 14 Vault commands plus reading the root
//!    CA for istio-csr: 15 processes). Target: library <= 1/10 of the CLI's time.
//! 2. Signing throughput: 1,000 pre-made SPIFFE workload CSRs at concurrency 16 through the
//!    library (AppRole token, `sign_csr`) versus a minimal raw reqwest client sending the
//!    same requests over the same kind of connection pool. Target: >= 90%.
//!
//! `cargo bench -p vault-pki --bench vault` runs the full benchmark and prints medians;
//! under `cargo test` (no `--bench` argument) it runs one small round as a smoke test.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use vault_pki::dev_server::{DevServer, DevServerOptions};
use vault_pki::{PkiClient, PkiSetup, SecretString, SignOptions, VaultConfig};

struct Params {
    setup_rounds: usize,
    csrs: usize,
    sign_rounds: usize,
    concurrency: usize,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn bao(s: &DevServer, args: &[&str]) -> String {
    let out = s.bao_command().args(args).output().expect("run bao");
    assert!(
        out.status.success(),
        "bao {}: {}",
        args.first().copied().unwrap_or_default(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_field(out: &str, field: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(out).expect("json");
    v["data"][field].as_str().expect("field").to_string()
}

/// The seed's Vault steps as `bao` CLI calls, with this run's mount names.
fn cli_setup(s: &DevServer, p: &PkiSetup, bundle_path: &str, work: &std::path::Path) {
    let (root, int, ar) = (&p.root_mount, &p.intermediate_mount, &p.approle_mount);
    bao(s, &["secrets", "enable", &format!("-path={root}"), "pki"]);
    bao(s, &["secrets", "tune", "-max-lease-ttl=87600h", root]);
    bao(
        s,
        &[
            "write",
            "-format=json",
            &format!("{root}/config/ca"),
            &format!("pem_bundle=@{bundle_path}"),
        ],
    );
    bao(s, &["secrets", "enable", &format!("-path={int}"), "pki"]);
    bao(s, &["secrets", "tune", "-max-lease-ttl=43800h", int]);
    let gen_out = bao(
        s,
        &[
            "write",
            "-format=json",
            &format!("{int}/intermediate/generate/exported"),
            "common_name=Istio Intermediate CA",
            "ttl=43800h",
        ],
    );
    let csr_path = work.join(format!("{int}.csr"));
    std::fs::write(&csr_path, json_field(&gen_out, "csr")).expect("csr");
    std::fs::write(
        work.join(format!("{int}.key")),
        json_field(&gen_out, "private_key"),
    )
    .expect("key");
    let signed = bao(
        s,
        &[
            "write",
            "-format=json",
            &format!("{root}/root/sign-intermediate"),
            &format!("csr=@{}", csr_path.display()),
            "format=pem_bundle",
            "ttl=43800h",
        ],
    );
    let crt_path = work.join(format!("{int}.crt"));
    std::fs::write(&crt_path, json_field(&signed, "certificate")).expect("crt");
    bao(
        s,
        &[
            "write",
            &format!("{int}/intermediate/set-signed"),
            &format!("certificate=@{}", crt_path.display()),
        ],
    );
    bao(
        s,
        &[
            "write",
            &format!("{int}/roles/{}", p.role.name),
            "allowed_domains=svc",
            "allow_subdomains=true",
            "max_ttl=720h",
            "require_cn=false",
            "allowed_uri_sans=spiffe://cluster.local/*",
            "key_type=any",
        ],
    );
    bao(s, &["auth", "enable", &format!("-path={ar}"), "approle"]);
    let pol = work.join(format!("{}.hcl", p.policy_name));
    std::fs::write(&pol, p.policy().to_hcl()).expect("policy");
    bao(
        s,
        &[
            "policy",
            "write",
            &p.policy_name,
            &pol.display().to_string(),
        ],
    );
    bao(
        s,
        &[
            "write",
            &format!("auth/{ar}/role/{}", p.approle_role),
            &format!("token_policies={}", p.policy_name),
            "token_ttl=1h",
            "token_max_ttl=4h",
        ],
    );
    bao(
        s,
        &[
            "read",
            "-format=json",
            &format!("auth/{ar}/role/{}/role-id", p.approle_role),
        ],
    );
    bao(
        s,
        &[
            "write",
            "-format=json",
            "-f",
            &format!("auth/{ar}/role/{}/secret-id", p.approle_role),
        ],
    );
    bao(
        s,
        &["read", "-field=certificate", &format!("{root}/cert/ca")],
    );
}

async fn sign_with_library(
    app: &PkiClient,
    mount: &str,
    role: &str,
    csrs: Arc<Vec<String>>,
    conc: usize,
) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (app, csrs, next, mount, role) = (
            app.clone(),
            csrs.clone(),
            next.clone(),
            mount.to_string(),
            role.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let opts = SignOptions::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(csr) = csrs.get(i) else { break };
                let c = app
                    .sign_csr(&mount, &role, csr, &opts)
                    .await
                    .expect("library sign");
                assert!(c.certificate_pem.starts_with("-----BEGIN CERTIFICATE-----"));
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    csrs.len() as f64 / t.elapsed().as_secs_f64()
}

async fn sign_with_raw(
    http: &reqwest::Client,
    url: &str,
    token: &SecretString,
    csrs: Arc<Vec<String>>,
    conc: usize,
) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (http, csrs, next, url, token) = (
            http.clone(),
            csrs.clone(),
            next.clone(),
            url.to_string(),
            token.expose_secret().to_string(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(csr) = csrs.get(i) else { break };
                let resp = http
                    .post(&url)
                    .header("X-Vault-Token", &token)
                    .json(&serde_json::json!({ "csr": csr }))
                    .send()
                    .await
                    .expect("raw send");
                assert!(resp.status().is_success(), "raw sign: {}", resp.status());
                let v: serde_json::Value = resp.json().await.expect("raw json");
                assert!(
                    v["data"]["certificate"]
                        .as_str()
                        .is_some_and(|c| c.starts_with("-----BEGIN"))
                );
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    csrs.len() as f64 / t.elapsed().as_secs_f64()
}

/// This process's CPU time (user + system) in seconds, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    proc_cpu_seconds("self")
}

/// A process's CPU time (user + system) in seconds, from /proc/<pid>/stat.
fn proc_cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name; 100 Hz.
    (ticks(11) + ticks(12)) / 100.0
}

fn workload_csrs(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
            let mut params = rcgen::CertificateParams::default();
            params.distinguished_name = rcgen::DistinguishedName::new();
            let id = format!("spiffe://cluster.local/ns/bench/sa/w{i}");
            params.subject_alt_names = vec![rcgen::SanType::URI(
                rcgen::string::Ia5String::try_from(id).expect("uri"),
            )];
            params
                .serialize_request(&key)
                .expect("csr")
                .pem()
                .expect("pem")
        })
        .collect()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let p = if full {
        Params {
            setup_rounds: 7,
            csrs: 1000,
            sign_rounds: 8,
            concurrency: 16,
        }
    } else {
        Params {
            setup_rounds: 1,
            csrs: 32,
            sign_rounds: 1,
            concurrency: 16,
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let server = DevServer::start(DevServerOptions::default()).expect("start OpenBao");
    let work = tempfile::tempdir().expect("tmp");
    let root =
        vault_pki::generate_root_ca("Bench Root", Duration::from_secs(87600 * 3600)).expect("root");
    let bundle_path = work.path().join("ca-bundle.pem");
    std::fs::write(&bundle_path, root.pem_bundle().expose_secret()).expect("bundle");
    let bundle_path = bundle_path.display().to_string();

    let client =
        PkiClient::new(VaultConfig::new(server.addr()).with_token(server.root_token().clone()))
            .expect("client");

    // 1. Whole setup: library vs CLI, alternating, fresh mounts each time.
    let (mut lib_t, mut cli_t, mut noop_t) = (Vec::new(), Vec::new(), Vec::new());
    let mut last_lib = None;
    for i in 0..p.setup_rounds {
        let lp = PkiSetup::with_prefix(&format!("lib{i}"))
            .with_root_ca(root.cert_pem.clone(), root.key_pem.clone());
        let t = Instant::now();
        let r = rt.block_on(client.ensure(&lp)).expect("library setup");
        lib_t.push(t.elapsed().as_secs_f64());
        let again = lp.clone().with_recorded_secret_id(r.secret_id.clone());
        let t = Instant::now();
        let r2 = rt.block_on(client.ensure(&again)).expect("library re-run");
        noop_t.push(t.elapsed().as_secs_f64());
        assert!(!r2.changed());
        last_lib = Some((lp, r));

        let cp = PkiSetup::with_prefix(&format!("cli{i}"));
        let t = Instant::now();
        cli_setup(&server, &cp, &bundle_path, work.path());
        cli_t.push(t.elapsed().as_secs_f64());
    }
    let (lib_m, cli_m, noop_m) = (median(&mut lib_t), median(&mut cli_t), median(&mut noop_t));
    println!(
        "setup: library ensure (from empty)   median {:8.1} ms over {} runs",
        lib_m * 1e3,
        p.setup_rounds
    );
    println!(
        "setup: library ensure (no change)    median {:8.1} ms",
        noop_m * 1e3
    );
    println!(
        "setup: bao CLI, 15 calls              median {:8.1} ms",
        cli_m * 1e3
    );
    println!(
        "setup: library / CLI = {:.3} (target <= 0.100)",
        lib_m / cli_m
    );

    // 2. Signing throughput at concurrency 16 with the AppRole token.
    let (lp, r) = last_lib.expect("a library setup");
    let role_id = r.role_id.clone().expect("role-id");
    let sid = r.secret_id.clone().expect("secret-id");
    let login = rt
        .block_on(client.approle_login(&lp.approle_mount, &role_id, &sid.secret_id))
        .expect("login");
    let app = client.with_token(&login.token).expect("app client");
    // The raw client: plain reqwest, same pool settings, ring installed by the library.
    let raw = reqwest::Client::builder()
        .tls_backend_rustls()
        .tls_certs_only(Vec::new())
        .pool_max_idle_per_host(64)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("raw client");
    let url = format!(
        "{}/v1/{}/sign/{}",
        server.addr(),
        lp.intermediate_mount,
        lp.role.name
    );
    let (mut lib_r, mut raw_r) = (Vec::new(), Vec::new());
    let (mut lib_cpu, mut raw_cpu): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    let (mut lib_srv, mut raw_srv): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    let bao_pid = server.pid().map(|p| p.to_string()).unwrap_or_default();
    let srv_cpu = || proc_cpu_seconds(&bao_pid);
    // Warm both pools, then alternate which client goes first, to spread the noise of a
    // shared machine evenly.
    let warm = Arc::new(workload_csrs(p.concurrency));
    rt.block_on(sign_with_library(
        &app,
        &lp.intermediate_mount,
        &lp.role.name,
        warm.clone(),
        p.concurrency,
    ));
    rt.block_on(sign_with_raw(&raw, &url, &login.token, warm, p.concurrency));
    for round in 0..p.sign_rounds {
        let lib_csrs = Arc::new(workload_csrs(p.csrs));
        let raw_csrs = Arc::new(workload_csrs(p.csrs));
        let n = p.csrs as f64;
        let lib = |c, cpu: &mut Vec<f64>, srv: &mut Vec<f64>| {
            let (c0, s0) = (cpu_seconds(), srv_cpu());
            let r = rt.block_on(sign_with_library(
                &app,
                &lp.intermediate_mount,
                &lp.role.name,
                c,
                p.concurrency,
            ));
            cpu.push((cpu_seconds() - c0) / n);
            srv.push((srv_cpu() - s0) / n);
            r
        };
        let rawf = |c, cpu: &mut Vec<f64>, srv: &mut Vec<f64>| {
            let (c0, s0) = (cpu_seconds(), srv_cpu());
            let r = rt.block_on(sign_with_raw(&raw, &url, &login.token, c, p.concurrency));
            cpu.push((cpu_seconds() - c0) / n);
            srv.push((srv_cpu() - s0) / n);
            r
        };
        if round % 2 == 0 {
            lib_r.push(lib(lib_csrs, &mut lib_cpu, &mut lib_srv));
            raw_r.push(rawf(raw_csrs, &mut raw_cpu, &mut raw_srv));
        } else {
            raw_r.push(rawf(raw_csrs, &mut raw_cpu, &mut raw_srv));
            lib_r.push(lib(lib_csrs, &mut lib_cpu, &mut lib_srv));
        }
    }
    let (lib_s, raw_s) = (median(&mut lib_r), median(&mut raw_r));
    println!(
        "sign: {} CSRs at concurrency {}: library median {:7.0} certs/s, raw reqwest median {:7.0} certs/s over {} rounds",
        p.csrs, p.concurrency, lib_s, raw_s, p.sign_rounds
    );
    println!(
        "sign: library / raw = {:.3} (target >= 0.90)",
        lib_s / raw_s
    );
    let (lc, rc) = (median(&mut lib_cpu), median(&mut raw_cpu));
    let (ls, rs) = (median(&mut lib_srv), median(&mut raw_srv));
    println!(
        "sign: client CPU per request: library median {:.3} ms, raw median {:.3} ms",
        lc * 1e3,
        rc * 1e3
    );
    println!(
        "sign: server CPU per request: library median {:.3} ms, raw median {:.3} ms",
        ls * 1e3,
        rs * 1e3
    );
    // On a busy machine wall-clock throughput is noisy; the CPU cost per certificate
    // (client + server) is not, and bounds throughput when the machine is saturated.
    println!(
        "sign: library / raw by CPU cost per certificate = {:.3}",
        (rc + rs) / (lc + ls)
    );
    server.stop();
}
