//! weir's clients (weir-std and weir-mio) against the peers' echo servers.

use std::collections::VecDeque;

use weir::blocking;
use weir::event_loop::{self, Handler, Opened, Ws};
use weir::proto::deflate::{DeflateConfig, DeflateParams};
use weir::proto::handshake::ClientOptions;
use weir::proto::{CloseCode, Config, Message};
use weir_test_support::payloads::{assert_same, binary_pattern, describe, text_pattern};
use weir_test_support::peers::{installed, Peer, PeerServer};
use weir_test_support::script::{client_loop, run_client_loop};
use weir_test_support::PATIENCE;

use super::{params, uncompressed, EXTENSIONS};

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
    if !installed(&[Peer::Python, Peer::Node]) {
        return;
    }
    let client = if mio { "weir-mio" } else { "weir-std" };
    for case in server_cases(peer) {
        let what = format!("{client} client against the {peer:?} server, {}", case.name);
        eprintln!("--- {what}");
        let server = PeerServer::start(peer, case.server_args.split_whitespace());
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
