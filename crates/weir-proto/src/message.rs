//! What the application exchanges with a connection: messages and events.
//!
//! Payloads are [`Bytes`]: received payloads are slices of the connection's
//! read buffer (no copy for single-frame messages), and sent payloads are
//! shared, not copied, where the role allows it (servers do not mask).

use std::fmt;

use bytes::Bytes;
use bytestring::ByteString;

use crate::close::CloseFrame;

/// Bytes that are known to be valid UTF-8: the payload of a text message.
///
/// The bytes are checked once, when the value is made (with SIMD, by
/// `weir-kernels`), and kept in a [`ByteString`] (the `bytestring` crate:
/// validated UTF-8 over [`Bytes`]), so [`Utf8Bytes::as_str`] and
/// `Deref<Target = str>` cost nothing.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Utf8Bytes(ByteString);

impl Utf8Bytes {
    /// A text from a static string, without copying.
    pub const fn from_static(text: &'static str) -> Self {
        Self(ByteString::from_static(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        self.0.as_bytes()
    }

    /// Gives up the UTF-8 guarantee and returns the bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = std::str::Utf8Error;

    /// Validates `bytes` as UTF-8, without copying.
    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        weir_kernels::text::text(bytes).map(Self)
    }
}

impl From<String> for Utf8Bytes {
    fn from(text: String) -> Self {
        Self(ByteString::from(text))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(text: &str) -> Self {
        Self(ByteString::from(text))
    }
}

impl std::ops::Deref for Utf8Bytes {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a data message is text or binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Arbitrary bytes (opcode 0x2).
    Binary,
}

/// A complete data message, received or to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// Whether this is text or binary.
    pub fn kind(&self) -> MessageKind {
        match self {
            Self::Text(_) => MessageKind::Text,
            Self::Binary(_) => MessageKind::Binary,
        }
    }

    /// The payload bytes.
    pub fn payload(&self) -> &Bytes {
        match self {
            Self::Text(text) => text.as_bytes(),
            Self::Binary(bytes) => bytes,
        }
    }

    /// The payload length in bytes.
    pub fn len(&self) -> usize {
        self.payload().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.payload().is_empty()
    }
}

impl From<Utf8Bytes> for Message {
    fn from(text: Utf8Bytes) -> Self {
        Self::Text(text)
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Self::Text(text.into())
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Self::Text(text.into())
    }
}

impl From<Bytes> for Message {
    fn from(bytes: Bytes) -> Self {
        Self::Binary(bytes)
    }
}

impl From<Vec<u8>> for Message {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Binary(bytes.into())
    }
}

impl From<&[u8]> for Message {
    fn from(bytes: &[u8]) -> Self {
        Self::Binary(Bytes::copy_from_slice(bytes))
    }
}

/// A piece of a data message, delivered in streaming mode
/// ([`Config::streaming`](crate::Config::streaming)) as soon as it arrives.
///
/// Concatenating the `data` of a message's fragments, from the one with
/// `is_first` to the one with `is_last`, gives the message. Fragments do not
/// follow frame boundaries: a frame may arrive in several pieces. Text has been
/// validated up to the end of each piece, but a piece may end inside a
/// multi-byte character that the next piece completes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// Text or binary.
    pub kind: MessageKind,
    /// The bytes of this piece.
    pub data: Bytes,
    /// Whether this is the message's first piece.
    pub is_first: bool,
    /// Whether this is the message's last piece.
    pub is_last: bool,
}

/// What a connection reports to the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A complete message.
    Message(Message),
    /// A piece of a message, in streaming mode only.
    Fragment(Fragment),
    /// A ping. With [`Config::auto_pong`](crate::Config::auto_pong) on (the
    /// default), the pong is already queued.
    Ping(Bytes),
    /// A pong, solicited or not.
    Pong(Bytes),
    /// The peer's Close frame, `None` if it carried no code. The reply Close
    /// is already queued when the application sees this; no further events
    /// follow.
    Close(Option<CloseFrame>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_bytes_rejects_invalid_text() {
        assert!(Utf8Bytes::try_from(Bytes::from_static(b"\xff")).is_err());
        let text = Utf8Bytes::try_from(Bytes::from_static("κόσμε".as_bytes())).unwrap();
        assert_eq!(text, "κόσμε");
        assert_eq!(text.len(), 10);
    }

    #[test]
    fn message_conversions_pick_the_kind() {
        assert_eq!(Message::from("hi").kind(), MessageKind::Text);
        assert_eq!(Message::from(String::from("hi")).kind(), MessageKind::Text);
        assert_eq!(Message::from(vec![1u8]).kind(), MessageKind::Binary);
        assert_eq!(Message::from(&b"x"[..]).payload().as_ref(), b"x");
        assert!(Message::from("").is_empty());
    }
}
