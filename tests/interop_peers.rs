//! Real peers, compression negotiated both ways: Python `websockets` and
//! Node `ws` (tests/interop/peer.py and peer.mjs) as clients of weir's echo
//! servers, and as echo servers for weir's clients, with permessage-deflate
//! on several parameter sets, windows of 8 bits among them.
//!
//! `bash scripts/interop-test.sh` installs the peers (target/interop-venv,
//! tests/interop/node_modules) and runs this file with WEIR_INTEROP=1.
//! Without the peers every test skips with a loud message, so that a plain
//! `cargo test` passes on a machine without them; WEIR_INTEROP=1 turns the
//! skip into a failure.
//!
//! weir sends every third message uncompressed (`send_uncompressed`), as a
//! server and as a client, so the peers get both kinds of frame.

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, Once};
use std::thread;
use std::time::Duration;

use weir::blocking;
use weir::event_loop::server::{Server, Socket, WsHandler};
use weir::event_loop::{self, ConnId, Handler, Opened, Ws};
use weir::proto::deflate::{DeflateConfig, DeflateParams};
use weir::proto::handshake::{
    AcceptOptions, ClientOptions, HttpRequest, Rejection, UpgradeRequest,
};
use weir::proto::{CloseCode, Config, Message};
use weir_test_support::payloads::{assert_same, binary_pattern, describe, text_pattern};
use weir_test_support::script::{client_loop, run_client_loop};
use weir_test_support::{join, PATIENCE};

const VENV_PYTHON: &str = "target/interop-venv/bin/python";
const NODE_WS: &str = "tests/interop/node_modules/ws";
const EXTENSIONS: &str = "sec-websocket-extensions";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Whether the peers are installed. If not: a loud skip, or a failure under
/// WEIR_INTEROP=1.
fn peers_installed() -> bool {
    let missing: Vec<_> = [VENV_PYTHON, NODE_WS]
        .into_iter()
        .filter(|path| !root().join(path).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "the interop peers are not installed ({} missing): run `bash scripts/interop-test.sh`",
        missing.join(", ")
    );
    assert!(
        std::env::var("WEIR_INTEROP").as_deref() != Ok("1"),
        "{message}"
    );
    // Written past the test harness's capture, once, so that a plain
    // `cargo test` shows it.
    static LOUD: Once = Once::new();
    LOUD.call_once(|| {
        let _ = writeln!(io::stderr(), "\n########## SKIPPED: {message} ##########\n");
    });
    false
}

/// The two real peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Peer {
    Python,
    Node,
}

impl Peer {
    /// The peer program in `role` ("server" or "client").
    fn command(self, role: &str) -> Command {
        let (program, script) = match self {
            Peer::Python => (root().join(VENV_PYTHON), "tests/interop/peer.py"),
            Peer::Node => ("node".into(), "tests/interop/peer.mjs"),
        };
        let mut command = Command::new(program);
        command.arg(root().join(script)).arg(role);
        command
    }
}

/// The agreed parameters, in the order of [`DeflateParams`]' fields.
fn params(server_nct: bool, client_nct: bool, server_bits: u8, client_bits: u8) -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: server_nct,
        client_no_context_takeover: client_nct,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    }
}

/// The `OFFER => ANSWER` a peer printed on a `negotiated: ` line.
fn negotiated(output: &str) -> Option<(&str, &str)> {
    let line = output
        .lines()
        .find_map(|l| l.strip_prefix("negotiated: "))?;
    line.split_once(" => ")
}

/// Whether weir sends its message number `index` (from 0) uncompressed.
fn uncompressed(index: usize) -> bool {
    index % 3 == 2
}

// ---- Peer clients against weir's servers -----------------------------------

/// What a weir echo server saw on one connection, reported when it ended.
#[derive(Debug, Default)]
struct Seen {
    offer: Option<String>,
    deflate: Option<DeflateParams>,
    echoed: usize,
    error: Option<String>,
}

