//! HA load measurement (a measurement, not a test): three OpenBao raft nodes, signing SPIFFE
//! CSRs through `vault-pki` at concurrency 64 via a standby's address for 10 s, then the
//! leader SIGKILLed and 30 s more. Prints errors, recovery time (kill to first success) and
//! p50/p99 latency before and after.
//!
//!   cargo run --release -p vault-pki --features dev-server --example ha_load

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[allow(unused)]
#[path = "../tests/it/ha.rs"]
mod ha;

use vault_pki::{PkiSetup, SignOptions};

const CONCURRENCY: usize = 64;
const PHASE: Duration = Duration::from_secs(10);
/// After the kill: long enough for a new leader on 2 loaded cores (~12 s seen).
const AFTER: Duration = Duration::from_secs(30);

fn pct(v: &mut [Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let mut cluster = ha::RaftCluster::start();
    let leader = cluster.leader();
    let standby = (0..3).find(|&i| i != leader).expect("a standby");
    let setup = PkiSetup::with_prefix("load");
    cluster.client(leader).ensure(&setup).await.expect("ensure");
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.subject_alt_names = vec![rcgen::SanType::URI(
        rcgen::string::Ia5String::try_from("spiffe://cluster.local/ns/load/sa/w").expect("uri"),
    )];
    let csr = params
        .serialize_request(&key)
        .expect("csr")
        .pem()
        .expect("pem");
    let client = cluster.client(standby);
    // (finished at, latency, ok)
    let samples: Arc<Mutex<Vec<(Instant, Duration, bool)>>> = Arc::default();
    let start = Instant::now();
    let end = start + PHASE + AFTER;
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (c, csr, s, mount, role) = (
            client.clone(),
            csr.clone(),
            samples.clone(),
            setup.intermediate_mount.clone(),
            setup.role.name.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                let t = Instant::now();
                let ok = c
                    .sign_csr(&mount, &role, &csr, &SignOptions::default())
                    .await
                    .is_ok();
                s.lock()
                    .expect("lock")
                    .push((Instant::now(), t.elapsed(), ok));
            }
        }));
    }
    tokio::time::sleep(PHASE).await;
    let kill_at = Instant::now();
    cluster.kill(leader);
    for t in tasks {
        let _ = t.await;
    }
    let s = samples.lock().expect("lock");
    let mut before: Vec<Duration> = s
        .iter()
        .filter(|x| x.0 < kill_at && x.2)
        .map(|x| x.1)
        .collect();
    let mut after: Vec<Duration> = s
        .iter()
        .filter(|x| x.0 >= kill_at && x.2)
        .map(|x| x.1)
        .collect();
    let errors_before = s.iter().filter(|x| x.0 < kill_at && !x.2).count();
    let errors_after = s.iter().filter(|x| x.0 >= kill_at && !x.2).count();
    let recovery = s
        .iter()
        .filter(|x| x.0 >= kill_at && x.2 && x.0 - x.1 >= kill_at)
        .map(|x| x.0 - kill_at)
        .min();
    println!(
        "concurrency {CONCURRENCY}, {PHASE:?} before and {AFTER:?} after SIGKILL of the leader (node{leader}), via standby node{standby}"
    );
    println!(
        "before: {} ok, {errors_before} errors, p50 {:?}, p99 {:?}",
        before.len(),
        pct(&mut before, 0.5),
        pct(&mut before, 0.99)
    );
    println!(
        "after:  {} ok, {errors_after} errors, p50 {:?}, p99 {:?}",
        after.len(),
        pct(&mut after, 0.5),
        pct(&mut after, 0.99)
    );
    println!("recovery (kill to first success of a request sent after it): {recovery:?}");
}
