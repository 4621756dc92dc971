//! Raw DEFLATE as RFC 7692 uses it, on zlib-rs through `flate2`.
//!
//! - [`Compressor::compress_sync`] compresses with a sync flush, so every
//!   call ends on a byte boundary with the empty stored block `00 00 ff ff`
//!   (section 7.2.1); the caller strips it from the end of a message.
//! - [`Inflater::inflate`] inflates into a `Vec` that it never lets grow past
//!   a cap, so a small frame that inflates to gigabytes allocates no more
//!   than the message size limit (the decompression bombs of CVE-2018-1000518
//!   and others).
//!
//! zlib refuses an 8-bit window for a raw deflater, and `flate2` refuses it
//! for an inflater. Both use 9 bits when 8 was agreed: zlib's deflater never
//! emits a distance beyond `2^bits - 262`, which for 9 bits is 250, inside
//! the 256-byte window the peer expects; and an inflater with a larger window
//! reads every stream a smaller one can.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The tail of a sync flush, removed by the sender and appended by the
/// receiver (RFC 7692 sections 7.2.1 and 7.2.2).
pub(crate) const TRAILER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The window zlib is asked for when `bits` were agreed.
pub(crate) fn zlib_window_bits(bits: u8) -> u8 {
    bits.clamp(9, 15)
}

/// What a compressor is built with; compressors are interchangeable when
/// their keys are equal, and so is what they produce after a reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CompressorKey {
    /// The agreed window (8 to 15).
    pub(crate) window_bits: u8,
    /// The zlib level (0 to 9).
    pub(crate) level: u8,
}

/// A raw deflater.
#[derive(Debug)]
pub(crate) struct Compressor {
    inner: Compress,
    key: CompressorKey,
}

/// Compressing failed inside zlib: not reachable with valid arguments, but
/// never a panic.
#[derive(Debug)]
pub(crate) struct CompressFailed;

impl Compressor {
    /// A fresh deflater for `key`.
    pub(crate) fn new(key: CompressorKey) -> Self {
        let level = Compression::new(u32::from(key.level.min(9)));
        let inner = Compress::new_with_window_bits(level, false, zlib_window_bits(key.window_bits));
        Self { inner, key }
    }

    /// What this compressor was built with.
    pub(crate) fn key(&self) -> CompressorKey {
        self.key
    }

    /// Compresses all of `data` and sync-flushes, appending to `out`. The
    /// output ends with [`TRAILER`] unless `data` is empty (zlib does not
    /// flush twice in a row).
    pub(crate) fn compress_sync(
        &mut self,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CompressFailed> {
        let start = self.inner.total_in();
        loop {
            let consumed = usize::try_from(self.inner.total_in() - start).unwrap_or(data.len());
            let rest = data.get(consumed..).unwrap_or_default();
            if out.capacity() - out.len() < 64 {
                out.reserve(rest.len() / 2 + 64);
            }
            self.inner
                .compress_vec(rest, out, FlushCompress::Sync)
                .map_err(|_| CompressFailed)?;
            let consumed = usize::try_from(self.inner.total_in() - start).unwrap_or(data.len());
            // zlib: a flush is complete when output space is left over.
            if consumed >= data.len() && out.len() < out.capacity() {
                return Ok(());
            }
        }
    }

    /// Forgets the history: what follows compresses as a new stream.
    pub(crate) fn reset(&mut self) {
        self.inner.reset();
    }
}

/// A raw inflater.
#[derive(Debug)]
pub(crate) struct Inflater {
    inner: Decompress,
    window_bits: u8,
}

/// How far one [`Inflater::inflate`] call went.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Inflated {
    /// Input bytes taken.
    pub(crate) consumed: usize,
    /// The deflate stream ended (a block with BFINAL set): the inflater takes
    /// nothing more until it is reset.
    pub(crate) stream_end: bool,
}

/// The compressed data is not valid DEFLATE.
#[derive(Debug)]
pub(crate) struct InvalidData;

/// The smallest step by which an output buffer grows.
const MIN_GROWTH: usize = 1024;

impl Inflater {
    /// A fresh inflater for a peer that compresses with at most `bits`.
    pub(crate) fn new(bits: u8) -> Self {
        let window_bits = zlib_window_bits(bits);
        Self {
            inner: Decompress::new_with_window_bits(false, window_bits),
            window_bits,
        }
    }

    /// The window this inflater was built with.
    pub(crate) fn window_bits(&self) -> u8 {
        self.window_bits
    }

