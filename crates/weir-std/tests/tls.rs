//! weir-std over TLS on loopback: a client from `connect_tls` against a
//! server from `accept_tls`, each with a certificate made here by rcgen (no
//! key is committed). Messages of every size, certificate failures, read
//! timeouts and the end of a connection with and without `close_notify`;
//! and the `wscat` example against a TLS server.

use std::io::Read;
use std::net::{Shutdown, TcpListener};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rcgen::{generate_simple_self_signed, CertifiedKey};
use weir_std::{
    ClientOptions, ClientTls, CloseCode, Config, Error, MaybeTls, Message, ServerTls,
    ServerTlsStream, WebSocket,
};

#[path = "tls/wscat.rs"]
mod wscat;

/// Guards every blocking read in these tests against a hang.
const GUARD: Duration = Duration::from_secs(10);

/// A self-signed certificate for `names` and its key, as PEM.
fn self_signed(names: &[&str]) -> (String, String) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let CertifiedKey { cert, signing_key } = generate_simple_self_signed(names).unwrap();
    (cert.pem(), signing_key.serialize_pem())
}

/// A TLS server on a fresh loopback port, serving one connection.
struct TestServer<T> {
    /// `wss://127.0.0.1:PORT`.
    uri: String,
    /// Its certificate, as PEM: what a client trusts.
    cert: String,
    thread: JoinHandle<T>,
}

impl<T> TestServer<T> {
    fn join(self) -> T {
        self.thread.join().unwrap()
    }
}

/// A server whose certificate names `names`: it accepts one TCP connection
/// (reads bounded by [`GUARD`]), runs `accept_tls`, and hands the result to
/// `serve` on its own thread.
fn serve_one<T: Send + 'static>(
    names: &[&str],
    serve: impl FnOnce(Result<WebSocket<ServerTlsStream>, Error>) -> T + Send + 'static,
) -> TestServer<T> {
    let (cert, key) = self_signed(names);
    let tls = ServerTls::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("wss://{}", listener.local_addr().unwrap());
    let thread = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(GUARD)).unwrap();
        serve(weir_std::accept_tls(tcp, &tls))
    });
    TestServer { uri, cert, thread }
}

/// Echoes every message; returns how the connection ended.
fn echo(ws: Result<WebSocket<ServerTlsStream>, Error>) -> Error {
    let mut ws = ws.unwrap();
    loop {
        match ws.read() {
            Ok(message) => ws.send(message).unwrap(),
            Err(error) => return error,
        }
    }
}

/// Options without permessage-deflate, so every byte crosses TLS as sent.
fn uncompressed() -> ClientOptions {
    let options = ClientOptions::default();
    #[cfg(feature = "deflate")]
    let options = options.with_deflate(None);
    options
}

/// A client of `server` that trusts its certificate, reads bounded by
/// [`GUARD`].
fn connect<T>(server: &TestServer<T>, config: Config) -> WebSocket<MaybeTls> {
    let trust = ClientTls::from_ca_pem(server.cert.as_bytes()).unwrap();
    let (ws, response) = weir_std::connect_tls(&server.uri, &trust, uncompressed(), config)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 101);
    ws.get_ref().tcp().set_read_timeout(Some(GUARD)).unwrap();
    ws
}

/// One raw read of a TLS stream whose WebSocket is over: `Ok(0)` once the
/// peer's `close_notify` came, an error if TCP ended without it.
fn tls_end(stream: &mut impl Read) -> Result<usize, String> {
    let mut byte = [0u8; 1];
    stream.read(&mut byte).map_err(|e| e.to_string())
}

/// A server's end: the client's Close, then what the TLS stream says.
fn close_then_tls_end(mut ws: WebSocket<ServerTlsStream>) -> (Error, Result<usize, String>) {
    let end = ws.read().unwrap_err();
    (end, tls_end(&mut ws.into_inner()))
}

