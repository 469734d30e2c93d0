//! Criterion benchmarks: the Vault-CA overlay set (IstioOperator level + istiod Deployment
//! level) on Istio's rendered manifests, and N-object manifests with 10 patches each at two
//! sizes (linear growth), with the patch values copied ([`apply_overlays`]) and moved
//! ([`apply_overlays_moving`]). Throughput is in resolved patches.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use istio_overlay::{
    K8sObjectOverlay, apply_nested, apply_overlays, apply_overlays_moving, parse_document,
    parse_documents,
};
use serde_json::Value;

#[path = "support/workload.rs"]
mod workload;
use workload::{object, overlay};

fn data(name: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::read_to_string(format!("{root}/../../testdata/{name}")).unwrap()
}

fn vault_ca(c: &mut Criterion) {
    let manifests = parse_documents("golden", &data("pilot_default.golden.yaml")).unwrap();
    let iop = parse_document("iop", &data("tsb-istiocontrolplane.bare.yaml")).unwrap();
    let cp = parse_document("cp", &data("control-plane.example.yaml")).unwrap();
    let overlays = K8sObjectOverlay::list_from_value("cp", &cp).unwrap();
    let mut g = c.benchmark_group("vault-ca");
    g.throughput(Throughput::Elements(10)); // 3 IstioOperator patches + 7 istiod patches
    g.bench_function("nested/iop+17-manifests", |b| {
        b.iter_batched(
            || (iop.clone(), manifests.clone()),
            |(mut iop, mut m)| {
                apply_nested(&mut iop, &overlays, &mut m).unwrap();
                (iop, m)
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn manifests(c: &mut Criterion) {
    let mut g = c.benchmark_group("manifest");
    for n in [1_000usize, 4_000] {
        let objects: Vec<Value> = (0..n).map(object).collect();
        let overlays: Vec<K8sObjectOverlay> = (0..n).map(overlay).collect();
        g.throughput(Throughput::Elements((n * 10) as u64));
        g.bench_with_input(BenchmarkId::new("objects-x10-patches", n), &n, |b, _| {
            b.iter_batched(
                || objects.clone(),
                |mut m| {
                    apply_overlays(&mut m, &overlays).unwrap();
                    m
                },
                BatchSize::LargeInput,
            )
        });
        // The patch values moved instead of copied (the overlays cloned in the setup).
        g.bench_with_input(
            BenchmarkId::new("objects-x10-patches-moved", n),
            &n,
            |b, _| {
                b.iter_batched(
                    || (objects.clone(), overlays.clone()),
                    |(mut m, mut o)| {
                        apply_overlays_moving(&mut m, &mut o).unwrap();
                        (m, o)
                    },
                    BatchSize::LargeInput,
                )
            },
        );
    }
    g.finish();
}

criterion_group!(benches, vault_ca, manifests);
criterion_main!(benches);