    /// Inflates from `input`, appending to `out`, which never grows past
    /// `cap` bytes, in length or in capacity. Stops when all of `input` is
    /// taken and everything it yields is out (then `out.len() < cap`), when
    /// `out` reaches `cap`, or at the end of the stream.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        cap: usize,
    ) -> Result<Inflated, InvalidData> {
        let start = self.inner.total_in();
        let taken = |inner: &Decompress| {
            usize::try_from(inner.total_in() - start).map_or(input.len(), |n| n.min(input.len()))
        };
        loop {
            if out.len() >= cap {
                break;
            }
            if out.len() == out.capacity() {
                let target = (out.capacity() * 2).max(out.len() + MIN_GROWTH).min(cap);
                out.reserve_exact(target - out.len());
            }
            let (before_in, before_out) = (self.inner.total_in(), out.len());
            let rest = input.get(taken(&self.inner)..).unwrap_or_default();
            let status = self
                .inner
                .decompress_vec(rest, out, FlushDecompress::None)
                .map_err(|_| InvalidData)?;
            if status == Status::StreamEnd {
                return Ok(Inflated {
                    consumed: taken(&self.inner),
                    stream_end: true,
                });
            }
            let progressed = self.inner.total_in() > before_in || out.len() > before_out;
            // zlib stops early only for want of input or of output space.
            if !progressed || out.len() < out.capacity() {
                break;
            }
        }
        Ok(Inflated {
            consumed: taken(&self.inner),
            stream_end: false,
        })
    }

    /// Forgets the history and any stream end: ready for a new stream.
    pub(crate) fn reset(&mut self) {
        self.inner.reset(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compress(compressor: &mut Compressor, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        compressor.compress_sync(data, &mut out).unwrap();
        assert!(out.ends_with(&TRAILER));
        out.truncate(out.len() - TRAILER.len());
        out
    }

    fn key(window_bits: u8) -> CompressorKey {
        CompressorKey {
            window_bits,
            level: 6,
        }
    }

    #[test]
    fn rfc7692_7_2_3_1_hello_compressed() {
        let mut compressor = Compressor::new(key(15));
        assert_eq!(
            compress(&mut compressor, b"Hello"),
            [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        );
        // 7.2.3.2: the same message again, with context takeover.
        assert_eq!(
            compress(&mut compressor, b"Hello"),
            [0xf2, 0x00, 0x11, 0x00, 0x00]
        );
        compressor.reset();
        assert_eq!(
            compress(&mut compressor, b"Hello"),
            [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        );
    }

    fn inflate_all(inflater: &mut Inflater, data: &[u8]) -> Vec<u8> {
        let mut input = data.to_vec();
        input.extend_from_slice(&TRAILER);
        let mut out = Vec::new();
        let inflated = inflater.inflate(&input, &mut out, 1 << 20).unwrap();
        assert!(inflated.stream_end || inflated.consumed == input.len());
        out
    }

    #[test]
    fn rfc7692_7_2_3_vectors_inflate() {
        let vectors: [&[u8]; 4] = [
            // 7.2.3.1, 7.2.3.3 (no compression), 7.2.3.4 (BFINAL), 7.2.3.5 (two blocks)
            &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
            &[
                0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ],
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
            &[
                0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
            ],
        ];
        for vector in vectors {
            assert_eq!(inflate_all(&mut Inflater::new(15), vector), b"Hello");
        }
        // 7.2.3.2: the second "Hello" refers back to the first.
        let mut inflater = Inflater::new(15);
        inflate_all(&mut inflater, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        assert_eq!(
            inflate_all(&mut inflater, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
            b"Hello"
        );
    }

    #[test]
    fn inflate_never_grows_past_the_cap() {
        let mut compressor = Compressor::new(key(15));
        let bomb = compress(&mut compressor, &vec![0u8; 10 << 20]);
        assert!(bomb.len() < 20_000, "{}", bomb.len());
        let mut out = Vec::new();
        let inflated = Inflater::new(15).inflate(&bomb, &mut out, 4097).unwrap();
        assert_eq!(out.len(), 4097);
        assert!(out.capacity() <= 4097, "{}", out.capacity());
        assert!(inflated.consumed < bomb.len());
    }

    #[test]
    fn inflate_resumes_where_the_cap_stopped_it() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let compressed = compress(&mut Compressor::new(key(15)), &data);
        let mut inflater = Inflater::new(15);
        let (mut whole, mut input) = (Vec::new(), compressed.as_slice());
        loop {
            let mut chunk = Vec::new();
            let inflated = inflater.inflate(input, &mut chunk, 1000).unwrap();
            input = &input[inflated.consumed..];
            let full = chunk.len() == 1000;
            whole.extend_from_slice(&chunk);
            if input.is_empty() && !full {
                break;
            }
        }
        assert_eq!(whole, data);
    }

    #[test]
    fn invalid_data_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        // BTYPE 11 is reserved.
        assert!(Inflater::new(15)
            .inflate(&[0xff, 0xff], &mut out, 100)
            .is_err());
    }

    #[test]
    fn window_of_8_compresses_within_256_bytes() {
        // Bytes that repeat only 256 apart: a window of 9 bits in zlib
        // (longest distance 250) finds no match, a window of 15 bits does.
        let data: Vec<u8> = (0..1024u32).map(|i| (i * 7 % 256) as u8).collect();
        let narrow = compress(&mut Compressor::new(key(8)), &data);
        let wide = compress(&mut Compressor::new(key(15)), &data);
        assert!(narrow.len() > 1000, "{}", narrow.len());
        assert!(wide.len() < 400, "{}", wide.len());
        let mut inflater = Inflater::new(8);
        assert_eq!(inflater.window_bits(), 9);
        assert_eq!(inflate_all(&mut inflater, &narrow), data);
    }
}
