//! Shared pieces of the weir-proto fuzz targets.
//!
//! - [`alloc`]: a global allocator that counts live heap bytes, so targets can
//!   check "no allocation beyond the configured limits" for state the public
//!   API does not expose (the handshake's header buffer).
//! - [`chunks`]: cutting one input into reads, with the cut points taken from
//!   the input itself.
//! - [`reference`]: a deliberately simple, independent model of the RFC 6455
//!   receive path (byte-wise unmasking, whole-prefix UTF-8 checks, a
//!   re-derived close-code table), used as an oracle for the frame targets.
//! - [`frames`]: the frame_server / frame_client oracle.

pub mod alloc;
pub mod chunks;
pub mod frames;
pub mod reference;
