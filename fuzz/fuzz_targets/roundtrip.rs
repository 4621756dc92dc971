//! A structured target: one role sends a sequence of messages, fragments and
//! control frames (and maybe a Close); the bytes it writes reach the other
//! role in arbitrary reads; the receiver must report exactly what was sent.
//! Then the receiver's answer (pongs, the Close echo) goes back, and both
//! ends must agree that the connection is closed.
//!
//! The input may have the two ends negotiate permessage-deflate (through a
//! real handshake, see `weir_fuzz::negotiated`) with parameters, level and
//! threshold of its choice: then messages at or over the threshold and
//! fragmented ones go compressed, with context takeover or without, and the
//! same oracle must hold.
#![no_main]

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weir_fuzz::negotiated;
use weir_proto::{
    CloseCode, CloseFrame, Config, Connection, Event, Message, MessageKind, PreparedMessage, Role,
    SendError, State, MAX_CLOSE_REASON,
};

#[derive(Arbitrary, Debug)]
enum Op {
    Text(String),
    Binary(Vec<u8>),
    /// A message sent in pieces cut at `cuts` (text may be cut inside a
    /// character); a ping may go between two pieces.
    Fragmented {
        text: bool,
        text_payload: String,
        binary_payload: Vec<u8>,
        cuts: Vec<u16>,
        ping_between: Option<(u8, Vec<u8>)>,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// `send_uncompressed`: never compressed, even with deflate.
    Uncompressed(Vec<u8>),
    /// One `PreparedMessage` sent 1 to 3 times: with deflate and no context
    /// takeover on the sender's side, the copies after the first reuse the
    /// compressed form made once for every connection.
    Prepared(String, u8),
}

/// permessage-deflate: the parameters (see `negotiated::params`), the
/// sender's compression level (0 to 9) and threshold.
#[derive(Arbitrary, Debug)]
struct Deflate {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    window_bits: u8,
    level: u8,
    threshold: u8,
}

#[derive(Arbitrary, Debug)]
struct Input {
    sender_is_client: bool,
    streaming: bool,
    deflate: Option<Deflate>,
    ops: Vec<Op>,
    close: Option<(u16, String)>,
    reads: Vec<u16>,
}

/// The sender and the receiver, with deflate negotiated if asked.
fn connections(
    deflate: &Option<Deflate>,
    (sender_role, receiver_role): (Role, Role),
    receiver_config: Config,
) -> (Connection, Connection) {
    let Some(d) = deflate else {
        return (
            Connection::with_mask_seed(sender_role, Config::default(), [3; 32]),
            Connection::with_mask_seed(receiver_role, receiver_config, [4; 32]),
        );
    };
    let params = negotiated::params(
        d.server_no_context_takeover,
        d.client_no_context_takeover,
        d.window_bits,
    );
    let level = d.level % 10;
    let threshold = d.threshold as usize;
    match sender_role {
        Role::Client => {
            let (client, server) = negotiated::pair(
                params,
                level,
                threshold,
                Config::default(),
                receiver_config,
                [3; 32],
            );
            (client, server)
        }
        Role::Server => {
            let (client, server) = negotiated::pair(
                params,
                level,
                threshold,
                receiver_config,
                Config::default(),
                [4; 32],
            );
            (server, client)
        }
    }
}

/// What the receiver should report, with fragments of a message joined.
#[derive(Debug, PartialEq)]
enum Seen {
    Message(Message),
    Ping(Bytes),
    Pong(Bytes),
    Close(Option<CloseFrame>),
}

/// Cuts `bytes` at the given points (modulo its length + 1, sorted).
fn cut(bytes: &[u8], cuts: &[u16]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|&c| c as usize % (bytes.len() + 1))
        .collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for p in points {
        pieces.push(bytes[start..p].to_vec());
        start = p;
    }
    pieces.push(bytes[start..].to_vec());
    pieces
}