fn offer_of(request: &HttpRequest) -> Option<String> {
    let value = request.header(EXTENSIONS)?;
    Some(String::from_utf8_lossy(value).into_owned())
}

/// The weir echo servers.
#[derive(Clone, Copy, Debug)]
enum WeirServer {
    /// weir-mio's server API with its default deflate terms.
    Mio,
    /// weir-std with `accept`'s default terms.
    Std,
    /// weir-std accepting context takeover both ways.
    StdTakeover,
}

/// A running weir echo server; stopped on drop.
struct WeirEcho {
    addr: SocketAddr,
    seen: Receiver<Seen>,
    stop: Option<Box<dyn FnOnce()>>,
}

impl Drop for WeirEcho {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

impl WeirEcho {
    fn start(kind: WeirServer) -> Self {
        match kind {
            WeirServer::Mio => start_mio_server(),
            WeirServer::Std => start_std_server(AcceptOptions::default()),
            WeirServer::StdTakeover => start_std_server(
                AcceptOptions::default().with_deflate(Some(DeflateConfig::default())),
            ),
        }
    }
}

/// The weir-mio echo handler; keeps what each connection saw until it ends.
struct MioEcho {
    seen: Sender<Seen>,
    conns: Mutex<HashMap<ConnId, Seen>>,
}

impl MioEcho {
    fn with_seen<T>(&self, ws: &Socket, f: impl FnOnce(&mut Seen) -> T) -> T {
        f(self.conns.lock().unwrap().entry(ws.id()).or_default())
    }
}

impl WsHandler for MioEcho {
    fn on_open(&self, ws: &Socket, request: &UpgradeRequest) -> Result<AcceptOptions, Rejection> {
        self.with_seen(ws, |seen| seen.offer = offer_of(request.request()));
        Ok(AcceptOptions::default())
    }

    fn on_message(&self, ws: &Socket, message: Message) {
        let index = self.with_seen(ws, |seen| {
            seen.echoed += 1;
            seen.echoed - 1
        });
        let sent = match uncompressed(index) {
            true => ws.send_uncompressed(message),
            false => ws.send(message),
        };
        if let Err(error) = sent {
            self.with_seen(ws, |seen| seen.error = Some(error.to_string()));
        }
    }

    fn on_error(&self, ws: &Socket, error: &event_loop::Error) {
        self.with_seen(ws, |seen| seen.error = Some(error.to_string()));
    }

    fn on_close(&self, ws: &Socket, _code: CloseCode, _reason: &str) {
        let mut seen = self
            .conns
            .lock()
            .unwrap()
            .remove(&ws.id())
            .unwrap_or_default();
        seen.deflate = ws.deflate();
        let _ = self.seen.send(seen);
    }
}

fn start_mio_server() -> WeirEcho {
    let (tx, seen) = mpsc::channel();
    let echo = MioEcho {
        seen: tx,
        conns: Mutex::default(),
    };
    // A 16 MiB echo must fit the send queue (the builder's is 1 MiB).
    let connection = Config::default().with_max_send_queue(64 << 20);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .route("/*", echo)
        .config(event_loop::Config::default().with_connection(connection))
        .build()
        .unwrap();
    let (addr, handle) = (server.local_addr(), server.handle());
    let thread = thread::spawn(move || server.run().unwrap());
    WeirEcho {
        addr,
        seen,
        stop: Some(Box::new(move || {
            handle.shutdown(Duration::from_secs(2));
            join(thread);
        })),
    }
}

fn start_std_server(options: AcceptOptions) -> WeirEcho {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, seen) = mpsc::channel();
    let stopping = Arc::new(AtomicBool::new(false));
    let acceptor = {
        let stopping = Arc::clone(&stopping);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Acquire) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (options, tx) = (options.clone(), tx.clone());
                thread::spawn(move || serve_std(stream, options, tx));
            }
        })
    };
    WeirEcho {
        addr,
        seen,
        stop: Some(Box::new(move || {
            stopping.store(true, Ordering::Release);
            // Wake the acceptor; it sees the flag and returns.
            let _ = TcpStream::connect(addr);
            join(acceptor);
        })),
    }
}

