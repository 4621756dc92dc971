//! Shared helpers for the cross-crate tests: echo servers on both adapters
//! (each on its own thread, reporting what it sees over a channel), a
//! scripted event-loop client, a blocking client, deterministic payloads and
//! raw-socket helpers for peers that break the rules.
//!
//! Synchronization is by channels, joins and blocking socket reads only.
//! [`GUARD`] is a safety net that turns a hang into a failure, never a wait.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use weir::blocking::{self, MaybeTls, WebSocket};
use weir::event_loop::{self, EventLoop, Handler, Opened, Ws};
use weir::proto::{CloseCode, Message, MessageKind};

/// The longest any single wait may take before the test fails.
pub const GUARD: Duration = Duration::from_secs(30);

/// The two adapters, as a server or as a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adapter {
    /// weir-std (`weir::blocking`): one thread per connection.
    Std,
    /// weir-mio (`weir::event_loop`): one event loop.
    Mio,
}

/// What an echo server saw, on either adapter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// A connection opened (mio `on_open`; std `accept` returned).
    Open { conn: u64 },
    /// The peer's Close frame arrived (mio `on_close`; std `read` returning
    /// `Error::Closed`), or TCP ended without one (1006; std
    /// `Error::ConnectionReset`), or (mio only) the server failed the
    /// connection with this code.
    Close {
        conn: u64,
        code: u16,
        reason: String,
    },
    /// Something went wrong (mio `on_error`; std any other error, including
    /// a refused send or close).
    Error { conn: u64, error: String },
}

/// A text message `close CODE REASON` asks an echo server to close the
/// connection with that code and reason instead of echoing.
pub fn close_command(code: u16, reason: &str) -> String {
    format!("close {code} {reason}")
}

fn parse_close_command(message: &Message) -> Option<(CloseCode, String)> {
    let Message::Text(text) = message else {
        return None;
    };
    let rest = text.as_str().strip_prefix("close ")?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    Some((CloseCode::new(code.parse().ok()?), reason.to_owned()))
}

/// An echo server on its own thread: echoes every message, obeys
/// [`close_command`], reports every connection's life to `notes`. Stopped
/// and joined on drop.
pub struct EchoServer {
    pub adapter: Adapter,
    pub addr: SocketAddr,
    pub notes: Receiver<Note>,
    stop: Option<Box<dyn FnOnce()>>,
}

impl EchoServer {
    pub fn start(adapter: Adapter) -> Self {
        match adapter {
            Adapter::Mio => start_mio_echo_server(),
            Adapter::Std => start_std_echo_server(),
        }
    }

    /// The next note, or a failure after [`GUARD`].
    pub fn next_note(&self) -> Note {
        match self.notes.recv_timeout(GUARD) {
            Ok(note) => note,
            Err(error) => panic!("the {:?} server reported nothing: {error}", self.adapter),
        }
    }

    /// Skips notes until one matches, and returns it.
    pub fn wait_for(&self, mut matches: impl FnMut(&Note) -> bool) -> Note {
        let mut skipped = Vec::new();
        loop {
            let note = match self.notes.recv_timeout(GUARD) {
                Ok(note) => note,
                Err(error) => panic!(
                    "the {:?} server never reported the expected note ({error}); saw {skipped:?}",
                    self.adapter
                ),
            };
            if matches(&note) {
                return note;
            }
            skipped.push(note);
        }
    }

    /// Waits for the next connection to open and returns its id.
    pub fn next_open(&self) -> u64 {
        match self.wait_for(|n| matches!(n, Note::Open { .. })) {
            Note::Open { conn } => conn,
            _ => unreachable!(),
        }
    }

    /// Waits for connection `conn`'s Close note: its code and reason.
    pub fn close_of(&self, conn: u64) -> (u16, String) {
        match self.wait_for(|n| matches!(n, Note::Close { conn: c, .. } if *c == conn)) {
            Note::Close { code, reason, .. } => (code, reason),
            _ => unreachable!(),
        }
    }

    /// Waits for connection `conn`'s Error note and returns its text.
    pub fn error_of(&self, conn: u64) -> String {
        match self.wait_for(|n| matches!(n, Note::Error { conn: c, .. } if *c == conn)) {
            Note::Error { error, .. } => error,
            _ => unreachable!(),
        }
    }

