//! weir-std over a misbehaving stream: both ends of a loopback connection
//! wrapped in a [`FaultyStream`] that, after the opening handshake, moves
//! 1 to n bytes per call, answers `WouldBlock` between every two pieces and
//! `Interrupted` now and then, on a schedule seeded per test case.
//!
//! What must hold: every message (sizes on both sides of the length forms,
//! fragmented, and with the `deflate` feature compressed) arrives intact and
//! in order; `WouldBlock` surfaces from `read`, `send` and `flush` as a
//! retryable timeout, after which calling again (`read` again, `flush` for a
//! send, whose message is already queued) loses and repeats nothing;
//! `Interrupted` never surfaces. A reset in the middle of a frame ends with
//! `Error::ConnectionReset`, and the connection is closed (1006).
//!
//! Nothing sleeps: every call either makes progress or reports a fault, and
//! each loop has a bound that turns a livelock into a failure.

use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use weir_std::weir_proto::State;
use weir_std::{ClientOptions, CloseCode, Config, Error, Message, MessageKind, WebSocket};
use weir_test_support::faulty::{Faults, FaultyStream};
use weir_test_support::payloads::{assert_same, binary_pattern, describe, text_pattern};
use weir_test_support::{join, PATIENCE};

/// The sockets' own timeouts: a lost byte leaves a read waiting for ever,
/// and this lets [`retry`] see the clock.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(1);

type Ws = WebSocket<FaultyStream<TcpStream>>;

/// Sizes on each side of the 7-, 16- and 64-bit length forms.
const SIZES: [usize; 6] = [0, 1, 125, 126, 65_536, 100_003];

/// The largest piece per call: single bytes, odd sizes, about an MTU, more
/// than a frame header.
const PIECES: [usize; 4] = [1, 7, 1500, 20_000];

/// Shuts a wrapped socket when weir-std closes the transport (it knows how
/// only for a bare `TcpStream`).
fn shutdown(stream: &mut FaultyStream<TcpStream>) -> std::io::Result<()> {
    stream.get_ref().shutdown(Shutdown::Both)
}

/// `stream` with the safety-net timeouts, wrapped (no fault yet).
fn socket(stream: TcpStream) -> FaultyStream<TcpStream> {
    stream.set_read_timeout(Some(SOCKET_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(SOCKET_TIMEOUT)).unwrap();
    // Without it, Nagle holds each short write for the peer's delayed ACK.
    stream.set_nodelay(true).unwrap();
    FaultyStream::new(stream)
}

/// An echo server on one connection, its stream misbehaving as `faults`
/// says once the handshake is done. Returns how the connection ended.
fn echo_server(listener: TcpListener, faults: Faults) -> JoinHandle<Error> {
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = weir_std::accept(socket(stream)).unwrap();
        ws.set_shutdown(Some(shutdown));
        ws.get_mut().inject(faults);
        loop {
            let message = match retry(|| ws.read()) {
                Ok(message) => message,
                Err(end) => return end,
            };
            if let Err(end) = send(&mut ws, message) {
                return end;
            }
        }
    })
}

/// A client connected to a fresh [`echo_server`], both sides misbehaving on
/// `seed`'s schedule with pieces of up to `piece` bytes.
fn pair(seed: u64, piece: usize, options: ClientOptions) -> (Ws, JoinHandle<Error>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = echo_server(listener, Faults::chaos(seed ^ 0x5eed, piece));
    let stream = socket(TcpStream::connect(addr).unwrap());
    let uri = format!("ws://{addr}/");
    let (mut ws, _) = weir_std::client(stream, &uri, options, Config::default()).unwrap();
    ws.get_mut().inject(Faults::chaos(seed, piece));
    (ws, server)
}

/// Calls `op` again while it reports a timeout: an injected `WouldBlock`,
/// or (when bytes were lost) the socket's own read timeout, which fails the
/// test once [`PATIENCE`] has passed.
fn retry<T>(mut op: impl FnMut() -> Result<T, Error>) -> Result<T, Error> {
    let give_up = Instant::now() + PATIENCE;
    loop {
        match op() {
            Err(e) if e.is_timeout() && Instant::now() < give_up => {}
            other => return other,
        }
    }
}

/// Sends `message`; after a timeout the message is queued, so only
/// `flush` is called again.
fn send(ws: &mut Ws, message: Message) -> Result<(), Error> {
    match ws.send(message) {
        Err(e) if e.is_timeout() => retry(|| ws.flush()),
        other => other,
    }
}

