//! Python `websockets` over TLS (`wss://`), compression on: its client
//! against weir-std's TLS server (`accept_tls_with`) and the weir-mio
//! server API's (`ServerBuilder::tls`), and weir-std's client
//! (`connect_tls`) and weir-mio's (`EventLoop::connect_tls`) against its
//! TLS server. The certificate is made
//! here with rcgen and trusted by both sides explicitly; no key is
//! committed.
//!
//! Like `interop_peers`, these skip loudly without the peers (run
//! `bash scripts/interop-test.sh`, which installs them and sets
//! WEIR_INTEROP=1, under which a missing peer fails instead).
#![cfg(feature = "tls")]

use std::ffi::OsStr;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread;
use std::time::Duration;

use weir::blocking::{self, ClientTls, ServerTls};
use weir::event_loop::server::{Server, Socket, WsHandler};
use weir::proto::deflate::DeflateConfig;
use weir::proto::handshake::{AcceptOptions, ClientOptions};
use weir::proto::{CloseCode, Config, Message};
use weir_test_support::api_server::ApiServer;
use weir_test_support::payloads::{assert_same, binary_pattern, text_pattern};
use weir_test_support::peers::{installed, workspace, Peer, PeerServer};
use weir_test_support::script::{client_loop, run_client_loop, Script, Step};
use weir_test_support::PATIENCE;

/// A self-signed certificate for 127.0.0.1, written as PEM files into a
/// directory of the test's own; returns (certificate file, key file, the
/// certificate's PEM).
fn certificate(test: &str) -> (PathBuf, PathBuf, String) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let dir = workspace().join("target/interop-tls").join(test);
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let pem = made.cert.pem();
    std::fs::write(&cert, &pem).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert, key, pem)
}

#[test]
fn python_client_over_tls_against_weir_std_server() {
    if !installed(&[Peer::Python]) {
        return;
    }
    let (cert, key, _) = certificate("std-server");
    let tls = ServerTls::from_pem_files(&cert, &key).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("wss://{}/echo", listener.local_addr().unwrap());
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(PATIENCE)).unwrap();
        tcp.set_write_timeout(Some(PATIENCE)).unwrap();
        let options = AcceptOptions {
            deflate: Some(DeflateConfig::default()),
            ..AcceptOptions::default()
        };
        let mut ws = blocking::accept_tls_with(tcp, &tls, Config::default(), |_| Ok(options))
            .expect("the TLS and WebSocket handshakes");
        let mut echoed = 0;
        loop {
            match ws.read() {
                Ok(message) => ws.send(message).unwrap(),
                Err(blocking::Error::Closed(_)) => return echoed,
                Err(error) => panic!("after {echoed} echoes: {error}"),
            }
            echoed += 1;
        }
    });
    python_client_passes(&url, &cert);
    assert!(server.join().unwrap() > 0);
}

/// Runs Python's client against `url`, trusting `cert`; asserts it passed.
fn python_client_passes(url: &str, cert: &Path) {
    let output = Peer::Python
        .command("client")
        .arg(url)
        .arg("--ca")
        .arg(cert)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}");
    assert!(
        output.status.success(),
        "the Python client failed: {stdout}"
    );
    assert!(stdout.contains("ok: "), "{stdout}");
    assert!(stdout.contains("permessage-deflate"), "{stdout}");
}

/// Echoes every message.
struct Echo;

impl WsHandler for Echo {
    type State = ();

    fn on_message(&self, ws: &Socket, _state: &mut Self::State, message: Message) {
        let _ = ws.send(message);
    }
}

#[test]
fn python_client_over_tls_against_weir_mio_server() {
    if !installed(&[Peer::Python]) {
        return;
    }
    let (cert, key, _) = certificate("mio-server");
    let server = ApiServer::start(
        Server::builder()
            .tls(ServerTls::from_pem_files(&cert, &key).unwrap())
            .route("/*", Echo),
    );
    let url = format!("wss://{}/echo", server.addr);
    python_client_passes(&url, &cert);
    server.shutdown(Duration::from_millis(100));
}

#[test]
fn weir_std_client_over_tls_against_python_server() {
    if !installed(&[Peer::Python]) {
        return;
    }
    let (cert, key, pem) = certificate("python-server");
    let server = PeerServer::start(
        Peer::Python,
        [OsStr::new("--tls"), cert.as_ref(), key.as_ref()],
    );
    let trust = ClientTls::from_ca_pem(pem.as_bytes()).unwrap();
    let url = format!("wss://{}/", server.addr);
    let (mut ws, response) =
        blocking::connect_tls(&url, &trust, ClientOptions::default(), Config::default()).unwrap();
    assert_eq!(response.status(), 101);
    assert!(ws.connection().deflate().is_some(), "no permessage-deflate");
    tcp_of(&ws).set_read_timeout(Some(PATIENCE)).unwrap();
    for size in [0, 20, 1 << 10, 64 << 10, 1 << 20] {
        for message in [
            Message::from(text_pattern(size).as_str()),
            Message::from(binary_pattern(size)),
        ] {
            ws.send(message.clone()).unwrap();
            let echo = ws.read().unwrap();
            assert_same(&echo, &message, &format!("{size} bytes"));
        }
    }
    ws.close_and_wait(CloseCode::NORMAL, "done").unwrap();
}

#[test]
fn weir_mio_client_over_tls_against_python_server() {
    if !installed(&[Peer::Python]) {
        return;
    }
    let (cert, key, pem) = certificate("python-server-mio-client");
    let server = PeerServer::start(
        Peer::Python,
        [OsStr::new("--tls"), cert.as_ref(), key.as_ref()],
    );
    let trust = weir::event_loop::ClientTls::from_ca_pem(pem.as_bytes()).unwrap();
    let mut steps = Vec::new();
    for size in [0, 20, 1 << 10, 64 << 10, 1 << 20] {
        steps.push(Step::Echo(Message::from(text_pattern(size).as_str())));
        steps.push(Step::Echo(Message::from(binary_pattern(size))));
    }
    steps.push(Step::Close(1000, "done".into()));
    let mut script = Script::new(steps);
    let mut event_loop = client_loop();
    let url = format!("wss://{}/", server.addr);
    event_loop
        .connect_tls(&url, ClientOptions::default(), &trust)
        .unwrap();
    run_client_loop(&mut event_loop, &mut script);
    script.assert_echoes();
    assert_eq!(script.echoes.len(), 10);
    assert!(script.errors.is_empty(), "{:?}", script.errors);
    assert_eq!(script.closes.first().map(|close| close.0), Some(1000));
}

fn tcp_of(ws: &blocking::WebSocket<blocking::MaybeTls>) -> &TcpStream {
    ws.get_ref().tcp()
}