    pub fn uri(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

/// The weir-mio echo handler.
struct MioEcho {
    notes: Sender<Note>,
}

impl MioEcho {
    fn note(&self, note: Note) {
        let _ = self.notes.send(note);
    }
}

impl Handler for MioEcho {
    fn on_open(&mut self, ws: &mut Ws<'_>, _opened: Opened<'_>) {
        self.note(Note::Open {
            conn: ws.id().as_u64(),
        });
    }

    fn on_message(&mut self, ws: &mut Ws<'_>, message: Message) {
        let conn = ws.id().as_u64();
        let result = match parse_close_command(&message) {
            Some((code, reason)) => ws.close(code, &reason),
            None => ws.send(message),
        };
        if let Err(error) = result {
            self.note(Note::Error {
                conn,
                error: error.to_string(),
            });
        }
    }

    fn on_close(&mut self, ws: &mut Ws<'_>, code: CloseCode, reason: &str) {
        self.note(Note::Close {
            conn: ws.id().as_u64(),
            code: code.as_u16(),
            reason: reason.to_owned(),
        });
    }

    fn on_error(&mut self, ws: &mut Ws<'_>, error: &event_loop::Error) {
        self.note(Note::Error {
            conn: ws.id().as_u64(),
            error: error.to_string(),
        });
    }
}

fn start_mio_echo_server() -> EchoServer {
    let mut event_loop = EventLoop::new(event_loop::Config::default()).unwrap();
    let addr = event_loop.listen("127.0.0.1:0").unwrap();
    let stop = event_loop.stop_handle();
    let (tx, notes) = mpsc::channel();
    let thread = thread::spawn(move || {
        let mut handler = MioEcho { notes: tx };
        event_loop.run(&mut handler).unwrap();
    });
    EchoServer {
        adapter: Adapter::Mio,
        addr,
        notes,
        stop: Some(Box::new(move || {
            stop.stop();
            // A panic in the loop's thread is a test failure.
            if let Err(panic) = thread.join() {
                if !thread::panicking() {
                    std::panic::resume_unwind(panic);
                }
            }
        })),
    }
}

fn start_std_echo_server() -> EchoServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stopping = Arc::new(AtomicBool::new(false));
    let (tx, notes) = mpsc::channel();
    let acceptor = {
        let stopping = Arc::clone(&stopping);
        thread::spawn(move || {
            let mut next_conn = 1;
            for stream in listener.incoming() {
                if stopping.load(Ordering::Acquire) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (conn, notes) = (next_conn, tx.clone());
                next_conn += 1;
                thread::spawn(move || serve_std_connection(stream, conn, notes));
            }
        })
    };
    EchoServer {
        adapter: Adapter::Std,
        addr,
        notes,
        stop: Some(Box::new(move || {
            stopping.store(true, Ordering::Release);
            // Wake the acceptor; it sees the flag and returns.
            let _ = TcpStream::connect(addr);
            let _ = acceptor.join();
        })),
    }
}

/// One connection of the weir-std echo server.
fn serve_std_connection(stream: TcpStream, conn: u64, notes: Sender<Note>) {
    let note = |note: Note| {
        let _ = notes.send(note);
    };
    let error = |error: &dyn std::fmt::Display| Note::Error {
        conn,
        error: error.to_string(),
    };
    stream.set_read_timeout(Some(GUARD)).unwrap();
    stream.set_write_timeout(Some(GUARD)).unwrap();
    let mut ws = match blocking::accept(stream) {
        Ok(ws) => ws,
        Err(e) => return note(error(&e)),
    };
    note(Note::Open { conn });
    loop {
        match ws.read() {
            Ok(message) => {
                let result = match parse_close_command(&message) {
                    // Keep reading: the peer's answer comes back as Closed.
                    Some((code, reason)) => ws.close(code, &reason),
                    None => ws.send(message),
                };
                if let Err(e) = result {
                    note(error(&e));
                    if !matches!(e, blocking::Error::Send(_)) {
                        return;
                    }
                }
            }
            Err(blocking::Error::Closed(frame)) => {
                let (code, reason) = frame.map_or((1005, String::new()), |f| {
                    (f.code.as_u16(), f.reason.as_str().to_owned())
                });
                return note(Note::Close { conn, code, reason });
            }
            Err(blocking::Error::ConnectionReset) => {
                return note(Note::Close {
                    conn,
                    code: 1006,
                    reason: String::new(),
                })
            }
            Err(e) => return note(error(&e)),
        }
    }
}

/// A weir-std client connected to `uri`, with read and write timeouts of
/// [`GUARD`].
pub fn std_client(uri: &str) -> WebSocket<MaybeTls> {
    let (ws, response) = blocking::connect(uri).unwrap();
    assert_eq!(response.status(), 101);
    ws.get_ref().tcp().set_read_timeout(Some(GUARD)).unwrap();
    ws.get_ref().tcp().set_write_timeout(Some(GUARD)).unwrap();
    ws
}

/// Sends `message` and reads the echo, comparing it byte for byte.
pub fn std_round_trip(ws: &mut WebSocket<MaybeTls>, message: Message, what: &str) {
    ws.send(message.clone()).unwrap();
    let echoed = ws.read().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_same(&echoed, &message, what);
}

/// Asserts that the transport of a std client reached EOF: the server
/// closed TCP.
pub fn assert_std_eof(ws: &mut WebSocket<MaybeTls>) {
    let mut byte = [0; 1];
    assert_eq!(
        ws.get_mut().read(&mut byte).unwrap(),
        0,
        "expected the server to close TCP"
    );
}

/// Runs `event_loop` (clients only) until it holds no connection. Fails if
/// that takes longer than [`GUARD`].
pub fn run_client_loop<H: Handler>(event_loop: &mut EventLoop, handler: &mut H) {
    let stop = event_loop.stop_handle();
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || match finished.recv_timeout(GUARD) {
        Err(RecvTimeoutError::Timeout) => {
            stop.stop();
            true
        }
        _ => false,
    });
    event_loop.run_until_idle(handler).unwrap();
    drop(done);
    let fired = watchdog.join().unwrap();
    assert!(!fired, "the client loop did not finish within {GUARD:?}");
    assert_eq!(event_loop.connection_count(), 0);
}

