//! Deterministic payloads and byte-exact comparisons: the same messages on
//! every run, with patterns that make a lost, duplicated or reordered byte
//! show up as a difference at a known offset.

use weir_proto::{Message, MessageKind};

/// The payload sizes every pairing exchanges: each side of both length
/// encodings' boundaries, and 1 MiB (16 MiB has tests of its own).
pub const SIZES: [usize; 7] = [0, 1, 125, 126, 65_535, 65_536, 1 << 20];

/// Valid UTF-8 of exactly `len` bytes, mixing 1- to 4-byte characters so a
/// cut at any byte may fall inside a character.
pub fn text_pattern(len: usize) -> String {
    const CHARS: [char; 7] = ['a', 'é', '€', '😀', 'Z', 'ß', '7'];
    let mut text = String::with_capacity(len);
    let mut i = 0;
    while text.len() < len {
        let c = CHARS[i % CHARS.len()];
        text.push(if text.len() + c.len_utf8() <= len {
            c
        } else {
            '.'
        });
        i += 1;
    }
    text
}

/// `len` bytes in a pattern that does not repeat with any short period.
pub fn binary_pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i ^ (i >> 8) ^ (i >> 16)) as u8).collect()
}

/// Text and binary messages of every size in [`SIZES`].
pub fn sized_messages() -> Vec<Message> {
    SIZES
        .iter()
        .flat_map(|&len| {
            [
                Message::from(text_pattern(len)),
                Message::from(binary_pattern(len)),
            ]
        })
        .collect()
}

/// Asserts two messages are equal (kind, length, every byte), without
/// printing megabytes when they are not.
pub fn assert_same(actual: &Message, expected: &Message, what: &str) {
    assert_eq!(actual.kind(), expected.kind(), "{what}: kind");
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    if let Some(at) = actual
        .payload()
        .iter()
        .zip(expected.payload().iter())
        .position(|(a, b)| a != b)
    {
        panic!("{what}: first difference at byte {at}");
    }
}

/// Describes a message for assertion messages: its kind and length.
pub fn describe(message: &Message) -> String {
    let kind = match message.kind() {
        MessageKind::Text => "text",
        MessageKind::Binary => "binary",
    };
    format!("{kind} of {} bytes", message.len())
}
