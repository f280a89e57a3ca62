//! The processes under test: the release `frontdesk` binary and the trivial baseline server
//! (this binary again, as `trivial-server`), each on a free loopback port; and what /proc
//! tells about them (CPU time, write syscalls), plus `perf stat` for counting fsyncs.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// Linux reports CPU time in /proc in USER_HZ ticks, fixed at 100 on every architecture.
const USER_HZ: f64 = 100.0;

/// A free loopback port (bound, read, released; the server binds it right after).
pub fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
    Ok(listener.local_addr()?)
}

/// A spawned server, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks the process to shut down cleanly and waits up to `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The last lines the server wrote, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// How the frontdesk process is configured.
pub struct FrontdeskConfig<'a> {
    pub binary: &'a Path,
    pub data_dir: &'a Path,
    pub addr: SocketAddr,
    pub account_sid: &'a str,
    pub auth_token: &'a str,
    pub database_url: Option<&'a str>,
    pub practice_number: &'a str,
    /// More `FRONTDESK_*` variables, set after the defaults above (so they can override them).
    pub extra_env: Vec<(String, String)>,
    /// More numbers to register before serving, with their rate limits (messages per second).
    pub numbers: Vec<(String, f64)>,
}

impl FrontdeskConfig<'_> {
    fn command(&self) -> Command {
        let mut cmd = Command::new(self.binary);
        // Start from a clean slate: no FRONTDESK_* from the caller's environment leaks in.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("FRONTDESK_") {
                cmd.env_remove(key);
            }
        }
        cmd.current_dir(self.data_dir)
            .env("FRONTDESK_DATA_DIR", self.data_dir)
            .env("FRONTDESK_LISTEN", self.addr.to_string())
            .env("FRONTDESK_PUBLIC_URL", format!("http://{}", self.addr))
            .env("FRONTDESK_TWILIO__ACCOUNT_SID", self.account_sid)
            .env("FRONTDESK_TWILIO__AUTH_TOKEN", self.auth_token)
            // Nothing may leave the machine: any outbound call goes to a closed loopback port.
            .env("FRONTDESK_TWILIO__API_BASE", "http://127.0.0.1:9")
            .env("FRONTDESK_SIMULATOR__ENABLED", "false")
            .env("FRONTDESK_LOG", "warn");
        if let Some(url) = self.database_url {
            cmd.env("FRONTDESK_DATABASE_URL", url);
        }
        for (key, value) in &self.extra_env {
            cmd.env(key, value);
        }
        cmd
    }

    /// Runs one `frontdesk` CLI command with this configuration and returns its stdout.
    pub fn cli(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = self
            .command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {} {}", self.binary.display(), args.join(" ")))?;
        if !output.status.success() {
            bail!(
                "`frontdesk {}` failed ({}): {}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// `frontdesk number add`, then `frontdesk serve`, then waits for `/readyz`.
    pub async fn start(&self) -> anyhow::Result<Server> {
        self.register_numbers()?;
        self.serve(&self.data_dir.join("frontdesk.log")).await
    }

    /// `frontdesk number add` for the practice number and the extra numbers.
    pub fn register_numbers(&self) -> anyhow::Result<()> {
        let output = self
            .command()
            .args(["number", "add", self.practice_number, "--provider", "twilio", "--rate", "500"])
            .output()
            .with_context(|| format!("running {} number add", self.binary.display()))?;
        if !output.status.success() {
            bail!(
                "`frontdesk number add` failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        for (number, rate) in &self.numbers {
            self.cli(&["number", "add", number, "--provider", "twilio", "--rate", &rate.to_string()])?;
        }
        Ok(())
    }

    /// `frontdesk serve` (its output appended to `log`), then waits for `/readyz`.
    pub async fn serve(&self, log: &Path) -> anyhow::Result<Server> {
        let log = log.to_path_buf();
        let log_file = std::fs::OpenOptions::new().create(true).append(true).open(&log)?;
        let child = self
            .command()
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {} serve", self.binary.display()))?;
        let mut server = Server { child, addr: self.addr, log };
        wait_ready(&mut server, "/readyz").await?;
        Ok(server)
    }
}

/// Starts this binary as the trivial baseline server.
pub async fn start_trivial(scratch: &Path) -> anyhow::Result<Server> {
    let addr = free_loopback_addr()?;
    let log = scratch.join("trivial.log");
    let log_file = std::fs::File::create(&log)?;
    let exe = std::env::current_exe().context("finding this binary")?;
    let child = Command::new(exe)
        .args(["trivial-server", "--listen", &addr.to_string()])
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()
        .context("starting the trivial server")?;
    let mut server = Server { child, addr, log };
    wait_ready(&mut server, "/readyz").await?;
    Ok(server)
}

async fn wait_ready(server: &mut Server, path: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.child.try_wait()? {
            bail!("the server exited during start-up ({status}):\n{}", server.log_tail());
        }
        if http_get_status(server.addr, path).await.ok() == Some(200) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the server was not ready on {} within 30 s:\n{}", server.addr, server.log_tail());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A minimal GET over a fresh connection.
pub async fn http_get_status(addr: SocketAddr, path: &str) -> anyhow::Result<u16> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut head = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut head)).await??;
    let text = String::from_utf8_lossy(&head);
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("no HTTP status line")?;
    Ok(status)
}

/// CPU seconds (user + system) the process has used so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// Write-type syscalls (write, pwrite, ...) the process has made so far.
pub fn write_syscalls(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines().find_map(|l| l.strip_prefix("syscw:")).and_then(|v| v.trim().parse().ok())
}

/// The 1-minute load average.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

/// Counts fsync and fdatasync calls of one process with `perf stat` on the syscall
/// tracepoints, when perf and the tracepoints are available (root or a permissive
/// perf_event_paranoid). `None` when counting is not possible here.
pub struct FsyncCounter {
    child: Child,
    output: PathBuf,
}

impl FsyncCounter {
    pub fn start(pid: u32, scratch: &Path) -> Option<FsyncCounter> {
        let output = scratch.join(format!("perf-{pid}-{}.csv", rand::random::<u32>()));
        let child = Command::new("perf")
            .args([
                "stat",
                "-x",
                ",",
                "-e",
                "syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync",
                "-p",
                &pid.to_string(),
                "-o",
            ])
            .arg(&output)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        // perf needs a moment to attach.
        std::thread::sleep(Duration::from_millis(300));
        Some(FsyncCounter { child, output })
    }

    /// Stops counting and returns fdatasync + fsync calls seen.
    pub fn finish(mut self) -> Option<u64> {
        let _ = Command::new("kill").arg("-INT").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return None;
                }
            }
        }
        let text = std::fs::read_to_string(&self.output).ok()?;
        let _ = std::fs::remove_file(&self.output);
        let mut total = 0u64;
        let mut found = false;
        for line in text.lines() {
            let mut cols = line.split(',');
            let value = cols.next().unwrap_or("");
            let event = cols.nth(1).unwrap_or("");
            if event.starts_with("syscalls:sys_enter_f")
                && let Ok(n) = value.trim().parse::<u64>()
            {
                total += n;
                found = true;
            }
        }
        found.then_some(total)
    }
}

