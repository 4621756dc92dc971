//! The two error types of the core, one per cause.
//!
//! - [`ProtocolError`]: the peer broke RFC 6455 or a configured limit. It is
//!   data, not a failure of ours: the connection has already queued a Close
//!   frame with [`ProtocolError::close_code`] when it reports one.
//! - [`SendError`]: the local application misused the connection (sending
//!   after close, an oversized control payload, a full send queue). Nothing is
//!   queued and the connection is unchanged.

use std::fmt;

use crate::close::{truncate_reason, CloseCode, MAX_CLOSE_REASON};

/// A violation of RFC 6455 (or of a configured limit) by the peer.
///
/// Each variant maps to the close code the connection sent for it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// RSV bits set without a negotiated extension that defines them (5.2).
    ReservedBits(u8),
    /// An opcode RFC 6455 reserves for future use (5.2).
    UnknownOpcode(u8),
    /// A control frame without FIN (5.5).
    FragmentedControlFrame,
    /// A control frame with more than 125 bytes of payload (5.5).
    ControlFrameTooLong(u64),
    /// A client sent an unmasked frame (5.1).
    UnmaskedFrame,
    /// A server sent a masked frame (5.1).
    MaskedFrame,
    /// A 64-bit payload length with its most significant bit set (5.2).
    InvalidPayloadLength,
    /// A continuation frame arrived with no fragmented message in progress (5.4).
    UnexpectedContinuation,
    /// A new text or binary frame arrived inside a fragmented message (5.4).
    ExpectedContinuation,
    /// A Close frame with a 1-byte payload (5.5.1).
    InvalidCloseLength,
    /// A Close frame with a code that may not be sent (7.4).
    InvalidCloseCode(u16),
    /// A Close frame whose reason is not UTF-8 (5.5.1).
    InvalidCloseReason,
    /// A text message that is not UTF-8 (8.1).
    InvalidUtf8,
    /// A compressed message that is not valid DEFLATE data (RFC 7692
    /// section 7.2.2); closes with 1007, as the payload is inconsistent
    /// with the message's type.
    InvalidCompressedData,
    /// A frame larger than [`Config::max_frame_size`](crate::Config::max_frame_size).
    FrameTooBig {
        /// The frame's payload length.
        len: u64,
        /// The configured limit.
        max: usize,
    },
    /// A message larger than [`Config::max_message_size`](crate::Config::max_message_size).
    MessageTooBig {
        /// The message's length so far, including the frame that broke the limit.
        len: u64,
        /// The configured limit.
        max: usize,
    },
}

