//! `close_and_wait` against peers that do not finish the closing handshake:
//! it gives up at the core's close timeout (`Config::close_timeout`),
//! restores the stream's read timeout, and the WebSocket is over. The
//! timeouts here are bounds on how long a broken peer can hold the caller,
//! not measurements.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use weir_std::{ClientOptions, CloseCode, Config, Error, MaybeTls, WebSocket};

/// The client's own read timeout: without the close timeout, a silent peer
/// would hold `close_and_wait` this long and then fail with an I/O timeout.
const GUARD: Duration = Duration::from_secs(10);

/// The close timeout under test.
const CLOSE_TIMEOUT: Duration = Duration::from_millis(200);

/// A server that runs the opening handshake, then gives its WebSocket to
/// `then` on its own thread. Returns the client, with `GUARD` as its read
/// timeout and `CLOSE_TIMEOUT` as its close timeout.
fn client_against(then: impl FnOnce(WebSocket<TcpStream>) + Send + 'static) -> WebSocket<MaybeTls> {
    client_with(
        Config::default().with_close_timeout(Some(CLOSE_TIMEOUT)),
        then,
    )
}

/// [`client_against`] with the client's `config`.
fn client_with(
    config: Config,
    then: impl FnOnce(WebSocket<TcpStream>) + Send + 'static,
) -> WebSocket<MaybeTls> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("ws://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        then(weir_std::accept(stream).unwrap());
    });
    let (ws, _) = weir_std::connect_with(&uri, ClientOptions::default(), config).unwrap();
    ws.get_ref().tcp().set_read_timeout(Some(GUARD)).unwrap();
    ws
}

/// Holds the server's socket open, reading nothing, until the test ends.
fn hold_until(done: mpsc::Receiver<()>) -> impl FnOnce(WebSocket<TcpStream>) + Send {
    move |ws| {
        let _ = done.recv();
        drop(ws);
    }
}

/// Asserts that `close_and_wait`, called at `started`, gave up well before
/// the client's own read timeout would have, and put that timeout back.
fn assert_gave_up_in_time(ws: &WebSocket<MaybeTls>, started: Instant) {
    assert!(
        started.elapsed() < GUARD / 2,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        ws.get_ref().tcp().read_timeout().unwrap(),
        Some(GUARD),
        "restored"
    );
}

#[test]
fn a_peer_that_never_answers_the_close_gives_close_timeout() {
    let (done, hold) = mpsc::channel();
    let mut ws = client_against(hold_until(hold));

    let started = Instant::now();
    let result = ws.close_and_wait(CloseCode::NORMAL, "bye");
    assert!(
        matches!(result, Err(Error::CloseTimeout(limit)) if limit == CLOSE_TIMEOUT),
        "{result:?}"
    );
    assert_gave_up_in_time(&ws, started);
    assert!(matches!(ws.read(), Err(Error::AlreadyClosed)));
    assert!(matches!(
        ws.close_and_wait(CloseCode::NORMAL, ""),
        Err(Error::AlreadyClosed)
    ));
    done.send(()).unwrap();
}

#[test]
fn a_peer_that_trickles_bytes_cannot_stretch_the_close_timeout() {
    // Every read returns something, so no read ever times out: only a
    // deadline over the whole wait ends it. The server sends a 64 KiB frame
    // one byte at a time, for at most 3 s, then ends the connection.
    let mut ws = client_against(|mut ws| {
        let header = [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0];
        let _ = ws.get_mut().write_all(&header);
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until && ws.get_mut().write_all(&[0]).is_ok() {
            thread::sleep(Duration::from_millis(10));
        }
    });
    let result = ws.close_and_wait(CloseCode::NORMAL, "");
    assert!(matches!(result, Err(Error::CloseTimeout(_))), "{result:?}");
}

#[test]
fn a_client_stops_waiting_for_the_servers_tcp_close_at_the_close_timeout() {
    // The server answers the Close but keeps TCP open: the closing handshake
    // is complete, so the client returns the answer once the timeout ends
    // its wait for EOF.
    let (done, hold) = mpsc::channel::<()>();
    let mut ws = client_against(move |mut ws| {
        ws.set_shutdown(None);
        assert!(matches!(ws.read(), Err(Error::Closed(_))));
        hold_until(hold)(ws);
    });
    let started = Instant::now();
    let answer = ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    assert_eq!(answer.map(|frame| frame.code), Some(CloseCode::NORMAL));
    assert_gave_up_in_time(&ws, started);
    done.send(()).unwrap();
}
