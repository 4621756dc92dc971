//! [`Driver`]: a core [`Connection`] over an async transport, and what
//! every poll does with them.
//!
//! - Reading ([`Driver::poll_message`]): hand the core the events it has,
//!   write what it queued in answer (pongs, the reply to a Close, keepalive
//!   pings), run its deadlines, read more. Every byte read goes to the core
//!   at once, so a poll that ends `Pending` (or a dropped `next()` future)
//!   loses nothing: no message is taken from the core unless it is
//!   returned.
//! - Writing ([`Driver::poll_ready`], [`Driver::send`],
//!   [`Driver::poll_flush`], [`Driver::poll_close`]): the core queues
//!   frames; a send waits while the queue holds
//!   [`Config::max_send_queue`](weir_proto::Config::max_send_queue) bytes
//!   or more, so nothing is buffered without bound. A message sent while
//!   nothing is queued is encoded into a per-thread buffer lent to the
//!   core ([`Connection::send_in`]) and taken back once written
//!   ([`Connection::advance_transmit_reclaim`]), not into an allocation of
//!   its own (a large payload is not copied: only its header goes there).
//! - Time: the core is told the time when the connection opens, after a
//!   Close is queued (this endpoint's, the reply to the peer's, or after
//!   a protocol error), and when a tokio timer armed for the core's next
//!   deadline ([`Connection::poll_timeout`]) goes off. A read that brings
//!   input only notes the time; the core learns it at the next tick, as
//!   the time of the latest input, before the time of the tick (see
//!   [`Driver::tick`]). So keepalive deadlines run from the latest input
//!   as exactly as if the core were told after every read, without two
//!   calls into it per read. Deadlines run while the stream is polled, as
//!   a reading task does.
//!
//! Every poll takes the waker to wake its caller with: the task's own for
//! a whole stream, the joint waker of `wakers.rs` for split halves.
//!
//! The time is tokio's ([`tokio::time::Instant`]), so tests can pause it.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};
use std::time::Instant;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Sleep;
use tokio_util::io::poll_read_buf;
use weir_proto::{CloseCode, Connection, Event, Message, State};

use crate::buffers::{make_room, reclaim_send_room, send_room, READ_BUF};
use crate::error::Error;

/// The most slices handed to one vectored write.
const MAX_SLICES: usize = 16;

/// The time now, on tokio's clock (which tests can pause).
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// A connection, its transport, and its timer.
pub(crate) struct Driver<S> {
    io: S,
    core: Connection,
    /// Waits for the core's next deadline, `armed_for`.
    timer: Pin<Box<Sleep>>,
    armed_for: Option<Instant>,
    /// The waker the timer holds: that of the poll that armed it, until a
    /// poll with another (the stream moved to another task, or was split
    /// or reunited) registers its own.
    timer_waker: Option<Waker>,
    /// How the stream ends, once it is known: delivered after the output
    /// is written (the reply to a Close, the Close after a protocol error).
    ending: Option<Ending>,
    /// The stream has ended; reads return `None`, sends
    /// [`Error::AlreadyClosed`].
    ended: bool,
    /// A read returned end of file: no more reads.
    input_ended: bool,
    /// The connection opened, a Close was queued, or the input ended,
    /// since the core was last told the time
    /// ([`Connection::handle_timeout`] is due).
    must_tick: bool,
    /// When the latest read that brought input since the core was last
    /// told the time returned.
    input_at: Option<Instant>,
    /// Bytes were written, or a message queued, since the transport was
    /// last flushed.
    unflushed: bool,
    /// Bytes went to the core since [`Connection::poll_event`] last
    /// returned `None` (or since an event left none unparsed): it may have
    /// events.
    unpolled_input: bool,
}

/// How a stream ends.
enum Ending {
    /// The closing handshake finished: the stream ends without an error.
    Closed,
    /// With this error, then the end.
    Failed(Error),
}

impl<S: AsyncRead + AsyncWrite + Unpin> Driver<S> {
    /// Drives `core` over `io`.
    pub(crate) fn new(io: S, core: Connection) -> Self {
        Self {
            io,
            core,
            timer: Box::pin(tokio::time::sleep(std::time::Duration::ZERO)),
            armed_for: None,
            timer_waker: None,
            ending: None,
            ended: false,
            input_ended: false,
            must_tick: true,
            input_at: None,
            unflushed: false,
            // The handshake's leftover bytes may have been fed.
            unpolled_input: true,
        }
    }

    /// The core connection.
    pub(crate) fn core(&self) -> &Connection {
        &self.core
    }

    /// The transport.
    pub(crate) fn io(&self) -> &S {
        &self.io
    }

