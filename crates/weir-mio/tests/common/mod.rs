//! Test support: an event loop on its own thread with a handler that reports
//! every callback over a channel, a small blocking client built on the core
//! (`ClientHandshake` + `Connection` over a `std::net::TcpStream`), and raw
//! frame helpers for peers that break the rules.
//!
//! Synchronization is by messages and socket reads only; the timeouts below
//! are safety nets that turn a hang into a failure, never waits.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use weir_mio::weir_proto::handshake::{ClientHandshake, HandshakeError, Response};
use weir_mio::weir_proto::{Connection, Event};
use weir_mio::{
    AcceptOptions, ClientOptions, CloseCode, Config, ConnId, ConnInfo, Error, EventLoop, Handler,
    Message, Opened, Rejection, Role, StopHandle, UpgradeRequest, Ws,
};

/// How long any single wait may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A callback, as the recording handler saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    Open {
        id: ConnId,
        role: Role,
        path: Option<String>,
        protocol: Option<String>,
    },
    Message {
        id: ConnId,
        message: Message,
    },
    Close {
        id: ConnId,
        code: CloseCode,
        reason: String,
    },
    Error {
        id: ConnId,
        error: String,
    },
    /// After a `flood` command: bytes still queued for the connection.
    Buffered {
        id: ConnId,
        bytes: usize,
    },
}

/// A handler that reports every callback and acts on text commands:
/// - `close CODE REASON`: close with that code and reason;
/// - `flood COUNT SIZE`: send COUNT binary messages of SIZE bytes, then
///   report [`Note::Buffered`];
/// - anything else is echoed.
///
/// Upgrades to `/private` are rejected with 401; a `chat` subprotocol
/// offer is accepted.
pub struct Recorder {
    pub notes: Sender<Note>,
    pub echo: bool,
    pub stop_on_client_close: Option<StopHandle>,
}

impl Recorder {
    pub fn new() -> (Self, Receiver<Note>) {
        let (tx, rx) = mpsc::channel();
        let recorder = Self {
            notes: tx,
            echo: true,
            stop_on_client_close: None,
        };
        (recorder, rx)
    }

    fn note(&self, note: Note) {
        let _ = self.notes.send(note);
    }
}

impl Handler for Recorder {
    fn on_upgrade(
        &mut self,
        request: &UpgradeRequest,
        _info: &ConnInfo,
    ) -> Result<AcceptOptions, Rejection> {
        if request.request().path() == "/private" {
            return Err(Rejection::new(401)
                .with_header("WWW-Authenticate", "Bearer")
                .with_body("who are you?"));
        }
        let protocol = request.protocols().iter().find(|p| *p == "chat").cloned();
        Ok(AcceptOptions {
            protocol,
            ..Default::default()
        })
    }

    fn on_open(&mut self, ws: &mut Ws<'_>, opened: Opened<'_>) {
        self.note(Note::Open {
            id: ws.id(),
            role: ws.role(),
            path: opened.path().map(str::to_owned),
            protocol: ws.protocol().map(str::to_owned),
        });
        if ws.role() == Role::Client {
            ws.send("hello from the client").unwrap();
        }
    }

    fn on_message(&mut self, ws: &mut Ws<'_>, message: Message) {
        self.note(Note::Message {
            id: ws.id(),
            message: message.clone(),
        });
        if let Message::Text(text) = &message {
            let words: Vec<&str> = text.splitn(3, ' ').collect();
            match words.as_slice() {
                ["close", code, reason] => {
                    let code = CloseCode::new(code.parse().unwrap());
                    ws.close(code, reason).unwrap();
                    return;
                }
                ["flood", count, size] => {
                    let count: usize = count.parse().unwrap();
                    let payload = Bytes::from(vec![0xab; size.parse().unwrap()]);
                    for _ in 0..count {
                        ws.send(payload.clone()).unwrap();
                    }
                    self.note(Note::Buffered {
                        id: ws.id(),
                        bytes: ws.buffered_amount(),
                    });
                    return;
                }
                _ => {}
            }
        }
        if ws.role() == Role::Client {
            ws.close(CloseCode::NORMAL, "client done").unwrap();
        } else if self.echo {
            ws.send(message).unwrap();
        }
    }

    fn on_close(&mut self, ws: &mut Ws<'_>, code: CloseCode, reason: &str) {
        assert!(!ws.is_open());
        assert!(ws.send("too late").is_err());
        self.note(Note::Close {
            id: ws.id(),
            code,
            reason: reason.to_owned(),
        });
        if ws.role() == Role::Client {
            if let Some(stop) = &self.stop_on_client_close {
                stop.stop();
            }
        }
    }

