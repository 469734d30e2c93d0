//! The stack crate's integration tests, against the real programs: etcd, kube-apiserver with
//! cert-manager's CRDs, cert-manager's own controller issuing certificates, OpenBao; then the
//! `stack up|env|status|down` commands (`e2e stack …`) stopping exactly what they started.
//! Fails (never skips) when the binaries are missing: the error names
//! crates/stack/build-stack.sh.

use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenReview};
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, PostParams};
use serde_json::json;
use stack::{ProcessRecord, Stack, StackArgs, StackCommand, StackConfig, StackState, cli};

fn cm_resource(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("cert-manager.io", "v1", kind))
}

async fn create(
    client: &kube::Client,
    ns: &str,
    kind: &str,
    obj: serde_json::Value,
) -> DynamicObject {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &cm_resource(kind));
    let obj: DynamicObject = serde_json::from_value(obj).expect("object JSON");
    api.create(&PostParams::default(), &obj)
        .await
        .unwrap_or_else(|e| panic!("creating {kind} in {ns}: {e}"))
}

/// Waits until the object's `Ready` condition is `True`; panics with its last status otherwise.
async fn wait_ready(stack: &Stack, ns: &str, kind: &str, name: &str) -> DynamicObject {
    let api: Api<DynamicObject> = Api::namespaced_with(stack.client(), ns, &cm_resource(kind));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let obj = api
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("reading {kind} {ns}/{name}: {e}"));
        let conds = obj.data["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if conds
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
        {
            return obj;
        }
        assert!(
            Instant::now() < deadline,
            "{kind} {ns}/{name} not Ready after 120s: status {}; cert-manager log: {}",
            obj.data["status"],
            stack.log_path("cert-manager").display()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn secret_field(stack: &Stack, ns: &str, name: &str, key: &str) -> String {
    let api: Api<Secret> = Api::namespaced(stack.client(), ns);
    let s = api
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("reading Secret {ns}/{name}: {e}"));
    let data = s.data.unwrap_or_default();
    let v = data
        .get(key)
        .unwrap_or_else(|| panic!("Secret {ns}/{name} has no {key}"));
    String::from_utf8(v.0.clone()).expect("PEM is UTF-8")
}

fn first_cert(pem_text: &str) -> x509_parser::certificate::X509Certificate<'static> {
    let der = pem::parse(pem_text).expect("PEM").into_contents();
    let der: &'static [u8] = Box::leak(der.into_boxed_slice());
    x509_parser::parse_x509_certificate(der).expect("X.509").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_runs_the_real_cert_manager_and_stops_what_it_started() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let stack = Stack::up(StackConfig::new(dir.path().join("api")))
        .await
        .unwrap_or_else(|e| panic!("Stack::up failed: {e}"));
    eprintln!("stack up in {:.1}s", started.elapsed().as_secs_f64());
    let client = stack.client();
    assert!(stack.kubeconfig_path().is_file());
    assert!(stack.vault_addr().starts_with("http://127.0.0.1:"));

    // OpenBao answers with the root token.
    let health = reqwest_free_get(stack.vault_addr(), "/v1/sys/health").await;
    assert!(health.contains("\"initialized\":true"), "{health}");

    // A namespace, a selfSigned Issuer and a Certificate, made Ready by cert-manager itself.
    let ns = "stack-it";
    stack::ensure_namespace(&client, ns)
        .await
        .expect("namespace");
    create(
        &client,
        ns,
        "Issuer",
        json!({
            "apiVersion": "cert-manager.io/v1", "kind": "Issuer",
            "metadata": {"name": "selfsigned", "namespace": ns},
            "spec": {"selfSigned": {}}
        }),
    )
    .await;
    wait_ready(&stack, ns, "Issuer", "selfsigned").await;
    create(
        &client,
        ns,
        "Certificate",
        json!({
            "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": "leaf", "namespace": ns},
            "spec": {
                "secretName": "leaf-tls",
                "commonName": "leaf.stack-it.svc",
                "dnsNames": ["leaf.stack-it.svc"],
                "issuerRef": {"name": "selfsigned", "kind": "Issuer", "group": "cert-manager.io"}
            }
        }),
    )
    .await;
    wait_ready(&stack, ns, "Certificate", "leaf").await;
    let leaf = first_cert(&secret_field(&stack, ns, "leaf-tls", "tls.crt").await);
    assert!(
        leaf.subject().to_string().contains("leaf.stack-it.svc"),
        "{}",
        leaf.subject()
    );

    // A CA chain as istio-csr needs it: a selfSigned root (isCA) backing a `ca` Issuer, which
    // then signs a leaf whose issuer is the root.
    create(
        &client,
        ns,
        "Certificate",
        json!({
            "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": "root", "namespace": ns},
            "spec": {
                "secretName": "root-ca", "isCA": true, "commonName": "stack-it root",
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {"name": "selfsigned", "kind": "Issuer", "group": "cert-manager.io"}
            }
        }),
    )
    .await;
    wait_ready(&stack, ns, "Certificate", "root").await;
    create(
        &client,
        ns,
        "Issuer",
        json!({
            "apiVersion": "cert-manager.io/v1", "kind": "Issuer",
            "metadata": {"name": "ca", "namespace": ns},
            "spec": {"ca": {"secretName": "root-ca"}}
        }),
    )
    .await;
    wait_ready(&stack, ns, "Issuer", "ca").await;
    create(
        &client,
        ns,
        "Certificate",
        json!({
            "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": "workload", "namespace": ns},
            "spec": {
                "secretName": "workload-tls",
                "uris": ["spiffe://cluster.local/ns/stack-it/sa/sleep"],
                "issuerRef": {"name": "ca", "kind": "Issuer", "group": "cert-manager.io"}
            }
        }),
    )
    .await;
    wait_ready(&stack, ns, "Certificate", "workload").await;
    let root_pem = secret_field(&stack, ns, "root-ca", "tls.crt").await;
    let ca_crt = secret_field(&stack, ns, "workload-tls", "ca.crt").await;
    let der = |p: &str| pem::parse(p).expect("PEM").into_contents();
    assert_eq!(der(&ca_crt), der(&root_pem), "ca.crt is the root");
    let workload = first_cert(&secret_field(&stack, ns, "workload-tls", "tls.crt").await);
    let root = first_cert(&root_pem);
    assert_eq!(workload.issuer(), root.subject());
    workload
        .verify_signature(Some(root.public_key()))
        .expect("workload signed by the root");

    // Service accounts need no controller-manager to be created, and the API server signs
    // TokenRequest tokens with the stack's key and reviews them (what istio-csr does with a
    // workload's bearer token, audience `istio-ca`).
    token_request_and_review_work(&client, ns).await;

    // down stops every process it started.
    let records: Vec<ProcessRecord> = stack.state().processes.clone();
    assert_eq!(
        records.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["etcd", "kube-apiserver", "cert-manager", "openbao"]
    );
    stack.down().await;
    for r in &records {
        assert!(
            !r.is_running(),
            "{} (pid {}) still runs after down",
            r.name,
            r.pid
        );
    }

    // The same through the CLI: up leaves the processes running, down stops them from the state
    // file.
    let args = StackArgs {
        dir: dir.path().join("cli"),
    };
    cli(StackCommand::Up {
        args: args.clone(),
        bin_dir: None,
        bao_bin: None,
        ready_timeout: 120,
        // This test binary has no `stack kubelet` subcommand to run (e2e's test runs it).
        no_kubelet: true,
    })
    .await
    .unwrap_or_else(|e| panic!("e2e stack up failed: {e:#}"));
    let state = StackState::load(&args.dir).expect("state file after up");
    assert!(
        state.processes.iter().all(ProcessRecord::is_running),
        "{state:?}"
    );
    cli(StackCommand::Status { args: args.clone() })
        .await
        .expect("status");
    cli(StackCommand::Env { args: args.clone() })
        .await
        .expect("env");
    cli(StackCommand::Down { args: args.clone() })
        .await
        .expect("down");
    for r in &state.processes {
        assert!(
            !r.is_running(),
            "{} (pid {}) still runs after `stack down`",
            r.name,
            r.pid
        );
    }
    assert!(
        StackState::load(&args.dir).is_err(),
        "down removes the state file"
    );
}