/// A client of `server` closes; the server, which reports its end with
/// [`close_then_tls_end`], saw the Close and then the client's
/// `close_notify`. Returns the client, still alive: only its own shutdown
/// could have ended the server's last read.
fn close_cleanly(server: TestServer<(Error, Result<usize, String>)>) -> WebSocket<MaybeTls> {
    let mut ws = connect(&server, Config::default());
    let answer = ws.close_and_wait(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(answer.map(|frame| frame.code), Some(CloseCode::NORMAL));
    let (end, after) = server.join();
    assert_eq!(close_code(end), Some(CloseCode::NORMAL));
    assert_eq!(after, Ok(0), "the client did not end with close_notify");
    ws
}

fn close_code(error: Error) -> Option<CloseCode> {
    match error {
        Error::Closed(frame) => frame.map(|frame| frame.code),
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[test]
fn messages_of_every_size_cross_tls_both_ways() {
    let server = serve_one(&["127.0.0.1"], echo);
    let mut ws = connect(&server, Config::default());
    let MaybeTls::Tls(tls) = ws.get_ref() else {
        panic!("wss:// gave a plain stream");
    };
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));

    for size in [0, 1 << 10, 1 << 20, 16 << 20] {
        let payload: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        let message = Message::from(payload);
        ws.send(message.clone()).unwrap();
        assert!(ws.read().unwrap() == message, "{size} bytes");
    }
    ws.send("text too").unwrap();
    assert_eq!(ws.read().unwrap(), Message::from("text too"));

    let answer = ws.close_and_wait(CloseCode::NORMAL, "done").unwrap();
    assert_eq!(answer.map(|frame| frame.code), Some(CloseCode::NORMAL));
    assert_eq!(close_code(server.join()), Some(CloseCode::NORMAL));
}

#[test]
fn an_untrusted_certificate_is_a_clear_error() {
    let server = serve_one(&["127.0.0.1"], |ws| ws.err());
    // The bundled roots do not know a self-signed certificate.
    let error = weir_std::connect(&server.uri).unwrap_err();
    assert!(matches!(error, Error::Tls(_)), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("invalid peer certificate: UnknownIssuer"),
        "{text}"
    );
    assert!(text.contains("ClientTls::from_ca_file"), "{text}");
    // The server learns why from the client's alert.
    let seen = server.join().expect("the server's handshake failed");
    assert!(matches!(seen, Error::Tls(_)), "{seen:?}");
    assert!(seen.to_string().contains("UnknownCA"), "{seen}");
}

#[test]
fn a_certificate_for_another_host_is_a_clear_error() {
    let server = serve_one(&["other.test"], |ws| ws.err());
    let trust = ClientTls::from_ca_pem(server.cert.as_bytes()).unwrap();
    let error = weir_std::connect_tls(
        &server.uri,
        &trust,
        ClientOptions::default(),
        Config::default(),
    )
    .unwrap_err();
    assert!(matches!(error, Error::Tls(_)), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains(r#"certificate not valid for name "127.0.0.1""#)
            && text.contains("other.test"),
        "{text}"
    );
    assert!(server.join().is_some());
}

#[test]
fn read_timeouts_hold_over_tls_on_both_sides() {
    let (server_read_tx, server_read) = std::sync::mpsc::channel();
    let (release_tx, release) = std::sync::mpsc::channel::<()>();
    let server = serve_one(&["127.0.0.1"], move |ws| {
        let mut ws = ws.unwrap();
        ws.get_mut()
            .sock
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        server_read_tx.send(ws.read().unwrap_err()).unwrap();
        // Hold the connection, silent, until the client is done.
        let _ = release.recv();
    });
    let config = Config::default().with_close_timeout(Some(Duration::from_millis(200)));
    let mut ws = connect(&server, config);
    ws.get_mut()
        .tcp()
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();

    let started = Instant::now();
    let error = ws.read().unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert!(started.elapsed() < GUARD / 2, "{:?}", started.elapsed());
    let seen = server_read.recv().unwrap();
    assert!(seen.is_timeout(), "the server's read: {seen:?}");

    // The core's close deadline cuts a long wait short through the TLS
    // stream's socket, and the user's timeout is put back afterwards.
    ws.get_mut().tcp().set_read_timeout(Some(GUARD)).unwrap();
    let started = Instant::now();
    let result = ws.close_and_wait(CloseCode::NORMAL, "");
    assert!(matches!(result, Err(Error::CloseTimeout(_))), "{result:?}");
    assert!(started.elapsed() < GUARD / 2, "{:?}", started.elapsed());
    assert_eq!(ws.get_ref().tcp().read_timeout().unwrap(), Some(GUARD));
    release_tx.send(()).unwrap();
    server.join();
}

#[test]
fn a_client_close_ends_with_close_notify_both_ways() {
    // The client's close_notify follows its Close: a clean end of the TLS
    // stream, not a truncation.
    let server = serve_one(&["127.0.0.1"], |ws| close_then_tls_end(ws.unwrap()));
    let mut ws = close_cleanly(server);

    // The server's close_notify reached the client too: a clean EOF.
    assert_eq!(tls_end(ws.get_mut()), Ok(0));
}

#[test]
fn a_server_close_reaches_the_client_with_close_notify() {
    let server = serve_one(&["127.0.0.1"], |ws| {
        ws.unwrap().close_and_wait(CloseCode::GOING_AWAY, "restart")
    });
    let mut ws = connect(&server, Config::default());
    assert_eq!(
        close_code(ws.read().unwrap_err()),
        Some(CloseCode::GOING_AWAY)
    );
    let answer = server.join().unwrap();
    assert_eq!(answer.map(|frame| frame.code), Some(CloseCode::GOING_AWAY));
    assert_eq!(tls_end(ws.get_mut()), Ok(0), "a clean TLS end");
}

#[test]
fn tcp_closed_without_close_notify_after_the_closing_handshake_is_a_clean_end() {
    let server = serve_one(&["127.0.0.1"], |ws| {
        let mut ws = ws.unwrap();
        // A careless server: its write side closed with no TLS close_notify.
        ws.set_shutdown(Some(|tls| tls.sock.shutdown(Shutdown::Write)));
        // The client takes that EOF as the normal end and finishes its side.
        close_then_tls_end(ws)
    });
    let ws = close_cleanly(server);
    drop(ws);
}

#[test]
fn tcp_closed_without_close_notify_before_the_closing_handshake_is_1006() {
    let server = serve_one(&["127.0.0.1"], |ws| {
        let ws = ws.unwrap();
        let _ = ws.into_inner().sock.shutdown(Shutdown::Both);
    });
    let mut ws = connect(&server, Config::default());
    server.join();
    let error = ws.read().unwrap_err();
    assert!(matches!(error, Error::ConnectionReset), "{error:?}");
}
