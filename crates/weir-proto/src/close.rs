//! Close codes and the payload of Close frames (RFC 6455 sections 5.5.1, 7.4).
//!
//! A Close frame carries either nothing, or a 2-byte status code followed by a
//! UTF-8 reason. This module owns the rules for which codes may appear on the
//! wire and how the payload is parsed and built, so the connection only asks
//! "is this close payload valid?" in one place.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::message::Utf8Bytes;

/// The longest reason a Close frame can carry: 125 bytes of control payload
/// minus the 2-byte code.
pub const MAX_CLOSE_REASON: usize = 123;

/// A WebSocket close status code (RFC 6455 section 7.4, IANA registry).
///
/// Any `u16` can be held; [`CloseCode::is_valid_on_wire`] says whether it may
/// appear in a Close frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: the purpose for which the connection was established is fulfilled.
    pub const NORMAL: Self = Self(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: the peer violated the protocol.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: the endpoint received a kind of data it cannot accept.
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1005: no status code was present. Reported locally, never sent.
    pub const NO_STATUS: Self = Self(1005);
    /// 1006: the connection closed without a Close frame. Reported locally, never sent.
    pub const ABNORMAL: Self = Self(1006);
    /// 1007: message data did not match its type (e.g. invalid UTF-8 in text).
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: a message was too big to process.
    pub const MESSAGE_TOO_BIG: Self = Self(1009);
    /// 1010: the client expected the server to negotiate an extension.
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: Self = Self(1011);
    /// 1012: the service is restarting (IANA registry).
    pub const SERVICE_RESTART: Self = Self(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// 1014: a gateway received an invalid response (IANA registry).
    pub const BAD_GATEWAY: Self = Self(1014);
    /// 1015: the TLS handshake failed. Reported locally, never sent.
    pub const TLS_HANDSHAKE: Self = Self(1015);

    /// Wraps a raw code.
    pub const fn new(code: u16) -> Self {
        Self(code)
    }

    /// The raw code.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether the code may appear in a Close frame.
    ///
    /// RFC 6455 section 7.4.1 and the IANA registry: 1000-1003 and 1007-1014
    /// are defined, 3000-3999 are registered by libraries and frameworks,
    /// 4000-4999 are private. Everything else (0-999, 1004-1006, 1015,
    /// 1016-2999, 5000 and up) is reserved or local-only.
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        Self(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl std::fmt::Display for CloseCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The code and reason of a Close frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, at most [`MAX_CLOSE_REASON`] bytes of UTF-8.
    pub reason: Utf8Bytes,
}

/// Parses a received Close payload (RFC 6455 section 5.5.1).
///
/// "If there is a body, the first two bytes of the body MUST be a 2-byte
/// unsigned integer [...] Following the 2-byte integer, the body MAY contain
/// UTF-8-encoded data with value /reason/". An empty payload means no code.
pub(crate) fn parse_close_payload(payload: Bytes) -> Result<Option<CloseFrame>, ProtocolError> {
    match payload.len() {
        0 => Ok(None),
        1 => Err(ProtocolError::InvalidCloseLength),
        _ => {
            let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
            if !code.is_valid_on_wire() {
                return Err(ProtocolError::InvalidCloseCode(code.0));
            }
            let reason = Utf8Bytes::try_from(payload.slice(2..))
                .map_err(|_| ProtocolError::InvalidCloseReason)?;
            Ok(Some(CloseFrame { code, reason }))
        }
    }
}

/// Builds a Close payload: the code in network byte order, then the reason.
/// The caller has checked the code and the reason's length.
pub(crate) fn close_payload(code: CloseCode, reason: &str) -> Bytes {
    let mut payload = BytesMut::with_capacity(2 + reason.len());
    payload.put_u16(code.0);
    payload.put_slice(reason.as_bytes());
    payload.freeze()
}

/// Cuts `reason` to at most [`MAX_CLOSE_REASON`] bytes at a character boundary.
pub(crate) fn truncate_reason(reason: &str) -> &str {
    if reason.len() <= MAX_CLOSE_REASON {
        return reason;
    }
    let mut end = MAX_CLOSE_REASON;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_7_4_valid_and_reserved_codes() {
        for code in 0..=u16::MAX {
            let expected = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            assert_eq!(CloseCode(code).is_valid_on_wire(), expected, "code {code}");
        }
    }

    #[test]
    fn rfc6455_5_5_1_empty_close_has_no_code() {
        assert_eq!(parse_close_payload(Bytes::new()), Ok(None));
    }

    #[test]
    fn rfc6455_5_5_1_one_byte_close_is_protocol_error() {
        assert_eq!(
            parse_close_payload(Bytes::from_static(&[3])),
            Err(ProtocolError::InvalidCloseLength)
        );
    }

    #[test]
    fn rfc6455_5_5_1_code_and_reason_parsed() {
        let frame = parse_close_payload(close_payload(CloseCode::GOING_AWAY, "bye"))
            .unwrap()
            .unwrap();
        assert_eq!(frame.code, CloseCode::GOING_AWAY);
        assert_eq!(frame.reason.as_str(), "bye");
    }

    #[test]
    fn rfc6455_7_4_1_reserved_code_rejected() {
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            assert_eq!(
                parse_close_payload(Bytes::copy_from_slice(&code.to_be_bytes())),
                Err(ProtocolError::InvalidCloseCode(code))
            );
        }
    }

    #[test]
    fn rfc6455_5_5_1_reason_must_be_utf8() {
        let payload = Bytes::from_static(&[0x03, 0xe8, 0xce, 0xba, 0xff]);
        assert_eq!(
            parse_close_payload(payload),
            Err(ProtocolError::InvalidCloseReason)
        );
    }

    #[test]
    fn truncate_reason_keeps_char_boundary() {
        let long = "é".repeat(100);
        let cut = truncate_reason(&long);
        assert!(cut.len() <= MAX_CLOSE_REASON);
        assert_eq!(cut.len(), 122);
        assert_eq!(truncate_reason("short"), "short");
    }
}
