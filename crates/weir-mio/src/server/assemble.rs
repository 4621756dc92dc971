//! Streaming mode on the server ([`weir_proto::Config::streaming`]): the
//! pieces of a message reach [`WsHandler::on_fragment`](super::WsHandler::on_fragment)
//! as they arrive, and [`Socket::reassemble`], which its default uses, puts
//! them back together for routes that want whole messages.
//!
//! No limit is checked here: the core holds a message to
//! [`weir_proto::Config::max_message_size`] in streaming mode too (at each
//! frame header, and as it inflates), failing it with 1009 before the piece
//! that would cross it, so a reassembled message is bounded as an
//! assembled one is.

use bytes::{Bytes, BytesMut};
use weir_proto::{Fragment, Message, MessageKind, Utf8Bytes};

use super::Socket;

/// A message being put back together from its pieces (kept in its
/// connection's details, `records.rs`, until the last).
pub(crate) struct Assembly {
    kind: MessageKind,
    data: BytesMut,
}

impl Socket {
    /// Adds `fragment`, a piece given to
    /// [`WsHandler::on_fragment`](super::WsHandler::on_fragment), to the
    /// message being put back together for this connection, and returns the
    /// message once its last piece has come: what the default `on_fragment`
    /// does before it calls `on_message`. A message of one piece is passed
    /// on as it is, without a copy.
    pub fn reassemble(&self, fragment: Fragment) -> Option<Message> {
        if fragment.is_first && fragment.is_last {
            return whole(fragment.kind, fragment.data);
        }
        let records = self.server.records.get(self.id.worker())?;
        let done = records.details(self.id, |details| {
            if fragment.is_first {
                details.assembly = Some(Box::new(Assembly {
                    kind: fragment.kind,
                    data: BytesMut::new(),
                }));
            }
            // The core starts every message with its first piece.
            let assembly = details.assembly.as_mut()?;
            assembly.data.extend_from_slice(&fragment.data);
            if fragment.is_last {
                details.assembly.take()
            } else {
                None
            }
        })?;
        whole(done.kind, done.data.freeze())
    }
}

/// The message of `kind` with `data` (text the core has already checked).
fn whole(kind: MessageKind, data: Bytes) -> Option<Message> {
    match kind {
        MessageKind::Binary => Some(Message::Binary(data)),
        MessageKind::Text => Utf8Bytes::try_from(data).ok().map(Message::Text),
    }
}
