//! The event loop serving `wss://` (`EventLoop::listen_tls`): echoes of
//! every size through TLS, and clients that do not complete a TLS
//! handshake (plain HTTP, garbage, a ClientHello cut in half and held
//! open), which cost only their own connection, within the handshake
//! timeout, while another client is served; and a closed connection ending
//! with TLS `close_notify`. The certificate is made here
//! with rcgen; weir-std's `connect_tls` is the client.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use weir_mio::{Config, EventLoop, Message, StopHandle};
use weir_std::{ClientTls, MaybeTls, ServerTls, WebSocket};
use weir_test_support::frames::{frame, read_frame};
use weir_test_support::recorder::{next_note, Note, Recorder};
use weir_test_support::tcp::{read_head, upgrade_request};
use weir_test_support::PATIENCE;

/// The handshake timeout of these servers: short, so that the abuse tests
/// see it pass.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(300);

/// The largest message the tests send.
const BIG: usize = 16 << 20;

/// An event loop serving TLS on 127.0.0.1 with a [`Recorder`], on its own
/// thread; and the certificate its clients trust.
struct TlsServer {
    addr: SocketAddr,
    trust: ClientTls,
    stop: StopHandle,
    thread: Option<JoinHandle<()>>,
}

impl TlsServer {
    fn start() -> (Self, std::sync::mpsc::Receiver<Note>) {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = made.cert.pem();
        let tls = ServerTls::from_pem(cert.as_bytes(), made.signing_key.serialize_pem().as_bytes())
            .unwrap();
        let connection = weir_mio::weir_proto::Config::default()
            .with_max_message_size(BIG + 1024)
            .with_max_frame_size(BIG + 1024)
            .with_max_send_queue(2 * BIG);
        let config = Config::default()
            .with_connection(connection)
            .with_handshake_timeout(HANDSHAKE_TIMEOUT);
        let mut event_loop = EventLoop::new(config).unwrap();
        let addr = event_loop.listen_tls("127.0.0.1:0", tls).unwrap();
        let stop = event_loop.stop_handle();
        let (mut recorder, notes) = Recorder::new();
        let thread = std::thread::spawn(move || event_loop.run(&mut recorder).unwrap());
        let server = Self {
            addr,
            trust: ClientTls::from_ca_pem(cert.as_bytes()).unwrap(),
            stop,
            thread: Some(thread),
        };
        (server, notes)
    }

