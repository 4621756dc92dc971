//! CPU time of a process, as the load generators measure a server's (and
//! their own): utime and stime of `/proc/PID/stat`, every thread counted,
//! in clock ticks (USER_HZ, usually 100 a second).

/// utime and stime of process `pid` (all its threads; `"self"` for the
/// calling process), in clock ticks; `None` if it cannot be read.
pub fn cpu_ticks(pid: &str) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime, stime))
}

/// Clock ticks per second of /proc/PID/stat (USER_HZ), from `getconf`.
pub fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU seconds, user and system.
#[derive(Clone, Copy, Debug)]
pub struct Cpu {
    pub user: f64,
    pub system: f64,
}

impl Cpu {
    /// The CPU time between two readings of [`cpu_ticks`], if both were
    /// made.
    pub fn between(before: Option<(u64, u64)>, after: Option<(u64, u64)>, hz: f64) -> Option<Self> {
        let (b, a) = (before?, after?);
        Some(Self {
            user: a.0.saturating_sub(b.0) as f64 / hz,
            system: a.1.saturating_sub(b.1) as f64 / hz,
        })
    }

    /// User plus system.
    pub fn total(self) -> f64 {
        self.user + self.system
    }
}

/// A stopwatch of one process's CPU time: read at [`CpuClock::start`],
/// then again at [`CpuClock::stop`].
pub struct CpuClock {
    pid: String,
    hz: f64,
    before: Option<(u64, u64)>,
}

impl CpuClock {
    /// Starts measuring process `pid` (`"self"` for this one).
    pub fn start(pid: impl Into<String>, hz: f64) -> Self {
        let pid = pid.into();
        let before = cpu_ticks(&pid);
        Self { pid, hz, before }
    }

    /// The CPU time the process used since [`CpuClock::start`]; `None` if
    /// either reading failed.
    pub fn stop(&self) -> Option<Cpu> {
        Cpu::between(self.before, cpu_ticks(&self.pid), self.hz)
    }
}

/// CPU time the whole machine has spent busy (user, nice, system, irq,
/// softirq, steal of the `cpu` line of /proc/stat), all CPUs, in clock
/// ticks.
pub fn machine_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal ...
    Some(
        [0, 1, 2, 5, 6, 7]
            .iter()
            .filter_map(|&i| fields.get(i))
            .sum(),
    )
}
