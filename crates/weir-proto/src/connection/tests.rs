//! Tests of the connection through its public methods, one per RFC rule.
//! Every byte stream is also fed split at every point and one byte at a
//! time, and must give the same events and output.

use bytes::{Bytes, BytesMut};

use super::*;
use crate::close::{CloseCode, CloseFrame};
use crate::error::{ProtocolError, SendError};
use crate::mask::apply_mask;
use crate::message::{Event, Fragment, Message, MessageKind, Utf8Bytes};

#[cfg(feature = "deflate")]
mod deflate;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A raw frame, valid or not: `first` is the first header byte (FIN, RSV,
/// opcode), the payload is masked when `mask` is given.
fn raw_frame(first: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        len @ 0..=125 => out.push(mask_bit | len as u8),
        len @ 126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    let mut body = payload.to_vec();
    if let Some(key) = mask {
        out.extend_from_slice(&key);
        apply_mask(&mut body, key, 0);
    }
    out.extend_from_slice(&body);
    out
}

/// A frame as a client sends it to a server (masked).
fn to_server(first: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(first, Some(KEY), payload)
}

/// A frame as a server sends it to a client (unmasked).
fn to_client(first: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(first, None, payload)
}

/// What a connection made of some input: its events and its output bytes.
#[derive(Debug, PartialEq)]
struct Outcome {
    events: Vec<Result<Event, ProtocolError>>,
    output: Vec<u8>,
    state: State,
}

fn connection(role: Role, config: Config) -> Connection {
    Connection::with_mask_seed(role, config, [7; 32])
}

fn drain(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = conn.poll_transmit() {
        out.extend_from_slice(&chunk);
    }
    out
}

fn run(role: Role, config: &Config, chunks: &[&[u8]]) -> Outcome {
    run_on(connection(role, config.clone()), chunks)
}

/// How a test hands bytes to a connection.
#[derive(Clone, Copy, Debug)]
enum Entry {
    /// `receive(&[u8])`.
    Slice,
    /// `receive_buf`, each chunk read into a fresh `BytesMut`.
    FreshBuffers,
    /// `receive_buf`, every chunk read into the spare capacity of one
    /// `BytesMut`, as an adapter reusing its read buffer does.
    OneBuffer,
    /// `receive_buf` (a fresh `BytesMut`) and `receive` in turn, with events
    /// polled only after every second chunk: bytes arriving while others
    /// still wait to be parsed. Streaming mode's fragments then depend on
    /// it, so they are compared joined.
    Unpolled,
}

fn run_on(conn: Connection, chunks: &[&[u8]]) -> Outcome {
    run_with(conn, chunks, Entry::Slice)
}

fn run_with(mut conn: Connection, chunks: &[&[u8]], entry: Entry) -> Outcome {
    let mut events = Vec::new();
    let total = chunks.iter().map(|chunk| chunk.len()).sum();
    let mut reused = BytesMut::with_capacity(total);
    for (index, chunk) in chunks.iter().enumerate() {
        match entry {
            Entry::Slice => conn.receive(chunk),
            Entry::FreshBuffers => {
                let mut buf = BytesMut::from(*chunk);
                conn.receive_buf(&mut buf);
                assert!(buf.is_empty());
            }
            Entry::OneBuffer => {
                reused.extend_from_slice(chunk);
                conn.receive_buf(&mut reused);
                assert!(reused.is_empty());
            }
            Entry::Unpolled if index % 2 == 0 => conn.receive_buf(&mut BytesMut::from(*chunk)),
            Entry::Unpolled => conn.receive(chunk),
        }
        if matches!(entry, Entry::Unpolled) && index % 2 == 0 && index + 1 < chunks.len() {
            continue;
        }
        while let Some(event) = conn.poll_event() {
            events.push(event);
        }
    }
    Outcome {
        events,
        output: drain(&mut conn),
        state: conn.state(),
    }
}

/// Runs `chunks` through every entry point; all must agree.
fn run_all(make: &impl Fn() -> Connection, chunks: &[&[u8]]) -> Outcome {
    let slice = run_with(make(), chunks, Entry::Slice);
    for entry in [Entry::FreshBuffers, Entry::OneBuffer] {
        assert_eq!(run_with(make(), chunks, entry), slice, "{entry:?}");
    }
    let joined = |outcome: Outcome| Outcome {
        events: join_fragments(outcome.events),
        ..outcome
    };
    let unpolled = run_with(make(), chunks, Entry::Unpolled);
    assert_eq!(
        joined(unpolled),
        joined(run_with(make(), chunks, Entry::Slice)),
        "Unpolled"
    );
    slice
}

/// Feeds `bytes` whole, split at every point, and one byte at a time; all
/// must agree. Streaming mode delivers pieces that depend on the split, so
/// its fragments are compared after joining them per message.
fn feed(role: Role, config: &Config, bytes: &[u8]) -> Outcome {
    feed_to(|| connection(role, config.clone()), bytes)
}

/// [`feed`] for connections made by `make`. Every way of splitting is also
/// fed through [`Connection::receive_buf`] (see [`run_all`]).
fn feed_to(make: impl Fn() -> Connection, bytes: &[u8]) -> Outcome {
    let whole = run_all(&make, &[bytes]);
    let normalize = |outcome: Outcome| Outcome {
        events: join_fragments(outcome.events),
        ..outcome
    };
    let expected = normalize(run_on(make(), &[bytes]));
    for split in 0..=bytes.len() {
        let (a, b) = bytes.split_at(split);
        assert_eq!(
            normalize(run_all(&make, &[a, b])),
            expected,
            "split at {split}"
        );
    }
    let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(
        normalize(run_all(&make, &bytewise)),
        expected,
        "byte by byte"
    );
    whole
}

fn join_fragments(events: Vec<Result<Event, ProtocolError>>) -> Vec<Result<Event, ProtocolError>> {
    let mut joined: Vec<Result<Event, ProtocolError>> = Vec::new();
    for event in events {
        if let (Ok(Event::Fragment(next)), Some(Ok(Event::Fragment(last)))) =
            (&event, joined.last_mut())
        {
            if !last.is_last && !next.is_first {
                let mut data = last.data.to_vec();
                data.extend_from_slice(&next.data);
                last.data = data.into();
                last.is_last = next.is_last;
                continue;
            }
        }
        joined.push(event);
    }
    joined
}

fn server(bytes: &[u8]) -> Outcome {
    feed(Role::Server, &Config::default(), bytes)
}

fn client(bytes: &[u8]) -> Outcome {
    feed(Role::Client, &Config::default(), bytes)
}

fn text(s: &str) -> Result<Event, ProtocolError> {
    Ok(Event::Message(Message::Text(s.into())))
}

fn binary(b: &[u8]) -> Result<Event, ProtocolError> {
    Ok(Event::Message(Message::Binary(Bytes::copy_from_slice(b))))
}

/// An unmasked Close frame with `code` and `reason`, as a server sends it.
fn close_frame_bytes(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    to_client(0x88, &payload)
}

/// Asserts that the connection failed with `error` and queued a Close with
/// the error's code as its only output after `before`.
fn assert_failed(outcome: &Outcome, error: ProtocolError) {
    assert_eq!(outcome.events.last(), Some(&Err(error.clone())));
    let code = error.close_code().as_u16().to_be_bytes();
    let out = &outcome.output;
    assert_eq!(out[0], 0x88, "output starts with a Close frame");
    let mut sent = [0; 2];
    if out[1] & 0x80 == 0 {
        sent.copy_from_slice(&out[2..4]);
    } else {
        sent.copy_from_slice(&out[6..8]);
        apply_mask(&mut sent, [out[2], out[3], out[4], out[5]], 0);
    }
    assert_eq!(sent, code, "close code");
    assert_eq!(outcome.state, State::Closed);
}

#[test]
fn rfc6455_5_7_single_frame_unmasked_text() {
    let outcome = client(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(outcome.events, vec![text("Hello")]);
}

#[test]
fn rfc6455_5_7_single_frame_masked_text() {
    let outcome = server(&[
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ]);
    assert_eq!(outcome.events, vec![text("Hello")]);
}

#[test]
fn rfc6455_5_7_fragmented_unmasked_text() {
    let outcome = client(&[0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]);
    assert_eq!(outcome.events, vec![text("Hello")]);
}

#[test]
fn rfc6455_5_7_ping_answered_with_unmasked_pong() {
    let outcome = server(&to_server(0x89, b"Hello"));
    assert_eq!(
        outcome.events,
        vec![Ok(Event::Ping(Bytes::from_static(b"Hello")))]
    );
    assert_eq!(outcome.output, [0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
}

#[test]
fn rfc6455_5_7_256_byte_and_64_kib_binary() {
    let small = vec![0xAB; 256];
    let mut bytes = vec![0x82, 0x7E, 0x01, 0x00];
    bytes.extend_from_slice(&small);
    assert_eq!(
        run(Role::Client, &Config::default(), &[&bytes]).events,
        vec![binary(&small)]
    );
    let large = vec![0xCD; 65536];
    let mut bytes = vec![0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00];
    bytes.extend_from_slice(&large);
    assert_eq!(
        run(Role::Client, &Config::default(), &[&bytes]).events,
        vec![binary(&large)]
    );
}

#[test]
fn rfc6455_5_1_server_fails_on_unmasked_frame() {
    assert_failed(
        &server(&to_client(0x81, b"hi")),
        ProtocolError::UnmaskedFrame,
    );
}

#[test]
fn rfc6455_5_1_client_fails_on_masked_frame() {
    assert_failed(&client(&to_server(0x81, b"hi")), ProtocolError::MaskedFrame);
}

#[test]
fn rfc6455_5_2_rsv_bits_without_extension_fail() {
    for (first, bits) in [(0xC1, 0b100), (0xA1, 0b010), (0x91, 0b001), (0xF1, 0b111)] {
        assert_failed(
            &server(&to_server(first, b"x")),
            ProtocolError::ReservedBits(bits),
        );
    }
}

#[test]
fn rfc6455_5_2_reserved_opcodes_fail() {
    for opcode in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        assert_failed(
            &server(&to_server(0x80 | opcode, b"")),
            ProtocolError::UnknownOpcode(opcode),
        );
    }
}

#[test]
fn rfc6455_5_5_control_frames_max_125() {
    let ok = server(&to_server(0x89, &[1; 125]));
    assert_eq!(ok.events, vec![Ok(Event::Ping(Bytes::from(vec![1; 125])))]);
    let too_long = server(&to_server(0x89, &[1; 126]));
    assert_failed(&too_long, ProtocolError::ControlFrameTooLong(126));
}

#[test]
fn rfc6455_5_5_control_frames_must_not_be_fragmented() {
    assert_failed(
        &server(&to_server(0x09, b"")),
        ProtocolError::FragmentedControlFrame,
    );
}

#[test]
fn rfc6455_5_4_control_frames_between_fragments() {
    let mut bytes = to_server(0x01, b"Hel");
    bytes.extend(to_server(0x89, b"p"));
    bytes.extend(to_server(0x80, b"lo"));
    let outcome = server(&bytes);
    assert_eq!(
        outcome.events,
        vec![Ok(Event::Ping(Bytes::from_static(b"p"))), text("Hello")]
    );
}

#[test]
fn rfc6455_5_4_continuation_without_start_fails() {
    assert_failed(
        &server(&to_server(0x80, b"x")),
        ProtocolError::UnexpectedContinuation,
    );
}

#[test]
fn rfc6455_5_4_new_data_frame_inside_fragmented_message_fails() {
    let mut bytes = to_server(0x01, b"a");
    bytes.extend(to_server(0x82, b"b"));
    assert_failed(&server(&bytes), ProtocolError::ExpectedContinuation);
}

#[test]
fn rfc6455_5_4_empty_fragments_make_a_message() {
    let mut bytes = to_server(0x02, b"");
    bytes.extend(to_server(0x00, b""));
    bytes.extend(to_server(0x80, b""));
    assert_eq!(server(&bytes).events, vec![binary(b"")]);
}

#[test]
fn rfc6455_8_1_text_split_inside_a_character_across_frames() {
    let word = "κόσμε".as_bytes();
    let mut bytes = to_server(0x01, &word[..3]);
    bytes.extend(to_server(0x80, &word[3..]));
    assert_eq!(server(&bytes).events, vec![text("κόσμε")]);
}

#[test]
fn rfc6455_8_1_invalid_utf8_fails_at_the_first_bad_byte_mid_frame() {
    // The frame announces 20 bytes; only the first 5, with the bad byte,
    // have arrived: the connection fails without waiting for the rest.
    let mut payload = b"ab\xce\xba\xff".to_vec();
    payload.resize(20, b'x');
    let frame = to_server(0x81, &payload);
    let partial = &frame[..6 + 5];
    let outcome = run(Role::Server, &Config::default(), &[partial]);
    assert_failed(&outcome, ProtocolError::InvalidUtf8);
    let outcome = run(Role::Server, &Config::default(), &[&frame[..6 + 4]]);
    assert_eq!(outcome.events, vec![]);
}

#[test]
fn rfc6455_8_1_invalid_utf8_in_a_later_fragment_fails_before_the_message_ends() {
    let mut bytes = to_server(0x01, "κόσμε".as_bytes());
    bytes.extend(to_server(0x00, b"\xed\xa0\x80"));
    assert_failed(&server(&bytes), ProtocolError::InvalidUtf8);
}

#[test]
fn whole_single_frame_messages_read_at_once_match_the_frame_by_frame_path() {
    // Read whole, these take the one-frame fast path; split, the general
    // one (`feed` compares them). Long payloads reach the masking's block
    // loop, whose ASCII check must see every byte.
    let long_ascii = "x".repeat(300);
    let long_mixed = format!("{long_ascii}κόσμε{long_ascii}");
    for message in ["", "hi", "κόσμε", long_ascii.as_str(), long_mixed.as_str()] {
        let outcome = server(&to_server(0x81, message.as_bytes()));
        assert_eq!(outcome.events, vec![text(message)]);
    }
    let mut invalid = long_ascii.clone().into_bytes();
    invalid[200] = 0xff;
    assert_failed(
        &server(&to_server(0x81, &invalid)),
        ProtocolError::InvalidUtf8,
    );
    let payload: Vec<u8> = (0..=255).collect();
    assert_eq!(
        server(&to_server(0x82, &payload)).events,
        vec![binary(&payload)]
    );
}

#[test]
fn whole_masked_text_is_checked_as_in_pieces_at_every_masking_step_size() {
    // Read whole, masked text is unmasked by the fast path, whose steps
    // change at 4, 8, 16 and 64 bytes, then validated; split, it takes the
    // general path. A high byte first or last must fail it whatever the
    // length.
    for len in [
        1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257,
    ] {
        let ascii: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        let outcome = server(&to_server(0x81, &ascii));
        assert_eq!(
            outcome.events,
            vec![text(std::str::from_utf8(&ascii).unwrap())]
        );
        for at in [0, len - 1] {
            let mut invalid = ascii.clone();
            invalid[at] = 0xff;
            assert_failed(
                &server(&to_server(0x81, &invalid)),
                ProtocolError::InvalidUtf8,
            );
        }
        if len >= 2 {
            let mut accented = ascii.clone();
            accented[len - 2..].copy_from_slice("é".as_bytes());
            let outcome = server(&to_server(0x81, &accented));
            assert_eq!(
                outcome.events,
                vec![text(std::str::from_utf8(&accented).unwrap())]
            );
        }
    }
}

#[test]
fn rfc6455_8_1_truncated_character_at_message_end_fails() {
    assert_failed(
        &server(&to_server(0x81, b"\xce")),
        ProtocolError::InvalidUtf8,
    );
}

#[test]
fn frame_over_limit_fails_with_1009_before_payload_arrives() {
    let config = Config::default().with_max_frame_size(10);
    let frame = to_server(0x82, &[0; 11]);
    let outcome = run(Role::Server, &config, &[&frame[..6]]);
    assert_failed(&outcome, ProtocolError::FrameTooBig { len: 11, max: 10 });
    let outcome = feed(Role::Server, &config, &to_server(0x82, &[0; 10]));
    assert_eq!(outcome.events, vec![binary(&[0; 10])]);
}

#[test]
fn message_over_limit_fails_with_1009_at_the_frame_that_breaks_it() {
    let config = Config::default().with_max_message_size(10);
    let mut bytes = to_server(0x02, &[0; 6]);
    bytes.extend(to_server(0x80, &[0; 5]));
    let outcome = feed(Role::Server, &config, &bytes);
    assert_failed(&outcome, ProtocolError::MessageTooBig { len: 11, max: 10 });
}

#[test]
fn huge_announced_length_fails_without_allocating() {
    let bytes = [
        0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4,
    ];
    let outcome = server(&bytes);
    assert_failed(
        &outcome,
        ProtocolError::FrameTooBig {
            len: i64::MAX as u64,
            max: Config::default().max_frame_size,
        },
    );
}

#[test]
fn rfc6455_5_5_2_every_ping_is_answered_in_order() {
    let mut bytes = to_server(0x89, b"one");
    bytes.extend(to_server(0x89, b"two"));
    let outcome = server(&bytes);
    assert_eq!(outcome.events.len(), 2);
    assert_eq!(
        outcome.output,
        [0x8a, 3, b'o', b'n', b'e', 0x8a, 3, b't', b'w', b'o']
    );
}

#[test]
fn rfc6455_5_5_3_pongs_coalesce_while_the_send_queue_is_full() {
    let config = Config::default().with_max_send_queue(10);
    let mut bytes = Vec::new();
    for payload in [b"first", b"2nd.x", b"3rd.x", b"last!"] {
        bytes.extend(to_server(0x89, payload));
    }
    let outcome = feed(Role::Server, &config, &bytes);
    assert_eq!(outcome.events.len(), 4);
    // The first pong fills the queue (7 bytes, then 14 >= 10): the rest
    // share one slot, and only the last ping's answer survives.
    let mut expected = vec![0x8a, 5];
    expected.extend_from_slice(b"first");
    expected.extend_from_slice(&[0x8a, 5]);
    expected.extend_from_slice(b"2nd.x");
    expected.extend_from_slice(&[0x8a, 5]);
    expected.extend_from_slice(b"last!");
    assert_eq!(outcome.output, expected);
}

#[test]
fn auto_pong_can_be_turned_off() {
    let config = Config::default().with_auto_pong(false);
    let outcome = feed(Role::Server, &config, &to_server(0x89, b"x"));
    assert_eq!(
        outcome.events,
        vec![Ok(Event::Ping(Bytes::from_static(b"x")))]
    );
    assert!(outcome.output.is_empty());
}

#[test]
fn pongs_are_reported() {
    let outcome = client(&to_client(0x8A, b"beat"));
    assert_eq!(
        outcome.events,
        vec![Ok(Event::Pong(Bytes::from_static(b"beat")))]
    );
    assert!(outcome.output.is_empty());
}

#[test]
fn rfc6455_5_5_1_close_is_echoed_with_its_code() {
    let outcome = client(&close_frame_bytes(1001, "going"));
    let expected = CloseFrame {
        code: CloseCode::GOING_AWAY,
        reason: Utf8Bytes::from_static("going"),
    };
    assert_eq!(outcome.events, vec![Ok(Event::Close(Some(expected)))]);
    assert_eq!(outcome.state, State::Closed);
    // The client's echo is masked: decode it with its own key.
    let out = &outcome.output;
    assert_eq!((out[0], out[1]), (0x88, 0x82));
    let mut code = [out[6], out[7]];
    apply_mask(&mut code, [out[2], out[3], out[4], out[5]], 0);
    assert_eq!(u16::from_be_bytes(code), 1001);
}

#[test]
fn rfc6455_5_5_1_empty_close_is_echoed_empty() {
    let outcome = server(&to_server(0x88, b""));
    assert_eq!(outcome.events, vec![Ok(Event::Close(None))]);
    assert_eq!(outcome.output, [0x88, 0x00]);
}

#[test]
fn rfc6455_5_5_1_one_byte_close_payload_fails() {
    assert_failed(
        &server(&to_server(0x88, &[3])),
        ProtocolError::InvalidCloseLength,
    );
}

#[test]
fn rfc6455_7_4_invalid_close_codes_fail() {
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        let outcome = server(&to_server(0x88, &code.to_be_bytes()));
        assert_failed(&outcome, ProtocolError::InvalidCloseCode(code));
    }
    for code in [1000u16, 1003, 1007, 1011, 1012, 1014, 3000, 4999] {
        let outcome = server(&to_server(0x88, &code.to_be_bytes()));
        assert!(
            matches!(outcome.events[..], [Ok(Event::Close(Some(_)))]),
            "{code}"
        );
    }
}

#[test]
fn rfc6455_5_5_1_close_reason_must_be_utf8() {
    let outcome = server(&to_server(0x88, b"\x03\xe8\xff"));
    assert_failed(&outcome, ProtocolError::InvalidCloseReason);
}

#[test]
fn rfc6455_5_5_1_nothing_is_read_after_close() {
    let mut bytes = to_server(0x88, b"");
    bytes.extend(to_server(0x81, b"late"));
    bytes.extend([0xFF, 0xFF]);
    assert_eq!(server(&bytes).events, vec![Ok(Event::Close(None))]);
}

#[test]
fn rfc6455_7_1_1_server_closes_tcp_first_client_waits() {
    let mut server = connection(Role::Server, Config::default());
    server.receive(&to_server(0x88, b""));
    assert!(server.poll_event().is_some());
    assert!(
        !server.should_close_transport(),
        "close echo not drained yet"
    );
    drain(&mut server);
    assert!(server.should_close_transport());

    let mut client = connection(Role::Client, Config::default());
    client.receive(&to_client(0x88, b""));
    assert!(client.poll_event().is_some());
    drain(&mut client);
    assert_eq!(client.state(), State::Closed);
    assert!(!client.should_close_transport());
}

#[test]
fn rfc6455_7_1_7_failing_endpoint_closes_tcp_after_its_close_frame() {
    let mut client = connection(Role::Client, Config::default());
    client.receive(&[0x83, 0x00]);
    assert!(matches!(client.poll_event(), Some(Err(_))));
    assert!(client.poll_event().is_none());
    assert!(!client.should_close_transport());
    drain(&mut client);
    assert!(client.should_close_transport());
}

#[test]
fn local_close_then_peer_close() {
    let mut server = connection(Role::Server, Config::default());
    server.close(CloseCode::NORMAL, "done").unwrap();
    assert_eq!(server.state(), State::Closing);
    assert_eq!(drain(&mut server), close_frame_bytes(1000, "done"));
    assert_eq!(server.send("more"), Err(SendError::Closed));
    assert_eq!(server.ping(Bytes::new()), Err(SendError::Closed));
    assert_eq!(server.close(CloseCode::NORMAL, ""), Err(SendError::Closed));
    // Data from the peer is still delivered while closing.
    server.receive(&to_server(0x81, b"late"));
    assert_eq!(server.poll_event(), Some(text("late")));
    server.receive(&to_server(0x88, &1000u16.to_be_bytes()));
    assert!(matches!(
        server.poll_event(),
        Some(Ok(Event::Close(Some(_))))
    ));
    assert_eq!(server.state(), State::Closed);
    assert!(drain(&mut server).is_empty(), "no second close");
    assert!(server.should_close_transport());
}

#[test]
fn close_arguments_are_checked() {
    let mut conn = connection(Role::Server, Config::default());
    for code in [1005u16, 1006, 1015, 999, 5000] {
        assert_eq!(
            conn.close(CloseCode::new(code), ""),
            Err(SendError::InvalidCloseCode(code))
        );
    }
    let long = "x".repeat(124);
    assert_eq!(
        conn.close(CloseCode::NORMAL, &long),
        Err(SendError::CloseReasonTooLong(124))
    );
    assert_eq!(conn.state(), State::Open);
    assert!(conn.close(CloseCode::NORMAL, &long[..123]).is_ok());
}

#[test]
fn server_frames_are_unmasked_and_zero_copy() {
    let mut conn = connection(Role::Server, Config::default());
    let payload = Bytes::from(vec![9u8; 100_000]);
    conn.send(payload.clone()).unwrap();
    let header = conn.poll_transmit().unwrap();
    assert_eq!(&header[..], &[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x86, 0xA0]);
    let body = conn.poll_transmit().unwrap();
    assert_eq!(
        body.as_ptr(),
        payload.as_ptr(),
        "payload shared, not copied"
    );
    assert!(conn.poll_transmit().is_none());
}

#[test]
fn rfc6455_5_3_client_frames_are_masked_with_fresh_keys() {
    let mut conn = connection(Role::Client, Config::default());
    conn.send("Hello").unwrap();
    conn.send("Hello").unwrap();
    let out = drain(&mut conn);
    let (first, second) = out.split_at(11);
    assert_eq!((first[0], first[1]), (0x81, 0x85));
    assert_ne!(first[2..6], second[2..6], "a new key for each frame");
    let mut server = connection(Role::Server, Config::default());
    server.receive(&out);
    assert_eq!(server.poll_event(), Some(text("Hello")));
    assert_eq!(server.poll_event(), Some(text("Hello")));
}

#[test]
fn sent_fragments_are_sequenced_and_checked() {
    let mut conn = connection(Role::Server, Config::default());
    let word = "κόσμε".as_bytes();
    conn.send_fragment(MessageKind::Text, &word[..3], false)
        .unwrap();
    assert_eq!(conn.send("x"), Err(SendError::FragmentedMessageInProgress));
    assert_eq!(
        conn.send_fragment(MessageKind::Binary, Bytes::new(), true),
        Err(SendError::FragmentedMessageInProgress)
    );
    assert_eq!(
        conn.send_fragment(MessageKind::Text, Bytes::new(), true),
        Err(SendError::InvalidUtf8),
        "ends inside a character"
    );
    assert_eq!(
        conn.send_fragment(MessageKind::Text, &b"\xff"[..], false),
        Err(SendError::InvalidUtf8)
    );
    conn.ping(&b"between"[..]).unwrap();
    conn.send_fragment(MessageKind::Text, &word[3..], true)
        .unwrap();
    conn.send("after").unwrap();
    let mut client = connection(Role::Client, Config::default());
    client.receive(&drain(&mut conn));
    let events: Vec<_> = std::iter::from_fn(|| client.poll_event()).collect();
    assert_eq!(
        events,
        vec![
            Ok(Event::Ping(Bytes::from_static(b"between"))),
            text("κόσμε"),
            text("after")
        ]
    );
}

#[test]
fn control_payloads_over_125_are_refused() {
    let mut conn = connection(Role::Client, Config::default());
    assert_eq!(
        conn.ping(vec![0; 126]),
        Err(SendError::ControlPayloadTooLong(126))
    );
    assert_eq!(
        conn.pong(vec![0; 126]),
        Err(SendError::ControlPayloadTooLong(126))
    );
    assert_eq!(conn.buffered_amount(), 0);
}

#[test]
fn full_send_queue_refuses_data_but_not_close() {
    let mut conn = connection(Role::Server, Config::default().with_max_send_queue(100));
    conn.send(vec![0; 99]).unwrap();
    assert_eq!(conn.buffered_amount(), 101);
    assert_eq!(
        conn.send("x"),
        Err(SendError::QueueFull {
            queued: 101,
            limit: 100
        })
    );
    conn.advance_transmit(50);
    assert_eq!(conn.buffered_amount(), 51);
    conn.send("x").unwrap();
    conn.advance_transmit(53);
    conn.send(vec![0; 200]).unwrap();
    assert!(conn.send("y").is_err());
    conn.close(CloseCode::GOING_AWAY, "").unwrap();
}

#[test]
fn transmit_slices_and_advance_cover_the_output() {
    let mut conn = connection(Role::Server, Config::default());
    conn.send("small").unwrap();
    conn.send(vec![1u8; 5000]).unwrap();
    conn.send("tail").unwrap();
    let expected = {
        let mut copy = connection(Role::Server, Config::default());
        copy.send("small").unwrap();
        copy.send(vec![1u8; 5000]).unwrap();
        copy.send("tail").unwrap();
        drain(&mut copy)
    };
    let mut written = Vec::new();
    while conn.buffered_amount() > 0 {
        let mut slices = [std::io::IoSlice::new(&[]); 4];
        let filled = conn.transmit_slices(&mut slices);
        // Write at most 777 bytes per "syscall".
        let mut taken = 0;
        for slice in &slices[..filled] {
            let n = slice.len().min(777 - taken);
            written.extend_from_slice(&slice[..n]);
            taken += n;
        }
        conn.advance_transmit(taken);
    }
    assert_eq!(written, expected);
}

#[test]
fn streaming_mode_delivers_pieces_as_they_arrive() {
    let config = Config::default().with_streaming(true);
    let payload: Vec<u8> = (0..=255).cycle().take(10_000).collect();
    let frame = to_server(0x82, &payload);
    let mut conn = connection(Role::Server, config.clone());
    let mut pieces = Vec::new();
    for chunk in frame.chunks(1000) {
        conn.receive(chunk);
        while let Some(event) = conn.poll_event() {
            match event {
                Ok(Event::Fragment(fragment)) => pieces.push(fragment),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert!(pieces.len() >= 10);
    assert!(pieces.iter().all(|piece| piece.data.len() <= 1000));
    assert!(pieces[0].is_first && !pieces[1].is_first);
    assert!(pieces.last().unwrap().is_last);
    let joined: Vec<u8> = pieces.iter().flat_map(|p| p.data.to_vec()).collect();
    assert_eq!(joined, payload);
    // Split-anywhere: the joined events are the same.
    let outcome = feed(Role::Server, &config, &frame[..300]);
    assert!(outcome.events.iter().all(|event| event.is_ok()));
}

#[test]
fn streaming_mode_empty_message_and_fragmented_text() {
    let config = Config::default().with_streaming(true);
    let mut bytes = to_server(0x82, b"");
    bytes.extend(to_server(0x01, "κό".as_bytes()));
    bytes.extend(to_server(0x80, "σμε".as_bytes()));
    let outcome = feed(Role::Server, &config, &bytes);
    let events = join_fragments(outcome.events);
    assert_eq!(
        events,
        vec![
            Ok(Event::Fragment(Fragment {
                kind: MessageKind::Binary,
                data: Bytes::new(),
                is_first: true,
                is_last: true
            })),
            Ok(Event::Fragment(Fragment {
                kind: MessageKind::Text,
                data: Bytes::from("κόσμε"),
                is_first: true,
                is_last: true
            })),
        ]
    );
}

#[test]
fn streaming_mode_still_fails_fast_on_invalid_text() {
    let config = Config::default().with_streaming(true);
    let frame = to_server(0x81, b"ok\xffmore");
    let outcome = run(Role::Server, &config, &[&frame[..9]]);
    assert_failed(&outcome, ProtocolError::InvalidUtf8);
}

#[test]
fn idle_connection_holds_no_buffers() {
    let mut server = connection(Role::Server, Config::default());
    assert_eq!(server.buffer_capacity(), 0);
    let frame = to_server(0x81, &[b'a'; 3000]);
    server.receive(&frame[..1000]);
    assert!(server.poll_event().is_none());
    assert!(
        server.buffer_capacity() >= 1000 - 8,
        "a partial frame is held"
    );
    server.receive(&frame[1000..]);
    let Some(Ok(Event::Message(message))) = server.poll_event() else {
        panic!("expected the message");
    };
    assert!(server.poll_event().is_none());
    server.send(message).unwrap();
    server.send("small").unwrap();
    assert!(server.buffer_capacity() > 0, "the small frame is staged");
    drain(&mut server);
    assert_eq!(server.buffer_capacity(), 0);
}

/// A frame that arrives in pieces gets room for the rest of it in one
/// step once its payload starts arriving, up to `frame_reserve`.
#[test]
fn a_partial_frame_reserves_its_rest_up_to_the_limit() {
    let payload = vec![7u8; 100_000];
    let frame = to_server(0x82, &payload);
    for (reserve, at_least, below) in [(1 << 20, 100_000, usize::MAX), (30_000, 30_000, 50_000)] {
        let mut server = connection(Role::Server, Config::default().with_frame_reserve(reserve));
        server.receive(&frame[..1000]);
        assert!(server.poll_event().is_none());
        server.receive(&frame[1000..1010]);
        let capacity = server.buffer_capacity();
        assert!(capacity >= at_least && capacity < below, "{capacity}");
        server.receive(&frame[1010..]);
        let event = server.poll_event();
        assert_eq!(
            event,
            Some(Ok(Event::Message(Message::Binary(payload.clone().into()))))
        );
    }
    // Off: the buffer grows only as bytes arrive.
    let mut server = connection(Role::Server, Config::default().with_frame_reserve(0));
    server.receive(&frame[..1000]);
    assert!(server.poll_event().is_none());
    server.receive(&frame[1000..1010]);
    assert!(server.buffer_capacity() < 10_000);
}

#[test]
fn prepared_message_gives_the_same_bytes_as_send() {
    let big = Bytes::from(vec![3u8; 10_000]);
    for message in [Message::from("hello"), Message::Binary(big.clone())] {
        let prepared = crate::PreparedMessage::new(message.clone());
        for role in [Role::Server, Role::Client] {
            let mut direct = connection(role, Config::default());
            direct.send(message.clone()).unwrap();
            let mut shared = connection(role, Config::default());
            shared.send_prepared(&prepared).unwrap();
            assert_eq!(drain(&mut shared), drain(&mut direct), "{role:?}");
        }
    }
    let mut server = connection(Role::Server, Config::default());
    server
        .send_prepared(&crate::PreparedMessage::new(big.clone()))
        .unwrap();
    server.poll_transmit();
    assert_eq!(
        server.poll_transmit().unwrap().as_ptr(),
        big.as_ptr(),
        "payload shared"
    );
    server.close(CloseCode::NORMAL, "").unwrap();
    let prepared = crate::PreparedMessage::new("late");
    assert_eq!(server.send_prepared(&prepared), Err(SendError::Closed));
}

/// Found by the `frame_client` fuzz target
/// (fuzz/artifacts-found/frame_client-pending-pong-mask): a client's pong
/// waiting in the pending slot carries a masking key, and the backpressure
/// count must include it.
#[test]
fn buffered_amount_counts_the_mask_of_a_pending_client_pong() {
    for role in [Role::Client, Role::Server] {
        let mut conn = connection(role, Config::default().with_max_send_queue(10));
        let frame = |payload: &[u8]| match role {
            Role::Client => to_client(0x89, payload),
            Role::Server => to_server(0x89, payload),
        };
        conn.receive(&frame(&[1; 20]));
        conn.receive(&frame(&[2; 30]));
        while conn.poll_event().is_some() {}
        let counted = conn.buffered_amount();
        assert_eq!(counted, drain(&mut conn).len(), "{role:?}");
    }
}

/// A client whose OS has no entropy gets an error, not a panic; a server
/// draws none, so the same failing source cannot stop it.
#[test]
fn a_failing_entropy_source_fails_a_client_and_not_a_server() {
    use crate::rng::{failing_entropy, EntropyError};

    let client =
        Connection::with_entropy_source(Role::Client, Config::default().into(), failing_entropy);
    assert!(matches!(client, Err(EntropyError(_))), "{client:?}");

    let mut server =
        Connection::with_entropy_source(Role::Server, Config::default().into(), failing_entropy)
            .expect("a server needs no entropy");
    server.send("hi").unwrap();
    assert_eq!(drain(&mut server), to_client(0x81, b"hi"));
}

#[test]
fn os_seeded_clients_mask_with_different_keys() {
    let mut a = Connection::new(Role::Client, Config::default()).expect("OS entropy");
    let mut b = Connection::new(Role::Client, Config::default()).expect("OS entropy");
    a.send("same").unwrap();
    b.send("same").unwrap();
    assert_ne!(drain(&mut a), drain(&mut b));
}

/// The inline size of a connection is what every idle connection of a
/// server costs, whatever the configured limits (issue 12: a few hundred
/// thousand idle connections per process). What only a busy connection
/// needs is boxed (frame and message in progress, a pong owed, masking
/// keys, compression); this bound fails if a field grows it again. Today:
/// configuration pointer 8, read buffer 32, output 40, five boxes 40, the
/// clock 24, role, stage and the fragmented send's state in the rest.
#[test]
fn idle_size() {
    let size = std::mem::size_of::<Connection>();
    eprintln!("size_of::<Connection>() = {size}");
    assert!(size <= 152, "Connection grew to {size} bytes");
}

/// `receive_buf` hands out payloads as slices of the caller's buffer: no
/// copy when the connection held nothing, nor when the next read continues
/// the same allocation.
#[test]
fn receive_buf_takes_the_bytes_without_copying() {
    // Larger than the remainder that is moved out (4 KiB).
    let frame = to_server(0x82, &[9u8; 10_000]);
    let mut server = connection(Role::Server, Config::default());
    let mut buf = BytesMut::with_capacity(4 * frame.len());
    buf.extend_from_slice(&frame);
    let start = buf.as_ptr();
    server.receive_buf(&mut buf);
    assert!(buf.is_empty() && buf.capacity() >= 3 * frame.len());
    let Some(Ok(Event::Message(first))) = server.poll_event() else {
        panic!("expected the message");
    };
    assert_eq!(first.payload().as_ptr(), start.wrapping_add(8));
    // A frame split across two reads into the same buffer.
    buf.extend_from_slice(&frame[..5000]);
    let second_start = buf.as_ptr();
    server.receive_buf(&mut buf);
    assert!(server.poll_event().is_none());
    buf.extend_from_slice(&frame[5000..]);
    server.receive_buf(&mut buf);
    let Some(Ok(Event::Message(second))) = server.poll_event() else {
        panic!("expected the message");
    };
    assert_eq!(second.payload().as_ptr(), second_start.wrapping_add(8));
    assert_eq!(first, second);
}

/// A read that continues an unfinished frame from another allocation (an
/// adapter whose connections share one read buffer): only the rest of that
/// frame is copied behind it; the frames after it are slices of the read.
#[test]
fn receive_buf_copies_only_the_rest_of_an_unfinished_frame() {
    let frame = to_server(0x82, &[9u8; 10_000]);
    // Cut anywhere after the header (8 bytes), whose length tells where
    // the frame ends. (A cut in the header copies all: covered by the
    // split-anywhere tests.)
    for cut in [8, 6000, frame.len() - 1] {
        let mut server = connection(Role::Server, Config::default());
        server.receive_buf(&mut BytesMut::from(&frame[..cut]));
        assert!(server.poll_event().is_none());
        let mut read = BytesMut::from(&frame[cut..]);
        read.extend_from_slice(&frame);
        read.extend_from_slice(&frame);
        let second_start = read.as_ptr().wrapping_add(frame.len() - cut);
        server.receive_buf(&mut read);
        let payloads: Vec<Bytes> = std::iter::from_fn(|| match server.poll_event() {
            Some(Ok(Event::Message(message))) => Some(message.payload().clone()),
            other => other.map(|other| panic!("expected a message, got {other:?}")),
        })
        .collect();
        assert_eq!(payloads.len(), 3, "cut at {cut}");
        assert!(payloads.iter().all(|payload| payload[..] == [9u8; 10_000]));
        assert_eq!(payloads[1].as_ptr(), second_start.wrapping_add(8));
        let third_start = second_start.wrapping_add(frame.len());
        assert_eq!(payloads[2].as_ptr(), third_start.wrapping_add(8));
        assert_eq!(server.buffer_capacity(), 0, "nothing is left waiting");
    }
}

/// A retained payload keeps the read buffer's allocation alive (the rule
/// the docs state); a small unparsed remainder does not: it is moved out.
#[test]
fn receive_buf_moves_a_small_remainder_out_of_the_callers_buffer() {
    let frame = to_server(0x81, b"hello");
    let mut server = connection(Role::Server, Config::default());
    let mut buf = BytesMut::with_capacity(1 << 16);
    buf.extend_from_slice(&frame[..3]);
    server.receive_buf(&mut buf);
    assert!(server.poll_event().is_none());
    assert!(buf.try_reclaim(1 << 16), "the remainder was moved out");
    // The rest is appended to the remainder, so copied.
    buf.extend_from_slice(&frame[3..]);
    server.receive_buf(&mut buf);
    let hello = Ok(Event::Message(Message::from("hello")));
    assert_eq!(server.poll_event(), Some(hello.clone()));
    assert!(buf.try_reclaim(1 << 16));
    // A whole frame is taken as it is: the message holds the buffer.
    buf.extend_from_slice(&frame);
    server.receive_buf(&mut buf);
    let message = server.poll_event();
    assert_eq!(message, Some(hello));
    assert!(!buf.try_reclaim(1 << 16), "the message holds the buffer");
    drop(message);
    assert!(buf.try_reclaim(1 << 16));
}

/// A buffer that does not continue the start of a frame the connection
/// holds: only the bytes that complete the frame are copied; a frame after
/// them stays a slice of the buffer. Bytes that arrive before the events
/// are polled (by either entry point) queue behind them, in order.
#[test]
fn receive_buf_copies_only_what_completes_a_frame() {
    let first = to_server(0x82, &[1u8; 10_000]);
    let second = to_server(0x82, &[2u8; 10_000]);
    let third = to_server(0x81, b"third");
    let mut server = connection(Role::Server, Config::default());
    let expect = |server: &mut Connection, payload: &[u8]| {
        let Some(Ok(Event::Message(message))) = server.poll_event() else {
            panic!("expected a message");
        };
        assert_eq!(message.payload(), payload);
        message
    };
    for queue_more in [false, true] {
        server.receive_buf(&mut BytesMut::from(&first[..5000]));
        assert!(server.poll_event().is_none());
        let mut rest = BytesMut::from(&first[5000..]);
        rest.extend_from_slice(&second);
        let second_start = rest.as_ptr().wrapping_add(first.len() - 5000);
        server.receive_buf(&mut rest);
        if queue_more {
            server.receive(&third[..3]);
            server.receive_buf(&mut BytesMut::from(&third[3..]));
        }
        expect(&mut server, &[1u8; 10_000]);
        let message = expect(&mut server, &[2u8; 10_000]);
        if !queue_more {
            assert_eq!(message.payload().as_ptr(), second_start.wrapping_add(8));
        } else {
            expect(&mut server, b"third");
        }
        assert_eq!(server.poll_event(), None);
    }
}

/// `receive_in_place` lends the room reserved for the rest of a large
/// frame: what the reader appends is received where it lands, the room it
/// leaves stays the connection's (the next read continues it), and there
/// is no room to lend between frames, for a short rest, in streaming mode,
/// or without `frame_reserve`.
#[test]
fn receive_in_place_reads_the_rest_of_a_frame_into_its_room() {
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let frame = to_server(0x82, &payload);
    let mut server = connection(Role::Server, Config::default());
    assert_eq!(server.receive_in_place(1, |_| ()), None, "between frames");
    server.receive_buf(&mut BytesMut::from(&frame[..10_000]));
    assert!(server.poll_event().is_none());
    assert_eq!(
        server.receive_in_place(95_000, |_| ()),
        None,
        "too short a rest"
    );
    let mut ends = Vec::new();
    let mut at = 10_000;
    while at < frame.len() {
        let piece = &frame[at..frame.len().min(at + 30_000)];
        let start = server.receive_in_place(1, |room| {
            let start = room.as_ptr();
            room.extend_from_slice(piece);
            start
        });
        ends.push((start.expect("room for the rest"), piece.len()));
        at += piece.len();
    }
    for pair in ends.windows(2) {
        let ((first, len), (next, _)) = (pair[0], pair[1]);
        assert_eq!(first.wrapping_add(len), next, "the room continues");
    }
    let Some(Ok(Event::Message(message))) = server.poll_event() else {
        panic!("expected the message");
    };
    assert_eq!(message.payload(), &payload[..]);
    // The start was copied once, into the room's buffer.
    assert_eq!(
        message.payload().as_ptr(),
        ends[0].0.wrapping_sub(10_000 - 14)
    );
    assert_eq!(server.receive_in_place(1, |_| ()), None, "between frames");

    let streaming = Config::default().with_streaming(true);
    let mut server = connection(Role::Server, streaming);
    server.receive(&frame[..10_000]);
    while server.poll_event().is_some() {}
    assert_eq!(server.receive_in_place(1, |_| ()), None, "streaming");

    let no_reserve = Config::default().with_frame_reserve(0);
    let mut server = connection(Role::Server, no_reserve);
    server.receive_buf(&mut BytesMut::from(&frame[..10_000]));
    assert!(server.poll_event().is_none());
    assert_eq!(server.receive_in_place(1, |_| ()), None, "no room reserved");
}

/// `send_in` encodes into the room it is given when nothing is queued
/// (the same bytes as `send`), and borrows nothing otherwise.
#[test]
fn send_in_encodes_into_the_room_it_is_lent() {
    let mut server = connection(Role::Server, Config::default());
    let mut buf = BytesMut::with_capacity(1024);
    let room_start = buf.as_ptr();
    let room = buf.split_off(0);
    server.send_in(Message::from("hello"), room).unwrap();
    let mut slices = [std::io::IoSlice::new(&[]); 4];
    assert_eq!(server.transmit_slices(&mut slices), 1);
    assert_eq!(slices[0].as_ptr(), room_start, "encoded in the room");
    let mut expected = connection(Role::Server, Config::default());
    expected.send(Message::from("hello")).unwrap();
    // With bytes queued, the room is not taken; the frames follow in order.
    let other = BytesMut::with_capacity(1024);
    server.send_in(Message::from("again"), other).unwrap();
    expected.send(Message::from("again")).unwrap();
    assert_eq!(drain(&mut server), drain(&mut expected));
    assert_eq!(server.buffer_capacity(), 0, "written out: nothing held");
    // A frame larger than the room grows it.
    let long = Message::from(vec![5u8; 300]);
    server
        .send_in(long.clone(), BytesMut::with_capacity(8))
        .unwrap();
    expected.send(long).unwrap();
    assert_eq!(drain(&mut server), drain(&mut expected));
    // A refused message leaves nothing borrowed.
    server.close(CloseCode::NORMAL, "").unwrap();
    drain(&mut server);
    let refused = server.send_in(Message::from("late"), BytesMut::with_capacity(1024));
    assert_eq!(refused, Err(SendError::Closed));
    assert_eq!(server.buffer_capacity(), 0);
}

/// `advance_transmit_reclaim` gives the lent room back, empty, once
/// everything queued is written, and not before; the connection then
/// holds no send buffer.
#[test]
fn the_room_comes_back_once_everything_is_written() {
    let mut server = connection(Role::Server, Config::default());
    let room = BytesMut::with_capacity(1024);
    let room_start = room.as_ptr();
    server.send_in(Message::from("hello"), room).unwrap();
    // "hello" after a 2-byte header, written at once.
    let back = server.advance_transmit_reclaim(7).expect("all written");
    assert_eq!(back.as_ptr(), room_start, "the same allocation");
    assert!(back.is_empty());
    assert_eq!(back.capacity(), 1024, "a whole write leaves all the room");
    assert_eq!(server.buffer_capacity(), 0, "nothing held");
    // Lent again, it is used again; written in two parts, it comes back
    // after the second.
    server.send_in(Message::from("again"), back).unwrap();
    let mut slices = [std::io::IoSlice::new(&[]); 4];
    assert_eq!(server.transmit_slices(&mut slices), 1);
    assert_eq!(slices[0].as_ptr(), room_start);
    assert_eq!(&slices[0][..], b"\x81\x05again");
    assert_eq!(server.advance_transmit_reclaim(3), None, "4 bytes left");
    assert_eq!(server.buffered_amount(), 4);
    assert!(server.advance_transmit_reclaim(4).is_some());
    assert_eq!(server.buffered_amount(), 0);
    assert_eq!(server.buffer_capacity(), 0);
}

/// Whenever `has_unparsed_input` says no, `poll_event` has nothing until
/// more bytes arrive: checked after every event of a stream of whole,
/// fragmented, control and large frames, split at every point into two
/// reads, through both entry points.
#[test]
fn no_unparsed_input_means_no_event() {
    let mut stream = Vec::new();
    stream.extend(to_server(0x81, b"one"));
    stream.extend(to_server(0x82, &[7; 300]));
    stream.extend(to_server(0x01, b"frag"));
    stream.extend(to_server(0x89, b"ping"));
    stream.extend(to_server(0x80, b"ment"));
    stream.extend(to_server(0x82, b""));
    stream.extend(to_server(0x88, &close_frame_bytes(1000, "bye")[2..]));
    for at in 0..=stream.len() {
        for buffered in [false, true] {
            let mut conn = connection(Role::Server, Config::default());
            let mut events = 0;
            for read in [&stream[..at], &stream[at..]] {
                if buffered {
                    conn.receive_buf(&mut BytesMut::from(read));
                } else {
                    conn.receive(read);
                }
                while conn.poll_event().is_some() {
                    events += 1;
                    if !conn.has_unparsed_input() {
                        assert!(conn.poll_event().is_none(), "split at {at}");
                    }
                }
            }
            // one, the binary, the ping, the fragmented text, the empty
            // binary, the Close.
            assert_eq!(events, 6, "split at {at}");
        }
    }
    // Bytes of an unfinished frame are unparsed input; none once a whole
    // message took them.
    let mut conn = connection(Role::Server, Config::default());
    conn.receive(&stream[..3]);
    assert!(conn.has_unparsed_input());
    assert!(conn.poll_event().is_none());
    let mut conn = connection(Role::Server, Config::default());
    conn.receive(&to_server(0x81, b"one"));
    assert!(conn.poll_event().is_some());
    assert!(!conn.has_unparsed_input());
}
