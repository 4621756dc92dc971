//! What one node publishes for the others, as bytes: a [`Note`].
//!
//! ```text
//! byte 0      what: 1 room broadcast, 2 server broadcast, 3 one connection
//! byte 1      the message's kind: 0 binary, 1 text
//! byte 2      the node that published it
//! bytes 3-10  an id, little-endian: the connection to skip (room and
//!             server broadcasts; 0 for none) or the one to reach
//! byte 11..   the message's payload
//! ```
//!
//! A room's name is the channel's, not in the bytes. Text is checked to be
//! UTF-8 again when read: a node trusts Redis no more than a peer.

use bytes::Bytes;
use weir_proto::{Message, Utf8Bytes};

use crate::ConnId;

/// Bytes before the payload.
const HEADER: usize = 11;

/// What a note asks of the nodes that read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Every member of the channel's room on this node, but one.
    Room { except: Option<ConnId> },
    /// Every open connection of this node, but one.
    Everyone { except: Option<ConnId> },
    /// One connection, on this node.
    One(ConnId),
}

/// One message published for other nodes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Note {
    pub(crate) reach: Reach,
    /// The node that published it.
    pub(crate) origin: u8,
    pub(crate) message: Message,
}

impl Note {
    /// The note as published.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let (what, id) = match self.reach {
            Reach::Room { except } => (1, except),
            Reach::Everyone { except } => (2, except),
            Reach::One(id) => (3, Some(id)),
        };
        let kind = u8::from(matches!(self.message, Message::Text(_)));
        let payload = self.message.payload();
        let mut bytes = Vec::with_capacity(HEADER + payload.len());
        bytes.extend_from_slice(&[what, kind, self.origin]);
        bytes.extend_from_slice(&id.map_or(0, ConnId::as_u64).to_le_bytes());
        bytes.extend_from_slice(payload);
        bytes
    }

    /// The note `bytes` hold, or `None` if they are not one (a note from
    /// another version, or bytes someone else published on the channel).
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let header = bytes.get(..HEADER)?;
        let mut id = [0; 8];
        id.copy_from_slice(&header[3..]);
        let id = u64::from_le_bytes(id);
        let except = (id != 0).then(|| ConnId::from_u64(id));
        let reach = match header[0] {
            1 => Reach::Room { except },
            2 => Reach::Everyone { except },
            3 => Reach::One(except?),
            _ => return None,
        };
        let payload = Bytes::copy_from_slice(&bytes[HEADER..]);
        let message = match header[1] {
            0 => Message::Binary(payload),
            1 => Message::Text(Utf8Bytes::try_from(payload).ok()?),
            _ => return None,
        };
        Some(Self {
            reach,
            origin: header[2],
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_note_comes_back_as_it_went() {
        let id = ConnId::new(3, 1, 70, 9);
        let notes = [
            (Reach::Room { except: None }, Message::from("hi")),
            (
                Reach::Room { except: Some(id) },
                Message::from(vec![0u8, 255]),
            ),
            (Reach::Everyone { except: Some(id) }, Message::from("")),
            (Reach::One(id), Message::from("to you")),
        ];
        for (reach, message) in notes {
            let note = Note {
                reach,
                origin: 3,
                message,
            };
            assert_eq!(Note::decode(&note.encode()), Some(note));
        }
    }

    #[test]
    fn what_is_not_a_note_is_refused() {
        let good = Note {
            reach: Reach::One(ConnId::new(1, 0, 5, 1)),
            origin: 1,
            message: Message::from("x"),
        }
        .encode();
        assert_eq!(Note::decode(&good[..HEADER - 1]), None, "too short");
        let mut unknown = good.clone();
        unknown[0] = 9;
        assert_eq!(Note::decode(&unknown), None, "unknown reach");
        let mut no_target = good.clone();
        no_target[3..HEADER].fill(0);
        assert_eq!(
            Note::decode(&no_target),
            None,
            "one connection, but none named"
        );
        let mut bad_text = good;
        bad_text.push(0xFF);
        assert_eq!(Note::decode(&bad_text), None, "text that is not UTF-8");
    }
}