/// One connection of the weir-std echo server.
fn serve_std(stream: TcpStream, options: AcceptOptions, tx: Sender<Seen>) {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    let mut seen = Seen::default();
    let accepted = blocking::accept_with(stream, Config::default(), |upgrade| {
        seen.offer = offer_of(upgrade.request());
        Ok(options)
    });
    // A failed handshake (or the stop's wake-up) shows at the peer.
    let Ok(mut ws) = accepted else { return };
    seen.deflate = ws.connection().deflate().copied();
    loop {
        let sent = match ws.read() {
            Ok(message) if uncompressed(seen.echoed) => ws.send_uncompressed(message),
            Ok(message) => ws.send(message),
            Err(blocking::Error::Closed(_)) => break,
            Err(error) => Err(error),
        };
        if let Err(error) = sent {
            seen.error = Some(error.to_string());
            break;
        }
        seen.echoed += 1;
    }
    let _ = tx.send(seen);
}

/// One offer of a peer client, and what a weir server that allows context
/// takeover agrees to (a low-memory one adds no context takeover both ways).
struct ClientCase {
    name: &'static str,
    /// The peer's command-line options, separated by spaces.
    args: &'static str,
    expect: DeflateParams,
}

fn client_cases(peer: Peer) -> Vec<ClientCase> {
    // websockets cannot compress with 8 bits: its own window is 9 at least.
    let (window_8, own_bits) = match peer {
        Peer::Python => ("--server-max-window-bits 8 --client-max-window-bits 9", 9),
        Peer::Node => ("--server-max-window-bits 8 --client-max-window-bits 8", 8),
    };
    vec![
        ClientCase {
            name: "its default offer, up to 16 MiB",
            args: "--big",
            expect: params(false, false, 15, 15),
        },
        ClientCase {
            name: "client_no_context_takeover and windows of 10",
            args: "--client-no-context-takeover --server-max-window-bits 10 --client-max-window-bits 10",
            expect: params(false, true, 10, 10),
        },
        ClientCase {
            name: "windows of 8",
            args: window_8,
            expect: params(false, false, 8, own_bits),
        },
    ]
}

/// Runs every [`ClientCase`] of `peer`'s client against a weir server.
fn peer_client_against(peer: Peer, kind: WeirServer) {
    if !peers_installed() {
        return;
    }
    let server = WeirEcho::start(kind);
    let url = format!("ws://{}/echo", server.addr);
    for case in client_cases(peer) {
        let what = format!(
            "{peer:?} client, {}, against the weir {kind:?} server",
            case.name
        );
        let output = peer
            .command("client")
            .arg(&url)
            .args(case.args.split_whitespace())
            .output()
            .unwrap();
        let printed =
            String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
        let seen = server.seen.recv_timeout(PATIENCE);
        eprintln!("--- {what}\n{}\nweir saw {seen:?}", printed.trim_end());
        assert!(
            output.status.success(),
            "{what} failed ({}):\n{printed}\nweir saw {seen:?}",
            output.status
        );
        let seen = seen.unwrap_or_else(|e| panic!("{what}: the server reported nothing: {e}"));
        let (_, answer) =
            negotiated(&printed).unwrap_or_else(|| panic!("{what}: no answer in\n{printed}"));
        assert!(
            answer.contains("permessage-deflate"),
            "{what}: answer {answer}"
        );
        let mut expect = case.expect;
        if !matches!(kind, WeirServer::StdTakeover) {
            expect.server_no_context_takeover = true;
            expect.client_no_context_takeover = true;
        }
        assert_eq!(
            seen.deflate,
            Some(expect),
            "{what}: the server agreed to other terms"
        );
        assert_eq!(seen.error, None, "{what}");
        let sent = if case.args.contains("--big") { 12 } else { 10 };
        assert_eq!(seen.echoed, sent, "{what}: messages echoed");
    }
}

