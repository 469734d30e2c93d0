//! The doctor's cluster side, read-only: the Issuer (Ready, and pointing where Vault is), the
//! root file istio-csr reads (`istio-root-ca`), every namespace's `istio-ca-root-cert`, and
//! istiod's serving certificate.

use certmanager_types::RootCaMount;
use certmanager_types::chart_defaults::{ISTIOD_SECRET_NAME, ROOT_CA_CONFIGMAP};
use certmanager_types::seed::ISSUER_NAME;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::{Api, Client};

use super::cert_facts::{CertFacts, unix_now};
use super::finding::{DoctorReport, Finding, Gauge};
use crate::config::RunConfig;
use crate::state::State;

/// Checks the cluster `client` reaches against `cfg` and Vault's root (`root_pem`).
pub async fn check(
    client: &Client,
    cfg: &RunConfig,
    vault_addr: &str,
    state: &State,
    root_pem: Option<&str>,
    r: &mut DoctorReport,
) {
    issuer(client, cfg, vault_addr, state, r).await;
    let Some(root_pem) = root_pem else {
        return;
    };
    // During a root rotation's overlap workloads are to trust the old and the new root.
    let overlap = crate::files::OutDir::new(&cfg.out)
        .read(crate::files::OutDir::TRUST_BUNDLE)
        .ok()
        .flatten()
        .filter(|b| crate::certs::bundle_contains(b, root_pem));
    let trust = Trust {
        pem: overlap.as_deref().unwrap_or(root_pem),
        words: if overlap.is_some() {
            "the rotation's trust bundle (trust-bundle.pem: the old and the new root)"
        } else {
            "Vault's root"
        },
    };
    root_secret(client, &trust, r).await;
    super::mesh_checks::istio_csr_deployment(client, cfg, r).await;
    super::mesh_checks::control_plane(client, cfg, r).await;
    root_configmaps(client, &trust, r).await;
    istiod_tls(client, cfg, root_pem, r).await;
}

async fn issuer(
    client: &Client,
    cfg: &RunConfig,
    vault_addr: &str,
    state: &State,
    r: &mut DoctorReport,
) {
    let subject = format!("Issuer {}/{ISSUER_NAME}", cfg.namespace);
    let gvk = GroupVersionKind::gvk("cert-manager.io", "v1", "Issuer");
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &cfg.namespace, &ApiResource::from_gvk(&gvk));
    let obj = match api.get_opt(ISSUER_NAME).await {
        Ok(Some(o)) => o,
        Ok(None) => {
            r.push(Finding::error(
                "issuer.present",
                &subject,
                "no such Issuer",
                "run e2e run --kubeconfig to apply it",
            ));
            return;
        }
        Err(e) => {
            r.push(Finding::error(
                "issuer.present",
                &subject,
                format!("cannot read it: {}", crate::error::kube_message(&e)),
                "check the kubeconfig user's rights on Issuers",
            ));
            return;
        }
    };
    let conditions = obj.data["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ready = conditions.iter().find(|c| c["type"] == "Ready");
    match ready {
        Some(c) if c["status"] == "True" && c["reason"] == "VaultVerified" => {
            r.push(Finding::ok(
                "issuer.ready",
                &subject,
                "Ready (VaultVerified)",
            ));
        }
        Some(c) => r.push(Finding::error(
            "issuer.ready",
            &subject,
            format!(
                "not Ready: {} {}",
                c["reason"].as_str().unwrap_or(""),
                c["message"].as_str().unwrap_or("")
            ),
            "read cert-manager's message above; e2e run renews the secret-id and the Secret",
        )),
        None => r.push(Finding::error(
            "issuer.ready",
            &subject,
            "no Ready condition yet",
            "check that cert-manager's controller runs",
        )),
    }
    let vault = &obj.data["spec"]["vault"];
    let want_server = cfg.issuer_vault_server.as_deref().unwrap_or(vault_addr);
    let mut wrong = Vec::new();
    if vault["path"] != cfg.sign_path().as_str() {
        wrong.push(format!("path {} (want {})", vault["path"], cfg.sign_path()));
    }
    if vault["server"] != want_server {
        wrong.push(format!("server {} (want {want_server})", vault["server"]));
    }
    match &cfg.auth {
        crate::config::Auth::Kubernetes(k) => {
            let kube = &vault["auth"]["kubernetes"];
            let mount_path = format!("/v1/auth/{}", k.mount);
            if kube["mountPath"] != mount_path.as_str() {
                wrong.push(format!(
                    "auth.kubernetes.mountPath {} (want {mount_path})",
                    kube["mountPath"]
                ));
            }
            if kube["role"] != k.role.as_str() {
                wrong.push(format!(
                    "auth.kubernetes.role {} (want {})",
                    kube["role"], k.role
                ));
            }
            let sa = certmanager_types::seed::ISSUER_SERVICE_ACCOUNT;
            if kube["serviceAccountRef"]["name"] != sa {
                wrong.push(format!(
                    "auth.kubernetes.serviceAccountRef.name {} (want {sa})",
                    kube["serviceAccountRef"]["name"]
                ));
            }
            if !vault["auth"]["appRole"].is_null() {
                wrong.push("auth.appRole is set too".into());
            }
        }
        _ => {
            let approle = &vault["auth"]["appRole"];
            if approle["path"] != cfg.setup.approle_mount.as_str() {
                wrong.push(format!(
                    "auth.appRole.path {} (want {})",
                    approle["path"], cfg.setup.approle_mount
                ));
            }
            if let Some(role_id) = &state.role_id
                && approle["roleId"] != role_id.as_str()
            {
                wrong.push("auth.appRole.roleId is not the recorded role-id".into());
            }
        }
    }
    if wrong.is_empty() {
        r.push(Finding::ok(
            "issuer.matches-vault",
            &subject,
            format!("signs at {} on {want_server}", cfg.sign_path()),
        ));
    } else {
        r.push(Finding::error(
            "issuer.matches-vault",
            &subject,
            format!("does not point where Vault is set up: {}", wrong.join("; ")),
            "run e2e run --kubeconfig with the same names to re-apply it",
        ));
    }
}

