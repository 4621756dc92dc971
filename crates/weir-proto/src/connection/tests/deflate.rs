//! permessage-deflate through the connection: RFC 7692's vectors, the RSV1
//! rules, the limits on inflated bytes, streaming, sending, memory and
//! broadcasts. Byte streams are fed split at every point, as elsewhere.

use super::*;
use crate::deflate::{DeflateConfig, DeflateParams};
use crate::prepared::PreparedMessage;

/// A connection in `role` that agreed on `params`, with local choices from
/// `local` (level, threshold).
fn deflating(
    role: Role,
    config: Config,
    params: DeflateParams,
    local: &DeflateConfig,
) -> Connection {
    let mut conn = connection(role, config);
    conn.use_deflate(params, local);
    conn
}

fn client_with(params: DeflateParams) -> impl Fn() -> Connection {
    move || {
        deflating(
            Role::Client,
            Config::default(),
            params,
            &DeflateConfig::default(),
        )
    }
}

fn server_with(config: Config, params: DeflateParams) -> impl Fn() -> Connection {
    move || {
        deflating(
            Role::Server,
            config.clone(),
            params,
            &DeflateConfig::default(),
        )
    }
}

const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

/// The compressed form of `data` as a fresh raw deflater makes it, with the
/// trailer removed.
fn compressed(data: &[u8]) -> Vec<u8> {
    let mut sender = deflating(
        Role::Server,
        Config::default(),
        DeflateParams::default(),
        &DeflateConfig::default().with_threshold(1),
    );
    sender
        .send(Message::Binary(Bytes::copy_from_slice(data)))
        .unwrap();
    let frame = drain(&mut sender);
    let (header, len) = crate::frame::FrameHeader::decode(&frame).unwrap().unwrap();
    assert_eq!(header.rsv, 0b100);
    frame[len..].to_vec()
}

