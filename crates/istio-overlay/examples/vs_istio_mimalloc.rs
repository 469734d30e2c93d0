//! The Rust side of `scripts/bench-vs-istio.sh` with mimalloc as the global allocator, as the
//! `istio-overlay` binary has it (see `benches/support/vs_istio.rs`).
//!
//! `cargo run --release -p istio-overlay --example vs_istio_mimalloc -- N WORKLOAD.json OUT.json`
#![allow(clippy::unwrap_used)]

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../benches/support/vs_istio.rs"]
mod vs_istio;

fn main() {
    vs_istio::main("rust-mimalloc");
}
