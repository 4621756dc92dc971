//! Time for the blocking adapter: the core's deadlines (keepalive, closing
//! handshake) woven into blocking reads, beside the user's own read timeout.
//!
//! The core decides what a deadline means ([`Connection::handle_timeout`],
//! [`Connection::poll_timeout`]); this module only tells it the time and
//! makes sure no read blocks past the next deadline. Every read goes through
//! [`WebSocket::read_input`]: tell the core the time, write what it queued
//! (a keepalive ping), bound the read, read, and feed what came in.
//!
//! The time told to the core is the moment the latest read returned, not
//! the moment of the next read: while the caller is away between reads,
//! bytes may wait unread in the socket, and the core must not conclude that
//! the peer went quiet. So after a pause the next read first runs with a
//! tiny bound, which drains what is waiting before any deadline is judged.
//!
//! A read is bounded through the stream's read timeout, set with a
//! [`ReadTimeoutFn`] (built in for `TcpStream`, Unix sockets and the TLS
//! streams of this crate, on their socket).
//! [`ReadTimer`] remembers the value it set, so the common path (bytes
//! arriving, a deadline that moves with them) costs no system call; it is
//! changed only when it would overshoot the deadline or wake far too early.
//! The user's own read timeout is learned from what the first change
//! replaced, still bounds every wait for bytes, and is put back when the
//! connection ends or the stream is handed out ([`WebSocket::get_mut`]),
//! to be learned again at the next change.
//!
//! [`Connection::handle_timeout`]: weir_proto::Connection::handle_timeout
//! [`Connection::poll_timeout`]: weir_proto::Connection::poll_timeout

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use weir_proto::TimedOut;

use super::transport::ReadTimeoutFn;
use super::{is_reset, WebSocket};
use crate::error::{is_timeout, Error};

/// The shortest bound set on a read: a zero read timeout is refused by the
/// OS, and a deadline already due is better checked after a short read
/// that drains what is waiting in the socket.
const MIN_BOUND: Duration = Duration::from_millis(1);

/// The stream's read timeout, as far as the WebSocket manages it.
#[derive(Debug)]
pub(super) struct ReadTimer<S> {
    /// How to change the stream's read timeout; without it reads are only
    /// bounded by the user's own timeout.
    set_fn: Option<ReadTimeoutFn<S>>,
    /// The user's read timeout (`None`: none), as last seen on the stream.
    user: Option<Duration>,
    /// The value this timer set on the stream; `None` while the stream has
    /// the user's own.
    armed: Option<Option<Duration>>,
}

impl<S> ReadTimer<S> {
    pub(super) fn new(set_fn: Option<ReadTimeoutFn<S>>) -> Self {
        Self {
            set_fn,
            user: None,
            armed: None,
        }
    }

    /// Bounds the next read so that it returns by `deadline`, and by the end
    /// of the user's read timeout counted from `user_since` (`None`: the
    /// user's timeout is not in force).
    fn arm(
        &mut self,
        stream: &mut S,
        now: Instant,
        deadline: Option<Instant>,
        user_since: Option<Instant>,
    ) -> io::Result<()> {
        let Some(set) = self.set_fn else {
            return Ok(());
        };
        if deadline.is_none() && self.armed.is_none() {
            // Nothing of ours to bound, and the stream has the user's own.
            return Ok(());
        }
        let bound = self.bound(now, deadline, user_since);
        if self.armed.is_some_and(|armed| close_enough(armed, bound)) {
            return Ok(());
        }
        let replaced = set(stream, bound)?;
        let mut armed = bound;
        if self.armed.is_none() {
            // The stream had the user's timeout, perhaps a new one. (Only
            // then: the OS rounds what it is given, so a value read back
            // is not a reliable sign of who set it.)
            self.user = replaced;
            let again = self.bound(now, deadline, user_since);
            if again != bound {
                set(stream, again)?;
                armed = again;
            }
        }
        self.armed = Some(armed);
        Ok(())
    }

    /// The read timeout that ends a read at the earlier of the two bounds
    /// (`None`: block until bytes come).
    fn bound(
        &self,
        now: Instant,
        deadline: Option<Instant>,
        user_since: Option<Instant>,
    ) -> Option<Duration> {
        let user_end = user_since
            .zip(self.user)
            .and_then(|(t, u)| t.checked_add(u));
        let end = match (deadline, user_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        end.map(|end| end.saturating_duration_since(now).max(MIN_BOUND))
    }

    /// Whether a read that timed out ended the user's own wait, begun at
    /// `since`: always, if the stream had the user's timeout.
    fn user_timed_out(&self, since: Instant, now: Instant) -> bool {
        if self.armed.is_none() {
            return true;
        }
        self.user
            .and_then(|u| since.checked_add(u))
            .is_some_and(|end| now >= end)
    }

    /// Puts the user's read timeout back on the stream (best effort: a
    /// failure leaves the bound in place, which is still a valid timeout).
    pub(super) fn restore(&mut self, stream: &mut S) {
        if let (Some(set), Some(armed)) = (self.set_fn, self.armed) {
            if armed == self.user || set(stream, self.user).is_ok() {
                self.armed = None;
            }
        }
    }

    /// Replaces the function that changes the read timeout, first putting
    /// the user's back with the old one.
    pub(super) fn replace_fn(&mut self, stream: &mut S, set_fn: Option<ReadTimeoutFn<S>>) {
        self.restore(stream);
        self.armed = None;
        self.set_fn = set_fn;
    }
}

/// Whether the read timeout already set can stay for a read that wants
/// `bound`: it ends the read no later, and not so early that reads spin.
fn close_enough(armed: Option<Duration>, bound: Option<Duration>) -> bool {
    match (armed, bound) {
        (None, None) => true,
        (Some(armed), Some(bound)) => armed <= bound && armed >= bound / 2,
        _ => false,
    }
}

/// One wait for bytes: a call to [`WebSocket::read_event`] or one step of
/// the closing handshake.
pub(super) struct Wait {
    /// Whether the user's read timeout ends the wait; the closing
    /// handshake is bounded by the core's close timeout instead.
    user_timeout: bool,
    /// When the wait for the next bytes began.
    since: Option<Instant>,
    /// The latest read timed out with this error.
    timed_out: Option<io::Error>,
}

impl Wait {
    /// A wait that the user's read timeout ends, with [`Error::Io`].
    pub(super) fn reading() -> Self {
        Self {
            user_timeout: true,
            since: None,
            timed_out: None,
        }
    }