/// `GET` over plain HTTP to OpenBao (the stack's dev server listens without TLS).
async fn reqwest_free_get(addr: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let hostport = addr.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(hostport)
        .await
        .expect("connect to OpenBao");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    out
}

async fn token_request_and_review_work(client: &kube::Client, ns: &str) {
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let sa: ServiceAccount = serde_json::from_value(json!({"metadata": {"name": "sleep"}}))
        .expect("ServiceAccount JSON");
    sas.create(&PostParams::default(), &sa)
        .await
        .expect("creating ServiceAccount sleep");
    let req: TokenRequest = serde_json::from_value(json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"audiences": ["istio-ca"], "expirationSeconds": 600}
    }))
    .expect("TokenRequest JSON");
    let got: serde_json::Value = sas
        .create_subresource("token", "sleep", &PostParams::default(), &req)
        .await
        .expect("TokenRequest for sleep");
    let token = got["status"]["token"]
        .as_str()
        .expect("a token")
        .to_string();
    let reviews: Api<TokenReview> = Api::all(client.clone());
    let review: TokenReview = serde_json::from_value(json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
        "spec": {"token": token, "audiences": ["istio-ca"]}
    }))
    .expect("TokenReview JSON");
    let done = reviews
        .create(&PostParams::default(), &review)
        .await
        .expect("TokenReview");
    let status = serde_json::to_value(&done).expect("JSON")["status"].clone();
    assert_eq!(status["authenticated"], true, "{status}");
    assert_eq!(
        status["user"]["username"],
        format!("system:serviceaccount:{ns}:sleep"),
        "{status}"
    );
    assert_eq!(status["audiences"], json!(["istio-ca"]), "{status}");
}