#[test]
fn rfc7692_7_2_3_vectors_received() {
    let takeover = DeflateParams::default();
    let stored = [
        0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    let two_blocks = [
        0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
    ];
    for payload in [&HELLO[..], &stored, &bfinal, &two_blocks] {
        let outcome = feed_to(client_with(takeover), &to_client(0xc1, payload));
        assert_eq!(outcome.events, [text("Hello")], "{payload:02x?}");
    }
    // 7.2.3.1, fragmented: RSV1 on the first frame only.
    let mut bytes = to_client(0x41, &HELLO[..3]);
    bytes.extend(to_client(0x80, &HELLO[3..]));
    assert_eq!(
        feed_to(client_with(takeover), &bytes).events,
        [text("Hello")]
    );
    // 7.2.3.2: the second message refers to the first one's window.
    let mut bytes = to_client(0xc1, &HELLO);
    bytes.extend(to_client(0xc1, &[0xf2, 0x00, 0x11, 0x00, 0x00]));
    let outcome = feed_to(client_with(takeover), &bytes);
    assert_eq!(outcome.events, [text("Hello"), text("Hello")]);
    // 7.2.3.6: an empty message is the single byte 00.
    let outcome = feed_to(client_with(takeover), &to_client(0xc2, &[0x00]));
    assert_eq!(outcome.events, [binary(b"")]);
    // An uncompressed message on a compressing connection is fine too.
    let outcome = feed_to(client_with(takeover), &to_client(0x81, b"plain"));
    assert_eq!(outcome.events, [text("plain")]);
}

#[test]
fn rfc7692_7_2_3_hello_sent_with_context_takeover() {
    let local = DeflateConfig::default().with_level(6).with_threshold(1);
    let mut server = deflating(
        Role::Server,
        Config::default(),
        DeflateParams::default(),
        &local,
    );
    server.send("Hello").unwrap();
    server.send("Hello").unwrap();
    let mut expected = vec![0xc1, 0x07];
    expected.extend_from_slice(&HELLO);
    expected.extend_from_slice(&[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00]);
    assert_eq!(drain(&mut server), expected);
}

#[test]
fn rfc7692_6_1_rsv1_only_on_the_first_frame_of_a_data_message() {
    let takeover = DeflateParams::default();
    // On a continuation frame.
    let mut bytes = to_client(0x41, &HELLO[..3]);
    bytes.extend(to_client(0xc0, &HELLO[3..]));
    let outcome = feed_to(client_with(takeover), &bytes);
    assert_failed(&outcome, ProtocolError::ReservedBits(0b100));
    // On control frames.
    for first in [0xc9, 0xca, 0xc8] {
        let outcome = feed_to(client_with(takeover), &to_client(first, b""));
        assert_failed(&outcome, ProtocolError::ReservedBits(0b100));
    }
    // RSV2 and RSV3 stay reserved.
    for (first, bits) in [(0xa1, 0b010), (0x91, 0b001), (0xe1, 0b110)] {
        let outcome = feed_to(client_with(takeover), &to_client(first, &HELLO));
        assert_failed(&outcome, ProtocolError::ReservedBits(bits));
    }
    // Without negotiation, RSV1 fails too.
    assert_failed(
        &client(&to_client(0xc1, &HELLO)),
        ProtocolError::ReservedBits(0b100),
    );
}

#[test]
fn rfc7692_7_2_2_invalid_compressed_data_closes_with_1007() {
    let outcome = feed_to(
        client_with(DeflateParams::default()),
        &to_client(0xc2, &[0xff, 0xff, 0xff]),
    );
    assert_failed(&outcome, ProtocolError::InvalidCompressedData);
}

#[test]
fn rfc6455_8_1_inflated_text_is_checked_as_it_comes_out() {
    let payload = compressed(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80 and more");
    // Only the first frame of a longer message: the error comes before its end.
    let outcome = feed_to(
        client_with(DeflateParams::default()),
        &to_client(0x41, &payload),
    );
    assert_failed(&outcome, ProtocolError::InvalidUtf8);
    // A message cut inside a character fails at its end.
    let payload = compressed(b"caf\xc3");
    let outcome = feed_to(
        client_with(DeflateParams::default()),
        &to_client(0xc1, &payload),
    );
    assert_failed(&outcome, ProtocolError::InvalidUtf8);
}

#[test]
fn inflated_bytes_count_against_the_message_limit() {
    let data = vec![b'a'; 100_000];
    let bomb = compressed(&data);
    assert!(bomb.len() < 1000);
    let at_limit = Config::default().with_max_message_size(100_000);
    let outcome = feed_to(
        server_with(at_limit.clone(), DeflateParams::default()),
        &to_server(0xc2, &bomb),
    );
    assert_eq!(outcome.events, [binary(&data)]);
    let one_under = at_limit.with_max_message_size(99_999);
    let mut conn = server_with(one_under.clone(), DeflateParams::default())();
    conn.receive(&to_server(0xc2, &bomb));
    assert_eq!(
        conn.poll_event(),
        Some(Err(ProtocolError::MessageTooBig {
            len: 100_000,
            max: 99_999
        }))
    );
    let outcome = feed_to(
        server_with(one_under, DeflateParams::default()),
        &to_server(0xc2, &bomb),
    );
    assert_failed(
        &outcome,
        ProtocolError::MessageTooBig {
            len: 100_000,
            max: 99_999,
        },
    );
}

#[test]
fn a_bomb_allocates_no_more_than_the_limit() {
    // 16 MiB of zeros in about 16 KiB, against a 1 MiB limit.
    let bomb = compressed(&vec![0; 16 << 20]);
    let config = Config::default().with_max_message_size(1 << 20);
    let mut conn = server_with(config, DeflateParams::default())();
    let frame = to_server(0xc2, &bomb);
    let mut failed = None;
    for chunk in frame.chunks(1000) {
        conn.receive(chunk);
        while let Some(event) = conn.poll_event() {
            failed = Some(event);
        }
        let held = conn.message.as_ref().and_then(|m| m.inflating.as_ref());
        assert!(held.map_or(0, |i| i.out.capacity()) <= (1 << 20) + 1);
    }
    assert!(matches!(
        failed,
        Some(Err(ProtocolError::MessageTooBig { .. }))
    ));
}

#[test]
fn streaming_inflates_in_bounded_chunks() {
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 7) as u8 + b'a').collect();
    let payload = compressed(&data);
    let mut bytes = to_server(0x42, &payload[..payload.len() / 2]);
    bytes.extend(to_server(0x80, &payload[payload.len() / 2..]));
    let config = Config::default().with_streaming(true);
    let outcome = feed_to(
        server_with(config.clone(), DeflateParams::default()),
        &bytes,
    );
    let mut whole = Vec::new();
    for (i, event) in outcome.events.iter().enumerate() {
        let Ok(Event::Fragment(fragment)) = event else {
            panic!("not a fragment: {event:?}");
        };
        assert!(fragment.data.len() <= super::super::inflate::STREAM_CHUNK);
        assert_eq!(fragment.is_first, i == 0);
        assert_eq!(fragment.is_last, i == outcome.events.len() - 1);
        whole.extend_from_slice(&fragment.data);
    }
    assert_eq!(whole, data);
    assert!(outcome.events.len() >= data.len() / super::super::inflate::STREAM_CHUNK);
}

