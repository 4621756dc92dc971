//! The server side over real loopback sockets: echo, many connections, the
//! callbacks and their arguments, upgrade rejection and plain HTTP.

use std::collections::HashSet;
use std::io::Write;

use weir_mio::weir_proto::handshake::HandshakeError;
use weir_mio::weir_proto::Event;
use weir_mio::{ClientOptions, CloseCode, Config, Message, Role};
use weir_test_support::client::*;
use weir_test_support::frames::*;
use weir_test_support::recorder::*;
use weir_test_support::tcp::*;

#[test]
fn echoes_text_and_binary_of_every_size() {
    let (server, _notes) = recording_server(Config::default());
    let mut client = Client::connect(server.addr, "/echo");
    for size in [0, 1, 125, 126, 127, 65_535, 65_536, 100_000, 1 << 20] {
        let text = "é".repeat(size / 2) + &"x".repeat(size % 2);
        assert_eq!(text.len(), size);
        client.send(text.as_str());
        assert_eq!(client.next_message(), Message::from(text), "text of {size}");

        let binary: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        client.send(binary.clone());
        assert_eq!(
            client.next_message(),
            Message::from(binary),
            "binary of {size}"
        );
    }
    client.close(CloseCode::NORMAL, "");
    assert_eq!(
        client.expect_close_then_eof(),
        Some((CloseCode::NORMAL, String::new()))
    );
}

