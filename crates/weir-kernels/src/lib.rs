//! weir-kernels: the few loops over every payload byte that safe Rust cannot
//! make as fast as the machine allows, kept apart from the protocol core.
//!
//! weir-proto, the sans-IO core that parses what peers send, forbids
//! `unsafe` code. Two of its inner loops need it to reach memory speed:
//!
//! - [`mask`]: XORing payloads with the masking key. Safe code is compiled
//!   for the target's baseline (SSE2 on x86-64, 16-byte vectors); running
//!   the same loop with AVX2 needs a check of the CPU at run time and an
//!   `unsafe` call into the function compiled for it.
//! - [`text`]: making a text message's `ByteString` (whose `as_str` is
//!   free) after validating it with SIMD (`simdutf8`) rather than with the
//!   standard library's validator, which `ByteString`'s checked
//!   constructor runs; skipping that second pass needs the unchecked
//!   constructor.
//!
//! Each `unsafe` block here has a `// SAFETY:` comment, the functions are
//! safe to call with any input, and the tests compare every path with a
//! plain reference. The gains are measured in benches/README.md ("Codec
//! micro-benchmarks" and "Session 9").
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

pub mod mask;
pub mod text;