/// What workloads are to trust now, and how findings name it.
struct Trust<'a> {
    pem: &'a str,
    words: &'static str,
}

async fn root_secret(client: &Client, trust: &Trust<'_>, r: &mut DoctorReport) {
    let mount = RootCaMount::seed_flow();
    let subject = format!(
        "Secret {}/{}",
        crate::manifests::CERT_MANAGER_NAMESPACE,
        mount.secret_name
    );
    let api: Api<Secret> =
        Api::namespaced(client.clone(), crate::manifests::CERT_MANAGER_NAMESPACE);
    let pem = match api.get_opt(&mount.secret_name).await {
        Ok(Some(s)) => s
            .data
            .unwrap_or_default()
            .get(&mount.key)
            .and_then(|b| String::from_utf8(b.0.clone()).ok()),
        Ok(None) => None,
        Err(e) => {
            r.push(Finding::error(
                "root-file.is-root",
                &subject,
                format!("cannot read it: {}", crate::error::kube_message(&e)),
                "check the kubeconfig user's rights on Secrets",
            ));
            return;
        }
    };
    let Some(pem) = pem else {
        r.push(Finding::error(
            "root-file.is-root",
            &subject,
            format!(
                "no {} in it: istio-csr has no root file to publish",
                mount.key
            ),
            "run e2e run --kubeconfig to apply it",
        ));
        return;
    };
    let facts = CertFacts::of(&pem);
    if !crate::certs::same_bundle(&pem, trust.pem) {
        let what = match facts {
            Ok(f) if !f.self_signed => {
                format!("{} (not self-signed: the intermediate?)", f.subject)
            }
            Ok(f) => f.subject,
            Err(e) => e.to_string(),
        };
        r.push(Finding::error(
            "root-file.is-root",
            &subject,
            format!(
                "holds {what}, not {}: workloads would trust the wrong CA",
                trust.words
            ),
            "put the root (ca.crt) in it: e2e run --kubeconfig does",
        ));
    } else {
        r.push(Finding::ok(
            "root-file.is-root",
            &subject,
            format!("holds {}", trust.words),
        ));
    }
}

