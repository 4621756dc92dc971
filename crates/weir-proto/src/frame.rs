//! The base framing protocol (RFC 6455 section 5.2): opcodes and frame headers.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! ```
//!
//! Only the header lives here; payloads stay in the connection's buffers.
//! Decoding checks what the header alone can tell (opcode, length encoding);
//! rules that depend on the connection's state (masking by role, fragments,
//! limits, negotiated RSV bits) are checked by the connection.

use crate::error::ProtocolError;

/// The largest header: 2 bytes, an 8-byte extended length and a 4-byte mask.
pub const MAX_HEADER_LEN: usize = 14;

/// A frame opcode (RFC 6455 section 5.2). Reserved opcodes are rejected when
/// decoding, so every value of this type is one the protocol defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: a text frame.
    Text,
    /// 0x2: a binary frame.
    Binary,
    /// 0x8: a connection close.
    Close,
    /// 0x9: a ping.
    Ping,
    /// 0xA: a pong.
    Pong,
}

impl OpCode {
    /// The opcode for a 4-bit value, or `None` for a reserved one.
    pub fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub fn bits(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Control frames have opcodes with the high bit set (section 5.5).
    pub fn is_control(self) -> bool {
        self.bits() & 0x8 != 0
    }
}

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Whether this is the final fragment of a message.
    pub fin: bool,
    /// The RSV1, RSV2 and RSV3 bits as the low three bits (RSV1 = `0b100`).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, if the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

impl FrameHeader {
    /// Decodes a header from the front of `buf`.
    ///
    /// Returns `Ok(None)` if `buf` holds only part of a header, or the header
    /// and its length in bytes.
    pub fn decode(buf: &[u8]) -> Result<Option<(Self, usize)>, ProtocolError> {
        let [first, second, ..] = *buf else {
            return Ok(None);
        };
        let opcode =
            OpCode::from_bits(first & 0x0F).ok_or(ProtocolError::UnknownOpcode(first & 0x0F))?;
        let masked = second & 0x80 != 0;
        let (payload_len, mut len) = match second & 0x7F {
            126 => match buf.get(2..4) {
                Some(bytes) => (u64::from(u16::from_be_bytes([bytes[0], bytes[1]])), 4),
                None => return Ok(None),
            },
            127 => match buf.get(2..10) {
                Some(bytes) => {
                    let mut raw = [0u8; 8];
                    raw.copy_from_slice(bytes);
                    let payload_len = u64::from_be_bytes(raw);
                    // "the most significant bit MUST be 0" (section 5.2)
                    if payload_len >> 63 != 0 {
                        return Err(ProtocolError::InvalidPayloadLength);
                    }
                    (payload_len, 10)
                }
                None => return Ok(None),
            },
            short => (u64::from(short), 2),
        };
        let mask = if masked {
            let Some(bytes) = buf.get(len..len + 4) else {
                return Ok(None);
            };
            len += 4;
            Some([bytes[0], bytes[1], bytes[2], bytes[3]])
        } else {
            None
        };
        let header = Self {
            fin: first & 0x80 != 0,
            rsv: (first >> 4) & 0x07,
            opcode,
            mask,
            payload_len,
        };
        Ok(Some((header, len)))
    }

