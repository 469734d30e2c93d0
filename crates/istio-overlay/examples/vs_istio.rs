//! The Rust side of `scripts/bench-vs-istio.sh` with the system allocator (see
//! `benches/support/vs_istio.rs`).
//!
//! `cargo run --release -p istio-overlay --example vs_istio -- N WORKLOAD.json OUT.json`
#![allow(clippy::unwrap_used)]

#[path = "../benches/support/vs_istio.rs"]
mod vs_istio;

fn main() {
    vs_istio::main("rust");
}
