//! weir-std over real loopback sockets: a client and a server of this crate,
//! or one of them against a raw TCP peer that writes bytes by hand.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use weir_std::weir_proto::handshake::{ClientHandshake, Incoming, ServerHandshake};
use weir_std::{
    AcceptOptions, ClientOptions, CloseCode, CloseFrame, Config, Error, Event, HandshakeError,
    MaybeTls, Message, MessageKind, ProtocolError, Rejection, WebSocket,
};
use weir_test_support::tcp::raw_client;

/// Guards every blocking read in these tests against a hang.
const GUARD: Duration = Duration::from_secs(10);

fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("ws://{}", listener.local_addr().unwrap());
    (listener, uri)
}

fn accept_one(listener: &TcpListener) -> TcpStream {
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(GUARD)).unwrap();
    stream
}

fn connect(uri: &str) -> WebSocket<MaybeTls> {
    let (ws, response) = weir_std::connect(uri).unwrap();
    assert_eq!(response.status(), 101);
    ws.get_ref().tcp().set_read_timeout(Some(GUARD)).unwrap();
    ws
}

/// A server that echoes every message and returns how the connection ended.
fn echo_server(listener: TcpListener) -> JoinHandle<Error> {
    thread::spawn(move || {
        let mut ws = weir_std::accept(accept_one(&listener)).unwrap();
        loop {
            match ws.read() {
                Ok(message) => ws.send(message).unwrap(),
                Err(error) => return error,
            }
        }
    })
}

/// Asserts that the peer closed TCP: a raw read sees EOF.
fn assert_eof(stream: &mut impl Read) {
    let mut byte = [0u8; 1];
    assert_eq!(stream.read(&mut byte).unwrap(), 0, "expected EOF");
}

fn close_of(error: Error) -> CloseFrame {
    match error {
        Error::Closed(Some(frame)) => frame,
        other => panic!("expected Closed with a code, got {other:?}"),
    }
}

