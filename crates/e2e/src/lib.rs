//! The reference runner: the whole Vault PKI -> cert-manager -> istio-csr -> TSB flow as one
//! idempotent run, built from this workspace's crates, usable from Rust without the CLI.
//!
//! ```no_run
//! use e2e::{NoObserver, RunConfig};
//!
//! # async fn demo(args: e2e::cli::RunArgs) -> e2e::Result<()> {
//! // From the CLI's arguments (or build the fields yourself); validated before any I/O.
//! let cfg = RunConfig::from_args(&args, false)?;
//! let report = e2e::run(&cfg, &NoObserver).await.into_result()?;
//! println!("{} steps, all unchanged: {}", report.steps.len(), report.all_unchanged());
//! # Ok(()) }
//! ```
//!
//! A run is phases with typed hand-offs, each in its own module:
//! - [`vault`]: connect (or start a throwaway OpenBao), choose the root, and run `vault-pki`'s
//!   [`ensure_with`](vault_pki::PkiClient::ensure_with) (seed steps 1 to 5) -> a
//!   [`SetupReport`](vault_pki::SetupReport);
//! - [`outputs`]: the output folder's files ([`files`], [`state`]) and the objects of seed
//!   steps 6 to 8 ([`manifests`], [`control_plane`]);
//! - [`cluster`]: with a cluster, server-side apply through one client ([`mod@kube`]) ->
//!   [`ClusterReport`](cluster::ClusterReport); with `--auth kubernetes` it runs
//!   [`kubernetes_auth`]'s service accounts, RBAC and Vault side before switching the Issuer;
//! - [`verify`], and [`mesh_ca`] over [`istio_ca`]: seed step 9 -> [`Check`](report::Check)s.
//!
//! [`run()`] composes them and assembles the [`Report`](report::Report) from their results;
//! progress is a stream of typed [`Event`]s to an [`Observer`] (the CLI's
//! [`TextRenderer`](render::TextRenderer) prints them). The output folder's [`state`] makes a
//! second run change nothing.

pub mod args;
pub mod certs;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod control_plane;
pub mod csr;
pub mod doctor;
pub mod error;
pub mod files;
pub mod fleet;
pub mod istio_ca;
pub mod kube;
pub mod kubernetes_auth;
pub mod manifests;
pub mod mesh_ca;
pub mod mtls;
pub mod observer;
pub mod outputs;
pub mod preflight;
pub mod progress;
pub mod readiness;
pub mod render;
pub mod report;
pub mod root;
pub mod rotate;
pub mod run;
pub mod sink;
pub mod state;
pub mod vault;
pub mod verify;

pub use config::RunConfig;
pub use error::{Cause, Error, Result};
pub use observer::{Event, NoObserver, Observer};
pub use run::{RunOutput, run};
