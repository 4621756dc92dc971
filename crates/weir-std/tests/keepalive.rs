//! The core's keepalive and close deadlines in the blocking adapter: a
//! weir-std server whose reader is blocked in `read` against a raw TCP
//! client that answers pings, or does not. Outcomes are awaited by blocking
//! on them (reads, joins); the durations are bounds, not measurements.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use weir_std::{AcceptOptions, CloseCode, Config, Error, Message, WebSocket};
use weir_test_support::tcp::raw_client;

/// The server's own read timeout unless a test sets another: without the
/// keepalive, a silent peer would hold a read this long, then fail with an
/// I/O timeout. (The raw client's reads have the support crate's
/// `PATIENCE` as their guard.)
const GUARD: Duration = Duration::from_secs(10);

/// The keepalive's idle timeout in these tests.
const IDLE: Duration = Duration::from_millis(50);

/// Opcodes of the frames the raw client looks at.
const TEXT: u8 = 0x1;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// A weir-std server with `config` and `read_timeout` on its socket, running
/// `serve` on its own thread, and the raw client connected to it.
fn server_with<T: Send + 'static>(
    config: Config,
    read_timeout: Duration,
    serve: impl FnOnce(WebSocket<TcpStream>) -> T + Send + 'static,
) -> (JoinHandle<T>, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("ws://{}", listener.local_addr().unwrap());
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(read_timeout)).unwrap();
        let ws = weir_std::accept_with(stream, config, |_| Ok(AcceptOptions::default())).unwrap();
        serve(ws)
    });
    (server, raw_client(&uri))
}

/// The keepalive configuration under test.
fn keepalive(ping_timeout: Duration) -> Config {
    Config::default()
        .with_idle_timeout(Some(IDLE))
        .with_ping_timeout(ping_timeout)
}

/// Reads one frame from the server (unmasked, payload under 126 bytes):
/// its opcode and payload, or `None` at EOF.
fn read_frame(raw: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 2];
    if let Err(e) = raw.read_exact(&mut head) {
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}");
        return None;
    }
    assert!(head[1] < 126, "a short unmasked frame: {head:?}");
    let mut payload = vec![0u8; usize::from(head[1])];
    raw.read_exact(&mut payload).unwrap();
    Some((head[0] & 0x0f, payload))
}

