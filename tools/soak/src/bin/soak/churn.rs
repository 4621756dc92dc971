//! A churning client: connects, exchanges a random number of random
//! messages, checks every echo, ends the connection one of four ways, and
//! starts over until told to stop.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fastrand::Rng;
use weir_std::{ClientOptions, CloseCode, Config, Error, MaybeTls, WebSocket};

use crate::traffic::{random_message, Broken, Exchange, Tally};

/// A read that waits longer than this means the server stalled.
const STALL: Duration = Duration::from_secs(20);

/// The most messages sent on one connection.
const MAX_MESSAGES: usize = 40;

/// How a connection ends.
#[derive(Clone, Copy, Debug)]
enum Ending {
    /// Read every echo, then `close_and_wait`.
    CloseDrained,
    /// Close with echoes still on the way, then read them until the
    /// server's Close: none may be missing.
    CloseInFlight,
    /// Drop the TCP connection, echoes possibly on the way.
    Drop,
    /// Write half a frame on the raw socket, then drop it.
    DropMidFrame,
}

impl Ending {
    fn pick(rng: &mut Rng) -> Self {
        match rng.u8(0..20) {
            0..=6 => Self::CloseDrained,
            7..=12 => Self::CloseInFlight,
            13..=16 => Self::Drop,
            _ => Self::DropMidFrame,
        }
    }
}

/// Runs one churning client against `url` until `stop` is set.
pub fn run(url: &str, seed: u64, stop: &AtomicBool, tally: &Tally) {
    let mut rng = Rng::with_seed(seed);
    while !stop.load(Ordering::Relaxed) {
        if let Err(broken) = one_connection(url, &mut rng, stop, tally) {
            match broken {
                Broken::Io(error) => tally.fail(format!("connection failed: {error}")),
                Broken::Mismatch(what) => tally.fail(what),
            }
        }
    }
}

/// Opens a connection, uses it, ends it.
fn one_connection(
    url: &str,
    rng: &mut Rng,
    stop: &AtomicBool,
    tally: &Tally,
) -> Result<(), Broken> {
    let mut options = ClientOptions::default();
    if rng.bool() {
        options = options.with_deflate(None);
    }
    let (mut ws, _) =
        weir_std::connect_with(url, options, Config::default()).map_err(Broken::Io)?;
    ws.get_ref()
        .tcp()
        .set_read_timeout(Some(STALL))
        .map_err(|e| Broken::Io(Error::Io(e)))?;
    let mut exchange = Exchange::default();
    for _ in 0..rng.usize(0..=MAX_MESSAGES) {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let message = random_message(rng);
        exchange.send(&mut ws, rng, message, tally)?;
    }
    let ending = Ending::pick(rng);
    match ending {
        Ending::CloseDrained => {
            exchange.drain(&mut ws, tally)?;
            ws.close_and_wait(CloseCode::NORMAL, "bye")
                .map_err(Broken::Io)?;
            tally.clean.fetch_add(1, Ordering::Relaxed);
        }
        Ending::CloseInFlight => close_in_flight(&mut ws, &mut exchange, tally)?,
        Ending::Drop => {
            drop(ws);
            tally.abrupt.fetch_add(1, Ordering::Relaxed);
        }
        Ending::DropMidFrame => {
            let _ = write_half_frame(ws.get_mut(), rng);
            drop(ws);
            tally.abrupt.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// Closes with echoes owed, and reads them until the server's Close.
fn close_in_flight(
    ws: &mut WebSocket<MaybeTls>,
    exchange: &mut Exchange,
    tally: &Tally,
) -> Result<(), Broken> {
    ws.close(CloseCode::NORMAL, "bye").map_err(Broken::Io)?;
    loop {
        match ws.read() {
            Ok(echo) => exchange.check(echo, tally)?,
            Err(Error::Closed(_)) => break,
            Err(error) => return Err(Broken::Io(error)),
        }
    }
    let owed = exchange.owed() as u64;
    if owed > 0 {
        tally.lost.fetch_add(owed, Ordering::Relaxed);
        return Err(Broken::Mismatch(format!(
            "{owed} echoes missing at a clean close"
        )));
    }
    tally.clean.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Writes the first half of a masked binary frame: its header announces
/// more payload than follows.
fn write_half_frame(stream: &mut impl Write, rng: &mut Rng) -> std::io::Result<()> {
    let length = rng.u16(200..60_000);
    let mut frame = vec![0x82, 0x80 | 126];
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(&rng.u32(..).to_be_bytes()); // the masking key
    frame.resize(frame.len() + usize::from(length / 2), 0x5a);
    stream.write_all(&frame)
}
