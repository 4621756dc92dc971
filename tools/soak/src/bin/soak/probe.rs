//! The latency probe: one 20-byte message in flight at a time, every round
//! trip timed, for the whole soak.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::ScopedJoinHandle;
use std::time::{Duration, Instant};

use weir_std::{ClientOptions, CloseCode, Config, MaybeTls, Message, WebSocket};

/// The probe's message: 20 bytes.
const PING: &str = "latency-probe-000020";

/// The pause between two round trips, so that the probe measures rather
/// than adds load.
const PAUSE: Duration = Duration::from_millis(10);

/// A round trip slower than this counts as a failure.
const GIVE_UP: Duration = Duration::from_secs(10);

/// The round trips measured, and what went wrong.
#[derive(Default)]
pub struct Probe {
    /// Each round trip, in microseconds.
    pub round_trips: Vec<u64>,
    /// Errors (connect, I/O, a wrong echo), each followed by a reconnect.
    pub errors: Vec<String>,
}

impl Probe {
    /// The `q` quantile (0..=1) of the round trips, by nearest rank.
    pub fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.round_trips.clone();
        sorted.sort_unstable();
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
        Duration::from_micros(sorted.get(rank - 1).copied().unwrap_or(0))
    }
}

/// The probe that `thread` ran, or an empty one holding the failure if the
/// thread panicked.
pub fn join(thread: ScopedJoinHandle<'_, Probe>) -> Probe {
    thread.join().unwrap_or_else(|_| Probe {
        errors: vec!["the probe thread panicked".into()],
        ..Probe::default()
    })
}

/// Probes `url` until `stop` is set.
pub fn run(url: &str, stop: &AtomicBool) -> Probe {
    let mut probe = Probe::default();
    while !stop.load(Ordering::Relaxed) {
        let options = ClientOptions::default().with_deflate(None);
        let mut ws = match weir_std::connect_with(url, options, Config::default()) {
            Ok((ws, _)) => ws,
            Err(error) => {
                probe.errors.push(format!("connect: {error}"));
                std::thread::sleep(PAUSE);
                continue;
            }
        };
        if let Err(error) = ws.get_ref().tcp().set_read_timeout(Some(GIVE_UP)) {
            probe.errors.push(format!("read timeout: {error}"));
            continue;
        }
        if round_trips(&mut ws, stop, &mut probe) {
            if let Err(error) = ws.close_and_wait(CloseCode::NORMAL, "done") {
                probe.errors.push(format!("close: {error}"));
            }
        }
    }
    probe
}

/// Times round trips on `ws` until `stop` is set (true) or one fails (false).
fn round_trips(ws: &mut WebSocket<MaybeTls>, stop: &AtomicBool, probe: &mut Probe) -> bool {
    while !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        match ws.send(PING).and_then(|()| ws.read()) {
            Ok(Message::Text(text)) if text.as_str() == PING => {
                probe.round_trips.push(start.elapsed().as_micros() as u64);
            }
            Ok(other) => {
                probe.errors.push(format!(
                    "wrong echo: {:?} of {} bytes",
                    other.kind(),
                    other.len()
                ));
                return false;
            }
            Err(error) => {
                probe.errors.push(format!("round trip: {error}"));
                return false;
            }
        }
        std::thread::sleep(PAUSE);
    }
    true
}
