//! The stack's own small PKI: a CA, the API server's serving certificate, the admin client
//! certificate (group `system:masters`) and the service-account signing key, all ECDSA P-256
//! made with rcgen and written as PEM files (keys `0600`) under `<stack dir>/pki`.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use super::error::{Result, StackError};

/// Paths of the files the stack's PKI wrote.
#[derive(Debug, Clone)]
pub(crate) struct PkiFiles {
    pub ca_crt: PathBuf,
    pub apiserver_crt: PathBuf,
    pub apiserver_key: PathBuf,
    pub admin_crt: PathBuf,
    pub admin_key: PathBuf,
    pub sa_key: PathBuf,
    pub sa_pub: PathBuf,
}

impl PkiFiles {
    pub(crate) fn under(dir: &Path) -> Self {
        let d = dir.join("pki");
        PkiFiles {
            ca_crt: d.join("ca.crt"),
            apiserver_crt: d.join("apiserver.crt"),
            apiserver_key: d.join("apiserver.key"),
            admin_crt: d.join("admin.crt"),
            admin_key: d.join("admin.key"),
            sa_key: d.join("sa.key"),
            sa_pub: d.join("sa.pub"),
        }
    }
}

fn write(path: &Path, contents: &str, secret: bool) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mode = if secret { 0o600 } else { 0o644 };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| StackError::io(format!("writing {}", path.display()), e))?;
    f.write_all(contents.as_bytes())
        .map_err(|e| StackError::io(format!("writing {}", path.display()), e))
}

/// Makes every key and certificate the API server and its admin need.
pub(crate) fn generate(dir: &Path) -> Result<PkiFiles> {
    let files = PkiFiles::under(dir);
    let pki_dir = dir.join("pki");
    std::fs::create_dir_all(&pki_dir)
        .map_err(|e| StackError::io(format!("creating {}", pki_dir.display()), e))?;

    let ca_key = KeyPair::generate().map_err(|e| StackError::pki("the stack CA key", e))?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())
        .map_err(|e| StackError::pki("the stack CA", e))?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "vault-mesh-ca local stack CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(|e| StackError::pki("the stack CA", e))?;
    let issuer = Issuer::new(ca_params, &ca_key);
    write(&files.ca_crt, &ca_cert.pem(), false)?;

    // API server serving certificate: 127.0.0.1 plus the in-cluster names clients may use.
    let key = KeyPair::generate().map_err(|e| StackError::pki("the API server key", e))?;
    let mut params = CertificateParams::new(vec![
        "localhost".to_string(),
        "kubernetes".to_string(),
        "kubernetes.default".to_string(),
        "kubernetes.default.svc".to_string(),
        "kubernetes.default.svc.cluster.local".to_string(),
    ])
    .map_err(|e| StackError::pki("the API server certificate", e))?;
    params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    params
        .subject_alt_names
        .push(SanType::IpAddress([10, 0, 0, 1].into()));
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|e| StackError::pki("the API server certificate", e))?;
    write(&files.apiserver_crt, &cert.pem(), false)?;
    write(&files.apiserver_key, &key.serialize_pem(), true)?;

    // Admin client certificate: group system:masters is bound to cluster-admin by RBAC bootstrap.
    let key = KeyPair::generate().map_err(|e| StackError::pki("the admin key", e))?;
    let mut params = CertificateParams::new(Vec::<String>::new())
        .map_err(|e| StackError::pki("the admin certificate", e))?;
    params
        .distinguished_name
        .push(DnType::CommonName, "stack-admin");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "system:masters");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|e| StackError::pki("the admin certificate", e))?;
    write(&files.admin_crt, &cert.pem(), false)?;
    write(&files.admin_key, &key.serialize_pem(), true)?;

    // Service-account token signing key (ES256): the TokenRequest API signs with it.
    let key = KeyPair::generate().map_err(|e| StackError::pki("the service-account key", e))?;
    write(&files.sa_key, &key.serialize_pem(), true)?;
    write(&files.sa_pub, &key.public_key_pem(), false)?;

    Ok(files)
}
