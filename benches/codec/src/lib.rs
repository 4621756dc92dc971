//! Shared inputs of the codec micro-benchmarks (`benches/codec.rs`): payloads
//! and pre-encoded frames, built once outside the timed code.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use weir_proto::{Config, Connection, Event, Message, Role};

/// Payload sizes of the decode and encode benchmarks.
pub const SIZES: [usize; 6] = [0, 16, 125, 1024, 16 << 10, 1 << 20];

/// A batch of frames totals at least this many wire bytes, so that small
/// payloads still give a measurable amount of work per iteration.
pub const MIN_BATCH_BYTES: usize = 64 << 10;

/// The most bytes one simulated socket read hands over (every library is fed
/// in reads of at most this size).
pub const READ_CHUNK: usize = 64 << 10;

/// Text or binary messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Text: ASCII, JSON-like.
    Text,
    /// Binary: pseudo-random bytes.
    Binary,
}

impl Kind {
    /// The name used in benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Binary => "binary",
        }
    }
}

/// Length of a frame header for `len` payload bytes, masked or not.
pub fn header_len(len: usize, masked: bool) -> usize {
    let base = match len {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    };
    base + if masked { 4 } else { 0 }
}

/// How many frames of `len` payload bytes make one batch.
pub fn batch_count(len: usize) -> usize {
    MIN_BATCH_BYTES.div_ceil(header_len(len, true) + len)
}

/// Deterministic pseudo-random bytes (xorshift).
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// ASCII text of exactly `len` bytes, JSON-like.
pub fn ascii_text(len: usize) -> String {
    const PATTERN: &str =
        r#"{"id":12345,"user":"alice","action":"update","fields":{"x":1.5,"y":-2,"ok":true}},"#;
    PATTERN.chars().cycle().take(len).collect()
}

/// Text of exactly `len` bytes mixing 1-, 2-, 3- and 4-byte characters
/// (Latin with accents, Cyrillic, CJK, emoji), padded with ASCII to the
/// exact length.
pub fn mixed_text(len: usize) -> String {
    const PATTERN: &str = "Grüße aus Köln, привет мир, 日本語のテキスト, 🎉🚀 ok; ";
    let mut out = String::with_capacity(len);
    for c in PATTERN.chars().cycle() {
        if out.len() + c.len_utf8() > len {
            break;
        }
        out.push(c);
    }
    while out.len() < len {
        out.push(' ');
    }
    out
}

/// One message payload of `kind` and `len` bytes, as a weir message.
pub fn message(kind: Kind, len: usize) -> Message {
    match kind {
        Kind::Text => Message::from(ascii_text(len)),
        Kind::Binary => Message::from(random_bytes(len, len as u64 + 1)),
    }
}

/// The wire bytes of `count` copies of `message` as a client sends them
/// (masked, each frame with its own key), encoded by weir's client role.
pub fn masked_wire(message: &Message, count: usize) -> Vec<u8> {
    let config = Config::default().with_max_send_queue(usize::MAX);
    let mut client = Connection::with_mask_seed(Role::Client, config, [7; 32]);
    let mut wire = Vec::new();
    for _ in 0..count {
        client.send(message.clone()).expect("client send");
        while let Some(chunk) = client.poll_transmit() {
            wire.extend_from_slice(&chunk);
        }
    }
    assert_eq!(
        wire.len(),
        count * (header_len(message.len(), true) + message.len())
    );
    wire
}

/// The payload as `Bytes`, for the peers' APIs.
pub fn payload(message: &Message) -> Bytes {
    message.payload().clone()
}

/// How [`weir_decode`] hands a read to the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// `receive(&[u8])`, which copies the read into the connection's
    /// buffer (the wire's slices come for free).
    Slice,
    /// As an adapter that reads into a `BytesMut` of its own and hands it
    /// over with `receive_buf`: each read is copied once, into the spare
    /// capacity of that buffer (as a socket read would), and the
    /// connection takes the bytes without copying them again.
    OwnedBuffer,
}

/// weir: feeds the wire in reads of `READ_CHUNK` through `entry`, pulls
/// every event, and returns how many messages came out.
pub fn weir_decode(conn: &mut Connection, wire: &[u8], entry: Entry) -> usize {
    let mut messages = 0;
    let mut buf = BytesMut::new();
    for read in wire.chunks(READ_CHUNK) {
        if entry == Entry::Slice {
            conn.receive(read);
        } else {
            buf.reserve(READ_CHUNK);
            buf.extend_from_slice(read);
            conn.receive_buf(&mut buf);
        }
        while let Some(event) = conn.poll_event() {
            match event {
                Ok(Event::Message(message)) => {
                    black_box(message);
                    messages += 1;
                }
                other => panic!("weir: unexpected {other:?}"),
            }
        }
    }
    messages
}