#[test]
fn python_client_against_weir_mio_server() {
    peer_client_against(Peer::Python, WeirServer::Mio);
}

#[test]
fn python_client_against_weir_std_server() {
    peer_client_against(Peer::Python, WeirServer::Std);
}

#[test]
fn python_client_against_weir_std_server_with_context_takeover() {
    peer_client_against(Peer::Python, WeirServer::StdTakeover);
}

#[test]
fn node_client_against_weir_mio_server() {
    peer_client_against(Peer::Node, WeirServer::Mio);
}

#[test]
fn node_client_against_weir_std_server() {
    peer_client_against(Peer::Node, WeirServer::Std);
}

#[test]
fn node_client_against_weir_std_server_with_context_takeover() {
    peer_client_against(Peer::Node, WeirServer::StdTakeover);
}

// ---- weir's clients against peer servers -----------------------------------

/// A peer's echo server process; its stdin closes and it is killed on drop.
struct PeerServer {
    addr: String,
    lines: Receiver<String>,
    stdin: Option<ChildStdin>,
    child: Child,
}

impl PeerServer {
    /// Starts `peer`'s server with `args` (options separated by spaces).
    fn start(peer: Peer, args: &str) -> Self {
        let mut child = peer
            .command("server")
            .args(args.split_whitespace())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {peer:?} server: {e}"));
        let (tx, lines) = mpsc::channel();
        forward_lines(child.stdout.take().unwrap(), peer, tx.clone());
        forward_lines(child.stderr.take().unwrap(), peer, tx);
        let stdin = child.stdin.take();
        let mut server = Self {
            addr: String::new(),
            lines,
            stdin,
            child,
        };
        server.addr = server.line_after("listening ");
        server
    }

    /// The rest of the next line that starts with `prefix`.
    fn line_after(&self, prefix: &str) -> String {
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(line) => match line.strip_prefix(prefix) {
                    Some(rest) => return rest.to_owned(),
                    None => continue,
                },
                Err(e) => panic!("the peer server never printed {prefix:?}: {e}"),
            }
        }
    }

    fn uri(&self) -> String {
        format!("ws://{}/echo", self.addr)
    }
}

impl Drop for PeerServer {
    fn drop(&mut self) {
        drop(self.stdin.take()); // the peer exits at EOF
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Echoes a peer's output to the test's log and sends each line to `tx`.
fn forward_lines(output: impl Read + Send + 'static, peer: Peer, tx: Sender<String>) {
    thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            eprintln!("[{peer:?} server] {line}");
            let _ = tx.send(line);
        }
    });
}

/// Terms of a peer server, weir's client offer, and what they agree to
/// (`None`: the peer declines compression).
struct ServerCase {
    name: &'static str,
    /// The peer server's options, separated by spaces.
    server_args: &'static str,
    client: DeflateConfig,
    expect: Option<DeflateParams>,
    big: bool,
}

fn server_cases(peer: Peer) -> Vec<ServerCase> {
    let python = peer == Peer::Python;
    let mut cases = vec![
        ServerCase {
            name: "both defaults, up to 16 MiB",
            server_args: "",
            client: DeflateConfig::default(),
            // websockets' server limits both windows to 12 bits.
            expect: Some(if python {
                params(false, false, 12, 12)
            } else {
                params(false, false, 15, 15)
            }),
            big: true,
        },
        ServerCase {
            name: "the peer requires no context takeover and windows of 10",
            server_args: "--server-no-context-takeover --client-no-context-takeover --server-max-window-bits 10 --client-max-window-bits 10",
            client: DeflateConfig::default(),
            expect: Some(params(true, true, 10, 10)),
            big: false,
        },
    ];
    let windows_of_8 = DeflateConfig::default().with_max_window_bits(8, 8);
    if python {
        // websockets cannot compress with 8 bits: it declines an offer of
        // server_max_window_bits=8 (weir then talks uncompressed), takes 9.
        cases.extend([
            ServerCase {
                name: "weir asks for windows of 8: declined",
                server_args: "",
                client: windows_of_8,
                expect: None,
                big: false,
            },
            ServerCase {
                name: "weir asks for windows of 9 (server) and 8 (client)",
                server_args: "",
                client: DeflateConfig::default().with_max_window_bits(9, 8),
                expect: Some(params(false, false, 9, 8)),
                big: false,
            },
            ServerCase {
                name: "the peer requires client_max_window_bits=8",
                server_args: "--client-max-window-bits 8",
                client: DeflateConfig::default(),
                expect: Some(params(false, false, 15, 8)),
                big: false,
            },
        ]);
    } else {
        cases.extend([
            ServerCase {
                name: "weir asks for windows of 8",
                server_args: "",
                client: windows_of_8,
                expect: Some(params(false, false, 8, 8)),
                big: false,
            },
            ServerCase {
                name: "the peer requires windows of 8",
                server_args: "--server-max-window-bits 8 --client-max-window-bits 8",
                client: DeflateConfig::default(),
                expect: Some(params(false, false, 8, 8)),
                big: false,
            },
        ]);
    }
    cases
}