#[test]
fn echo_text_and_binary_from_0_bytes_to_1_mib() {
    let (listener, uri) = listen();
    let server = echo_server(listener);
    let mut ws = connect(&format!("{uri}/echo"));
    for len in [0, 1, 125, 126, 127, 65_535, 65_536, 100_000, 1 << 20] {
        let text = "é".repeat(len / 2) + &"x".repeat(len % 2);
        ws.send(text.as_str()).unwrap();
        assert_eq!(
            ws.read().unwrap(),
            Message::from(text),
            "text of {len} bytes"
        );
        let binary: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        ws.send(binary.clone()).unwrap();
        assert_eq!(
            ws.read().unwrap(),
            Message::from(binary),
            "binary of {len} bytes"
        );
    }
    let answer = ws.close_and_wait(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(answer.map(|frame| frame.code), Some(CloseCode::NORMAL));
    let seen = close_of(server.join().unwrap());
    assert_eq!(
        (seen.code, seen.reason.as_str()),
        (CloseCode::NORMAL, "bye")
    );
}

#[test]
fn batched_writes_leave_with_one_flush() {
    let (listener, uri) = listen();
    let server = echo_server(listener);
    let mut ws = connect(&uri);
    for i in 0..100 {
        ws.write(format!("message {i}")).unwrap();
    }
    assert!(ws.connection().buffered_amount() > 0);
    ws.flush().unwrap();
    assert_eq!(ws.connection().buffered_amount(), 0);
    for i in 0..100 {
        assert_eq!(ws.read().unwrap(), Message::from(format!("message {i}")));
    }
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    close_of(server.join().unwrap());
}

#[test]
fn fragmented_sends_arrive_as_one_message() {
    let (listener, uri) = listen();
    let server = echo_server(listener);
    let mut ws = connect(&uri);
    // A text message split inside the two bytes of "é".
    let text = "caf\u{e9} au lait".as_bytes();
    ws.send_fragment(MessageKind::Text, &text[..4], false)
        .unwrap();
    ws.send_fragment(MessageKind::Text, &text[4..8], false)
        .unwrap();
    ws.send_fragment(MessageKind::Text, &text[8..], true)
        .unwrap();
    assert_eq!(ws.read().unwrap(), Message::from("caf\u{e9} au lait"));

    ws.send_fragment(MessageKind::Binary, vec![1u8, 2], false)
        .unwrap();
    // A ping may come between the fragments of a message.
    ws.ping(&b"between"[..]).unwrap();
    ws.send_fragment(MessageKind::Binary, vec![], false)
        .unwrap();
    ws.send_fragment(MessageKind::Binary, vec![3u8], true)
        .unwrap();
    assert_eq!(ws.read().unwrap(), Message::from(vec![1u8, 2, 3]));

    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    close_of(server.join().unwrap());
}

#[test]
fn ping_is_answered_by_the_reading_peer() {
    let (listener, uri) = listen();
    let server = echo_server(listener);
    let mut ws = connect(&uri);
    ws.ping(&b"are you there"[..]).unwrap();
    match ws.read_event().unwrap() {
        Event::Pong(payload) => assert_eq!(&payload[..], b"are you there"),
        other => panic!("expected a pong, got {other:?}"),
    }
    // An unsolicited pong is skipped by the server's read.
    ws.pong(&b"heartbeat"[..]).unwrap();
    ws.send("after").unwrap();
    assert_eq!(ws.read().unwrap(), Message::from("after"));
    // Control payloads over 125 bytes are local misuse.
    assert!(matches!(
        ws.ping(vec![0u8; 126]),
        Err(Error::Send(weir_std::SendError::ControlPayloadTooLong(126)))
    ));
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    close_of(server.join().unwrap());
}

#[test]
fn client_closes_server_sees_code_and_shuts_tcp_first() {
    let (listener, uri) = listen();
    let server = echo_server(listener);
    let mut ws = connect(&uri);
    ws.close(CloseCode::new(4001), "client bye").unwrap();
    assert!(matches!(ws.send("late"), Err(Error::AlreadyClosed)));
    // The server's answer echoes the code.
    let answer = close_of(ws.read().unwrap_err());
    assert_eq!(answer.code, CloseCode::new(4001));
    assert!(matches!(ws.read(), Err(Error::AlreadyClosed)));

    let seen = close_of(server.join().unwrap());
    assert_eq!(
        (seen.code, seen.reason.as_str()),
        (CloseCode::new(4001), "client bye")
    );
    assert_eof(ws.get_mut());
}

#[test]
fn server_closes_client_sees_code_and_server_shuts_tcp() {
    let (listener, uri) = listen();
    let server = thread::spawn(move || {
        let mut ws = weir_std::accept(accept_one(&listener)).unwrap();
        ws.close(CloseCode::GOING_AWAY, "server bye").unwrap();
        // Messages the client sent before seeing the Close still arrive.
        let message = ws.read().unwrap();
        (message, ws.read().unwrap_err())
    });
    let mut ws = connect(&uri);
    ws.send("in flight").unwrap();
    let seen = close_of(ws.read().unwrap_err());
    assert_eq!(
        (seen.code, seen.reason.as_str()),
        (CloseCode::GOING_AWAY, "server bye")
    );
    let (message, end) = server.join().unwrap();
    assert_eq!(message, Message::from("in flight"));
    assert_eq!(close_of(end).code, CloseCode::GOING_AWAY);
    assert_eof(ws.get_mut());
}

#[test]
fn accept_with_selects_a_subprotocol() {
    let (listener, uri) = listen();
    let server = thread::spawn(move || {
        let mut ws = weir_std::accept_with(accept_one(&listener), Config::default(), |request| {
            assert_eq!(request.request().path(), "/room");
            assert_eq!(request.request().query(), Some("id=7"));
            let protocol = request.protocols().iter().find(|p| *p == "chat").cloned();
            Ok(AcceptOptions {
                protocol,
                ..Default::default()
            })
        })
        .unwrap();
        ws.read().unwrap_err()
    });
    let options = ClientOptions {
        protocols: vec!["superchat".into(), "chat".into()],
        ..Default::default()
    };
    let (mut ws, response) =
        weir_std::connect_with(&format!("{uri}/room?id=7"), options, Config::default()).unwrap();
    assert_eq!(response.protocol(), Some("chat"));
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    close_of(server.join().unwrap());
}

#[test]
fn rejection_reaches_the_client_as_its_status() {
    let (listener, uri) = listen();
    let server = thread::spawn(move || {
        let result = weir_std::accept_with(accept_one(&listener), Config::default(), |_| {
            Err(Rejection::new(401)
                .with_header("WWW-Authenticate", "Basic realm=\"weir\"")
                .with_body("who are you?"))
        });
        result.map(|_| ()).unwrap_err()
    });
    match weir_std::connect(&uri) {
        Err(Error::Handshake(HandshakeError::UnexpectedStatus {
            status, headers, ..
        })) => {
            assert_eq!(status, 401);
            assert!(headers.iter().any(
                |(name, value)| name == "WWW-Authenticate" && value == b"Basic realm=\"weir\""
            ));
        }
        other => panic!("expected a 401, got {other:?}"),
    }
    assert!(matches!(server.join().unwrap(), Error::Rejected(401)));
}

#[test]
fn plain_http_request_gets_426() {
    let (listener, uri) = listen();
    let server = thread::spawn(move || {
        weir_std::accept(accept_one(&listener))
            .map(|_| ())
            .unwrap_err()
    });
    let mut raw = TcpStream::connect(uri.trim_start_matches("ws://")).unwrap();
    raw.set_read_timeout(Some(GUARD)).unwrap();
    raw.write_all(b"GET /plain HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    raw.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 426"), "{answer}");
    assert!(answer.contains("Upgrade: websocket\r\n"), "{answer}");
    match server.join().unwrap() {
        Error::NotWebSocket(request) => {
            assert_eq!((request.method(), request.path()), ("GET", "/plain"));
        }
        other => panic!("expected NotWebSocket, got {other:?}"),
    }
}