async fn root_configmaps(client: &Client, trust: &Trust<'_>, r: &mut DoctorReport) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let Ok(list) = namespaces.list(&ListParams::default()).await else {
        r.push(Finding::warning(
            "root-configmap.matches",
            "namespaces",
            "cannot list namespaces",
            "give the kubeconfig user list on namespaces",
        ));
        return;
    };
    let (mut good, mut missing, mut wrong) = (0, Vec::new(), Vec::new());
    for ns in list.items.iter().filter_map(|n| n.metadata.name.clone()) {
        let maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
        match maps.get_opt(ROOT_CA_CONFIGMAP).await {
            Ok(Some(cm)) => {
                let pem = cm
                    .data
                    .unwrap_or_default()
                    .get("root-cert.pem")
                    .cloned()
                    .unwrap_or_default();
                if crate::certs::same_bundle(&pem, trust.pem) {
                    good += 1;
                } else {
                    wrong.push(ns);
                }
            }
            _ => missing.push(ns),
        }
    }
    let subject = format!("ConfigMap */{ROOT_CA_CONFIGMAP}");
    if !wrong.is_empty() {
        r.push(Finding::error(
            "root-configmap.matches",
            &subject,
            format!("in {} it does not hold {}", wrong.join(", "), trust.words),
            "check istio-csr's root file (Secret istio-root-ca) and restart istio-csr",
        ));
    } else if good == 0 {
        r.push(Finding::warning(
            "root-configmap.matches",
            &subject,
            "no namespace has it: istio-csr is not running or not publishing",
            "check istio-csr's logs",
        ));
    } else {
        r.push(Finding::ok(
            "root-configmap.matches",
            &subject,
            format!(
                "{good} namespaces hold {} ({} without the ConfigMap)",
                trust.words,
                missing.len()
            ),
        ));
    }
}

async fn istiod_tls(client: &Client, cfg: &RunConfig, root_pem: &str, r: &mut DoctorReport) {
    let subject = format!("Secret {}/{ISTIOD_SECRET_NAME}", cfg.namespace);
    let api: Api<Secret> = Api::namespaced(client.clone(), &cfg.namespace);
    let data = match api.get_opt(ISTIOD_SECRET_NAME).await {
        Ok(Some(s)) => s.data.unwrap_or_default(),
        _ => {
            r.push(Finding::warning(
                "istiod-tls.valid",
                &subject,
                "no istiod certificate yet",
                "istio-csr's chart creates the istiod Certificate; check cert-manager's logs",
            ));
            return;
        }
    };
    let text = |k: &str| {
        data.get(k)
            .and_then(|b| String::from_utf8(b.0.clone()).ok())
            .unwrap_or_default()
    };
    let crt = text("tls.crt");
    let chain: Vec<String> = pem::parse_many(&crt)
        .map(|v| v.iter().map(pem::encode).collect())
        .unwrap_or_default();
    let Some(leaf) = chain.first() else {
        r.push(Finding::error(
            "istiod-tls.valid",
            &subject,
            "no certificate in tls.crt",
            "re-issue it (cmctl renew)",
        ));
        return;
    };
    let inter: Vec<&str> = chain[1..].iter().map(String::as_str).collect();
    let now = rustls_pki_types::UnixTime::now();
    if let Err(e) = crate::verify::chains_to_for_server(leaf, &inter, root_pem, now) {
        r.push(Finding::error(
            "istiod-tls.valid",
            &subject,
            format!("does not chain to Vault's root now: {e}"),
            "re-issue it (cmctl renew istiod -n istio-system)",
        ));
        return;
    }
    if let Ok(f) = CertFacts::of(leaf) {
        let left = f.seconds_left(unix_now());
        r.gauges.push(Gauge {
            name: "e2e_doctor_istiod_cert_seconds_left",
            help: "Seconds until istiod's serving certificate expires.",
            labels: vec![("secret", subject.clone())],
            value: left as f64,
        });
        r.push(Finding::ok(
            "istiod-tls.valid",
            &subject,
            format!("chains to Vault's root; {left}s left (cert-manager renews it)"),
        ));
    }
}
