//! Masking-key generation for clients (RFC 6455 section 10.3).
//!
//! Client masking keys must be unpredictable to anyone who sees earlier
//! frames, so they have to come from a strong source of randomness. Asking the
//! operating system for four bytes per frame would cost a system call per
//! frame; instead [`MaskKeyGenerator`] seeds a ChaCha20 keystream (RFC 8439)
//! once from the operating system and hands out its bytes. The cipher is
//! implemented here in safe Rust to keep the crate free of further
//! dependencies.

use std::fmt;

/// Bytes in one ChaCha20 block.
const BLOCK_LEN: usize = 64;

/// The "expand 32-byte k" constants of RFC 8439 section 2.3.
const CONSTANTS: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// The ChaCha quarter round (RFC 8439 section 2.1) on four words of `s`.
fn quarter_round(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(7);
}

/// The ChaCha20 block function (RFC 8439 section 2.3): 20 rounds over the
/// key, block counter and nonce, serialized little-endian into 64 bytes.
fn chacha20_block(key: &[u32; 8], counter: u32, nonce: &[u32; 3]) -> [u8; BLOCK_LEN] {
    let mut init = [0u32; 16];
    init[..4].copy_from_slice(&CONSTANTS);
    init[4..12].copy_from_slice(key);
    init[12] = counter;
    init[13..].copy_from_slice(nonce);

    let mut s = init;
    for _ in 0..10 {
        // Column round.
        quarter_round(&mut s, 0, 4, 8, 12);
        quarter_round(&mut s, 1, 5, 9, 13);
        quarter_round(&mut s, 2, 6, 10, 14);
        quarter_round(&mut s, 3, 7, 11, 15);
        // Diagonal round.
        quarter_round(&mut s, 0, 5, 10, 15);
        quarter_round(&mut s, 1, 6, 11, 12);
        quarter_round(&mut s, 2, 7, 8, 13);
        quarter_round(&mut s, 3, 4, 9, 14);
    }

    let mut out = [0u8; BLOCK_LEN];
    for ((chunk, word), start) in out.chunks_exact_mut(4).zip(s).zip(init) {
        chunk.copy_from_slice(&word.wrapping_add(start).to_le_bytes());
    }
    out
}

/// Reads 32 bytes as eight little-endian words, as RFC 8439 reads a key.
fn key_words(seed: &[u8; 32]) -> [u32; 8] {
    let mut key = [0u32; 8];
    for (word, bytes) in key.iter_mut().zip(seed.chunks_exact(4)) {
        let mut b = [0u8; 4];
        b.copy_from_slice(bytes);
        *word = u32::from_le_bytes(b);
    }
    key
}

/// Generator of masking keys: a ChaCha20 keystream seeded once.
///
/// The keystream is that of ChaCha20 with the seed as key, starting at block
/// counter 0 with an all-zero nonce. When the 32-bit block counter wraps, the
/// nonce is incremented as a 96-bit number, so no keystream block is ever
/// repeated.
///
/// Not `Clone` on purpose: a copy would hand out the same keys again.
pub struct MaskKeyGenerator {
    /// The cipher key, as little-endian words.
    key: [u32; 8],
    /// The nonce, incremented whenever `counter` wraps.
    nonce: [u32; 3],
    /// Block counter of the next block to generate.
    counter: u32,
    /// The current keystream block.
    block: [u8; BLOCK_LEN],
    /// Bytes of `block` already handed out (`BLOCK_LEN` when used up).
    pos: usize,
}

