//! Starting, probing and stopping the stack's server processes.
//!
//! Each process runs in its own process group (so a Ctrl-C meant for `e2e` does not reach it),
//! writes stdout and stderr to its log file, and is identified by its pid *and* its start time
//! (`/proc/<pid>/stat` field 22), so `stack down` never signals a recycled pid.

use std::future::Future;
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::error::{Result, StackError};

/// A free TCP port on 127.0.0.1, below the ephemeral range (`vault_pki::dev_server::free_port`:
/// a port an outgoing connection cannot take before the component binds it).
pub(crate) fn free_port(what: &str) -> Result<u16> {
    vault_pki::dev_server::free_port().map_err(|_| StackError::NoFreePort(what.to_string()))
}

/// A process the stack started, as recorded in the state file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProcessRecord {
    /// The component name (`etcd`, `kube-apiserver`, `cert-manager`, `openbao`, `istio-csr`).
    pub name: String,
    /// Its pid.
    pub pid: u32,
    /// Its start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub start_ticks: u64,
    /// Its log file.
    pub log: PathBuf,
}

/// A started process; the `Child` is kept when this process is its parent (to reap it).
#[derive(Debug)]
pub(crate) struct Proc {
    pub record: ProcessRecord,
    pub child: Option<Child>,
}

/// Reads `(state, start_ticks)` of a pid from `/proc`.
fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); field 22 (starttime) is index 19.
    let state = fields.first()?.chars().next()?;
    let ticks = fields.get(19)?.parse().ok()?;
    Some((state, ticks))
}

impl ProcessRecord {
    /// Whether this exact process (same pid and start time) is still running (zombies count
    /// as exited).
    pub fn is_running(&self) -> bool {
        matches!(proc_stat(self.pid), Some((s, t)) if t == self.start_ticks && s != 'Z' && s != 'X')
    }

    fn signal(&self, sig: &str) {
        if self.is_running() {
            let _ = Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(self.pid.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Proc {
    /// Starts `bin args…` with its output appended to `log`, in its own process group.
    pub(crate) fn spawn(
        name: &str,
        bin: &Path,
        args: &[String],
        envs: &[(&str, String)],
        log: &Path,
    ) -> Result<Proc> {
        Self::spawn_in(name, bin, args, envs, log, None)
    }

    /// [`Proc::spawn`] with a working directory (istiod reads files at paths relative to it).
    pub(crate) fn spawn_in(
        name: &str,
        bin: &Path,
        args: &[String],
        envs: &[(&str, String)],
        log: &Path,
        cwd: Option<&Path>,
    ) -> Result<Proc> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| StackError::io(format!("{name}: opening log {}", log.display()), e))?;
        let err = out
            .try_clone()
            .map_err(|e| StackError::io(format!("{name}: opening log {}", log.display()), e))?;
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        let child = cmd
            .spawn()
            .map_err(|e| StackError::io(format!("{name}: starting {}", bin.display()), e))?;
        let pid = child.id();
        let start_ticks = proc_stat(pid).map(|(_, t)| t).unwrap_or(0);
        Ok(Proc {
            record: ProcessRecord {
                name: name.to_string(),
                pid,
                start_ticks,
                log: log.to_path_buf(),
            },
            child: Some(child),
        })
    }

    /// Whether the process has exited, with its status when known.
    pub(crate) fn exited(&mut self) -> Option<String> {
        match self.child.as_mut() {
            Some(c) => match c.try_wait() {
                Ok(Some(status)) => Some(status.to_string()),
                Ok(None) => None,
                Err(e) => Some(e.to_string()),
            },
            None => (!self.record.is_running()).then(|| "exited".to_string()),
        }
    }

    /// Stops the process: SIGTERM, then SIGKILL after `grace`; reaps it when it is a child.
    pub(crate) async fn stop(&mut self, grace: Duration) {
        if let Some(c) = self.child.as_mut()
            && let Ok(Some(_)) = c.try_wait()
        {
            return;
        }
        stop_record(&self.record, grace, self.child.as_mut()).await;
        if let Some(c) = self.child.as_mut() {
            let _ = c.wait();
        }
    }
}

/// SIGTERM, wait up to `grace`, then SIGKILL; `child` (when given) is polled to reap it.
pub(crate) async fn stop_record(
    rec: &ProcessRecord,
    grace: Duration,
    mut child: Option<&mut Child>,
) {
    rec.signal("TERM");
    let deadline = Instant::now() + grace;
    loop {
        if let Some(c) = child.as_deref_mut() {
            let _ = c.try_wait();
        }
        if !rec.is_running() {
            return;
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rec.signal("KILL");
    for _ in 0..100 {
        if let Some(c) = child.as_deref_mut() {
            let _ = c.try_wait();
        }
        if !rec.is_running() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The last `n` lines of a log file.
pub(crate) fn log_tail(log: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut lines: Vec<&str> = text.lines().rev().take(n).collect();
    lines.reverse();
    lines.join("\n")
}

/// Polls `probe` until it returns `Ok(())`, the process exits, or `timeout` passes; the error
/// names the component, its log and the last thing the probe saw.
pub(crate) async fn wait_ready<F, Fut>(
    proc: &mut Proc,
    timeout: Duration,
    mut probe: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<(), String>>,
{
    let deadline = Instant::now() + timeout;
    let mut last: String;
    loop {
        if let Some(status) = proc.exited() {
            return Err(not_ready(
                &proc.record,
                timeout,
                format!("the process exited: {status}"),
            ));
        }
        match probe().await {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        if Instant::now() >= deadline {
            return Err(not_ready(&proc.record, timeout, last));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A [`StackError::NotReady`] for a component.
pub(crate) fn not_ready(rec: &ProcessRecord, timeout: Duration, why: String) -> StackError {
    StackError::NotReady {
        component: rec.name.clone(),
        timeout,
        why,
        log: rec.log.clone(),
        tail: log_tail(&rec.log, 20),
    }
}

/// A plain-HTTP `GET http://127.0.0.1:<port><path>`: the status code and body.
pub(crate) async fn http_get(port: u16, path: &str) -> std::result::Result<(u16, String), String> {
    let fut = async {
        let mut s = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|e| format!("connecting to 127.0.0.1:{port}: {e}"))?;
        let req =
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let text = String::from_utf8_lossy(&buf).into_owned();
        let code = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("GET {path}: not an HTTP answer"))?;
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((code, body))
    };
    tokio::time::timeout(Duration::from_secs(3), fut)
        .await
        .map_err(|_| format!("GET 127.0.0.1:{port}{path}: timed out"))?
}

/// `Ok` when `GET` answers 200.
pub(crate) async fn http_ok(port: u16, path: &str) -> std::result::Result<(), String> {
    match http_get(port, path).await? {
        (200, _) => Ok(()),
        (code, body) => Err(format!("GET {path} answered {code}: {}", body.trim())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_running_and_a_wrong_start_time_is_not() {
        let pid = std::process::id();
        let (_, ticks) = proc_stat(pid).expect("own /proc stat");
        let rec = ProcessRecord {
            name: "me".into(),
            pid,
            start_ticks: ticks,
            log: PathBuf::new(),
        };
        assert!(rec.is_running());
        let other = ProcessRecord {
            start_ticks: ticks + 1,
            ..rec
        };
        assert!(!other.is_running());
    }

    #[test]
    fn log_tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.log");
        std::fs::write(&p, "a\nb\nc\nd\n").expect("write");
        assert_eq!(log_tail(&p, 2), "c\nd");
    }
}
