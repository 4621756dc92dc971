//! A blocking WebSocket client made of nothing but the core
//! ([`ClientHandshake`] and [`Connection`]) and a `std::net::TcpStream`.
//! Server tests use it as a peer that is independent of the adapter under
//! test, and reach into its connection to break rules on purpose.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use weir_proto::handshake::{ClientHandshake, ClientOptions, HandshakeError, Response};
use weir_proto::{CloseCode, Connection, Event, Message};

use crate::tcp::tcp;

/// A connected client: the socket, the core connection and the server's
/// handshake response.
pub struct Client {
    /// The socket, with the safety-net timeouts of [`tcp`].
    pub stream: TcpStream,
    /// The core connection, for tests that drive it by hand.
    pub conn: Connection,
    /// The server's 101 response.
    pub response: Response,
}

impl Client {
    /// Connects to `addr`, upgrades `path` with `options`, or returns the
    /// handshake error (a rejection shows up as its status).
    pub fn try_connect(
        addr: SocketAddr,
        path: &str,
        options: ClientOptions,
    ) -> Result<Self, HandshakeError> {
        let mut stream = tcp(addr);
        let (mut handshake, request) =
            ClientHandshake::new(&format!("ws://{addr}{path}"), options)?;
        stream.write_all(&request).unwrap();
        let mut buf = [0; 4096];
        loop {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "the server closed during the handshake");
            if let Some(response) = handshake.receive(&buf[..n])? {
                let conn = response
                    .connection(weir_proto::Config::default())
                    .expect("OS entropy");
                return Ok(Self {
                    stream,
                    conn,
                    response,
                });
            }
        }
    }

    /// Connects with the default options; any handshake error fails the
    /// test.
    pub fn connect(addr: SocketAddr, path: &str) -> Self {
        Self::try_connect(addr, path, ClientOptions::default()).unwrap()
    }

    /// Writes everything the connection has queued.
    pub fn flush(&mut self) {
        while let Some(bytes) = self.conn.poll_transmit() {
            self.stream.write_all(&bytes).unwrap();
        }
    }

    /// Sends a message and flushes it.
    pub fn send(&mut self, message: impl Into<Message>) {
        self.conn.send(message).unwrap();
        self.flush();
    }

    /// Starts the closing handshake and flushes the Close frame.
    pub fn close(&mut self, code: CloseCode, reason: &str) {
        self.conn.close(code, reason).unwrap();
        self.flush();
    }

    /// The next event (flushing any automatic reply it caused), or `None`
    /// at end of file. A protocol error fails the test.
    pub fn next_event(&mut self) -> Option<Event> {
        let mut buf = vec![0; 64 * 1024];
        loop {
            if let Some(event) = self.conn.poll_event() {
                let event = event.unwrap();
                self.flush();
                return Some(event);
            }
            let n = self.stream.read(&mut buf).unwrap();
            if n == 0 {
                return None;
            }
            self.conn.receive(&buf[..n]);
        }
    }

    /// The next message, skipping pings and pongs; anything else fails the
    /// test.
    pub fn next_message(&mut self) -> Message {
        loop {
            match self.next_event().expect("end of file before a message") {
                Event::Message(message) => return message,
                Event::Ping(_) | Event::Pong(_) => {}
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// Reads until end of file and returns the server's Close code and
    /// reason, if its Close frame had any; anything but a Close fails the
    /// test.
    pub fn expect_close_then_eof(&mut self) -> Option<(CloseCode, String)> {
        let mut close = None;
        while let Some(event) = self.next_event() {
            match event {
                Event::Close(frame) => {
                    close = frame.map(|f| (f.code, f.reason.to_string()));
                }
                other => panic!("expected a close, got {other:?}"),
            }
        }
        close
    }
}