/// Frames of `bytes`, as (RSV bits, opcode bits, payload).
fn frames_of(mut bytes: &[u8]) -> Vec<(u8, u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while let Some((header, len)) = crate::frame::FrameHeader::decode(bytes).unwrap() {
        let end = len + header.payload_len as usize;
        let mut payload = bytes[len..end].to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        frames.push((header.rsv, header.opcode.bits(), payload));
        bytes = &bytes[end..];
    }
    frames
}

#[test]
fn threshold_and_uncompressed_sends() {
    let local = DeflateConfig::default().with_threshold(10);
    let mut server = deflating(
        Role::Server,
        Config::default(),
        DeflateParams::default(),
        &local,
    );
    server.send("short").unwrap();
    server.send("long enough to compress").unwrap();
    server
        .send_uncompressed("a secret token, never compressed")
        .unwrap();
    server.send("").unwrap();
    let rsv: Vec<u8> = frames_of(&drain(&mut server)).iter().map(|f| f.0).collect();
    assert_eq!(rsv, [0, 0b100, 0, 0]);
}

#[test]
fn fragmented_sends_share_one_stream() {
    let params = DeflateParams::default();
    for pieces in [
        vec!["Hello, ", "fragmented ", "world"],
        vec!["Hello", ""],
        vec!["", "", "Hello"],
        vec!["", ""],
    ] {
        let mut client = deflating(
            Role::Client,
            Config::default(),
            params,
            &DeflateConfig::default(),
        );
        let mut server = deflating(
            Role::Server,
            Config::default(),
            params,
            &DeflateConfig::default(),
        );
        for round in 0..2 {
            for (i, piece) in pieces.iter().enumerate() {
                let last = i == pieces.len() - 1;
                client
                    .send_fragment(
                        MessageKind::Text,
                        Bytes::copy_from_slice(piece.as_bytes()),
                        last,
                    )
                    .unwrap();
            }
            let bytes = drain(&mut client);
            let frames = frames_of(&bytes);
            assert_eq!(frames[0].0, 0b100, "{pieces:?}");
            assert!(frames[1..].iter().all(|f| f.0 == 0), "{pieces:?}");
            server.receive(&bytes);
            let event = server.poll_event().unwrap().unwrap();
            assert_eq!(
                event,
                Event::Message(pieces.concat().into()),
                "{pieces:?} round {round}"
            );
        }
    }
}

#[test]
fn no_context_takeover_holds_no_state_between_messages() {
    let params = DeflateParams {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..DeflateParams::default()
    };
    let local = DeflateConfig::low_memory().with_threshold(1);
    let mut client = deflating(Role::Client, Config::default(), params, &local);
    let mut server = deflating(Role::Server, Config::default(), params, &local);
    for _ in 0..3 {
        client.send("Hello, compressed world").unwrap();
        server.receive(&drain(&mut client));
        let event = server.poll_event().unwrap().unwrap();
        server
            .send(match event {
                Event::Message(message) => message,
                other => panic!("{other:?}"),
            })
            .unwrap();
        client.receive(&drain(&mut server));
        assert_eq!(
            client.poll_event(),
            Some(Ok(Event::Message("Hello, compressed world".into())))
        );
        assert!(!client.holds_compression_state());
        assert!(!server.holds_compression_state());
        assert_eq!(client.buffer_capacity() + server.buffer_capacity(), 0);
    }
    // With context takeover the state stays, as it must.
    let mut kept = deflating(
        Role::Server,
        Config::default(),
        DeflateParams::default(),
        &local,
    );
    kept.send("Hello, compressed world").unwrap();
    assert!(kept.holds_compression_state());
}

