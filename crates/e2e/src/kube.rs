//! Applying the flow's objects to a cluster (seed steps 6 to 8).

use std::path::Path;

use crate::cli::RunArgs;
use crate::error::Result;
use crate::manifests::Manifests;
use crate::progress::Progress;

/// Applies every object in order with server-side apply (field manager `e2e`).
pub async fn apply(
    _kubeconfig: &Path,
    _args: &RunArgs,
    _m: &Manifests,
    _progress: &Progress,
) -> Result<()> {
    Err(crate::Error::step(
        "cluster",
        "not implemented yet",
        "run without --kubeconfig",
    ))
}
