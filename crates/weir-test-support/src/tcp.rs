//! Raw TCP peers: a connected socket with the safety-net timeouts, an
//! upgrade written by hand or run by the core's client handshake, and
//! readers for what a server sends back. Tests use them to play a peer that
//! the real clients would never be (one that stalls, sends garbage, or stops
//! reading).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use weir_proto::handshake::ClientHandshake;

use crate::PATIENCE;

/// A TCP connection to `addr` with `TCP_NODELAY` and read and write
/// timeouts of [`PATIENCE`].
pub fn tcp(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// A valid upgrade request for `path` with the RFC's sample key, and
/// `extra` header lines (each ending in CRLF).
pub fn upgrade_request(path: &str, extra: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    .into_bytes()
}

/// A raw TCP peer that upgrades `/raw` by hand and checks the 101 and its
/// accept key; no byte past the response head is read.
pub fn raw_upgrade(addr: SocketAddr) -> TcpStream {
    let mut stream = tcp(addr);
    stream.write_all(&upgrade_request("/raw", "")).unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    stream
}

/// A raw TCP peer that runs the core's client handshake against `uri`
/// (`ws://IP:PORT`, with or without a path) and checks that it succeeded.
/// The response is read one byte at a time, so no frame after it is
/// consumed: the server's first frame is the stream's next byte.
pub fn raw_client(uri: &str) -> TcpStream {
    let authority = uri.trim_start_matches("ws://").split('/').next();
    let addr = authority
        .and_then(|a| a.parse().ok())
        .expect("a ws://IP:PORT URI");
    let mut stream = tcp(addr);
    let (mut handshake, request) = ClientHandshake::new(uri, Default::default()).unwrap();
    stream.write_all(&request).unwrap();
    let mut byte = [0];
    loop {
        let n = stream.read(&mut byte).unwrap();
        assert!(n > 0, "EOF during the handshake");
        if handshake.receive(&byte[..n]).unwrap().is_some() {
            return stream;
        }
    }
}

/// Reads an HTTP response head byte by byte, so that no byte after it (the
/// first frame) is consumed.
pub fn read_head(stream: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("a response head");
        assert_eq!(n, 1, "EOF inside the response head: {head:?}");
        head.push(byte[0]);
    }
    String::from_utf8(head).expect("a UTF-8 response head")
}

/// Reads until EOF and returns what came; an error (a reset, a timeout)
/// fails the test.
pub fn read_to_eof(stream: &mut impl Read) -> Vec<u8> {
    let mut all = Vec::new();
    match stream.read_to_end(&mut all) {
        Ok(_) => all,
        Err(e) => panic!("expected EOF, got {e} after {} bytes", all.len()),
    }
}