/// Writes a final frame from the client, masked with the all-zero key.
fn write_frame(raw: &mut TcpStream, opcode: u8, payload: &[u8]) {
    assert!(payload.len() < 126);
    let mut frame = vec![0x80 | opcode, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    raw.write_all(&frame).unwrap();
}

#[test]
fn a_reader_blocked_in_read_pings_a_silent_peer() {
    let (server, mut raw) = server_with(keepalive(GUARD), GUARD, |mut ws| ws.read());
    let started = Instant::now();
    assert_eq!(read_frame(&mut raw), Some((PING, Vec::new())));
    assert!(
        started.elapsed() < GUARD / 2,
        "took {:?}",
        started.elapsed()
    );
    drop(raw);
    let result = server.join().unwrap();
    assert!(matches!(result, Err(Error::ConnectionReset)), "{result:?}");
}

#[test]
fn a_peer_that_never_answers_the_ping_is_dropped() {
    let ping_timeout = Duration::from_millis(100);
    let (server, mut raw) = server_with(keepalive(ping_timeout), GUARD, |mut ws| {
        let started = Instant::now();
        let result = ws.read();
        let elapsed = started.elapsed();
        let after = ws.read();
        let restored = ws.get_ref().read_timeout().unwrap();
        (result, elapsed, after, restored)
    });
    assert_eq!(read_frame(&mut raw), Some((PING, Vec::new())));
    // The server gives up and shuts TCP down: EOF, no Close frame.
    assert_eq!(read_frame(&mut raw), None);
    let (result, elapsed, after, restored) = server.join().unwrap();
    assert!(
        matches!(result, Err(Error::IdleTimeout(limit)) if limit == ping_timeout),
        "{result:?}"
    );
    assert!(elapsed < GUARD / 2, "took {elapsed:?}");
    assert!(matches!(after, Err(Error::AlreadyClosed)), "{after:?}");
    assert_eq!(restored, Some(GUARD), "the user's read timeout is back");
}

#[test]
fn a_peer_that_answers_pings_stays_connected() {
    // Only input clears a ping's deadline, and no new ping goes out while
    // one waits: each of these pings exists because the one before was
    // answered. (The ping timeout is generous for a busy machine.)
    let config = keepalive(Duration::from_secs(1));
    let (server, mut raw) = server_with(config, GUARD, |mut ws| ws.read());
    for _ in 0..5 {
        let (opcode, payload) = read_frame(&mut raw).expect("a ping, not EOF");
        assert_eq!(opcode, PING);
        write_frame(&mut raw, PONG, &payload);
    }
    write_frame(&mut raw, TEXT, b"still here");
    let result = server.join().unwrap();
    assert_eq!(result.unwrap(), Message::from("still here"));
}

#[test]
fn the_users_read_timeout_still_ends_a_read_and_the_socket_keeps_working() {
    // The user's read timeout (300 ms) is longer than the idle timeout
    // (50 ms): the read wakes for the keepalive underneath and still
    // reports the user's timeout, not earlier, and only that.
    let user_timeout = Duration::from_millis(300);
    let (timed_out_tx, timed_out) = mpsc::channel();
    let (server, mut raw) = server_with(keepalive(GUARD), user_timeout, move |mut ws| {
        let started = Instant::now();
        let first = ws.read();
        let elapsed = started.elapsed();
        timed_out_tx.send(()).unwrap();
        let second = ws.read();
        (first, elapsed, second)
    });
    let (opcode, payload) = read_frame(&mut raw).unwrap();
    assert_eq!(opcode, PING);
    write_frame(&mut raw, PONG, &payload);
    timed_out.recv_timeout(GUARD).unwrap();
    write_frame(&mut raw, TEXT, b"later");
    let (first, elapsed, second) = server.join().unwrap();
    match first {
        Err(error) => assert!(error.is_timeout(), "{error:?}"),
        Ok(message) => panic!("expected a timeout, got {message:?}"),
    }
    assert!(
        elapsed >= user_timeout,
        "the user's timeout came early: {elapsed:?}"
    );
    assert!(elapsed < GUARD / 2, "took {elapsed:?}");
    assert_eq!(second.unwrap(), Message::from("later"));
}

#[test]
fn a_user_timeout_shorter_than_the_idle_timeout_comes_first() {
    let config = Config::default().with_idle_timeout(Some(GUARD));
    let user_timeout = Duration::from_millis(50);
    let (server, mut raw) = server_with(config, user_timeout, |mut ws| {
        let first = ws.read();
        ws.close(CloseCode::NORMAL, "").unwrap();
        first
    });
    // The first frame is the server's Close: no ping came before.
    let (opcode, _) = read_frame(&mut raw).unwrap();
    assert_eq!(opcode, CLOSE);
    let first = server.join().unwrap();
    assert!(first.unwrap_err().is_timeout());
}

#[test]
fn a_read_after_close_gives_up_at_the_close_timeout() {
    let close_timeout = Duration::from_millis(100);
    let config = Config::default().with_close_timeout(Some(close_timeout));
    let (server, mut raw) = server_with(config, GUARD, |mut ws| {
        ws.close(CloseCode::NORMAL, "bye").unwrap();
        let started = Instant::now();
        let result = ws.read();
        (result, started.elapsed())
    });
    // The client reads the Close and never answers; the server shuts down.
    let (opcode, _) = read_frame(&mut raw).unwrap();
    assert_eq!(opcode, CLOSE);
    assert_eq!(read_frame(&mut raw), None);
    let (result, elapsed) = server.join().unwrap();
    assert!(
        matches!(result, Err(Error::CloseTimeout(limit)) if limit == close_timeout),
        "{result:?}"
    );
    assert!(elapsed < GUARD / 2, "took {elapsed:?}");
}
