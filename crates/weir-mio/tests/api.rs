//! The server API (`weir_mio::server`) over real loopback sockets: routing,
//! every callback, ids, rooms and broadcasts, sends from other threads,
//! rejection, the HTTP fallback, keepalive, the connection limit, the
//! slow-consumer policy, graceful shutdown and several workers.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use weir_mio::server::{HttpResponse, ReadyState, Server, ServerHandle, Socket, WsHandler};
use weir_mio::weir_proto::handshake::HandshakeError;
use weir_mio::weir_proto::{self, Event};
use weir_mio::{
    AcceptOptions, ClientOptions, CloseCode, Config, ConnId, Error, Message, MessageKind,
    Rejection, SlowConsumer, UpgradeRequest,
};
use weir_test_support::{
    api_server::ApiServer,
    client::Client,
    frames::{frame, read_frame},
    tcp::{raw_upgrade, read_head, read_to_eof, tcp},
    PATIENCE,
};

/// A callback, as the recording handler saw it.
#[derive(Debug, Clone)]
enum Note {
    Open {
        socket: Socket,
        path: String,
        query: Option<String>,
        agent: Option<String>,
        peer: Option<std::net::SocketAddr>,
        thread: String,
    },
    Message(ConnId, Message),
    Close(ConnId, CloseCode, String),
    Error(ConnId, String),
}

/// Records every callback and acts on text commands: `join ROOM`,
/// `leave ROOM`, `close CODE REASON`; anything else is echoed (unless
/// `echo` is off). Upgrades whose query has `deny` are rejected with 401;
/// a `chat` subprotocol offer is accepted.
struct Recorder {
    notes: Mutex<Sender<Note>>,
    echo: bool,
    kind: Option<MessageKind>,
}

impl Recorder {
    fn new() -> (Self, Receiver<Note>) {
        let (tx, rx) = mpsc::channel();
        let recorder = Self {
            notes: Mutex::new(tx),
            echo: true,
            kind: None,
        };
        (recorder, rx)
    }

    fn note(&self, note: Note) {
        let _ = self.notes.lock().unwrap().send(note);
    }
}

impl WsHandler for Recorder {
    type State = ();

    fn on_upgrade(
        &self,
        ws: &Socket,
        request: &UpgradeRequest,
    ) -> Result<AcceptOptions, Rejection> {
        let http = request.request();
        if http.query().is_some_and(|q| q.contains("deny")) {
            return Err(Rejection::new(401).with_header("WWW-Authenticate", "Bearer"));
        }
        assert_eq!(ws.state(), ReadyState::Connecting);
        self.note(Note::Open {
            socket: ws.clone(),
            path: http.path().to_owned(),
            query: http.query().map(str::to_owned),
            agent: http
                .header("User-Agent")
                .map(|v| String::from_utf8_lossy(v).into_owned()),
            peer: http.peer_addr(),
            thread: std::thread::current().name().unwrap_or("").to_owned(),
        });
        let protocol = request.protocols().iter().find(|p| *p == "chat").cloned();
        Ok(AcceptOptions {
            protocol,
            ..Default::default()
        })
    }

    fn on_message(&self, ws: &Socket, _state: &mut Self::State, message: Message) {
        self.note(Note::Message(ws.id(), message.clone()));
        if let Message::Text(text) = &message {
            let words: Vec<&str> = text.splitn(3, ' ').collect();
            match words.as_slice() {
                ["join", room] => {
                    assert!(ws.join(room));
                    let count = ws.server().room(room).count();
                    ws.send(format!("joined {room} {count}")).unwrap();
                    return;
                }
                ["leave", room] => {
                    assert!(ws.leave(room));
                    ws.send(format!("left {room}")).unwrap();
                    return;
                }
                ["close", code, reason] => {
                    ws.close(CloseCode::new(code.parse().unwrap()), reason)
                        .unwrap();
                    return;
                }
                _ => {}
            }
        }
        if self.echo {
            ws.send(message).unwrap();
        }
    }

    fn on_close(&self, ws: &Socket, _state: Self::State, code: CloseCode, reason: &str) {
        assert_eq!(ws.state(), ReadyState::Closed);
        assert_eq!(ws.send("too late"), Err(weir_proto::SendError::Closed));
        self.note(Note::Close(ws.id(), code, reason.to_owned()));
    }

    fn on_error(&self, ws: &Socket, error: &Error) {
        self.note(Note::Error(ws.id(), error.to_string()));
    }

    fn message_kind(&self) -> Option<MessageKind> {
        self.kind
    }
}

fn recording(config: Config) -> (ApiServer, Receiver<Note>) {
    let (recorder, notes) = Recorder::new();
    let builder = Server::builder().route("/*", recorder).config(config);
    (ApiServer::start(builder), notes)
}

fn next(notes: &Receiver<Note>) -> Note {
    notes.recv_timeout(PATIENCE).expect("no callback")
}