/// A server connection with `params` and a client to read what it sends.
fn broadcast_pair(params: DeflateParams, local: &DeflateConfig) -> (Connection, Connection) {
    (
        deflating(Role::Server, Config::default(), params, local),
        deflating(Role::Client, Config::default(), params, local),
    )
}

#[test]
fn prepared_messages_are_compressed_once_where_valid() {
    let local = DeflateConfig::default();
    let shared_params = DeflateParams {
        server_no_context_takeover: true,
        ..DeflateParams::default()
    };
    let narrow = DeflateParams {
        server_max_window_bits: 9,
        ..shared_params
    };
    let mut pairs = vec![
        (broadcast_pair(shared_params, &local), true),
        (broadcast_pair(shared_params, &local), true),
        (broadcast_pair(narrow, &local), true),
        (broadcast_pair(DeflateParams::default(), &local), true),
        (
            (
                connection(Role::Server, Config::default()),
                connection(Role::Client, Config::default()),
            ),
            false,
        ),
    ];
    // Incompressible enough that the compressed payload is queued by
    // reference, not copied: its address tells who shared it.
    let data: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    // Context takeover first sees another message, so its window differs.
    pairs[3]
        .0
         .0
        .send(Message::Binary(data[..5000].to_vec().into()))
        .unwrap();
    let warmup = drain(&mut pairs[3].0 .0);
    pairs[3].0 .1.receive(&warmup);
    assert!(pairs[3].0 .1.poll_event().is_some());
    let prepared = PreparedMessage::new(Message::Binary(data.clone().into()));
    let mut addresses = Vec::new();
    for ((server, client), compresses) in &mut pairs {
        server.send_prepared(&prepared).unwrap();
        let chunks: Vec<Bytes> = std::iter::from_fn(|| server.poll_transmit()).collect();
        addresses.push(chunks.last().unwrap().as_ptr());
        let bytes: Vec<u8> = chunks.concat();
        assert_eq!(frames_of(&bytes)[0].0 != 0, *compresses);
        client.receive(&bytes);
        assert_eq!(
            client.poll_event(),
            Some(Ok(Event::Message(Message::Binary(data.clone().into()))))
        );
    }
    assert_eq!(
        addresses[0], addresses[1],
        "same parameters share the bytes"
    );
    assert_ne!(
        addresses[0], addresses[2],
        "another window compresses afresh"
    );
    assert_ne!(
        addresses[0], addresses[3],
        "context takeover compresses afresh"
    );
    // A prepared secret is never compressed.
    let secret = PreparedMessage::uncompressed(Message::Binary(data.clone().into()));
    let (server, _) = &mut pairs[0].0;
    server.send_prepared(&secret).unwrap();
    assert_eq!(frames_of(&drain(server))[0].0, 0);
}

/// Bytes that deflate cannot shrink.
fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn incompressible_messages_go_uncompressed_where_the_window_allows() {
    let data = Message::Binary(noise(4096).into());
    let local = DeflateConfig::default();
    let reset = DeflateParams {
        server_no_context_takeover: true,
        ..DeflateParams::default()
    };
    let mut server = deflating(Role::Server, Config::default(), reset, &local);
    server.send(data.clone()).unwrap();
    assert_eq!(frames_of(&drain(&mut server))[0].0, 0, "sent as it is");
    server.send(Message::from("x".repeat(4096))).unwrap();
    assert_eq!(frames_of(&drain(&mut server))[0].0, 0b100);
    // With context takeover the compressor has seen it: it must go compressed.
    let mut keeps = deflating(
        Role::Server,
        Config::default(),
        DeflateParams::default(),
        &local,
    );
    keeps.send(data).unwrap();
    let frames = frames_of(&drain(&mut keeps));
    assert_eq!(frames[0].0, 0b100);
    assert!(frames[0].2.len() > 4096);
}

#[test]
fn compressed_frames_may_grow_past_the_frame_limit_by_deflate_overhead() {
    // What fits the limit uncompressed also fits it compressed.
    let data = noise(64 << 10);
    let payload = compressed(&data);
    assert!(payload.len() > data.len());
    let config = Config::default()
        .with_max_frame_size(64 << 10)
        .with_max_message_size(64 << 10);
    let mut conn = server_with(config, DeflateParams::default())();
    conn.receive(&to_server(0xc2, &payload));
    assert_eq!(
        conn.poll_event(),
        Some(Ok(Event::Message(Message::Binary(data.into()))))
    );
}
