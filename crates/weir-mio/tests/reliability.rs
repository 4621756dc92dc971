//! The server API (`weir_mio::server`) under failure and overload: handler
//! callbacks that panic, broadcast floods against a blocked worker, and
//! streaming mode, whose messages must reach the handler. (A failing worker is tested in the crate, `server/run.rs`,
//! as only a fault injected there can make one fail.)

use std::io::Write;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;

use bytes::Bytes;
use weir_mio::server::{ReadyState, Server, Socket, WsHandler};
use weir_mio::weir_proto::{self, handshake::HandshakeError};
use weir_mio::{
    AcceptOptions, ClientOptions, CloseCode, Config, ConnId, Error, Fragment, Message, MessageKind,
    Rejection, UpgradeRequest,
};
use weir_test_support::{
    api_server::ApiServer,
    client::Client,
    tcp::{read_to_eof, tcp},
    PATIENCE,
};

/// A callback, as [`Script`] saw it.
#[derive(Debug)]
enum Note {
    Open(Socket),
    Error(ConnId, String),
    Close(ConnId, CloseCode),
}

/// A handler driven by text messages: `block` parks the worker until the
/// test releases it, `panic` panics, `join ROOM` joins a room; anything else
/// is echoed. It reports every callback, and can be told to panic in
/// `on_close` and `on_error` too.
struct Script {
    notes: Mutex<Sender<Note>>,
    blocked: Mutex<Sender<()>>,
    release: Mutex<Receiver<()>>,
    panic_in_on_close: bool,
    panic_in_on_error: bool,
}

/// The test's ends of a [`Script`]'s channels.
struct Ends {
    notes: Receiver<Note>,
    blocked: Receiver<()>,
    release: Sender<()>,
}

impl Script {
    fn new() -> (Self, Ends) {
        let (notes_tx, notes) = mpsc::channel();
        let (blocked_tx, blocked) = mpsc::channel();
        let (release, release_rx) = mpsc::channel();
        let script = Self {
            notes: Mutex::new(notes_tx),
            blocked: Mutex::new(blocked_tx),
            release: Mutex::new(release_rx),
            panic_in_on_close: false,
            panic_in_on_error: false,
        };
        let ends = Ends {
            notes,
            blocked,
            release,
        };
        (script, ends)
    }

    fn note(&self, note: Note) {
        let _ = self.notes.lock().unwrap().send(note);
    }
}

impl WsHandler for Script {
    type State = ();

    fn on_open(&self, _: &Socket, request: &UpgradeRequest) {
        if request.request().path() == "/panic-on-open" {
            panic!("on_open was told to panic");
        }
    }

    fn on_upgrade(
        &self,
        ws: &Socket,
        request: &UpgradeRequest,
    ) -> Result<AcceptOptions, Rejection> {
        if request.request().path() == "/panic-on-upgrade" {
            panic!("on_upgrade was told to panic");
        }
        self.note(Note::Open(ws.clone()));
        if request.request().path() == "/unoffered-protocol" {
            // A subprotocol the client did not offer: the upgrade fails.
            return Ok(AcceptOptions {
                protocol: Some("unoffered".to_owned()),
                ..AcceptOptions::default()
            });
        }
        Ok(AcceptOptions::default())
    }

    fn on_message(&self, ws: &Socket, _state: &mut Self::State, message: Message) {
        let Message::Text(text) = &message else {
            let _ = ws.send(message);
            return;
        };
        match text.as_str().split_once(' ') {
            _ if text.as_str() == "block" => {
                let _ = self.blocked.lock().unwrap().send(());
                let _ = self.release.lock().unwrap().recv_timeout(PATIENCE);
            }
            _ if text.as_str() == "panic" => panic!("on_message was told to panic"),
            Some(("join", room)) => {
                assert!(ws.join(room));
                let _ = ws.send(format!("joined {room}"));
            }
            _ => {
                let _ = ws.send(message);
            }
        }
    }

    fn on_close(&self, ws: &Socket, _state: Self::State, code: CloseCode, _reason: &str) {
        self.note(Note::Close(ws.id(), code));
        if self.panic_in_on_close {
            panic!("on_close was told to panic");
        }
    }