impl MaskKeyGenerator {
    /// Seeds from the operating system's entropy source (getrandom). Err if
    /// the OS has none.
    pub fn from_os_entropy() -> Result<Self, getrandom::Error> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed)?;
        Ok(Self::from_seed(seed))
    }

    /// Seeds from the given 32 bytes: deterministic, for tests and fuzzing.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            key: key_words(&seed),
            nonce: [0; 3],
            counter: 0,
            block: [0; BLOCK_LEN],
            pos: BLOCK_LEN,
        }
    }

    /// Generates the next keystream block and moves the counter on.
    fn refill(&mut self) {
        self.block = chacha20_block(&self.key, self.counter, &self.nonce);
        self.pos = 0;
        self.counter = self.counter.wrapping_add(1);
        if self.counter == 0 {
            // Counter wrapped: move to a fresh nonce (96-bit increment).
            for word in &mut self.nonce {
                *word = word.wrapping_add(1);
                if *word != 0 {
                    break;
                }
            }
        }
    }

    /// The next 4-byte masking key.
    pub fn next_key(&mut self) -> [u8; 4] {
        let mut key = [0u8; 4];
        self.fill(&mut key);
        key
    }

    /// Fills `dest` with keystream bytes (e.g. the 16-byte
    /// Sec-WebSocket-Key nonce).
    pub fn fill(&mut self, dest: &mut [u8]) {
        let mut dest = dest;
        while !dest.is_empty() {
            if self.pos >= BLOCK_LEN {
                self.refill();
            }
            let available = self.block.get(self.pos..).unwrap_or_default();
            let n = available.len().min(dest.len());
            let (now, later) = dest.split_at_mut(n);
            now.copy_from_slice(&available[..n]);
            self.pos += n;
            dest = later;
        }
    }
}

impl fmt::Debug for MaskKeyGenerator {
    /// Prints no key material: `MaskKeyGenerator { .. }`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaskKeyGenerator").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keystream from block 0 on (nonce zero), as a reference.
    fn keystream(seed: [u8; 32], len: usize) -> Vec<u8> {
        let key = key_words(&seed);
        let mut out = Vec::new();
        let mut counter = 0;
        while out.len() < len {
            out.extend_from_slice(&chacha20_block(&key, counter, &[0; 3]));
            counter += 1;
        }
        out.truncate(len);
        out
    }

