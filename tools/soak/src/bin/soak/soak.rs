//! The soak phase: warm up, record START, run churning clients, the flood
//! and the probe for the duration, let everyone leave, record END, and
//! judge.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::args::Args;
use crate::churn;
use crate::flood::{self, Flood};
use crate::probe::{self, Probe};
use crate::report::{self, SoakReport};
use crate::server::{ServerProcess, IDLE_WAIT};
use crate::traffic::Tally;

/// What one round of traffic did.
pub struct Traffic {
    /// The churning clients' counters.
    pub tally: Tally,
    /// The flood's counters.
    pub flood: Flood,
    /// The probe's measurements.
    pub probe: Probe,
    /// How long the round ran.
    pub elapsed: Duration,
}

/// Runs `clients` churning clients, the flood and the probe against `url`
/// for `duration`, then stops them all and waits for them.
pub fn run_traffic(url: &str, clients: usize, seed: u64, duration: Duration) -> Traffic {
    let stop = AtomicBool::new(false);
    let tally = Tally::default();
    let flood = Flood::default();
    let start = Instant::now();
    let probe = thread::scope(|scope| {
        for index in 0..clients as u64 {
            let seed = seed ^ (index + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let (stop, tally) = (&stop, &tally);
            scope.spawn(move || churn::run(url, seed, stop, tally));
        }
        scope.spawn(|| flood::run(url, seed, &stop, &flood));
        let probe = scope.spawn(|| probe::run(url, &stop));
        thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
        probe::join(probe)
    });
    Traffic {
        tally,
        flood,
        probe,
        elapsed: start.elapsed(),
    }
}

/// Runs the soak phase; `Ok(true)` if it passed.
pub fn run(args: &Args) -> Result<bool, String> {
    let mut server = ServerProcess::start(&args.server, &args.addr, args.workers, None)?;
    let url = server.echo_url();
    println!(
        "== soak: server pid {} on {}, {} workers; {} churning clients, 1 flood, 1 probe; seed {}",
        server.pid(),
        server.addr(),
        args.workers,
        args.clients,
        args.seed
    );
    println!("warm-up: {} s of the same traffic", args.warmup.as_secs());
    run_traffic(&url, args.clients, args.seed, args.warmup);
    let (_, warm_idle, start) = server.settle()?;
    if !warm_idle {
        return Err(format!(
            "connections still open {} s after the warm-up",
            IDLE_WAIT.as_secs()
        ));
    }
    println!(
        "START (after the warm-up, every client gone): RSS {} KiB, {} fds",
        start.rss_kib, start.fds
    );
    println!("running for {} s", args.duration.as_secs());
    let traffic = run_traffic(&url, args.clients, args.seed.wrapping_add(1), args.duration);
    let (stats, idle, end) = server.settle()?;
    let report = SoakReport {
        traffic: &traffic,
        start,
        end,
        stats,
        idle,
        p99_bound: args.p99_bound,
    };
    report.print();
    Ok(report::verdict("soak", &report.failures()))
}