    fn on_error(&self, ws: &Socket, error: &Error) {
        self.note(Note::Error(ws.id(), error.to_string()));
        if self.panic_in_on_error {
            panic!("on_error was told to panic");
        }
    }
}

fn next(notes: &Receiver<Note>) -> Note {
    notes.recv_timeout(PATIENCE).expect("no callback")
}

fn opened(notes: &Receiver<Note>) -> Socket {
    match next(notes) {
        Note::Open(socket) => socket,
        other => panic!("expected on_open, got {other:?}"),
    }
}

/// While a worker is blocked in a callback, broadcasts and room sends pile
/// up in its command queue: once it holds the capacity, more are refused
/// (and say so); a send to one socket is still taken, as its own limit
/// bounds it. Once the worker runs again, everything accepted arrives in
/// order and broadcasts are taken again.
#[test]
fn broadcasts_are_refused_once_a_blocked_workers_queue_is_full() {
    const CAPACITY: usize = 8;
    let (script, ends) = Script::new();
    let builder = Server::builder()
        .route("/*", script)
        .command_queue_capacity(CAPACITY);
    let server = ApiServer::start(builder);
    let mut member = Client::connect(server.addr, "/member");
    let socket = opened(&ends.notes);
    member.send("join room");
    assert_eq!(member.next_message(), Message::from("joined room"));
    let mut blocker = Client::connect(server.addr, "/blocker");
    opened(&ends.notes);
    blocker.send("block");
    ends.blocked.recv_timeout(PATIENCE).unwrap();

    // The worker runs nothing now: every broadcast stays in its queue.
    let room = server.handle.room("room");
    for index in 0..CAPACITY {
        let sent = if index % 2 == 0 {
            server.handle.broadcast(format!("{index}"))
        } else {
            room.broadcast(format!("{index}"))
        };
        assert_eq!(sent, Ok(()), "broadcast {index}");
    }
    let refused = server.handle.broadcast("one too many").unwrap_err();
    assert_eq!(
        (refused.refused(), refused.workers(), refused.capacity()),
        (1, 1, CAPACITY)
    );
    assert!(room.broadcast("one too many").is_err());
    assert!(socket.broadcast("one too many").is_err());
    assert!(server
        .handle
        .broadcast_except(socket.id(), "one too many")
        .is_err());
    // A send to one socket is bounded by its own send queue instead.
    socket.send("direct").unwrap();

    ends.release.send(()).unwrap();
    for index in 0..CAPACITY {
        assert_eq!(member.next_message(), Message::from(format!("{index}")));
    }
    assert_eq!(member.next_message(), Message::from("direct"));
    // The worker drained its whole queue to send those: there is room again.
    server.handle.broadcast("after").unwrap();
    assert_eq!(member.next_message(), Message::from("after"));
    member.close(CloseCode::NORMAL, "");
    member.expect_close_then_eof();
    loop {
        match next(&ends.notes) {
            Note::Close(id, code) if id == socket.id() => {
                break assert_eq!(code, CloseCode::NORMAL)
            }
            Note::Error(id, error) => panic!("on_error for {id}: {error}"),
            _ => {}
        }
    }
}

