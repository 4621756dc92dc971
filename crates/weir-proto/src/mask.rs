//! WebSocket payload masking (RFC 6455 section 5.3).
//!
//! The loop lives in the `weir-kernels` crate, which may use `unsafe` (this
//! one may not): there it runs with AVX2 when the CPU has it. See
//! [`apply_mask`] for the contract.

pub use weir_kernels::mask::apply_mask;
pub(crate) use weir_kernels::mask::{apply_mask_is_ascii, extend_unmasked};