    fn on_error(&mut self, ws: &mut Ws<'_>, error: &Error) {
        self.note(Note::Error {
            id: ws.id(),
            error: error.to_string(),
        });
    }
}

/// An event loop listening on 127.0.0.1, run by its own thread.
pub struct Server<H: Handler + Send + 'static> {
    pub addr: SocketAddr,
    stop: StopHandle,
    thread: Option<JoinHandle<H>>,
}

impl<H: Handler + Send + 'static> Server<H> {
    pub fn start(config: Config, handler: H) -> Self {
        let mut event_loop = EventLoop::new(config).unwrap();
        let addr = event_loop.listen("127.0.0.1:0").unwrap();
        let stop = event_loop.stop_handle();
        let thread = std::thread::spawn(move || {
            let mut handler = handler;
            event_loop.run(&mut handler).unwrap();
            handler
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the loop and returns the handler.
    pub fn stop(mut self) -> H {
        self.stop.stop();
        self.thread.take().unwrap().join().unwrap()
    }
}

impl<H: Handler + Send + 'static> Drop for Server<H> {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.stop.stop();
            let _ = thread.join();
        }
    }
}

/// Starts a server with a [`Recorder`].
pub fn recording_server(config: Config) -> (Server<Recorder>, Receiver<Note>) {
    let (recorder, notes) = Recorder::new();
    (Server::start(config, recorder), notes)
}

/// The next note, or a failure after [`PATIENCE`].
pub fn next_note(notes: &Receiver<Note>) -> Note {
    notes
        .recv_timeout(PATIENCE)
        .expect("the handler reported nothing")
}

/// Skips notes until one matches.
pub fn wait_for(notes: &Receiver<Note>, mut matches: impl FnMut(&Note) -> bool) -> Note {
    loop {
        let note = next_note(notes);
        if matches(&note) {
            return note;
        }
    }
}

/// A TCP connection to `addr` with the safety-net timeouts set.
pub fn tcp(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// A blocking WebSocket client built from the core.
pub struct Client {
    pub stream: TcpStream,
    pub conn: Connection,
    pub response: Response,
}

impl Client {
    /// Connects and completes the handshake, or returns the handshake error.
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
                let conn = response.connection(Default::default()).expect("OS entropy");
                return Ok(Self {
                    stream,
                    conn,
                    response,
                });
            }
        }
    }

    pub fn connect(addr: SocketAddr, path: &str) -> Self {
        Self::try_connect(addr, path, ClientOptions::default()).unwrap()
    }

    pub fn flush(&mut self) {
        while let Some(bytes) = self.conn.poll_transmit() {
            self.stream.write_all(&bytes).unwrap();
        }
    }

    pub fn send(&mut self, message: impl Into<Message>) {
        self.conn.send(message).unwrap();
        self.flush();
    }

    pub fn close(&mut self, code: CloseCode, reason: &str) {
        self.conn.close(code, reason).unwrap();
        self.flush();
    }

    /// The next event, or `None` at end of file. Protocol errors panic.
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

    /// The next message, skipping control frames.
    pub fn next_message(&mut self) -> Message {
        loop {
            match self.next_event().expect("end of file before a message") {
                Event::Message(message) => return message,
                Event::Ping(_) | Event::Pong(_) => {}
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// Reads until end of file, failing on anything but a Close.
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

/// A raw upgrade: writes a fixed request to `/raw` and reads the response
/// head byte by byte, so no frame byte is consumed. Returns the stream.
pub fn raw_upgrade(addr: SocketAddr) -> TcpStream {
    let mut stream = tcp(addr);
    stream
        .write_all(
            b"GET /raw HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    stream
}

/// Reads an HTTP response head, byte by byte.
pub fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).unwrap();
        assert_eq!(n, 1, "end of file inside the response head");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// Reads everything until end of file.
pub fn read_to_eof(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    stream.read_to_end(&mut all).unwrap();
    all
}

/// A frame with FIN set, masked with `mask` if given.
pub fn frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        len @ 0..=125 => out.push(mask_bit | len as u8),
        len @ 126..=0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// Reads one unmasked frame (a server's): its first byte and payload.
pub fn read_frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0; 2];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
    let len = match head[1] & 0x7f {
        126 => {
            let mut ext = [0; 2];
            stream.read_exact(&mut ext).unwrap();
            u16::from_be_bytes(ext) as usize
        }
        127 => {
            let mut ext = [0; 8];
            stream.read_exact(&mut ext).unwrap();
            u64::from_be_bytes(ext) as usize
        }
        len => len as usize,
    };
    let mut payload = vec![0; len];
    stream.read_exact(&mut payload).unwrap();
    (head[0], payload)
}