/// Sends `payload` in three fragments, flushing again after timeouts.
fn send_fragmented(ws: &mut Ws, kind: MessageKind, payload: &[u8]) -> Result<(), Error> {
    let (a, rest) = payload.split_at(payload.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    for (piece, last) in [(a, false), (b, false), (c, true)] {
        match ws.send_fragment(kind, piece.to_vec(), last) {
            Err(e) if e.is_timeout() => retry(|| ws.flush())?,
            other => other?,
        }
    }
    Ok(())
}

/// Text and binary messages of every size in [`SIZES`] that moves in at
/// most 10,000 pieces of `piece` bytes (to keep single bytes quick).
fn messages(piece: usize) -> impl Iterator<Item = Message> {
    let sizes = SIZES.into_iter().filter(move |&len| len <= piece * 10_000);
    sizes.flat_map(|len| {
        [
            Message::from(text_pattern(len)),
            Message::from(binary_pattern(len)),
        ]
    })
}

/// Echoes every message whole and fragmented on `seed`'s schedule, then
/// closes; checks each echo and that the faults really happened.
fn echo_everything(seed: u64, piece: usize, options: ClientOptions) {
    let (mut ws, server) = pair(seed, piece, options);
    for message in messages(piece) {
        let what = format!("seed {seed}, pieces of {piece}: {}", describe(&message));
        send(&mut ws, message.clone()).unwrap_or_else(|e| panic!("{what}: send: {e}"));
        let echo = retry(|| ws.read()).unwrap_or_else(|e| panic!("{what}: read: {e}"));
        assert_same(&echo, &message, &what);

        let kind = message.kind();
        send_fragmented(&mut ws, kind, message.payload()).unwrap();
        let echo = retry(|| ws.read()).unwrap_or_else(|e| panic!("{what} in fragments: {e}"));
        assert_same(&echo, &message, &format!("{what} in fragments"));
    }
    match ws.close(CloseCode::NORMAL, "done") {
        Err(e) if e.is_timeout() => retry(|| ws.flush()).unwrap(),
        other => other.unwrap(),
    }
    match retry(|| ws.read()) {
        Err(Error::Closed(Some(frame))) => assert_eq!(frame.code, CloseCode::NORMAL),
        other => panic!("seed {seed}: expected the server's Close, got {other:?}"),
    }
    match join(server) {
        Error::Closed(Some(frame)) => assert_eq!(frame.code, CloseCode::NORMAL),
        other => panic!("seed {seed}: the server ended with {other:?}"),
    }
    let injected = ws.get_ref().injected();
    assert!(injected.would_block > 0 && injected.interrupted > 0 && injected.short > 0);
}

#[test]
fn every_message_arrives_whole_through_short_io_wouldblock_and_interrupts() {
    for seed in 0..8 {
        let piece = PIECES[seed as usize % PIECES.len()];
        echo_everything(seed, piece, uncompressed());
    }
}

#[cfg(feature = "deflate")]
#[test]
fn compressed_messages_arrive_whole_through_the_same_faults() {
    for seed in 100..108 {
        let piece = PIECES[seed as usize % PIECES.len()];
        echo_everything(seed, piece, ClientOptions::default());
    }
}

/// No compression offered, whatever the features.
fn uncompressed() -> ClientOptions {
    #[cfg(feature = "deflate")]
    return ClientOptions::default().with_deflate(None);
    #[cfg(not(feature = "deflate"))]
    return ClientOptions::default();
}

#[test]
fn a_reset_in_the_middle_of_a_frame_ends_the_connection_as_1006() {
    const SIZE: usize = 100_003;
    // The client sends SIZE + 14 bytes (64-bit length, mask) and would read
    // SIZE + 10: every reset point below falls inside one of the frames.
    let exchange = (2 * SIZE + 24) as u64;
    for seed in 0..16u64 {
        let piece = PIECES[seed as usize % PIECES.len()];
        let (mut ws, server) = pair(seed, piece, uncompressed());
        let reset_after = 1 + seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) % (exchange - 1);
        ws.get_mut().inject(Faults {
            reset_after: Some(reset_after),
            ..Faults::chaos(seed, piece)
        });
        let what = format!("seed {seed}, reset after byte {reset_after}");

        // The send fails if the reset comes before its last byte; the read
        // fails otherwise. Either way the first error that is not a timeout
        // is the end of the connection.
        let end = match send(&mut ws, Message::from(binary_pattern(SIZE))) {
            Ok(()) => retry(|| ws.read()).map(|m| describe(&m)),
            Err(e) => Err(e),
        };
        assert!(
            matches!(end, Err(Error::ConnectionReset)),
            "{what}: {end:?}"
        );
        assert!(ws.get_ref().injected().reset, "{what}");
        assert_eq!(ws.connection().state(), State::Closed, "{what}");
        assert!(matches!(ws.read(), Err(Error::AlreadyClosed)), "{what}");
        assert!(
            matches!(ws.send("late"), Err(Error::AlreadyClosed)),
            "{what}"
        );

        // Dropping the client closes the real socket; the server sees it
        // end without a Close, whether it was reading or writing.
        drop(ws);
        match join(server) {
            Error::ConnectionReset | Error::Io(_) => {}
            other => panic!("{what}: the server ended with {other:?}"),
        }
    }
}
