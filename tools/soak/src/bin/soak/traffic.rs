//! What the churning clients send and how echoes are checked: random
//! messages, sent whole or in fragments, and [`Exchange`], the queue of
//! echoes still owed on one connection, which catches any loss, reordering
//! or corruption. [`Tally`] adds up what all clients saw.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use bytes::Bytes;
use fastrand::Rng;
use weir_std::{MaybeTls, Message, MessageKind, WebSocket};

/// The largest message a churning client sends.
pub const MAX_MESSAGE: usize = 256 << 10;

/// Payload bytes a client has sent and not yet seen echoed before it waits
/// for echoes: well under the server's send queue, so that a client busy
/// sending is never taken for a slow consumer.
const WINDOW: usize = 512 << 10;

/// How many failure descriptions are kept for the report.
const KEPT_FAILURES: usize = 8;

/// Characters text messages are made of: ASCII and some of two, three and
/// four bytes, so that fragments split characters.
const ALPHABET: &[char] = &['a', 'b', 'z', '0', ' ', '\n', 'é', 'ß', '€', '語', '😀'];

/// Counters shared by all churning clients of one phase.
#[derive(Default)]
pub struct Tally {
    /// Connections closed by a completed closing handshake.
    pub clean: AtomicU64,
    /// Connections dropped on purpose without one (some mid-frame).
    pub abrupt: AtomicU64,
    /// Echoes received and found identical, in order.
    pub messages: AtomicU64,
    /// Their payload bytes.
    pub bytes: AtomicU64,
    /// Echoes that differed from the next one owed (lost, reordered or
    /// corrupted messages).
    pub mismatched: AtomicU64,
    /// Echoes still owed when a clean close completed.
    pub lost: AtomicU64,
    /// Connections that failed without being told to (connect, I/O,
    /// protocol errors, unexpected closes).
    pub failures: AtomicU64,
    first_failures: Mutex<Vec<String>>,
}

impl Tally {
    /// Counts a failure and keeps its description if it is among the first.
    pub fn fail(&self, what: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut kept = self
            .first_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if kept.len() < KEPT_FAILURES {
            kept.push(what);
        }
    }

    /// The first failures' descriptions.
    pub fn first_failures(&self) -> Vec<String> {
        self.first_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A size for a message: mostly small, some up to [`MAX_MESSAGE`].
fn random_size(rng: &mut Rng) -> usize {
    match rng.u8(0..100) {
        0..=4 => 0,
        5..=54 => rng.usize(1..1024),
        55..=84 => rng.usize(1024..32 << 10),
        _ => rng.usize(32 << 10..=MAX_MESSAGE),
    }
}

/// A random text or binary message of about `random_size` bytes.
pub fn random_message(rng: &mut Rng) -> Message {
    let size = random_size(rng);
    if rng.bool() {
        let mut text = String::with_capacity(size + 4);
        while text.len() < size {
            text.push(ALPHABET[rng.usize(..ALPHABET.len())]);
        }
        Message::from(text)
    } else {
        let mut data = vec![0; size];
        rng.fill(&mut data);
        Message::from(data)
    }
}

/// The echoes one connection still owes, in the order they were sent.
#[derive(Default)]
pub struct Exchange {
    owed: VecDeque<Message>,
    owed_bytes: usize,
}

/// Why an exchange stopped.
pub enum Broken {
    /// The connection failed (I/O, protocol, an unexpected close).
    Io(weir_std::Error),
    /// An echo was not the message owed next.
    Mismatch(String),
}

impl Exchange {
    /// Echoes still owed.
    pub fn owed(&self) -> usize {
        self.owed.len()
    }

    /// Sends `message`, whole or (one time in four) in up to four fragments,
    /// after reading echoes until it fits in the window.
    pub fn send(
        &mut self,
        ws: &mut WebSocket<MaybeTls>,
        rng: &mut Rng,
        message: Message,
        tally: &Tally,
    ) -> Result<(), Broken> {
        while !self.owed.is_empty() && self.owed_bytes + message.len() > WINDOW {
            let echo = ws.read().map_err(Broken::Io)?;
            self.check(echo, tally)?;
        }
        self.owed_bytes += message.len();
        self.owed.push_back(message.clone());
        if rng.u8(0..4) > 0 {
            return ws.send(message).map_err(Broken::Io);
        }
        let kind = message.kind();
        let payload = message.payload().clone();
        let pieces = rng.usize(1..=4);
        let mut cuts: Vec<usize> = (1..pieces).map(|_| rng.usize(..=payload.len())).collect();
        cuts.sort_unstable();
        let mut start = 0;
        for end in cuts {
            send_piece(ws, kind, payload.slice(start..end), false)?;
            start = end;
        }
        send_piece(ws, kind, payload.slice(start..), true)
    }

    /// Reads every echo still owed.
    pub fn drain(&mut self, ws: &mut WebSocket<MaybeTls>, tally: &Tally) -> Result<(), Broken> {
        while !self.owed.is_empty() {
            let echo = ws.read().map_err(Broken::Io)?;
            self.check(echo, tally)?;
        }
        Ok(())
    }

    /// Compares `echo` with the message owed next.
    pub fn check(&mut self, echo: Message, tally: &Tally) -> Result<(), Broken> {
        let Some(owed) = self.owed.pop_front() else {
            tally.mismatched.fetch_add(1, Ordering::Relaxed);
            return Err(Broken::Mismatch(format!(
                "an echo of {} bytes when none was owed",
                echo.len()
            )));
        };
        self.owed_bytes -= owed.len();
        if echo != owed {
            tally.mismatched.fetch_add(1, Ordering::Relaxed);
            return Err(Broken::Mismatch(format!(
                "echo differs from the message owed: {:?} of {} bytes, expected {:?} of {}",
                echo.kind(),
                echo.len(),
                owed.kind(),
                owed.len()
            )));
        }
        tally.messages.fetch_add(1, Ordering::Relaxed);
        tally.bytes.fetch_add(echo.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Sends one fragment of a message.
fn send_piece(
    ws: &mut WebSocket<MaybeTls>,
    kind: MessageKind,
    piece: Bytes,
    is_last: bool,
) -> Result<(), Broken> {
    ws.send_fragment(kind, piece, is_last).map_err(Broken::Io)
}
