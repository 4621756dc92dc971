//! The two adapters talking to each other over loopback: messages of every
//! size, and fragmented messages with a ping in the middle, from either kind
//! of client to either kind of server.

use bytes::Bytes;
use weir::event_loop::{Handler, Opened, Ws};
use weir::proto::{CloseCode, Event, Message, MessageKind};
use weir_test_support::echo::*;
use weir_test_support::payloads::*;
use weir_test_support::script::*;

// ---- Messages of every size ------------------------------------------------

fn std_client_echoes_every_size(server: Adapter) {
    let server = EchoServer::start(server);
    let mut ws = std_client(&server.uri("/sizes"));
    let conn = server.next_open();
    for message in sized_messages() {
        let what = describe(&message);
        std_round_trip(&mut ws, message, &what);
    }
    let answer = ws.close_and_wait(CloseCode::NORMAL, "sizes done").unwrap();
    assert_eq!(answer.map(|f| f.code), Some(CloseCode::NORMAL));
    assert_eq!(server.close_of(conn), (1000, "sizes done".to_owned()));
}

fn mio_client_echoes_every_size(server: Adapter) {
    let server = EchoServer::start(server);
    let mut steps: Vec<Step> = sized_messages().into_iter().map(Step::Echo).collect();
    steps.push(Step::Close(1000, "sizes done".into()));
    let script = Script::new(steps).run(&server.uri("/sizes"));
    script.assert_echoes();
    assert_eq!(script.echoes.len(), 2 * SIZES.len());
    assert_eq!(script.errors, Vec::<String>::new());
    assert_eq!(script.closes, [(1000, String::new())]);
    let conn = server.next_open();
    assert_eq!(server.close_of(conn), (1000, "sizes done".to_owned()));
}

#[test]
fn std_client_and_mio_server_echo_text_and_binary_from_0_bytes_to_1_mib() {
    std_client_echoes_every_size(Adapter::Mio);
}

#[test]
fn mio_client_and_std_server_echo_text_and_binary_from_0_bytes_to_1_mib() {
    mio_client_echoes_every_size(Adapter::Std);
}

#[test]
fn std_client_and_std_server_echo_text_and_binary_from_0_bytes_to_1_mib() {
    std_client_echoes_every_size(Adapter::Std);
}

#[test]
fn mio_client_and_mio_server_echo_text_and_binary_from_0_bytes_to_1_mib() {
    mio_client_echoes_every_size(Adapter::Mio);
}

const SIXTEEN_MIB: usize = 16 << 20;

#[test]
fn std_client_and_mio_server_echo_a_16_mib_message_each_way() {
    let server = EchoServer::start(Adapter::Mio);
    let mut ws = std_client(&server.uri("/big"));
    std_round_trip(
        &mut ws,
        Message::from(binary_pattern(SIXTEEN_MIB)),
        "16 MiB binary",
    );
    std_round_trip(
        &mut ws,
        Message::from(text_pattern(SIXTEEN_MIB)),
        "16 MiB text",
    );
    let answer = ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    assert_eq!(answer.map(|f| f.code), Some(CloseCode::NORMAL));
}

#[test]
fn mio_client_and_std_server_echo_a_16_mib_message_each_way() {
    let server = EchoServer::start(Adapter::Std);
    let script = Script::new([
        Step::Echo(Message::from(binary_pattern(SIXTEEN_MIB))),
        Step::Echo(Message::from(text_pattern(SIXTEEN_MIB))),
        Step::Close(1000, String::new()),
    ])
    .run(&server.uri("/big"));
    script.assert_echoes();
    assert_eq!(script.echoes.len(), 2);
    assert_eq!(script.errors, Vec::<String>::new());
    assert_eq!(script.closes, [(1000, String::new())]);
}

// ---- Fragmented messages ---------------------------------------------------

/// A text whose fragments split a 2-byte and a 4-byte character.
const TEXT: &str = "héllo wörld 😀 and the rest";

/// The text's fragments: cut inside 'é' (bytes 1..3) and inside the emoji.
fn text_pieces() -> Vec<Bytes> {
    let bytes = TEXT.as_bytes();
    let emoji = TEXT.find('😀').unwrap();
    assert!(!TEXT.is_char_boundary(2) && !TEXT.is_char_boundary(emoji + 2));
    vec![
        Bytes::copy_from_slice(&bytes[..2]),
        Bytes::copy_from_slice(&bytes[2..emoji + 2]),
        Bytes::copy_from_slice(&bytes[emoji + 2..]),
    ]
}

/// 64 binary fragments of uneven sizes, some of them empty.
fn binary_pieces() -> Vec<Bytes> {
    let whole = binary_pattern(64 * 1000);
    let mut pieces = Vec::new();
    let mut at = 0;
    for i in 0..64 {
        let len = if i % 9 == 4 { 0 } else { (i * 37) % 1000 + 1 };
        let end = (at + len).min(whole.len());
        pieces.push(Bytes::copy_from_slice(&whole[at..end]));
        at = end;
    }
    pieces
}

fn concat(pieces: &[Bytes]) -> Vec<u8> {
    pieces.iter().flat_map(|p| p.iter().copied()).collect()
}

/// The events a std client reads until the next message.
fn std_events_until_message(
    ws: &mut weir::blocking::WebSocket<weir::blocking::MaybeTls>,
) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        let event = ws.read_event().unwrap();
        let done = matches!(event, Event::Message(_));
        events.push(event);
        if done {
            return events;
        }
    }
}