/// Control payloads are at most 125 bytes: longer ones are refused (and
/// change nothing), then sent cut to 125.
fn control(conn: &mut Connection, ping: bool, mut payload: Vec<u8>) -> Bytes {
    let send = |conn: &mut Connection, p: Vec<u8>| {
        if ping {
            conn.ping(p)
        } else {
            conn.pong(p)
        }
    };
    if payload.len() > 125 {
        let before = conn.buffered_amount();
        let refused = send(conn, payload.clone());
        assert_eq!(
            refused,
            Err(SendError::ControlPayloadTooLong(payload.len()))
        );
        assert_eq!(
            conn.buffered_amount(),
            before,
            "a refused send queued bytes"
        );
        payload.truncate(125);
    }
    send(conn, payload.clone()).expect("control frame");
    Bytes::from(payload)
}

fn truncate_at_char(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Moves everything `from` wrote to `to`, in reads cycling through `reads`,
/// and returns what `to` reported, fragments joined into messages.
fn pump(from: &mut Connection, to: &mut Connection, reads: &[u16]) -> Vec<Seen> {
    let mut bytes = Vec::new();
    while let Some(chunk) = from.poll_transmit() {
        bytes.extend_from_slice(&chunk);
    }
    let mut seen = Vec::new();
    let mut partial: Option<(MessageKind, Vec<u8>)> = None;
    let mut rest = &bytes[..];
    let mut sizes = reads.iter().map(|&r| r as usize).filter(|&r| r > 0).cycle();
    while !rest.is_empty() {
        let size = sizes.next().unwrap_or(rest.len()).min(rest.len());
        let (read, tail) = rest.split_at(size);
        rest = tail;
        to.receive(read);
        while let Some(event) = to.poll_event() {
            match event.expect("a valid stream is reported without error") {
                Event::Message(m) => seen.push(Seen::Message(m)),
                Event::Ping(p) => seen.push(Seen::Ping(p)),
                Event::Pong(p) => seen.push(Seen::Pong(p)),
                Event::Close(c) => seen.push(Seen::Close(c)),
                Event::Fragment(f) => {
                    assert_eq!(f.is_first, partial.is_none(), "is_first");
                    let (kind, data) = partial.get_or_insert((f.kind, Vec::new()));
                    assert_eq!(*kind, f.kind);
                    data.extend_from_slice(&f.data);
                    if f.is_last {
                        let (kind, data) = partial.take().expect("set above");
                        seen.push(Seen::Message(match kind {
                            MessageKind::Binary => Message::from(data),
                            MessageKind::Text => {
                                Message::from(String::from_utf8(data).expect("validated text"))
                            }
                        }));
                    }
                }
            }
        }
    }
    assert!(partial.is_none(), "a message was left unfinished");
    seen
}

fuzz_target!(|input: Input| {
    let (sender_role, receiver_role) = if input.sender_is_client {
        (Role::Client, Role::Server)
    } else {
        (Role::Server, Role::Client)
    };
    let receiver_config = Config::default().with_streaming(input.streaming);
    let (mut sender, mut receiver) = connections(
        &input.deflate,
        (sender_role, receiver_role),
        receiver_config,
    );

    let mut expected = Vec::new();
    for op in input.ops {
        match op {
            Op::Text(s) => {
                sender.send(s.as_str()).expect("send text");
                expected.push(Seen::Message(Message::from(s)));
            }
            Op::Binary(b) => {
                sender.send(b.clone()).expect("send binary");
                expected.push(Seen::Message(Message::from(b)));
            }
            Op::Fragmented {
                text,
                text_payload,
                binary_payload,
                cuts,
                ping_between,
            } => {
                let (kind, whole) = if text {
                    (MessageKind::Text, text_payload.into_bytes())
                } else {
                    (MessageKind::Binary, binary_payload)
                };
                let pieces = cut(&whole, &cuts);
                let ping_at = ping_between
                    .as_ref()
                    .map(|(at, _)| *at as usize % pieces.len());
                let mut ping_payload = ping_between.map(|(_, p)| p);
                for (i, piece) in pieces.iter().enumerate() {
                    let last = i + 1 == pieces.len();
                    sender
                        .send_fragment(kind, piece.clone(), last)
                        .expect("send fragment");
                    if !last {
                        // A whole message may not go between fragments.
                        let before = sender.buffered_amount();
                        assert_eq!(
                            sender.send("x"),
                            Err(SendError::FragmentedMessageInProgress)
                        );
                        assert_eq!(sender.buffered_amount(), before);
                        if ping_at == Some(i) {
                            let p = control(&mut sender, true, ping_payload.take().unwrap());
                            expected.push(Seen::Ping(p));
                        }
                    }
                }
                expected.push(Seen::Message(match kind {
                    MessageKind::Text => Message::from(String::from_utf8(whole).unwrap()),
                    MessageKind::Binary => Message::from(whole),
                }));
            }
            Op::Ping(p) => {
                let p = control(&mut sender, true, p);
                expected.push(Seen::Ping(p));
            }
            Op::Pong(p) => {
                let p = control(&mut sender, false, p);
                expected.push(Seen::Pong(p));
            }
            Op::Uncompressed(b) => {
                sender
                    .send_uncompressed(b.clone())
                    .expect("send uncompressed");
                expected.push(Seen::Message(Message::from(b)));
            }
            Op::Prepared(s, times) => {
                let prepared = PreparedMessage::new(s.as_str());
                for _ in 0..times % 3 + 1 {
                    sender.send_prepared(&prepared).expect("send prepared");
                    expected.push(Seen::Message(Message::from(s.clone())));
                }
            }
        }
    }
    let closing = input.close.map(|(code, reason)| {
        let reason = truncate_at_char(&reason, MAX_CLOSE_REASON).to_owned();
        let code = CloseCode::new(code);
        let code = if code.is_valid_on_wire() {
            code
        } else {
            let before = sender.buffered_amount();
            assert_eq!(
                sender.close(code, &reason),
                Err(SendError::InvalidCloseCode(code.as_u16()))
            );
            assert_eq!(sender.buffered_amount(), before);
            assert_eq!(sender.state(), State::Open);
            CloseCode::NORMAL
        };
        sender.close(code, &reason).expect("close");
        assert_eq!(sender.state(), State::Closing);
        assert_eq!(sender.send("late"), Err(SendError::Closed));
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        expected.push(Seen::Close(Some(frame.clone())));
        frame
    });

    let seen = pump(&mut sender, &mut receiver, &input.reads);
    assert_eq!(seen, expected, "what the receiver reported");

    // The receiver answered every ping, and echoed the Close.
    let answers = pump(&mut receiver, &mut sender, &input.reads);
    let pings: Vec<Seen> = expected
        .iter()
        .filter_map(|e| match e {
            Seen::Ping(p) => Some(Seen::Pong(p.clone())),
            _ => None,
        })
        .collect();
    let mut owed = pings;
    if let Some(frame) = &closing {
        owed.push(Seen::Close(Some(CloseFrame {
            code: frame.code,
            reason: Default::default(),
        })));
        assert_eq!(sender.state(), State::Closed);
        assert_eq!(receiver.state(), State::Closed);
        assert_eq!(sender.buffered_amount(), 0);
        assert_eq!(receiver.buffered_amount(), 0);
        // The server closes TCP first (RFC 6455 7.1.1).
        assert_eq!(sender.should_close_transport(), sender_role == Role::Server);
        assert_eq!(
            receiver.should_close_transport(),
            receiver_role == Role::Server
        );
        assert_eq!(sender.buffer_capacity(), 0);
        assert_eq!(receiver.buffer_capacity(), 0);
    } else {
        assert_eq!(receiver.state(), State::Open);
    }
    assert_eq!(answers, owed, "the receiver's answers");
});
