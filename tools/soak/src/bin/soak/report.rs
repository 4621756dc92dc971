//! Judging and printing a soak: [`SoakReport`] holds what was measured,
//! [`SoakReport::failures`] says what broke a promise, [`verdict`] prints
//! PASS or FAIL.

use std::sync::atomic::Ordering;
use std::time::Duration;

use weir_soak::Stats;

use crate::flood::FLOOD_MESSAGE;
use crate::server::Usage;
use crate::soak::Traffic;

/// How far END may be from START, in percent: above START for memory (less
/// memory at the end is no leak), either way for descriptors.
const TOLERANCE_PERCENT: u64 = 10;

/// Everything a soak measured.
pub struct SoakReport<'a> {
    /// The measured round of traffic.
    pub traffic: &'a Traffic,
    /// The server after the warm-up, every client gone.
    pub start: Usage,
    /// The server after the measured round, every client gone.
    pub end: Usage,
    /// The server's counters at the end (warm-up included).
    pub stats: Stats,
    /// Whether the server saw every connection closed in time.
    pub idle: bool,
    /// The bound the probe's p99 must stay under.
    pub p99_bound: Duration,
}

/// `end` is within [`TOLERANCE_PERCENT`] of `start`.
fn within_tolerance(start: u64, end: u64) -> bool {
    start.abs_diff(end) * 100 <= start * TOLERANCE_PERCENT
}

/// `end` is at most [`TOLERANCE_PERCENT`] above `start`.
fn not_above_tolerance(start: u64, end: u64) -> bool {
    end <= start || within_tolerance(start, end)
}

/// Milliseconds with two decimals.
/// `duration` in milliseconds, for people.
pub fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1e3)
}

impl SoakReport<'_> {
    /// Prints the summary.
    pub fn print(&self) {
        let Traffic {
            tally,
            flood,
            probe,
            elapsed,
        } = self.traffic;
        let count = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        let clean = count(&tally.clean);
        let abrupt = count(&tally.abrupt);
        println!("-- soak summary");
        println!("duration:        {:.1} s", elapsed.as_secs_f64());
        println!(
            "connections:     {} ({clean} closed cleanly, {abrupt} dropped on purpose, {} failed)",
            clean + abrupt,
            count(&tally.failures)
        );
        println!(
            "messages:        {} echoed and checked, {} MiB; {} mismatched, {} lost at a clean close",
            count(&tally.messages),
            count(&tally.bytes) >> 20,
            count(&tally.mismatched),
            count(&tally.lost)
        );
        println!(
            "flood:           {} x {} KiB sent, {} echoes read, {} reconnects",
            count(&flood.sent),
            FLOOD_MESSAGE >> 10,
            count(&flood.echoed),
            count(&flood.reconnects)
        );
        println!(
            "latency probe:   {} round trips of 20 B; p50 {}, p99 {}, max {} (bound on p99: {}); {} errors",
            probe.round_trips.len(),
            ms(probe.quantile(0.5)),
            ms(probe.quantile(0.99)),
            ms(probe.quantile(1.0)),
            ms(self.p99_bound),
            probe.errors.len()
        );
        println!(
            "server RSS:      START {} KiB, END {} KiB (START is after the warm-up; END may exceed it by {TOLERANCE_PERCENT}%)",
            self.start.rss_kib, self.end.rss_kib
        );
        println!(
            "server fds:      START {}, END {} (END must be within {TOLERANCE_PERCENT}% of START)",
            self.start.fds, self.end.fds
        );
        let s = &self.stats;
        println!(
            "server callbacks (warm-up included): {} on_open, {} on_close, {} open now, {} double closes, {} closes without open; {} messages, {} MiB, {} on_error, {} echoes refused",
            s.opens, s.closes, s.open_now, s.double_closes, s.unpaired_closes,
            s.messages, s.bytes >> 20, s.errors, s.refused_echoes
        );
        for failure in tally.first_failures() {
            println!("client failure:  {failure}");
        }
        for error in probe.errors.iter().take(8) {
            println!("probe error:     {error}");
        }
    }

    /// The promises broken, in words; empty if the soak passed.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        let mut check = |ok: bool, what: String| {
            if !ok {
                failures.push(what);
            }
        };
        let Traffic { tally, probe, .. } = self.traffic;
        let s = &self.stats;
        check(
            self.idle,
            format!("{} connections still open at the end", s.open_now),
        );
        check(
            not_above_tolerance(self.start.rss_kib, self.end.rss_kib),
            format!("RSS grew more than {TOLERANCE_PERCENT}% over START"),
        );
        check(
            within_tolerance(self.start.fds, self.end.fds),
            format!("fds moved more than {TOLERANCE_PERCENT}% from START"),
        );
        check(
            s.opens == s.closes && s.open_now == 0,
            "on_open and on_close are not paired".into(),
        );
        check(s.double_closes == 0, "on_close called twice".into());
        check(s.unpaired_closes == 0, "on_close without on_open".into());
        for (counter, what) in [
            (
                &tally.mismatched,
                "echoes mismatched (lost, reordered or corrupted)",
            ),
            (&tally.lost, "echoes lost at a clean close"),
            (&tally.failures, "client connections failed"),
        ] {
            let n = counter.load(Ordering::Relaxed);
            check(n == 0, format!("{n} {what}"));
        }
        check(
            !probe.round_trips.is_empty(),
            "the probe measured nothing".into(),
        );
        check(probe.errors.is_empty(), "the probe hit errors".into());
        check(
            probe.quantile(0.99) < self.p99_bound,
            format!("probe p99 not under {}", ms(self.p99_bound)),
        );
        failures
    }
}

/// Prints `phase`'s result and each failure; true if there were none.
pub fn verdict(phase: &str, failures: &[String]) -> bool {
    for failure in failures {
        println!("FAIL ({phase}): {failure}");
    }
    let passed = failures.is_empty();
    println!("result ({phase}): {}", if passed { "PASS" } else { "FAIL" });
    passed
}
