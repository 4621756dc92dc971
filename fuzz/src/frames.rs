//! The oracle of the frame_server and frame_client targets.
//!
//! Input layout: byte 0 is a flag byte, then `flags >> 5` read-size bytes
//! (see [`chunks::size_from_byte`]), then the bytes the peer sent.
//!
//! | flag bit | meaning |
//! | --- | --- |
//! | 0 | streaming mode |
//! | 1 | auto_pong off |
//! | 2 | tiny limits (frame 64, message 256, send queue 128) instead of 4096 / 8192 / 1024 |
//! | 3 | this endpoint calls `close(1000)` before anything arrives |
//! | 4 | permessage-deflate negotiated (context takeover, 15-bit windows) |
//! | 5-7 | how many read-size bytes follow |
//!
//! With deflate negotiated, everything is checked as without, except the
//! comparison with the reference model (RFC 6455 only, so RSV1 is an error
//! to it), made only when no text or binary frame carries RSV1 alone: on
//! such streams negotiating deflate must change nothing. Compressed
//! messages get their own target, deflate_frames.

use bytes::Bytes;
use weir_proto::deflate::DeflateParams;
use weir_proto::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use weir_proto::{
    CloseCode, CloseFrame, Config, Connection, Event, Fragment, MessageKind, ProtocolError, Role,
    State, Utf8Bytes,
};

use crate::alloc;
use crate::chunks;
use crate::negotiated::{self, ZLIB_RS_INFLATER};
use crate::reference;

/// Fixed masking seed: runs are deterministic.
const SEED: [u8; 32] = [7; 32];

/// The largest control frame on the wire: a 2-byte header, a 4-byte mask
/// (clients) and 125 bytes of payload. MAX_HEADER_LEN covers the header.
const MAX_CONTROL_FRAME: usize = MAX_HEADER_LEN + 125;

pub type Events = Vec<Result<Event, ProtocolError>>;

struct Setup {
    config: Config,
    close_first: bool,
    deflate: bool,
}

/// What the data frames of a stream ask of a connection with deflate, read
/// from their headers alone. The walk goes on past frames a connection
/// would reject, so both answers may say yes where a connection never gets
/// that far.
#[derive(Debug, Default)]
pub struct Scan {
    /// A text or binary frame has RSV1 set and no other RSV bit: with
    /// deflate negotiated, it starts a compressed message.
    pub compressed: bool,
    /// A text or binary frame without RSV1 and without FIN: an uncompressed
    /// message assembled from several frames.
    pub uncompressed_fragmented: bool,
}

pub fn scan(data: &[u8]) -> Scan {
    let mut scan = Scan::default();
    let mut rest = data;
    while let Ok(Some((header, header_len))) = FrameHeader::decode(rest) {
        if matches!(header.opcode, OpCode::Text | OpCode::Binary) {
            scan.compressed |= header.rsv == 0b100;
            scan.uncompressed_fragmented |= header.rsv & 0b100 == 0 && !header.fin;
        }
        let len = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
        rest = rest
            .get(header_len.saturating_add(len)..)
            .unwrap_or_default();
    }
    scan
}

fn setup(flags: u8) -> Setup {
    let mut config = if flags & 4 != 0 {
        Config::default()
            .with_max_frame_size(64)
            .with_max_message_size(256)
            .with_max_send_queue(128)
    } else {
        Config::default()
            .with_max_frame_size(4096)
            .with_max_message_size(8192)
            .with_max_send_queue(1024)
    };
    config = config
        .with_streaming(flags & 1 != 0)
        .with_auto_pong(flags & 2 == 0);
    Setup {
        config,
        close_first: flags & 8 != 0,
        deflate: flags & 0x10 != 0,
    }
}

/// A fresh connection for `role`: plain, or with deflate negotiated through
/// a handshake.
fn connection(role: Role, s: &Setup) -> Connection {
    if !s.deflate {
        return Connection::with_mask_seed(role, s.config.clone(), SEED);
    }
    let config = &s.config;
    let params = DeflateParams::default();
    let (client, server) = negotiated::pair(params, 1, 128, config.clone(), config.clone(), SEED);
    match role {
        Role::Client => client,
        Role::Server => server,
    }
}

