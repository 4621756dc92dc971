//! [`PreparedMessage`]: a message encoded once, to send to many
//! connections (a server's broadcast).
//!
//! Server frames are not masked, so the frame a server sends is the same
//! bytes for every recipient: the header is encoded here once and the
//! payload is shared by reference count. A client connection must mask with
//! its own key, so it encodes the message afresh.
//!
//! With permessage-deflate, a message compressed once is valid only for
//! connections whose server side has no context takeover (each message is
//! then a stream of its own) and that compress with the same window and
//! level. The first such connection compresses it and caches the result
//! here; the others with the same parameters reuse it. A connection with
//! context takeover, or other parameters, compresses it with its own
//! compressor, and one without compression sends the plain frame.

use bytes::Bytes;

#[cfg(feature = "deflate")]
use crate::deflate::SharedCompressed;
use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::message::{Message, MessageKind};

/// A whole message with its server-role frame header already encoded.
///
/// Build it once with [`PreparedMessage::new`], then pass it to
/// [`Connection::send_prepared`](crate::Connection::send_prepared) for each
/// recipient: cloning is two reference-count increments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedMessage {
    message: Message,
    header: [u8; MAX_HEADER_LEN],
    header_len: u8,
    /// Whether connections with permessage-deflate may compress it.
    may_compress: bool,
    #[cfg(feature = "deflate")]
    compressed: CompressedOnce,
}

/// The compressed form, made by the first connection that needs it.
#[cfg(feature = "deflate")]
#[derive(Clone, Debug, Default)]
struct CompressedOnce(std::sync::Arc<std::sync::OnceLock<SharedCompressed>>);

/// A cache, not part of the value: every two are equal.
#[cfg(feature = "deflate")]
impl PartialEq for CompressedOnce {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

#[cfg(feature = "deflate")]
impl Eq for CompressedOnce {}

impl PreparedMessage {
    /// Encodes the frame header for `message` (one final, unmasked frame).
    pub fn new(message: impl Into<Message>) -> Self {
        let message = message.into();
        let opcode = match message.kind() {
            MessageKind::Text => OpCode::Text,
            MessageKind::Binary => OpCode::Binary,
        };
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask: None,
            payload_len: message.len() as u64,
        };
        let mut bytes = [0; MAX_HEADER_LEN];
        let header_len = header.encode(&mut bytes) as u8;
        Self {
            message,
            header: bytes,
            header_len,
            may_compress: true,
            #[cfg(feature = "deflate")]
            compressed: CompressedOnce::default(),
        }
    }

    /// Like [`PreparedMessage::new`], but never compressed, even where
    /// permessage-deflate is in use: for secrets (see
    /// [`Connection::send_uncompressed`](crate::Connection::send_uncompressed)).
    pub fn uncompressed(message: impl Into<Message>) -> Self {
        Self {
            may_compress: false,
            ..Self::new(message)
        }
    }

    /// Whether connections with permessage-deflate may compress it.
    #[cfg(feature = "deflate")]
    pub(crate) fn may_compress(&self) -> bool {
        self.may_compress
    }

    /// The compressed form shared by the connections that can use it.
    #[cfg(feature = "deflate")]
    pub(crate) fn shared_compressed(&self) -> &std::sync::OnceLock<SharedCompressed> {
        &self.compressed.0
    }

    /// The message.
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The encoded server-role frame header.
    pub fn header(&self) -> &[u8] {
        &self.header[..usize::from(self.header_len)]
    }

    /// The encoded header: an array whose first bytes, as many as the
    /// second value says, hold it.
    pub(crate) fn encoded_header(&self) -> (&[u8; MAX_HEADER_LEN], usize) {
        (&self.header, usize::from(self.header_len))
    }

    /// The frame's length on the wire: header and payload.
    pub fn wire_len(&self) -> usize {
        self.header().len() + self.message.len()
    }

    /// The payload, shared by every recipient.
    pub(crate) fn payload(&self) -> &Bytes {
        self.message.payload()
    }
}

impl From<Message> for PreparedMessage {
    fn from(message: Message) -> Self {
        Self::new(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matches_the_frame_a_server_sends() {
        for len in [0usize, 125, 126, 70_000] {
            let prepared = PreparedMessage::new(vec![7u8; len]);
            let mut header = [0; MAX_HEADER_LEN];
            let header_len = FrameHeader {
                fin: true,
                rsv: 0,
                opcode: OpCode::Binary,
                mask: None,
                payload_len: len as u64,
            }
            .encode(&mut header);
            assert_eq!(prepared.header(), &header[..header_len]);
            assert_eq!(prepared.wire_len(), header_len + len);
        }
        assert_eq!(PreparedMessage::new("hi").header(), [0x81, 0x02]);
    }
}
