//! Time, passed in: the closing handshake's deadline, keepalive pings and
//! their deadline, and the end of input.
//!
//! The connection never reads a clock. The adapter tells it the time with
//! [`Connection::handle_timeout`]: once when the connection opens, after
//! every batch of input or commands, and whenever the deadline that
//! [`Connection::poll_timeout`] reports has passed. The connection answers
//! with what that time means: a keepalive ping queued, or a peer given up
//! on ([`TimedOut`]). Until it is told the time once, it has no deadlines,
//! so a caller that never calls these pays nothing for them.
//!
//! Input only sets a flag ([`Clock::input_arrived`]); the next tick turns
//! it into "input came at `now`". So the keepalive deadline moves with
//! every batch of reads, without the adapter reading a clock per read, and
//! an adapter may keep a timer armed for an earlier deadline: when it fires
//! early, `handle_timeout` does nothing and `poll_timeout` gives the new one.
//!
//! [`Connection::receive_eof`] turns the end of input into the end of the
//! connection, in one place: after the closing handshake it lets a client
//! close; before it, the connection ended abnormally (1006, RFC 6455
//! section 7.1.5).

use std::time::Instant;

use bytes::Bytes;

use super::{Connection, Output};
use crate::close::CloseCode;

/// A deadline that passed without what it waited for. The connection is
/// then [`State::Closed`](super::State::Closed), its queued output dropped,
/// and [`Connection::should_close_transport`] is true: close the transport
/// and report the connection closed with 1006.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimedOut {
    /// A keepalive ping went out and nothing at all came back within
    /// [`Config::ping_timeout`](crate::Config::ping_timeout).
    Keepalive,
    /// The closing handshake did not finish within
    /// [`Config::close_timeout`](crate::Config::close_timeout) of this
    /// endpoint's Close frame (the peer's Close, the output drained, and for
    /// a client the server's TCP close).
    Close,
}

/// What the connection knows of time.
#[derive(Debug, Default)]
pub(super) struct Clock {
    /// Bytes arrived since the latest tick.
    pub(super) input_arrived: bool,
    /// When input last arrived, to the precision of the ticks; `None`
    /// until the connection is first told the time.
    last_input: Option<Instant>,
    /// A keepalive ping went out: something must arrive by then.
    keepalive_deadline: Option<Instant>,
    /// The closing handshake must be over by then.
    close_deadline: Option<Instant>,
}

impl Connection {
    /// Tells the connection the time: call it once when the connection
    /// opens, after every batch of input ([`Connection::receive`]) or
    /// commands, and whenever [`Connection::poll_timeout`]'s deadline has
    /// passed. Returns what expired, if anything; at most once.
    ///
    /// - Keepalive: once the peer has sent nothing for
    ///   [`Config::idle_timeout`](crate::Config::idle_timeout), a ping is
    ///   queued (refused silently if the send queue is full: the deadline
    ///   still applies); if nothing arrives within
    ///   [`Config::ping_timeout`](crate::Config::ping_timeout) after it,
    ///   [`TimedOut::Keepalive`].
    /// - Closing: from the first tick after this endpoint's Close frame was
    ///   queued (by [`Connection::close`], in reply to the peer's, or after
    ///   a protocol error), the closing handshake has
    ///   [`Config::close_timeout`](crate::Config::close_timeout) to finish;
    ///   if it does not, [`TimedOut::Close`].
    pub fn handle_timeout(&mut self, now: Instant) -> Option<TimedOut> {
        let clock = &mut self.clock;
        if clock.input_arrived || clock.last_input.is_none() {
            clock.input_arrived = false;
            clock.last_input = Some(now);
            clock.keepalive_deadline = None;
        }
        if self.aborted || self.closing_done() {
            return None;
        }
        if self.close_sent {
            let timeout = self.config.close_timeout?;
            let deadline = *self.clock.close_deadline.get_or_insert(now + timeout);
            return (now >= deadline).then(|| self.abort(TimedOut::Close));
        }
        let idle = self.config.idle_timeout?;
        match self.clock.keepalive_deadline {
            Some(deadline) if now >= deadline => Some(self.abort(TimedOut::Keepalive)),
            Some(_) => None,
            None => {
                let quiet_since = self.clock.last_input.unwrap_or(now);
                if now >= quiet_since + idle {
                    // A full queue refuses the ping; the deadline applies all
                    // the same: a peer that reads nothing for that long is as
                    // good as gone.
                    let _ = self.ping(Bytes::new());
                    self.clock.keepalive_deadline = Some(now + self.config.ping_timeout);
                }
                None
            }
        }
    }

    /// The next time [`Connection::handle_timeout`] has something to do, or
    /// `None`: never told the time, no deadline configured, or the
    /// connection is over. A time in the past means "tick now" (a Close was
    /// queued since the last tick, or input arrived).
    pub fn poll_timeout(&self) -> Option<Instant> {
        // Never later than the latest tick: "due" whenever it is used below.
        let last_input = self.clock.last_input?;
        if self.aborted || self.closing_done() {
            return None;
        }
        if self.close_sent {
            self.config.close_timeout?;
            return Some(self.clock.close_deadline.unwrap_or(last_input));
        }
        let idle = self.config.idle_timeout?;
        if self.clock.input_arrived {
            return Some(last_input);
        }
        Some(self.clock.keepalive_deadline.unwrap_or(last_input + idle))
    }

    /// The transport will deliver no more bytes (a read returned 0, or the
    /// stream ended). Call it after polling every event the input before it
    /// makes ([`Connection::poll_event`] until `None`): bytes still unparsed
    /// then belong to a frame that will never be complete, and are dropped.
    ///
    /// After the peer's Close frame, or a protocol error,
    /// that is the normal end: a client may now close its side
    /// ([`Connection::should_close_transport`]). Before it, the connection
    /// ended abnormally: it is closed, any message in progress and any
    /// queued output are dropped, and this returns
    /// [`CloseCode::ABNORMAL`] (1006, RFC 6455 section 7.1.5) for the
    /// adapter to report, as no [`Event::Close`](crate::Event::Close) or
    /// error will.
    pub fn receive_eof(&mut self) -> Option<CloseCode> {
        self.eof = true;
        if self.receive_closed || self.aborted {
            return None;
        }
        self.end_abruptly();
        Some(CloseCode::ABNORMAL)
    }

    /// The closing handshake is over from this side: nothing is left that a
    /// deadline could wait for but the adapter's closing of the transport.
    fn closing_done(&self) -> bool {
        self.receive_closed && self.buffered_amount() == 0 && (self.eof || self.closes_first())
    }

    /// Ends the connection on an expired deadline.
    fn abort(&mut self, why: TimedOut) -> TimedOut {
        self.end_abruptly();
        why
    }

    /// Ends the connection without a closing handshake: nothing more is
    /// received or sent, and what was buffered either way is dropped.
    fn end_abruptly(&mut self) {
        self.aborted = true;
        self.receive_closed = true;
        self.release_receive_buffers();
        self.output = Output::default();
    }
}