/// The send queue never grows past its limit plus: the pong queued while
/// just under it, the single pending-pong slot, and a Close frame.
fn max_buffered(config: &Config) -> usize {
    config.max_send_queue + 3 * MAX_CONTROL_FRAME
}

/// Bound on `buffer_capacity()` after a read has been polled dry.
///
/// The read buffer then holds at most the unfinished frame (payload up to
/// `max_frame_size`, or a header cut short, under MAX_HEADER_LEN bytes)
/// plus the read just appended; `BytesMut` grows like `Vec`, at most
/// doubling, so its capacity stays under twice that. The staging buffer
/// holds at most the send queue bound, doubled the same way.
fn max_capacity(config: &Config, largest_read: usize) -> usize {
    2 * (config.max_frame_size + MAX_HEADER_LEN + largest_read) + 2 * max_buffered(config)
}

/// Bound on the heap a connection holds (measured by dropping it): its
/// buffers as above, plus the parts of an unfinished message (non-streaming),
/// at most `max_message_size`, doubled by growth; with deflate, also the
/// inflater and the inflated part of a message (at most the limit + 1).
fn max_held(s: &Setup, largest_read: usize) -> usize {
    let config = &s.config;
    let inflating = if s.deflate {
        ZLIB_RS_INFLATER + config.max_message_size + 1
    } else {
        0
    };
    max_capacity(config, largest_read) + 2 * config.max_message_size + 1024 + inflating
}

struct Run {
    events: Events,
    /// `buffered_amount()` just before draining.
    buffered: usize,
    /// Every byte `poll_transmit` gave, in order.
    output: Vec<u8>,
    state: State,
    should_close_transport: bool,
    capacity_after_drain: usize,
}

/// Feeds `reads` to a fresh connection, polling after each, and checks the
/// invariants that hold at every step.
fn run(role: Role, s: &Setup, reads: &[&[u8]]) -> Run {
    let config = &s.config;
    let largest = chunks::largest(reads);
    let mut conn = connection(role, s);
    if s.close_first {
        conn.close(CloseCode::NORMAL, "")
            .expect("close on a fresh connection");
        assert_eq!(conn.state(), State::Closing);
    }
    let mut events: Events = Vec::new();
    let mut finished = false;
    for read in reads {
        conn.receive(read);
        while let Some(event) = conn.poll_event() {
            assert!(!finished, "an event after an error or Close: {event:?}");
            match &event {
                Err(_) | Ok(Event::Close(_)) => {
                    finished = true;
                    assert_eq!(conn.state(), State::Closed, "after {event:?}");
                }
                Ok(Event::Message(_) | Event::Ping(_) | Event::Pong(_)) => {
                    assert!(!config.streaming || !matches!(event, Ok(Event::Message(_))));
                }
                Ok(Event::Fragment(_)) => assert!(config.streaming, "fragment without streaming"),
            }
            events.push(event);
        }
        assert!(
            conn.poll_event().is_none(),
            "poll_event is not idempotent at None"
        );
        if !finished {
            let open = if s.close_first {
                State::Closing
            } else {
                State::Open
            };
            assert_eq!(conn.state(), open);
        }
        let buffered = conn.buffered_amount();
        assert!(
            buffered <= max_buffered(config),
            "buffered_amount {buffered} over {}",
            max_buffered(config)
        );
        let capacity = conn.buffer_capacity();
        assert!(
            capacity <= max_capacity(config, largest),
            "buffer_capacity {capacity} over {} (largest read {largest})",
            max_capacity(config, largest)
        );
    }
    let errors = events.iter().filter(|e| e.is_err()).count();
    assert!(errors <= 1, "{errors} errors reported");
    let buffered = conn.buffered_amount();
    let mut output = Vec::new();
    while let Some(bytes) = conn.poll_transmit() {
        assert!(!bytes.is_empty(), "poll_transmit gave an empty chunk");
        output.extend_from_slice(&bytes);
    }
    assert_eq!(conn.buffered_amount(), 0, "buffered_amount after draining");
    let run = Run {
        buffered,
        output,
        state: conn.state(),
        should_close_transport: conn.should_close_transport(),
        capacity_after_drain: conn.buffer_capacity(),
        events,
    };
    let held = alloc::held_by(conn);
    assert!(
        held <= max_held(s, largest),
        "the connection holds {held} heap bytes, over {}",
        max_held(s, largest)
    );
    run
}