fn std_client_fragments_arrive_whole(server: Adapter) {
    let server = EchoServer::start(server);
    let mut ws = std_client(&server.uri("/fragments"));

    let text = text_pieces();
    ws.send_fragment(MessageKind::Text, text[0].clone(), false)
        .unwrap();
    ws.ping("mid-text").unwrap();
    ws.send_fragment(MessageKind::Text, text[1].clone(), false)
        .unwrap();
    ws.send_fragment(MessageKind::Text, text[2].clone(), true)
        .unwrap();
    assert_eq!(
        std_events_until_message(&mut ws),
        [
            Event::Pong(Bytes::from_static(b"mid-text")),
            Event::Message(Message::from(TEXT)),
        ]
    );

    let binary = binary_pieces();
    let last = binary.len() - 1;
    for (i, piece) in binary.iter().enumerate() {
        ws.send_fragment(MessageKind::Binary, piece.clone(), i == last)
            .unwrap();
        if i == 10 {
            ws.ping("mid-binary").unwrap();
        }
    }
    let events = std_events_until_message(&mut ws);
    assert_eq!(events.len(), 2, "{:?}", events.first());
    assert_eq!(events[0], Event::Pong(Bytes::from_static(b"mid-binary")));
    let Event::Message(echoed) = &events[1] else {
        unreachable!()
    };
    assert_same(
        echoed,
        &Message::from(concat(&binary)),
        "binary in 64 pieces",
    );

    // A whole message after the fragmented ones still works.
    std_round_trip(&mut ws, Message::from("after"), "after fragments");
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
}

#[test]
fn std_client_fragments_with_a_ping_between_arrive_whole_at_mio_server() {
    std_client_fragments_arrive_whole(Adapter::Mio);
}

#[test]
fn std_client_fragments_with_a_ping_between_arrive_whole_at_std_server() {
    std_client_fragments_arrive_whole(Adapter::Std);
}

/// What the fragmenting mio client saw, in order.
#[derive(Debug, PartialEq)]
enum Seen {
    Pong(Bytes),
    Message(Message),
    Close(u16),
    Error(String),
}

/// A weir-mio client that sends the first fragment(s) and a ping, waits for
/// the pong (so the server has answered a ping in the middle of a message),
/// then sends the rest: first the text, then the binary pieces.
struct Fragmenter {
    seen: Vec<Seen>,
}

impl Fragmenter {
    fn must(&mut self, result: Result<(), weir::proto::SendError>) {
        if let Err(error) = result {
            self.seen.push(Seen::Error(error.to_string()));
        }
    }
}

impl Handler for Fragmenter {
    fn on_open(&mut self, ws: &mut Ws<'_>, _: Opened<'_>) {
        let r = ws.send_fragment(MessageKind::Text, text_pieces()[0].clone(), false);
        self.must(r);
        let r = ws.ping("mid-text");
        self.must(r);
    }

    fn on_pong(&mut self, ws: &mut Ws<'_>, payload: Bytes) {
        let rest: Vec<(MessageKind, Bytes)> = if payload == "mid-text" {
            text_pieces()
                .into_iter()
                .skip(1)
                .map(|p| (MessageKind::Text, p))
                .collect()
        } else {
            binary_pieces()
                .into_iter()
                .skip(11)
                .map(|p| (MessageKind::Binary, p))
                .collect()
        };
        self.seen.push(Seen::Pong(payload));
        let last = rest.len() - 1;
        for (i, (kind, piece)) in rest.into_iter().enumerate() {
            let r = ws.send_fragment(kind, piece, i == last);
            self.must(r);
        }
    }

    fn on_message(&mut self, ws: &mut Ws<'_>, message: Message) {
        let was_text = message.kind() == MessageKind::Text;
        self.seen.push(Seen::Message(message));
        if was_text {
            for piece in binary_pieces().into_iter().take(11) {
                let r = ws.send_fragment(MessageKind::Binary, piece, false);
                self.must(r);
            }
            let r = ws.ping("mid-binary");
            self.must(r);
        } else {
            let r = ws.close(CloseCode::NORMAL, "");
            self.must(r);
        }
    }

    fn on_close(&mut self, _: &mut Ws<'_>, code: CloseCode, _: &str) {
        self.seen.push(Seen::Close(code.as_u16()));
    }

    fn on_error(&mut self, _: &mut Ws<'_>, error: &weir::event_loop::Error) {
        self.seen.push(Seen::Error(error.to_string()));
    }
}

fn mio_client_fragments_arrive_whole(server: Adapter) {
    let server = EchoServer::start(server);
    let mut event_loop = client_loop();
    event_loop
        .connect(&server.uri("/fragments"), Default::default())
        .unwrap();
    let mut client = Fragmenter { seen: Vec::new() };
    run_client_loop(&mut event_loop, &mut client);
    assert_eq!(
        client.seen,
        [
            Seen::Pong(Bytes::from_static(b"mid-text")),
            Seen::Message(Message::from(TEXT)),
            Seen::Pong(Bytes::from_static(b"mid-binary")),
            Seen::Message(Message::from(concat(&binary_pieces()))),
            Seen::Close(1000),
        ]
    );
}

#[test]
fn mio_client_fragments_with_a_ping_between_arrive_whole_at_std_server() {
    mio_client_fragments_arrive_whole(Adapter::Std);
}

#[test]
fn mio_client_fragments_with_a_ping_between_arrive_whole_at_mio_server() {
    mio_client_fragments_arrive_whole(Adapter::Mio);
}
