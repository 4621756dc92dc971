//! WebSocket payload masking (RFC 6455 section 5.3).
//!
//! Every frame a client sends is XORed with a 4-byte masking key, and every
//! frame a server receives must be unmasked the same way. This runs over every
//! payload byte, so it is written to go as fast as memory allows: the bulk of
//! the buffer is XORed in blocks of `BLOCK` (64) bytes against the key repeated
//! to the block's width, a loop the compiler turns into vector instructions;
//! what is left goes 16 bytes at a time, and its last bytes as one more
//! step that overlaps the ones before (8- and 4-byte steps for buffers
//! under 16 bytes, and bytes one by one under 4). Small payloads (most
//! WebSocket messages) therefore cost a handful of instructions, with no
//! call and no alignment step. The offset parameter
//! lets a payload be (un)masked in pieces as it arrives, without copying it
//! together first.
//!
//! The block loop exists twice in the binary: compiled for the target's
//! baseline (SSE2's 16-byte vectors on x86-64), and on x86-64 compiled again
//! with AVX2 enabled (32-byte vectors), which is taken when the CPU has AVX2
//! (checked at run time; the standard library caches the answer). The
//! second is what `unsafe` buys here: at 16 KiB it is about twice as fast,
//! level with `memcpy` (benches/README.md, "Session 9").

use std::mem::MaybeUninit;

use bytes::BytesMut;

/// Bytes handled per iteration of the bulk loop: four 16-byte vectors.
const BLOCK: usize = 64;

/// The top bit of each byte of a word: set in what [`mask`] returns if some
/// byte is not ASCII.
const HIGH_BITS: u32 = 0x8080_8080;

/// The shortest buffer given to the AVX2 variant of the bulk loop: below
/// it, one to three blocks, the baseline loop is as fast (criterion,
/// 125-byte frames: within noise either way).
const AVX2_MIN: usize = 256;

/// XORs `buf` in place with the 4-byte masking `key`, as if `buf` began at
/// byte `offset` of the frame payload (so payload byte j is XORed with
/// `key[(offset + j) % 4]`). Masking and unmasking are the same operation.
///
/// Splitting a payload into consecutive pieces and calling this on each with
/// the running offset gives the same result as one call on the whole payload.
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    mask::<false>(buf, key, offset);
}

/// [`apply_mask`], telling in the same pass whether the result is all
/// ASCII: text that arrives in pieces then skips the incremental UTF-8
/// check of those pieces (most text on the wire is ASCII).
#[inline]
pub fn apply_mask_is_ascii(buf: &mut [u8], key: [u8; 4], offset: usize) -> bool {
    mask::<true>(buf, key, offset) & HIGH_BITS == 0
}

/// Appends `src` to `dst` (un)masked with `key`, as if `src` began at byte
/// `offset` of the frame payload: what `extend_from_slice` then
/// [`apply_mask`] on the new bytes would do, in one pass over the bytes
/// instead of two (a receive that copies a large frame's payload in
/// anyway). Returns whether every appended byte is ASCII.
pub fn extend_unmasked(dst: &mut BytesMut, src: &[u8], key: [u8; 4], offset: usize) -> bool {
    dst.reserve(src.len());
    let room = &mut dst.spare_capacity_mut()[..src.len()];
    let seen = copy_blocks(room, src, rotate_key(key, offset));
    // SAFETY: `copy_blocks` initialised every byte of `room`, the first
    // `src.len()` bytes of spare capacity after `dst.len()` (reserved above).
    unsafe { dst.set_len(dst.len() + src.len()) };
    seen & 0x80 == 0
}

/// The key as seen from the byte at `offset` of the payload: rotating the
/// little-endian word right by one byte moves key byte 1 to the front.
#[inline(always)]
fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    let shift = 8 * (offset % 4) as u32;
    u32::from_le_bytes(key).rotate_right(shift).to_le_bytes()
}

