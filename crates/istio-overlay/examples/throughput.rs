//! Resolved patches per second on one core, measured in on-CPU time (from
//! `/proc/thread-self/schedstat`, Linux) as well as wall time, so the figure holds on a busy
//! machine where Criterion's wall-clock medians include time spent waiting for a core.
//!
//! `cargo run --release -p istio-overlay --example throughput` (`ROUNDS=1` for a single round,
//! e.g. under `valgrind --tool=callgrind`).
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use istio_overlay::{K8sObjectOverlay, apply_overlays};
use serde_json::{Value, json};

fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn object(i: usize) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": format!("app-{i}"), "namespace": "ns", "labels": {"app": format!("app-{i}")}},
        "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": format!("app-{i}")}}, "spec": {
            "containers": [
                {"name": "app", "image": "app:1", "args": ["serve", "--port=8080", "--log=info", "--x", "1"],
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}],
                 "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 15010, "name": "grpc"}],
                 "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
                {"name": "sidecar", "image": "proxy:1", "args": ["proxy"]}
            ],
            "volumes": [{"name": "data", "emptyDir": {}}]
        }}}
    })
}

/// The same 10 patches per object as benches/overlay.rs.
fn overlay(i: usize) -> K8sObjectOverlay {
    let c = "spec.template.spec.containers.[name:app]";
    K8sObjectOverlay::new("Deployment", format!("app-{i}"))
        .patch(format!("{c}.args[-1]"), json!("--tls=true"))
        .patch(format!("{c}.args.[--log]"), json!("--log=debug"))
        .patch(format!("{c}.env.[name:B].value"), json!("20"))
        .patch(format!("{c}.env[-1]"), json!({"name": "D", "value": "4"}))
        .patch(
            format!("{c}.ports.[containerPort:15010].name"),
            json!("grpc-xds"),
        )
        .patch(
            format!("{c}.volumeMounts[-1]"),
            json!({"name": "certs", "mountPath": "/certs", "readOnly": true}),
        )
        .patch(
            "spec.template.spec.volumes[-1]",
            json!({"name": "certs", "secret": {"secretName": "tls"}}),
        )
        .patch("spec.replicas", json!(3))
        .patch(r"metadata.annotations.example\.com/patched", json!("yes"))
        .patch("spec.template.spec.containers.[name:sidecar]", None)
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