    /// The next message; `None` once the stream has ended (after the
    /// closing handshake, or after the error that ended it).
    pub(crate) fn poll_message(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        if self.core.config().streaming {
            return self.end(Error::StreamingMode);
        }
        self.follow_timer(cx);
        loop {
            while let Some(event) = self.next_event() {
                match event {
                    Ok(Event::Message(message)) => return Poll::Ready(Some(Ok(message))),
                    // The pong is queued, written below.
                    Ok(Event::Ping(_) | Event::Pong(_) | Event::Fragment(_)) => {}
                    // The reply is queued.
                    Ok(Event::Close(_)) => self.end_after_close(Ending::Closed),
                    // The Close with the error's code is queued.
                    Err(error) => self.end_after_close(Ending::Failed(Error::Protocol(error))),
                }
            }
            if self.must_tick || self.timer_due() {
                self.must_tick = false;
                if let Some(timed_out) = self.tick() {
                    // A client waiting for the server's TCP close after a
                    // finished closing handshake ends cleanly all the same.
                    if !matches!(self.ending, Some(Ending::Closed)) {
                        let error = Error::timed_out(timed_out, self.core.config());
                        self.ending = Some(Ending::Failed(error));
                    }
                }
                if self.arm_timer(cx) {
                    self.must_tick = true;
                    continue;
                }
            }
            let written = self.poll_write_out(cx);
            if let Poll::Ready(Err(error)) = written {
                return self.end(Error::Io(error));
            }
            let over = self.core.should_close_transport()
                || matches!(self.ending, Some(Ending::Failed(_)));
            if over && written.is_ready() {
                return self.finish(cx);
            }
            if self.input_ended {
                return Poll::Pending;
            }
            match ready!(self.poll_read(cx)) {
                Err(error) => return self.end(Error::Io(error)),
                Ok(0) => {
                    self.input_ended = true;
                    self.must_tick = true;
                    // Every event of earlier input was handled above.
                    if self.core.receive_eof().is_some() {
                        return self.end(Error::ConnectionReset);
                    }
                }
                Ok(_) => {
                    self.input_at = Some(now());
                    self.unpolled_input = true;
                }
            }
        }
    }

    /// The core's next event; `None` without asking it when no bytes went
    /// to it since it last had none, or since an event used up its input.
    fn next_event(&mut self) -> Option<Result<Event, weir_proto::ProtocolError>> {
        if !self.unpolled_input {
            return None;
        }
        let event = self.core.poll_event();
        self.unpolled_input = event.is_some() && self.core.has_unparsed_input();
        event
    }

