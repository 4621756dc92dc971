//! The chat's handler and page; the protocol is described in `main.rs`.
//! Kept apart from `main` so that the tests (`tests/chat.rs`) run it too.

use std::collections::HashMap;

use crate::protocol::{Event, Request};
use weir_mio::server::{HttpResponse, Socket, WsHandler};
use weir_mio::{CloseCode, HttpRequest, Message, MessageKind, UpgradeRequest};

/// The page, served at `/`.
pub const PAGE: &str = include_str!("../chat.html");

/// The longest room name, user name and message text accepted, in bytes.
const MAX_NAME: usize = 64;
const MAX_TEXT: usize = 4096;

/// The chat. It keeps nothing of its own: the rooms are the server's, and
/// who is called what in which room is each connection's state.
pub struct Chat;

/// A connection's names, by room.
type Names = HashMap<String, String>;

impl Chat {
    /// `joined` (or `left`) to the room, with its member count.
    fn announce(&self, ws: &Socket, joined: bool, room: &str, name: &str) {
        let server = ws.server();
        let room_handle = server.room(room);
        let (id, count) = (ws.id().as_u64(), room_handle.count());
        let event = if joined {
            Event::Joined {
                room,
                name,
                id,
                count,
            }
        } else {
            Event::Left {
                room,
                name,
                id,
                count,
            }
        }
        .to_json();
        if !joined && ws.is_open() {
            // The sender is no member any more, but hears it too.
            let _ = ws.send(event.as_str());
        }
        // An announcement refused by a busy worker is not worth retrying.
        let _ = room_handle.broadcast(event);
    }

    fn handle(&self, ws: &Socket, names: &mut Names, text: &str) -> Result<(), String> {
        let request: Request = serde_json::from_str(text).map_err(|error| error.to_string())?;
        let room = match &request {
            Request::Join { room, .. }
            | Request::Message { room, .. }
            | Request::Leave { room } => room.as_str(),
        };
        if room.is_empty() || room.len() > MAX_NAME {
            return Err(format!("a room name has 1 to {MAX_NAME} bytes"));
        }
        match &request {
            Request::Join { name, .. } => {
                if name.is_empty() || name.len() > MAX_NAME {
                    return Err(format!("a name has 1 to {MAX_NAME} bytes"));
                }
                if !ws.join(room) {
                    return Err(format!("already in room {room}"));
                }
                names.insert(room.into(), name.clone());
                self.announce(ws, true, room, name);
            }
            Request::Message { text, .. } => {
                if text.len() > MAX_TEXT {
                    return Err(format!("a message has at most {MAX_TEXT} bytes"));
                }
                let name = names
                    .get(room)
                    .ok_or_else(|| format!("not in room {room}"))?;
                let id = ws.id().as_u64();
                let event = Event::Message {
                    room,
                    name,
                    id,
                    text,
                }
                .to_json();
                ws.server()
                    .room(room)
                    .broadcast(event)
                    .map_err(|refused| format!("the server is busy, try again: {refused}"))?;
            }
            Request::Leave { .. } => {
                let name = names
                    .remove(room)
                    .ok_or_else(|| format!("not in room {room}"))?;
                ws.leave(room);
                self.announce(ws, false, room, &name);
            }
        }
        Ok(())
    }
}

impl WsHandler for Chat {
    type State = Names;

    fn on_open(&self, _ws: &Socket, _request: &UpgradeRequest) -> Names {
        Names::new()
    }

    fn on_message(&self, ws: &Socket, names: &mut Names, message: Message) {
        let Message::Text(text) = message else {
            return; // Not reached: message_kind() makes binary close with 1003.
        };
        if let Err(error) = self.handle(ws, names, text.as_str()) {
            let _ = ws.send(Event::Error { text: &error }.to_json());
        }
    }

    fn on_close(&self, ws: &Socket, names: Names, _code: CloseCode, _reason: &str) {
        for (room, name) in names {
            ws.leave(&room);
            self.announce(ws, false, &room, &name);
        }
    }

    fn message_kind(&self) -> Option<MessageKind> {
        Some(MessageKind::Text)
    }
}

/// The plain-HTTP side: the page at `/`, 404 elsewhere.
pub fn page(request: &HttpRequest) -> HttpResponse {
    match request.path() {
        "/" | "/index.html" => HttpResponse::html(PAGE),
        _ => HttpResponse::not_found(),
    }
}