/// Writes `src` XOR `key` (repeated from key byte 0) into `dst`, of the
/// same length, with AVX2 when the CPU has it. Returns the OR of every
/// byte written.
#[inline]
fn copy_blocks(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) -> u8 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: `copy_blocks_avx2` only needs the CPU to support AVX2,
        // which was checked just above.
        return unsafe { copy_blocks_avx2(dst, src, key) };
    }
    copy_blocks_portable(dst, src, key)
}

/// [`copy_blocks_portable`] compiled with AVX2 enabled. Call it only where
/// the CPU supports AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn copy_blocks_avx2(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) -> u8 {
    copy_blocks_portable(dst, src, key)
}

/// [`copy_blocks`] for any CPU of the target: [`BLOCK`]-byte blocks
/// against the key repeated, then byte by byte.
#[inline(always)]
fn copy_blocks_portable(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) -> u8 {
    let pattern = key_pattern(key);
    let mut seen = [0u8; BLOCK];
    let mut to = dst.chunks_exact_mut(BLOCK);
    let mut from = src.chunks_exact(BLOCK);
    for (to, from) in (&mut to).zip(&mut from) {
        for (((to, from), k), seen) in to.iter_mut().zip(from).zip(&pattern).zip(&mut seen) {
            let byte = from ^ k;
            to.write(byte);
            *seen |= byte;
        }
    }
    // BLOCK is a multiple of 4, so the remainder starts at key byte 0.
    let mut all = seen.iter().fold(0, |all, byte| all | byte);
    for ((to, from), k) in to
        .into_remainder()
        .iter_mut()
        .zip(from.remainder())
        .zip(key.iter().cycle())
    {
        let byte = from ^ k;
        to.write(byte);
        all |= byte;
    }
    all
}

/// `key` repeated to [`BLOCK`] bytes.
#[inline(always)]
fn key_pattern(key: [u8; 4]) -> [u8; BLOCK] {
    let mut pattern = [0u8; BLOCK];
    for quarter in pattern.chunks_exact_mut(4) {
        quarter.copy_from_slice(&key);
    }
    pattern
}

/// Masks `buf`; with `OR`, also returns a word into one of whose four
/// bytes every result byte was ORed (so a bit of [`HIGH_BITS`] is set if
/// and only if some byte is not ASCII), else 0. The word is tested once,
/// by the caller, not folded to a byte at each step (callgrind, 16-byte
/// text frames: 20 instructions per message fewer).
#[inline]
fn mask<const OR: bool>(buf: &mut [u8], key: [u8; 4], offset: usize) -> u32 {
    let key = rotate_key(key, offset);
    if buf.len() >= BLOCK {
        return xor_blocks::<OR>(buf, key);
    }
    xor_short::<OR>(buf, key)
}

/// The bulk path: [`BLOCK`]-byte blocks, then the rest by [`xor_short`],
/// with AVX2 when the CPU has it. Kept out of line, so that the short
/// path, inlined into callers, stays small (callgrind, 16-byte frames:
/// 382 instructions per decoded message with it inlined, 376 without).
#[inline(never)]
fn xor_blocks<const OR: bool>(buf: &mut [u8], key: [u8; 4]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if buf.len() >= AVX2_MIN && std::is_x86_feature_detected!("avx2") {
        // SAFETY: `xor_blocks_avx2` only needs the CPU to support AVX2, which
        // was checked just above.
        return unsafe { xor_blocks_avx2::<OR>(buf, key) };
    }
    xor_blocks_portable::<OR>(buf, key)
}

/// [`xor_blocks_portable`] compiled with AVX2 enabled: the same code, with
/// 32-byte vectors. Call it only where the CPU supports AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn xor_blocks_avx2<const OR: bool>(buf: &mut [u8], key: [u8; 4]) -> u32 {
    xor_blocks_portable::<OR>(buf, key)
}