    fn test_seed() -> [u8; 32] {
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = i as u8;
        }
        seed
    }

    #[test]
    fn quarter_round_matches_rfc8439_section_2_1_1() {
        let mut s = [0u32; 16];
        s[0] = 0x1111_1111;
        s[1] = 0x0102_0304;
        s[2] = 0x9b8d_6f43;
        s[3] = 0x0123_4567;
        quarter_round(&mut s, 0, 1, 2, 3);
        assert_eq!(s[..4], [0xea2a_92f4, 0xcb1c_f8ce, 0x4581_472e, 0x5881_c4bb]);
    }

    #[test]
    fn block_function_matches_rfc8439_section_2_3_2() {
        let key = key_words(&test_seed());
        let nonce_bytes = [0, 0, 0, 0x09, 0, 0, 0, 0x4a, 0, 0, 0, 0];
        let mut nonce = [0u32; 3];
        for (w, b) in nonce.iter_mut().zip(nonce_bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        let expected: [u8; 64] = [
            0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20,
            0x71, 0xc4, 0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22, 0xaa, 0x9a,
            0xc3, 0xd4, 0x6c, 0x4e, 0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa, 0x09, 0x14, 0xc2,
            0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2, 0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e, 0xb9,
            0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e,
        ];
        assert_eq!(chacha20_block(&key, 1, &nonce), expected);
    }

    #[test]
    fn zero_seed_keystream_matches_rfc8439_appendix_a_1_vector_1() {
        let expected: [u8; 64] = [
            0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90, 0x40, 0x5d, 0x6a, 0xe5, 0x53, 0x86,
            0xbd, 0x28, 0xbd, 0xd2, 0x19, 0xb8, 0xa0, 0x8d, 0xed, 0x1a, 0xa8, 0x36, 0xef, 0xcc,
            0x8b, 0x77, 0x0d, 0xc7, 0xda, 0x41, 0x59, 0x7c, 0x51, 0x57, 0x48, 0x8d, 0x77, 0x24,
            0xe0, 0x3f, 0xb8, 0xd8, 0x4a, 0x37, 0x6a, 0x43, 0xb8, 0xf4, 0x15, 0x18, 0xa1, 0x1c,
            0xc3, 0x87, 0xb6, 0x69, 0xb2, 0xee, 0x65, 0x86,
        ];
        let mut g = MaskKeyGenerator::from_seed([0; 32]);
        let mut out = [0u8; 64];
        g.fill(&mut out);
        assert_eq!(out, expected);
    }

    #[test]
    fn from_seed_is_deterministic() {
        let mut a = MaskKeyGenerator::from_seed(test_seed());
        let mut b = MaskKeyGenerator::from_seed(test_seed());
        for _ in 0..100 {
            assert_eq!(a.next_key(), b.next_key());
        }
        let mut c = MaskKeyGenerator::from_seed([7; 32]);
        let mut d = MaskKeyGenerator::from_seed(test_seed());
        let ks: Vec<_> = (0..8).map(|_| c.next_key()).collect();
        let kd: Vec<_> = (0..8).map(|_| d.next_key()).collect();
        assert_ne!(ks, kd);
    }

    #[test]
    fn os_entropy_generators_differ() {
        let mut a = MaskKeyGenerator::from_os_entropy().expect("OS entropy");
        let mut b = MaskKeyGenerator::from_os_entropy().expect("OS entropy");
        let mut ba = [0u8; 32];
        let mut bb = [0u8; 32];
        a.fill(&mut ba);
        b.fill(&mut bb);
        assert_ne!(ba, bb);
    }

    #[test]
    fn next_key_sequence_is_keystream_in_fours() {
        let mut g = MaskKeyGenerator::from_seed(test_seed());
        let stream = keystream(test_seed(), 4 * 100);
        for expected in stream.chunks_exact(4) {
            assert_eq!(g.next_key()[..], *expected);
        }
    }

    #[test]
    fn fill_across_block_boundaries_equals_keystream() {
        let stream = keystream(test_seed(), 2000);
        for sizes in [
            &[16usize, 16, 16, 16, 16][..],
            &[63, 2, 64, 1, 130],
            &[0, 200, 0, 7],
        ] {
            let mut g = MaskKeyGenerator::from_seed(test_seed());
            let mut got = Vec::new();
            for &n in sizes {
                let mut buf = vec![0u8; n];
                g.fill(&mut buf);
                got.extend_from_slice(&buf);
            }
            assert_eq!(got[..], stream[..got.len()], "sizes {sizes:?}");
        }
        // Mixed with next_key, not aligned to four.
        let mut g = MaskKeyGenerator::from_seed(test_seed());
        let mut got = vec![0u8; 3];
        g.fill(&mut got);
        for _ in 0..40 {
            got.extend_from_slice(&g.next_key());
        }
        assert_eq!(got[..], stream[..got.len()]);
    }

    #[test]
    fn counter_wrap_moves_to_a_fresh_nonce() {
        let mut g = MaskKeyGenerator::from_seed(test_seed());
        g.counter = u32::MAX;
        let key = key_words(&test_seed());
        let mut out = [0u8; 128];
        g.fill(&mut out);
        assert_eq!(out[..64], chacha20_block(&key, u32::MAX, &[0; 3]));
        assert_eq!(out[64..], chacha20_block(&key, 0, &[1, 0, 0]));
        // And never the block of the very first position again.
        assert_ne!(out[64..], chacha20_block(&key, 0, &[0; 3]));
        assert_eq!(g.nonce, [1, 0, 0]);
        assert_eq!(g.counter, 1);
    }

    #[test]
    fn nonce_increment_carries() {
        let mut g = MaskKeyGenerator::from_seed(test_seed());
        g.counter = u32::MAX;
        g.nonce = [u32::MAX, 5, 0];
        g.next_key();
        assert_eq!(g.nonce, [0, 6, 0]);
    }

    #[test]
    fn debug_hides_key_material() {
        let g = MaskKeyGenerator::from_seed(test_seed());
        assert_eq!(format!("{g:?}"), "MaskKeyGenerator { .. }");
    }
}
