//! Text payloads: validated once, with SIMD, into a [`ByteString`].
//!
//! A text message's payload must be UTF-8 (RFC 6455 section 8.1), and weir
//! hands it out as a `ByteString` (validated UTF-8 over `Bytes`) so that
//! reading it as `&str` costs nothing. `ByteString`'s checked constructor
//! validates with the standard library, whose validator walks large
//! ASCII inputs 16 bytes at a time and short ones byte by byte. Here the
//! check is `simdutf8` (AVX2 or SSE4.2, chosen at run time) for inputs of
//! 256 bytes and more (`SHORT`); shorter ones are tested for ASCII a word at a
//! time, with the standard validator behind that for non-ASCII text. The
//! `ByteString` is then made without checking again.

use bytes::Bytes;
use bytestring::ByteString;

/// Inputs shorter than this are checked for ASCII first, then by the
/// standard library's validator (measured: simdutf8 is slower than both
/// below a few hundred bytes; it hands inputs under 64 bytes to std's
/// validator itself).
const SHORT: usize = 256;

/// Whether every byte is ASCII: the OR of 8-byte words, then of the last
/// bytes, tested once. For the short inputs it is used on, this is a few
/// instructions per word, where std's validator goes byte by byte until
/// it can take aligned 16-byte blocks (callgrind, 16-byte text: 97
/// instructions) and simdutf8 copies the tail into a 64-byte block.
fn is_ascii_short(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let mut seen = 0u64;
    for word in &mut words {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        seen |= u64::from_ne_bytes(eight);
    }
    let seen = words
        .remainder()
        .iter()
        .fold(seen, |seen, &byte| seen | u64::from(byte));
    seen & 0x8080_8080_8080_8080 == 0
}

/// `bytes` as a [`ByteString`], if they are valid UTF-8; the standard
/// library's error (with its position) if not. Never copies.
#[inline]
pub fn text(bytes: Bytes) -> Result<ByteString, std::str::Utf8Error> {
    let valid = if bytes.len() < SHORT {
        is_ascii_short(&bytes) || std::str::from_utf8(&bytes).is_ok()
    } else {
        simdutf8::basic::from_utf8(&bytes).is_ok()
    };
    if !valid {
        // The slow path of an error: the standard library's own error, with
        // its position. (Were the two validators ever to disagree, this
        // makes the checked constructor decide.)
        return ByteString::try_from(bytes);
    }
    // SAFETY: `bytes` was validated as UTF-8 just above, by std or
    // simdutf8 (whose validation is exact: its tests compare it with std's
    // on every input class, and so do ours).
    Ok(unsafe { ByteString::from_bytes_unchecked(bytes) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reference: std's validation, through the checked constructor.
    fn reference(bytes: &[u8]) -> Result<(), std::str::Utf8Error> {
        std::str::from_utf8(bytes).map(|_| ())
    }

    fn check(bytes: &[u8]) {
        let made = text(Bytes::copy_from_slice(bytes));
        match (&made, reference(bytes)) {
            (Ok(s), Ok(())) => assert_eq!(s.as_bytes(), bytes),
            (Err(a), Err(b)) => assert_eq!(a, &b),
            _ => panic!("text and std disagree on {bytes:?}: {made:?}"),
        }
    }

    #[test]
    fn agrees_with_std_around_the_short_boundary() {
        let valid = "aé€😀".repeat(40);
        for len in 0..=valid.len() {
            // Every prefix, cut inside code points too, and each with one
            // byte broken at every position near the boundary.
            let prefix = &valid.as_bytes()[..len];
            check(prefix);
            for at in len.saturating_sub(3)..len {
                let mut broken = prefix.to_vec();
                broken[at] = 0xff;
                check(&broken);
            }
        }
    }

    #[test]
    fn ascii_of_every_length_is_text() {
        let ascii: Vec<u8> = (0..300u32).map(|i| b' ' + (i % 90) as u8).collect();
        for len in 0..ascii.len() {
            assert!(text(Bytes::copy_from_slice(&ascii[..len])).is_ok());
        }
    }

    #[test]
    fn surrogates_overlongs_and_out_of_range_are_refused() {
        for bad in [
            &b"\xed\xa0\x80"[..], // a UTF-16 surrogate
            b"\xc0\xaf",          // overlong '/'
            b"\xf4\x90\x80\x80",  // above U+10FFFF
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
        ] {
            check(bad);
            let mut long = vec![b'a'; 100];
            long.extend_from_slice(bad);
            check(&long);
        }
    }

    proptest! {
        #[test]
        fn prop_agrees_with_std(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            check(&bytes);
        }

        #[test]
        fn prop_agrees_with_std_on_near_utf8(
            text in ".{0,200}",
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
        ) {
            let mut bytes = text.into_bytes();
            for (at, value) in flips {
                if !bytes.is_empty() {
                    let at = at % bytes.len();
                    bytes[at] = value;
                }
            }
            check(&bytes);
        }
    }
}
