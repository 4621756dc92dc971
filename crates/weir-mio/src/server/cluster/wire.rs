//! What one node publishes for the others, as bytes: a [`Note`] (a
//! message to deliver) or a [`Membership`] note (who is in which room).
//!
//! A note:
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
//!
//! A membership note, on the cluster's members channel:
//! ```text
//! byte 0      what: 10 joined, 11 left, 12 alive, 13 leaving the
//!             cluster, 14 asking for everyone's rooms, 15 all my rooms
//! byte 1      0
//! byte 2      the node that published it
//! joined, left: an id (8 bytes, little-endian), then the room's name
//! all my rooms: for each room, its name's length (2 bytes), the name,
//!               its members here (4 bytes), their ids (8 bytes each)
//! ```

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

/// Who is in which room, as one node tells the others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Membership {
    /// Connection `id` joined `room`.
    Joined { room: String, id: ConnId },
    /// Connection `id` left `room` (or closed).
    Left { room: String, id: ConnId },
    /// The node is alive (its heartbeat).
    Alive,
    /// The node is leaving the cluster: forget its members now.
    Leaving,
    /// The node (new, or back after an outage) asks every other node for
    /// its rooms.
    Asking,
    /// Every room the node has members in, with them: what it answers
    /// [`Membership::Asking`] with, and says on its own after an outage.
    Rooms(Vec<(String, Vec<ConnId>)>),
}

/// A membership note and the node it is from.
pub(crate) fn encode_membership(origin: u8, membership: &Membership) -> Vec<u8> {
    let what = match membership {
        Membership::Joined { .. } => 10,
        Membership::Left { .. } => 11,
        Membership::Alive => 12,
        Membership::Leaving => 13,
        Membership::Asking => 14,
        Membership::Rooms(_) => 15,
    };
    let mut bytes = vec![what, 0, origin];
    match membership {
        Membership::Joined { room, id } | Membership::Left { room, id } => {
            bytes.extend_from_slice(&id.as_u64().to_le_bytes());
            bytes.extend_from_slice(room.as_bytes());
        }
        Membership::Rooms(rooms) => {
            for (room, ids) in rooms {
                // Names longer than 64 KiB are cut off at a character's end.
                let mut end = room.len().min(usize::from(u16::MAX));
                while !room.is_char_boundary(end) {
                    end -= 1;
                }
                bytes.extend_from_slice(&(end as u16).to_le_bytes());
                bytes.extend_from_slice(&room.as_bytes()[..end]);
                bytes.extend_from_slice(&(ids.len() as u32).to_le_bytes());
                for id in ids {
                    bytes.extend_from_slice(&id.as_u64().to_le_bytes());
                }
            }
        }
        Membership::Alive | Membership::Leaving | Membership::Asking => {}
    }
    bytes
}

/// The membership note `bytes` hold, and its node; `None` for anything
/// else.
pub(crate) fn decode_membership(bytes: &[u8]) -> Option<(u8, Membership)> {
    let (&[what, _, origin], rest) = bytes.split_first_chunk::<3>()?;
    let membership = match what {
        10 | 11 => {
            let (id, room) = rest.split_first_chunk::<8>()?;
            let room = std::str::from_utf8(room).ok()?.to_owned();
            let id = ConnId::from_u64(u64::from_le_bytes(*id));
            if what == 10 {
                Membership::Joined { room, id }
            } else {
                Membership::Left { room, id }
            }
        }
        12 => Membership::Alive,
        13 => Membership::Leaving,
        14 => Membership::Asking,
        15 => Membership::Rooms(decode_rooms(rest)?),
        _ => return None,
    };
    Some((origin, membership))
}

/// The rooms of a [`Membership::Rooms`] note. Every count is checked
/// against the bytes there are, so a bad note allocates no more than its
/// own size.
fn decode_rooms(mut rest: &[u8]) -> Option<Vec<(String, Vec<ConnId>)>> {
    let mut rooms = Vec::new();
    while !rest.is_empty() {
        let (length, after) = rest.split_first_chunk::<2>()?;
        let length = usize::from(u16::from_le_bytes(*length));
        let name = std::str::from_utf8(after.get(..length)?).ok()?.to_owned();
        let (count, after) = after[length..].split_first_chunk::<4>()?;
        let count = u32::from_le_bytes(*count) as usize;
        let ids = after.get(..count.checked_mul(8)?)?;
        let ids = ids
            .chunks_exact(8)
            .filter_map(|id| Some(ConnId::from_u64(u64::from_le_bytes(id.try_into().ok()?))))
            .collect();
        rooms.push((name, ids));
        rest = &after[count * 8..];
    }
    Some(rooms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_membership_note_comes_back_as_it_went() {
        let id = ConnId::new(2, 0, 9, 4);
        let notes = [
            Membership::Joined {
                room: "lobby".into(),
                id,
            },
            Membership::Left {
                room: "é".into(),
                id,
            },
            Membership::Alive,
            Membership::Leaving,
            Membership::Asking,
            Membership::Rooms(vec![]),
            Membership::Rooms(vec![
                ("a".into(), vec![id, ConnId::new(2, 1, 3, 1)]),
                ("".into(), vec![]),
            ]),
        ];
        for membership in notes {
            let bytes = encode_membership(2, &membership);
            assert_eq!(decode_membership(&bytes), Some((2, membership)));
        }
    }

    #[test]
    fn a_rooms_note_that_claims_more_than_it_holds_is_refused() {
        let rooms = Membership::Rooms(vec![("a".into(), vec![ConnId::new(1, 0, 1, 1)])]);
        let bytes = encode_membership(1, &rooms);
        // (Cut at 3, it is a note of no rooms, which is fine.)
        for end in 4..bytes.len() {
            assert_eq!(decode_membership(&bytes[..end]), None, "cut at {end}");
        }
        let mut huge = bytes[..3].to_vec();
        huge.extend_from_slice(&[1, 0, b'a', 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(decode_membership(&huge), None);
    }

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
