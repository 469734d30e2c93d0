//! The Rust side of `scripts/bench-vs-istio.sh`, shared by the `vs_istio` example (the system
//! allocator) and `vs_istio_mimalloc` (mimalloc, as the `istio-overlay` binary uses): writes the
//! N-object bench workload as JSON (for the Go program in `bench-go/`), reads it back as the Go
//! program does (objects and patch values parsed before the timer), applies it with
//! [`apply_overlays_moving`] timing only the patching (the patch values are moved into the
//! objects, as Istio's loop inserts its decoded values), prints `LABEL N ns_per_patch` and
//! writes the patched objects as JSON.

use std::time::Instant;

use istio_overlay::{K8sObjectOverlay, Patch, apply_overlays_moving};
use serde::Deserialize;
use serde_json::{Value, json};

#[path = "workload.rs"]
mod workload;
use workload::{object, overlay};

/// The workload file, as this side reads it: the objects and the overlays (the Go side reads
/// the objects and each object's patches, written beside them).
#[derive(Deserialize)]
struct Workload {
    objects: Vec<Value>,
    overlays: Vec<K8sObjectOverlay>,
}

/// Runs the bench with the arguments `N WORKLOAD.json OUT.json`, printing `label` first.
pub fn main(label: &str) {
    let args: Vec<String> = std::env::args().collect();
    let [_, n, workload_path, out_path] = &args[..] else {
        eprintln!("usage: {label} N WORKLOAD.json OUT.json");
        std::process::exit(2);
    };
    let n: usize = n.parse().unwrap();
    let overlays: Vec<K8sObjectOverlay> = (0..n).map(overlay).collect();
    let objects: Vec<Value> = (0..n).map(object).collect();
    let patches: Vec<&Vec<Patch>> = overlays.iter().map(|o| &o.patches).collect();
    let w = json!({"objects": objects, "patches": patches, "overlays": overlays});
    std::fs::write(workload_path, serde_json::to_vec(&w).unwrap()).unwrap();
    // Parsing outside the timer, from the file the Go side reads (what was built to write it
    // stays allocated until the end, so that the timed call does not pay for freeing it).
    let parsed: Workload = serde_json::from_slice(&std::fs::read(workload_path).unwrap()).unwrap();
    let (mut objects, mut overlays) = (parsed.objects, parsed.overlays);
    let count: usize = overlays.iter().map(|o| o.patches.len()).sum();
    let start = Instant::now();
    apply_overlays_moving(&mut objects, &mut overlays).unwrap();
    let ns = start.elapsed().as_nanos() as f64 / count as f64;
    println!("{label} {n} {ns:.1}");
    std::fs::write(out_path, serde_json::to_vec(&objects).unwrap()).unwrap();
    drop(w);
}