#[test]
fn invalid_upgrade_gets_the_handshake_error_response() {
    let (listener, uri) = listen();
    let server = thread::spawn(move || {
        weir_std::accept(accept_one(&listener))
            .map(|_| ())
            .unwrap_err()
    });
    let mut raw = TcpStream::connect(uri.trim_start_matches("ws://")).unwrap();
    raw.set_read_timeout(Some(GUARD)).unwrap();
    raw.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    raw.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(matches!(
        server.join().unwrap(),
        Error::Handshake(HandshakeError::MissingKey)
    ));
}

#[test]
fn unmasked_frame_from_a_client_gets_close_1002_then_eof() {
    let (listener, uri) = listen();
    let server = thread::spawn(move || {
        let mut ws = weir_std::accept(accept_one(&listener)).unwrap();
        let error = ws.read().unwrap_err();
        let after = ws.read().unwrap_err();
        (error, after)
    });
    let mut raw = raw_client(&uri);
    raw.write_all(b"\x81\x02hi").unwrap(); // text "hi", not masked
    let mut received = Vec::new();
    raw.read_to_end(&mut received).unwrap(); // until the server's EOF
    assert!(received.len() >= 4, "{received:?}");
    assert_eq!(received[0], 0x88, "a Close frame with FIN");
    let len = usize::from(received[1]);
    assert_eq!(received.len(), 2 + len, "nothing after the Close");
    assert_eq!(u16::from_be_bytes([received[2], received[3]]), 1002);
    let (error, after) = server.join().unwrap();
    assert!(matches!(
        error,
        Error::Protocol(ProtocolError::UnmaskedFrame)
    ));
    assert!(matches!(after, Error::AlreadyClosed));
}

#[test]
fn frames_right_after_the_request_are_not_lost() {
    let (listener, uri) = listen();
    let server = echo_server(listener);
    let mut raw = TcpStream::connect(uri.trim_start_matches("ws://")).unwrap();
    raw.set_read_timeout(Some(GUARD)).unwrap();
    let (mut handshake, mut bytes) = ClientHandshake::new(&uri, Default::default()).unwrap();
    // A masked text frame "hey" (all-zero key), in the same write.
    bytes.extend_from_slice(b"\x81\x83\0\0\0\0hey");
    raw.write_all(&bytes).unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let leftover = loop {
        let n = raw.read(&mut buf).unwrap();
        if let Some(response) = handshake.receive(&buf[..n]).unwrap() {
            break response.leftover().to_vec();
        }
    };
    received.extend_from_slice(&leftover);
    while received.len() < 5 {
        let n = raw.read(&mut buf).unwrap();
        assert!(n > 0);
        received.extend_from_slice(&buf[..n]);
    }
    assert_eq!(&received[..5], b"\x81\x03hey");
    drop(raw);
    assert!(matches!(server.join().unwrap(), Error::ConnectionReset));
}