impl Drop for FsyncCounter {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `count` more instances of `config`'s server on the same database (each with its own
/// free port and data directory under `scratch`, the same environment otherwise, so the same
/// master key and public URL when `config` sets them), one after the other, each ready.
/// Numbers are not registered again: they are in the shared database already.
pub async fn start_more_instances(
    config: &FrontdeskConfig<'_>,
    count: usize,
    scratch: &Path,
) -> anyhow::Result<Vec<Server>> {
    let mut servers = Vec::with_capacity(count);
    for i in 0..count {
        let data_dir = scratch.join(format!("data-instance-{}", i + 2));
        std::fs::create_dir_all(&data_dir)?;
        let other = FrontdeskConfig {
            binary: config.binary,
            data_dir: &data_dir,
            addr: free_loopback_addr()?,
            account_sid: config.account_sid,
            auth_token: config.auth_token,
            database_url: config.database_url,
            practice_number: config.practice_number,
            extra_env: config.extra_env.clone(),
            numbers: Vec::new(),
        };
        servers.push(other.serve(&data_dir.join("frontdesk.log")).await?);
    }
    Ok(servers)
}

/// VmRSS and VmHWM of a process, MB.
pub fn memory_mb(pid: u32) -> (Option<f64>, Option<f64>) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| (kb / 1024.0 * 10.0).round() / 10.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