    fn client(&self) -> WebSocket<MaybeTls> {
        let config = weir_std::Config::default()
            .with_max_message_size(BIG + 1024)
            .with_max_frame_size(BIG + 1024);
        let uri = format!("wss://{}/echo", self.addr);
        let options = weir_std::ClientOptions::default().with_deflate(None);
        let (ws, response) = weir_std::connect_tls(&uri, &self.trust, options, config).unwrap();
        assert_eq!(response.status(), 101);
        ws.get_ref().tcp().set_read_timeout(Some(PATIENCE)).unwrap();
        ws
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn messages_from_0_bytes_to_16_mib_echo_through_tls() {
    let (server, notes) = TlsServer::start();
    let mut ws = server.client();
    assert!(matches!(next_note(&notes), Note::Open { .. }));
    for size in [0, 1 << 10, 1 << 20, BIG] {
        let text = Message::from(String::from_utf8(vec![b'x'; size]).unwrap());
        let binary = Message::from(payload(size));
        for message in [text, binary] {
            ws.send(message.clone()).unwrap();
            assert_eq!(ws.read().unwrap(), message, "{size} bytes");
            assert!(matches!(next_note(&notes), Note::Message { .. }));
        }
    }
    ws.close_and_wait(weir_mio::CloseCode::NORMAL, "done")
        .unwrap();
    assert!(matches!(
        next_note(&notes),
        Note::Close {
            code: weir_mio::CloseCode::NORMAL,
            ..
        }
    ));
}

/// Opens a TCP connection to `server`, writes `bytes` and returns how long
/// the server took to close it (EOF or reset), reading whatever it sends.
fn closed_after(server: &TlsServer, bytes: &[u8]) -> Duration {
    let mut raw = TcpStream::connect(server.addr).unwrap();
    raw.set_read_timeout(Some(PATIENCE)).unwrap();
    let start = Instant::now();
    raw.write_all(bytes).unwrap();
    let mut sink = [0; 4096];
    loop {
        match raw.read(&mut sink) {
            Ok(0) | Err(_) => return start.elapsed(),
            Ok(_) => {}
        }
    }
}

#[test]
fn clients_that_do_not_speak_tls_cost_only_their_own_connection() {
    let (server, notes) = TlsServer::start();
    let mut good = server.client();
    assert!(matches!(next_note(&notes), Note::Open { .. }));
    // Plain HTTP and garbage: rustls refuses them at once.
    for bytes in [
        &b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"[..],
        &[0x42; 64][..],
    ] {
        let took = closed_after(&server, bytes);
        assert!(took < PATIENCE, "{took:?}");
        match next_note(&notes) {
            Note::Error { error, .. } => {
                assert!(
                    error.starts_with("TLS: received corrupt message"),
                    "{error}"
                )
            }
            other => panic!("expected on_error, got {other:?}"),
        }
        good.send("still here").unwrap();
        assert_eq!(good.read().unwrap(), Message::from("still here"));
        assert!(matches!(next_note(&notes), Note::Message { .. }));
    }
    // A ClientHello cut in half, held open: dropped at the handshake timeout.
    let hello_start = [
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    let took = closed_after(&server, &hello_start);
    assert!(took >= HANDSHAKE_TIMEOUT, "closed after {took:?}");
    assert!(
        took < HANDSHAKE_TIMEOUT + PATIENCE / 2,
        "closed after {took:?}"
    );
    good.send("and still").unwrap();
    assert_eq!(good.read().unwrap(), Message::from("and still"));
}

/// Echoes every message, and answers plain HTTP with a fixed page.
struct Echo;

impl weir_mio::server::WsHandler for Echo {
    type State = ();

    fn on_message(
        &self,
        ws: &weir_mio::server::Socket,
        _state: &mut Self::State,
        message: Message,
    ) {
        let _ = ws.send(message);
    }
}

#[test]
fn the_server_api_serves_tls_and_plain_at_once_and_https_for_plain_requests() {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = made.cert.pem();
    let tls =
        ServerTls::from_pem(cert.as_bytes(), made.signing_key.serialize_pem().as_bytes()).unwrap();
    let server = weir_mio::server::Server::builder()
        .bind("127.0.0.1:0")
        .tls(tls)
        .bind_plain("127.0.0.1:0")
        .route("/*", Echo)
        .http(|_| weir_mio::server::HttpResponse::text(200, "hello over https\n"))
        .build()
        .unwrap();
    let (tls_addr, plain_addr) = (server.local_addr(), server.plain_addr().unwrap());
    let handle = server.handle();
    let thread = std::thread::spawn(move || server.run());
    let trust = ClientTls::from_ca_pem(cert.as_bytes()).unwrap();

    let uri = format!("wss://{tls_addr}/a");
    let (mut secure, _) = weir_std::connect_tls(
        &uri,
        &trust,
        weir_std::ClientOptions::default(),
        weir_std::Config::default(),
    )
    .unwrap();
    let (mut plain, _) = weir_std::connect(&format!("ws://{plain_addr}/b")).unwrap();
    for ws in [&mut secure, &mut plain] {
        ws.get_ref().tcp().set_read_timeout(Some(PATIENCE)).unwrap();
        ws.send("ping").unwrap();
        assert_eq!(ws.read().unwrap(), Message::from("ping"));
    }
    assert!(matches!(secure.get_ref(), MaybeTls::Tls(_)));

    // The HTTP fallback over https, on a raw rustls client.
    let tcp = TcpStream::connect(tls_addr).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    let session = trust.connect("127.0.0.1").unwrap();
    let mut https = weir_std::weir_tls::rustls::StreamOwned::new(session, tcp);
    https
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = https.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.ends_with("hello over https\n"), "{answer}");

    secure
        .close_and_wait(weir_mio::CloseCode::NORMAL, "")
        .unwrap();
    plain
        .close_and_wait(weir_mio::CloseCode::NORMAL, "")
        .unwrap();
    handle.shutdown(Duration::from_millis(100));
    thread.join().unwrap().unwrap();
}

#[test]
fn the_server_ends_a_closed_connection_with_close_notify() {
    let (server, notes) = TlsServer::start();
    let tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    let session = server.trust.connect("127.0.0.1").unwrap();
    let mut tls = weir_std::weir_tls::rustls::StreamOwned::new(session, tcp);
    tls.write_all(&upgrade_request("/close", "")).unwrap();
    assert!(read_head(&mut tls).starts_with("HTTP/1.1 101 "));
    assert!(matches!(next_note(&notes), Note::Open { .. }));
    let close = [0x03, 0xe8];
    tls.write_all(&frame(0x8, &close, Some([1, 2, 3, 4])))
        .unwrap();
    let (head, payload) = read_frame(&mut tls);
    assert_eq!((head, &payload[..]), (0x88, &close[..]));
    // rustls reads a clean end only after close_notify; TCP closing
    // without it is an UnexpectedEof error.
    let mut rest = Vec::new();
    let end = tls.read_to_end(&mut rest).map_err(|e| e.kind());
    assert_eq!(
        end,
        Ok(0),
        "the server's side did not end with close_notify"
    );
}