    /// One read, handed to the core; the bytes read, 0 at the end of input.
    ///
    /// The read lands in the spare room of this thread's buffer, and the
    /// core takes the bytes read without a copy
    /// ([`Connection::receive_buf`]): the messages it hands out are slices
    /// of that buffer, which is not reused while any of them lives. Once
    /// little is left, the buffer is renewed ([`make_room`]): in place
    /// when nothing holds a slice of it any more, in a new allocation
    /// otherwise. No connection keeps a buffer of its own between reads,
    /// so an idle connection holds none (the core keeps only an unfinished
    /// frame's bytes, copied out when they are few). The buffer is used
    /// within this call only, so connections moving between a runtime's
    /// threads do not matter.
    ///
    /// A transport that polls another stream on the same thread from its
    /// `poll_read` (a WebSocket carried inside another) finds this
    /// thread's buffer in use by the outer read: the inner read gets a
    /// buffer of its own.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        READ_BUF.with(|read_buf| match read_buf.try_borrow_mut() {
            Ok(mut read_buf) => self.read_into(&mut read_buf, cx),
            Err(_) => self.read_into(&mut BytesMut::new(), cx),
        })
    }

    /// One read into the spare room of `read_buf` (renewed first if little
    /// is left), handed to the core.
    fn read_into(
        &mut self,
        read_buf: &mut BytesMut,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        make_room(read_buf);
        let read = ready!(poll_read_buf(Pin::new(&mut self.io), cx, read_buf))?;
        self.core.receive_buf(read_buf);
        Poll::Ready(Ok(read))
    }

    /// Ends the stream now with `error`.
    fn end(&mut self, error: Error) -> Poll<Option<Result<Message, Error>>> {
        self.ended = true;
        Poll::Ready(Some(Err(error)))
    }

    /// The output is written and the connection is over (the core says
    /// to close the transport, or an error ended it): shut the transport
    /// down, then end the stream as `ending` says.
    fn finish(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        // A failed shutdown changes nothing: the connection is over.
        ready!(Pin::new(&mut self.io).poll_shutdown(cx)).ok();
        self.ended = true;
        match self.ending.take() {
            Some(Ending::Failed(error)) => Poll::Ready(Some(Err(error))),
            Some(Ending::Closed) | None => Poll::Ready(None),
        }
    }

    /// A Close was queued in answer to input: the stream ends with
    /// `ending` once it is out, and its deadline runs from the next tick.
    fn end_after_close(&mut self, ending: Ending) {
        self.ending = Some(ending);
        self.must_tick = true;
    }

    /// Tells the core the time; returns what expired.
    ///
    /// If input arrived since the last tick, while the connection is open
    /// the core is first told the time of the latest read that brought
    /// some: it takes the time it is told after input as the time of that
    /// input, so the keepalive deadline runs from the read, not from this
    /// tick. (Once a Close is queued, input no longer moves a deadline,
    /// and a time told then would start the closing deadline early.)
    fn tick(&mut self) -> Option<weir_proto::TimedOut> {
        let input_at = self.input_at.take();
        if let Some(input_at) = input_at.filter(|_| self.core.state() == State::Open) {
            if let Some(timed_out) = self.core.handle_timeout(input_at) {
                return Some(timed_out);
            }
        }
        self.core.handle_timeout(now())
    }

    /// Whether the armed timer has gone off: time to tick.
    fn timer_due(&self) -> bool {
        self.armed_for.is_some() && self.timer.is_elapsed()
    }

    /// Arms the timer for the core's next deadline, after a tick; returns
    /// whether that deadline has passed already (tick again).
    ///
    /// Deadlines move later as input arrives (keepalive), so a timer armed
    /// for an earlier time is left as it is: it goes off early, the tick
    /// then finds nothing due, and the timer is armed anew. That costs one
    /// wake-up per keepalive period, where re-arming on every message
    /// would cost a timer reset per message.
    fn arm_timer(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.core.poll_timeout() else {
            self.armed_for = None;
            return false;
        };
        let armed_earlier = self.armed_for.is_some_and(|armed| armed <= deadline);
        if armed_earlier && !self.timer.is_elapsed() {
            return false;
        }
        self.armed_for = Some(deadline);
        self.timer.as_mut().reset(deadline.into());
        self.register_timer(cx)
    }

    /// Leaves `cx`'s waker with the armed timer if it holds another: the
    /// caller waits for it now. (An elapsed timer is seen by
    /// [`Driver::timer_due`].)
    fn follow_timer(&mut self, cx: &mut Context<'_>) {
        let held = self.timer_waker.as_ref();
        if self.armed_for.is_some() && !held.is_some_and(|held| held.will_wake(cx.waker())) {
            self.register_timer(cx);
        }
    }

    /// Registers `cx`'s waker with the timer, which keeps it until the next
    /// reset; returns whether the timer has gone off.
    fn register_timer(&mut self, cx: &mut Context<'_>) -> bool {
        self.timer_waker = Some(cx.waker().clone());
        self.timer.as_mut().poll(cx).is_ready()
    }

    /// Whether a message may be sent now: `Ready(Ok)` while the send queue
    /// is under [`Config::max_send_queue`](weir_proto::Config::max_send_queue),
    /// after writing some of it if not.
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.ended || self.core.state() != State::Open {
            return Poll::Ready(Err(Error::AlreadyClosed));
        }
        while self.core.buffered_amount() >= self.core.config().max_send_queue {
            ready!(self.poll_write_some(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    /// Queues `message`.
    pub(crate) fn send(&mut self, message: Message) -> Result<(), Error> {
        if self.ended {
            return Err(Error::AlreadyClosed);
        }
        self.unflushed = true;
        if self.core.buffered_amount() > 0 {
            return Ok(self.core.send(message)?);
        }
        let room = send_room(&message);
        Ok(self.core.send_in(message, room)?)
    }

    /// Writes everything queued and flushes the transport.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(ready!(self.poll_write_out(cx))?))
    }

    /// Whether every message sent so far is written and flushed.
    pub(crate) fn is_flushed(&self) -> bool {
        !self.unflushed
    }

    /// Sends this endpoint's Close (`code`, `reason`) if it has not gone
    /// yet, and writes it out. The stream then ends when the peer answers
    /// (or the close timeout passes).
    pub(crate) fn poll_close(
        &mut self,
        cx: &mut Context<'_>,
        code: CloseCode,
        reason: &str,
    ) -> Poll<Result<(), Error>> {
        if self.core.state() == State::Open {
            self.core.close(code, reason)?;
            // The close timeout runs from the next tick.
            self.must_tick = true;
        }
        self.poll_flush(cx)
    }

    /// Writes until the core's output is empty, then flushes the transport
    /// if anything was written (or sent) since it last was: what the
    /// reading side writes (pongs, the reply to a Close, and what was sent
    /// but not yet flushed) goes out without a flush from the sender.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.core.buffered_amount() > 0 {
            ready!(self.poll_write_some(cx))?;
        }
        if self.unflushed {
            ready!(Pin::new(&mut self.io).poll_flush(cx))?;
            self.unflushed = false;
        }
        Poll::Ready(Ok(()))
    }

    /// One vectored write of the core's output.
    fn poll_write_some(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut slices = [IoSlice::new(&[]); MAX_SLICES];
        let count = self.core.transmit_slices(&mut slices);
        let written = ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..count]))?;
        if written == 0 {
            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
        }
        if let Some(room) = self.core.advance_transmit_reclaim(written) {
            reclaim_send_room(room);
        }
        self.unflushed = true;
        Poll::Ready(Ok(()))
    }
}