#[test]
fn frames_right_after_the_101_are_not_lost() {
    let (listener, uri) = listen();
    let server = thread::spawn(move || {
        let mut stream = accept_one(&listener);
        let mut handshake = ServerHandshake::new();
        let mut buf = [0u8; 4096];
        let upgrade = loop {
            let n = stream.read(&mut buf).unwrap();
            if let Some(Incoming::Upgrade(upgrade)) = handshake.receive(&buf[..n]).unwrap() {
                break upgrade;
            }
        };
        let mut answer = upgrade
            .accept(&Default::default(), weir_std::Config::default())
            .unwrap()
            .response;
        answer.extend_from_slice(b"\x81\x05early\x82\x01\x07");
        stream.write_all(&answer).unwrap();
        // Hold the connection open until the client is done.
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
    });
    let mut ws = connect(&uri);
    assert_eq!(ws.read().unwrap(), Message::from("early"));
    assert_eq!(ws.read().unwrap(), Message::from(vec![7u8]));
    drop(ws);
    server.join().unwrap();
}

#[test]
fn read_timeout_loses_nothing_and_the_next_read_continues() {
    let (listener, uri) = listen();
    let (timed_out_tx, timed_out) = mpsc::channel::<()>();
    let server = thread::spawn(move || {
        let mut ws = weir_std::accept(accept_one(&listener)).unwrap();
        // An unmasked server frame, text "hello world", in two halves.
        let frame = b"\x81\x0bhello world";
        ws.get_mut().write_all(&frame[..6]).unwrap();
        timed_out.recv().unwrap(); // the client's read has timed out
        ws.get_mut().write_all(&frame[6..]).unwrap();
        ws.read().unwrap_err()
    });
    let mut ws = connect(&uri);
    ws.get_mut()
        .tcp()
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let error = ws.read().unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert!(matches!(&error, Error::Io(_)));
    timed_out_tx.send(()).unwrap();
    let message = loop {
        match ws.read() {
            Ok(message) => break message,
            Err(error) if error.is_timeout() => continue,
            Err(error) => panic!("{error}"),
        }
    };
    assert_eq!(message, Message::from("hello world"));
    // Still fully usable afterwards.
    ws.get_mut().tcp().set_read_timeout(Some(GUARD)).unwrap();
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    close_of(server.join().unwrap());
}

#[test]
fn eof_without_close_is_connection_reset() {
    let (listener, uri) = listen();
    let server = thread::spawn(move || {
        let ws = weir_std::accept(accept_one(&listener)).unwrap();
        drop(ws);
    });
    let mut ws = connect(&uri);
    server.join().unwrap();
    assert!(matches!(ws.read(), Err(Error::ConnectionReset)));
    assert!(matches!(ws.read(), Err(Error::AlreadyClosed)));
    assert!(matches!(ws.send("x"), Err(Error::AlreadyClosed)));
}

#[cfg(not(feature = "tls"))]
#[test]
fn wss_is_refused_without_the_tls_feature() {
    let error = weir_std::connect("wss://127.0.0.1:1/").unwrap_err();
    assert!(matches!(error, Error::TlsUnsupported));
    assert!(error.to_string().contains("`tls` feature"), "{error}");
}

#[test]
fn read_refuses_streaming_mode_and_read_event_streams() {
    let (listener, uri) = listen();
    let server = thread::spawn(move || {
        let mut ws = weir_std::accept(accept_one(&listener)).unwrap();
        ws.send(vec![9u8; 40_000]).unwrap();
        ws.read().unwrap_err()
    });
    let config = Config::default().with_streaming(true);
    let (mut ws, _) = weir_std::connect_with(&uri, Default::default(), config).unwrap();
    assert!(matches!(ws.read(), Err(Error::StreamingMode)));
    let mut total = 0;
    loop {
        match ws.read_event().unwrap() {
            Event::Fragment(fragment) => {
                assert!(fragment.data.iter().all(|&b| b == 9));
                total += fragment.data.len();
                if fragment.is_last {
                    break;
                }
            }
            other => panic!("expected fragments, got {other:?}"),
        }
    }
    assert_eq!(total, 40_000);
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    close_of(server.join().unwrap());
}
