//! The state file `<stack dir>/stack.json`: what `stack up` started (pids, ports, logs), read by
//! `stack down`, `stack env` and `stack status`. It holds no secret: the OpenBao root token is
//! in its own `0600` file, `vault-token`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{Result, StackError};
use super::process::ProcessRecord;

/// The state file's name inside the stack dir.
pub const STATE_FILE: &str = "stack.json";

/// What a running stack is made of.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StackState {
    /// The stack dir.
    pub dir: PathBuf,
    /// The admin kubeconfig.
    pub kubeconfig: PathBuf,
    /// The API server URL, e.g. `https://127.0.0.1:41234`.
    pub api_server: String,
    /// OpenBao's address, e.g. `http://127.0.0.1:8200`.
    pub vault_addr: String,
    /// The file holding OpenBao's root token (`0600`).
    pub vault_token_file: PathBuf,
    /// Ports by use (`etcd-client`, `etcd-peer`, `kube-apiserver`, `cert-manager-healthz`, …).
    pub ports: BTreeMap<String, u16>,
    /// The processes started, in start order.
    pub processes: Vec<ProcessRecord>,
}

impl StackState {
    /// The state file of a stack dir.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// Writes the state file (atomically: a temp file renamed over it).
    pub fn save(&self) -> Result<()> {
        let path = Self::path(&self.dir);
        let tmp = path.with_extension("json.tmp");
        let json = serde_json::to_string_pretty(self).map_err(|e| StackError::State {
            path: path.clone(),
            message: format!("serializing: {e}"),
        })?;
        std::fs::write(&tmp, json)
            .map_err(|e| StackError::io(format!("writing {}", tmp.display()), e))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| StackError::io(format!("writing {}", path.display()), e))
    }

    /// Reads the state file of a stack dir.
    pub fn load(dir: &Path) -> Result<StackState> {
        let path = Self::path(dir);
        let text = std::fs::read_to_string(&path).map_err(|e| StackError::State {
            path: path.clone(),
            message: format!("{e} (is a stack up in this dir? start one with `e2e stack up`)"),
        })?;
        serde_json::from_str(&text).map_err(|e| StackError::State {
            path,
            message: format!("not a stack state file: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StackState {
            dir: dir.path().to_path_buf(),
            kubeconfig: dir.path().join("kubeconfig"),
            api_server: "https://127.0.0.1:6443".into(),
            vault_addr: "http://127.0.0.1:8200".into(),
            vault_token_file: dir.path().join("vault-token"),
            ports: BTreeMap::from([("kube-apiserver".to_string(), 6443)]),
            processes: vec![ProcessRecord {
                name: "etcd".into(),
                pid: 42,
                start_ticks: 7,
                log: dir.path().join("etcd.log"),
            }],
        };
        state.save().expect("save");
        assert_eq!(StackState::load(dir.path()).expect("load"), state);
    }

    #[test]
    fn a_missing_state_file_says_how_to_start_a_stack() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = StackState::load(dir.path()).expect_err("no state");
        assert!(err.to_string().contains("e2e stack up"), "{err}");
    }
}
