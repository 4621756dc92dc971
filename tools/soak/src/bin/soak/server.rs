//! [`ServerProcess`]: `soak-server` as a child process, and what the driver
//! reads of it: its memory and descriptors from `/proc`, its counters over
//! HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use weir_soak::{Stats, ECHO_PATH, SINK_PATH, STATS_PATH, TRIM_PATH};

/// How long the server may take to see every client gone.
pub const IDLE_WAIT: Duration = Duration::from_secs(30);

/// A pause after the server reports no connection, before reading its
/// memory and descriptors: the last sockets close right after the last
/// `on_close`, and the stats request's own socket after its answer.
const QUIET: Duration = Duration::from_millis(500);

/// How long one stats request may take (it waits in the backlog while the
/// server is out of descriptors).
const STATS_TIMEOUT: Duration = Duration::from_secs(5);

/// glibc's mmap threshold for the server, in bytes. By default glibc raises
/// it each time a large block is freed, so that later messages of a few
/// hundred KiB come from the heap, whose free space it keeps: the server's
/// RSS at rest would then show where freed buffers happened to fall (it
/// moved by 30% either way between identical runs), not what is still
/// allocated. Pinned at glibc's initial 128 KiB, larger buffers are mapped
/// and unmapped on their own and RSS tracks live memory, which is what a
/// leak check wants.
const MMAP_THRESHOLD: &str = "131072";

/// The server's resident memory and open descriptors at one moment.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    /// `VmRSS` in KiB.
    pub rss_kib: u64,
    /// Entries in `/proc/PID/fd`.
    pub fds: u64,
}

/// A running `soak-server`, killed when dropped.
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `binary` and waits for the address it bound.
    pub fn start(
        binary: &Path,
        addr: &str,
        workers: usize,
        fd_limit: Option<u64>,
    ) -> Result<Self, String> {
        let mut command = Command::new(binary);
        command
            .args(["--addr", addr, "--workers", &workers.to_string()])
            .env("MALLOC_MMAP_THRESHOLD_", MMAP_THRESHOLD)
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        if let Some(limit) = fd_limit {
            command.args(["--fd-limit", &limit.to_string()]);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        // Owned from here on, so that the child is killed on every error.
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        server.addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|addr| addr.parse().ok())
            .ok_or_else(|| format!("soak-server did not say where it listens: {line:?}"))?;
        Ok(server)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of its echo route.
    pub fn echo_url(&self) -> String {
        format!("ws://{}{ECHO_PATH}", self.addr)
    }

    /// The URL of its sink route, which reads and answers nothing.
    pub fn sink_url(&self) -> String {
        format!("ws://{}{SINK_PATH}", self.addr)
    }

    /// Its resident memory and descriptor count now.
    pub fn usage(&self) -> Result<Usage, String> {
        let pid = self.pid();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|e| format!("reading /proc/{pid}/status: {e}"))?;
        let rss_kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))?;
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map_err(|e| format!("listing /proc/{pid}/fd: {e}"))?
            .count() as u64;
        Ok(Usage { rss_kib, fds })
    }

    /// Its counters, fetched over plain HTTP.
    pub fn stats(&self) -> Result<Stats, String> {
        Stats::parse(&self.get(STATS_PATH)?)
    }

    /// Has it hand its free heap memory back to the system (at
    /// [`TRIM_PATH`]), so that the next RSS reading is of memory in use.
    pub fn trim(&self) -> Result<(), String> {
        self.get(TRIM_PATH).map(drop)
    }

    /// The body of a `GET path` over plain HTTP, which must answer 200.
    fn get(&self, path: &str) -> Result<String, String> {
        let failed = |e: std::io::Error| format!("GET {path}: {e}");
        let mut stream = TcpStream::connect_timeout(&self.addr, STATS_TIMEOUT).map_err(failed)?;
        stream
            .set_read_timeout(Some(STATS_TIMEOUT))
            .map_err(failed)?;
        stream
            .set_write_timeout(Some(STATS_TIMEOUT))
            .map_err(failed)?;
        write!(stream, "GET {path} HTTP/1.1\r\nHost: soak\r\n\r\n").map_err(failed)?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).map_err(failed)?;
        let (head, body) = answer
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("GET {path}: no end of head in {answer:?}"))?;
        if !head.starts_with("HTTP/1.1 200") {
            return Err(format!("GET {path}: {head:?}"));
        }
        Ok(body.to_owned())
    }

    /// Polls the counters until no connection is open, for at most `limit`;
    /// returns the last counters either way, and whether it got there.
    pub fn wait_idle(&mut self, limit: Duration) -> Result<(Stats, bool), String> {
        let deadline = Instant::now() + limit;
        loop {
            self.check_alive()?;
            let stats = self.stats();
            match stats {
                Ok(stats) if stats.open_now == 0 => return Ok((stats, true)),
                Ok(stats) if Instant::now() >= deadline => return Ok((stats, false)),
                Err(e) if Instant::now() >= deadline => return Err(e),
                _ => sleep(Duration::from_millis(100)),
            }
        }
    }

    /// [`ServerProcess::wait_idle`] for [`IDLE_WAIT`], then its free heap
    /// memory trimmed, a quiet moment, and its usage: the counters,
    /// whether every connection closed, and the memory and descriptors at
    /// rest.
    pub fn settle(&mut self) -> Result<(Stats, bool, Usage), String> {
        let (stats, idle) = self.wait_idle(IDLE_WAIT)?;
        // Before the quiet moment, which lets the server close the
        // trim's own connection.
        self.trim()?;
        sleep(QUIET);
        Ok((stats, idle, self.usage()?))
    }

    /// `Err` if the server has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("soak-server exited: {status}")),
            Err(e) => Err(format!("soak-server: {e}")),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