/// Streaming events with each message's consecutive pieces joined (as in
/// tests/properties.rs).
fn joined(events: Events) -> Events {
    let mut out: Events = Vec::new();
    for event in events {
        if let (Ok(Event::Fragment(next)), Some(Ok(Event::Fragment(last)))) =
            (&event, out.last_mut())
        {
            if !last.is_last {
                assert_eq!(next.kind, last.kind, "kind changed inside a message");
                assert!(!next.is_first, "is_first inside a message");
                let mut data = last.data.to_vec();
                data.extend_from_slice(&next.data);
                last.data = data.into();
                last.is_last = next.is_last;
                continue;
            }
        }
        out.push(event);
    }
    out
}

/// Joined streaming events, and, when they end with an error right after
/// an unfinished message, that message's pieces taken out: how much of a
/// message is handed out before its invalid byte arrives depends on the
/// reads (fail-fast UTF-8 validation in the middle of a frame).
fn normalized(events: Events) -> (Events, Option<Fragment>) {
    let mut events = joined(events);
    let n = events.len();
    if n >= 2 && events[n - 1].is_err() {
        if let Ok(Event::Fragment(f)) = &events[n - 2] {
            if !f.is_last {
                let f = f.clone();
                let _ = events.remove(n - 2);
                return (events, Some(f));
            }
        }
    }
    (events, None)
}

/// Checks that the streamed pieces of a text message, joined across any
/// control frames between them, are always a valid UTF-8 prefix, and valid
/// UTF-8 once the message ends.
pub fn check_streamed_text(events: &Events) {
    let mut text: Option<Vec<u8>> = None;
    for event in events {
        let Ok(Event::Fragment(f)) = event else {
            continue;
        };
        if f.kind != MessageKind::Text {
            continue;
        }
        let data = text.get_or_insert_with(Vec::new);
        data.extend_from_slice(&f.data);
        match std::str::from_utf8(data) {
            Ok(_) => {}
            Err(e) => assert!(
                !f.is_last && e.error_len().is_none(),
                "streamed text is not UTF-8: {data:02x?}"
            ),
        }
        if f.is_last {
            text = None;
        }
    }
}

/// Compares two runs' events: equal, or in streaming mode equal once joined,
/// with any message cut short by an error compared by prefix (one run's cut
/// message a prefix of the other's).
pub fn assert_same_events(streaming: bool, first: &Events, second: &Events, what: &str) {
    if !streaming {
        assert_eq!(first, second, "{what}");
        return;
    }
    let (a, a_cut) = normalized(first.clone());
    let (b, b_cut) = normalized(second.clone());
    assert_eq!(a, b, "{what} (streaming, joined)");
    let a_data = a_cut.as_ref().map(|f| f.data.clone()).unwrap_or_default();
    let b_data = b_cut.as_ref().map(|f| f.data.clone()).unwrap_or_default();
    if let (Some(a), Some(b)) = (&a_cut, &b_cut) {
        assert_eq!(a.kind, b.kind, "{what}: kind of the cut message");
    }
    // Both runs streamed a prefix of the same message before the error
    // ended it; how long a prefix depends on the reads (an inflater fed
    // everything at once may emit a whole output block, or less, before it
    // reaches the corrupt bytes), so either may be the longer.
    assert!(
        b_data.starts_with(&a_data) || a_data.starts_with(&b_data),
        "{what}: the cut messages differ: {a_data:02x?} and {b_data:02x?}"
    );
}