/// Waits for the `on_error` and `on_close` of connection `id`; fails on any
/// other connection's error, and on a second error for `id`.
fn error_then_close(notes: &Receiver<Note>, id: ConnId) -> (String, CloseCode) {
    let mut error = None;
    loop {
        match next(notes) {
            Note::Error(of, text) if of == id && error.is_none() => error = Some(text),
            Note::Close(of, code) if of == id => {
                return (error.expect("on_close before on_error"), code);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn a_panicking_callback_closes_its_connection_with_1011_and_spares_the_others() {
    let (script, ends) = Script::new();
    let builder = Server::builder()
        .route("/*", script)
        .http(|_request| panic!("the HTTP fallback was told to panic"));
    let server = ApiServer::start(builder);
    let mut doomed = Client::connect(server.addr, "/doomed");
    let doomed_socket = opened(&ends.notes);
    doomed.send("join room");
    assert_eq!(doomed.next_message(), Message::from("joined room"));
    let mut other = Client::connect(server.addr, "/other");
    opened(&ends.notes);

    doomed.send("panic");
    // The Close frame comes first, through the closing handshake.
    assert_eq!(
        doomed.expect_close_then_eof(),
        Some((CloseCode::INTERNAL_ERROR, "internal error".to_owned()))
    );
    let (error, code) = error_then_close(&ends.notes, doomed_socket.id());
    assert!(
        error.contains("on_message") && error.contains("on_message was told to panic"),
        "{error}"
    );
    assert_eq!(code, CloseCode::INTERNAL_ERROR);
    assert_eq!(doomed_socket.state(), ReadyState::Closed);
    assert_eq!(server.handle.room("room").count(), 0);

    // The worker goes on serving the others, and new clients.
    other.send("still here");
    assert_eq!(other.next_message(), Message::from("still here"));
    let mut late = Client::connect(server.addr, "/late");
    opened(&ends.notes);
    late.send("hello");
    assert_eq!(late.next_message(), Message::from("hello"));
    assert_eq!(server.handle.connection_count(), 2);
    // A panicking HTTP fallback is answered 500.
    let mut stream = tcp(server.addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let answer = String::from_utf8(read_to_eof(&mut stream)).unwrap();
    assert!(answer.starts_with("HTTP/1.1 500 "), "{answer}");
    other.send("and still");
    assert_eq!(other.next_message(), Message::from("and still"));
}

#[test]
fn panics_in_on_open_on_error_and_on_close_neither_loop_nor_take_the_worker_down() {
    let (mut script, ends) = Script::new();
    script.panic_in_on_error = true;
    script.panic_in_on_close = true;
    let server = ApiServer::start(Server::builder().route("/*", script));
    let mut other = Client::connect(server.addr, "/other");
    let other_socket = opened(&ends.notes);

    // on_message panics, then on_error on reporting it, then on_close.
    let mut doomed = Client::connect(server.addr, "/doomed");
    let doomed_socket = opened(&ends.notes);
    doomed.send("join room");
    assert_eq!(doomed.next_message(), Message::from("joined room"));
    doomed.send("panic");
    assert_eq!(
        doomed.expect_close_then_eof().map(|(code, _)| code),
        Some(CloseCode::INTERNAL_ERROR)
    );
    let (error, _) = error_then_close(&ends.notes, doomed_socket.id());
    assert!(error.contains("on_message was told to panic"), "{error}");
    // Out of its rooms and the directory, though on_close panicked.
    assert_eq!(server.handle.room("room").count(), 0);
    assert_eq!(server.handle.connections(), [other_socket.id()]);

    // on_upgrade panics: reported, and the upgrade is refused with 500.
    let refused = Client::try_connect(server.addr, "/panic-on-upgrade", ClientOptions::default());
    assert!(
        matches!(
            refused,
            Err(HandshakeError::UnexpectedStatus { status: 500, .. })
        ),
        "{:?}",
        refused.err()
    );
    match next(&ends.notes) {
        Note::Error(_, error) => {
            assert!(error.contains("on_upgrade was told to panic"), "{error}")
        }
        other => panic!("unexpected {other:?}"),
    }

    // on_open panics: reported, and the connection closed with 1011; with
    // no state made, no other callback follows (no on_close).
    let mut unopened = Client::connect(server.addr, "/panic-on-open");
    let unopened_socket = opened(&ends.notes);
    match next(&ends.notes) {
        Note::Error(of, error) => {
            assert_eq!(of, unopened_socket.id());
            assert!(error.contains("on_open was told to panic"), "{error}")
        }
        other => panic!("unexpected {other:?}"),
    }
    unopened.send("anyone?");
    assert_eq!(
        unopened.expect_close_then_eof().unwrap().0,
        CloseCode::INTERNAL_ERROR
    );

    other.send("still here");
    assert_eq!(other.next_message(), Message::from("still here"));
    assert_eq!(server.handle.connections(), [other_socket.id()]);
    assert!(ends.notes.try_recv().is_err(), "no more callbacks");
}

/// Takes messages piece by piece: at each message's last piece, answers
/// with how many pieces and bytes it had.
#[derive(Default)]
struct Pieces {
    /// Pieces and bytes of the message so far.
    seen: Mutex<(usize, usize)>,
}

impl WsHandler for Pieces {
    type State = ();

    fn on_fragment(&self, ws: &Socket, _state: &mut Self::State, fragment: Fragment) {
        let mut seen = self.seen.lock().unwrap();
        if fragment.is_first {
            *seen = (0, 0);
        }
        seen.0 += 1;
        seen.1 += fragment.data.len();
        if fragment.is_last {
            let _ = ws.send(format!("{} pieces, {} bytes", seen.0, seen.1));
        }
    }
}

/// Sends a message in pieces.
fn send_in_pieces(client: &mut Client, kind: MessageKind, pieces: &[&[u8]]) {
    for (index, piece) in pieces.iter().enumerate() {
        let is_last = index + 1 == pieces.len();
        let data = Bytes::copy_from_slice(piece);
        client.conn.send_fragment(kind, data, is_last).unwrap();
    }
    client.flush();
}

/// A server in streaming mode hands pieces to `on_fragment`; the default
/// puts them back together for `on_message`, so a route that wants whole
/// messages works as it would without streaming, within the same limit.
#[test]
fn streaming_mode_hands_pieces_to_on_fragment_and_whole_messages_to_the_rest() {
    let connection = weir_proto::Config::default()
        .with_streaming(true)
        .with_max_message_size(64);
    let (script, ends) = Script::new();
    let builder = Server::builder()
        .route("/pieces", Pieces::default())
        .route("/*", script)
        .config(Config::default().with_connection(connection));
    let server = ApiServer::start(builder);

    let mut whole = Client::connect(server.addr, "/whole");
    let socket = opened(&ends.notes);
    whole.send("one piece");
    assert_eq!(whole.next_message(), Message::from("one piece"));
    send_in_pieces(&mut whole, MessageKind::Text, &[b"hel", b"lo ", b"world"]);
    assert_eq!(whole.next_message(), Message::from("hello world"));
    send_in_pieces(&mut whole, MessageKind::Binary, &[&[1, 2], &[], &[3]]);
    assert_eq!(whole.next_message(), Message::from(vec![1u8, 2, 3]));
    // Past max_message_size: 1009, as without streaming.
    send_in_pieces(&mut whole, MessageKind::Binary, &[&[0; 40], &[0; 40]]);
    assert_eq!(
        whole.expect_close_then_eof().map(|(code, _)| code),
        Some(CloseCode::MESSAGE_TOO_BIG)
    );
    assert!(matches!(next(&ends.notes), Note::Error(id, _) if id == socket.id()));

    let mut pieces = Client::connect(server.addr, "/pieces");
    send_in_pieces(
        &mut pieces,
        MessageKind::Binary,
        &[&[7; 30], &[7; 20], &[7; 10]],
    );
    assert_eq!(pieces.next_message(), Message::from("3 pieces, 60 bytes"));
    pieces.send("short");
    assert_eq!(pieces.next_message(), Message::from("1 pieces, 5 bytes"));
}

/// An upgrade that fails after `on_upgrade` accepted it (the handler picked
/// a subprotocol the client never offered) is answered 500, and the handler
/// hears `on_error` only: the connection never opened, so no `on_open` made
/// a state and no `on_close` follows.
#[test]
fn an_upgrade_failing_after_on_upgrade_accepted_gets_on_error_only() {
    let (script, ends) = Script::new();
    let server = ApiServer::start(Server::builder().route("/*", script));
    let mut stream = tcp(server.addr);
    stream
        .write_all(
            b"GET /unoffered-protocol HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        )
        .unwrap();
    let socket = opened(&ends.notes);
    let answer = String::from_utf8(read_to_eof(&mut stream)).unwrap();
    assert!(answer.starts_with("HTTP/1.1 500 "), "{answer}");
    match next(&ends.notes) {
        Note::Error(of, error) => {
            assert_eq!(of, socket.id());
            assert!(error.contains("protocol"), "{error}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(socket.state(), ReadyState::Closed);
    assert_eq!(server.handle.connection_count(), 0);
    assert!(ends.notes.try_recv().is_err(), "a second callback");
}