impl ProtocolError {
    /// The close code sent to the peer for this violation: 1007 for invalid
    /// UTF-8, 1009 for a broken size limit, 1002 for everything else.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::InvalidUtf8 | Self::InvalidCloseReason | Self::InvalidCompressedData => {
                CloseCode::INVALID_PAYLOAD
            }
            Self::FrameTooBig { .. } | Self::MessageTooBig { .. } => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl ProtocolError {
    /// The reason sent in the Close frame for this violation: its
    /// description, cut at a character boundary to fit the frame.
    pub fn close_reason(&self) -> String {
        let mut text = self.to_string();
        text.truncate(truncate_reason(&text).len());
        text
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedBits(bits) => {
                write!(f, "reserved bits {bits:#05b} set without an extension")
            }
            Self::UnknownOpcode(op) => write!(f, "unknown opcode {op:#x}"),
            Self::FragmentedControlFrame => f.write_str("fragmented control frame"),
            Self::ControlFrameTooLong(len) => {
                write!(f, "control frame of {len} bytes, over the limit of 125")
            }
            Self::UnmaskedFrame => f.write_str("unmasked frame from a client"),
            Self::MaskedFrame => f.write_str("masked frame from a server"),
            Self::InvalidPayloadLength => f.write_str("64-bit payload length with the top bit set"),
            Self::UnexpectedContinuation => f.write_str("continuation frame without a message"),
            Self::ExpectedContinuation => f.write_str("new data frame inside a fragmented message"),
            Self::InvalidCloseLength => f.write_str("close frame with a 1-byte payload"),
            Self::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            Self::InvalidCloseReason => f.write_str("close reason is not valid UTF-8"),
            Self::InvalidUtf8 => f.write_str("text message is not valid UTF-8"),
            Self::InvalidCompressedData => f.write_str("compressed message is not valid DEFLATE"),
            Self::FrameTooBig { len, max } => {
                write!(f, "frame of {len} bytes, over the limit of {max}")
            }
            Self::MessageTooBig { len, max } => {
                write!(f, "message of {len} bytes, over the limit of {max}")
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Local misuse of a [`Connection`](crate::Connection): the operation was
/// refused and nothing was queued.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// A Close frame was already sent (or the connection failed): no data or
    /// control frame may follow it (RFC 6455 section 5.5.1).
    Closed,
    /// A ping or pong payload over 125 bytes.
    ControlPayloadTooLong(usize),
    /// A close reason over [`MAX_CLOSE_REASON`] bytes.
    CloseReasonTooLong(usize),
    /// A close code that may not appear on the wire (e.g. 1005, 1006).
    InvalidCloseCode(u16),
    /// The send queue already holds
    /// [`Config::max_send_queue`](crate::Config::max_send_queue) bytes or
    /// more: drain it first.
    QueueFull {
        /// Bytes waiting to be written.
        queued: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A whole message was sent while a fragmented one is unfinished.
    FragmentedMessageInProgress,
    /// A text fragment, or the end of a fragmented text message, is not valid UTF-8.
    InvalidUtf8,
    /// The compressor failed inside zlib. Not expected with valid input;
    /// the connection sends every later message uncompressed.
    CompressionFailed,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("the connection is closing or closed"),
            Self::ControlPayloadTooLong(len) => {
                write!(f, "control payload of {len} bytes, over the limit of 125")
            }
            Self::CloseReasonTooLong(len) => {
                write!(
                    f,
                    "close reason of {len} bytes, over the limit of {MAX_CLOSE_REASON}"
                )
            }
            Self::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            Self::QueueFull { queued, limit } => {
                write!(
                    f,
                    "send queue holds {queued} bytes, at or over the limit of {limit}"
                )
            }
            Self::FragmentedMessageInProgress => {
                f.write_str("a fragmented message is in progress: finish it first")
            }
            Self::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
            Self::CompressionFailed => f.write_str("compressing the message failed"),
        }
    }
}

impl std::error::Error for SendError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_of_protocol_errors() {
        assert_eq!(ProtocolError::InvalidUtf8.close_code().as_u16(), 1007);
        assert_eq!(
            ProtocolError::InvalidCloseReason.close_code().as_u16(),
            1007
        );
        assert_eq!(
            ProtocolError::InvalidCompressedData.close_code().as_u16(),
            1007
        );
        let too_big = ProtocolError::FrameTooBig { len: 10, max: 5 };
        assert_eq!(too_big.close_code().as_u16(), 1009);
        let too_big = ProtocolError::MessageTooBig { len: 10, max: 5 };
        assert_eq!(too_big.close_code().as_u16(), 1009);
        for error in [
            ProtocolError::ReservedBits(4),
            ProtocolError::UnknownOpcode(3),
            ProtocolError::FragmentedControlFrame,
            ProtocolError::ControlFrameTooLong(126),
            ProtocolError::UnmaskedFrame,
            ProtocolError::MaskedFrame,
            ProtocolError::InvalidPayloadLength,
            ProtocolError::UnexpectedContinuation,
            ProtocolError::ExpectedContinuation,
            ProtocolError::InvalidCloseLength,
            ProtocolError::InvalidCloseCode(1005),
        ] {
            assert_eq!(error.close_code().as_u16(), 1002, "{error}");
        }
    }

    #[test]
    fn close_reason_fits_a_close_frame() {
        let error = ProtocolError::FrameTooBig {
            len: u64::MAX,
            max: usize::MAX,
        };
        assert_eq!(error.close_reason(), error.to_string());
        assert!(error.close_reason().len() <= MAX_CLOSE_REASON);
    }

    #[test]
    fn messages_name_the_limit() {
        let text = ProtocolError::FrameTooBig { len: 10, max: 5 }.to_string();
        assert!(text.contains("10") && text.contains('5'), "{text}");
        let text = SendError::QueueFull {
            queued: 7,
            limit: 4,
        }
        .to_string();
        assert!(text.contains('7') && text.contains('4'), "{text}");
    }
}