    /// Encodes the header into `out` with the minimal length encoding
    /// ("the minimal number of bytes MUST be used", section 5.2) and returns
    /// how many bytes it wrote.
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0x07) << 4) | self.opcode.bits();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut len = match self.payload_len {
            short @ 0..=125 => {
                out[1] = mask_bit | short as u8;
                2
            }
            medium @ 126..=0xFFFF => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(medium as u16).to_be_bytes());
                4
            }
            long => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&long.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[len..len + 4].copy_from_slice(&key);
            len += 4;
        }
        len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(bytes: &[u8]) -> (FrameHeader, usize) {
        FrameHeader::decode(bytes).unwrap().unwrap()
    }

    #[test]
    fn rfc6455_5_7_single_frame_unmasked_hello() {
        let (header, len) = decode_all(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!(len, 2);
        assert!(header.fin);
        assert_eq!(header.opcode, OpCode::Text);
        assert_eq!(header.mask, None);
        assert_eq!(header.payload_len, 5);
    }

    #[test]
    fn rfc6455_5_7_single_frame_masked_hello() {
        let bytes = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (header, len) = decode_all(&bytes);
        assert_eq!(len, 6);
        assert_eq!(header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(header.payload_len, 5);
    }

    #[test]
    fn rfc6455_5_7_fragmented_hello() {
        let (first, _) = decode_all(&[0x01, 0x03, 0x48, 0x65, 0x6c]);
        assert!(!first.fin);
        assert_eq!(first.opcode, OpCode::Text);
        let (second, _) = decode_all(&[0x80, 0x02, 0x6c, 0x6f]);
        assert!(second.fin);
        assert_eq!(second.opcode, OpCode::Continuation);
    }

    #[test]
    fn rfc6455_5_7_ping_and_pong() {
        let (ping, _) = decode_all(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!(ping.opcode, OpCode::Ping);
        let bytes = [
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (pong, _) = decode_all(&bytes);
        assert_eq!(pong.opcode, OpCode::Pong);
    }

    #[test]
    fn rfc6455_5_7_sixteen_and_sixty_four_bit_lengths() {
        let (header, len) = decode_all(&[0x82, 0x7E, 0x01, 0x00]);
        assert_eq!((header.payload_len, len), (256, 4));
        let (header, len) = decode_all(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
        assert_eq!((header.payload_len, len), (65536, 10));
    }

    #[test]
    fn rfc6455_5_2_length_msb_must_be_zero() {
        let bytes = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            FrameHeader::decode(&bytes),
            Err(ProtocolError::InvalidPayloadLength)
        );
    }

    #[test]
    fn rfc6455_5_2_reserved_opcodes_rejected() {
        for bits in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assert_eq!(
                FrameHeader::decode(&[0x80 | bits, 0]),
                Err(ProtocolError::UnknownOpcode(bits))
            );
        }
    }

    #[test]
    fn rfc6455_5_2_rsv_bits_decoded() {
        let (header, _) = decode_all(&[0xC1, 0x00]);
        assert_eq!(header.rsv, 0b100);
        let (header, _) = decode_all(&[0xB1, 0x00]);
        assert_eq!(header.rsv, 0b011);
    }

    #[test]
    fn rfc6455_5_2_minimal_length_encoding_when_sending() {
        for (len, header_len) in [(0u64, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)] {
            let header = FrameHeader {
                fin: true,
                rsv: 0,
                opcode: OpCode::Binary,
                mask: None,
                payload_len: len,
            };
            let mut out = [0; MAX_HEADER_LEN];
            assert_eq!(header.encode(&mut out), header_len, "length {len}");
        }
    }

    #[test]
    fn partial_headers_need_more_bytes() {
        let full = [0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 1, 2, 3, 4];
        for end in 0..full.len() {
            assert_eq!(FrameHeader::decode(&full[..end]), Ok(None), "prefix {end}");
        }
        assert_eq!(decode_all(&full).1, full.len());
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(
            fin: bool,
            rsv in 0u8..8,
            opcode in prop::sample::select(vec![
                OpCode::Continuation, OpCode::Text, OpCode::Binary,
                OpCode::Close, OpCode::Ping, OpCode::Pong,
            ]),
            mask: Option<[u8; 4]>,
            payload_len in prop_oneof![0u64..=130, 65530u64..=65540, 0u64..(1 << 63)],
        ) {
            let header = FrameHeader { fin, rsv, opcode, mask, payload_len };
            let mut out = [0; MAX_HEADER_LEN];
            let len = header.encode(&mut out);
            prop_assert_eq!(FrameHeader::decode(&out[..len]), Ok(Some((header, len))));
        }

        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..20)) {
            let _ = FrameHeader::decode(&bytes);
        }
    }
}