    /// A wait that only the core's deadlines end.
    pub(super) fn closing() -> Self {
        Self {
            user_timeout: false,
            ..Self::reading()
        }
    }
}

/// What one read brought.
pub(super) enum Input {
    /// Bytes, fed to the core.
    Bytes,
    /// Nothing yet: a timeout before any deadline, or an interrupted read.
    Nothing,
    /// The end of the stream; not yet told to the core.
    Eof,
}

impl<S: Read + Write> WebSocket<S> {
    /// Sets the function through which the WebSocket bounds its reads by the
    /// core's deadlines (keepalive, close timeout; see
    /// [`WebSocket::read`]); `None` leaves the stream's read timeout alone,
    /// so deadlines are only checked when a read returns.
    ///
    /// The streams this crate knows (see [`WebSocket`]) have one already,
    /// except through [`WebSocket::from_connection`]; over TLS it sets the
    /// socket's timeout. For another TLS stream, do the same, e.g.
    /// `ws.set_read_timeout_fn(Some(|s, t| { let old = s.socket().read_timeout()?; s.socket().set_read_timeout(t)?; Ok(old) }))`.
    pub fn set_read_timeout_fn(&mut self, read_timeout_fn: Option<ReadTimeoutFn<S>>) {
        self.timer.replace_fn(&mut self.stream, read_timeout_fn);
    }

    /// Tells the core the time (as of the latest read), writes what it
    /// queued, then reads once, bounded by the core's next deadline and,
    /// for [`Wait::reading`], by the user's read timeout.
    ///
    /// Fails with the user's timeout once it has passed without bytes,
    /// with [`Error::IdleTimeout`] or [`Error::CloseTimeout`] when the core
    /// gives up on the peer (the connection is then over), or with the
    /// stream's error.
    pub(super) fn read_input(&mut self, wait: &mut Wait) -> Result<Input, Error> {
        self.tick(self.told)?;
        if self.conn.buffered_amount() > 0 {
            self.flush()?;
        }
        let now = Instant::now();
        let since = *wait.since.get_or_insert(now);
        if let Some(error) = wait.timed_out.take() {
            if self.timer.user_timed_out(since, now) {
                return Err(Error::Io(error));
            }
        }
        let user_since = wait.user_timeout.then_some(since);
        let deadline = self.conn.poll_timeout();
        self.timer
            .arm(&mut self.stream, now, deadline, user_since)?;
        let read = self.stream.read(&mut self.read_buf);
        self.told = Instant::now();
        match read {
            Ok(0) => Ok(Input::Eof),
            // A TLS stream (rustls) reports a peer that closed TCP without
            // TLS `close_notify` this way. Truncation cannot hide here: the
            // WebSocket's own Close frame says whether the end was expected
            // (the core reports 1006 if it was not).
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(Input::Eof),
            Ok(n) => {
                self.conn.receive(&self.read_buf[..n]);
                wait.since = None;
                Ok(Input::Bytes)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(Input::Nothing),
            // The peer is gone, as at EOF.
            Err(e) if is_reset(&e) => Ok(Input::Eof),
            Err(e) if is_timeout(&e) => {
                if wait.user_timeout {
                    wait.timed_out = Some(e);
                }
                Ok(Input::Nothing)
            }
            Err(e) => Err(Error::Io(e)),
        }
    }

    /// Tells the core it is `now`. When it gives up on the peer, the
    /// connection is over: the transport is shut down and the error says
    /// which deadline passed.
    pub(super) fn tick(&mut self, now: Instant) -> Result<(), Error> {
        self.told = now;
        let error = match self.conn.handle_timeout(now) {
            None => return Ok(()),
            Some(TimedOut::Keepalive) => Error::IdleTimeout(self.conn.config().ping_timeout),
            Some(TimedOut::Close) => {
                Error::CloseTimeout(self.conn.config().close_timeout.unwrap_or_default())
            }
            Some(_) => Error::ConnectionReset,
        };
        self.shutdown_transport();
        self.end();
        Err(error)
    }
}
