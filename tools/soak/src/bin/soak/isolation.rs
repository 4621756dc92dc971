//! The isolation phase: one flooding peer must not hold another client's
//! echo on the same worker. A server with one worker, so that both share
//! its event loop; the probe runs alone first (the baseline), then beside
//! a peer writing 1 MiB messages to a route that answers nothing, as fast
//! as the server reads them (so its socket always has input waiting), and
//! the probe's p99 beside it must stay under a stated bound
//! (`--flood-p99-bound-ms`).
//!
//! Before weir-mio read with a budget per connection per turn
//! (`Config::read_budget`), a peer flooding 1 MiB frames raised another
//! client's p99 from about 1 ms to about 670 ms.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use crate::args::Args;
use crate::flood::{self, Flood};
use crate::probe::{self, Probe};
use crate::report::{self, ms};
use crate::server::ServerProcess;

/// How long the probe runs alone, and then beside the flood.
const ALONE: Duration = Duration::from_secs(5);
const BESIDE_FLOOD: Duration = Duration::from_secs(10);

/// Runs the isolation phase; `Ok(true)` if it passed.
pub fn run(args: &Args) -> Result<bool, String> {
    let server = ServerProcess::start(&args.server, &args.addr, 1, None)?;
    let url = server.echo_url();
    println!(
        "== isolation: server pid {} with 1 worker; the probe alone for {} s, then beside a 1 MiB flood for {} s",
        server.pid(),
        ALONE.as_secs(),
        BESIDE_FLOOD.as_secs()
    );
    let alone = probe_for(&url, ALONE, None);
    let flood = Flood::default();
    let beside = probe_for(
        &url,
        BESIDE_FLOOD,
        Some((&server.sink_url(), args.seed, &flood)),
    );
    let describe = |probe: &Probe| {
        format!(
            "{} round trips, p50 {}, p99 {}, max {}, {} errors",
            probe.round_trips.len(),
            ms(probe.quantile(0.5)),
            ms(probe.quantile(0.99)),
            ms(probe.quantile(1.0)),
            probe.errors.len()
        )
    };
    println!("probe alone:        {}", describe(&alone));
    println!("probe beside flood: {}", describe(&beside));
    println!(
        "flood: {} MiB written to the sink, {} reconnects",
        flood.sent.load(Ordering::Relaxed),
        flood.reconnects.load(Ordering::Relaxed)
    );
    let p99 = beside.quantile(0.99);
    let mut failures = Vec::new();
    if p99 >= args.flood_p99_bound {
        failures.push(format!(
            "probe p99 beside the flood {} not under {}",
            ms(p99),
            ms(args.flood_p99_bound)
        ));
    }
    if beside.round_trips.is_empty() || !beside.errors.is_empty() {
        failures.push("the probe failed beside the flood".into());
    }
    if flood.sent.load(Ordering::Relaxed) == 0 {
        failures.push("the flood sent nothing".into());
    }
    Ok(report::verdict("isolation", &failures))
}

/// The probe against `url` for `duration`, beside a flood into the sink
/// (its URL, seed and counters) if given.
fn probe_for(url: &str, duration: Duration, flood: Option<(&str, u64, &Flood)>) -> Probe {
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        if let Some((sink, seed, flood)) = flood {
            let stop = &stop;
            scope.spawn(move || flood::into_sink(sink, seed, stop, flood));
        }
        let probe = scope.spawn(|| probe::run(url, &stop));
        thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
        probe::join(probe)
    })
}
