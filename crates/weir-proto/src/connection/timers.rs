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

use super::{Connection, Output, Stage};
use crate::close::CloseCode;
use crate::config::Role;

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

/// What the connection knows of time: one instant, whose meaning the
/// `timer` tells, and a flag. Each deadline is that instant plus a timeout
/// from the configuration (which never changes), so it is not stored: one
/// `Option<Instant>` (16 bytes) stands for the last input, the keepalive
/// ping's deadline and the closing handshake's.
#[derive(Debug, Default)]
pub(super) struct Clock {
    /// `timer`'s instant; `None` until the connection is first told the
    /// time.
    at: Option<Instant>,
    /// What `at` is.
    timer: Timer,
    /// Bytes arrived since the latest tick.
    pub(super) input_arrived: bool,
}

/// What [`Clock::at`] is, and so which deadline runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Timer {
    /// When input last arrived, to the precision of the ticks: a keepalive
    /// ping is due [`Config::idle_timeout`](crate::Config::idle_timeout)
    /// after it.
    #[default]
    Quiet,
    /// When the keepalive ping went out: something must arrive within
    /// [`Config::ping_timeout`](crate::Config::ping_timeout) of it.
    PingSent,
    /// The first tick after this endpoint's Close frame was queued: the
    /// closing handshake must be over within
    /// [`Config::close_timeout`](crate::Config::close_timeout) of it.
    Closing,
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
        if clock.input_arrived || clock.at.is_none() {
            clock.input_arrived = false;
            // Once the closing deadline runs, input no longer moves it.
            if clock.timer != Timer::Closing {
                clock.at = Some(now);
                clock.timer = Timer::Quiet;
            }
        }
        if self.stage == Stage::Aborted || self.closing_done() {
            return None;
        }
        if self.close_sent() {
            let timeout = self.config.close_timeout?;
            if self.clock.timer != Timer::Closing {
                self.clock.timer = Timer::Closing;
                self.clock.at = Some(now);
            }
            let deadline = self.clock.at.unwrap_or(now) + timeout;
            return (now >= deadline).then(|| self.abort(TimedOut::Close));
        }
        let idle = self.config.idle_timeout?;
        let at = self.clock.at.unwrap_or(now);
        match self.clock.timer {
            Timer::PingSent if now >= at + self.config.ping_timeout => {
                Some(self.abort(TimedOut::Keepalive))
            }
            Timer::PingSent | Timer::Closing => None,
            Timer::Quiet => {
                if now >= at + idle {
                    // A full queue refuses the ping; the deadline applies all
                    // the same: a peer that reads nothing for that long is as
                    // good as gone.
                    let _ = self.ping(Bytes::new());
                    self.clock.timer = Timer::PingSent;
                    self.clock.at = Some(now);
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
        // Never later than the latest tick: "due" whenever it is returned
        // as it is below.
        let at = self.clock.at?;
        if self.stage == Stage::Aborted || self.closing_done() {
            return None;
        }
        if self.close_sent() {
            let timeout = self.config.close_timeout?;
            return Some(match self.clock.timer {
                Timer::Closing => at + timeout,
                Timer::Quiet | Timer::PingSent => at,
            });
        }
        let idle = self.config.idle_timeout?;
        if self.clock.input_arrived {
            return Some(at);
        }
        Some(match self.clock.timer {
            Timer::PingSent => at + self.config.ping_timeout,
            Timer::Quiet | Timer::Closing => at + idle,
        })
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
        match &mut self.stage {
            Stage::Closed { eof, .. } => {
                *eof = true;
                return None;
            }
            Stage::Aborted => return None,
            Stage::Open | Stage::Closing => {}
        }
        self.end_abruptly();
        Some(CloseCode::ABNORMAL)
    }

    /// The closing handshake is over from this side: nothing is left that a
    /// deadline could wait for but the adapter's closing of the transport.
    fn closing_done(&self) -> bool {
        match self.stage {
            Stage::Closed { failed, eof } => {
                self.buffered_amount() == 0 && (eof || failed || self.role == Role::Server)
            }
            Stage::Open | Stage::Closing | Stage::Aborted => false,
        }
    }

    /// Ends the connection on an expired deadline.
    fn abort(&mut self, why: TimedOut) -> TimedOut {
        self.end_abruptly();
        why
    }

    /// Ends the connection without a closing handshake: nothing more is
    /// received or sent, and what was buffered either way is dropped.
    fn end_abruptly(&mut self) {
        self.stage = Stage::Aborted;
        self.release_receive_buffers();
        self.output = Output::default();
    }
}
