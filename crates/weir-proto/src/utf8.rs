//! Incremental UTF-8 validation for text messages.
//!
//! A text message's payload reaches us in arbitrary pieces (frames, and parts
//! of frames), and a code point may be split between pieces. RFC 6455 requires
//! the whole message to be valid UTF-8, and a good endpoint fails as soon as
//! the stream can no longer become valid, at the exact offending byte, even in
//! the middle of a message (Autobahn test cases 6.4.x check this). The
//! [`Utf8Validator`] here keeps the few bytes of state a partially received
//! code point needs, and leaves the bulk of the work to `simdutf8` (SIMD
//! chosen at run time; its `compat` flavour reports where the input stops
//! being valid exactly as `std::str::from_utf8` does).

use std::fmt;

/// Validates UTF-8 that arrives in pieces.
///
/// Feed each piece of a message with [`feed`](Self::feed) as it arrives; it
/// fails at the first byte that makes the stream invalid, wherever the piece
/// boundaries fall. Call [`finish`](Self::finish) at the end of the message to
/// reject a stream that stops inside a code point; that also makes the
/// validator ready for the next message. No heap memory is used.
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    /// Continuation bytes still needed to complete the current code point
    /// (0 when the stream is at a code point boundary).
    need: u8,
    /// Smallest value the next byte may take, when `need > 0`.
    lo: u8,
    /// Largest value the next byte may take, when `need > 0`.
    hi: u8,
}

/// The position at which a stream stopped being valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utf8Error {
    /// Index, within the chunk passed to `feed`, of the first byte that cannot
    /// be part of any valid continuation; `None` when the stream ended inside
    /// a code point.
    position: Option<usize>,
}

impl Utf8Error {
    /// The index, within the chunk passed to [`Utf8Validator::feed`], of the
    /// first byte that cannot be part of valid UTF-8; `None` when the error
    /// was raised by [`Utf8Validator::finish`] because the stream stopped
    /// inside a code point.
    pub fn position(&self) -> Option<usize> {
        self.position
    }
}

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(pos) => write!(f, "invalid UTF-8 at byte {pos} of the chunk"),
            None => f.write_str("UTF-8 stream ended inside a code point"),
        }
    }
}

impl std::error::Error for Utf8Error {}

/// True for bytes that can start a UTF-8 sequence (ASCII or a multi-byte lead).
fn is_lead_byte(b: u8) -> bool {
    matches!(b, 0x00..=0x7f | 0xc2..=0xf4)
}

impl Utf8Validator {
    /// A validator at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the stream. Err at the first byte that makes
    /// the stream invalid, with its index within `bytes`.
    /// After an error the validator's state is unspecified until
    /// [`reset`](Self::reset) (or [`finish`](Self::finish)).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), Utf8Error> {
        // Complete a code point left over from the previous chunk.
        let mut start = 0;
        while self.need > 0 {
            let Some(&b) = bytes.get(start) else {
                return Ok(());
            };
            if !self.step(b) {
                return Err(Utf8Error {
                    position: Some(start),
                });
            }
            start += 1;
        }

