//! `Utf8Validator` against `std::str::from_utf8`, over arbitrary splits.
//!
//! Input: byte 0 is the number of cuts (mod 8), then two bytes per cut
//! (big-endian, taken modulo the stream length + 1), then the stream.
//!
//! Oracle: the validator reports its first error at exactly the byte std's
//! verdict on the whole stream points to (the offending byte is
//! `valid_up_to` when that byte cannot start a sequence, else the byte after
//! the longest valid prefix of the sequence, `valid_up_to + error_len`);
//! no error for a stream that is valid or only stops inside a code point;
//! `is_complete()` and `finish()` say whether the whole stream is valid;
//! `finish()` resets the validator. `Utf8Bytes::try_from` (the SIMD
//! validation of weir-kernels) accepts the stream exactly when std does,
//! with std's error, and keeps its bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_proto::utf8::Utf8Validator;
use weir_proto::Utf8Bytes;

/// Index of the first byte that can be part of no valid UTF-8 stream,
/// according to std; `None` if the stream is valid or a valid prefix.
fn expected_error(stream: &[u8]) -> Option<usize> {
    let e = std::str::from_utf8(stream).err()?;
    let len = e.error_len()?;
    let at = e.valid_up_to();
    let cannot_start = matches!(stream[at], 0x80..=0xc1 | 0xf5..=0xff);
    Some(if cannot_start { at } else { at + len })
}

fuzz_target!(|input: &[u8]| {
    let Some((&n, rest)) = input.split_first() else {
        return;
    };
    let n = (n % 8) as usize;
    if rest.len() < 2 * n {
        return;
    }
    let (cut_bytes, stream) = rest.split_at(2 * n);
    let mut cuts: Vec<usize> = cut_bytes
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]) as usize % (stream.len() + 1))
        .collect();
    cuts.sort_unstable();
    cuts.push(stream.len());

    let expected = expected_error(stream);
    let valid = std::str::from_utf8(stream).is_ok();
    match Utf8Bytes::try_from(bytes::Bytes::copy_from_slice(stream)) {
        Ok(text) => assert_eq!(text.as_str().as_bytes(), stream, "Utf8Bytes kept its bytes"),
        Err(e) => assert_eq!(Some(e), std::str::from_utf8(stream).err(), "Utf8Bytes error"),
    }
    let mut v = Utf8Validator::new();
    let mut start = 0;
    let mut found = None;
    for &end in &cuts {
        let chunk = &stream[start..end];
        if let Err(e) = v.feed(chunk) {
            let pos = e.position().expect("feed errors carry a position");
            assert!(
                pos < chunk.len(),
                "position {pos} outside a chunk of {}",
                chunk.len()
            );
            found = Some(start + pos);
            break;
        }
        start = end;
    }
    assert_eq!(
        found, expected,
        "first error of {stream:02x?} cut at {cuts:?}"
    );
    if found.is_none() {
        assert_eq!(v.is_complete(), valid, "is_complete");
        let finished = v.finish();
        assert_eq!(finished.is_ok(), valid, "finish");
        if let Err(e) = finished {
            assert_eq!(e.position(), None, "finish errors have no position");
        }
    } else {
        v.reset();
    }
    // Both finish and reset leave a fresh validator.
    assert!(v.is_complete());
    v.feed("ok €".as_bytes()).expect("fresh validator");
    assert!(v.finish().is_ok());
});
