//! [`FaultyStream`]: a `Read + Write` wrapper that misbehaves on a seeded,
//! reproducible schedule, for adapters that are generic over their stream
//! (weir-std). It returns short reads and writes, `WouldBlock` between every
//! two pieces, `Interrupted` now and then, and can reset the connection
//! after a chosen byte.
//!
//! An adapter that owns its socket (weir-mio) cannot be handed a fake
//! `WouldBlock` without losing readiness events; it is tested through a
//! real socket by [`proxy`](crate::proxy) instead.

use std::io::{self, Read, Write};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a [`FaultyStream`] does once [`FaultyStream::inject`] is called.
#[derive(Clone, Debug)]
pub struct Faults {
    /// Seeds the schedule: the same seed gives the same faults for the same
    /// calls.
    pub seed: u64,
    /// Each read or write moves between 1 and this many bytes (at least 1).
    pub max_piece: usize,
    /// Every call that would move bytes is first refused with `WouldBlock`
    /// once: the call after a `WouldBlock` always makes progress.
    pub would_block: bool,
    /// One call in this many (0: none) fails with `Interrupted` first.
    pub interrupt_one_in: u32,
    /// After this many bytes have moved (read and written together), the
    /// connection is reset: the next call fails with `ConnectionReset`,
    /// later reads return 0 and later writes fail with `BrokenPipe`.
    pub reset_after: Option<u64>,
}

impl Faults {
    /// Short pieces of up to `max_piece` bytes, `WouldBlock` between every
    /// two pieces and `Interrupted` one call in four; no reset.
    pub fn chaos(seed: u64, max_piece: usize) -> Self {
        Self {
            seed,
            max_piece,
            would_block: true,
            interrupt_one_in: 4,
            reset_after: None,
        }
    }
}

/// How many faults a [`FaultyStream`] has injected so far, so a test can
/// check that its schedule really ran.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Injected {
    /// Calls refused with `WouldBlock`.
    pub would_block: u64,
    /// Calls failed with `Interrupted`.
    pub interrupted: u64,
    /// Reads or writes cut shorter than asked.
    pub short: u64,
    /// Whether the reset happened.
    pub reset: bool,
}

/// A stream that passes everything through to `S` until
/// [`FaultyStream::inject`], then misbehaves as its [`Faults`] say.
#[derive(Debug)]
pub struct FaultyStream<S> {
    inner: S,
    schedule: Option<Schedule>,
    injected: Injected,
}

/// The running schedule.
#[derive(Debug)]
struct Schedule {
    faults: Faults,
    rng: ChaCha8Rng,
    /// The last call was refused with `WouldBlock`: this one goes through.
    just_blocked: bool,
    /// Bytes moved since injection, both ways.
    moved: u64,
    /// The reset was reported once; what follows is the dead socket.
    reset_reported: bool,
}

/// What the schedule decided for one call.
enum Step {
    /// Fail the call with this error.
    Fail(io::Error),
    /// Move at most this many bytes.
    Move(usize),
}

impl<S> FaultyStream<S> {
    /// Wraps `inner`; no fault until [`FaultyStream::inject`].
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            schedule: None,
            injected: Injected::default(),
        }
    }

    /// Starts misbehaving (typically after the opening handshake, which
    /// needs a blocking stream).
    pub fn inject(&mut self, faults: Faults) {
        self.schedule = Some(Schedule {
            rng: ChaCha8Rng::seed_from_u64(faults.seed),
            faults,
            just_blocked: false,
            moved: 0,
            reset_reported: false,
        });
    }

    /// The faults injected so far.
    pub fn injected(&self) -> Injected {
        self.injected
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Decides the fate of a call that asks to move `wanted` bytes.
    fn step(&mut self, wanted: usize, reading: bool) -> Step {
        let Some(schedule) = &mut self.schedule else {
            return Step::Move(wanted);
        };
        if wanted == 0 {
            return Step::Move(0);
        }
        let left = schedule
            .faults
            .reset_after
            .map(|k| k.saturating_sub(schedule.moved));
        if left == Some(0) {
            self.injected.reset = true;
            if !schedule.reset_reported {
                schedule.reset_reported = true;
                return Step::Fail(io::ErrorKind::ConnectionReset.into());
            }
            return match reading {
                true => Step::Move(0),
                false => Step::Fail(io::ErrorKind::BrokenPipe.into()),
            };
        }
        let one_in = schedule.faults.interrupt_one_in;
        if one_in > 0 && schedule.rng.next_u32() % one_in == 0 {
            self.injected.interrupted += 1;
            return Step::Fail(io::ErrorKind::Interrupted.into());
        }
        if schedule.faults.would_block && !schedule.just_blocked {
            schedule.just_blocked = true;
            self.injected.would_block += 1;
            return Step::Fail(io::ErrorKind::WouldBlock.into());
        }
        schedule.just_blocked = false;
        let max = schedule.faults.max_piece.max(1);
        let piece = 1 + (schedule.rng.next_u64() % max as u64) as usize;
        let limit = left.map_or(usize::MAX, |left| left.min(usize::MAX as u64) as usize);
        let allowed = piece.min(limit);
        if allowed < wanted {
            self.injected.short += 1;
        }
        Step::Move(allowed.min(wanted))
    }

    /// Counts `n` bytes moved by the inner stream.
    fn moved(&mut self, n: usize) {
        if let Some(schedule) = &mut self.schedule {
            schedule.moved += n as u64;
        }
    }
}

impl<S: Read> Read for FaultyStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.step(buf.len(), true) {
            Step::Fail(error) => Err(error),
            Step::Move(0) => Ok(0),
            Step::Move(n) => {
                let read = self.inner.read(&mut buf[..n])?;
                self.moved(read);
                Ok(read)
            }
        }
    }
}

impl<S: Write> Write for FaultyStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.step(buf.len(), false) {
            Step::Fail(error) => Err(error),
            Step::Move(n) => {
                let written = self.inner.write(&buf[..n])?;
                self.moved(written);
                Ok(written)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