/// A client event loop whose close timeout is long enough that a loop that
/// finishes did so because the closing handshake completed.
pub fn client_loop() -> EventLoop {
    let connection = weir::proto::Config::default().with_close_timeout(Some(GUARD * 2));
    EventLoop::new(event_loop::Config::default().with_connection(connection)).unwrap()
}

/// One step of a [`Script`].
#[derive(Clone, Debug)]
pub enum Step {
    /// Send this message and wait for its echo.
    Echo(Message),
    /// Ask the server to close with this code and reason; wait for its Close.
    AskServerClose(u16, String),
    /// Close with this code and reason; wait for the server's answer.
    Close(u16, String),
}

/// A weir-mio client handler that plays steps in order, one at a time.
#[derive(Default)]
pub struct Script {
    pub steps: VecDeque<Step>,
    /// Messages sent, awaiting their echo, in order.
    pub expected: VecDeque<Message>,
    /// Echoes received, each paired with what was sent.
    pub echoes: Vec<(Message, Message)>,
    pub opened: bool,
    pub closes: Vec<(u16, String)>,
    pub errors: Vec<String>,
    /// Errors from `Ws` commands (a refused close or send).
    pub refused: Vec<String>,
}

impl Script {
    pub fn new(steps: impl IntoIterator<Item = Step>) -> Self {
        Self {
            steps: steps.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Plays the next step; a step the client refuses is recorded in
    /// `refused` and the one after it is played at once.
    fn next_step(&mut self, ws: &mut Ws<'_>) {
        while let Some(step) = self.steps.pop_front() {
            let result = match step {
                Step::Echo(message) => ws
                    .send(message.clone())
                    .map(|()| self.expected.push_back(message)),
                Step::AskServerClose(code, reason) => ws.send(close_command(code, &reason)),
                Step::Close(code, reason) => ws.close(CloseCode::new(code), &reason),
            };
            match result {
                Ok(()) => return,
                Err(error) => self.refused.push(error.to_string()),
            }
        }
    }

    /// Runs the script against `uri` on a fresh client loop, to the end of
    /// the connection.
    pub fn run(mut self, uri: &str) -> Self {
        let mut event_loop = client_loop();
        event_loop.connect(uri, Default::default()).unwrap();
        run_client_loop(&mut event_loop, &mut self);
        self
    }

    /// Asserts every echo matched what was sent, and nothing is missing.
    pub fn assert_echoes(&self) {
        assert!(
            self.opened,
            "the client never opened; errors {:?}",
            self.errors
        );
        for (i, (echoed, sent)) in self.echoes.iter().enumerate() {
            assert_same(echoed, sent, &format!("echo #{i}"));
        }
        assert!(
            self.expected.is_empty(),
            "{} echoes missing",
            self.expected.len()
        );
    }
}

impl Handler for Script {
    fn on_open(&mut self, ws: &mut Ws<'_>, _opened: Opened<'_>) {
        self.opened = true;
        self.next_step(ws);
    }

    fn on_message(&mut self, ws: &mut Ws<'_>, message: Message) {
        match self.expected.pop_front() {
            Some(sent) => self.echoes.push((message, sent)),
            None => self
                .errors
                .push(format!("unexpected message of {} bytes", message.len())),
        }
        self.next_step(ws);
    }

    fn on_close(&mut self, _ws: &mut Ws<'_>, code: CloseCode, reason: &str) {
        self.closes.push((code.as_u16(), reason.to_owned()));
    }

    fn on_error(&mut self, _ws: &mut Ws<'_>, error: &event_loop::Error) {
        self.errors.push(error.to_string());
    }
}

/// Valid UTF-8 of exactly `len` bytes, mixing 1- to 4-byte characters.
pub fn text_pattern(len: usize) -> String {
    const CHARS: [char; 7] = ['a', 'é', '€', '😀', 'Z', 'ß', '7'];
    let mut text = String::with_capacity(len);
    let mut i = 0;
    while text.len() < len {
        let c = CHARS[i % CHARS.len()];
        text.push(if text.len() + c.len_utf8() <= len {
            c
        } else {
            '.'
        });
        i += 1;
    }
    text
}

/// `len` bytes in a pattern that does not repeat with any short period.
pub fn binary_pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i ^ (i >> 8) ^ (i >> 16)) as u8).collect()
}

