//! The Rust side of `scripts/bench-vs-istio.sh`: writes the N-object bench workload as JSON (for
//! the Go program in `bench-go/`), applies it with [`apply_overlays_owned`] timing only the
//! patching (the objects and overlays are built before the timer; the patch values are moved
//! into the objects, as Istio's loop inserts its decoded values), prints `rust N ns_per_patch` and writes the
//! patched objects as JSON.
//!
//! `cargo run --release -p istio-overlay --example vs_istio -- N WORKLOAD.json OUT.json`
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use istio_overlay::{K8sObjectOverlay, apply_overlays_owned};
use serde_json::{Value, json};

#[path = "../benches/support/workload.rs"]
mod workload;
use workload::{object, overlay};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, n, workload_path, out_path] = &args[..] else {
        eprintln!("usage: vs_istio N WORKLOAD.json OUT.json");
        std::process::exit(2);
    };
    let n: usize = n.parse().unwrap();
    let mut objects: Vec<Value> = (0..n).map(object).collect();
    let overlays: Vec<K8sObjectOverlay> = (0..n).map(overlay).collect();
    let patches: Vec<Value> = overlays
        .iter()
        .map(|o| serde_json::to_value(&o.patches).unwrap())
        .collect();
    let w = json!({"objects": objects, "patches": patches});
    std::fs::write(workload_path, serde_json::to_vec(&w).unwrap()).unwrap();
    let count: usize = overlays.iter().map(|o| o.patches.len()).sum();
    let start = Instant::now();
    apply_overlays_owned(&mut objects, overlays).unwrap();
    let ns = start.elapsed().as_nanos() as f64 / count as f64;
    println!("rust {n} {ns:.1}");
    std::fs::write(out_path, serde_json::to_vec(&objects).unwrap()).unwrap();
}
