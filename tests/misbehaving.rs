//! A server keeps serving a well-behaved weir-std client while raw TCP
//! peers misbehave: an unmasked frame, garbage bytes, a frame written half
//! and left hanging, and an opening handshake with headers over 8 KiB.

use std::io::{Read, Write};
use std::net::TcpStream;

use weir::blocking::{MaybeTls, WebSocket};
use weir::proto::{CloseCode, Message};
use weir_test_support::echo::*;
use weir_test_support::frames::*;
use weir_test_support::payloads::*;
use weir_test_support::tcp::*;

/// Sends several text and binary messages and checks every echo.
fn exchange(ws: &mut WebSocket<MaybeTls>, label: &str) {
    for i in 0..4 {
        let text = format!("{label} #{i}");
        std_round_trip(ws, Message::from(text.as_str()), &text);
        let binary = binary_pattern(1000 + i * 5000);
        std_round_trip(ws, Message::from(binary), &format!("{label} binary #{i}"));
    }
}

/// Reads the server's Close frame byte by byte (0x88, a payload length of
/// 2..=125, the code in network order) and asserts code 1002, then EOF.
fn assert_close_1002_then_eof(stream: &mut TcpStream, what: &str) {
    let mut head = [0; 2];
    stream
        .read_exact(&mut head)
        .unwrap_or_else(|e| panic!("{what}: no Close frame: {e}"));
    assert_eq!(head[0], 0x88, "{what}: FIN + Close opcode");
    let len = usize::from(head[1]);
    assert!((2..=125).contains(&len), "{what}: unmasked, code present");
    let mut payload = vec![0; len];
    stream.read_exact(&mut payload).unwrap();
    let code = u16::from_be_bytes([payload[0], payload[1]]);
    assert_eq!(code, 1002, "{what}: close code");
    assert!(
        std::str::from_utf8(&payload[2..]).is_ok(),
        "{what}: UTF-8 reason"
    );
    assert_eq!(read_to_eof(stream), b"", "{what}: nothing after the Close");
}

fn misbehaving_peers_do_not_disturb_a_good_client(adapter: Adapter) {
    let server = EchoServer::start(adapter);
    let mut good = std_client(&server.uri("/good"));
    let good_conn = server.next_open();
    exchange(&mut good, "before");

    // (a) An unmasked frame from a client.
    let mut unmasked = raw_upgrade(server.addr);
    let unmasked_conn = server.next_open();
    unmasked
        .write_all(&frame(0x1, b"not masked", None))
        .unwrap();
    assert_close_1002_then_eof(&mut unmasked, "unmasked frame");
    let error = server.error_of(unmasked_conn);
    assert!(error.contains("unmasked"), "{error}");
    if adapter == Adapter::Mio {
        assert_eq!(server.close_of(unmasked_conn).0, 1002);
    }
    exchange(&mut good, "after an unmasked frame");

    // (b) Garbage: reserved bits and a reserved opcode in the first byte.
    let mut garbage = raw_upgrade(server.addr);
    let garbage_conn = server.next_open();
    garbage
        .write_all(b"\xde\xad\xbe\xef\x00\xffGARBAGE\r\n")
        .unwrap();
    assert_close_1002_then_eof(&mut garbage, "garbage");
    server.error_of(garbage_conn);
    if adapter == Adapter::Mio {
        assert_eq!(server.close_of(garbage_conn).0, 1002);
    }
    exchange(&mut good, "after garbage");

    // (c) Half a frame, then nothing: the server must wait for the rest
    // without holding anyone else up. It stays half-written through (d).
    let mut stalled = raw_upgrade(server.addr);
    let stalled_conn = server.next_open();
    let whole = frame(0x1, b"finished at last", Some([0x11, 0x22, 0x33, 0x44]));
    stalled.write_all(&whole[..5]).unwrap();
    exchange(&mut good, "while a frame is half-written");

    // (d) An opening handshake whose headers exceed 8 KiB: 431, then EOF.
    let mut oversized = tcp(server.addr);
    let filler = format!("X-Filler: {}\r\n", "f".repeat(9 * 1024));
    oversized
        .write_all(&upgrade_request("/oversized", &filler))
        .unwrap();
    let answer = String::from_utf8(read_to_eof(&mut oversized)).unwrap();
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    let note = server.wait_for(|n| {
        matches!(n, Note::Error { conn, .. } if ![good_conn, unmasked_conn, garbage_conn, stalled_conn].contains(conn))
    });
    assert!(
        matches!(&note, Note::Error { error, .. } if error.contains("header block exceeds")),
        "{note:?}"
    );
    exchange(&mut good, "after an oversized handshake");

    // The stalled frame, finished, is echoed: its state was kept.
    stalled.write_all(&whole[5..]).unwrap();
    assert_eq!(
        read_frame(&mut stalled),
        (0x81, b"finished at last".to_vec())
    );
    exchange(&mut good, "after the stalled frame finished");

    // Both remaining peers close cleanly.
    stalled
        .write_all(&frame(0x8, &1000u16.to_be_bytes(), Some([1, 2, 3, 4])))
        .unwrap();
    assert_eq!(
        read_frame(&mut stalled),
        (0x88, 1000u16.to_be_bytes().to_vec())
    );
    assert_eq!(read_to_eof(&mut stalled), b"");
    assert_eq!(server.close_of(stalled_conn), (1000, String::new()));

    let answer = good.close_and_wait(CloseCode::NORMAL, "good bye").unwrap();
    assert_eq!(answer.map(|f| f.code), Some(CloseCode::NORMAL));
    assert_eq!(server.close_of(good_conn), (1000, "good bye".to_owned()));
}

#[test]
fn mio_server_keeps_serving_while_peers_misbehave() {
    misbehaving_peers_do_not_disturb_a_good_client(Adapter::Mio);
}

#[test]
fn std_server_keeps_serving_while_peers_misbehave() {
    misbehaving_peers_do_not_disturb_a_good_client(Adapter::Std);
}