/// `len` bytes of JSON-looking ASCII.
fn json_like(len: usize) -> String {
    let mut json = String::from("[");
    for i in 0.. {
        if json.len() >= len {
            break;
        }
        let (online, score) = (i % 3 == 0, i * 37 % 101);
        json += &format!(r#"{{"id":{i},"name":"user-{i}","online":{online},"score":{score}}},"#);
    }
    json.truncate(len);
    json
}

/// What weir's clients send: text and binary of 0 B, 20 B, 1 KiB
/// (JSON-like), 64 KiB and 1 MiB, and of 16 MiB if `big`.
fn weir_messages(big: bool) -> Vec<Message> {
    let json = json_like(1024);
    let mut messages = vec![
        Message::from(text_pattern(0)),
        Message::from(binary_pattern(0)),
        Message::from(text_pattern(20)),
        Message::from(binary_pattern(20)),
        Message::from(json.clone()),
        Message::from(json.into_bytes()),
    ];
    let sizes: &[usize] = if big {
        &[64 << 10, 1 << 20, 16 << 20]
    } else {
        &[64 << 10, 1 << 20]
    };
    for &len in sizes {
        messages.push(Message::from(text_pattern(len)));
        messages.push(Message::from(binary_pattern(len)));
    }
    messages
}

fn std_client_case(server: &PeerServer, case: &ServerCase, what: &str) {
    let options = ClientOptions::default().with_deflate(Some(case.client.clone()));
    let (mut ws, response) = blocking::connect_with(&server.uri(), options, Config::default())
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    ws.get_ref().tcp().set_read_timeout(Some(PATIENCE)).unwrap();
    ws.get_ref()
        .tcp()
        .set_write_timeout(Some(PATIENCE))
        .unwrap();
    let answer = response.header(EXTENSIONS).map(String::from_utf8_lossy);
    eprintln!("{what}: answer {answer:?}");
    assert_eq!(
        response.deflate(),
        case.expect.as_ref(),
        "{what}: answer {answer:?}"
    );
    for (i, message) in weir_messages(case.big).into_iter().enumerate() {
        let what = format!("{what}: echo #{i}, {}", describe(&message));
        let sent = match uncompressed(i) {
            true => ws.send_uncompressed(message.clone()),
            false => ws.send(message.clone()),
        };
        sent.unwrap_or_else(|e| panic!("{what}: {e}"));
        let echo = ws.read().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_same(&echo, &message, &what);
    }
    let answer = ws.close_and_wait(CloseCode::NORMAL, "done").unwrap();
    assert_eq!(answer.map(|f| f.code), Some(CloseCode::NORMAL), "{what}");
}

/// A weir-mio client that sends messages one at a time, each after the
/// echo of the one before, then closes.
#[derive(Default)]
struct MioClient {
    to_send: VecDeque<Message>,
    sent: usize,
    waiting: Option<Message>,
    echoes: Vec<(Message, Message)>,
    deflate: Option<DeflateParams>,
    answer: Option<String>,
    closes: Vec<u16>,
    errors: Vec<String>,
}

impl MioClient {
    fn send_next(&mut self, ws: &mut Ws<'_>) {
        let Some(message) = self.to_send.pop_front() else {
            if let Err(e) = ws.close(CloseCode::NORMAL, "done") {
                self.errors.push(e.to_string());
            }
            return;
        };
        let sent = match uncompressed(self.sent) {
            true => ws.send_uncompressed(message.clone()),
            false => ws.send(message.clone()),
        };
        self.sent += 1;
        match sent {
            Ok(()) => self.waiting = Some(message),
            Err(e) => self.errors.push(format!("send #{}: {e}", self.sent - 1)),
        }
    }
}

impl Handler for MioClient {
    fn on_open(&mut self, ws: &mut Ws<'_>, opened: Opened<'_>) {
        self.deflate = ws.deflate();
        let answer = opened.response().and_then(|r| r.header(EXTENSIONS));
        self.answer = answer.map(|a| String::from_utf8_lossy(a).into_owned());
        self.send_next(ws);
    }

    fn on_message(&mut self, ws: &mut Ws<'_>, message: Message) {
        match self.waiting.take() {
            Some(sent) => self.echoes.push((message, sent)),
            None => self
                .errors
                .push(format!("unexpected {}", describe(&message))),
        }
        self.send_next(ws);
    }

    fn on_close(&mut self, _ws: &mut Ws<'_>, code: CloseCode, _reason: &str) {
        self.closes.push(code.as_u16());
    }

    fn on_error(&mut self, _ws: &mut Ws<'_>, error: &event_loop::Error) {
        self.errors.push(error.to_string());
    }
}

fn mio_client_case(server: &PeerServer, case: &ServerCase, what: &str) {
    let messages = weir_messages(case.big);
    let mut client = MioClient {
        to_send: messages.iter().cloned().collect(),
        ..MioClient::default()
    };
    let mut event_loop = client_loop();
    let options = ClientOptions::default().with_deflate(Some(case.client.clone()));
    event_loop.connect(&server.uri(), options).unwrap();
    run_client_loop(&mut event_loop, &mut client);
    eprintln!("{what}: answer {:?}", client.answer);
    assert_eq!(client.errors, Vec::<String>::new(), "{what}");
    assert_eq!(
        client.deflate, case.expect,
        "{what}: answer {:?}",
        client.answer
    );
    assert_eq!(client.echoes.len(), messages.len(), "{what}: echoes");
    for (i, (echo, sent)) in client.echoes.iter().enumerate() {
        assert_same(
            echo,
            sent,
            &format!("{what}: echo #{i}, {}", describe(sent)),
        );
    }
    assert_eq!(client.closes, [1000], "{what}");
}

/// Runs every [`ServerCase`] of `peer` with weir's std or mio client.
fn weir_client_against(peer: Peer, mio: bool) {
    if !peers_installed() {
        return;
    }
    let client = if mio { "weir-mio" } else { "weir-std" };
    for case in server_cases(peer) {
        let what = format!("{client} client against the {peer:?} server, {}", case.name);
        eprintln!("--- {what}");
        let server = PeerServer::start(peer, case.server_args);
        match mio {
            true => mio_client_case(&server, &case, &what),
            false => std_client_case(&server, &case, &what),
        }
        let printed = server.line_after("negotiated: ");
        assert_eq!(
            printed.contains("=> permessage-deflate"),
            case.expect.is_some(),
            "{what}: the server printed {printed}"
        );
    }
}

#[test]
fn weir_std_client_against_python_server() {
    weir_client_against(Peer::Python, false);
}

#[test]
fn weir_mio_client_against_python_server() {
    weir_client_against(Peer::Python, true);
}

#[test]
fn weir_std_client_against_node_server() {
    weir_client_against(Peer::Node, false);
}

#[test]
fn weir_mio_client_against_node_server() {
    weir_client_against(Peer::Node, true);
}
