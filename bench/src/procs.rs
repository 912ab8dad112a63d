//! The processes under test: start a workspace binary on a free loopback port, wait for
//! its `listening on http://ADDR` line, read its memory from `/proc`, stop it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::BenchResult;

/// How long a process may take to print its `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A child process on a loopback port; killed when dropped.
pub struct Proc {
    child: Child,
    /// `http://127.0.0.1:PORT` (without `/mcp`), as printed by the process.
    pub url: String,
    /// Operating-system process id.
    pub pid: u32,
}

impl Proc {
    /// Starts `program` with `args` and `envs` (and without the variables in `unset`),
    /// and waits up to 60 s for `listening on http://ADDR` on its stderr. Its stderr is
    /// drained afterwards (and echoed when `BENCH_VERBOSE` is set).
    ///
    /// Errors: the program cannot be spawned, exits, or does not report its address.
    pub async fn start(program: &Path, args: &[&str], envs: &[(&str, &str)], unset: &[&str]) -> BenchResult<Proc> {
        let name = program.file_name().unwrap_or_default().to_string_lossy().to_string();
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        for k in unset {
            cmd.env_remove(k);
        }
        let mut child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let pid = child.id().ok_or_else(|| format!("{name} exited at once"))?;
        let stderr = child.stderr.take().ok_or_else(|| format!("{name}: no stderr pipe"))?;
        let mut lines = BufReader::new(stderr).lines();
        let verbose = std::env::var_os("BENCH_VERBOSE").is_some();
        let find_url = async {
            while let Ok(Some(line)) = lines.next_line().await {
                if verbose {
                    eprintln!("[{name}] {line}");
                }
                if let Some(pos) = line.find("listening on http://") {
                    return Some(line[pos + "listening on ".len()..].trim().trim_end_matches("/mcp").to_string());
                }
            }
            None
        };
        let url = match tokio::time::timeout(START_TIMEOUT, find_url).await {
            Ok(Some(url)) => url,
            Ok(None) => return Err(format!("{name} exited before listening (run with BENCH_VERBOSE=1 to see why)")),
            Err(_) => return Err(format!("{name} did not report its address within {START_TIMEOUT:?}")),
        };
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if verbose {
                    eprintln!("[{name}] {line}");
                }
            }
        });
        Ok(Proc { child, url, pid })
    }

    /// Memory of this process now (see [`Memory::of`]).
    pub fn memory(&self) -> BenchResult<Memory> {
        Memory::of(self.pid)
    }

    /// Kills the process and waits for it (bounded to 5 s).
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

/// Resident memory of a process, in KiB, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Memory {
    /// `VmRSS`: resident set size now.
    pub rss_kib: u64,
    /// `VmHWM`: peak resident set size since the process started.
    pub hwm_kib: u64,
}

impl Memory {
    /// Reads `VmRSS` and `VmHWM` of `pid`.
    ///
    /// Errors: the file cannot be read (not Linux, process gone) or lacks the fields.
    pub fn of(pid: u32) -> BenchResult<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
        let field = |name: &str| -> BenchResult<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
                .ok_or_else(|| format!("/proc/{pid}/status has no {name}"))
        };
        Ok(Memory { rss_kib: field("VmRSS:")?, hwm_kib: field("VmHWM:")? })
    }
}

/// The directory holding the workspace binaries: `--bin-dir` when given, else the
/// directory of this executable (`target/release` for a release build).
pub fn bin_dir(explicit: Option<&Path>) -> BenchResult<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    exe.parent().map(Path::to_path_buf).ok_or_else(|| "this executable has no directory".to_string())
}

/// Path of binary `name` in `dir`.
///
/// Errors: it does not exist (with the build command to run).
pub fn binary(dir: &Path, name: &str) -> BenchResult<PathBuf> {
    let path = dir.join(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: run `cargo build --release -p talk2tables-server -p talk2tables-database-mcp -p talk2tables-metadata-mcp -p talk2tables-bench`",
            path.display()
        ))
    }
}

/// Creates the sample database at `path` with `talk2tables-database-mcp --init-sample`.
///
/// Errors: the command fails.
pub async fn init_sample(database_mcp: &Path, path: &Path) -> BenchResult<()> {
    let status = Command::new(database_mcp)
        .arg("--init-sample")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .map_err(|e| format!("cannot run --init-sample: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("--init-sample failed: {status}")) }
}

/// Load averages (1, 5, 15 minutes) from `/proc/loadavg`; zeros when unreadable.
pub fn load_average() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = text.split_whitespace().map(|v| v.parse().unwrap_or(0.0));
    [it.next().unwrap_or(0.0), it.next().unwrap_or(0.0), it.next().unwrap_or(0.0)]
}

/// The CPU model name from `/proc/cpuinfo` (empty when unknown).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_string()))
        .unwrap_or_default()
}
