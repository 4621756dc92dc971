//! Text payloads: validated once, with SIMD, into a [`ByteString`].
//!
//! A text message's payload must be UTF-8 (RFC 6455 section 8.1), and weir
//! hands it out as a `ByteString` (validated UTF-8 over `Bytes`) so that
//! reading it as `&str` costs nothing. `ByteString`'s checked constructor
//! validates with the standard library, whose validator walks large
//! ASCII inputs 16 bytes at a time and short ones byte by byte. Here the
//! check is `simdutf8` (AVX2 or SSE4.2, chosen at run time) for inputs of
//! 64 bytes and more, and the standard library's word-at-a-time ASCII
//! test below that, with the standard validator behind it for short
//! non-ASCII text; the `ByteString` is then made without checking again.

use bytes::Bytes;
use bytestring::ByteString;

/// Inputs shorter than this are checked for ASCII first (simdutf8 itself
/// hands inputs under 64 bytes to the standard library's validator).
const SHORT: usize = 64;

/// `bytes` as a [`ByteString`], if they are valid UTF-8; the standard
/// library's error (with its position) if not. Never copies.
pub fn text(bytes: Bytes) -> Result<ByteString, std::str::Utf8Error> {
    let valid = if bytes.len() < SHORT {
        bytes.is_ascii() || std::str::from_utf8(&bytes).is_ok()
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