/// The bulk path for any CPU of the target (and the body of the AVX2
/// variant, which inlines it).
#[inline(always)]
fn xor_blocks_portable<const OR: bool>(buf: &mut [u8], key: [u8; 4]) -> u32 {
    let pattern = key_pattern(key);
    let mut seen = [0u8; BLOCK];
    let mut blocks = buf.chunks_exact_mut(BLOCK);
    for block in &mut blocks {
        for ((byte, k), seen) in block.iter_mut().zip(&pattern).zip(&mut seen) {
            *byte ^= k;
            if OR {
                *seen |= *byte;
            }
        }
    }
    // BLOCK is a multiple of 4, so the remainder starts at key byte 0.
    let rest = xor_short::<OR>(blocks.into_remainder(), key);
    rest | u32::from(seen.iter().fold(0, |all, byte| all | byte))
}

/// XORs `buf` with `key` repeated, starting at key byte 0: 16 bytes at a
/// time, then the bytes left over as part of the last 16 (or, for shorter
/// buffers, as an 8- or 4-byte step over the first bytes and one over the
/// last, or byte by byte below 4). Returns what [`mask`] does.
///
/// The last step overlaps bytes the steps before it took: it XORs the last
/// bytes as they were before any step, read first, with the key as seen
/// from where they start, and writes them back last, so every byte ends up
/// XORed once. That replaces a loop over the leftover words and bytes, with
/// a branch for each size, by one step (callgrind, decoded 16-byte binary
/// frames: 376 instructions per message before, 339 after; 125-byte: 563,
/// 519).
#[inline(always)]
fn xor_short<const OR: bool>(buf: &mut [u8], key: [u8; 4]) -> u32 {
    match buf.len() {
        16.. => xor_overlapping::<16, OR>(buf, key),
        8.. => xor_overlapping::<8, OR>(buf, key),
        4.. => xor_overlapping::<4, OR>(buf, key),
        _ => {
            let mut seen = 0;
            for (byte, k) in buf.iter_mut().zip(key) {
                *byte ^= k;
                seen |= u32::from(*byte);
            }
            seen
        }
    }
}

/// [`xor_short`] for a buffer of at least `N` bytes (a multiple of 4):
/// `N` bytes at a time, then the last `N` bytes, read before the others
/// were written.
#[inline(always)]
fn xor_overlapping<const N: usize, const OR: bool>(buf: &mut [u8], key: [u8; 4]) -> u32 {
    const { assert!(N.is_multiple_of(4)) };
    let Some(&last) = buf.last_chunk::<N>() else {
        return 0;
    };
    let mut last = last;
    // N is a multiple of 4, so the last N bytes start at the key byte
    // that the buffer's length modulo 4 gives.
    let mut seen = xor_lanes::<N, OR>(&mut last, rotate_key(key, buf.len()));
    let (steps, _) = buf.as_chunks_mut::<N>();
    for step in steps {
        seen |= xor_lanes::<N, OR>(step, key);
    }
    if let Some(end) = buf.last_chunk_mut::<N>() {
        *end = last;
    }
    seen
}

