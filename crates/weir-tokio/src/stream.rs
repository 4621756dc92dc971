//! [`WebSocketStream`] and its halves, [`ReadHalf`] and [`WriteHalf`].
//!
//! A whole stream owns its [`Driver`] and polls it with its task's waker:
//! no lock, no waker of its own. Splitting moves the driver into a
//! [`Shared`], which both halves hold: the driver behind a mutex, held
//! only for the length of one poll, and the [`Wakers`] that let each half
//! wait on the one transport. So the halves can live in two tasks (one
//! reading, one writing); reuniting them takes the driver back out.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};
use weir_proto::{CloseCode, Connection, Message};

use crate::driver::Driver;
use crate::error::Error;
use crate::wakers::{Half, Wakers};

/// What the stream and its halves share.
struct Shared<S> {
    driver: Mutex<Driver<S>>,
    wakers: Arc<Wakers>,
    /// `wakers`' joint waker, made once.
    joint: Waker,
    /// [`Driver::is_flushed`] after the latest poll of the driver (stored
    /// with it locked): the write half's `poll_flush` answers from it
    /// without the lock when everything is out, as it is after the read
    /// half wrote it (a forward loop). A store of `false` by a send comes
    /// before any flush that covers it, and every store is made with the
    /// lock held, so a `true` seen here means that all this half sent
    /// before is flushed.
    flushed: AtomicBool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Shared<S> {
    fn new(driver: Driver<S>) -> Arc<Self> {
        let wakers = Arc::new(Wakers::default());
        Arc::new(Self {
            flushed: AtomicBool::new(driver.is_flushed()),
            driver: Mutex::new(driver),
            joint: wakers.joint(),
            wakers,
        })
    }

    /// The driver, once no half holds it any more.
    fn into_driver(self) -> Driver<S> {
        self.driver
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the locked driver, then notes whether it is flushed.
    fn with_driver<T>(&self, f: impl FnOnce(&mut Driver<S>) -> T) -> T {
        // A panic in another half's poll leaves the driver consistent: it
        // never panics midway through changing the core.
        let mut driver = self.driver.lock().unwrap_or_else(PoisonError::into_inner);
        let result = f(&mut driver);
        self.flushed.store(driver.is_flushed(), Ordering::Release);
        result
    }

    /// Runs `poll` on the driver for `half`, with the joint waker; if it
    /// returns `Pending`, leaves the task's waker for the joint waker to
    /// wake.
    fn poll<T>(
        &self,
        half: Half,
        cx: &Context<'_>,
        poll: impl FnOnce(&mut Driver<S>, &mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        let seen = self.wakers.wake_ups();
        let mut joint = Context::from_waker(&self.joint);
        let result = self.with_driver(|driver| poll(driver, &mut joint));
        if result.is_pending() {
            self.wakers.register(half, cx.waker(), seen);
        }
        result
    }

    fn poll_next(&self, cx: &Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        self.poll(Half::Reader, cx, Driver::poll_message)
    }

    fn poll_ready(&self, cx: &Context<'_>) -> Poll<Result<(), Error>> {
        self.poll(Half::Writer, cx, Driver::poll_ready)
    }

    fn start_send(&self, message: Message) -> Result<(), Error> {
        self.with_driver(|driver| driver.send(message))
    }

    fn poll_flush(&self, cx: &Context<'_>) -> Poll<Result<(), Error>> {
        if self.flushed.load(Ordering::Acquire) {
            return Poll::Ready(Ok(()));
        }
        self.poll(Half::Writer, cx, Driver::poll_flush)
    }

    fn poll_close(
        &self,
        cx: &Context<'_>,
        code: CloseCode,
        reason: &str,
    ) -> Poll<Result<(), Error>> {
        self.poll(Half::Writer, cx, |driver, cx| {
            driver.poll_close(cx, code, reason)
        })
    }
}

/// A WebSocket connection over `S`: a [`Stream`] of received messages and
/// a [`Sink`] of messages to send.
///
/// - The stream yields whole messages (text or binary). Pings are answered
///   underneath and pongs skipped. It ends (`None`) after the closing
///   handshake, or after an `Err` that ended the connection:
///   [`Error::Protocol`] (the peer broke RFC 6455; the Close with its code
///   was written first), [`Error::ConnectionReset`] (the transport ended
///   without a Close), [`Error::IdleTimeout`], [`Error::CloseTimeout`] or
///   [`Error::Io`].
/// - The sink takes [`Message`]s. `poll_ready` waits while
///   [`Config::max_send_queue`](weir_proto::Config::max_send_queue) bytes
///   or more are queued; `poll_close` sends a Close (1000) and writes it
///   out, after which the stream ends when the peer answers.
/// - Deadlines ([`Config`](weir_proto::Config)'s keepalive and close
///   timeouts) run while the stream is polled.
/// - [`WebSocketStream::split`] gives a [`ReadHalf`] and a [`WriteHalf`]
///   for two tasks. They share the connection behind a lock, taken for
///   each poll; a whole stream polls it directly, so one task that both
///   receives and sends does best without splitting.
///
/// A received message is a slice of the buffer it was read into (up to
/// 64 KiB, shared by the connections polled on the same thread), without
/// a copy: keeping the message keeps that buffer alive. Copy a message
/// that is kept for long (`Bytes::copy_from_slice`). Likewise, frames
/// sent are encoded (headers, and small payloads whole) into a 16 KiB
/// buffer shared the same way, which a connection keeps alive until they
/// are written out (a peer that
/// does not read holds it; [`Config::max_send_queue`](weir_proto::Config::max_send_queue)
/// bounds what such a peer can hold in any case).
///
/// Polling the stream is cancel-safe: a message is taken from the
/// connection only when it is returned, so dropping a pending `next()`
/// (in a `select!`, say) loses nothing.
///
/// Before it waits for input, polling the stream writes and flushes what
/// is queued: answers to pings, and messages sent without a flush
/// (`SinkExt::feed`). So a task that answers each message with `feed` and
/// then waits for the next one sends a burst of answers in one write,
/// with no flush of its own:
///
/// ```no_run
/// use futures_util::{SinkExt, StreamExt};
///
/// # async fn echo(mut ws: weir_tokio::WebSocketStream<tokio::net::TcpStream>) -> Result<(), weir_tokio::Error> {
/// while let Some(message) = ws.next().await {
///     ws.feed(message?).await?;
/// }
/// # Ok(())
/// # }
/// ```
pub struct WebSocketStream<S> {
    driver: Driver<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// Wraps a transport whose opening handshake is done, with the core
    /// connection that continues it (from the handshake's handoff, which
    /// has fed it any bytes read past the handshake).
    ///
    /// This is how a server on hyper or axum mounts weir: answer the
    /// upgrade with the core's `101`, then wrap the upgraded I/O with the
    /// connection from the same `Accepted`.
    pub fn from_connection(io: S, connection: Connection) -> Self {
        Self {
            driver: Driver::new(io, connection),
        }
    }

    /// Splits into a reading and a writing half, for two tasks. They share
    /// the connection; [`ReadHalf::reunite`] puts them back together.
    pub fn split(self) -> (ReadHalf<S>, WriteHalf<S>) {
        let shared = Shared::new(self.driver);
        let read = ReadHalf {
            shared: Arc::clone(&shared),
        };
        (read, WriteHalf { shared })
    }

    /// Sends a Close with `code` and `reason` and writes it out; the stream
    /// then ends once the peer answers (or the close timeout passes).
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.driver.poll_close(cx, code, reason)).await
    }

    /// Calls `f` with the core connection: its state, role, negotiated
    /// extensions, bytes queued.
    pub fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        f(self.driver.core())
    }