/// Asserts two messages are equal (kind, length, every byte), without
/// printing megabytes when they are not.
pub fn assert_same(actual: &Message, expected: &Message, what: &str) {
    assert_eq!(actual.kind(), expected.kind(), "{what}: kind");
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    if let Some(at) = actual
        .payload()
        .iter()
        .zip(expected.payload().iter())
        .position(|(a, b)| a != b)
    {
        panic!("{what}: first difference at byte {at}");
    }
}

/// The payload sizes every pairing exchanges (16 MiB has tests of its own).
pub const SIZES: [usize; 7] = [0, 1, 125, 126, 65_535, 65_536, 1 << 20];

/// Text and binary messages of every size in [`SIZES`].
pub fn sized_messages() -> Vec<Message> {
    SIZES
        .iter()
        .flat_map(|&len| {
            [
                Message::from(text_pattern(len)),
                Message::from(binary_pattern(len)),
            ]
        })
        .collect()
}

/// Describes a message for assertion messages.
pub fn describe(message: &Message) -> String {
    let kind = match message.kind() {
        MessageKind::Text => "text",
        MessageKind::Binary => "binary",
    };
    format!("{kind} of {} bytes", message.len())
}

// ---- Raw sockets -----------------------------------------------------------

/// A TCP connection with the guard timeouts set.
pub fn tcp(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(GUARD)).unwrap();
    stream.set_write_timeout(Some(GUARD)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// A valid upgrade request for `path`, with `extra` header lines.
pub fn upgrade_request(path: &str, extra: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    .into_bytes()
}

/// A raw TCP peer that completes a valid upgrade by hand; no frame byte is
/// read past the response head.
pub fn raw_upgrade(addr: SocketAddr) -> TcpStream {
    let mut stream = tcp(addr);
    stream.write_all(&upgrade_request("/raw", "")).unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    stream
}

/// Reads an HTTP response head, byte by byte.
pub fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).unwrap();
        assert_eq!(n, 1, "EOF inside the response head: {head:?}");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// Reads until EOF; an error (a reset) fails the test.
pub fn read_to_eof(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    match stream.read_to_end(&mut all) {
        Ok(_) => all,
        Err(e) => panic!("expected EOF, got {e} after {} bytes", all.len()),
    }
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

/// Reads one server frame (unmasked): its first byte and its payload.
pub fn read_frame(stream: &mut TcpStream) -> io::Result<(u8, Vec<u8>)> {
    let mut head = [0; 2];
    stream.read_exact(&mut head)?;
    assert_eq!(head[1] & 0x80, 0, "a server frame must not be masked");
    let len = match head[1] & 0x7f {
        126 => {
            let mut ext = [0; 2];
            stream.read_exact(&mut ext)?;
            u16::from_be_bytes(ext) as usize
        }
        127 => {
            let mut ext = [0; 8];
            stream.read_exact(&mut ext)?;
            u64::from_be_bytes(ext) as usize
        }
        len => len as usize,
    };
    let mut payload = vec![0; len];
    stream.read_exact(&mut payload)?;
    Ok((head[0], payload))
}

/// Keeps a join handle's panic: joins and re-raises it.
pub fn join<T>(handle: JoinHandle<T>) -> T {
    match handle.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