/// XORs `bytes` (a multiple of 4 of them) with `key` repeated, 4 bytes at
/// a time; with `OR`, 8 at a time when they are a multiple of 8, and
/// returns the OR of the result's lanes (folded to 4 bytes), else 0. (With
/// the OR, the compiler keeps the lanes in scalar registers, and 8-byte
/// lanes halve the work; without it, it makes vectors of 4-byte lanes
/// better than of 8-byte ones: callgrind, 16-byte frames, 6 instructions
/// per message.)
#[inline(always)]
fn xor_lanes<const N: usize, const OR: bool>(bytes: &mut [u8; N], key: [u8; 4]) -> u32 {
    let key = u32::from_ne_bytes(key);
    let mut seen = 0;
    if OR && N.is_multiple_of(8) {
        // Both halves are the key, whatever the byte order.
        let key = u64::from(key) << 32 | u64::from(key);
        let mut wide = 0;
        for lane in bytes.as_chunks_mut::<8>().0 {
            let masked = u64::from_ne_bytes(*lane) ^ key;
            *lane = masked.to_ne_bytes();
            wide |= masked;
        }
        seen = (wide >> 32) as u32 | wide as u32;
    } else {
        for lane in bytes.as_chunks_mut::<4>().0 {
            let masked = u32::from_ne_bytes(*lane) ^ key;
            *lane = masked.to_ne_bytes();
            seen |= masked;
        }
    }
    if OR {
        seen
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The obvious definition, used as the reference.
    fn apply_mask_bytewise(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (j, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset.wrapping_add(j)) % 4];
        }
    }

    const KEYS: [[u8; 4]; 4] = [
        [0x37, 0xfa, 0x21, 0x3d],
        [0, 0, 0, 0],
        [0xff, 0xff, 0xff, 0xff],
        [0x01, 0x23, 0x45, 0x67],
    ];

    const OFFSETS: [usize; 9] = [0, 1, 2, 3, 4, 5, 7, 1023, usize::MAX];

    fn pattern(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i.wrapping_mul(31) ^ (i >> 3)) as u8)
            .collect()
    }

    #[test]
    fn matches_bytewise_reference_for_all_lengths_offsets_and_keys() {
        for key in KEYS {
            for offset in OFFSETS {
                for len in 0..=1024 {
                    let input = pattern(len);
                    let mut fast = input.clone();
                    let mut slow = input.clone();
                    apply_mask(&mut fast, key, offset);
                    apply_mask_bytewise(&mut slow, key, offset);
                    assert_eq!(fast, slow, "len {len} offset {offset} key {key:?}");
                }
            }
        }
    }

    #[test]
    fn matches_reference_on_misaligned_subslices() {
        let key = [0xde, 0xad, 0xbe, 0xef];
        for start in 0..16 {
            for len in 0..200 {
                for offset in 0..4 {
                    let mut fast = pattern(start + len + 3);
                    let mut slow = fast.clone();
                    apply_mask(&mut fast[start..start + len], key, offset);
                    apply_mask_bytewise(&mut slow[start..start + len], key, offset);
                    assert_eq!(fast, slow, "start {start} len {len} offset {offset}");
                }
            }
        }
        // The cases called out explicitly: starting one and three bytes in.
        let mut v = pattern(1000);
        let mut r = v.clone();
        apply_mask(&mut v[1..], key, 0);
        apply_mask_bytewise(&mut r[1..], key, 0);
        assert_eq!(v, r);
        apply_mask(&mut v[3..], key, 2);
        apply_mask_bytewise(&mut r[3..], key, 2);
        assert_eq!(v, r);
    }

    #[test]
    fn masking_twice_restores_input() {
        for key in KEYS {
            for offset in 0..4 {
                for len in [0, 1, 3, 7, 8, 31, 32, 33, 100, 4097] {
                    let input = pattern(len);
                    let mut buf = input.clone();
                    apply_mask(&mut buf, key, offset);
                    apply_mask(&mut buf, key, offset);
                    assert_eq!(buf, input);
                }
            }
        }
    }

    #[test]
    fn rfc6455_section_5_7_hello_example() {
        let mut buf = *b"Hello";
        apply_mask(&mut buf, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(buf, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        apply_mask(&mut buf, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&buf, b"Hello");
    }

    #[test]
    fn offset_continues_key_phase_across_calls() {
        // "Hello" unmasked in two pieces: "He" then "llo" at offset 2.
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut buf = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        let (a, b) = buf.split_at_mut(2);
        apply_mask(a, key, 0);
        apply_mask(b, key, 2);
        assert_eq!(&buf, b"Hello");
    }

    #[test]
    fn the_ascii_check_sees_every_byte_of_the_result() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..300 {
            for offset in 0..4 {
                let ascii = pattern(len).iter().map(|b| b & 0x7f).collect::<Vec<_>>();
                let mut masked = ascii.clone();
                apply_mask(&mut masked, key, offset);
                let mut buf = masked.clone();
                assert!(apply_mask_is_ascii(&mut buf, key, offset), "len {len}");
                assert_eq!(buf, ascii);
                for high in 0..len {
                    let mut one_high = ascii.clone();
                    one_high[high] |= 0x80;
                    apply_mask(&mut one_high, key, offset);
                    assert!(!apply_mask_is_ascii(&mut one_high, key, offset));
                }
            }
        }
    }

    #[test]
    fn the_dispatched_block_loop_matches_the_portable_one() {
        // On a CPU with AVX2 (x86-64 machines running the tests, as a
        // rule), `xor_blocks` takes the AVX2 variant; the portable one is
        // the reference.
        for key in KEYS {
            for len in (0..=600).chain([4096, 16384 + 5]) {
                let input = pattern(len);
                let mut dispatched = input.clone();
                let mut portable = input.clone();
                let seen = xor_blocks::<true>(&mut dispatched, key);
                let seen_portable = xor_blocks_portable::<true>(&mut portable, key);
                assert_eq!(dispatched, portable, "len {len} key {key:?}");
                assert_eq!(seen & HIGH_BITS, seen_portable & HIGH_BITS, "len {len}");
                let mut plain = input.clone();
                xor_blocks::<false>(&mut plain, key);
                assert_eq!(plain, portable, "len {len} key {key:?}");
            }
        }
    }

    #[test]
    fn extending_unmasked_equals_appending_then_unmasking() {
        for key in KEYS {
            for offset in 0..4 {
                for len in (0..=300).chain([4096, 65536 + 7]) {
                    let src = pattern(len);
                    for already in [0, 5] {
                        let mut fused = BytesMut::from(&pattern(already)[..]);
                        let mut reference = fused.clone();
                        let ascii = extend_unmasked(&mut fused, &src, key, offset);
                        reference.extend_from_slice(&src);
                        apply_mask(&mut reference[already..], key, offset);
                        assert_eq!(fused, reference, "len {len} offset {offset}");
                        assert_eq!(ascii, reference[already..].is_ascii(), "len {len}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_dispatched_copy_loop_matches_the_portable_one() {
        for len in (0..=300).chain([16384 + 3]) {
            let src = pattern(len);
            let key = [0x37, 0xfa, 0x21, 0x3d];
            let mut dispatched = vec![MaybeUninit::new(0u8); len];
            let mut portable = vec![MaybeUninit::new(0u8); len];
            let seen = copy_blocks(&mut dispatched, &src, key);
            let seen_portable = copy_blocks_portable(&mut portable, &src, key);
            // SAFETY: both were initialised when made (`MaybeUninit::new`).
            let (dispatched, portable) = unsafe {
                (
                    dispatched
                        .iter()
                        .map(|b| b.assume_init())
                        .collect::<Vec<u8>>(),
                    portable
                        .iter()
                        .map(|b| b.assume_init())
                        .collect::<Vec<u8>>(),
                )
            };
            assert_eq!(dispatched, portable, "len {len}");
            assert_eq!(seen, seen_portable, "len {len}");
        }
    }

    #[test]
    fn empty_buffer_is_untouched() {
        let mut buf: [u8; 0] = [];
        apply_mask(&mut buf, [1, 2, 3, 4], 3);
        assert!(buf.is_empty());
    }

    proptest! {
        #[test]
        fn prop_matches_reference(
            data in proptest::collection::vec(any::<u8>(), 0..2048),
            key in any::<[u8; 4]>(),
            offset in any::<usize>(),
            start in 0usize..8,
        ) {
            let start = start.min(data.len());
            let mut fast = data.clone();
            let mut slow = data;
            apply_mask(&mut fast[start..], key, offset);
            apply_mask_bytewise(&mut slow[start..], key, offset);
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn prop_split_calls_with_running_offset_equal_one_call(
            data in proptest::collection::vec(any::<u8>(), 0..2048),
            key in any::<[u8; 4]>(),
            offset in 0usize..1_000_000,
            mut cuts in proptest::collection::vec(any::<usize>(), 0..6),
        ) {
            let mut whole = data.clone();
            apply_mask(&mut whole, key, offset);

            for c in cuts.iter_mut() {
                *c %= data.len() + 1;
            }
            cuts.sort_unstable();
            let mut pieces = data;
            let mut prev = 0;
            for &cut in cuts.iter().chain(std::iter::once(&pieces.len())) {
                apply_mask(&mut pieces[prev..cut], key, offset + prev);
                prev = cut;
            }
            prop_assert_eq!(pieces, whole);
        }
    }
}
