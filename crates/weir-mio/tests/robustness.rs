//! Peers that misbehave: protocol violations, slow readers, peers that never
//! answer a Close or never finish the handshake. None of them may hold up
//! the other connections.

use std::io::Write;
use std::time::Duration;

use weir_mio::weir_proto;
use weir_mio::{CloseCode, Config, Message};
use weir_test_support::client::*;
use weir_test_support::frames::*;
use weir_test_support::recorder::*;
use weir_test_support::tcp::*;

#[test]
fn unmasked_frame_gets_close_1002_then_eof_while_others_keep_working() {
    let (server, notes) = recording_server(Config::default());
    let mut good = Client::connect(server.addr, "/good");
    let Note::Open { id: good_id, .. } = next_note(&notes) else {
        panic!("expected on_open")
    };
    let mut bad = raw_upgrade(server.addr);
    let Note::Open { id: bad_id, .. } = next_note(&notes) else {
        panic!("expected on_open")
    };

    bad.write_all(&frame(0x1, b"no mask", None)).unwrap();
    let (head, payload) = read_frame(&mut bad);
    assert_eq!(head, 0x88, "a Close frame");
    assert_eq!(&payload[..2], &1002u16.to_be_bytes());
    assert!(read_to_eof(&mut bad).is_empty(), "nothing after the Close");

    let Note::Error { id, error } = next_note(&notes) else {
        panic!("expected on_error")
    };
    assert_eq!(id, bad_id);
    assert!(error.contains("unmasked"), "{error}");
    let Note::Close { id, code, .. } = next_note(&notes) else {
        panic!("expected on_close")
    };
    assert_eq!((id, code), (bad_id, CloseCode::PROTOCOL_ERROR));

    good.send("still here");
    assert_eq!(good.next_message(), Message::from("still here"));
    assert!(matches!(next_note(&notes), Note::Message { id, .. } if id == good_id));
}

#[test]
fn a_peer_still_sending_after_its_protocol_error_gets_the_close_then_eof_not_a_reset() {
    let (server, notes) = recording_server(Config::default());
    let mut bad = raw_upgrade(server.addr);
    assert!(matches!(next_note(&notes), Note::Open { .. }));
    // The error, then more than the server reads before it fails: input it
    // has not read when it closes. Closed at once, the socket would answer
    // with a reset, and the peer's kernel would drop the Close unread.
    let mut bytes = frame(0x1, b"no mask", None);
    bytes.extend(std::iter::repeat_n(0x42, 512 << 10));
    bad.write_all(&bytes).unwrap();
    assert!(matches!(next_note(&notes), Note::Error { .. }));
    assert!(matches!(next_note(&notes), Note::Close { .. }));
    let (head, payload) = read_frame(&mut bad);
    assert_eq!(head, 0x88, "a Close frame");
    assert_eq!(&payload[..2], &1002u16.to_be_bytes());
    // The server ended its side after the Close; ours ends now, and the
    // server (discarding what we sent) goes.
    assert!(read_to_eof(&mut bad).is_empty(), "nothing after the Close");
}

#[test]
fn slow_reader_keeps_its_output_queued_and_blocks_nobody() {
    const COUNT: usize = 32;
    const SIZE: usize = 1 << 20;
    let connection = weir_proto::Config::default().with_max_send_queue(128 << 20);
    let (server, notes) = recording_server(Config::default().with_connection(connection));
    let mut slow = Client::connect(server.addr, "/slow");
    let mut other = Client::connect(server.addr, "/other");

    // 32 MiB is more than loopback socket buffers hold: most of it must stay
    // queued in the server until the slow client reads.
    slow.send(format!("flood {COUNT} {SIZE}"));
    let Note::Buffered { bytes, .. } = wait_for(&notes, |n| matches!(n, Note::Buffered { .. }))
    else {
        unreachable!()
    };
    assert!(bytes > 0, "the flood should not fit in the socket");

    for round in 0..10 {
        other.send(format!("ping {round}"));
        assert_eq!(other.next_message(), Message::from(format!("ping {round}")));
    }

    for _ in 0..COUNT {
        let message = slow.next_message();
        assert_eq!(message.len(), SIZE);
        assert!(message.payload().iter().all(|&b| b == 0xab));
    }
    slow.close(CloseCode::NORMAL, "");
    slow.expect_close_then_eof();
}

#[test]
fn close_timeout_drops_a_peer_that_never_answers() {
    let connection =
        weir_proto::Config::default().with_close_timeout(Some(Duration::from_millis(200)));
    let config = Config::default().with_connection(connection);
    let (server, notes) = recording_server(config);
    let mut peer = raw_upgrade(server.addr);
    let Note::Open { id, .. } = next_note(&notes) else {
        panic!("expected on_open")
    };
    peer.write_all(&frame(0x1, b"close 1000 bye", Some([9, 8, 7, 6])))
        .unwrap();
    let (head, payload) = read_frame(&mut peer);
    assert_eq!(head, 0x88);
    assert_eq!(payload, b"\x03\xe8bye");
    // Never answer: the server drops the connection after the timeout.
    assert!(read_to_eof(&mut peer).is_empty());
    wait_for(&notes, |n| matches!(n, Note::Message { .. }));
    let Note::Error { error, .. } = next_note(&notes) else {
        panic!("expected on_error")
    };
    assert!(error.contains("closing handshake"), "{error}");
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
fn handshake_timeout_drops_a_silent_client() {
    let config = Config::default().with_handshake_timeout(Duration::from_millis(200));
    let (server, notes) = recording_server(config);
    let mut stream = tcp(server.addr);
    stream.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    assert!(read_to_eof(&mut stream).is_empty());
    let Note::Error { error, .. } = next_note(&notes) else {
        panic!("expected on_error")
    };
    assert!(error.contains("opening handshake"), "{error}");
}

#[test]
fn oversized_message_gets_close_1009() {
    let connection = weir_proto::Config::default().with_max_message_size(1000);
    let (server, notes) = recording_server(Config::default().with_connection(connection));
    let mut peer = raw_upgrade(server.addr);
    peer.write_all(&frame(0x2, &[0; 1001], Some([1, 1, 1, 1])))
        .unwrap();
    let (head, payload) = read_frame(&mut peer);
    assert_eq!(head, 0x88);
    assert_eq!(&payload[..2], &1009u16.to_be_bytes());
    assert!(read_to_eof(&mut peer).is_empty());
    wait_for(
        &notes,
        |n| matches!(n, Note::Close { code, .. } if *code == CloseCode::MESSAGE_TOO_BIG),
    );
}
