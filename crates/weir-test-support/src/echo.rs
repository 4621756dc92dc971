//! Echo servers on both adapters, each on its own thread and reporting
//! every connection's life over a channel in the same [`Note`]s, so one
//! test body can run against either adapter; and a weir-std client with the
//! safety-net timeouts. The root `tests/` (interop, close codes,
//! misbehaving peers) pair them with every client.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread;

use weir_mio::{EventLoop, Handler, Opened, Ws};
use weir_proto::{CloseCode, Message};
use weir_std::{MaybeTls, WebSocket};

use crate::payloads::assert_same;
use crate::PATIENCE;

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
    Open {
        /// The connection: 1, 2, ... on std; the `ConnId` on mio.
        conn: u64,
    },
    /// The peer's Close frame arrived (mio `on_close`; std `read` returning
    /// `Error::Closed`), or TCP ended without one (1006; std
    /// `Error::ConnectionReset`), or (mio only) the server failed the
    /// connection with this code.
    Close {
        /// The connection.
        conn: u64,
        /// The close code (1005 when the frame had none).
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// Something went wrong (mio `on_error`; std any other error, including
    /// a refused send or close).
    Error {
        /// The connection.
        conn: u64,
        /// The error's text.
        error: String,
    },
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
    /// Which adapter serves.
    pub adapter: Adapter,
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it saw, in order.
    pub notes: Receiver<Note>,
    stop: Option<Box<dyn FnOnce()>>,
}

impl EchoServer {
    /// Starts an echo server on `adapter`, listening on an ephemeral port.
    pub fn start(adapter: Adapter) -> Self {
        match adapter {
            Adapter::Mio => start_mio_echo_server(),
            Adapter::Std => start_std_echo_server(),
        }
    }

    /// The next note, or a failure after [`PATIENCE`].
    pub fn next_note(&self) -> Note {
        match self.notes.recv_timeout(PATIENCE) {
            Ok(note) => note,
            Err(error) => panic!("the {:?} server reported nothing: {error}", self.adapter),
        }
    }

    /// Skips notes until one matches, and returns it.
    pub fn wait_for(&self, mut matches: impl FnMut(&Note) -> bool) -> Note {
        let mut skipped = Vec::new();
        loop {
            let note = match self.notes.recv_timeout(PATIENCE) {
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

    /// The `ws://` URI of `path` on this server.
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

    fn on_error(&mut self, ws: &mut Ws<'_>, error: &weir_mio::Error) {
        self.note(Note::Error {
            conn: ws.id().as_u64(),
            error: error.to_string(),
        });
    }
}

fn start_mio_echo_server() -> EchoServer {
    let mut event_loop = EventLoop::new(weir_mio::Config::default()).unwrap();
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
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    let mut ws = match weir_std::accept(stream) {
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
                    if !matches!(e, weir_std::Error::Send(_)) {
                        return;
                    }
                }
            }
            Err(weir_std::Error::Closed(frame)) => {
                let (code, reason) = frame.map_or((1005, String::new()), |f| {
                    (f.code.as_u16(), f.reason.as_str().to_owned())
                });
                return note(Note::Close { conn, code, reason });
            }
            Err(weir_std::Error::ConnectionReset) => {
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
/// [`PATIENCE`].
pub fn std_client(uri: &str) -> WebSocket<MaybeTls> {
    let (ws, response) = weir_std::connect(uri).unwrap();
    assert_eq!(response.status(), 101);
    ws.get_ref().tcp().set_read_timeout(Some(PATIENCE)).unwrap();
    ws.get_ref()
        .tcp()
        .set_write_timeout(Some(PATIENCE))
        .unwrap();
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