#[test]
fn fifty_concurrent_connections_have_unique_ids() {
    let (server, notes) = recording_server(Config::default());
    let mut clients: Vec<Client> = (0..50)
        .map(|_| Client::connect(server.addr, "/many"))
        .collect();
    // Interleave: everyone sends, then everyone reads, twice.
    for round in 0..2 {
        for (i, client) in clients.iter_mut().enumerate() {
            client.send(format!("client {i} round {round}"));
        }
        for (i, client) in clients.iter_mut().enumerate() {
            assert_eq!(
                client.next_message(),
                Message::from(format!("client {i} round {round}"))
            );
        }
    }
    for client in &mut clients {
        client.close(CloseCode::NORMAL, "bye");
    }
    for client in &mut clients {
        client.expect_close_then_eof();
    }
    let mut opened = HashSet::new();
    let mut closed = HashSet::new();
    while closed.len() < 50 {
        match next_note(&notes) {
            Note::Open { id, .. } => assert!(opened.insert(id), "id {id} opened twice"),
            Note::Close { id, code, reason } => {
                assert_eq!((code, reason.as_str()), (CloseCode::NORMAL, "bye"));
                assert!(opened.contains(&id));
                assert!(closed.insert(id), "id {id} closed twice");
            }
            Note::Message { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(opened.len(), 50);
    // Ids are never reused, even though tokens are.
    let mut late = Client::connect(server.addr, "/late");
    late.send("x");
    late.next_message();
    let Note::Open { id, .. } = wait_for(&notes, |n| matches!(n, Note::Open { .. })) else {
        unreachable!()
    };
    assert!(!opened.contains(&id));
}

#[test]
fn callbacks_see_path_messages_and_the_peers_close() {
    let (server, notes) = recording_server(Config::default());
    let options = ClientOptions {
        protocols: vec!["other".into(), "chat".into()],
        ..Default::default()
    };
    let mut client = Client::try_connect(server.addr, "/room/7?x=1", options).unwrap();
    assert_eq!(client.response.protocol(), Some("chat"));
    let Note::Open {
        id,
        role,
        path,
        protocol,
    } = next_note(&notes)
    else {
        panic!("expected on_open first")
    };
    assert_eq!(role, Role::Server);
    assert_eq!(path.as_deref(), Some("/room/7"));
    assert_eq!(protocol.as_deref(), Some("chat"));

    client.send(&b"\x00\x01"[..]);
    client.next_message();
    assert_eq!(
        next_note(&notes),
        Note::Message {
            id,
            message: Message::from(vec![0u8, 1])
        }
    );
    client.close(CloseCode::new(4000), "done here");
    assert_eq!(
        client.expect_close_then_eof(),
        Some((CloseCode::new(4000), String::new()))
    );
    assert_eq!(
        next_note(&notes),
        Note::Close {
            id,
            code: CloseCode::new(4000),
            reason: "done here".into()
        }
    );
}

#[test]
fn server_initiated_close_reaches_the_client() {
    let (server, notes) = recording_server(Config::default());
    let mut client = Client::connect(server.addr, "/");
    client.send("close 4321 server says bye");
    match client.next_event() {
        Some(Event::Close(Some(frame))) => {
            assert_eq!(frame.code, CloseCode::new(4321));
            assert_eq!(frame.reason, "server says bye");
        }
        other => panic!("expected the server's close, got {other:?}"),
    }
    // The client's answer was flushed by next_event; the server closes TCP.
    assert_eq!(client.next_event(), None);
    let note = wait_for(&notes, |n| matches!(n, Note::Close { .. }));
    assert!(matches!(note, Note::Close { code, .. } if code == CloseCode::new(4321)));
}

#[test]
fn eof_without_close_is_reported_as_1006() {
    let (server, notes) = recording_server(Config::default());
    let client = Client::connect(server.addr, "/");
    let Note::Open { id, .. } = next_note(&notes) else {
        panic!("expected on_open")
    };
    drop(client);
    assert_eq!(
        next_note(&notes),
        Note::Close {
            id,
            code: CloseCode::ABNORMAL,
            reason: String::new()
        }
    );
}

#[test]
fn handshake_split_into_single_bytes_and_frames_in_the_same_write() {
    let (server, _notes) = recording_server(Config::default());
    let mut stream = tcp(server.addr);
    let request = b"GET /split HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";
    for byte in request.iter() {
        stream.write_all(&[*byte]).unwrap();
    }
    let head = read_head(&mut stream);
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");

    // A second connection sends its request and two frames in one write.
    let mut other = tcp(server.addr);
    let mut bytes = request.to_vec();
    bytes.extend(frame(0x1, b"first", Some([1, 2, 3, 4])));
    bytes.extend(frame(0x2, b"second", Some([5, 6, 7, 8])));
    other.write_all(&bytes).unwrap();
    assert!(read_head(&mut other).starts_with("HTTP/1.1 101"));
    assert_eq!(read_frame(&mut other), (0x81, b"first".to_vec()));
    assert_eq!(read_frame(&mut other), (0x82, b"second".to_vec()));
}

#[test]
fn rejected_upgrade_is_answered_401() {
    let (server, notes) = recording_server(Config::default());
    let error = Client::try_connect(server.addr, "/private", ClientOptions::default())
        .err()
        .expect("the upgrade must be refused");
    let HandshakeError::UnexpectedStatus {
        status, headers, ..
    } = error
    else {
        panic!("expected an HTTP status, got {error:?}")
    };
    assert_eq!(status, 401);
    assert!(headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("WWW-Authenticate") && v == b"Bearer"));
    // No callback for a rejected connection: the next note is a later open.
    let _client = Client::connect(server.addr, "/public");
    assert!(matches!(next_note(&notes), Note::Open { .. }));
}

#[test]
fn plain_http_gets_426_and_eof() {
    let (server, _notes) = recording_server(Config::default());
    let mut stream = tcp(server.addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let answer = String::from_utf8(read_to_eof(&mut stream)).unwrap();
    assert!(answer.starts_with("HTTP/1.1 426 "), "{answer}");
    assert!(answer.contains("Sec-WebSocket-Version: 13"), "{answer}");
    assert!(answer.contains("Upgrade: websocket"), "{answer}");
}

#[test]
fn malformed_request_gets_400_and_on_error() {
    let (server, notes) = recording_server(Config::default());
    let mut stream = tcp(server.addr);
    // An upgrade without Sec-WebSocket-Key.
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    let answer = String::from_utf8(read_to_eof(&mut stream)).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    let Note::Error { error, .. } = next_note(&notes) else {
        panic!("expected on_error")
    };
    assert!(error.contains("Sec-WebSocket-Key"), "{error}");
}