        let rest = bytes.get(start..).unwrap_or_default();
        match simdutf8::compat::from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(e) => {
                let valid = e.valid_up_to();
                match e.error_len() {
                    // An incomplete code point at the end: remember it.
                    None => {
                        for (i, &b) in rest.iter().enumerate().skip(valid) {
                            if !self.step(b) {
                                // simdutf8 said this is a valid prefix, so this
                                // cannot happen; report it rather than panic.
                                return Err(Utf8Error {
                                    position: Some(start + i),
                                });
                            }
                        }
                        Ok(())
                    }
                    // `error_len` is the length of the longest valid prefix
                    // of a sequence starting at `valid`, or 1 if that byte
                    // cannot start one; the byte after it is the culprit.
                    Some(len) => {
                        let starts = rest.get(valid).copied().is_some_and(is_lead_byte);
                        let offending = if starts { valid + len } else { valid };
                        Err(Utf8Error {
                            position: Some(start + offending),
                        })
                    }
                }
            }
        }
    }

    /// Advances the state machine by one byte; false if `b` cannot come next.
    fn step(&mut self, b: u8) -> bool {
        if self.need > 0 {
            if b < self.lo || b > self.hi {
                return false;
            }
            self.need -= 1;
            self.lo = 0x80;
            self.hi = 0xbf;
            return true;
        }
        // A new code point: the allowed range of its second byte follows
        // RFC 3629 section 4, which excludes overlongs, surrogates and
        // values above U+10FFFF.
        let (need, lo, hi) = match b {
            0x00..=0x7f => (0, 0x80, 0xbf),
            0xc2..=0xdf => (1, 0x80, 0xbf),
            0xe0 => (2, 0xa0, 0xbf),
            0xe1..=0xec | 0xee..=0xef => (2, 0x80, 0xbf),
            0xed => (2, 0x80, 0x9f),
            0xf0 => (3, 0x90, 0xbf),
            0xf1..=0xf3 => (3, 0x80, 0xbf),
            0xf4 => (3, 0x80, 0x8f),
            _ => return false,
        };
        self.need = need;
        self.lo = lo;
        self.hi = hi;
        true
    }

    /// True when the bytes fed so far end on a code point boundary.
    pub fn is_complete(&self) -> bool {
        self.need == 0
    }

    /// Ends the stream: Err if it stopped inside a code point. Resets the
    /// validator for the next message either way.
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        let complete = self.is_complete();
        self.reset();
        if complete {
            Ok(())
        } else {
            Err(Utf8Error { position: None })
        }
    }

    /// Forgets all state.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The oracle: index in the whole stream of the first byte that makes it
    /// invalid, from std's verdict on the whole; None if the stream is valid
    /// or merely stops inside a code point.
    fn expected_first_error(stream: &[u8]) -> Option<usize> {
        let e = std::str::from_utf8(stream).err()?;
        let len = e.error_len()?;
        let valid = e.valid_up_to();
        if is_lead_byte(stream[valid]) {
            Some(valid + len)
        } else {
            Some(valid)
        }
    }

    /// Feeds `chunks` in order; returns the absolute position of the first
    /// error, and whether `finish` succeeded when there was none.
    fn run(chunks: &[&[u8]]) -> (Option<usize>, bool) {
        let mut v = Utf8Validator::new();
        let mut base = 0;
        for chunk in chunks {
            if let Err(e) = v.feed(chunk) {
                let pos = e.position().expect("feed errors have a position");
                assert!(pos < chunk.len(), "position {pos} outside chunk");
                return (Some(base + pos), false);
            }
            base += chunk.len();
        }
        let finished = v.finish().is_ok();
        assert!(v.is_complete(), "finish must reset");
        (None, finished)
    }

    /// Checks the validator against the oracle for one way of splitting.
    fn check_split(stream: &[u8], chunks: &[&[u8]]) {
        let (err, finished) = run(chunks);
        assert_eq!(
            err,
            expected_first_error(stream),
            "stream {stream:02x?} split {chunks:02x?}"
        );
        if err.is_none() {
            assert_eq!(finished, std::str::from_utf8(stream).is_ok());
        }
    }

    /// Checks one whole chunk, every single split point, and byte at a time.
    fn check_all_splits(stream: &[u8]) {
        check_split(stream, &[stream]);
        for i in 0..=stream.len() {
            let (a, b) = stream.split_at(i);
            check_split(stream, &[a, b]);
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        check_split(stream, &bytes);
    }

    #[test]
    fn ascii_is_valid() {
        check_all_splits(b"");
        check_all_splits(b"Hello, world! \x00\x7f");
        assert_eq!(run(&[b"plain ascii"]), (None, true));
    }

    #[test]
    fn multibyte_sequences_are_valid() {
        for s in ["é", "ß€", "€", "\u{ffff}", "\u{10000}", "😀", "\u{10ffff}"] {
            check_all_splits(s.as_bytes());
            assert_eq!(run(&[s.as_bytes()]), (None, true));
        }
        check_all_splits("κόσμε – 中文 – 😀 mixed ascii".as_bytes());
        // Boundaries of every range in the RFC 3629 table.
        for c in [
            0x7f, 0x80, 0x7ff, 0x800, 0xfff, 0x1000, 0xd7ff, 0xe000, 0xffff, 0x10000, 0x3ffff,
            0x40000, 0xfffff, 0x100000, 0x10ffff,
        ] {
            let ch = char::from_u32(c).unwrap();
            let mut buf = [0; 4];
            check_all_splits(ch.encode_utf8(&mut buf).as_bytes());
        }
    }

    #[test]
    fn overlongs_are_rejected_at_the_offending_byte() {
        for (s, pos) in [
            (&b"\xc0\x80"[..], 0),
            (b"\xc1\xbf", 0),
            (b"\xe0\x80\x80", 1),
            (b"\xe0\x9f\xbf", 1),
            (b"\xf0\x80\x80\x80", 1),
            (b"\xf0\x8f\xbf\xbf", 1),
        ] {
            check_all_splits(s);
            assert_eq!(run(&[s]).0, Some(pos), "{s:02x?}");
        }
    }

    #[test]
    fn surrogates_are_rejected() {
        for s in [&b"\xed\xa0\x80"[..], b"\xed\xbf\xbf", b"a\xed\xb0\x80b"] {
            check_all_splits(s);
        }
        assert_eq!(run(&[b"\xed", b"\xa0\x80"]).0, Some(1));
    }

    #[test]
    fn above_u10ffff_is_rejected() {
        check_all_splits(b"\xf4\x90\x80\x80");
        assert_eq!(run(&[b"\xf4\x90\x80\x80"]).0, Some(1));
        check_all_splits(b"\xf4\x8f\xbf\xbf");
        assert_eq!(run(&[b"\xf4\x8f\xbf\xbf"]), (None, true));
    }

    #[test]
    fn bytes_f5_to_ff_are_never_valid() {
        for b in 0xf5..=0xff_u8 {
            let s = [b'a', b, 0x80, 0x80, 0x80];
            check_all_splits(&s);
            assert_eq!(run(&[&s]).0, Some(1));
        }
    }

    #[test]
    fn lone_continuation_bytes_are_rejected() {
        for b in 0x80..=0xbf_u8 {
            check_all_splits(&[b]);
            check_all_splits(&[b'x', b, b'y']);
        }
        // Too many continuation bytes after a complete sequence.
        check_all_splits(
            "é".as_bytes()
                .iter()
                .chain(&[0x80])
                .copied()
                .collect::<Vec<_>>()
                .as_slice(),
        );
        assert_eq!(run(&[b"\xc3\xa9\x80"]).0, Some(2));
    }

    #[test]
    fn truncated_sequences_fail_only_at_finish() {
        for s in [
            &b"\xc3"[..],
            b"\xe2\x82",
            b"\xe2",
            b"\xf0\x9f\x98",
            b"\xf0\x9f",
            b"abc\xf4",
        ] {
            check_all_splits(s);
            assert_eq!(run(&[s]), (None, false), "{s:02x?}");
            let mut v = Utf8Validator::new();
            v.feed(s).unwrap();
            assert!(!v.is_complete());
            assert_eq!(v.finish(), Err(Utf8Error { position: None }));
            // finish reset the validator for the next message.
            assert!(v.feed(b"ok").is_ok());
            assert!(v.finish().is_ok());
        }
    }

    #[test]
    fn truncated_sequence_interrupted_by_new_lead_fails_there() {
        // A lead byte where a continuation byte is due.
        check_all_splits(b"\xe2\x82a");
        assert_eq!(run(&[b"\xe2\x82", b"a"]).0, Some(2));
        assert_eq!(run(&[b"\xe2", b"\x82\xe2\x82\xac"]).0, Some(2));
    }

    #[test]
    fn autobahn_6_x_style_examples() {
        // 6.3.1: "κόσμε" then an encoded surrogate then "edited".
        let mut s = "κόσμε".as_bytes().to_vec();
        let bad = s.len() + 1;
        s.extend_from_slice(b"\xed\xa0\x80edited");
        check_all_splits(&s);
        assert_eq!(run(&[&s]).0, Some(bad));
        // 6.4.1-style: valid prefix, then the fail-fast point mid-message.
        let mut s = "κόσμε".as_bytes().to_vec();
        s.extend_from_slice(b"\xf4\x90\x80\x80");
        s.extend_from_slice(b"edited");
        check_all_splits(&s);
        let first = "κόσμε".len();
        assert_eq!(run(&[&s[..first + 1], &s[first + 1..]]).0, Some(first + 1));
        // 6.4.3/6.4.4 style: the offending byte arrives alone in its own frame.
        let prefix = "κόσμε".as_bytes();
        let (err, _) = run(&[prefix, b"\xf4", b"\x90", b"\x80\x80edited"]);
        assert_eq!(err, Some(prefix.len() + 1));
    }

    #[test]
    fn error_position_is_relative_to_the_chunk() {
        let mut v = Utf8Validator::new();
        v.feed(b"abc").unwrap();
        let e = v.feed(b"de\xff").unwrap_err();
        assert_eq!(e.position(), Some(2));
        assert!(e.to_string().contains('2'));
        v.reset();
        assert!(v.feed("ok €".as_bytes()).is_ok());
    }

    #[test]
    fn display_describes_both_kinds_of_error() {
        let at = Utf8Error { position: Some(7) };
        let end = Utf8Error { position: None };
        assert_eq!(at.to_string(), "invalid UTF-8 at byte 7 of the chunk");
        assert_eq!(end.to_string(), "UTF-8 stream ended inside a code point");
        let _: &dyn std::error::Error = &at;
    }

    #[test]
    fn every_two_byte_prefix_matches_oracle() {
        // Exhaustive over two bytes followed by continuation-ish bytes.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let s = [a, b, 0x80, 0xbf];
                check_split(&s, &[&s]);
                check_split(&s, &[&s[..1], &s[1..]]);
                check_split(&s, &[&s[..2], &s[2..]]);
            }
        }
    }

    /// A valid string with a few bytes changed to arbitrary values.
    fn mutated_text() -> impl Strategy<Value = Vec<u8>> {
        (
            any::<String>(),
            proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        )
            .prop_map(|(s, edits)| {
                let mut bytes = s.into_bytes();
                if !bytes.is_empty() {
                    let len = bytes.len();
                    for (i, b) in edits {
                        bytes[i % len] = b;
                    }
                }
                bytes
            })
    }

    fn arbitrary_stream() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            any::<String>().prop_map(String::into_bytes),
            mutated_text(),
        ]
    }

    proptest! {
        #[test]
        fn prop_every_split_point_and_bytewise_match_oracle(stream in arbitrary_stream()) {
            check_all_splits(&stream);
        }

        #[test]
        fn prop_two_and_three_random_splits_match_oracle(
            stream in arbitrary_stream(),
            cuts in proptest::collection::vec(any::<usize>(), 2..=3),
        ) {
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut prev = 0;
            for &c in cuts.iter().chain(std::iter::once(&stream.len())) {
                chunks.push(&stream[prev..c]);
                prev = c;
            }
            check_split(&stream, &chunks);
        }
    }
}
