//! A weir-mio event loop on its own thread, with a handler that reports
//! every callback over a channel ([`Recorder`]) and obeys a few text
//! commands, so a test can act as a client and then read, in order, what
//! the server saw.

use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use bytes::Bytes;
use weir_mio::{
    AcceptOptions, CloseCode, Config, ConnId, ConnInfo, Error, EventLoop, Handler, Message, Opened,
    Rejection, Role, StopHandle, UpgradeRequest, Ws,
};

use crate::PATIENCE;

/// A callback, as the recording handler saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// `on_open`.
    Open {
        /// The connection.
        id: ConnId,
        /// Which side of it this loop is.
        role: Role,
        /// The request path (server side).
        path: Option<String>,
        /// The negotiated subprotocol.
        protocol: Option<String>,
    },
    /// `on_message`.
    Message {
        /// The connection.
        id: ConnId,
        /// What arrived.
        message: Message,
    },
    /// `on_close`.
    Close {
        /// The connection.
        id: ConnId,
        /// The code it ended with.
        code: CloseCode,
        /// The reason it ended with.
        reason: String,
    },
    /// `on_error`.
    Error {
        /// The connection.
        id: ConnId,
        /// The error's text.
        error: String,
    },
    /// After a `flood` command.
    Buffered {
        /// The connection.
        id: ConnId,
        /// Bytes still queued for it.
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
    /// Where the notes go.
    pub notes: Sender<Note>,
    /// Echo messages that are not commands (on by default).
    pub echo: bool,
    /// Stops this loop when a client connection of the loop closes.
    pub stop_on_client_close: Option<StopHandle>,
}

impl Recorder {
    /// A recorder that echoes, and the receiving end of its notes.
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
    /// Where the loop listens.
    pub addr: SocketAddr,
    stop: StopHandle,
    thread: Option<JoinHandle<H>>,
}

impl<H: Handler + Send + 'static> Server<H> {
    /// Starts a loop with `config` that listens on an ephemeral port and
    /// runs `handler`.
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