    /// Calls `f` with the transport, e.g. for its peer address.
    pub fn with_io<T>(&self, f: impl FnOnce(&S) -> T) -> T {
        f(self.driver.io())
    }
}

/// The receiving half of a [`WebSocketStream`]: a [`Stream`] of messages,
/// cancel-safe like the whole stream's. It also runs the connection's
/// deadlines and writes the answers to pings and to the peer's Close, so
/// keep it polled.
pub struct ReadHalf<S> {
    shared: Arc<Shared<S>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> ReadHalf<S> {
    /// Puts the halves of one stream back together; gives them back if
    /// they are of two different streams.
    pub fn reunite(self, write: WriteHalf<S>) -> Result<WebSocketStream<S>, (Self, WriteHalf<S>)> {
        if Arc::ptr_eq(&self.shared, &write.shared) {
            drop(write);
            let shared = Arc::into_inner(self.shared)
                .expect("a split makes two handles to the driver, and both are here");
            Ok(WebSocketStream {
                driver: shared.into_driver(),
            })
        } else {
            Err((self, write))
        }
    }
}

/// The sending half of a [`WebSocketStream`]: a [`Sink`] of messages.
pub struct WriteHalf<S> {
    shared: Arc<Shared<S>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WriteHalf<S> {
    /// Sends a Close with `code` and `reason` and writes it out; the read
    /// half's stream ends once the peer answers.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let shared = &self.shared;
        std::future::poll_fn(|cx| shared.poll_close(cx, code, reason)).await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocketStream<S> {
    type Item = Result<Message, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.driver.poll_message(cx)
    }
}

/// Closing sends a Close with 1000.
impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocketStream<S> {
    type Error = Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.driver.poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        self.driver.send(message)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.driver.poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.driver.poll_close(cx, CloseCode::NORMAL, "")
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for ReadHalf<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.shared.poll_next(cx)
    }
}

/// Closing sends a Close with 1000.
impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WriteHalf<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.shared.poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        self.shared.start_send(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.shared.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.shared.poll_close(cx, CloseCode::NORMAL, "")
    }
}
