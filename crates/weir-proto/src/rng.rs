//! Masking-key generation for clients (RFC 6455 section 10.3).
//!
//! Client masking keys must be unpredictable to anyone who sees earlier
//! frames, so they have to come from a strong source of randomness. Asking the
//! operating system for four bytes per frame would cost a system call per
//! frame; instead [`MaskKeyGenerator`] seeds a ChaCha20 generator
//! (`rand_chacha`, the ChaCha implementation of the `rand` project) once from
//! the operating system and hands out its keystream four bytes at a time,
//! from a buffer of keystream blocks it refills itself.
//!
//! Every read of the operating system's entropy goes through [`os_entropy`],
//! and its failure is an [`EntropyError`], never a panic.

use std::fmt;

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// The operating system's entropy source failed, so no secret random
/// bytes could be drawn: a client could not seed its masking keys (RFC 6455
/// section 10.3) or pick its `Sec-WebSocket-Key` (section 4.1).
///
/// Servers never draw entropy, so never see this error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntropyError(pub(crate) getrandom::Error);

impl fmt::Display for EntropyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the operating system's entropy source failed: {}",
            self.0
        )
    }
}

impl std::error::Error for EntropyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Where secret random bytes come from: fills the slice or fails.
/// [`os_entropy`] in production; tests pass a failing one.
pub(crate) type EntropySource = fn(&mut [u8]) -> Result<(), EntropyError>;

/// Fills `dest` from the operating system's entropy source (getrandom).
pub(crate) fn os_entropy(dest: &mut [u8]) -> Result<(), EntropyError> {
    getrandom::getrandom(dest).map_err(EntropyError)
}

/// An entropy source that always fails, as an OS without one would.
#[cfg(test)]
pub(crate) fn failing_entropy(_dest: &mut [u8]) -> Result<(), EntropyError> {
    Err(EntropyError(getrandom::Error::UNSUPPORTED))
}

/// Generator of masking keys: a ChaCha20 keystream seeded once.
///
/// Not `Clone` on purpose: a copy would hand out the same keys again.
pub struct MaskKeyGenerator {
    rng: ChaCha20Rng,
}

impl MaskKeyGenerator {
    /// Seeds from `source` (in production [`os_entropy`]), once.
    pub fn from_entropy(source: EntropySource) -> Result<Self, EntropyError> {
        let mut seed = [0u8; 32];
        source(&mut seed)?;
        Ok(Self::from_seed(seed))
    }

    /// Seeds from the given 32 bytes: deterministic, for tests and fuzzing.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            rng: ChaCha20Rng::from_seed(seed),
        }
    }

    /// The next 4-byte masking key: the next four bytes of the keystream.
    pub fn next_key(&mut self) -> [u8; 4] {
        self.rng.next_u32().to_le_bytes()
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
    use std::collections::HashSet;

    use super::*;

    fn test_seed() -> [u8; 32] {
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = i as u8;
        }
        seed
    }

    fn keys(generator: &mut MaskKeyGenerator, n: usize) -> Vec<[u8; 4]> {
        (0..n).map(|_| generator.next_key()).collect()
    }

    #[test]
    fn from_seed_is_deterministic() {
        let mut a = MaskKeyGenerator::from_seed(test_seed());
        let mut b = MaskKeyGenerator::from_seed(test_seed());
        assert_eq!(keys(&mut a, 100), keys(&mut b, 100));
        let mut c = MaskKeyGenerator::from_seed([7; 32]);
        let mut d = MaskKeyGenerator::from_seed(test_seed());
        assert_ne!(keys(&mut c, 8), keys(&mut d, 8));
    }

    #[test]
    fn keys_do_not_repeat() {
        // 1000 keys span several of the generator's buffered blocks; among
        // 2^32 values, a repeat would point at a broken keystream.
        let mut generator = MaskKeyGenerator::from_seed(test_seed());
        let distinct: HashSet<_> = keys(&mut generator, 1000).into_iter().collect();
        assert_eq!(distinct.len(), 1000);
    }

    /// Pins the algorithm: the keys are the ChaCha20 keystream of the seed,
    /// in order (RFC 8439 appendix A.1, test vectors 1 and 2: the all-zero
    /// key, blocks 0 and 1).
    #[test]
    fn keys_are_the_chacha20_keystream_of_the_seed() {
        let expected: [u8; 128] = [
            0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90, 0x40, 0x5d, 0x6a, 0xe5, 0x53, 0x86,
            0xbd, 0x28, 0xbd, 0xd2, 0x19, 0xb8, 0xa0, 0x8d, 0xed, 0x1a, 0xa8, 0x36, 0xef, 0xcc,
            0x8b, 0x77, 0x0d, 0xc7, 0xda, 0x41, 0x59, 0x7c, 0x51, 0x57, 0x48, 0x8d, 0x77, 0x24,
            0xe0, 0x3f, 0xb8, 0xd8, 0x4a, 0x37, 0x6a, 0x43, 0xb8, 0xf4, 0x15, 0x18, 0xa1, 0x1c,
            0xc3, 0x87, 0xb6, 0x69, 0xb2, 0xee, 0x65, 0x86, //
            0x9f, 0x07, 0xe7, 0xbe, 0x55, 0x51, 0x38, 0x7a, 0x98, 0xba, 0x97, 0x7c, 0x73, 0x2d,
            0x08, 0x0d, 0xcb, 0x0f, 0x29, 0xa0, 0x48, 0xe3, 0x65, 0x69, 0x12, 0xc6, 0x53, 0x3e,
            0x32, 0xee, 0x7a, 0xed, 0x29, 0xb7, 0x21, 0x76, 0x9c, 0xe6, 0x4e, 0x43, 0xd5, 0x71,
            0x33, 0xb0, 0x74, 0xd8, 0x39, 0xd5, 0x31, 0xed, 0x1f, 0x28, 0x51, 0x0a, 0xfb, 0x45,
            0xac, 0xe1, 0x0a, 0x1f, 0x4b, 0x79, 0x4d, 0x6f,
        ];
        let mut generator = MaskKeyGenerator::from_seed([0; 32]);
        let got: Vec<u8> = keys(&mut generator, 32).concat();
        assert_eq!(got, expected);
    }

    #[test]
    fn os_entropy_generators_differ() {
        let mut a = MaskKeyGenerator::from_entropy(os_entropy).expect("OS entropy");
        let mut b = MaskKeyGenerator::from_entropy(os_entropy).expect("OS entropy");
        assert_ne!(keys(&mut a, 8), keys(&mut b, 8));
    }

    #[test]
    fn failing_entropy_is_an_error() {
        let error = MaskKeyGenerator::from_entropy(failing_entropy).unwrap_err();
        assert_eq!(error, EntropyError(getrandom::Error::UNSUPPORTED));
        assert!(error
            .to_string()
            .starts_with("the operating system's entropy source failed: "));
        assert!(std::error::Error::source(&error).is_some());
    }

    #[test]
    fn debug_hides_key_material() {
        let g = MaskKeyGenerator::from_seed(test_seed());
        assert_eq!(format!("{g:?}"), "MaskKeyGenerator { .. }");
    }
}
