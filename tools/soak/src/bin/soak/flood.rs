//! The flooding client: sends 1 MiB binary messages as fast as the server
//! takes them and reads the echoes only when they are already there. It
//! stands for the peer that must not slow the others down.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use fastrand::Rng;
use weir_std::{ClientOptions, Config, Message};

/// The size of each flood message.
pub const FLOOD_MESSAGE: usize = 1 << 20;

/// What the flood did.
#[derive(Default)]
pub struct Flood {
    /// Messages sent.
    pub sent: AtomicU64,
    /// Echoes read.
    pub echoed: AtomicU64,
    /// Connections it had to open again (the server dropped it, e.g. as a
    /// slow consumer, or an error).
    pub reconnects: AtomicU64,
}

/// Floods `url` until `stop` is set.
pub fn run(url: &str, seed: u64, stop: &AtomicBool, flood: &Flood) {
    let mut payload = vec![0; FLOOD_MESSAGE];
    Rng::with_seed(seed).fill(&mut payload);
    let payload = Bytes::from(payload);
    let mut first = true;
    while !stop.load(Ordering::Relaxed) {
        if !first {
            flood.reconnects.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(50));
        }
        first = false;
        // Uncompressed: the flood is about bytes, not about deflate's time.
        let options = ClientOptions::default().with_deflate(None);
        let Ok((mut ws, _)) = weir_std::connect_with(url, options, Config::default()) else {
            continue;
        };
        // A read that finds nothing returns at once, almost.
        if ws
            .get_ref()
            .tcp()
            .set_read_timeout(Some(Duration::from_millis(1)))
            .is_err()
        {
            continue;
        }
        while !stop.load(Ordering::Relaxed) {
            if ws.send(Message::from(payload.clone())).is_err() {
                break;
            }
            flood.sent.fetch_add(1, Ordering::Relaxed);
            let failed = loop {
                match ws.read() {
                    Ok(_) => flood.echoed.fetch_add(1, Ordering::Relaxed),
                    Err(error) => break !error.is_timeout(),
                };
            };
            if failed {
                break;
            }
        }
    }
}

/// Writes 1 MiB binary messages to `url` (a route that answers nothing) as
/// fast as the server reads them, until `stop` is set: the peer that keeps
/// its socket full. Counts them in `flood.sent`.
pub fn into_sink(url: &str, seed: u64, stop: &AtomicBool, flood: &Flood) {
    let mut payload = vec![0; FLOOD_MESSAGE];
    Rng::with_seed(seed).fill(&mut payload);
    let payload = Bytes::from(payload);
    while !stop.load(Ordering::Relaxed) {
        let options = ClientOptions::default().with_deflate(None);
        let Ok((mut ws, _)) = weir_std::connect_with(url, options, Config::default()) else {
            flood.reconnects.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        while !stop.load(Ordering::Relaxed) && ws.send(Message::from(payload.clone())).is_ok() {
            flood.sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}