/// Waits for the next `on_open` and returns its socket.
fn opened(notes: &Receiver<Note>) -> Socket {
    opened_on(notes).0
}

/// The next connection to open, and the path it was opened on.
fn opened_on(notes: &Receiver<Note>) -> (Socket, String) {
    loop {
        if let Note::Open { socket, path, .. } = next(notes) {
            return (socket, path);
        }
    }
}

fn config() -> Config {
    let connection = weir_proto::Config::default().with_max_send_queue(1 << 20);
    Config::default().with_connection(connection)
}

fn text(message: Message) -> String {
    match message {
        Message::Text(text) => text.as_str().to_owned(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// A plain HTTP GET; the whole answer.
fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = tcp(addr);
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    String::from_utf8(read_to_eof(&mut stream)).unwrap()
}

#[test]
fn every_callback_with_its_arguments() {
    let (server, notes) = recording(config());
    let options = ClientOptions {
        protocols: vec!["chat".into()],
        headers: vec![("User-Agent".into(), "api-test".into())],
        ..Default::default()
    };
    let mut client = Client::try_connect(server.addr, "/room/7?token=abc", options).unwrap();
    assert_eq!(client.response.protocol(), Some("chat"));
    let Note::Open {
        socket,
        path,
        query,
        agent,
        peer,
        ..
    } = next(&notes)
    else {
        panic!("expected on_open")
    };
    assert_eq!(path, "/room/7");
    assert_eq!(query.as_deref(), Some("token=abc"));
    assert_eq!(agent.as_deref(), Some("api-test"));
    assert_eq!(socket.protocol().as_deref(), Some("chat"));
    assert_eq!(peer, Some(client.stream.local_addr().unwrap()));

    client.send("hello");
    assert_eq!(client.next_message(), Message::from("hello"));
    client.send(vec![1u8, 2, 3]);
    assert_eq!(client.next_message(), Message::from(vec![1u8, 2, 3]));
    assert!(
        matches!(next(&notes), Note::Message(id, m) if id == socket.id() && m == Message::from("hello"))
    );
    assert!(matches!(next(&notes), Note::Message(_, m) if m.kind() == MessageKind::Binary));
    assert_eq!(socket.state(), ReadyState::Open);
    assert!(socket.is_open());

    client.close(CloseCode::NORMAL, "bye");
    // The server's answer echoes the code.
    assert_eq!(client.expect_close_then_eof().unwrap().0, CloseCode::NORMAL);
    assert!(
        matches!(next(&notes), Note::Close(id, CloseCode::NORMAL, r) if id == socket.id() && r == "bye")
    );
    assert_eq!(socket.state(), ReadyState::Closed);
    assert_eq!(socket.send("late"), Err(weir_proto::SendError::Closed));

    // A protocol violation: on_error, then on_close with the code sent.
    let mut raw = raw_upgrade(server.addr);
    let socket = opened(&notes);
    raw.write_all(&frame(0x1, b"unmasked", None)).unwrap();
    let (opcode, payload) = read_frame(&mut raw);
    assert_eq!((opcode, &payload[..2]), (0x88, &1002u16.to_be_bytes()[..]));
    assert!(matches!(next(&notes), Note::Error(id, _) if id == socket.id()));
    assert!(
        matches!(next(&notes), Note::Close(id, CloseCode::PROTOCOL_ERROR, _) if id == socket.id())
    );
}

/// Counts each connection's messages in its own state, which starts from
/// the request's query and comes back to `on_close`.
struct Counter {
    totals: Mutex<Sender<(String, u32)>>,
}

/// A connection's state: its name and how many messages it sent.
#[derive(Default)]
struct Count {
    name: String,
    messages: u32,
}

impl WsHandler for Counter {
    type State = Count;

    fn on_open(&self, _ws: &Socket, request: &UpgradeRequest) -> Count {
        let name = request.request().query().unwrap_or_default().to_owned();
        Count { name, messages: 0 }
    }

    fn on_message(&self, ws: &Socket, count: &mut Count, _message: Message) {
        count.messages += 1;
        let _ = ws.send(format!("{} has sent {}", count.name, count.messages));
    }

    fn on_close(&self, _ws: &Socket, count: Count, _code: CloseCode, _reason: &str) {
        let _ = self
            .totals
            .lock()
            .unwrap()
            .send((count.name, count.messages));
    }
}

#[test]
fn each_connection_has_its_own_state_from_on_open_to_on_close() {
    let (totals, ended) = mpsc::channel();
    let counter = Counter {
        totals: Mutex::new(totals),
    };
    // Two workers: connections land on either, the state follows each.
    let server = ApiServer::start(Server::builder().workers(2).route("/count", counter));
    let mut ann = Client::connect(server.addr, "/count?ann");
    let mut bob = Client::connect(server.addr, "/count?bob");
    for round in 1..=3 {
        ann.send("x");
        assert_eq!(text(ann.next_message()), format!("ann has sent {round}"));
    }
    bob.send("x");
    assert_eq!(text(bob.next_message()), "bob has sent 1");
    for client in [&mut ann, &mut bob] {
        client.close(CloseCode::NORMAL, "");
        client.expect_close_then_eof();
    }
    let mut got = [
        ended.recv_timeout(PATIENCE).unwrap(),
        ended.recv_timeout(PATIENCE).unwrap(),
    ];
    got.sort();
    assert_eq!(got, [("ann".to_owned(), 3), ("bob".to_owned(), 1)]);
}

#[test]
fn server_close_reaches_the_client_with_its_code() {
    let (server, notes) = recording(config());
    let mut client = Client::connect(server.addr, "/x");
    let socket = opened(&notes);
    client.send("close 4000 done here");
    assert_eq!(
        client.expect_close_then_eof(),
        Some((CloseCode::new(4000), "done here".to_owned()))
    );
    assert!(matches!(next(&notes), Note::Message(..)));
    assert!(
        matches!(next(&notes), Note::Close(id, c, _) if id == socket.id() && c == CloseCode::new(4000))
    );
}

#[test]
fn ids_are_unique_across_handlers_and_never_reused() {
    let (a, notes_a) = Recorder::new();
    let (b, notes_b) = Recorder::new();
    let builder = Server::builder()
        .route("/a", a)
        .route("/b", b)
        .config(config());
    let server = ApiServer::start(builder);
    let mut ids = HashSet::new();
    for round in 0..3 {
        let mut clients = Vec::new();
        for i in 0..10 {
            let path = if i % 2 == 0 { "/a" } else { "/b" };
            clients.push(Client::connect(server.addr, path));
            let (socket, opened_path) = opened_on(if i % 2 == 0 { &notes_a } else { &notes_b });
            assert_eq!(opened_path, path);
            assert!(ids.insert(socket.id()), "id {} seen twice", socket.id());
        }
        assert_eq!(server.handle.connection_count(), 10, "round {round}");
        for client in &mut clients {
            client.close(CloseCode::NORMAL, "");
            client.expect_close_then_eof();
        }
        for i in 0..10 {
            let notes = if i % 2 == 0 { &notes_a } else { &notes_b };
            while !matches!(next(notes), Note::Close(..)) {}
        }
        assert_eq!(server.handle.connection_count(), 0);
    }
    assert_eq!(ids.len(), 30);
    // An upgrade to a path no route serves: 404.
    let denied = Client::try_connect(server.addr, "/c", ClientOptions::default());
    assert!(matches!(
        denied,
        Err(HandshakeError::UnexpectedStatus { status: 404, .. })
    ));
}

#[test]
fn rooms_join_leave_count_and_broadcast_to_exactly_the_members() {
    let (server, notes) = recording(config());
    let mut a = Client::connect(server.addr, "/chat");
    let sa = opened(&notes);
    let mut b = Client::connect(server.addr, "/chat");
    let sb = opened(&notes);
    let mut c = Client::connect(server.addr, "/chat");
    let _sc = opened(&notes);

    a.send("join lobby");
    assert_eq!(text(a.next_message()), "joined lobby 1");
    b.send("join lobby");
    assert_eq!(text(b.next_message()), "joined lobby 2");
    a.send("join other");
    assert_eq!(text(a.next_message()), "joined other 1");
    assert_eq!(sa.rooms(), ["lobby", "other"]);

    let lobby = server.handle.room("lobby");
    assert_eq!(lobby.count(), 2);
    assert_eq!(lobby.members(), {
        let mut m = vec![sa.id(), sb.id()];
        m.sort();
        m
    });
    lobby.broadcast("to the lobby").unwrap();
    server.handle.broadcast("to everyone").unwrap();
    assert_eq!(text(a.next_message()), "to the lobby");
    assert_eq!(text(a.next_message()), "to everyone");
    assert_eq!(text(b.next_message()), "to the lobby");
    assert_eq!(text(b.next_message()), "to everyone");
    // c is no member: the first thing it sees is the server-wide broadcast.
    assert_eq!(text(c.next_message()), "to everyone");

    lobby.broadcast_except(sa.id(), "not to a").unwrap();
    assert_eq!(lobby.send_to(sa.id(), "only a"), Ok(()));
    assert_eq!(
        lobby.send_to(_sc.id(), "c is not a member"),
        Err(weir_proto::SendError::Closed)
    );
    assert_eq!(text(b.next_message()), "not to a");
    assert_eq!(text(a.next_message()), "only a");

    a.send("leave lobby");
    assert_eq!(text(a.next_message()), "left lobby");
    assert_eq!(lobby.count(), 1);
    assert!(!lobby.contains(sa.id()));
    // What the room gets now reaches b and no longer a: on the same worker,
    // commands run in order, so a would see the broadcast before the marker.
    lobby.broadcast("after a left").unwrap();
    server.handle.send_to(sa.id(), "marker").unwrap();
    assert_eq!(text(b.next_message()), "after a left");
    assert_eq!(text(a.next_message()), "marker");
    // A closed connection leaves every room.
    b.close(CloseCode::NORMAL, "");
    b.expect_close_then_eof();
    while !matches!(next(&notes), Note::Close(id, ..) if id == sb.id()) {}
    assert_eq!(lobby.count(), 0);
    assert_eq!(server.handle.rooms(), ["other"]);
    assert!(!sb.join("lobby"), "a closed socket cannot join");
    assert_eq!(lobby.count(), 0);
}

#[test]
fn sends_from_other_threads_through_the_handle_and_a_cloned_socket() {
    let (server, notes) = recording(config());
    let mut client = Client::connect(server.addr, "/x");
    let socket = opened(&notes);
    let handle = server.handle.clone();
    let id = socket.id();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let socket = socket.clone();
            let handle = handle.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    if i % 2 == 0 {
                        socket.send(format!("{t}:{i}")).unwrap();
                    } else {
                        handle.send_to(id, format!("{t}:{i}")).unwrap();
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let mut seen: Vec<Vec<usize>> = vec![Vec::new(); 4];
    for _ in 0..100 {
        let message = text(client.next_message());
        let (t, i) = message.split_once(':').unwrap();
        seen[t.parse::<usize>().unwrap()].push(i.parse().unwrap());
    }
    for per_thread in seen {
        // Each thread's messages arrive in the order it sent them.
        assert_eq!(per_thread, (0..25).collect::<Vec<_>>());
    }
    handle.close(id, CloseCode::new(4001), "from afar").unwrap();
    assert_eq!(
        client.expect_close_then_eof(),
        Some((CloseCode::new(4001), "from afar".to_owned()))
    );
    assert_eq!(
        handle.send_to(id, "gone"),
        Err(weir_proto::SendError::Closed)
    );
}

#[test]
fn on_upgrade_can_reject_with_401() {
    let (server, notes) = recording(config());
    let denied = Client::try_connect(server.addr, "/x?deny=1", ClientOptions::default());
    let Err(HandshakeError::UnexpectedStatus {
        status, headers, ..
    }) = denied
    else {
        panic!("expected a rejection")
    };
    assert_eq!(status, 401);
    assert!(headers
        .iter()
        .any(|(name, value)| name.eq_ignore_ascii_case("WWW-Authenticate") && value == b"Bearer"));
    // Nothing was recorded for it, and the server goes on.
    let _client = Client::connect(server.addr, "/x");
    assert!(matches!(next(&notes), Note::Open { .. }));
    assert_eq!(server.handle.connection_count(), 1);
}

#[test]
fn plain_http_gets_the_fallback_or_404() {
    let (recorder, _notes) = Recorder::new();
    let builder = Server::builder()
        .route("/ws", recorder)
        .http(|request| match request.path() {
            "/" => HttpResponse::html("<h1>page</h1>"),
            _ => HttpResponse::not_found(),
        });
    let server = ApiServer::start(builder);
    let page = http_get(server.addr, "/");
    assert!(page.starts_with("HTTP/1.1 200 "), "{page}");
    assert!(
        page.contains("Content-Type: text/html; charset=utf-8\r\n"),
        "{page}"
    );
    assert!(page.ends_with("\r\n\r\n<h1>page</h1>"), "{page}");
    assert!(http_get(server.addr, "/nope").starts_with("HTTP/1.1 404 "));
    // The socket on the same port.
    let mut client = Client::connect(server.addr, "/ws");
    client.send("same port");
    assert_eq!(client.next_message(), Message::from("same port"));

    // Without a fallback: 404 for plain HTTP, 400 for a broken upgrade.
    let (recorder, _notes) = Recorder::new();
    let plain = ApiServer::start(Server::builder().route("/ws", recorder));
    assert!(http_get(plain.addr, "/").starts_with("HTTP/1.1 404 "));
    let mut stream = tcp(plain.addr);
    stream
        .write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n")
        .unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
}

/// Keepalive in a fifth of a second: the core's deadlines, set through
/// the core's configuration.
fn keepalive_config() -> Config {
    keepalive_after(Duration::from_millis(200))
}

/// A ping after `idle` of quiet, and as long again for an answer.
fn keepalive_after(idle: Duration) -> Config {
    let connection = weir_proto::Config::default()
        .with_max_send_queue(1 << 20)
        .with_idle_timeout(Some(idle))
        .with_ping_timeout(idle);
    Config::default().with_connection(connection)
}

#[test]
fn idle_timeout_pings_a_silent_client_and_drops_one_that_never_answers() {
    let (server, notes) = recording(keepalive_config());
    let mut raw = raw_upgrade(server.addr);
    let socket = opened(&notes);
    let start = Instant::now();
    let (opcode, payload) = read_frame(&mut raw);
    assert_eq!(opcode, 0x89, "a ping");
    assert!(payload.is_empty());
    assert!(start.elapsed() >= Duration::from_millis(150));
    // No answer: the server drops the connection.
    let mut rest = Vec::new();
    let _ = raw.read_to_end(&mut rest);
    assert!(
        matches!(next(&notes), Note::Error(id, e) if id == socket.id() && e.contains("keepalive"))
    );
    assert!(matches!(next(&notes), Note::Close(id, CloseCode::ABNORMAL, _) if id == socket.id()));
    assert_eq!(server.handle.connection_count(), 0);
}

#[test]
fn keepalive_keeps_a_client_that_answers_pings() {
    let (server, notes) = recording(keepalive_config());
    let mut client = Client::connect(server.addr, "/x");
    let socket = opened(&notes);
    // Several rounds of ping, each answered (the test client pongs
    // automatically), spanning well over idle + ping timeout.
    let start = Instant::now();
    let mut pings = 0;
    while pings < 4 {
        match client.next_event().expect("the server dropped us") {
            Event::Ping(_) => pings += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(start.elapsed() >= Duration::from_millis(600));
    assert!(socket.is_open());
    client.send("still here");
    assert_eq!(client.next_message(), Message::from("still here"));
    assert!(notes
        .try_iter()
        .all(|n| !matches!(n, Note::Close(..) | Note::Error(..))));
}

#[test]
fn keepalive_leaves_a_busy_client_alone() {
    let idle = Duration::from_millis(400);
    let (server, notes) = recording(keepalive_after(idle));
    let mut client = Client::connect(server.addr, "/x");
    let socket = opened(&notes);
    // A message every 40 ms, for four idle periods: never quiet for long
    // enough to be pinged, let alone dropped.
    let start = Instant::now();
    while start.elapsed() < idle * 4 {
        client.send("busy");
        match client.next_event().expect("the server dropped us") {
            Event::Message(message) => assert_eq!(message, Message::from("busy")),
            other => panic!("pinged while busy: {other:?}"),
        }
        std::thread::sleep(Duration::from_millis(40));
    }
    assert!(socket.is_open());
    assert!(notes
        .try_iter()
        .all(|n| !matches!(n, Note::Close(..) | Note::Error(..))));
}

#[test]
fn beyond_max_connections_clients_get_503() {
    let (server, notes) = recording(config().with_max_connections(2));
    let _a = Client::connect(server.addr, "/x");
    let _b = Client::connect(server.addr, "/x");
    opened(&notes);
    opened(&notes);
    let refused = Client::try_connect(server.addr, "/x", ClientOptions::default());
    assert!(
        matches!(
            refused,
            Err(HandshakeError::UnexpectedStatus { status: 503, .. })
        ),
        "{:?}",
        refused.err()
    );
    assert_eq!(server.handle.connection_count(), 2);
    // Once one leaves, there is room again.
    drop(_a);
    while !matches!(next(&notes), Note::Close(..)) {}
    let _c = Client::connect(server.addr, "/x");
}

#[test]
fn a_slow_consumer_is_closed_with_1008_and_its_memory_stays_bounded() {
    const LIMIT: usize = 64 << 10;
    const SIZE: usize = 16 << 10;
    let connection = weir_proto::Config::default().with_max_send_queue(LIMIT);
    let (server, notes) = recording(Config::default().with_connection(connection));
    let mut slow = Client::connect(server.addr, "/x");
    let socket = opened(&notes);
    // Incompressible, so that permessage-deflate does not shrink it.
    let noise = (0..SIZE as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8);
    let payload = bytes::Bytes::from(noise.collect::<Vec<u8>>());
    let mut sent = 0;
    // Broadcast until the policy closes the slow client (it reads nothing);
    // its queue never holds much more than the limit.
    while socket.state() == ReadyState::Open {
        assert!(sent < 100_000, "never closed");
        if server.handle.broadcast(payload.clone()).is_ok() {
            sent += 1;
        }
        assert!(socket.buffered_amount() <= LIMIT + SIZE + 64);
    }
    assert_eq!(socket.state(), ReadyState::Closing);
    assert!(socket.buffered_amount() <= LIMIT + SIZE + 64);
    assert!(matches!(
        socket.send("more"),
        Err(weir_proto::SendError::Closed)
    ));
    // Now it reads: what was queued, then the Close.
    let mut received = 0;
    let close = loop {
        match slow.next_event().expect("eof before the close") {
            Event::Message(message) => {
                assert_eq!(message.len(), SIZE);
                received += 1;
            }
            Event::Close(close) => break close.unwrap(),
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(
        received < sent,
        "messages were refused once the queue was full"
    );
    assert_eq!(close.code, CloseCode::POLICY_VIOLATION);
    assert_eq!(close.reason.as_str(), "slow consumer");
    assert!(slow.next_event().is_none());
}

#[test]
fn drop_policy_keeps_the_connection_and_refuses_sends() {
    const LIMIT: usize = 64 << 10;
    let connection = weir_proto::Config::default().with_max_send_queue(LIMIT);
    let config = Config::default()
        .with_connection(connection)
        .with_slow_consumer(SlowConsumer::Drop);
    let (server, notes) = recording(config);
    let mut slow = Client::connect(server.addr, "/x");
    let socket = opened(&notes);
    let payload = bytes::Bytes::from(vec![7u8; 16 << 10]);
    let mut refused = false;
    let start = Instant::now();
    // The worker writes (and reports the queue) as it goes: send until the
    // queue it reports is full.
    while start.elapsed() < PATIENCE {
        std::thread::yield_now();
        match socket.send(payload.clone()) {
            Ok(()) => {}
            Err(weir_proto::SendError::QueueFull { limit, .. }) => {
                assert_eq!(limit, LIMIT);
                refused = true;
                break;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert!(refused);
    assert_eq!(socket.state(), ReadyState::Open);
    // The client catches up and the connection still works.
    let reader = std::thread::spawn(move || {
        while slow.next_message() != Message::from("marker") {}
        slow
    });
    let start = Instant::now();
    while !reader.is_finished() {
        assert!(start.elapsed() < PATIENCE);
        if socket.buffered_amount() == 0 {
            let _ = socket.send("marker");
        }
        std::thread::yield_now();
    }
    let mut slow = reader.join().unwrap();
    assert_eq!(socket.state(), ReadyState::Open);
    assert!(notes.try_iter().all(|n| !matches!(n, Note::Close(..))));
    slow.send("alive");
    // (More markers may have been sent while the first was on its way.)
    let mut reply = slow.next_message();
    while reply == Message::from("marker") {
        reply = slow.next_message();
    }
    assert_eq!(reply, Message::from("alive"));
}

#[test]
fn text_only_handler_closes_1003_on_binary() {
    let (mut recorder, notes) = Recorder::new();
    recorder.kind = Some(MessageKind::Text);
    let server = ApiServer::start(Server::builder().route("/text", recorder));
    let mut client = Client::connect(server.addr, "/text");
    client.send("text is fine");
    assert_eq!(client.next_message(), Message::from("text is fine"));
    client.send(vec![1u8, 2]);
    let (code, _) = client.expect_close_then_eof().unwrap();
    assert_eq!(code, CloseCode::UNSUPPORTED_DATA);
    let binary_seen = notes
        .try_iter()
        .any(|n| matches!(n, Note::Message(_, m) if m.kind() == MessageKind::Binary));
    assert!(!binary_seen);
}

#[test]
fn graceful_shutdown_delivers_what_was_queued_then_1001() {
    let (server, notes) = recording(config());
    let mut client = Client::connect(server.addr, "/x");
    let socket = opened(&notes);
    let handle = server.handle.clone();
    for i in 0..100 {
        socket.send(format!("queued {i}")).unwrap();
    }
    let deadline = Duration::from_secs(5);
    let reader = std::thread::spawn(move || {
        let mut messages = Vec::new();
        loop {
            match client.next_event().expect("eof before the close") {
                Event::Message(message) => messages.push(text(message)),
                Event::Close(close) => {
                    let close = close.unwrap();
                    assert!(client.next_event().is_none());
                    return (messages, close.code);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    });
    let took = server.shutdown(deadline);
    assert!(took < deadline, "run() took {took:?}");
    let (messages, code) = reader.join().unwrap();
    let expected: Vec<String> = (0..100).map(|i| format!("queued {i}")).collect();
    assert_eq!(messages, expected);
    assert_eq!(code, CloseCode::GOING_AWAY);
    assert!(handle.is_shutting_down());
    assert!(notes
        .try_iter()
        .any(|n| matches!(n, Note::Close(id, CloseCode::GOING_AWAY, _) if id == socket.id())));
    assert!(std::net::TcpStream::connect_timeout(&handle.local_addr(), PATIENCE).is_err());
}

#[test]
fn shutdown_drops_connections_still_open_at_the_deadline() {
    let (server, notes) = recording(config());
    // A client that never answers the Close.
    let _raw = raw_upgrade(server.addr);
    let socket = opened(&notes);
    let took = server.shutdown(Duration::from_millis(300));
    assert!(took >= Duration::from_millis(250), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(socket.state(), ReadyState::Closed);
    assert!(notes
        .try_iter()
        .any(|n| matches!(n, Note::Close(id, CloseCode::ABNORMAL, _) if id == socket.id())));
}

#[test]
fn two_workers_unique_ids_and_room_broadcast_across_them() {
    let (recorder, notes) = Recorder::new();
    let builder = Server::builder()
        .route("/*", recorder)
        .workers(2)
        .config(config());
    let server = ApiServer::start(builder);
    let mut clients = Vec::new();
    let mut ids = HashSet::new();
    let mut threads = HashSet::new();
    // Connect until both workers have accepted some (the kernel decides).
    while threads.len() < 2 || clients.len() < 6 {
        assert!(clients.len() < 500, "one worker took every connection");
        clients.push(Client::connect(server.addr, "/x"));
        let Note::Open { socket, thread, .. } = next(&notes) else {
            panic!("expected on_open")
        };
        assert!(ids.insert(socket.id()));
        threads.insert(thread);
    }
    for client in &mut clients {
        client.send("join all");
        let reply = text(client.next_message());
        assert!(reply.starts_with("joined all "), "{reply}");
    }
    let room = server.handle.room("all");
    assert_eq!(room.count(), clients.len());
    room.broadcast("to all workers").unwrap();
    for client in &mut clients {
        assert_eq!(client.next_message(), Message::from("to all workers"));
    }
    // A socket on one worker sends to one on the other, from a callback's
    // thread or not.
    let members = room.members();
    let first = server.handle.socket(members[0]).unwrap();
    let last = server.handle.socket(*members.last().unwrap()).unwrap();
    first.server().send_to(last.id(), "across").unwrap();
    let mut got = 0;
    for client in &mut clients {
        client.send("ping");
    }
    for client in &mut clients {
        loop {
            let message = client.next_message();
            if message == Message::from("across") {
                got += 1;
            } else {
                assert_eq!(message, Message::from("ping"));
                break;
            }
        }
    }
    assert_eq!(got, 1);
    // Shutdown: every client reads to the Close, on both workers.
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut client| std::thread::spawn(move || client.expect_close_then_eof()))
        .collect();
    let took = server.shutdown(Duration::from_secs(5));
    assert!(took < Duration::from_secs(5));
    for reader in readers {
        let (code, _) = reader.join().unwrap().unwrap();
        assert_eq!(code, CloseCode::GOING_AWAY);
    }
}

#[test]
fn handles_are_clone_send_sync() {
    fn check<T: Clone + Send + Sync + 'static>() {}
    check::<Socket>();
    check::<ServerHandle>();
    check::<weir_mio::server::Room>();
}

#[test]
fn the_http_fallback_can_broadcast_from_the_worker_thread() {
    let cell: std::sync::Arc<std::sync::OnceLock<ServerHandle>> = Default::default();
    let fallback_cell = std::sync::Arc::clone(&cell);
    let (recorder, notes) = Recorder::new();
    let builder = Server::builder()
        .route("/ws", recorder)
        .http(move |request| {
            if let Some(handle) = fallback_cell.get() {
                handle
                    .broadcast(format!("someone fetched {}", request.path()))
                    .unwrap();
            }
            HttpResponse::text(200, "ok")
        });
    let server = ApiServer::start(builder);
    cell.set(server.handle.clone()).unwrap();
    let mut client = Client::connect(server.addr, "/ws");
    opened(&notes);
    assert!(http_get(server.addr, "/page").starts_with("HTTP/1.1 200 "));
    // Queued on the worker's own thread, outside any connection callback:
    // the worker still runs it at once.
    assert_eq!(
        client.next_message(),
        Message::from("someone fetched /page")
    );
}

/// Hands out each socket as it opens (from inside `on_open`, before the
/// `101` is written), reports errors, and parks its worker on a text
/// message `block` until released.
struct Gate {
    opened: Mutex<Sender<Socket>>,
    errors: Mutex<Sender<String>>,
    blocked: Mutex<Sender<()>>,
    release: Mutex<Receiver<()>>,
}

/// The other ends of a [`Gate`]'s channels.
struct GateEnds {
    opened: Receiver<Socket>,
    errors: Receiver<String>,
    blocked: Receiver<()>,
    release: Sender<()>,
}

impl Gate {
    fn new() -> (Self, GateEnds) {
        let (opened_tx, opened) = mpsc::channel();
        let (errors_tx, errors) = mpsc::channel();
        let (blocked_tx, blocked) = mpsc::channel();
        let (release, release_rx) = mpsc::channel();
        let gate = Self {
            opened: Mutex::new(opened_tx),
            errors: Mutex::new(errors_tx),
            blocked: Mutex::new(blocked_tx),
            release: Mutex::new(release_rx),
        };
        let ends = GateEnds {
            opened,
            errors,
            blocked,
            release,
        };
        (gate, ends)
    }
}

impl WsHandler for Gate {
    type State = ();

    fn on_upgrade(
        &self,
        ws: &Socket,
        _request: &UpgradeRequest,
    ) -> Result<AcceptOptions, Rejection> {
        let _ = self.opened.lock().unwrap().send(ws.clone());
        Ok(AcceptOptions::default())
    }

    fn on_message(&self, _ws: &Socket, _state: &mut Self::State, message: Message) {
        if message == Message::from("block") {
            let _ = self.blocked.lock().unwrap().send(());
            let _ = self.release.lock().unwrap().recv_timeout(PATIENCE);
        }
    }

    fn on_error(&self, ws: &Socket, error: &Error) {
        let _ = self
            .errors
            .lock()
            .unwrap()
            .send(format!("{}: {error}", ws.id()));
    }
}

fn gated(limit: usize, policy: SlowConsumer) -> (ApiServer, GateEnds) {
    let connection = weir_proto::Config::default().with_max_send_queue(limit);
    let config = Config::default()
        .with_connection(connection)
        .with_slow_consumer(policy);
    let (gate, ends) = Gate::new();
    let builder = Server::builder().route("/*", gate).config(config);
    (ApiServer::start(builder), ends)
}

/// Messages sent from another thread as soon as `on_open` hands out the
/// socket (before the `101`, and while the worker catches up) reach a
/// reading client all of them, in order: a full queue refuses the send at
/// once, and the sender retries (under `Drop`) or waits for
/// `buffered_amount` to go down (under `Close`); nothing accepted is
/// dropped later.
#[test]
fn sends_from_the_start_arrive_in_order_or_are_refused() {
    const COUNT: usize = 5_000;
    const LIMIT: usize = 16 << 10;
    for policy in [SlowConsumer::Drop, SlowConsumer::Close] {
        let (server, ends) = gated(LIMIT, policy);
        let addr = server.addr;
        let reader = std::thread::spawn(move || {
            let mut client = Client::connect(addr, "/x");
            for expected in 0..COUNT {
                let message = text(client.next_message());
                let (index, _) = message.split_once(' ').unwrap();
                assert_eq!(index.parse::<usize>().unwrap(), expected);
            }
            client
        });
        let socket = ends.opened.recv_timeout(PATIENCE).unwrap();
        let filler = "x".repeat(1000);
        let start = Instant::now();
        for index in 0..COUNT {
            loop {
                assert!(start.elapsed() < PATIENCE, "stuck at {index}");
                if policy == SlowConsumer::Close && socket.buffered_amount() + 2048 > LIMIT {
                    // The only sender: the amount can only go down meanwhile.
                    std::thread::yield_now();
                    continue;
                }
                match socket.send(format!("{index} {filler}")) {
                    Ok(()) => break,
                    Err(weir_proto::SendError::QueueFull { .. })
                        if policy == SlowConsumer::Drop =>
                    {
                        std::thread::yield_now();
                    }
                    Err(other) => panic!("send {index} under {policy:?}: {other}"),
                }
            }
        }
        let _client = reader.join().expect("a message was lost or reordered");
        assert_eq!(socket.state(), ReadyState::Open);
        assert!(ends.errors.try_iter().next().is_none());
    }
}

/// While the worker is busy, sends to a connection are refused as soon as
/// what is queued for it (written or not yet run by the worker) reaches the
/// limit, under both policies: the command queue cannot grow without bound,
/// and what was accepted is delivered, in order.
#[test]
fn sends_are_refused_at_the_limit_even_while_the_worker_is_busy() {
    const LIMIT: usize = 64 << 10;
    const SIZE: usize = 16 << 10;
    for policy in [SlowConsumer::Drop, SlowConsumer::Close] {
        let (server, ends) = gated(LIMIT, policy);
        let mut slow = Client::connect(server.addr, "/slow");
        let socket = ends.opened.recv_timeout(PATIENCE).unwrap();
        let mut blocker = Client::connect(server.addr, "/block");
        let _ = ends.opened.recv_timeout(PATIENCE).unwrap();
        blocker.send("block");
        ends.blocked.recv_timeout(PATIENCE).unwrap();
        // The worker runs nothing now.
        let mut accepted = 0;
        let refusal = loop {
            assert!(accepted <= LIMIT / SIZE + 1, "{accepted} sends accepted");
            let mut payload = vec![0u8; SIZE];
            payload[0] = accepted as u8;
            match socket.send(payload) {
                Ok(()) => accepted += 1,
                Err(error) => break error,
            }
        };
        assert!(
            matches!(refusal, weir_proto::SendError::QueueFull { limit, .. } if limit == LIMIT),
            "{refusal}"
        );
        assert!(socket.buffered_amount() >= LIMIT);
        assert!(socket.buffered_amount() <= LIMIT + SIZE + 64);
        ends.release.send(()).unwrap();
        if policy == SlowConsumer::Drop {
            assert_eq!(socket.state(), ReadyState::Open);
            // Everything accepted arrives, in order, then what follows.
            for index in 0..accepted {
                let message = slow.next_message();
                assert_eq!(message.len(), SIZE);
                assert_eq!(message.payload()[0], index as u8);
            }
            let start = Instant::now();
            while socket.send("after").is_err() {
                assert!(start.elapsed() < PATIENCE);
                std::thread::yield_now();
            }
            assert_eq!(slow.next_message(), Message::from("after"));
            assert!(ends.errors.try_iter().next().is_none());
        } else {
            assert_eq!(socket.state(), ReadyState::Closing);
            let mut received = 0;
            let close = loop {
                match slow.next_event().expect("eof before the close") {
                    Event::Message(message) => {
                        assert_eq!(message.payload()[0], received as u8);
                        received += 1;
                    }
                    Event::Close(close) => break close.unwrap(),
                    other => panic!("unexpected {other:?}"),
                }
            };
            assert_eq!(received, accepted);
            assert_eq!(close.code, CloseCode::POLICY_VIOLATION);
        }
    }
}
