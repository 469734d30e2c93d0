//! The reference runner: the whole Vault PKI -> cert-manager -> istio-csr -> TSB flow as one
//! idempotent command, `e2e run`, built from this workspace's crates.
//!
//! ```no_run
//! use clap::Parser;
//! use e2e::cli::{Cli, Command};
//! use e2e::progress::Progress;
//!
//! # async fn demo() {
//! // `e2e run --out ./out` with no Vault address: a throwaway OpenBao dev server is used.
//! let cli = Cli::parse_from(["e2e", "run", "--out", "./out"]);
//! if let Command::Run(args) = cli.command {
//!     let progress = Progress::new(false, false);
//!     let (report, error) = e2e::run::execute(&args, false, &progress).await;
//!     println!("{} steps, all unchanged: {}", report.steps.len(), report.all_unchanged());
//!     if let Some(e) = error {
//!         eprintln!("{e}");
//!     }
//! }
//! # }
//! ```
//!
//! Seed steps 1 to 5 (Vault) are `vault-pki`'s [`ensure`](vault_pki::PkiClient::ensure); steps
//! 6 to 8 are objects from `certmanager-types` and `tsb-types`, written to the output folder
//! ([`files`]) and, with `--kubeconfig`, applied with server-side apply ([`mod@kube`]); step 9
//! is [`verify`]. The output folder's [`state`] makes a second run change nothing.

pub mod cli;
pub mod control_plane;
pub mod csr;
pub mod error;
pub mod files;
pub mod istio_ca;
pub mod kube;
pub mod manifests;
pub mod progress;
pub mod report;
pub mod run;
pub mod state;
pub mod verify;

pub use error::{Error, Result};
