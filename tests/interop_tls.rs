//! Python `websockets` over TLS (`wss://`), compression on: its client
//! against weir-std's TLS server (`accept_tls_with`) and the weir-mio
//! server API's (`ServerBuilder::tls`), and weir-std's client
//! (`connect_tls`) against its TLS server. The certificate is made
//! here with rcgen and trusted by both sides explicitly; no key is
//! committed.
//!
//! Like `interop_peers.rs`, these skip loudly without the peers (run
//! `bash scripts/interop-test.sh`, which installs them and sets
//! WEIR_INTEROP=1, under which a missing peer fails instead).
#![cfg(feature = "tls")]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use weir::blocking::{self, ClientTls, ServerTls};
use weir::event_loop::server::{Server, Socket, WsHandler};
use weir::proto::deflate::DeflateConfig;
use weir::proto::handshake::{AcceptOptions, ClientOptions};
use weir::proto::{CloseCode, Config, Message};
use weir_test_support::payloads::{assert_same, binary_pattern, text_pattern};
use weir_test_support::PATIENCE;

const VENV_PYTHON: &str = "target/interop-venv/bin/python";
const PEER: &str = "tests/interop/peer.py";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Whether Python's peer is installed; if not, a loud skip, or a failure
/// under WEIR_INTEROP=1.
fn python_installed() -> bool {
    if root().join(VENV_PYTHON).exists() {
        return true;
    }
    let message = "the Python interop peer is not installed: run `bash scripts/interop-test.sh`";
    assert!(
        std::env::var("WEIR_INTEROP").as_deref() != Ok("1"),
        "{message}"
    );
    let _ = writeln!(std::io::stderr(), "\n##### SKIPPED: {message} #####\n");
    false
}

/// A self-signed certificate for 127.0.0.1, written as PEM files into a
/// directory of the test's own; returns (certificate file, key file, the
/// certificate's PEM).
fn certificate(test: &str) -> (PathBuf, PathBuf, String) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let dir = root().join("target/interop-tls").join(test);
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let pem = made.cert.pem();
    std::fs::write(&cert, &pem).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert, key, pem)
}

fn python(args: &[&str]) -> Command {
    let mut command = Command::new(root().join(VENV_PYTHON));
    command.arg(root().join(PEER)).args(args);
    command
}

#[test]
fn python_client_over_tls_against_weir_std_server() {
    if !python_installed() {
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
    let output = python(&["client", url, "--ca", cert.to_str().unwrap()])
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
    fn on_message(&self, ws: &Socket, message: Message) {
        let _ = ws.send(message);
    }
}

#[test]
fn python_client_over_tls_against_weir_mio_server() {
    if !python_installed() {
        return;
    }
    let (cert, key, _) = certificate("mio-server");
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .tls(ServerTls::from_pem_files(&cert, &key).unwrap())
        .route("/*", Echo)
        .build()
        .unwrap();
    let url = format!("wss://{}/echo", server.local_addr());
    let handle = server.handle();
    let thread = thread::spawn(move || server.run());
    python_client_passes(&url, &cert);
    handle.shutdown(Duration::from_millis(100));
    thread.join().unwrap().unwrap();
}

#[test]
fn weir_std_client_over_tls_against_python_server() {
    if !python_installed() {
        return;
    }
    let (cert, key, pem) = certificate("python-server");
    let mut child = python(&[
        "server",
        "--tls",
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the server's output ended").unwrap();
        if let Some(addr) = line.strip_prefix("listening ") {
            break addr.to_owned();
        }
    };
    let trust = ClientTls::from_ca_pem(pem.as_bytes()).unwrap();
    let url = format!("wss://{addr}/");
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
    drop(child.stdin.take());
    let _ = child.wait();
}

fn tcp_of(ws: &blocking::WebSocket<blocking::MaybeTls>) -> &TcpStream {
    ws.get_ref().tcp()
}
