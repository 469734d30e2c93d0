//! Resolved patches per second on one core, measured in on-CPU time (from
//! `/proc/thread-self/schedstat`, Linux) as well as wall time, so the figure holds on a busy
//! machine where Criterion's wall-clock medians include time spent waiting for a core.
//!
//! `cargo run --release -p istio-overlay --example throughput` (`ROUNDS=1` for a single round,
//! e.g. under `valgrind --tool=callgrind`).
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use istio_overlay::{K8sObjectOverlay, apply_overlays};
use serde_json::Value;

#[path = "../benches/support/workload.rs"]
mod workload;
use workload::{object, overlay};

fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn main() {
    // Calibration: how slow is this machine right now? (Deep copy of one Deployment-like object,
    // 60 nodes, about 2 µs on an idle recent x86 core.)
    let o = object(0);
    let (t, c) = (Instant::now(), cpu_ns());
    for _ in 0..20_000 {
        std::hint::black_box(o.clone());
    }
    let per_clone_cpu = cpu_ns().zip(c).map(|(b, a)| (b - a) as f64 / 20_000.0);
    println!(
        "calibration: one object clone {:.2} µs wall{}",
        t.elapsed().as_nanos() as f64 / 20_000.0 / 1e3,
        per_clone_cpu.map_or(String::new(), |c| format!(", {:.2} µs on-CPU", c / 1e3))
    );
    for n in [1_000usize, 4_000] {
        let objects: Vec<Value> = (0..n).map(object).collect();
        let overlays: Vec<K8sObjectOverlay> = (0..n).map(overlay).collect();
        let rounds: usize = std::env::var("ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(20);
        let (mut wall, mut cpu) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let mut m = objects.clone();
            let (t, c) = (Instant::now(), cpu_ns());
            apply_overlays(&mut m, &overlays).unwrap();
            let (c2, t2) = (cpu_ns(), t.elapsed());
            wall.push(t2.as_nanos() as f64);
            if let (Some(a), Some(b)) = (c, c2) {
                cpu.push((b - a) as f64);
            }
            drop(m);
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied()
        };
        let patches = (n * 10) as f64;
        let w = median(&mut wall).unwrap_or(f64::NAN);
        print!(
            "{n} objects x 10 patches: wall median {:.1} ms ({:.0} patches/s)",
            w / 1e6,
            patches / (w / 1e9)
        );
        match median(&mut cpu) {
            Some(c) => println!(
                ", on-CPU median {:.1} ms ({:.0} patches/s)",
                c / 1e6,
                patches / (c / 1e9)
            ),
            None => println!(),
        }
    }
}
