//! Prints the seed flow's cert-manager objects and istio-csr values as YAML.
//!
//! `cargo run -p certmanager-types --example seed_flow -- https://vault.vault.svc:8200 <role-id>`

use certmanager_types::{
    AppRoleSecretBuilder, IssuerReference, IstioCsrValuesBuilder, IstiodCertificateBuilder,
    RootCaMount, VaultAppRoleIssuerBuilder,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let server = args
        .next()
        .unwrap_or_else(|| "https://vault.vault.svc:8200".into());
    let role_id = args.next().unwrap_or_else(|| "<role-id>".into());

    let secret = AppRoleSecretBuilder::seed_flow()
        .secret_id("<secret-id>")
        .build()?;
    let issuer = VaultAppRoleIssuerBuilder::seed_flow()
        .server(server)
        .role_id(role_id)
        .build()?;
    let issuer_ref = IssuerReference::issuer("vault-issuer");
    let istiod = IstiodCertificateBuilder::new()
        .istio_namespace("istio-system")
        .trust_domain("cluster.local")
        .issuer_ref(issuer_ref.clone())
        .build()?;
    let values = IstioCsrValuesBuilder::new()
        .issuer(issuer_ref)
        .certificate_namespace("istio-system")
        .cluster_id("demo-cluster")
        .trust_domain("cluster.local")
        .root_ca(RootCaMount::seed_flow())
        .build()?;

    println!("{}---", serde_yaml::to_string(&secret)?);
    println!("{}---", serde_yaml::to_string(&issuer)?);
    println!("{}", serde_yaml::to_string(&istiod)?);
    println!("# istio-csr values.yaml\n{}", values.to_yaml()?);
    Ok(())
}
