//! A fleet: one root, an intermediate per cluster, every cluster set up by one idempotent run.
//!
//! A fleet file ([`FleetFile`]) names the root and the clusters; [`Fleet`] is it as a value,
//! one [`RunConfig`](crate::RunConfig) per cluster, whose Vault names default to ones derived
//! from the cluster's name (intermediate mount `istioca-<name>`, AppRole role and policy
//! `cert-manager-<name>`), so that no two clusters share an intermediate, a policy or a
//! credential. [`run()`] does the shared steps once, then every cluster's whole run
//! concurrently, each into `<out>/<name>/` exactly as `e2e run` writes one cluster.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//! use e2e::fleet::{ClusterTools, Fleet, FleetFile};
//!
//! let path = Path::new("fleet.yaml");
//! let file = FleetFile::read(path)?;
//! let fleet = Fleet::from_file(&file, path, Path::new("."), "./out",
//!     e2e::config::VaultSpec::DevServer, &ClusterTools::default())?;
//! let output = e2e::fleet::run(&fleet, &e2e::NoObserver).await;
//! println!("{}", output.report.to_json());
//! std::process::exit(output.exit_code());
//! # }
//! ```

pub mod args;
pub mod duration;
pub mod file;
pub mod observer;
pub mod orphans;
pub mod record;
pub mod render;
pub mod report;
pub mod run;
pub mod spec;

pub use duration::{DurationError, FleetDuration};
pub use file::{ClusterNames, FleetFile, FleetFileError};
pub use observer::{FleetEvent, FleetObserver};
pub use report::{ClusterResult, FleetReport, Orphan};
pub use run::{FleetOutput, run};
pub use spec::{ClusterTools, Fleet, FleetCluster, FleetRoot};