/// The frames the endpoint must have written, as the peer would report them:
/// a pong per ping (RFC 6455 5.5.2) while the queue is under its limit, the
/// latest ping's pong once over it (5.5.3), and a Close: ours if we closed
/// first, else the error's code and reason, else the echo of the peer's code.
fn expected_output(role: Role, s: &Setup, events: &Events) -> Vec<Event> {
    let config = &s.config;
    let mut out = Vec::new();
    if s.close_first {
        out.push(Event::Close(Some(CloseFrame {
            code: CloseCode::NORMAL,
            reason: Utf8Bytes::default(),
        })));
        return out;
    }
    let mask = if role == Role::Client { 4 } else { 0 };
    let mut queued = 0usize;
    let mut pending: Option<Bytes> = None;
    let mut close = None;
    for event in events {
        match event {
            Ok(Event::Ping(p)) if config.auto_pong => {
                if queued < config.max_send_queue {
                    queued += 2 + mask + p.len();
                    out.push(Event::Pong(p.clone()));
                } else {
                    pending = Some(p.clone());
                }
            }
            Ok(Event::Close(frame)) => {
                close = Some(Event::Close(frame.as_ref().map(|f| CloseFrame {
                    code: f.code,
                    reason: Utf8Bytes::default(),
                })));
            }
            Err(e) => {
                close = Some(Event::Close(Some(CloseFrame {
                    code: e.close_code(),
                    reason: Utf8Bytes::from(e.close_reason()),
                })));
            }
            _ => {}
        }
    }
    // The pending pong is queued before a Close, or when output is drained.
    out.extend(pending.map(Event::Pong));
    out.extend(close);
    out
}

/// Decodes what the endpoint wrote as its peer would, with the reference
/// model (not weir-proto's own decoder, which would share any masking bug
/// with the encoder).
fn decode_output(role: Role, output: &[u8]) -> Vec<Event> {
    let peer_role = match role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    };
    let decoded = reference::receive(peer_role, &Config::default(), output);
    assert!(
        decoded.at_frame_boundary || matches!(decoded.events.last(), Some(Ok(Event::Close(_)))),
        "the endpoint wrote a partial frame: {output:02x?}"
    );
    decoded
        .events
        .into_iter()
        .map(|event| match event {
            Ok(event) => event,
            Err(e) => panic!("the endpoint wrote an invalid frame stream: {e} ({output:02x?})"),
        })
        .collect()
}

pub fn check(role: Role, input: &[u8]) {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let n = (flags >> 5) as usize;
    if rest.len() < n {
        return;
    }
    let (size_bytes, data) = rest.split_at(n);
    let sizes: Vec<usize> = size_bytes
        .iter()
        .map(|&b| chunks::size_from_byte(b))
        .collect();
    let s = setup(flags);
    let streaming = s.config.streaming;

    let whole = run(role, &s, &[data]);
    let split = run(role, &s, &chunks::split(data, &sizes));

    // 1. An independent model agrees with the whole-read run (with deflate
    // negotiated: when nothing is compressed).
    let model = reference::receive(role, &s.config, data);
    if !s.deflate || !scan(data).compressed {
        assert_same_events(
            streaming,
            &model.events,
            &whole.events,
            "model vs weir-proto",
        );
    }
    if streaming {
        check_streamed_text(&whole.events);
        check_streamed_text(&split.events);
    }

    // 2. The reads do not change the events, or anything written.
    assert_same_events(
        streaming,
        &whole.events,
        &split.events,
        "whole vs split reads",
    );
    assert_eq!(whole.output, split.output, "output depends on the reads");
    assert_eq!(whole.buffered, split.buffered);
    assert_eq!(whole.state, split.state);
    assert_eq!(whole.should_close_transport, split.should_close_transport);

    // 3. What was written is exactly the pongs and Close owed.
    let expected = expected_output(role, &s, &whole.events);
    let written = decode_output(role, &whole.output);
    assert_eq!(written, expected, "frames written");
    // buffered_amount counted every byte that was then drained.
    let counted = whole.buffered;
    assert_eq!(
        counted,
        whole.output.len(),
        "buffered_amount before draining vs bytes drained"
    );

    // 4. Closing and memory once drained.
    let failed = whole.events.last().is_some_and(|e| e.is_err());
    assert_eq!(
        whole.should_close_transport,
        whole.state == State::Closed && (role == Role::Server || failed),
        "should_close_transport"
    );
    if whole.state == State::Closed || (model.at_frame_boundary && !s.close_first) {
        // "an idle connection holds none"
        assert_eq!(whole.capacity_after_drain, 0, "buffers kept once idle");
        assert_eq!(
            split.capacity_after_drain, 0,
            "buffers kept once idle (split)"
        );
    }
}
