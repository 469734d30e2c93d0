//! Files of the stack that hold secrets (keys, tokens, kubeconfigs): written mode 0600 from
//! the start.

use std::path::Path;

use crate::{Result, StackError};

/// Writes `contents` to `path`, created (or truncated) with mode 0600.
pub(crate) fn write_secret(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(contents.as_ref()))
        .map_err(|e| StackError::io(format!("writing {}", path.display()), e))
}
