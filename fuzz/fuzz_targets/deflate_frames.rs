//! Arbitrary bytes from the peer, in arbitrary reads, to a connection that
//! negotiated permessage-deflate (RFC 7692) with parameters and limits taken
//! from the input. The point: a compressed frame of a few bytes may inflate
//! to gigabytes, and the connection must stop at `max_message_size`, having
//! allocated no more than that, whatever the parameters, role or reads.
//!
//! Input layout:
//!
//! | byte | meaning |
//! | --- | --- |
//! | 0 | flags: bit 0 client role (else server), bit 1 streaming, bit 2 `server_no_context_takeover`, bit 3 `client_no_context_takeover`, bits 5-7 how many read-size bytes follow |
//! | 1 | window bits: low nibble `server_max_window_bits`, high nibble `client_max_window_bits`, each `8 + n % 8` |
//! | 2-3 | `max_message_size`, big-endian (0 to 65,535) |
//! | 4 | `max_frame_size` = 64 × (byte + 1) (64 to 16,384) |
//! | then | the read sizes ([`chunks::size_from_byte`]), then the peer's bytes |
//!
//! The bytes go to a fresh connection twice, in one read and in reads of the
//! given sizes. Checked:
//!
//! - no panic; at most one error event, and it is the last; nothing after a
//!   Close;
//! - **allocation**: no single block allocated while parsing
//!   (`poll_event`) is larger than `max_message_size + 1` (the inflater's
//!   output cap), or than what an uncompressed fragmented message may take
//!   (`parts` doubles like a `Vec`: `2 × max_message_size + 8`) when the
//!   stream has one, or than the small send-side buffers; zlib-rs's inflater
//!   state, one block of [`ZLIB_RS_INFLATER`] bytes, is the one exception.
//!   While buffering (`receive`), no block is larger than twice an
//!   unfinished frame plus the read;
//! - every text message (or joined streamed text) is valid UTF-8, and no
//!   message delivers more than `max_message_size` bytes;
//! - the reads change neither the events (streamed pieces joined) nor what
//!   is written. In particular the error that ends a compressed message
//!   (`InvalidUtf8`, `MessageTooBig`, `InvalidCompressedData`) is the first
//!   in arrival order, whatever the reads (the first campaigns found it
//!   was not; fixed in weir-proto 0216579).
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_fuzz::frames::{self, Events};
use weir_fuzz::negotiated::{self, ZLIB_RS_INFLATER};
use weir_fuzz::{alloc, chunks};
use weir_proto::deflate::DeflateParams;
use weir_proto::frame::MAX_HEADER_LEN;
use weir_proto::{Config, Connection, Event, Message, Role};

/// Fixed masking seed: runs are deterministic.
const SEED: [u8; 32] = [9; 32];

/// The send queue limit. What the connection writes while receiving (pongs,
/// a Close) sits in a staging buffer of at most twice the limit plus three
/// control frames (see `frames::max_buffered`): under this many bytes.
const SEND_QUEUE: usize = 1024;
const SEND_SIDE: usize = 2 * (SEND_QUEUE + 3 * (MAX_HEADER_LEN + 125));

struct Setup {
    role: Role,
    params: DeflateParams,
    config: Config,
}

fn setup(head: &[u8; 5]) -> Setup {
    let [flags, bits, size_hi, size_lo, frame] = *head;
    let config = Config::default()
        .with_streaming(flags & 2 != 0)
        .with_max_message_size(u16::from_be_bytes([size_hi, size_lo]) as usize)
        .with_max_frame_size(64 * (frame as usize + 1))
        .with_max_send_queue(SEND_QUEUE);
    Setup {
        role: if flags & 1 != 0 {
            Role::Client
        } else {
            Role::Server
        },
        params: negotiated::params(flags & 4 != 0, flags & 8 != 0, bits),
        config,
    }
}

/// The largest block `poll_event` may allocate for this stream.
fn parse_bound(s: &Setup, data: &[u8]) -> usize {
    let max = s.config.max_message_size;
    let assembled = if !s.config.streaming && frames::scan(data).uncompressed_fragmented {
        2 * max + 8
    } else {
        0
    };
    (max + 1).max(assembled).max(SEND_SIDE)
}

struct Run {
    events: Events,
    output: Vec<u8>,
}

fn run(s: &Setup, reads: &[&[u8]], parse_bound: usize) -> Run {
    let config = &s.config;
    let (client, server) = negotiated::pair(s.params, 1, 128, config.clone(), config.clone(), SEED);
    let mut conn: Connection = match s.role {
        Role::Client => client,
        Role::Server => server,
    };
    let receive_bound = 2 * (config.max_frame_size + MAX_HEADER_LEN + chunks::largest(reads));
    let mut events: Events = Vec::new();
    for read in reads {
        let ((), largest) = alloc::largest_allocation(ZLIB_RS_INFLATER, || conn.receive(read));
        assert!(
            largest <= receive_bound,
            "receive allocated a block of {largest} bytes, over {receive_bound}"
        );
        loop {
            let (event, largest) =
                alloc::largest_allocation(ZLIB_RS_INFLATER, || conn.poll_event());
            assert!(
                largest <= parse_bound,
                "poll_event allocated a block of {largest} bytes, over {parse_bound} \
                 (max_message_size {})",
                config.max_message_size
            );
            let Some(event) = event else { break };
            assert!(
                !matches!(events.last(), Some(Err(_) | Ok(Event::Close(_)))),
                "an event after an error or Close: {event:?}"
            );
            events.push(event);
        }
    }
    let mut output = Vec::new();
    while let Some(bytes) = conn.poll_transmit() {
        output.extend_from_slice(&bytes);
    }
    Run { events, output }
}

/// Whole messages are within the limit and text is UTF-8; streamed pieces,
/// joined per message, likewise.
fn check_messages(config: &Config, events: &Events) {
    let max = config.max_message_size;
    let mut streamed = 0usize;
    for event in events {
        match event {
            Ok(Event::Message(m)) => {
                assert!(
                    m.len() <= max,
                    "a message of {} bytes, limit {max}",
                    m.len()
                );
                if let Message::Text(t) = m {
                    assert!(
                        std::str::from_utf8(t.as_bytes()).is_ok(),
                        "text is not UTF-8"
                    );
                }
            }
            Ok(Event::Fragment(f)) => {
                streamed += f.data.len();
                assert!(streamed <= max, "{streamed} bytes streamed, limit {max}");
                if f.is_last {
                    streamed = 0;
                }
            }
            _ => {}
        }
    }
    frames::check_streamed_text(events);
}

fuzz_target!(|input: &[u8]| {
    let Some((head, rest)) = input.split_first_chunk::<5>() else {
        return;
    };
    let n = (head[0] >> 5) as usize;
    if rest.len() < n {
        return;
    }
    let (size_bytes, data) = rest.split_at(n);
    let sizes: Vec<usize> = size_bytes
        .iter()
        .map(|&b| chunks::size_from_byte(b))
        .collect();
    let s = setup(head);
    let bound = parse_bound(&s, data);

    let whole = run(&s, &[data], bound);
    let split = run(&s, &chunks::split(data, &sizes), bound);
    for events in [&whole.events, &split.events] {
        let errors = events.iter().filter(|e| e.is_err()).count();
        assert!(errors <= 1, "{errors} errors reported");
        check_messages(&s.config, events);
    }
    frames::assert_same_events(
        s.config.streaming,
        &whole.events,
        &split.events,
        "whole vs split reads",
    );
    assert_eq!(whole.output, split.output, "output depends on the reads");
});
