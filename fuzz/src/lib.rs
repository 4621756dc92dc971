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
//! - [`frames`]: the frame_server / frame_client oracle, and the event
//!   comparisons that deflate_frames shares.
//! - [`negotiated`]: connections with permessage-deflate negotiated, through
//!   a real handshake in memory.

pub mod alloc;
pub mod chunks;
pub mod frames;
pub mod negotiated;
pub mod reference;
